/* replace.h - replacing a file's content atomically: the bytes go to a
 * temporary file beside it, reach the disk (fsync), and only then take the
 * file's name by rename(2). A reader, a kill or a full disk at any moment
 * leaves either the old file or the new one, whole, under the name. */
#ifndef SB_REPLACE_H
#define SB_REPLACE_H

#include "sb.h"

#include <stddef.h>

/* The temporary file replace writes for `path` (fresh string). */
char *sb_replace_tmp_path(const char *path);
/* Writes `bytes` to "<path>.tmp", syncs it, renames it to `path` and syncs
 * the folder. On failure the temporary file is removed, `path` is left as
 * it was, and the error names the file and the system's reason. */
int sb_replace(const char *path, const void *bytes, size_t n,
	       struct sb_error *err);

#endif
