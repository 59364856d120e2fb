/* floor.c - the memory floors of floor.h. The read sums the array in 16
 * independent lanes (four vectors), which costs the processor less than the loads
 * themselves, so the pass runs at the memory's pace; threads take
 * contiguous halves (thirds, ...) of the array. */
#include "floor.h"
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#define LANES 16
#define MAX_THREADS 8

struct part {
	const float *x;
	float *a;
	size_t lo, hi;
	float s;
	float sum; /* the read's result, so that it is not optimised out */
};

/* Four floats the compiler keeps in one vector register (GCC and Clang). */
typedef float vec4 __attribute__((vector_size(16)));

static void *read_part(void *arg)
{
	struct part *p = arg;
	const float *x = p->x;
	/* four vectors of independent sums, more than the loads can feed */
	vec4 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
	size_t i = p->lo;
	for (; i + LANES <= p->hi; i += LANES) {
		vec4 v0, v1, v2, v3;
		memcpy(&v0, x + i, sizeof v0);
		memcpy(&v1, x + i + 4, sizeof v1);
		memcpy(&v2, x + i + 8, sizeof v2);
		memcpy(&v3, x + i + 12, sizeof v3);
		s0 += v0;
		s1 += v1;
		s2 += v2;
		s3 += v3;
	}
	vec4 s4 = (s0 + s1) + (s2 + s3);
	float sum = (s4[0] + s4[1]) + (s4[2] + s4[3]);
	for (; i < p->hi; i++)
		sum += x[i];
	p->sum = sum;
	return NULL;
}

static void *triad_part(void *arg)
{
	struct part *p = arg;
	float *restrict a = p->a;
	const float *restrict b = p->x;
	vec4 s = {p->s, p->s, p->s, p->s};
	size_t i = p->lo;
	for (; i + 8 <= p->hi; i += 8) {
		vec4 a0, a1, b0, b1;
		memcpy(&a0, a + i, sizeof a0);
		memcpy(&a1, a + i + 4, sizeof a1);
		memcpy(&b0, b + i, sizeof b0);
		memcpy(&b1, b + i + 4, sizeof b1);
		a0 += s * b0;
		a1 += s * b1;
		memcpy(a + i, &a0, sizeof a0);
		memcpy(a + i + 4, &a1, sizeof a1);
	}
	for (; i < p->hi; i++)
		a[i] += p->s * b[i];
	return NULL;
}

/* One pass of fn over [0, n) in `threads` contiguous parts. */
static double timed_pass(void *(*fn)(void *), const float *x, float *a,
			 size_t n, int threads)
{
	struct part part[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	double t0 = sb_now();
	for (int t = 0; t < threads; t++) {
		part[t] = (struct part){
			.x = x, .a = a, .s = 1e-7f,
			.lo = n * (size_t)t / (size_t)threads,
			.hi = n * (size_t)(t + 1) / (size_t)threads,
		};
		if (t > 0)
			pthread_create(&tid[t], NULL, fn, &part[t]);
	}
	fn(&part[0]);
	for (int t = 1; t < threads; t++)
		pthread_join(tid[t], NULL);
	double dt = sb_now() - t0;
	volatile float sink = part[0].sum;
	(void)sink;
	return dt;
}

static double fastest(void *(*fn)(void *), const float *x, float *a,
		      size_t n, int threads, int repeats)
{
	double best = INFINITY;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	for (int t = 1; t <= threads; t++)
		for (int r = 0; r < repeats; r++) {
			double dt = timed_pass(fn, x, a, n, t);
			best = dt < best ? dt : best;
		}
	return best;
}

double sb_floor_read(const float *x, size_t n, int threads, int repeats)
{
	return fastest(read_part, x, NULL, n, threads, repeats);
}

double sb_floor_triad(float *a, const float *b, size_t n, int threads,
		      int repeats)
{
	return fastest(triad_part, b, a, n, threads, repeats);
}
