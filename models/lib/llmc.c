/* llmc.c - llm.c's GPT-2 weights and token shards (see llmc.h). The weights
 * layout is gpt2_build_from_checkpoint / fill_in_parameter_sizes of llm.c's
 * train_gpt2.c; the shard layout is write_datafile of llm.c's
 * dev/data/data_common.py. */
#include "llmc.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "llm.c files are little-endian; this reader copies them as they are"
#endif

#define HEADER_BYTES (SB_LLMC_HEADER_INTS * sizeof(int32_t))

/* Opens a file and reads its 256-int header; *size is the file's size. */
static FILE *open_with_header(const char *path, int32_t *header,
			      size_t *size, struct sb_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		sb_error(err, "'%s': cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		sb_error(err, "'%s': not a regular file", path);
		fclose(f);
		return NULL;
	}
	*size = (size_t)st.st_size;
	if (fread(header, sizeof *header, SB_LLMC_HEADER_INTS, f) !=
	    SB_LLMC_HEADER_INTS) {
		sb_error(err, "'%s': truncated: %zu bytes, shorter than the "
			 "%zu-byte llm.c header", path, *size, HEADER_BYTES);
		fclose(f);
		return NULL;
	}
	return f;
}

static int check_size(const char *path, size_t expected, size_t actual,
		      struct sb_error *err)
{
	if (actual == expected)
		return 0;
	return sb_error(err, "'%s': %s: the header implies %zu bytes, the file "
			"has %zu", path, actual < expected ? "truncated" :
			"oversized", expected, actual);
}

/* ---- GPT-2 weights ---------------------------------------------------- */

/* The sixteen parameter tensors of train_gpt2.c, in file order. */
enum {
	P_WTE, P_WPE, P_LN1W, P_LN1B, P_QKVW, P_QKVB, P_ATTPROJW, P_ATTPROJB,
	P_LN2W, P_LN2B, P_FCW, P_FCB, P_FCPROJW, P_FCPROJB, P_LNFW, P_LNFB,
	N_PARAM_TENSORS
};

/* Per-layer tensors: sparsebench name suffix, file tensor, shape as
 * multiples of C ({3, 1} is [3C, C]; a 0 ends the shape). */
static const struct {
	const char *suffix;
	int which;
	size_t dims[2];
} block_tensors[] = {
	{"ln_1.weight", P_LN1W, {1, 0}},
	{"ln_1.bias", P_LN1B, {1, 0}},
	{"attn.c_attn.weight", P_QKVW, {3, 1}},
	{"attn.c_attn.bias", P_QKVB, {3, 0}},
	{"attn.c_proj.weight", P_ATTPROJW, {1, 1}},
	{"attn.c_proj.bias", P_ATTPROJB, {1, 0}},
	{"ln_2.weight", P_LN2W, {1, 0}},
	{"ln_2.bias", P_LN2B, {1, 0}},
	{"mlp.c_fc.weight", P_FCW, {4, 1}},
	{"mlp.c_fc.bias", P_FCB, {4, 0}},
	{"mlp.c_proj.weight", P_FCPROJW, {1, 4}},
	{"mlp.c_proj.bias", P_FCPROJB, {1, 0}},
};

#define N_BLOCK_TENSORS (sizeof block_tensors / sizeof block_tensors[0])

/* Sizes of the file's tensors in floats (whole tensor, all layers), or
 * false when a product overflows. */
static bool param_sizes(const struct sb_llmc_config *c, size_t *sizes)
{
	size_t C = c->channels, L = c->n_layers, LC, C2;
	if (!sb_mul_ok(L, C, &LC) || !sb_mul_ok(C, C, &C2) ||
	    !sb_mul_ok(c->padded_vocab, C, &sizes[P_WTE]) ||
	    !sb_mul_ok(c->max_t, C, &sizes[P_WPE]) ||
	    !sb_mul_ok(L, C2, &sizes[P_ATTPROJW]) ||
	    sizes[P_ATTPROJW] > SIZE_MAX / 4 || LC > SIZE_MAX / 4)
		return false;
	sizes[P_LN1W] = sizes[P_LN1B] = LC;
	sizes[P_QKVW] = 3 * sizes[P_ATTPROJW];
	sizes[P_QKVB] = 3 * LC;
	sizes[P_ATTPROJB] = LC;
	sizes[P_LN2W] = sizes[P_LN2B] = LC;
	sizes[P_FCW] = 4 * sizes[P_ATTPROJW];
	sizes[P_FCB] = 4 * LC;
	sizes[P_FCPROJW] = 4 * sizes[P_ATTPROJW];
	sizes[P_FCPROJB] = LC;
	sizes[P_LNFW] = sizes[P_LNFB] = C;
	return true;
}

