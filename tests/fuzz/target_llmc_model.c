/* target_llmc_model.c - llm.c GPT-2 weights (models/lib/llmc.c): the header
 * read as `validate` reads it, then the weights loaded through
 * sb_checkpoint_load (which knows them by their magic) into the gpt
 * plugin's layout of the same depth and width, whole and with fresh
 * embeddings, as a run loads its checkpoint. */
#include "fuzz.h"
#include "io/checkpoint.h"
#include "../../models/lib/llmc.h"

#include <stdbool.h>

/* The layout of the configuration the file claims, else the first. */
static const struct sb_fuzz_gpt *layout_for(const struct sb_llmc_config *c)
{
	for (int i = 0; i < 2; i++) {
		const struct sb_fuzz_gpt *g = &sb_fuzz_gpts[i];
		if ((size_t)g->n_layer == c->n_layers &&
		    (size_t)g->n_embd == c->channels)
			return g;
	}
	return &sb_fuzz_gpts[0];
}

static int load(const uint8_t *data, size_t size, struct sb_error *err)
{
	const char *path = sb_fuzz_write("model.bin", data, size);
	struct sb_llmc_config c;
	if (sb_llmc_model_header(path, &c, err))
		return -1;
	struct sb_fuzz_model m;
	sb_fuzz_gpt_open(&m, layout_for(&c));
	char *fresh[] = {"wte.weight", "wpe.weight"};
	int rc = sb_checkpoint_load(path, &m.layout, m.params, NULL, 0, err);
	if (!rc)
		rc = sb_checkpoint_load(path, &m.layout, m.params, fresh, 2,
					err);
	sb_fuzz_model_close(&m);
	return rc;
}

const struct sb_fuzz_target sb_fuzz_llmc_model = {
	.name = "llmc_model",
	.load = load,
};
