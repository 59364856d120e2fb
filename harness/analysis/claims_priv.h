/* claims_priv.h - what the judges of the claims share (claims.c): the
 * paragraph being printed, the method and setting each claim compares,
 * the numbers over a setting's usable runs. The seed's claims 1 to 6 are
 * in claims_seed.c, claim 7 (optimizer history) in claims_history.c. */
#ifndef SB_CLAIMS_PRIV_H
#define SB_CLAIMS_PRIV_H

#include "analysis/aggregate.h"

#include <stdint.h>
#include <stdio.h>

/* No method, no setting. */
#define NONE SIZE_MAX

enum verdict { SUPPORTED, REFUTED, MIXED, UNMEASURED };

struct sb_claims_ctx {
	struct sb_aggregate agg;
	FILE *out;
	struct sb_error *err;
	int rc;      /* -1 once a series could not be read */
	size_t full; /* the dense+dense_adam method, or NONE */
	size_t counts[4];
};

/* The on_change modes of sparse_adam, in the order of their numbers. */
enum { SB_CLAIMS_N_MODES = 3 };
extern const char *const sb_claims_modes[SB_CLAIMS_N_MODES];

/* ---- paragraphs ---- */

/* "\n<no>. <claim>" */
void sb_claims_head(struct sb_claims_ctx *c, int no, const char *claim);
void sb_claims_rule(struct sb_claims_ctx *c, const char *text);
/* "   SUPPORTED: <reason>.", counted. */
void sb_claims_verdict(struct sb_claims_ctx *c, enum verdict v,
		       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "   not measured here (needs <needs>)", counted. */
void sb_claims_unmeasured(struct sb_claims_ctx *c, const char *needs);

/* ---- which methods, which settings ---- */

/* The method of that name, or NONE. */
size_t sb_claims_find_named(const struct sb_claims_ctx *c, const char *name);
/* Whether method m is a reference beside the compared methods
 * (`head_only`, `scratch`). */
bool sb_claims_is_reference(const struct sb_claims_ctx *c, size_t m);
/* The on_change mode of setting s: an index of sb_claims_modes (0, reset,
 * when its optimizer has none), -1 an unknown word. */
int sb_claims_mode_of(const struct sb_claims_ctx *c, size_t s);
/* The setting of method m under mode k best on validation at the density
 * nearest 1%, among those with a usable run; NONE if none. */
size_t sb_claims_best_in_mode(const struct sb_claims_ctx *c, size_t m, int k);
/* The same under reset; NONE for m NONE. */
size_t sb_claims_chosen(const struct sb_claims_ctx *c, size_t m);
/* The method `<policy>+<optimizer>`, else another of that pair; NONE. */
size_t sb_claims_find_method(const struct sb_claims_ctx *c, const char *policy,
			     const char *optimizer);

/* ---- numbers over the usable runs of a setting ---- */

/* The mean over the runs of the attribute, else of each run's mean of
 * steps/<column> (column non-NULL); NaN when none has a value. A series
 * that cannot be read sets c->rc. */
double sb_claims_mean_of(struct sb_claims_ctx *c, size_t s, const char *attr,
			 const char *column);
/* |S| as a share of the model's components. */
double sb_claims_share_of(struct sb_claims_ctx *c, size_t s);
/* The test (else validation) metric over the setting's usable runs. */
void sb_claims_metric(const struct sb_claims_ctx *c, size_t s, bool test,
		      struct sb_stats *out);
/* 1: every setting given has the test metric; 0: each has the validation
 * metric; -1: neither, or a setting is NONE. */
int sb_claims_split_of(const struct sb_claims_ctx *c, const size_t *s,
		       size_t n);
/* Opens a numbers line: which metric follows. */
void sb_claims_put_split(const struct sb_claims_ctx *c, int split);
/* `method [setting] mean ± std unit (n seeds)` */
void sb_claims_put_method(struct sb_claims_ctx *c, size_t s, int split);
/* By how much setting a beats b, in printed units; *pooled gets the
 * pooled sample std in the same units (0 without a degree of freedom). */
double sb_claims_margin(const struct sb_claims_ctx *c, size_t a, size_t b,
			int split, double *pooled);
/* The unit margins are printed in: the loss unit, or "points". */
const char *sb_claims_unit(const struct sb_claims_ctx *c);

/* ---- the claims ---- */

/* Claims 1 to 6, in order (claims_seed.c). */
void sb_claims_seed(struct sb_claims_ctx *c);
/* Claim 7 (claims_history.c). */
void sb_claims_history(struct sb_claims_ctx *c);

#endif
