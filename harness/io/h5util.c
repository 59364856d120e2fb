/* h5util.c - HDF5 attributes, error printing and failure reasons (see
 * h5util.h). The memory type of a string keeps the file's character set:
 * HDF5 does not convert ASCII and UTF-8 strings into each other. */
#include "io/h5util.h"
#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The serial HDF5 library is single-threaded, and so is this record. */
static char why[256];

static herr_t first_error(unsigned n, const H5E_error2_t *e, void *data)
{
	(void)data;
	if (n == 0 && e->desc)
		snprintf(why, sizeof why, "%s", e->desc);
	return 0;
}

int sb_h5_fail(void)
{
	snprintf(why, sizeof why, "HDF5 error");
	H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, NULL);
	return -1;
}

const char *sb_h5_why(void)
{
	return why;
}

void sb_h5_quiet(void)
{
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* ---- writing ------------------------------------------------------------ */

/* File access properties under which new objects take the 1.8 format. */
static hid_t file_access(void)
{
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	if (fapl < 0)
		return sb_h5_fail();
	if (H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0) {
		sb_h5_fail();
		H5Pclose(fapl);
		return -1;
	}
	return fapl;
}

/* Memory files grow by this much at a time. */
#define MEMORY_INCREMENT (1 << 20)

static hid_t open_for_writing(const char *path, bool create, bool memory)
{
	hid_t fapl = file_access();
	if (fapl < 0)
		return -1;
	if (memory && H5Pset_fapl_core(fapl, MEMORY_INCREMENT, false) < 0) {
		sb_h5_fail();
		H5Pclose(fapl);
		return -1;
	}
	hid_t file = create ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)
			    : H5Fopen(path, H5F_ACC_RDWR, fapl);
	if (file < 0)
		sb_h5_fail();
	H5Pclose(fapl);
	return file;
}

hid_t sb_h5_create(const char *path)
{
	return open_for_writing(path, true, false);
}

hid_t sb_h5_open_rw(const char *path)
{
	return open_for_writing(path, false, false);
}

hid_t sb_h5_memory_create(const char *path)
{
	return open_for_writing(path, true, true);
}

hid_t sb_h5_memory_open(const char *path)
{
	return open_for_writing(path, false, true);
}

/* ---- file images ------------------------------------------------------ */

static uint32_t rot(uint32_t x, int k)
{
	return (x << k) | (x >> (32 - k));
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Bob Jenkins' lookup3 hashlittle(), the checksum of HDF5's metadata
 * (HDF5 file format specification, "Checksums"), with initial value 0. */
static uint32_t lookup3(const uint8_t *k, size_t length)
{
	uint32_t a, b, c;
	a = b = c = 0xdeadbeef + (uint32_t)length;
	for (; length > 12; length -= 12, k += 12) {
		a += le32(k);
		b += le32(k + 4);
		c += le32(k + 8);
		a -= c; a ^= rot(c, 4);  c += b;
		b -= a; b ^= rot(a, 6);  a += c;
		c -= b; c ^= rot(b, 8);  b += a;
		a -= c; a ^= rot(c, 16); c += b;
		b -= a; b ^= rot(a, 19); a += c;
		c -= b; c ^= rot(b, 4);  b += a;
	}
	if (length == 0)
		return c;
	uint8_t tail[12] = {0};
	memcpy(tail, k, length);
	a += le32(tail);
	b += le32(tail + 4);
	c += le32(tail + 8);
	c ^= b; c -= rot(b, 14);
	a ^= c; a -= rot(c, 11);
	b ^= a; b -= rot(a, 25);
	c ^= b; c -= rot(b, 16);
	a ^= c; a -= rot(c, 4);
	b ^= a; b -= rot(a, 14);
	c ^= b; c -= rot(b, 24);
	return c;
}

/* HDF5 1.10 clears the "open for writing" status flags of a version 2 or 3
 * superblock in the image it hands out, but leaves the checksum computed
 * with them set: every reader then refuses the file ("incorrect metadata
 * checksum"). The superblock sits at offset 0 (no user block): signature
 * (8 bytes), version, size of offsets O, size of lengths, flags, four
 * addresses of O bytes, then the checksum of everything before it. */
static void fix_superblock(uint8_t *image, size_t size)
{
	static const uint8_t signature[8] = {0x89, 'H', 'D', 'F',
					     '\r', '\n', 0x1a, '\n'};
	if (size < 12 || memcmp(image, signature, 8) ||
	    (image[8] != 2 && image[8] != 3))
		return;
	size_t at = 12 + 4 * (size_t)image[9];
	if (at + 4 > size)
		return;
	uint32_t sum = lookup3(image, at);
	for (int i = 0; i < 4; i++)
		image[at + (size_t)i] = (uint8_t)(sum >> (8 * i));
}

void *sb_h5_image(hid_t file, size_t *size)
{
	*size = 0;
	if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) {
		sb_h5_fail();
		return NULL;
	}
	ssize_t n = H5Fget_file_image(file, NULL, 0);
	if (n <= 0) {
		sb_h5_fail();
		return NULL;
	}
	void *bytes = sb_malloc((size_t)n);
	if (H5Fget_file_image(file, bytes, (size_t)n) != n) {
		sb_h5_fail();
		free(bytes);
		return NULL;
	}
	fix_superblock(bytes, (size_t)n);
	*size = (size_t)n;
	return bytes;
}

