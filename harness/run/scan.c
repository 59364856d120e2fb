/* scan.c - the streaming pass of scan.h: blocks of 16 components are
 * tested for candidates at once into a bit mask, and only the marked ones
 * are taken; threads take contiguous runs of whole chunks and their
 * candidates are concatenated in thread order. */
#include "run/scan.h"
#include "util.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define BLOCK 16
#define MAX_THREADS 8


struct share {
	const struct sb_scan *s;
	const float *x;
	size_t n, chunk_lo, chunk_hi; /* chunks [chunk_lo, chunk_hi) */
	double *chunk_sum;            /* by chunk, shared */
	sb_index *idx;                /* cap + BLOCK slots of its own */
	float *val;
	size_t n_cand;                /* > cap: gave up collecting */
};

/* The energy of one chunk in the order of scan.h: lane l sums the
 * squares of components l, l+8, l+16, ... of the chunk. */
static double chunk_energy(const float *x, size_t len)
{
	/* eight named sums, so that they stay in registers */
	double l0 = 0, l1 = 0, l2 = 0, l3 = 0, l4 = 0, l5 = 0, l6 = 0, l7 = 0;
	size_t i = 0;
	for (; i + SB_SCAN_LANES <= len; i += SB_SCAN_LANES) {
		const float *v = x + i;
		l0 += (double)v[0] * (double)v[0];
		l1 += (double)v[1] * (double)v[1];
		l2 += (double)v[2] * (double)v[2];
		l3 += (double)v[3] * (double)v[3];
		l4 += (double)v[4] * (double)v[4];
		l5 += (double)v[5] * (double)v[5];
		l6 += (double)v[6] * (double)v[6];
		l7 += (double)v[7] * (double)v[7];
	}
	double lane[SB_SCAN_LANES] = {l0, l1, l2, l3, l4, l5, l6, l7};
	for (; i < len; i++)
		lane[i % SB_SCAN_LANES] += (double)x[i] * (double)x[i];
	return ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
	       ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

double sb_scan_energy_at(const float *x, const sb_index *idx, size_t k)
{
	float chunk[SB_SCAN_CHUNK];
	double energy = 0.0;
	for (size_t j0 = 0; j0 < k; j0 += SB_SCAN_CHUNK) {
		size_t len = k - j0 < SB_SCAN_CHUNK ? k - j0 : SB_SCAN_CHUNK;
		for (size_t j = 0; j < len; j++)
			chunk[j] = x[idx[j0 + j]];
		energy += chunk_energy(chunk, len);
	}
	return energy;
}

/* A bit per component of x[i..i+BLOCK), set when its key is >= bound
 * (keys and bound are below 2^31, so they compare as signed). SSE2, part
 * of every x86-64, gives the mask in four compares and one byte mask;
 * elsewhere the plain loop. */
#ifdef __SSE2__
static inline __m128i quad_hits(const float *x, __m128i abs_mask,
				__m128i below)
{
	__m128i v = _mm_loadu_si128((const __m128i *)x);
	return _mm_cmpgt_epi32(_mm_and_si128(v, abs_mask), below);
}

static inline unsigned block_hits(const float *x, uint32_t bound)
{
	const __m128i abs_mask = _mm_set1_epi32(0x7fffffff);
	const __m128i below = _mm_set1_epi32((int32_t)bound - 1);
	/* the four compares' all-ones or zero lanes, packed with signed
	 * saturation (which keeps -1 and 0) to sixteen bytes, in order */
	__m128i lo = _mm_packs_epi32(quad_hits(x, abs_mask, below),
				     quad_hits(x + 4, abs_mask, below));
	__m128i hi = _mm_packs_epi32(quad_hits(x + 8, abs_mask, below),
				     quad_hits(x + 12, abs_mask, below));
	return (unsigned)_mm_movemask_epi8(_mm_packs_epi16(lo, hi));
}
#else
static inline unsigned block_hits(const float *x, uint32_t bound)
{
	unsigned mask = 0;
	for (int l = 0; l < BLOCK; l++)
		mask |= (unsigned)(sb_scan_key(x[l]) >= bound) << l;
	return mask;
}
#endif

/* Appends the components of x[i..) marked in mask at idx/val[*w]. The
 * first mark, the common case, takes no branch on the data: its slot is
 * written whether or not there is one, and the count advances by whether
 * there was (the buffer has BLOCK slots past cap for this). */
static inline void take(const float *x, size_t i, unsigned mask,
			sb_index *idx, float *val, size_t *w)
{
	/* the bit past the block stands for "none": then the slot gets
	 * x[i], and is not counted */
	unsigned l = (unsigned)__builtin_ctz(mask | 1u << BLOCK) % BLOCK;
	idx[*w] = (sb_index)(i + l);
	val[*w] = x[i + l];
	*w += mask != 0;
	mask &= mask - 1;
	while (mask) {
		l = (unsigned)__builtin_ctz(mask);
		mask &= mask - 1;
		idx[*w] = (sb_index)(i + l);
		val[*w] = x[i + l];
		(*w)++;
	}
}

/* The candidates of one chunk x[i0..i1), in index order, added to the
 * share's; the share gives up (n_cand = cap + 1) once it holds more than
 * cap. */
static void chunk_collect(struct share *sh, size_t i0, size_t i1)
{
	const float *x = sh->x;
	uint32_t bound = sh->s->bound;
	size_t w = sh->n_cand, cap = sh->s->cap;
	size_t i = i0;
	for (; i + BLOCK <= i1 && w <= cap; i += BLOCK)
		take(x, i, block_hits(x + i, bound), sh->idx, sh->val, &w);
	if (i < i1 && w <= cap) { /* the chunk's last, partial block */
		unsigned mask = 0;
		for (size_t l = 0; i + l < i1; l++)
			mask |= (unsigned)(sb_scan_key(x[i + l]) >= bound)
				<< l;
		take(x, i, mask, sh->idx, sh->val, &w);
	}
	sh->n_cand = w > cap ? cap + 1 : w;
}

/* One share's chunks: each one's energy, then its candidates, read
 * again from the cache. */
static void *scan_thread(void *arg)
{
	struct share *sh = arg;
	const struct sb_scan *s = sh->s;
	for (size_t c = sh->chunk_lo; c < sh->chunk_hi; c++) {
		size_t i0 = c * SB_SCAN_CHUNK;
		size_t i1 = i0 + SB_SCAN_CHUNK < sh->n ? i0 + SB_SCAN_CHUNK
							: sh->n;
		if (s->energy)
			sh->chunk_sum[c] = chunk_energy(sh->x + i0, i1 - i0);
		if (s->collect && sh->n_cand <= s->cap)
			chunk_collect(sh, i0, i1);
	}
	return NULL;
}

void sb_scan_run(struct sb_scan *s, const float *x, size_t n, int threads)
{
	size_t n_chunks = (n + SB_SCAN_CHUNK - 1) / SB_SCAN_CHUNK;
	size_t max_threads = n / SB_SCAN_MIN_PER_THREAD;
	size_t n_threads = threads < 1 ? 1 : (size_t)threads;
	if (n_threads > max_threads)
		n_threads = max_threads ? max_threads : 1;
	if (n_threads > MAX_THREADS)
		n_threads = MAX_THREADS;

	double *chunk_sum = sb_malloc((n_chunks ? n_chunks : 1) *
				      sizeof *chunk_sum);
	free(s->cand_idx);
	free(s->cand_val);
	s->cand_idx = NULL;
	s->cand_val = NULL;
	size_t cap = s->collect ? s->cap : 0;
	sb_index *idx = NULL;
	float *val = NULL;
	size_t room = cap + BLOCK; /* a share's slots: see take() */
	if (s->collect) {
		idx = sb_malloc(n_threads * room * sizeof *idx);
		val = sb_malloc(n_threads * room * sizeof *val);
	}

	struct share sh[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	bool started[MAX_THREADS] = {false};
	for (size_t t = 0; t < n_threads; t++) {
		sh[t] = (struct share){
			.s = s, .x = x, .n = n,
			.chunk_lo = n_chunks * t / n_threads,
			.chunk_hi = n_chunks * (t + 1) / n_threads,
			.chunk_sum = chunk_sum,
			.idx = idx ? idx + t * room : NULL,
			.val = val ? val + t * room : NULL,
		};
		/* a thread that cannot start leaves its share to this one */
		if (t > 0)
			started[t] = pthread_create(&tid[t], NULL, scan_thread,
						    &sh[t]) == 0;
	}
	scan_thread(&sh[0]);
	for (size_t t = 1; t < n_threads; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			scan_thread(&sh[t]);
	}

	/* the shares' candidates, in share (= index) order, packed at the
	 * front */
	s->n_cand = 0;
	for (size_t t = 0; t < n_threads && s->collect; t++) {
		if (sh[t].n_cand > cap || s->n_cand + sh[t].n_cand > cap) {
			s->n_cand = cap + 1;
			break;
		}
		memmove(idx + s->n_cand, sh[t].idx,
			sh[t].n_cand * sizeof *idx);
		memmove(val + s->n_cand, sh[t].val,
			sh[t].n_cand * sizeof *val);
		s->n_cand += sh[t].n_cand;
	}
	s->cand_idx = idx;
	s->cand_val = val;

	double energy = 0.0;
	for (size_t c = 0; c < n_chunks && s->energy; c++)
		energy += chunk_sum[c];
	s->energy_sum = energy;
	free(chunk_sum);
}

void sb_scan_release(struct sb_scan *s)
{
	free(s->cand_idx);
	free(s->cand_val);
	s->cand_idx = NULL;
	s->cand_val = NULL;
}

int sb_scan_threads(void)
{
	int t = openblas_get_num_threads();
	return t < 1 ? 1 : t;
}
