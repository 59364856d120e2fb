/* target_delta.c - a sparse delta (harness/io/delta.c) read by
 * sb_delta_load and rebuilt, as `sparsebench apply` rebuilds it, on two
 * bases: an HDF5 checkpoint of the mlp and llm.c weights of the tiny GPT
 * (the bases write_seeds makes its deltas for). Nothing is written. */
#include "fuzz.h"
#include "io/delta.h"

#include <stdio.h>
#include <stdlib.h>

static char bases[2][1024];

static void write_bases(void)
{
	snprintf(bases[0], sizeof bases[0], "%s/base_mlp.h5", sb_fuzz_dir());
	sb_fuzz_mlp_base(bases[0]);
	size_t size;
	void *bytes = sb_fuzz_llmc_bytes(&sb_fuzz_gpts[0], &size);
	snprintf(bases[1], sizeof bases[1], "%s",
		 sb_fuzz_write("base_gpt.bin", bytes, size));
	free(bytes);
}

/* Accepted: the delta loads and rebuilds on one of the bases. */
static int load(const uint8_t *data, size_t size, struct sb_error *err)
{
	if (!bases[0][0])
		write_bases();
	const char *path = sb_fuzz_write("delta.h5", data, size);
	struct sb_delta d;
	int rc = sb_delta_load(&d, path, err);
	if (!rc) {
		rc = -1;
		for (int b = 0; b < 2 && rc; b++) {
			float *params = NULL;
			rc = sb_delta_rebuild(&d, path, bases[b], &params, err);
			free(params);
		}
	}
	sb_delta_release(&d);
	return rc;
}

const struct sb_fuzz_target sb_fuzz_delta = {
	.name = "delta",
	.hdf5 = true,
	.load = load,
};