/* Offsets (in floats) of the file's tensors and their total; false on
 * overflow. */
static bool param_offsets(const struct sb_llmc_config *c, size_t *offsets,
			  size_t *total)
{
	size_t sizes[N_PARAM_TENSORS];
	if (!param_sizes(c, sizes))
		return false;
	size_t sum = 0;
	for (int i = 0; i < N_PARAM_TENSORS; i++) {
		offsets[i] = sum;
		if (sizes[i] > SIZE_MAX - sum)
			return false;
		sum += sizes[i];
	}
	*total = sum;
	return true;
}

static int read_model_header(const char *path, struct sb_llmc_config *cfg,
			     size_t *offsets, FILE **fp, struct sb_error *err)
{
	int32_t h[SB_LLMC_HEADER_INTS];
	size_t size;
	FILE *f = open_with_header(path, h, &size, err);
	if (!f)
		return -1;
	if (h[0] != SB_LLMC_MODEL_MAGIC) {
		fclose(f);
		return sb_error(err, "'%s': bad magic %d, not an llm.c GPT-2 "
				"weights file (magic %d)", path, (int)h[0],
				SB_LLMC_MODEL_MAGIC);
	}
	if (h[1] != SB_LLMC_MODEL_VERSION) {
		fclose(f);
		return sb_error(err, "'%s': llm.c weights version %d, expected "
				"%d (regenerate it with llm.c's "
				"train_gpt2.py)", path, (int)h[1],
				SB_LLMC_MODEL_VERSION);
	}
	for (int i = 2; i <= 7; i++) {
		if (h[i] <= 0) {
			fclose(f);
			return sb_error(err, "'%s': bad header: field %d is "
					"%d, must be positive", path, i,
					(int)h[i]);
		}
	}
	*cfg = (struct sb_llmc_config){
		.max_t = (size_t)h[2], .vocab = (size_t)h[3],
		.n_layers = (size_t)h[4], .n_heads = (size_t)h[5],
		.channels = (size_t)h[6], .padded_vocab = (size_t)h[7],
	};
	if (cfg->padded_vocab < cfg->vocab) {
		fclose(f);
		return sb_error(err, "'%s': bad header: padded vocabulary %zu "
				"is smaller than the vocabulary %zu", path,
				cfg->padded_vocab, cfg->vocab);
	}
	size_t local[N_PARAM_TENSORS], total, bytes;
	if (!offsets)
		offsets = local;
	if (!param_offsets(cfg, offsets, &total) ||
	    !sb_mul_ok(total, sizeof(float), &bytes) ||
	    bytes > SIZE_MAX - HEADER_BYTES) {
		fclose(f);
		return sb_error(err, "'%s': bad header: sizes overflow", path);
	}
	if (check_size(path, HEADER_BYTES + bytes, size, err)) {
		fclose(f);
		return -1;
	}
	if (fp)
		*fp = f;
	else
		fclose(f);
	return 0;
}

int sb_llmc_model_header(const char *path, struct sb_llmc_config *cfg,
			 struct sb_error *err)
{
	return read_model_header(path, cfg, NULL, NULL, err);
}

static const struct sb_tensor *find_tensor(const struct sb_layout *layout,
					   const char *name)
{
	for (size_t i = 0; i < layout->n_tensors; i++)
		if (!strcmp(layout->tensors[i].name, name))
			return &layout->tensors[i];
	return NULL;
}

static void format_shape(char *buf, size_t cap, int ndim, const size_t *shape)
{
	size_t used = (size_t)snprintf(buf, cap, "[");
	for (int d = 0; d < ndim && used < cap; d++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%zu",
					 d ? ", " : "", shape[d]);
	if (used < cap)
		snprintf(buf + used, cap - used, "]");
}

/* The layout's GPT configuration, read from its tensors' names and shapes:
 * L = 1 + the largest block index, C from ln_f, V and T from the
 * embeddings (0 when absent or fresh: a fresh embedding may have any
 * number of rows). */
