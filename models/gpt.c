/* gpt.c - GPT-2 (Radford et al., 2019) as a model plugin: token and position
 * embeddings, pre-LayerNorm blocks, and a head tied to the token embedding
 * (lm) or a classifier on the last real token (classify); llm.c's layout. */
#include "sb.h"
#include "util.h"
#include "lib/gpt_ops.h"
#include "lib/grad_at.h"
#include "parallel.h"

#include <assert.h>
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct sb_param gpt_params[] = {
	{.name = "n_layer", .type = SB_INT, .def = "4", SB_RANGE(1, 1024),
	 .help = "transformer blocks",
	 .from_checkpoint = true},
	{.name = "n_head", .type = SB_INT, .def = "4", SB_RANGE(1, 4096),
	 .help = "attention heads per block (n_embd must be divisible by it)",
	 .from_checkpoint = true},
	{.name = "n_embd", .type = SB_INT, .def = "128", SB_RANGE(1, 65536),
	 .help = "width of the residual stream",
	 .from_checkpoint = true},
	{.name = "block_size", .type = SB_INT, .def = "128",
	 SB_RANGE(1, 1e6),
	 .help = "longest context: positions embedded (>= the dataset's seq_len)",
	 .from_checkpoint = true},
	{.name = "vocab", .type = SB_INT, .def = "0", SB_RANGE(0, 1e7),
	 .help = "token embeddings (0: the dataset's vocabulary; else at least it)",
	 .from_checkpoint = true},
	{.name = "head", .type = SB_CHOICE, .def = "lm", .choices = "lm|classify",
	 .help = "next-token logits tied to wte, or a classifier on the last token"},
	{0},
};

/* The tensors of one block, in table order. */
enum {
	LN1_W, LN1_B, QKV_W, QKV_B, ATTPROJ_W, ATTPROJ_B,
	LN2_W, LN2_B, FC_W, FC_B, FCPROJ_W, FCPROJ_B, PER_BLOCK
};

static const char *const block_tensor_names[PER_BLOCK] = {
	"ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
	"attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
	"mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight",
	"mlp.c_proj.bias",
};

/* Table indices of the tensors outside the blocks. */
#define WTE 0
#define WPE 1
#define LNF_W(g) (2 + (g)->L * PER_BLOCK)
#define LNF_B(g) (LNF_W(g) + 1)
#define CLS_W(g) (LNF_W(g) + 2)
#define CLS_B(g) (LNF_W(g) + 3)

/* What one block keeps from forward for backward; N = B*T rows. */
struct block_acts {
	float *ln1, *ln1_mean, *ln1_rstd; /* [N,C], [N], [N] */
	float *qkv;                       /* [N,3C] */
	float *att;                       /* [B,NH,T,T] */
	float *atty;                      /* [N,C] attention output */
	float *res2;                      /* [N,C] after the attention residual */
	float *ln2, *ln2_mean, *ln2_rstd; /* [N,C], [N], [N] */
	float *fch, *fch_gelu;            /* [N,4C] with c_fc's bias, GELU */
	float *res3;                      /* [N,C] the block's output */
};

struct gpt {
	size_t L, NH, C, block_size, V, NC;
	bool classify;
	size_t seq_len, max_batch;
	size_t threads;              /* OpenBLAS's thread count at init:
	                                attention's backward takes at most
	                                this many */

	struct sb_tensor *tensors;
	size_t n_tensors, n_params;

	/* forward: one buffer carved into the arrays below, sized for
	 * max_batch rows of seq_len positions */
	float *acts;
	size_t n_acts;               /* floats in acts */
	float *encoded;              /* [N,C] */
	struct block_acts *blocks;   /* [L] */
	float *lnf, *lnf_mean, *lnf_rstd; /* [N,C], [N], [N] */
	float *feat;                 /* [B,C] classify: lnf at the last token */
	float *probs;                /* [N,V] (lm) or [B,NC] (classify) */

	/* backward scratch, reused by every block */
	float *dres;                 /* [N,C] gradient of the residual stream */
	float *dln;                  /* [N,C] */
	float *datty;                /* [N,C] */
	float *dqkv;                 /* [N,3C] */
	float *dfch, *dfch_gelu;     /* [N,4C] */
	float *dlogits;              /* like probs */
	float *dfeat;                /* [B,C] */
	float *dscores;              /* [threads,T,T] attention's, a block
	                                per thread */
	struct sb_gpt_xent_row *xent_rows; /* [N] (lm) or [B] (classify) */

