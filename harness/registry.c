/* registry.c - look-up of the generated plugin tables by name. */
#include "registry.h"

#include <string.h>

#define FIND(table, count, name)                                  \
	do {                                                      \
		for (size_t i = 0; i < (count); i++)              \
			if (!strcmp((table)[i]->name, (name)))    \
				return (table)[i];                \
		return NULL;                                      \
	} while (0)

const struct sb_policy *sb_registry_policy(const char *name)
{
	FIND(sb_policies, sb_n_policies, name);
}

const struct sb_optimizer *sb_registry_optimizer(const char *name)
{
	FIND(sb_optimizers, sb_n_optimizers, name);
}

const struct sb_dataset *sb_registry_dataset(const char *name)
{
	FIND(sb_datasets, sb_n_datasets, name);
}

const struct sb_model *sb_registry_model(const char *name)
{
	FIND(sb_models, sb_n_models, name);
}
