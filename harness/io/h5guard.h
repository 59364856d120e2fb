/* h5guard.h - checks that keep libhdf5 1.10.8 (Debian bookworm's) away from
 * what it mishandles in a damaged file: each guards a crash or hang the
 * readers met under `make fuzz` (docs/fuzzing.md). A check that fails means
 * the file is damaged; the caller reports it instead of calling libhdf5. */
#ifndef SB_H5GUARD_H
#define SB_H5GUARD_H

#include "sb.h"

#include <hdf5.h>
#include <stdbool.h>

/* Every global heap collection of the file (where variable-length strings
 * live) decodes to objects inside it: libhdf5 loops forever on a free
 * object of size 0 and copies past the collection for an object larger
 * than it. 0, or -1 with err naming the file and the byte offset. A file
 * that cannot be read passes: opening it reports that. */
int sb_h5_guard_heaps(const char *path, struct sb_error *err);

/* Every attribute of the object decodes. To iterate attributes (or links)
 * stored in an object header, libhdf5 copies them into a table and, when
 * one fails to decode, frees the entries it never filled; looking up a
 * name nobody has decodes them all and fails cleanly instead. */
bool sb_h5_guard_attrs(hid_t obj);
/* The same for the links of a group. */
bool sb_h5_guard_links(hid_t group);

/* A dataset's storage holds its n elements: libhdf5 reads a compact or
 * contiguous dataset by its extent, past a smaller buffer. Contiguous
 * storage never written (size 0) reads as the fill value and passes, as
 * do chunked datasets; other layouts fail. */
bool sb_h5_guard_storage(hid_t dataset, hsize_t n);

#endif