	/* backward under a plan: each tensor's destination, the scratch of
	 * the selected entries' kernels (grown on the first use), a layer
	 * norm's two gradients when not wanted whole, and the positions of
	 * each token for the lookup's selected entries */
	struct sb_layout layout;
	struct sb_tgrad *tgrad;      /* [n_tensors] */
	struct sb_grad_scratch scratch;
	float *ln_spare;             /* [2C] */
	size_t *tok_first, *tok_order; /* [V+1], [max_batch*seq_len] */

	/* the last forward's batch, copied */
	int32_t *tokens;             /* [B,T] */
	int32_t *targets;            /* [B,T] (lm) or [B] */
	int32_t *lengths;            /* [B] */
	size_t B, T;
	double count;                /* targets counted */
	bool have_forward;
	bool holds_pool;             /* sb_parallel_hold called at init */
};

/* ---- the tensor table -------------------------------------------------- */

static void add_tensor(struct gpt *g, char *name, size_t d0, size_t d1,
		       int layer)
{
	struct sb_tensor *t = &g->tensors[g->n_tensors++];
	t->name = name;
	t->offset = g->n_params;
	t->ndim = d1 ? 2 : 1;
	t->shape[0] = d0;
	t->shape[1] = d1;
	t->size = d1 ? d0 * d1 : d0;
	t->layer = layer;
	g->n_params += t->size;
}

static void build_table(struct gpt *g)
{
	const size_t C = g->C;
	const size_t shape[PER_BLOCK][2] = {
		[LN1_W] = {C, 0}, [LN1_B] = {C, 0},
		[QKV_W] = {3 * C, C}, [QKV_B] = {3 * C, 0},
		[ATTPROJ_W] = {C, C}, [ATTPROJ_B] = {C, 0},
		[LN2_W] = {C, 0}, [LN2_B] = {C, 0},
		[FC_W] = {4 * C, C}, [FC_B] = {4 * C, 0},
		[FCPROJ_W] = {C, 4 * C}, [FCPROJ_B] = {C, 0},
	};

	g->n_tensors = 0;
	g->n_params = 0;
	/* wte, wpe, the blocks, ln_f weight and bias, cls weight and bias */
	g->tensors = sb_calloc(6 + g->L * PER_BLOCK, sizeof *g->tensors);
	add_tensor(g, sb_strdup("wte.weight"), g->V, C, SB_LAYER_NONE);
	add_tensor(g, sb_strdup("wpe.weight"), g->block_size, C,
		   SB_LAYER_NONE);
	for (size_t l = 0; l < g->L; l++)
		for (int k = 0; k < PER_BLOCK; k++)
			add_tensor(g, sb_asprintf("h.%zu.%s", l,
						  block_tensor_names[k]),
				   shape[k][0], shape[k][1], (int)l);
	add_tensor(g, sb_strdup("ln_f.weight"), C, 0, SB_LAYER_NONE);
	add_tensor(g, sb_strdup("ln_f.bias"), C, 0, SB_LAYER_NONE);
	if (g->classify) {
		add_tensor(g, sb_strdup("cls.weight"), g->NC, C, SB_LAYER_NONE);
		add_tensor(g, sb_strdup("cls.bias"), g->NC, 0, SB_LAYER_NONE);
	}
}

static size_t block_off(const struct gpt *g, size_t l, int k)
{
	return g->tensors[2 + l * PER_BLOCK + (size_t)k].offset;
}

static size_t tensor_off(const struct gpt *g, size_t i)
{
	return g->tensors[i].offset;
}

/* ---- activation buffers ------------------------------------------------ */

/* Lays the activation arrays out one after another from `base` (with base
 * NULL, only counts) and returns the number of floats they take. */
