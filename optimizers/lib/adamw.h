/* adamw.h - AdamW on one component (Loshchilov and Hutter, "Decoupled weight
 * decay regularization", ICLR 2019, Algorithm 2 with schedule multiplier 1),
 * shared by dense_adam and sparse_adam so both do the same float operations. */
#ifndef SB_ADAMW_H
#define SB_ADAMW_H

#include "sb.h"
#include "weight_decay.h"

#include <math.h>
#include <stdint.h>

/* The parameters both AdamW plugins declare, in their sb_param tables. */
#define ADAMW_PARAMS                                                          \
	{.name = "beta1", .type = SB_FLOAT, .def = "0.9", SB_RANGE(0, 1),     \
	 .hi_open = true, .help = "decay rate of the first moment"},           \
	{.name = "beta2", .type = SB_FLOAT, .def = "0.999", SB_RANGE(0, 1),   \
	 .hi_open = true, .help = "decay rate of the second moment"},          \
	{.name = "eps", .type = SB_FLOAT, .def = "1e-8", SB_RANGE(0, 1),      \
	 .lo_open = true, .help = "added to sqrt(vhat) in the denominator"},   \
	WEIGHT_DECAY_PARAM

struct adamw_hyper {
	double beta1_d, beta2_d; /* for the bias corrections, kept in double */
	float beta1, beta2, eps, wd;
	float one_minus_beta1, one_minus_beta2;
};

/* Reads the ADAMW_PARAMS values of an optimizer's resolved configuration. */
static inline void adamw_hyper_read(struct adamw_hyper *h,
				    const struct sb_values *cfg)
{
	double beta1 = sb_values_float(cfg, "beta1");
	double beta2 = sb_values_float(cfg, "beta2");
	h->beta1_d = beta1;
	h->beta2_d = beta2;
	h->beta1 = (float)beta1;
	h->beta2 = (float)beta2;
	h->eps = (float)sb_values_float(cfg, "eps");
	h->wd = (float)sb_values_float(cfg, "weight_decay");
	h->one_minus_beta1 = (float)(1.0 - beta1);
	h->one_minus_beta2 = (float)(1.0 - beta2);
}

static inline float adamw_m(const struct adamw_hyper *h, float m, float g)
{
	return h->beta1 * m + h->one_minus_beta1 * g;
}

static inline float adamw_v(const struct adamw_hyper *h, float v, float g)
{
	return h->beta2 * v + h->one_minus_beta2 * (g * g);
}

/* 1 / (1 - beta^count): the bias correction after `count` updates of a
 * moment that started at zero (count >= 1). Computed in double, rounded once. */
static inline float adamw_inv_bias(double beta, uint64_t count)
{
	return (float)(1.0 / (1.0 - pow(beta, (double)count)));
}

/* The new value of parameter p given its updated moments m, v and the
 * inverse bias corrections c1, c2:
 *   p - lr * (mhat / (sqrt(vhat) + eps) + wd * p),  mhat = m c1, vhat = v c2. */
static inline float adamw_move(float p, float m, float v, float c1, float c2,
			       float lr, const struct adamw_hyper *h)
{
	float mhat = m * c1;
	float vhat = v * c2;
	return p - lr * (mhat / (sqrtf(vhat) + h->eps) + h->wd * p);
}

#endif