struct layout_config {
	size_t n_layers, channels, vocab, ctx;
};

static void layout_config(const struct sb_layout *layout,
			  char *const *fresh, size_t n_fresh,
			  struct layout_config *lc)
{
	*lc = (struct layout_config){0};
	for (size_t i = 0; i < layout->n_tensors; i++) {
		const struct sb_tensor *t = &layout->tensors[i];
		unsigned long block;
		int used = 0;
		if (sscanf(t->name, "h.%lu.%n", &block, &used) == 1 && used &&
		    block + 1 > lc->n_layers)
			lc->n_layers = block + 1;
	}
	const struct sb_tensor *t;
	if ((t = find_tensor(layout, "ln_f.weight")) && t->ndim == 1)
		lc->channels = t->shape[0];
	if ((t = find_tensor(layout, "wte.weight")) && t->ndim == 2) {
		if (!sb_matches_any(t->name, fresh, n_fresh))
			lc->vocab = t->shape[0];
		if (!lc->channels)
			lc->channels = t->shape[1];
	}
	if ((t = find_tensor(layout, "wpe.weight")) && t->ndim == 2 &&
	    !sb_matches_any(t->name, fresh, n_fresh))
		lc->ctx = t->shape[0];
}

/* Where a layout tensor comes from in the file: its offset in floats past
 * the header, and its expected shape. Returns false for a name the file
 * does not hold. */
static bool locate(const char *name, const struct sb_llmc_config *c,
		   const size_t *offsets, const struct sb_tensor *t,
		   size_t *from, int *ndim, size_t *shape)
{
	size_t C = c->channels;
	if (!strcmp(name, "wte.weight") || !strcmp(name, "wpe.weight")) {
		bool wte = !strcmp(name, "wte.weight");
		/* the first rows: V of Vp, T of maxT */
		size_t rows = t->ndim == 2 ? t->shape[0] : 0;
		size_t limit = wte ? c->padded_vocab : c->max_t;
		*from = offsets[wte ? P_WTE : P_WPE];
		*ndim = 2;
		shape[0] = rows >= 1 && rows <= limit ? rows : limit;
		shape[1] = C;
		return true;
	}
	if (!strcmp(name, "ln_f.weight") || !strcmp(name, "ln_f.bias")) {
		*from = offsets[name[5] == 'w' ? P_LNFW : P_LNFB];
		*ndim = 1;
		shape[0] = C;
		return true;
	}
	unsigned long block;
	int used = 0;
	if (sscanf(name, "h.%lu.%n", &block, &used) != 1 || !used ||
	    block >= c->n_layers)
		return false;
	for (size_t i = 0; i < N_BLOCK_TENSORS; i++) {
		if (strcmp(name + used, block_tensors[i].suffix))
			continue;
		const size_t *dims = block_tensors[i].dims;
		*ndim = dims[1] ? 2 : 1;
		shape[0] = dims[0] * C;
		shape[1] = dims[1] * C;
		size_t per_layer = shape[0] * (dims[1] ? shape[1] : 1);
		*from = offsets[block_tensors[i].which] + block * per_layer;
		return true;
	}
	return false;
}

static int check_config(const char *path, const struct sb_llmc_config *c,
			const struct layout_config *lc, struct sb_error *err)
{
	bool ok = lc->n_layers == c->n_layers && lc->channels == c->channels &&
		  lc->vocab <= c->padded_vocab && lc->ctx <= c->max_t;
	if (ok)
		return 0;
	return sb_error(err, "'%s': the file holds a GPT-2 with L=%zu C=%zu "
			"NH=%zu V=%zu (padded %zu) maxT=%zu; the model has "
			"L=%zu C=%zu V=%zu T=%zu (L and C must match, V <= "
			"%zu, T <= %zu)", path, c->n_layers, c->channels,
			c->n_heads, c->vocab, c->padded_vocab, c->max_t,
			lc->n_layers, lc->channels, lc->vocab, lc->ctx,
			c->padded_vocab, c->max_t);
}