static size_t layout_acts(struct gpt *g, float *base)
{
	const size_t N = g->max_batch * g->seq_len, C = g->C;
	const size_t B = g->max_batch, T = g->seq_len;
	const size_t head = g->classify ? B * g->NC : N * g->V;
	size_t used = 0;

#define CARVE(field, n) \
	do { if (base) field = base + used; used += (n); } while (0)
	CARVE(g->encoded, N * C);
	for (size_t l = 0; l < g->L; l++) {
		struct block_acts *a = &g->blocks[l];
		CARVE(a->ln1, N * C);
		CARVE(a->ln1_mean, N);
		CARVE(a->ln1_rstd, N);
		CARVE(a->qkv, N * 3 * C);
		CARVE(a->att, B * g->NH * T * T);
		CARVE(a->atty, N * C);
		CARVE(a->res2, N * C);
		CARVE(a->ln2, N * C);
		CARVE(a->ln2_mean, N);
		CARVE(a->ln2_rstd, N);
		CARVE(a->fch, N * 4 * C);
		CARVE(a->fch_gelu, N * 4 * C);
		CARVE(a->res3, N * C);
	}
	CARVE(g->lnf, N * C);
	CARVE(g->lnf_mean, N);
	CARVE(g->lnf_rstd, N);
	CARVE(g->feat, B * C);
	CARVE(g->probs, head);
	CARVE(g->dres, N * C);
	CARVE(g->dln, N * C);
	CARVE(g->datty, N * C);
	CARVE(g->dqkv, N * 3 * C);
	CARVE(g->dfch, N * 4 * C);
	CARVE(g->dfch_gelu, N * 4 * C);
	CARVE(g->dlogits, head);
	CARVE(g->dfeat, B * C);
	CARVE(g->dscores, g->threads * T * T);
#undef CARVE
	return used;
}

/* ---- init -------------------------------------------------------------- */

static const char *task_name(enum sb_task task)
{
	switch (task) {
	case SB_TASK_VECTOR_CLASSIFY: return "vector classification";
	case SB_TASK_LM: return "language modelling";
	case SB_TASK_SEQ_CLASSIFY: return "sequence classification";
	}
	return "unknown";
}

/* Checks the configuration against the data before anything is allocated,
 * and fills the sizes of g. */
static int configure(struct gpt *g, const struct sb_values *cfg,
		     const struct sb_data_info *data, size_t max_batch,
		     struct sb_error *err)
{
	long n_layer = sb_values_int(cfg, "n_layer");
	long n_head = sb_values_int(cfg, "n_head");
	long n_embd = sb_values_int(cfg, "n_embd");
	long block_size = sb_values_int(cfg, "block_size");
	long vocab = sb_values_int(cfg, "vocab");
	const char *head = sb_values_str(cfg, "head");

	if (n_layer < 1 || n_head < 1 || n_embd < 1 || block_size < 1 ||
	    vocab < 0)
		return sb_error(err, "gpt sizes must be positive (n_layer %ld, "
				"n_head %ld, n_embd %ld, block_size %ld, "
				"vocab %ld)", n_layer, n_head, n_embd,
				block_size, vocab);
	if (n_embd % n_head)
		return sb_error(err, "'n_embd' %ld is not divisible by "
				"'n_head' %ld", n_embd, n_head);
	g->classify = !strcmp(head, "classify");
	if (data->task == SB_TASK_LM && g->classify)
		return sb_error(err, "head 'classify' does not fit task '%s': "
				"it needs head 'lm'", task_name(data->task));
	if (data->task == SB_TASK_SEQ_CLASSIFY && !g->classify)
		return sb_error(err, "head 'lm' does not fit task '%s': it "
				"needs head 'classify'", task_name(data->task));
	if (data->task != SB_TASK_LM && data->task != SB_TASK_SEQ_CLASSIFY)
		return sb_error(err, "model 'gpt' does not fit task '%s': it "
				"needs token data (task 'language modelling' "
				"with head 'lm', or 'sequence classification' "
				"with head 'classify')", task_name(data->task));
	if (data->vocab == 0 && vocab == 0)
		return sb_error(err, "'vocab' is 0 and the dataset declares no "
				"vocabulary");
	if (vocab && (size_t)vocab < data->vocab)
		return sb_error(err, "'vocab' %ld is smaller than the dataset's "
				"vocabulary %zu", vocab, data->vocab);
	if (data->seq_len == 0)
		return sb_error(err, "the dataset's 'seq_len' is 0");
	if (data->seq_len > (size_t)block_size)
		return sb_error(err, "the dataset's 'seq_len' %zu exceeds "
				"'block_size' %ld", data->seq_len, block_size);
	if (g->classify && data->n_classes < 1)
		return sb_error(err, "head 'classify' needs a dataset with "
				"classes ('n_classes' is 0)");
	if (max_batch == 0)
		return sb_error(err, "gpt needs a batch of at least 1 example");

	g->L = (size_t)n_layer;
	g->NH = (size_t)n_head;
	g->C = (size_t)n_embd;
	g->block_size = (size_t)block_size;
	g->V = vocab ? (size_t)vocab : data->vocab;
	g->NC = g->classify ? data->n_classes : 0;
	g->seq_len = data->seq_len;
	g->max_batch = max_batch;
	int threads = openblas_get_num_threads();
	g->threads = threads > 1 ? (size_t)threads : 1;

