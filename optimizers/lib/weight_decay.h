/* weight_decay.h - decoupled weight decay (Loshchilov and Hutter, "Decoupled
 * weight decay regularization", ICLR 2019), which every optimizer here
 * offers: its parameter is declared once, here, for all of them. */
#ifndef SB_WEIGHT_DECAY_H
#define SB_WEIGHT_DECAY_H

#include "sb.h"

/* The `weight_decay` entry of an optimizer's sb_param table. */
#define WEIGHT_DECAY_PARAM                                                    \
	{.name = "weight_decay", .type = SB_FLOAT, .def = "0",                \
	 SB_RANGE(0, 1e3),                                                     \
	 .help = "decoupled decay: p -= lr * weight_decay * p (moving components)"}

#endif
