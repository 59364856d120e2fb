/* bench_h5_strings.c - how an HDF5 1.10 reader fares on damaged files whose
 * string attributes are variable-length (in the global heap) or fixed-length
 * (in the attribute message), the choice docs/results.md ("Strings")
 * explains. A file of six string attributes on the root and a group,
 * written as the harness writes files (sb_h5_create), is damaged one
 * byte at a time (set to 0xff, 0x00, 0x7f and 0x80 in turn) and cut at every
 * length; a child reads every attribute of each copy with sb_h5_attr_str.
 * Prints how many copies crashed (a signal) or hung (over 10 s); asserts
 * nothing. */
#include "io/h5util.h"
#include "util.h"

#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define HANG_SECONDS 10

static const char *const names[] = {"format", "spec", "cpu",
				    "status", "config", "method"};

static int put_vlen(hid_t obj, const char *name, const char *value)
{
	hid_t type = H5Tcopy(H5T_C_S1);
	hid_t space = H5Screate(H5S_SCALAR);
	H5Tset_size(type, H5T_VARIABLE);
	H5Tset_cset(type, H5T_CSET_UTF8);
	hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT,
				H5P_DEFAULT);
	int rc = attr >= 0 && H5Awrite(attr, type, &value) >= 0 ? 0 : -1;
	if (attr >= 0)
		H5Aclose(attr);
	H5Sclose(space);
	H5Tclose(type);
	return rc;
}

static int put(hid_t obj, const char *name, const char *value, bool vlen)
{
	return vlen ? put_vlen(obj, name, value)
		    : sb_h5_put_str(obj, name, value);
}

/* The attributes' texts: a spec-sized one, a config, short ones. */
static int write_file(const char *path, bool vlen)
{
	char text[2000];
	for (size_t i = 0; i + 1 < sizeof text; i++)
		text[i] = i % 50 == 49 ? '\n' : (char)('a' + i % 26);
	text[sizeof text - 1] = '\0';
	const char *values[] = {"sparsebench-results", text,
				"AMD EPYC 7B13 (2 cores online)", "completed",
				text + 1000, "topk_batch+sparse_adam"};
	hid_t file = sb_h5_create(path);
	if (file < 0)
		return -1;
	hid_t group = H5Gcreate2(file, "run", H5P_DEFAULT, H5P_DEFAULT,
				 H5P_DEFAULT);
	int rc = group < 0;
	for (size_t i = 0; !rc && i < 6; i++)
		rc = put(i < 3 ? file : group, names[i], values[i], vlen);
	if (group >= 0)
		H5Gclose(group);
	H5Fclose(file);
	return rc ? -1 : 0;
}

static void read_all(const char *path)
{
	sb_h5_quiet();
	hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (file < 0)
		return;
	for (size_t i = 0; i < 3; i++)
		free(sb_h5_attr_str(file, names[i]));
	hid_t group = H5Gopen2(file, "run", H5P_DEFAULT);
	for (size_t i = 3; group >= 0 && i < 6; i++)
		free(sb_h5_attr_str(group, names[i]));
	if (group >= 0)
		H5Gclose(group);
	H5Fclose(file);
}

struct tally {
	size_t copies, segv, abort, hang, other;
};

/* Writes n bytes of buf to path and reads them in a child. */
static void try_copy(const char *path, const unsigned char *buf, size_t n,
		     struct tally *t)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, n, f) != n || fclose(f)) {
		fprintf(stderr, "cannot write '%s'\n", path);
		exit(1);
	}
	t->copies++;
	pid_t pid = fork();
	if (pid == 0) {
		alarm(HANG_SECONDS);
		read_all(path);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFSIGNALED(st))
		return;
	int sig = WTERMSIG(st);
	if (sig == SIGSEGV || sig == SIGBUS)
		t->segv++;
	else if (sig == SIGABRT)
		t->abort++;
	else if (sig == SIGALRM)
		t->hang++;
	else
		t->other++;
}

static void report(const char *kind, const char *damage, size_t size,
		   const struct tally *t)
{
	printf("%-15s %-10s %6zu bytes %7zu copies: %4zu crashed (SIGSEGV "
	       "%zu, SIGABRT %zu, other %zu), %zu hung\n", kind, damage, size,
	       t->copies, t->segv + t->abort + t->other, t->segv, t->abort,
	       t->other, t->hang);
}

static void bench(const char *dir, bool vlen)
{
	const char *kind = vlen ? "variable-length" : "fixed-length";
	char *path = sb_asprintf("%s/strings.h5", dir);
	char *copy = sb_asprintf("%s/damaged.h5", dir);
	if (write_file(path, vlen)) {
		fprintf(stderr, "cannot write '%s'\n", path);
		exit(1);
	}
	size_t size;
	FILE *f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	size = (size_t)ftell(f);
	rewind(f);
	unsigned char *buf = sb_malloc(size);
	if (fread(buf, 1, size, f) != size)
		exit(1);
	fclose(f);

	static const unsigned char values[] = {0xff, 0x00, 0x7f, 0x80};
	struct tally flips = {0}, cuts = {0};
	for (size_t at = 0; at < size; at++)
		for (size_t v = 0; v < 4; v++) {
			unsigned char was = buf[at];
			if (was == values[v])
				continue;
			buf[at] = values[v];
			try_copy(copy, buf, size, &flips);
			buf[at] = was;
		}
	for (size_t n = 0; n < size; n++)
		try_copy(copy, buf, n, &cuts);
	report(kind, "byte set", size, &flips);
	report(kind, "cut short", size, &cuts);
	fflush(stdout);
	unlink(copy);
	unlink(path);
	free(buf);
	free(copy);
	free(path);
}

int main(void)
{
	char dir[] = "/tmp/bench_h5_strings_XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	unsigned maj, min, rel;
	H5get_libversion(&maj, &min, &rel);
	printf("HDF5 %u.%u.%u; a copy hangs after %d s\n", maj, min, rel,
	       HANG_SECONDS);
	bench(dir, true);
	bench(dir, false);
	rmdir(dir);
	return 0;
}
