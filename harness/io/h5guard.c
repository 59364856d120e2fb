/* h5guard.c - checks before libhdf5 1.10.8 meets a damaged file (see
 * h5guard.h). The global heap's layout: HDF5 File Format Specification
 * version 2, sections II.A (superblock) and III.E (global heap). */
#define _GNU_SOURCE /* memmem */
#include "io/h5guard.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A name no attribute or link has: looking it up visits every one. */
#define NOBODY "\x7f"

static uint64_t little_endian(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The superblock's size of lengths (2, 4 or 8 bytes), else 0. The
 * superblock starts the file or follows a user block of 512, 1024, ...
 * bytes; its version 0 and 1 keep the size at byte 14, 2 and 3 at 10. */
static int size_of_lengths(const unsigned char *file, size_t size)
{
	static const unsigned char signature[8] = {
		0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n',
	};
	for (size_t at = 0; at + 16 <= size; at = at ? 2 * at : 512) {
		if (memcmp(file + at, signature, sizeof signature))
			continue;
		int len = file[at + 8] < 2 ? file[at + 14] : file[at + 10];
		return len == 2 || len == 4 || len == 8 ? len : 0;
	}
	return 0;
}

/* Decodes the collection at `at` as libhdf5's H5HG deserializer does,
 * header "GCOL", version 1, 3 reserved bytes, collection size; then
 * objects of index (2 bytes), references (2), reserved (4), size, data
 * padded to 8 bytes; index 0 is free space, whose size counts its header.
 * True when the decoder ends and every object lies inside. */
static bool collection_ok(const unsigned char *file, size_t size, size_t at,
			  int len)
{
	size_t head = 8 + (size_t)len; /* the collection's and an object's */
	if (size - at < head || file[at + 4] != 1)
		return true; /* not read: libhdf5 rejects the version */
	uint64_t total = little_endian(file + at + 8, len);
	if (total < head || total > size - at)
		return true; /* not read: libhdf5 stops at the end of file */
	const unsigned char *p = file + at + head, *end = file + at + total;
	while (p < end) {
		size_t left = (size_t)(end - p);
		if (left < head)
			break; /* slack too small for an object */
		unsigned index = (unsigned)little_endian(p, 2);
		uint64_t object = little_endian(p + 8, len);
		if (index == 0) {
			/* size 0 would never move on */
			if (object < head || object > left)
				return false;
			p += object;
			continue;
		}
		if (object > left - head)
			return false;
		uint64_t need = head + ((object + 7) & ~(uint64_t)7);
		if (need >= left)
			break;
		p += need;
	}
	return true;
}

int sb_h5_guard_heaps(const char *path, struct sb_error *err)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 16) {
		close(fd);
		return 0;
	}
	size_t size = (size_t)st.st_size;
	const unsigned char *file = mmap(NULL, size, PROT_READ, MAP_PRIVATE,
					 fd, 0);
	close(fd);
	if (file == MAP_FAILED)
		return 0;
	int len = size_of_lengths(file, size), rc = 0;
	/* A collection is found by its signature; one that only looks like
	 * one (inside raw data) is checked too: a false alarm needs "GCOL",
	 * version 1, a size that fits and an object that does not. */
	for (const unsigned char *hit = file; len && rc == 0;) {
		hit = memmem(hit, size - (size_t)(hit - file), "GCOL", 4);
		if (!hit)
			break;
		size_t at = (size_t)(hit - file);
		if (!collection_ok(file, size, at, len))
			rc = sb_error(err, "'%s' is damaged: the global heap at "
				      "byte %zu (variable-length strings) "
				      "holds an object that does not fit",
				      path, at);
		hit++;
	}
	munmap((void *)file, size);
	return rc;
}

/* Attributes and links past eight live in "dense" storage, a fractal heap
 * indexed by a B-tree of name hashes: looking up a name decodes none of
 * them, and iterating builds the same table as above. Asked for by index in
 * native order, libhdf5 walks the name B-tree and decodes one at a time,
 * failing cleanly on a damaged one; for compact storage it builds the
 * table, which the look-up before has made safe. */
bool sb_h5_guard_attrs(hid_t obj)
{
	H5O_info_t info;
	if (H5Aexists(obj, NOBODY) < 0 ||
	    H5Oget_info2(obj, &info, H5O_INFO_NUM_ATTRS) < 0)
		return false;
	for (hsize_t i = 0; i < info.num_attrs; i++)
		if (H5Aget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_NATIVE,
				       i, NULL, 0, H5P_DEFAULT) < 0)
			return false;
	return true;
}

bool sb_h5_guard_links(hid_t group)
{
	H5G_info_t info;
	if (H5Lexists(group, NOBODY, H5P_DEFAULT) < 0 ||
	    H5Gget_info(group, &info) < 0)
		return false;
	if (info.storage_type != H5G_STORAGE_TYPE_DENSE)
		return true;
	for (hsize_t i = 0; i < info.nlinks; i++) {
		H5L_info_t link;
		if (H5Lget_info_by_idx(group, ".", H5_INDEX_NAME,
					H5_ITER_NATIVE, i, &link,
					H5P_DEFAULT) < 0)
			return false;
	}
	return true;
}

bool sb_h5_guard_storage(hid_t dataset, hsize_t n)
{
	hid_t dcpl = H5Dget_create_plist(dataset);
	hid_t type = H5Dget_type(dataset);
	H5D_layout_t layout =
		dcpl >= 0 ? H5Pget_layout(dcpl) : H5D_LAYOUT_ERROR;
	size_t elem = type >= 0 ? H5Tget_size(type) : 0;
	hsize_t have = H5Dget_storage_size(dataset);
	if (type >= 0)
		H5Tclose(type);
	if (dcpl >= 0)
		H5Pclose(dcpl);
	if (layout == H5D_CHUNKED)
		return true; /* read through its chunk index, not the extent */
	if (layout != H5D_COMPACT && layout != H5D_CONTIGUOUS)
		return false;
	if (elem == 0 || (n && elem > UINT64_MAX / n))
		return false;
	hsize_t need = n * elem;
	return layout == H5D_COMPACT ? have == need : have == 0 || have >= need;
}
