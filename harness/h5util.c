/* h5util.c - HDF5 string attributes and failure reasons (see h5util.h).
 * The memory type of a string keeps the file's character set: HDF5 does not
 * convert ASCII and UTF-8 strings into each other. */
#include "h5util.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

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