	/* Bounds in double first, so that the size_t arithmetic that follows
	 * cannot overflow; sgemm takes int dimensions. */
	double C = (double)g->C, L = (double)g->L, N;
	N = (double)max_batch * (double)g->seq_len;
	double n_params = (double)g->V * C + (double)g->block_size * C +
			  L * (12.0 * C * C + 13.0 * C) + 2.0 * C +
			  (double)g->NC * (C + 1.0);
	double T = (double)g->seq_len, n_out = (double)(g->V + g->NC);
	/* above what layout_acts counts: 16L + 17 arrays of [N,C], 2L + 2
	 * of [N], the scores and a [T,T] per thread, the head's two arrays
	 * and the features */
	double n_acts = N * (C + 1.0) * (16.0 * L + 20.0) +
			(L * (double)max_batch * (double)g->NH +
			 (double)g->threads) * T * T +
			2.0 * N * n_out + 2.0 * (double)max_batch * C;
	if (n_params > (double)UINT32_MAX)
		return sb_error(err, "gpt has %.0f parameters, more than "
				"indices reach (%u)", n_params, UINT32_MAX);
	if (N > (double)INT_MAX || 4.0 * C > (double)INT_MAX ||
	    (double)g->V > (double)INT_MAX ||
	    n_acts * sizeof(float) > (double)SIZE_MAX / 2)
		return sb_error(err, "gpt activations for batch %zu of %zu "
				"tokens do not fit in memory", max_batch,
				g->seq_len);
	return 0;
}

static int gpt_init(void *priv, const struct sb_values *cfg,
		    const struct sb_data_info *data, size_t max_batch,
		    struct sb_layout *layout, struct sb_error *err)
{
	struct gpt *g = priv;

	if (configure(g, cfg, data, max_batch, err) < 0)
		return -1;
	build_table(g);
	g->blocks = sb_calloc(g->L, sizeof *g->blocks);
	g->n_acts = layout_acts(g, NULL);
	g->acts = sb_malloc(g->n_acts * sizeof *g->acts);
	layout_acts(g, g->acts);
	g->tokens = sb_malloc(max_batch * g->seq_len * sizeof *g->tokens);
	g->targets = sb_malloc(max_batch * g->seq_len * sizeof *g->targets);
	g->lengths = sb_malloc(max_batch * sizeof *g->lengths);
	g->xent_rows = sb_malloc(max_batch * g->seq_len *
				 sizeof *g->xent_rows);

	g->tgrad = sb_calloc(g->n_tensors, sizeof *g->tgrad);
	g->ln_spare = sb_malloc(2 * g->C * sizeof *g->ln_spare);

	sb_parallel_hold();
	g->holds_pool = true;

	layout->n_params = g->n_params;
	layout->n_tensors = g->n_tensors;
	layout->tensors = g->tensors;
	layout->n_layers = (int)g->L;
	g->layout = *layout;
	return 0;
}

/* GPT-2's scheme: N(0, 0.02) weights, with the projections into the
 * residual stream scaled by 1/sqrt(2L); zero biases; unit norm gains. */
static void gpt_init_params(void *priv, float *params, uint64_t seed)
{
	const struct gpt *g = priv;
	struct sb_rng rng;
	const float std = 0.02f;
	const float proj_std = 0.02f / sqrtf(2.0f * (float)g->L);

	sb_rng_seed(&rng, seed);
	for (size_t i = 0; i < g->n_tensors; i++) {
		const struct sb_tensor *t = &g->tensors[i];
		float *p = params + t->offset;
		int k = t->layer == SB_LAYER_NONE ? -1 :
			(int)((i - 2) % PER_BLOCK);
		bool is_norm_gain = k == LN1_W || k == LN2_W ||
				    i == (size_t)LNF_W(g);
		bool is_proj = k == ATTPROJ_W || k == FCPROJ_W;
		float s = is_proj ? proj_std : std;

		if (is_norm_gain)
			for (size_t j = 0; j < t->size; j++)
				p[j] = 1.0f;
		else if (t->ndim == 1)
			memset(p, 0, t->size * sizeof *p);
		else
			for (size_t j = 0; j < t->size; j++)
				p[j] = s * (float)sb_rng_normal(&rng);
	}
}

/* ---- forward and backward ---------------------------------------------- */

/* Copies the batch; with the classify head, positions past a row's length
 * become token 0 (causal attention keeps them from reaching the last real
 * token) and T shrinks to the longest row. */
