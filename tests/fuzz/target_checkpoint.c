/* target_checkpoint.c - an HDF5 checkpoint (harness/io/checkpoint.c)
 * loaded by sb_checkpoint_load into the mlp plugin's layout, as a run
 * initialises its model from `model.checkpoint`. */
#include "fuzz.h"
#include "io/checkpoint.h"

static int load(const uint8_t *data, size_t size, struct sb_error *err)
{
	const char *path = sb_fuzz_write("checkpoint.h5", data, size);
	struct sb_fuzz_model m;
	sb_fuzz_mlp_open(&m);
	int rc = sb_checkpoint_load(path, &m.layout, m.params, NULL, 0, err);
	sb_fuzz_model_close(&m);
	return rc;
}

const struct sb_fuzz_target sb_fuzz_checkpoint = {
	.name = "checkpoint",
	.hdf5 = true,
	.load = load,
};
