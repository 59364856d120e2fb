/* registry.c - the generated plugin tables seen as one: the families'
 * names, counts, plugins by position and look-up by name. */
#include "registry.h"
#include "util.h"

#include <string.h>

const char *const sb_family_names[SB_N_FAMILIES] = {
	[SB_FAMILY_POLICY] = "policies",
	[SB_FAMILY_OPTIMIZER] = "optimizers",
	[SB_FAMILY_DATASET] = "datasets",
	[SB_FAMILY_MODEL] = "models",
};

size_t sb_registry_count(enum sb_family family)
{
	static const size_t *const counts[SB_N_FAMILIES] = {
		[SB_FAMILY_POLICY] = &sb_n_policies,
		[SB_FAMILY_OPTIMIZER] = &sb_n_optimizers,
		[SB_FAMILY_DATASET] = &sb_n_datasets,
		[SB_FAMILY_MODEL] = &sb_n_models,
	};
	sb_assert((unsigned)family < SB_N_FAMILIES, "a known plugin family");
	return *counts[family];
}

/* The common members of descriptor d of any family. */
#define PLUGIN_OF(fam, d, is_scoped)                                          \
	((struct sb_plugin){.family = (fam), .desc = (d), .name = (d)->name,  \
			    .summary = (d)->summary, .params = (d)->params,   \
			    .priv_size = (d)->priv_size,                      \
			    .release = (d)->release, .scoped = (is_scoped)})

struct sb_plugin sb_registry_plugin(enum sb_family family, size_t i)
{
	sb_assert(i < sb_registry_count(family),
		  "plugin index within its family's table");
	switch (family) {
	case SB_FAMILY_POLICY:
		return PLUGIN_OF(family, sb_policies[i], sb_policies[i]->scoped);
	case SB_FAMILY_OPTIMIZER:
		return PLUGIN_OF(family, sb_optimizers[i], false);
	case SB_FAMILY_DATASET:
		return PLUGIN_OF(family, sb_datasets[i], false);
	case SB_FAMILY_MODEL:
		return PLUGIN_OF(family, sb_models[i], false);
	case SB_N_FAMILIES:
		break;
	}
	sb_assert(false, "a known plugin family");
	return (struct sb_plugin){0};
}

bool sb_registry_find(enum sb_family family, const char *name,
		      struct sb_plugin *out)
{
	for (size_t i = 0; i < sb_registry_count(family); i++) {
		struct sb_plugin p = sb_registry_plugin(family, i);
		if (!strcmp(p.name, name)) {
			*out = p;
			return true;
		}
	}
	return false;
}