static void take_batch(struct gpt *g, const struct sb_batch *batch)
{
	const size_t B = batch->n, S = g->seq_len;
	size_t T = S;

	if (g->classify) {
		T = 1;
		for (size_t b = 0; b < B; b++) {
			int32_t len = batch->lengths[b];
			assert(len >= 1 && (size_t)len <= S);
			g->lengths[b] = len;
			T = (size_t)len > T ? (size_t)len : T;
		}
	}
	for (size_t b = 0; b < B; b++)
		for (size_t t = 0; t < T; t++) {
			int32_t tok = batch->tokens[b * S + t];
			if (g->classify && t >= (size_t)g->lengths[b])
				tok = 0;
			assert(tok >= 0 && (size_t)tok < g->V);
			g->tokens[b * T + t] = tok;
		}
	if (g->classify)
		memcpy(g->targets, batch->targets, B * sizeof *g->targets);
	else
		memcpy(g->targets, batch->targets, B * S * sizeof *g->targets);
	g->B = B;
	g->T = T;
}

static void gpt_forward(void *priv, const float *params,
			const struct sb_batch *batch, struct sb_eval *out)
{
	struct gpt *g = priv;
	const size_t C = g->C, NH = g->NH;

	assert(batch->n <= g->max_batch);
	memset(out, 0, sizeof *out);
	g->have_forward = batch->n > 0;
	g->count = 0.0;
	if (batch->n == 0)
		return;
	take_batch(g, batch);
	const size_t B = g->B, T = g->T, N = B * T;

	sb_gpt_encoder_forward(g->encoded, g->tokens,
			       params + tensor_off(g, WTE),
			       params + tensor_off(g, WPE), B, T, C);
	/* the first block's first norm; every later norm is computed in one
	 * pass with the projection's bias and the residual before it */
	sb_gpt_layernorm_forward(g->blocks[0].ln1, g->blocks[0].ln1_mean,
				 g->blocks[0].ln1_rstd, g->encoded,
				 params + block_off(g, 0, LN1_W),
				 params + block_off(g, 0, LN1_B), N, C);
	const float *resid = g->encoded; /* [N,C] */
	for (size_t l = 0; l < g->L; l++) {
		struct block_acts *a = &g->blocks[l];
		bool last = l + 1 == g->L;
		struct block_acts *next = last ? NULL : &g->blocks[l + 1];
#define W(k) (params + block_off(g, l, (k)))
		sb_gpt_matmul_forward(a->qkv, a->ln1, W(QKV_W), W(QKV_B), N, C,
				      3 * C);
		sb_gpt_attention_forward(a->atty, a->att, a->qkv, B, T, C, NH);
		sb_gpt_matmul_forward(a->res2, a->atty, W(ATTPROJ_W), NULL, N,
				      C, C);
		sb_gpt_residual_layernorm_forward(a->res2, a->ln2, a->ln2_mean,
						  a->ln2_rstd, resid,
						  W(ATTPROJ_B), W(LN2_W),
						  W(LN2_B), N, C);
		sb_gpt_matmul_forward(a->fch, a->ln2, W(FC_W), NULL, N, C,
				      4 * C);
		sb_gpt_bias_gelu_forward(a->fch_gelu, a->fch, W(FC_B), N,
					 4 * C);
		sb_gpt_matmul_forward(a->res3, a->fch_gelu, W(FCPROJ_W), NULL,
				      N, 4 * C, C);
		sb_gpt_residual_layernorm_forward(
			a->res3, last ? g->lnf : next->ln1,
			last ? g->lnf_mean : next->ln1_mean,
			last ? g->lnf_rstd : next->ln1_rstd, a->res2,
			W(FCPROJ_B),
			last ? params + tensor_off(g, LNF_W(g)) :
			       params + block_off(g, l + 1, LN1_W),
			last ? params + tensor_off(g, LNF_B(g)) :
			       params + block_off(g, l + 1, LN1_B), N, C);
#undef W
		resid = a->res3;
	}

	if (g->classify) {
		for (size_t b = 0; b < B; b++)
			memcpy(g->feat + b * C,
			       g->lnf + (b * T + (size_t)g->lengths[b] - 1) * C,
			       C * sizeof *g->feat);
		sb_gpt_matmul_forward(g->probs, g->feat,
				      params + tensor_off(g, CLS_W(g)),
				      params + tensor_off(g, CLS_B(g)), B, C,
				      g->NC);
		sb_gpt_crossentropy_forward(out, g->xent_rows, g->probs,
					    g->probs, g->targets, B, g->NC);
	} else {
		/* logits [N,V] = lnf [N,C] . wte^T: the head is tied */
		sb_gpt_matmul_forward(g->probs, g->lnf,
				      params + tensor_off(g, WTE), NULL, N, C,
				      g->V);
		sb_gpt_crossentropy_forward(out, g->xent_rows, g->probs,
					    g->probs, g->targets, N, g->V);
	}
	g->count = out->count;
}

