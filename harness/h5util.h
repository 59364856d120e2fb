/* h5util.h - small HDF5 services shared by the results file and the
 * checkpoints: string attributes read the one careful way (fixed or
 * variable length, ASCII or UTF-8, scalar only: a damaged file gives NULL,
 * never a crash), and the reason the last HDF5 call failed. */
#ifndef SB_H5UTIL_H
#define SB_H5UTIL_H

#include <hdf5.h>

/* The value of an open attribute as a fresh C string, or NULL when it is
 * not a scalar string. */
char *sb_h5_read_str(hid_t attr);
/* The string attribute `name` of an object, or NULL when absent or not a
 * scalar string. */
char *sb_h5_attr_str(hid_t obj, const char *name);

/* Records the innermost message of HDF5's error stack, the one closest to
 * where the failure happened ("truncated file: eof = ..."), and returns -1.
 * Call it right after the failing call: HDF5 clears its error stack at the
 * entry of every API call. */
int sb_h5_fail(void);
/* The message sb_h5_fail recorded last. */
const char *sb_h5_why(void);

#endif
