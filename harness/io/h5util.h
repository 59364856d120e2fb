/* h5util.h - the HDF5 services shared by the results file and the
 * checkpoints: HDF5's error printing turned off, scalar attributes written
 * the one way (strings fixed-length UTF-8, docs/results.md says why) and
 * read the one careful way (a damaged file gives NULL or -1, never a
 * crash), and the reason the last HDF5 call failed. */
#ifndef SB_H5UTIL_H
#define SB_H5UTIL_H

#include <hdf5.h>
#include <stdbool.h>
#include <stdint.h>

/* HDF5 prints its error stack on stderr at every failed call unless told
 * not to; the harness turns failures into sb_error messages instead (only
 * main prints). Every entry point of io/ calls this before its first HDF5
 * call; it turns the printing off for the rest of the process. */
void sb_h5_quiet(void);

/* Create (truncating) or open for writing a file the harness writes, with
 * its objects in the HDF5 1.8 format, whose object headers carry checksums
 * and store attributes over 64 KiB (a long spec or config) densely; every
 * HDF5 release since 1.8 reads them. -1 on failure, with the reason
 * recorded (sb_h5_why). */
hid_t sb_h5_create(const char *path);
hid_t sb_h5_open_rw(const char *path);
/* The same format, held in memory (HDF5's core driver, no backing store):
 * a new file, or a copy of the file at `path` read whole. Nothing is ever
 * written to disk through it; sb_h5_image takes its bytes for writing. */
hid_t sb_h5_memory_create(const char *path);
hid_t sb_h5_memory_open(const char *path);
/* The bytes of an open file as a fresh buffer of *size bytes, NULL on
 * failure (reason in sb_h5_why). */
void *sb_h5_image(hid_t file, size_t *size);

/* Scalar attributes of an object, each replacing one of the same name.
 * Strings are fixed-length, NUL-terminated UTF-8 (NULL writes ""); numbers
 * little-endian. On failure they record the reason (sb_h5_why) and return
 * -1. */
/* Whether a dataset's chunks carry a Fletcher32 checksum. */
bool sb_h5_has_checksum(hid_t dataset);

int sb_h5_put_str(hid_t obj, const char *name, const char *value);
int sb_h5_put_i32(hid_t obj, const char *name, int32_t value);
int sb_h5_put_u64(hid_t obj, const char *name, uint64_t value);
int sb_h5_put_f64(hid_t obj, const char *name, double value);

/* The value of an open attribute as a fresh C string, or NULL when it is
 * not a scalar string. Reads fixed and variable-length strings alike. */
char *sb_h5_read_str(hid_t attr);
/* The string attribute `name` of an object, or NULL when absent or not a
 * scalar string. */
char *sb_h5_attr_str(hid_t obj, const char *name);
/* The scalar integer attribute `name` of an object into *out; -1 when
 * absent or not a scalar integer. */
int sb_h5_attr_long(hid_t obj, const char *name, long *out);

/* Records the innermost message of HDF5's error stack, the one closest to
 * where the failure happened ("truncated file: eof = ..."), and returns -1.
 * Call it right after the failing call: HDF5 clears its error stack at the
 * entry of every API call. */
int sb_h5_fail(void);
/* The message sb_h5_fail recorded last. */
const char *sb_h5_why(void);

#endif
