/* models.c - the models whose layouts the checkpoint targets load into
 * (fuzz.h), made by the real gpt and mlp plugins as a run makes them, and
 * the bases the delta target applies deltas to. */
#include "fuzz.h"
#include "io/checkpoint.h"
#include "util.h"
#include "../../models/lib/llmc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct sb_model sb_model_gpt;
extern const struct sb_model sb_model_mlp;

/* The first is the shape of the committed llm.c seed (about 2 KiB); the
 * second that of the seed written at fuzz time. Vocabularies are padded as
 * llm.c pads them, so a layout takes the first V of Vp rows. */
const struct sb_fuzz_gpt sb_fuzz_gpts[2] = {
	{.n_layer = 1, .n_head = 1, .n_embd = 4, .block_size = 4, .vocab = 5,
	 .padded_vocab = 8},
	{.n_layer = 2, .n_head = 2, .n_embd = 8, .block_size = 6, .vocab = 11,
	 .padded_vocab = 16},
};

static void set(struct sb_values *cfg, const char *name, long value)
{
	char text[32];
	struct sb_error err;
	snprintf(text, sizeof text, "%ld", value);
	if (sb_values_set(cfg, name, text, &err)) {
		fprintf(stderr, "fuzz model: %s\n", err.msg);
		abort();
	}
}

static void open_model(struct sb_fuzz_model *m, const struct sb_model *model,
		       struct sb_values *cfg, const struct sb_data_info *info)
{
	struct sb_error err;
	*m = (struct sb_fuzz_model){.model = model};
	m->priv = sb_calloc(1, model->priv_size);
	if (model->init(m->priv, cfg, info, 1, &m->layout, &err)) {
		fprintf(stderr, "fuzz model '%s': %s\n", model->name, err.msg);
		abort();
	}
	m->params = sb_calloc(m->layout.n_params, sizeof *m->params);
	sb_values_release(cfg);
}

void sb_fuzz_gpt_open(struct sb_fuzz_model *m, const struct sb_fuzz_gpt *g)
{
	struct sb_values cfg = {0};
	struct sb_error err;
	if (sb_values_defaults(&cfg, sb_model_gpt.params, &err))
		abort();
	set(&cfg, "n_layer", g->n_layer);
	set(&cfg, "n_head", g->n_head);
	set(&cfg, "n_embd", g->n_embd);
	set(&cfg, "block_size", g->block_size);
	struct sb_data_info info = {
		.task = SB_TASK_LM, .vocab = (size_t)g->vocab,
		.seq_len = (size_t)g->block_size,
	};
	open_model(m, &sb_model_gpt, &cfg, &info);
}

void sb_fuzz_mlp_open(struct sb_fuzz_model *m)
{
	struct sb_values cfg = {0};
	struct sb_error err;
	if (sb_values_defaults(&cfg, sb_model_mlp.params, &err))
		abort();
	set(&cfg, "hidden", 5);
	set(&cfg, "layers", 2);
	struct sb_data_info info = {
		.task = SB_TASK_VECTOR_CLASSIFY, .n_features = 4,
		.n_classes = 3,
	};
	open_model(m, &sb_model_mlp, &cfg, &info);
}

void sb_fuzz_model_close(struct sb_fuzz_model *m)
{
	m->model->release(m->priv);
	free(m->priv);
	free(m->params);
	*m = (struct sb_fuzz_model){0};
}

/* train_gpt2.c's header, then its sixteen tensors, whole, in order; value
 * j of tensor k is k + j / 1024, so every value is distinct and finite. */
void *sb_fuzz_llmc_bytes(const struct sb_fuzz_gpt *g, size_t *size)
{
	size_t L = (size_t)g->n_layer, C = (size_t)g->n_embd;
	size_t sizes[16] = {
		(size_t)g->padded_vocab * C, (size_t)g->block_size * C,
		L * C, L * C, L * 3 * C * C, L * 3 * C, L * C * C, L * C,
		L * C, L * C, L * 4 * C * C, L * 4 * C, L * 4 * C * C, L * C,
		C, C,
	};
	size_t n = 0;
	for (int k = 0; k < 16; k++)
		n += sizes[k];
	int32_t header[SB_LLMC_HEADER_INTS] = {
		SB_LLMC_MODEL_MAGIC, SB_LLMC_MODEL_VERSION, g->block_size,
		g->vocab, g->n_layer, g->n_head, g->n_embd, g->padded_vocab,
	};
	*size = sizeof header + n * sizeof(float);
	unsigned char *bytes = sb_malloc(*size);
	memcpy(bytes, header, sizeof header); /* little-endian, as llmc.c */
	float *v = (float *)(void *)(bytes + sizeof header);
	for (int k = 0; k < 16; k++)
		for (size_t j = 0; j < sizes[k]; j++)
			*v++ = (float)k + (float)j / 1024.0f;
	return bytes;
}

/* The mlp's base: component i is i / 8 - 1. */
void sb_fuzz_mlp_base(const char *path)
{
	struct sb_fuzz_model m;
	struct sb_error err;
	sb_fuzz_mlp_open(&m);
	for (size_t i = 0; i < m.layout.n_params; i++)
		m.params[i] = (float)i / 8.0f - 1.0f;
	if (sb_checkpoint_save(path, "mlp", "hidden: 5\nlayers: 2\n",
			       &m.layout, m.params, &err)) {
		fprintf(stderr, "fuzz base '%s': %s\n", path, err.msg);
		abort();
	}
	sb_fuzz_model_close(&m);
}
