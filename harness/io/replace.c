/* replace.c - atomic replacement of a file's content (replace.h): write,
 * fsync, rename, fsync of the folder, as POSIX rename(2) promises. */
#define _POSIX_C_SOURCE 200809L
#include "io/replace.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *sb_replace_tmp_path(const char *path)
{
	return sb_asprintf("%s.tmp", path);
}

static int write_all(int fd, const char *bytes, size_t n)
{
	while (n) {
		ssize_t done = write(fd, bytes, n);
		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0) {
			if (done == 0)
				errno = ENOSPC;
			return -1;
		}
		bytes += done;
		n -= (size_t)done;
	}
	return 0;
}

/* The rename itself reaches the disk with its folder's entry. */
static void sync_folder(const char *path)
{
	char *copy = sb_strdup(path);
	int fd = open(dirname(copy), O_RDONLY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int sb_replace(const char *path, const void *bytes, size_t n,
	       struct sb_error *err)
{
	char *tmp = sb_replace_tmp_path(path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int rc = 0;
	if (fd < 0) {
		rc = sb_error(err, "cannot write '%s': cannot create '%s': %s",
			      path, tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, bytes, n) || fsync(fd))
		rc = sb_error(err, "cannot write '%s' (%zu bytes into '%s'): "
			      "%s", path, n, tmp, strerror(errno));
	if (close(fd) && !rc)
		rc = sb_error(err, "cannot write '%s': closing '%s': %s", path,
			      tmp, strerror(errno));
	if (!rc && rename(tmp, path))
		rc = sb_error(err, "cannot rename '%s' to '%s': %s", tmp, path,
			      strerror(errno));
	if (rc)
		unlink(tmp);
	else
		sync_folder(path);
out:
	free(tmp);
	return rc;
}