/* ---- backward ---------------------------------------------------------- */

/* Backward visits the tensors top-down in stages: the head, ln_f, each
 * block from the last (six stages: its MLP projection, MLP input, second
 * norm, attention projection, qkv, first norm), then the embeddings. A
 * stage's rank is its place in that order. The lookup of the tied wte is at
 * the bottom, so wanting wte means wanting everything down to the
 * embeddings. Back-propagation stops after the lowest stage that holds a
 * wanted tensor: nothing below it is wanted. */
enum { ST_FCPROJ, ST_FC, ST_LN2, ST_ATTPROJ, ST_QKV, ST_LN1, STAGES };

#define RANK_HEAD 0
#define RANK_LNF 1

static int rank_block(const struct gpt *g, size_t l, int stage)
{
	return 2 + (int)(g->L - 1 - l) * STAGES + stage;
}

static int rank_embed(const struct gpt *g)
{
	return 2 + (int)g->L * STAGES;
}

static int tensor_rank(const struct gpt *g, size_t t)
{
	static const int stage_of[PER_BLOCK] = {
		[LN1_W] = ST_LN1, [LN1_B] = ST_LN1,
		[QKV_W] = ST_QKV, [QKV_B] = ST_QKV,
		[ATTPROJ_W] = ST_ATTPROJ, [ATTPROJ_B] = ST_ATTPROJ,
		[LN2_W] = ST_LN2, [LN2_B] = ST_LN2,
		[FC_W] = ST_FC, [FC_B] = ST_FC,
		[FCPROJ_W] = ST_FCPROJ, [FCPROJ_B] = ST_FCPROJ,
	};
	if (t == WTE || t == WPE)
		return rank_embed(g);
	if (t == (size_t)LNF_W(g) || t == (size_t)LNF_B(g))
		return RANK_LNF;
	if (t >= (size_t)CLS_W(g))
		return RANK_HEAD;
	size_t l = (t - 2) / PER_BLOCK;
	return rank_block(g, l, stage_of[(t - 2) % PER_BLOCK]);
}

/* The rank of the lowest stage holding a wanted tensor; -1 if none is. */
static int lowest_wanted(const struct gpt *g)
{
	int low = -1;
	for (size_t t = 0; t < g->n_tensors; t++)
		if (g->tgrad[t].want != SB_WANT_NONE) {
			int r = tensor_rank(g, t);
			low = r > low ? r : low;
		}
	return low;
}

/* A bias whose gradient a fused kernel has computed already. */
#define NO_BIAS SIZE_MAX

/* A linear layer's backward: dinp WRITTEN when not NULL, and the weight's
 * and bias's (unless b is NO_BIAS) gradients added as wanted. The full
 * path's products are the same sgemm calls as sb_gpt_matmul_backward's,
 * and a bias wanted whole the same sums as sb_tgrad_bias's, split over
 * the threads. */
static void linear_backward(struct gpt *g, float *dinp, size_t w, size_t b,
			    const float *dout, const float *inp,
			    const float *weight, size_t N, size_t C, size_t OC)
{
	if (dinp)
		sb_gpt_matmul_backward_input(dinp, dout, weight, N, C, OC);
	sb_tgrad_weight(&g->tgrad[w], dout, inp, N, C, OC, &g->scratch);
	if (b == NO_BIAS)
		return;
	if (g->tgrad[b].want == SB_WANT_ALL)
		sb_gpt_bias_backward(g->tgrad[b].dst, dout, N, OC);
	else
		sb_tgrad_bias(&g->tgrad[b], dout, N, OC, &g->scratch);
}

/* A layer norm's backward into dinp, its gain's and bias's gradients as
 * wanted (the kernel computes them whole in one pass with dinp). */
static void norm_backward(struct gpt *g, float *dinp, size_t w, size_t b,
			  const float *dout, const float *inp,
			  const float *weight, const float *mean,
			  const float *rstd, size_t N)
{
	const size_t C = g->C;
	float *dw = sb_tgrad_begin(&g->tgrad[w], C, g->ln_spare);
	float *db = sb_tgrad_begin(&g->tgrad[b], C, g->ln_spare + C);
	sb_gpt_layernorm_backward(dinp, dw, db, dout, inp, weight, mean, rstd,
				  N, C);
	sb_tgrad_finish(&g->tgrad[w], dw);
	sb_tgrad_finish(&g->tgrad[b], db);
}