/* Writes a scalar attribute, replacing one of the same name. */
static int put(hid_t obj, const char *name, hid_t file_type, hid_t mem_type,
	       const void *value)
{
	int rc = -1;
	hid_t space = H5Screate(H5S_SCALAR), attr = -1;
	if (space < 0)
		return sb_h5_fail();
	htri_t exists = H5Aexists(obj, name);
	if (exists < 0 || (exists && H5Adelete(obj, name) < 0)) {
		sb_h5_fail();
		goto out;
	}
	attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT,
			  H5P_DEFAULT);
	if (attr >= 0 && H5Awrite(attr, mem_type, value) >= 0)
		rc = 0;
	else
		sb_h5_fail();
out:
	if (attr >= 0)
		H5Aclose(attr);
	H5Sclose(space);
	return rc;
}

/* Fixed-length: the text lives in the attribute's own message. A
 * variable-length string lives in the global heap instead, which HDF5 1.10
 * follows without bounds checks: a damaged heap or heap reference crashes
 * every reader (h5dump and h5py included). The price is the 64 KiB limit of
 * an attribute message in the earliest file format, which files made by
 * sb_h5_create lift. */
int sb_h5_put_str(hid_t obj, const char *name, const char *value)
{
	const char *v = value ? value : "";
	hid_t type = H5Tcopy(H5T_C_S1);
	if (type < 0)
		return sb_h5_fail();
	int rc = -1;
	if (H5Tset_size(type, strlen(v) + 1) < 0 ||
	    H5Tset_strpad(type, H5T_STR_NULLTERM) < 0 ||
	    H5Tset_cset(type, H5T_CSET_UTF8) < 0)
		sb_h5_fail();
	else
		rc = put(obj, name, type, type, v);
	H5Tclose(type);
	return rc;
}

int sb_h5_put_i32(hid_t obj, const char *name, int32_t value)
{
	return put(obj, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &value);
}

int sb_h5_put_u64(hid_t obj, const char *name, uint64_t value)
{
	return put(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value);
}

int sb_h5_put_f64(hid_t obj, const char *name, double value)
{
	return put(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

/* ---- reading ------------------------------------------------------------ */

char *sb_h5_read_str(hid_t attr)
{
	char *out = NULL;
	hid_t ftype = H5Aget_type(attr);
	hid_t space = H5Aget_space(attr);
	hid_t mtype = -1;
	if (ftype < 0 || space < 0 || H5Tget_class(ftype) != H5T_STRING ||
	    H5Sget_simple_extent_npoints(space) != 1)
		goto done;
	mtype = H5Tcopy(H5T_C_S1);
	H5Tset_cset(mtype, H5Tget_cset(ftype));
	if (H5Tis_variable_str(ftype) > 0) {
		char *value = NULL;
		H5Tset_size(mtype, H5T_VARIABLE);
		if (H5Aread(attr, mtype, &value) >= 0 && value)
			out = sb_strdup(value);
		H5free_memory(value);
	} else {
		size_t size = H5Tget_size(ftype);
		char *value = sb_calloc(size + 1, 1);
		H5Tset_size(mtype, size + 1);
		H5Tset_strpad(mtype, H5T_STR_NULLTERM);
		if (H5Aread(attr, mtype, value) >= 0)
			out = value;
		else
			free(value);
	}
done:
	if (mtype >= 0)
		H5Tclose(mtype);
	if (space >= 0)
		H5Sclose(space);
	if (ftype >= 0)
		H5Tclose(ftype);
	return out;
}

char *sb_h5_attr_str(hid_t obj, const char *name)
{
	if (H5Aexists(obj, name) <= 0)
		return NULL;
	hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
	if (attr < 0)
		return NULL;
	char *out = sb_h5_read_str(attr);
	H5Aclose(attr);
	return out;
}

int sb_h5_attr_long(hid_t obj, const char *name, long *out)
{
	if (H5Aexists(obj, name) <= 0)
		return -1;
	hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
	if (attr < 0)
		return -1;
	hid_t ftype = H5Aget_type(attr);
	hid_t space = H5Aget_space(attr);
	int rc = ftype >= 0 && space >= 0 &&
			 H5Tget_class(ftype) == H5T_INTEGER &&
			 H5Sget_simple_extent_npoints(space) == 1 &&
			 H5Aread(attr, H5T_NATIVE_LONG, out) >= 0 ? 0 : -1;
	if (space >= 0)
		H5Sclose(space);
	if (ftype >= 0)
		H5Tclose(ftype);
	H5Aclose(attr);
	return rc;
}

bool sb_h5_has_checksum(hid_t dataset)
{
	hid_t dcpl = H5Dget_create_plist(dataset);
	if (dcpl < 0)
		return false;
	unsigned flags;
	bool yes = H5Pget_filter_by_id2(dcpl, H5Z_FILTER_FLETCHER32, &flags,
					NULL, NULL, 0, NULL, NULL) >= 0;
	H5Pclose(dcpl);
	return yes;
}
