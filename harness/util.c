/* util.c - allocation, strings, random numbers, clock, hashing, finite
 * means and byte sizes for the core.
 * xoshiro256** and splitmix64 follow Blackman and Vigna (2018). */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void out_of_memory(size_t size)
{
	fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", size);
	abort();
}

void *sb_malloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		out_of_memory(size);
	return p;
}

void *sb_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory(n * size);
	return p;
}

void *sb_realloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	if (!p)
		out_of_memory(size);
	return p;
}

char *sb_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = sb_malloc(n);
	memcpy(p, s, n);
	return p;
}

char *sb_asprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = sb_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

void sb_strbuf_printf(struct sb_strbuf *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	size_t need = buf->len + (size_t)n + 1;
	if (need > buf->cap) {
		buf->cap = need > 2 * buf->cap ? need : 2 * buf->cap;
		buf->s = sb_realloc(buf->s, buf->cap);
	}
	va_start(ap, fmt);
	vsnprintf(buf->s + buf->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf->len += (size_t)n;
}

bool sb_mul_ok(size_t a, size_t b, size_t *out)
{
	if (a && b > SIZE_MAX / a)
		return false;
	*out = a * b;
	return true;
}

bool sb_matches_any(const char *name, char *const *patterns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!fnmatch(patterns[i], name, 0))
			return true;
	return false;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void sb_rng_seed(struct sb_rng *rng, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sb_rng_next(struct sb_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double sb_rng_uniform(struct sb_rng *rng)
{
	return (double)(sb_rng_next(rng) >> 11) * 0x1.0p-53;
}

uint64_t sb_rng_below(struct sb_rng *rng, uint64_t n)
{
	/* Rejection keeps the draw unbiased for any n. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t r;
	do
		r = sb_rng_next(rng);
	while (r >= limit);
	return r % n;
}

double sb_rng_normal(struct sb_rng *rng)
{
	/* Box-Muller; one draw per call keeps the stream simple to replay. */
	double u1 = sb_rng_uniform(rng), u2 = sb_rng_uniform(rng);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t sb_seed_mix(uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);
	splitmix64(&x);
	return splitmix64(&x);
}

double sb_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint64_t sb_hash_bytes(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

double sb_mean_finite(const double *x, size_t n)
{
	double sum = 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i])) {
			sum += x[i];
			k++;
		}
	return k ? sum / (double)k : NAN;
}

const char *sb_bytes_unit(double bytes, double *scale)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	size_t u = 0;
	*scale = 1;
	while (fabs(bytes) / *scale >= 1024 &&
	       u + 1 < sizeof units / sizeof units[0]) {
		*scale *= 1024;
		u++;
	}
	return units[u];
}

void sb_format_bytes(double bytes, char *buf, size_t size)
{
	if (isnan(bytes)) {
		snprintf(buf, size, "-");
		return;
	}
	double scale;
	const char *unit = sb_bytes_unit(bytes, &scale);
	double v = bytes / scale;
	/* at least three significant digits; bytes are whole */
	int decimals = scale == 1 || fabs(v) >= 100 ? 0
		       : fabs(v) >= 10 ? 1 : 2;
	snprintf(buf, size, "%.*f %s", decimals, v, unit);
}