/* The head, down to d(lnf) in dln when anything below is wanted. */
static void head_backward(struct gpt *g, const float *params, int low)
{
	const size_t C = g->C, B = g->B, T = g->T, N = B * T;
	const float scale = (float)(1.0 / g->count);
	bool below = low > RANK_HEAD;

	if (g->classify) {
		const size_t NC = g->NC;
		/* only the last real token of each row gets a gradient */
		if (below)
			memset(g->dln, 0, N * C * sizeof *g->dln);
		sb_gpt_crossentropy_backward_write(g->dlogits, g->probs,
						   g->targets, scale, B, NC);
		linear_backward(g, below ? g->dfeat : NULL, CLS_W(g), CLS_B(g),
				g->dlogits, g->feat,
				params + tensor_off(g, CLS_W(g)), B, C, NC);
		for (size_t b = 0; below && b < B; b++)
			memcpy(g->dln + (b * T + (size_t)g->lengths[b] - 1) * C,
			       g->dfeat + b * C, C * sizeof *g->dln);
	} else {
		sb_gpt_crossentropy_backward_write(g->dlogits, g->probs,
						   g->targets, scale, N, g->V);
		/* logits = lnf . wte^T: the head's share of wte's gradient;
		 * the lookup adds the other share at the bottom */
		if (below)
			sb_gpt_matmul_backward_input(g->dln, g->dlogits,
						     params + tensor_off(g, WTE),
						     N, C, g->V);
		sb_tgrad_weight(&g->tgrad[WTE], g->dlogits, g->lnf, N, C, g->V,
				&g->scratch);
	}
}

/* Block l's backward: g->dres holds d(res3) on entry and d(the block's
 * input) on exit; each residual passes the gradient through unchanged, and
 * the layer norms on the branches add theirs into it. Returns false when
 * it stopped, at stage `low`. */
static bool block_backward(struct gpt *g, const float *params, size_t l,
			   int low)
{
	const size_t C = g->C, NH = g->NH, B = g->B, T = g->T, N = B * T;
	const struct block_acts *a = &g->blocks[l];
	const float *resid = l ? g->blocks[l - 1].res3 : g->encoded;
	const size_t t0 = 2 + l * PER_BLOCK; /* the block's first tensor */
	const int r = rank_block(g, l, 0);
#define W(k) (params + block_off(g, l, (k)))
#define BELOW(stage) (low > r + (stage))

	linear_backward(g, BELOW(ST_FCPROJ) ? g->dfch_gelu : NULL,
			t0 + FCPROJ_W, t0 + FCPROJ_B, g->dres, a->fch_gelu,
			W(FCPROJ_W), N, 4 * C, C);
	if (!BELOW(ST_FCPROJ))
		return false;
	/* c_fc's bias gradient in the GELU's pass when wanted whole */
	const struct sb_tgrad *fc_b = &g->tgrad[t0 + FC_B];
	bool fused = fc_b->want == SB_WANT_ALL;
	sb_gpt_gelu_backward_bias(g->dfch, fused ? fc_b->dst : NULL, a->fch,
				  g->dfch_gelu, N, 4 * C);
	linear_backward(g, BELOW(ST_FC) ? g->dln : NULL, t0 + FC_W,
			fused ? NO_BIAS : t0 + FC_B, g->dfch, a->ln2, W(FC_W),
			N, C, 4 * C);
	if (!BELOW(ST_FC))
		return false;
	norm_backward(g, g->dres, t0 + LN2_W, t0 + LN2_B, g->dln, a->res2,
		      W(LN2_W), a->ln2_mean, a->ln2_rstd, N);
	if (!BELOW(ST_LN2))
		return false;

	linear_backward(g, BELOW(ST_ATTPROJ) ? g->datty : NULL,
			t0 + ATTPROJ_W, t0 + ATTPROJ_B, g->dres, a->atty,
			W(ATTPROJ_W), N, C, C);
	if (!BELOW(ST_ATTPROJ))
		return false;
	sb_gpt_attention_backward(g->dqkv, g->dscores, g->threads, g->datty,
				  a->qkv, a->att, B, T, C, NH);
	linear_backward(g, BELOW(ST_QKV) ? g->dln : NULL, t0 + QKV_W,
			t0 + QKV_B, g->dqkv, a->ln1, W(QKV_W), N, C, 3 * C);
	if (!BELOW(ST_QKV))
		return false;
	norm_backward(g, g->dres, t0 + LN1_W, t0 + LN1_B, g->dln, resid,
		      W(LN1_W), a->ln1_mean, a->ln1_rstd, N);
	return BELOW(ST_LN1);
#undef W
#undef BELOW
}

