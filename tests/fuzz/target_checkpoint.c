/* target_checkpoint.c - an HDF5 checkpoint (harness/io/checkpoint.c): the
 * model it was written for read by sb_checkpoint_config, as run and validate
 * take the model's shape from it, then the file loaded by sb_checkpoint_load
 * into the mlp plugin's layout, as a run initialises its model from
 * `model.checkpoint`. The load's error is reported first. */
#include "fuzz.h"
#include "io/checkpoint.h"

static int load(const uint8_t *data, size_t size, struct sb_error *err)
{
	const char *path = sb_fuzz_write("checkpoint.h5", data, size);
	struct sb_checkpoint_config cfg;
	struct sb_error cfg_err = {{0}};
	int cfg_rc = sb_checkpoint_config(path, &cfg, &cfg_err);
	sb_checkpoint_config_release(&cfg);
	struct sb_fuzz_model m;
	sb_fuzz_mlp_open(&m);
	int rc = sb_checkpoint_load(path, &m.layout, m.params, NULL, 0, err);
	sb_fuzz_model_close(&m);
	if (!rc && cfg_rc) {
		*err = cfg_err;
		rc = -1;
	}
	return rc;
}

const struct sb_fuzz_target sb_fuzz_checkpoint = {
	.name = "checkpoint",
	.hdf5 = true,
	.load = load,
};
