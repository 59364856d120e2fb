/* fixed_layers.c - S is every component of whole tensors chosen by block
 * index or by name pattern (fnmatch(3)), e.g. the last block and the head:
 * the layer-freezing baseline of DESIGN.md, fixed for the whole run. */
#include "sb.h"
#include "util.h"

#include <fnmatch.h>
#include <stdlib.h>

struct fixed_layers {
	bool *chosen;    /* per tensor of the layout */
	size_t n_chosen; /* components in the chosen tensors */
	bool selected;   /* S has been written once */
};

static const struct sb_param fixed_layers_params[] = {
	{.name = "layers", .type = SB_INTS, .def = "[]",
	 .help = "block indices whose tensors are trained; -1 is the last block"},
	{.name = "tensors", .type = SB_STRINGS, .def = "[]",
	 .help = "tensor-name patterns (fnmatch) of tensors trained whole"},
	{0},
};

static int fixed_layers_init(void *priv, const struct sb_values *cfg,
			     const struct sb_layout *layout,
			     struct sb_error *err)
{
	struct fixed_layers *p = priv;
	const struct sb_value *layers = sb_values_get(cfg, "layers");
	const struct sb_value *patterns = sb_values_get(cfg, "tensors");
	long n_layers = layout->n_layers;

	p->chosen = sb_calloc(layout->n_tensors ? layout->n_tensors : 1,
			      sizeof *p->chosen);
	for (size_t l = 0; l < layers->n; l++) {
		long layer = layers->ints[l];
		if (layer < -n_layers || layer >= n_layers)
			return sb_error(err, "fixed_layers: layer %ld is out of "
					"range (the model has %ld blocks: 0..%ld, "
					"or -%ld..-1 from the end)",
					layer, n_layers, n_layers - 1,
					n_layers);
		if (layer < 0)
			layer += n_layers;
		for (size_t t = 0; t < layout->n_tensors; t++)
			if (layout->tensors[t].layer == layer)
				p->chosen[t] = true;
	}
	for (size_t q = 0; q < patterns->n; q++) {
		bool hit = false;
		for (size_t t = 0; t < layout->n_tensors; t++)
			if (!fnmatch(patterns->strs[q],
				     layout->tensors[t].name, 0))
				hit = p->chosen[t] = true;
		if (!hit)
			return sb_error(err, "fixed_layers: tensor pattern '%s' "
					"matches no tensor", patterns->strs[q]);
	}
	p->n_chosen = 0;
	for (size_t t = 0; t < layout->n_tensors; t++)
		if (p->chosen[t])
			p->n_chosen += layout->tensors[t].size;
	if (p->n_chosen == 0)
		return sb_error(err, "fixed_layers: nothing selected: give "
				"'layers' or 'tensors' naming at least one "
				"non-empty tensor");
	return 0;
}

static int fixed_layers_select(void *priv, const struct sb_select_ctx *ctx,
			       struct sb_selection *out, struct sb_error *err)
{
	struct fixed_layers *p = priv;
	const struct sb_layout *layout = ctx->layout;
	(void)err;
	if (p->selected)
		return SB_SELECT_SAME;
	sb_selection_reserve(out, p->n_chosen);
	size_t w = 0;
	for (size_t t = 0; t < layout->n_tensors; t++) {
		const struct sb_tensor *ten = &layout->tensors[t];
		if (!p->chosen[t])
			continue;
		for (size_t i = 0; i < ten->size; i++)
			out->idx[w++] = (sb_index)(ten->offset + i);
	}
	out->k = w;
	p->selected = true;
	return SB_SELECT_FIXED;
}

static void fixed_layers_release(void *priv)
{
	struct fixed_layers *p = priv;
	free(p->chosen);
	p->chosen = NULL;
}

const struct sb_policy sb_policy_fixed_layers = {
	.name = "fixed_layers",
	.summary = "whole tensors chosen by block index or name pattern, fixed",
	.params = fixed_layers_params,
	.priv_size = sizeof(struct fixed_layers),
	.scoped = false,
	.grad_need = SB_GRAD_NEVER,
	.init = fixed_layers_init,
	.select = fixed_layers_select,
	.release = fixed_layers_release,
};