/* The lookup's share of wte's gradient and wpe's, from d(encoded) in dres. */
static void embed_backward(struct gpt *g)
{
	const size_t C = g->C, B = g->B, T = g->T, N = B * T;
	const struct sb_tgrad *wte = &g->tgrad[WTE], *wpe = &g->tgrad[WPE];

	if (wte->want == SB_WANT_ALL || wpe->want == SB_WANT_ALL)
		sb_gpt_encoder_backward(
			wte->want == SB_WANT_ALL ? wte->dst : NULL,
			wpe->want == SB_WANT_ALL ? wpe->dst : NULL, g->dres,
			g->tokens, B, T, C);
	if (wte->want == SB_WANT_SOME) {
		if (!g->tok_first) {
			g->tok_first = sb_malloc((g->V + 1) *
						 sizeof *g->tok_first);
			g->tok_order = sb_malloc(g->max_batch * g->seq_len *
						 sizeof *g->tok_order);
		}
		sb_gpt_encoder_backward_wte_at(wte->dst, wte->idx, wte->count,
					       wte->base, g->dres, g->tokens,
					       N, C, g->V, g->tok_first,
					       g->tok_order);
	}
	if (wpe->want == SB_WANT_SOME)
		sb_gpt_encoder_backward_wpe_at(wpe->dst, wpe->idx, wpe->count,
					       wpe->base, g->dres, B, T, C);
}

static void gpt_backward(void *priv, const float *params,
			 const struct sb_grad_plan *plan, float *grad)
{
	struct gpt *g = priv;
	const size_t C = g->C, N = g->B * g->T;

	if (!g->have_forward || g->count == 0.0)
		return; /* nothing was counted: the loss does not move */
	sb_tgrad_fill(g->tgrad, &g->layout, plan, grad);
	int low = lowest_wanted(g);
	if (low < 0)
		return;

	head_backward(g, params, low);
	if (low == RANK_HEAD)
		return;
	memset(g->dres, 0, N * C * sizeof *g->dres);
	norm_backward(g, g->dres, LNF_W(g), LNF_B(g), g->dln,
		      g->blocks[g->L - 1].res3, params + tensor_off(g, LNF_W(g)),
		      g->lnf_mean, g->lnf_rstd, N);
	if (low == RANK_LNF)
		return;
	for (size_t l = g->L; l-- > 0;)
		if (!block_backward(g, params, l, low))
			return;
	embed_backward(g);
}

static size_t gpt_activation_bytes(const void *priv)
{
	const struct gpt *g = priv;
	size_t N = g->max_batch * g->seq_len;
	size_t bytes = g->n_acts * sizeof *g->acts +
		       N * (sizeof *g->tokens + sizeof *g->targets +
			    sizeof *g->xent_rows) +
		       g->max_batch * sizeof *g->lengths +
		       g->n_tensors * sizeof *g->tgrad +
		       (2 * g->C + g->scratch.cap) * sizeof(float);
	if (g->tok_first)
		bytes += (g->V + 1 + N) * sizeof(size_t);
	return bytes;
}

static void gpt_release(void *priv)
{
	struct gpt *g = priv;

	for (size_t i = 0; g->tensors && i < g->n_tensors; i++)
		free((char *)g->tensors[i].name);
	free(g->tensors);
	free(g->blocks);
	free(g->acts);
	free(g->tokens);
	free(g->targets);
	free(g->lengths);
	free(g->xent_rows);
	free(g->tgrad);
	free(g->ln_spare);
	free(g->tok_first);
	free(g->tok_order);
	sb_grad_scratch_release(&g->scratch);
	if (g->holds_pool)
		sb_parallel_drop();
	memset(g, 0, sizeof *g);
}

const struct sb_model sb_model_gpt = {
	.name = "gpt",
	.summary = "GPT-2: pre-LayerNorm transformer with a tied LM head or a "
		   "last-token classifier",
	.params = gpt_params,
	.priv_size = sizeof(struct gpt),
	.init = gpt_init,
	.init_params = gpt_init_params,
	.forward = gpt_forward,
	.backward = gpt_backward,
	.activation_bytes = gpt_activation_bytes,
	.release = gpt_release,
};