int sb_llmc_model_load(const char *path, const struct sb_layout *layout,
		       float *params, char *const *fresh, size_t n_fresh,
		       struct sb_error *err)
{
	struct sb_llmc_config cfg;
	size_t offsets[N_PARAM_TENSORS];
	FILE *f;
	if (read_model_header(path, &cfg, offsets, &f, err))
		return -1;
	struct layout_config lc;
	layout_config(layout, fresh, n_fresh, &lc);
	if (check_config(path, &cfg, &lc, err)) {
		fclose(f);
		return -1;
	}
	for (size_t i = 0; i < layout->n_tensors; i++) {
		const struct sb_tensor *t = &layout->tensors[i];
		if (sb_matches_any(t->name, fresh, n_fresh))
			continue;
		size_t from, shape[2];
		int ndim;
		if (!locate(t->name, &cfg, offsets, t, &from, &ndim, shape)) {
			fclose(f);
			return sb_error(err, "'%s': tensor '%s' missing (an "
					"llm.c GPT-2 file holds only wte, wpe, "
					"h.*, ln_f; list the tensor in 'fresh' "
					"to keep its initialisation)", path,
					t->name);
		}
		bool same = t->ndim == ndim && t->shape[0] == shape[0] &&
			    (ndim == 1 || t->shape[1] == shape[1]);
		if (!same) {
			char want[96], have[96];
			format_shape(want, sizeof want, ndim, shape);
			format_shape(have, sizeof have, t->ndim, t->shape);
			fclose(f);
			return sb_error(err, "'%s': tensor '%s' has shape %s "
					"in the file, %s in the model", path,
					t->name, want, have);
		}
		off_t at = (off_t)(HEADER_BYTES + from * sizeof(float));
		if (fseeko(f, at, SEEK_SET) ||
		    fread(params + t->offset, sizeof(float), t->size, f) !=
			    t->size) {
			fclose(f);
			return sb_error(err, "'%s': read error at byte %lld",
					path, (long long)at);
		}
	}
	fclose(f);
	return 0;
}

/* ---- token shards ----------------------------------------------------- */

static int read_tokens_header(const char *path, size_t *n_tokens, FILE **fp,
			      struct sb_error *err)
{
	int32_t h[SB_LLMC_HEADER_INTS];
	size_t size;
	FILE *f = open_with_header(path, h, &size, err);
	if (!f)
		return -1;
	int rc = 0;
	if (h[0] != SB_LLMC_TOKENS_MAGIC)
		rc = sb_error(err, "'%s': bad magic %d, not an llm.c token "
			      "shard (magic %d)", path, (int)h[0],
			      SB_LLMC_TOKENS_MAGIC);
	else if (h[1] != SB_LLMC_TOKENS_VERSION)
		rc = sb_error(err, "'%s': llm.c token shard version %d, "
			      "expected %d (regenerate it with llm.c's "
			      "dev/data scripts)", path, (int)h[1],
			      SB_LLMC_TOKENS_VERSION);
	else if (h[2] < 0)
		rc = sb_error(err, "'%s': bad header: %d tokens", path,
			      (int)h[2]);
	else
		rc = check_size(path, HEADER_BYTES + (size_t)h[2] *
				sizeof(uint16_t), size, err);
	if (rc || !fp)
		fclose(f);
	else
		*fp = f;
	if (!rc)
		*n_tokens = (size_t)h[2];
	return rc;
}

int sb_llmc_tokens_header(const char *path, size_t *n_tokens,
			  struct sb_error *err)
{
	return read_tokens_header(path, n_tokens, NULL, err);
}

int sb_llmc_tokens_read(const char *path, size_t vocab, uint16_t **tokens,
			size_t *n_tokens, struct sb_error *err)
{
	FILE *f;
	size_t n;
	if (read_tokens_header(path, &n, &f, err))
		return -1;
	uint16_t *buf = sb_malloc(n * sizeof *buf);
	if (fread(buf, sizeof *buf, n, f) != n) {
		fclose(f);
		free(buf);
		return sb_error(err, "'%s': read error", path);
	}
	fclose(f);
	for (size_t i = 0; i < n; i++) {
		if (buf[i] >= vocab) {
			int rc = sb_error(err, "'%s': token %u at offset %zu "
					  "is outside the vocabulary of %zu",
					  path, (unsigned)buf[i], i, vocab);
			free(buf);
			return rc;
		}
	}
	*tokens = buf;
	*n_tokens = n;
	return 0;
}
