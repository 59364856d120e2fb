/* h5str.h - string attributes of HDF5 objects, read the one careful way:
 * fixed or variable length, ASCII or UTF-8, scalar only (a damaged file
 * gives NULL, never a crash). */
#ifndef SB_H5STR_H
#define SB_H5STR_H

#include <hdf5.h>

/* The value of an open attribute as a fresh C string, or NULL when it is
 * not a scalar string. */
char *sb_h5_read_str(hid_t attr);
/* The string attribute `name` of an object, or NULL when absent or not a
 * scalar string. */
char *sb_h5_attr_str(hid_t obj, const char *name);

#endif
