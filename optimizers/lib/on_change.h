/* on_change.h - what a sparse optimizer does with the state of a component
 * that leaves the selection: its parameter, declared once here for every
 * optimizer that keeps state for S alone (docs/optimizers.md, "on_change"). */
#ifndef SB_ON_CHANGE_H
#define SB_ON_CHANGE_H

#include "sb.h"

#include <string.h>

enum sb_on_change {
	SB_ON_CHANGE_RESET, /* dropped; a component that enters starts at 0 */
	SB_ON_CHANGE_KEEP,  /* parked, frozen, resumed as left on re-entry */
	SB_ON_CHANGE_DECAY, /* parked, resumed decayed as if its gradient had
	                       been zero for every step it was away */
};

/* The `on_change` entry of an optimizer's sb_param table. */
#define ON_CHANGE_PARAM                                                       \
	{.name = "on_change", .type = SB_CHOICE, .def = "reset",              \
	 .choices = "reset|keep|decay",                                        \
	 .help = "state of a component that leaves S: dropped, kept frozen, "  \
		 "or kept and decayed as with zero gradients while away"}

static inline enum sb_on_change sb_on_change_read(const struct sb_values *cfg)
{
	const char *mode = sb_values_str(cfg, "on_change");
	return !strcmp(mode, "keep")	? SB_ON_CHANGE_KEEP
	       : !strcmp(mode, "decay") ? SB_ON_CHANGE_DECAY
					: SB_ON_CHANGE_RESET;
}

#endif
