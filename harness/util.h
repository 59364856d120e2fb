/* util.h - small services of the core: allocation that aborts on failure,
 * a growing string, a seeded random generator (xoshiro256**, seeded by
 * splitmix64), a monotonic clock, checked size arithmetic, invariant checks,
 * the mean of the finite values of an array and sizes in binary units. */
#ifndef SB_UTIL_H
#define SB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* Stops the program when an invariant of the code itself (never of its
 * input: that is an sb_error) does not hold, saying which and where. cond is
 * evaluated exactly once in every build, NDEBUG or not, unlike assert(3). */
#define sb_assert(cond, what)                                                 \
	((cond) ? (void)0                                                     \
		: (fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, \
			   __LINE__, (what)),                                 \
		   abort()))

void *sb_malloc(size_t size);
void *sb_calloc(size_t n, size_t size);
void *sb_realloc(void *ptr, size_t size);
char *sb_strdup(const char *s);
/* printf into a fresh string. */
char *sb_asprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), nonnull(1)));

/* A growing NUL-terminated string; {0} is empty, s stays NULL until the
 * first printf. The owner frees s. */
struct sb_strbuf {
	char *s;
	size_t len, cap;
};

/* Appends printf output to buf. */
void sb_strbuf_printf(struct sb_strbuf *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* a * b, or false on overflow. */
bool sb_mul_ok(size_t a, size_t b, size_t *out);

/* Whether `name` matches one of n fnmatch patterns (a tensor name against
 * a model's `fresh` list). */
bool sb_matches_any(const char *name, char *const *patterns, size_t n);

struct sb_rng {
	uint64_t s[4];
};

void sb_rng_seed(struct sb_rng *rng, uint64_t seed);
uint64_t sb_rng_next(struct sb_rng *rng);
double sb_rng_uniform(struct sb_rng *rng);        /* [0, 1) */
uint64_t sb_rng_below(struct sb_rng *rng, uint64_t n); /* [0, n), unbiased */
double sb_rng_normal(struct sb_rng *rng);         /* N(0, 1) */
/* Mixes a seed with a stream label so that sub-generators are independent. */
uint64_t sb_seed_mix(uint64_t seed, uint64_t stream);

double sb_now(void); /* monotonic seconds */

/* 64-bit FNV-1a, for stable hashing of text (data splits, run ids). */
uint64_t sb_hash_bytes(const void *data, size_t n);

/* The mean of the finite values of x[0..n), skipping NaN and infinities;
 * NaN when there is none. */
double sb_mean_finite(const double *x, size_t n);

/* The binary unit for a size in bytes: "B", "KiB", ... "TiB", the largest
 * that keeps |bytes| / *scale at 1 or more (B below 1 KiB); *scale is its
 * size in bytes. */
const char *sb_bytes_unit(double bytes, double *scale);
/* A size in bytes as text in the unit sb_bytes_unit picks, with two
 * decimals under 10, one under 100, none above, and none in B: "512 B",
 * "66.0 KiB", "3.21 MiB", "123 GiB"; "-" for NaN. */
void sb_format_bytes(double bytes, char *buf, size_t size);

#endif
