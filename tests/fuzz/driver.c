/* driver.c - libFuzzer's entry for one target (make fuzz builds one binary
 * per target, naming it with -DSB_FUZZ_TARGET). Beyond the sanitizers'
 * findings, a loader fails the run when it returns anything but 0 or -1,
 * fails without a message, or leaves a file descriptor or an HDF5 object
 * open. The sanitizers' settings live here, so that a binary run by hand
 * on a saved input behaves as it did under `make fuzz`. */
#include "fuzz.h"

#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern const struct sb_fuzz_target SB_FUZZ_TARGET;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);
const char *__lsan_default_suppressions(void);

/* malloc returns NULL for an impossible size, as the C library's does:
 * libhdf5 asks for what a damaged size field says and handles the NULL;
 * the project's own allocations abort on it (sb_malloc), a finding.
 * libhdf5 is built without frame pointers: ASan's fast unwinder stops at
 * its first frame, and a leak's stack would not say whose it is, so HDF5
 * targets unwind allocations slowly (about 4x fewer inputs a second). */
const char *__asan_default_options(void)
{
	return SB_FUZZ_TARGET.hdf5
		? "allocator_may_return_null=1:fast_unwind_on_malloc=0"
		: "allocator_may_return_null=1";
}

/* libhdf5 1.10 loses memory of its free lists (H5FL_*) when it fails to
 * decode damaged metadata, such as an object header. Memory of those
 * lists is the library's own: an object the loader leaves open is still
 * reachable from HDF5's table of ids, never reported here (the open
 * object count below catches those). docs/fuzzing.md. */
const char *__lsan_default_suppressions(void)
{
	return "leak:H5FL_\n";
}

/* The lowest free descriptor: a leak raises it. */
static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY);
	if (fd < 0)
		abort();
	close(fd);
	return fd;
}

static void broken(const char *what, const struct sb_error *err)
{
	fprintf(stderr, "fuzz %s: %s (message: '%s')\n", SB_FUZZ_TARGET.name,
		what, err->msg);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_error err = {{0}};
	int fd = lowest_free_fd();
	int rc = SB_FUZZ_TARGET.load(data, size, &err);
	if (rc != 0 && rc != -1)
		broken("the loader returned neither 0 nor -1", &err);
	if (rc && !err.msg[0])
		broken("the loader failed without a message", &err);
	if (lowest_free_fd() != fd)
		broken("the loader left a file descriptor open", &err);
	if (H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL) > 0)
		broken("the loader left an HDF5 object open", &err);
	return 0;
}
