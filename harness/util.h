/* util.h - small services of the core: allocation that aborts on failure,
 * a seeded random generator (xoshiro256**, seeded by splitmix64), a
 * monotonic clock, and checked size arithmetic. */
#ifndef SB_UTIL_H
#define SB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

void *sb_malloc(size_t size);
void *sb_calloc(size_t n, size_t size);
void *sb_realloc(void *ptr, size_t size);
char *sb_strdup(const char *s);
/* printf into a fresh string. */
char *sb_asprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), nonnull(1)));

/* a * b, or false on overflow. */
bool sb_mul_ok(size_t a, size_t b, size_t *out);

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

#endif
