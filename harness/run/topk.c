/* topk.c - top-k by magnitude in O(n) time, worst case too. The exact
 * selection is a radix select on the IEEE-754 bits of |x| (with the sign
 * bit cleared, the bit patterns of non-negative floats order like their
 * values), then one collecting pass. For large n and small k it runs among
 * a few candidates only: a sample of x gives a bound that the k-th largest
 * key very likely reaches, one streaming pass (run/scan.c) gathers every
 * component at or above it, and when they are at least k (and not too
 * many to keep) the top k of x is the top k of them. Otherwise the radix
 * select runs over all of x. Both ways give the same set. */
#include "run/topk.h"
#include "run/scan.h"
#include "util.h"

#include <math.h>

#include <stdlib.h>
#include <string.h>

/* The 31-bit key is split into digits of 11, 11 and 9 bits, high first. */
#define N_LEVELS 3
static const int digit_shift[N_LEVELS] = {20, 9, 0};
static const uint32_t digit_mask[N_LEVELS] = {0x7ff, 0x7ff, 0x1ff};

/* Bits of the key above the digit of a level (those already fixed). */
static const uint32_t prefix_mask[N_LEVELS] = {0x0, 0x7ff00000, 0x7ffffe00};

/* A bucket this small (relative to n) is copied out, so the remaining
 * levels scan it instead of the whole input. */
#define GATHER_DIVISOR 8

#define key_of sb_scan_key

/* The sample: at n >= SAMPLE_MIN_N, one component in SAMPLE_EVERY, at
 * most SAMPLE_MAX, at evenly spaced positions. */
#define SAMPLE_MIN_N (1u << 16)
#define SAMPLE_EVERY 64
#define SAMPLE_MAX (1u << 16)
/* The bound is the sample's key of rank r + SAMPLE_SIGMAS sqrt(r) +
 * SAMPLE_SLACK, where r = k m / n is the k-th key's expected rank among m
 * sampled: with random positions, it falls short of the k-th key with
 * probability below 1e-4. */
#define SAMPLE_SIGMAS 4.0
#define SAMPLE_SLACK 8.0

/* Picks the digit holding the r-th largest key given a histogram of the
 * candidates: the keys with a larger digit number fewer than r, those with
 * this digit or larger at least r. Lowers r by the count above. */
static uint32_t pick_digit(const size_t *hist, uint32_t n_digits, size_t *r)
{
	for (uint32_t d = n_digits; d-- > 0;) {
		if (hist[d] >= *r)
			return d;
		*r -= hist[d];
	}
	return 0; /* unreachable when r <= the candidates counted */
}

/* The k-th largest key (1 <= k <= n) and how many keys equal to it belong
 * to the top k (the rest of the top k is strictly larger). */
static void find_threshold(const float *x, size_t n, size_t k,
			   uint32_t *threshold, size_t *n_equal)
{
	size_t hist[2048];
	size_t r = k;
	uint32_t prefix = 0;
	uint32_t *cand = NULL; /* keys of the current bucket, once small */
	size_t n_cand = 0;

	for (int lv = 0; lv < N_LEVELS; lv++) {
		int sh = digit_shift[lv];
		uint32_t dm = digit_mask[lv], pm = prefix_mask[lv];
		memset(hist, 0, sizeof hist);
		if (cand) {
			for (size_t i = 0; i < n_cand; i++)
				hist[(cand[i] >> sh) & dm]++;
		} else if (lv == 0) {
			for (size_t i = 0; i < n; i++)
				hist[key_of(x[i]) >> sh]++;
		} else {
			for (size_t i = 0; i < n; i++) {
				uint32_t key = key_of(x[i]);
				if ((key & pm) == prefix)
					hist[(key >> sh) & dm]++;
			}
		}
		uint32_t d = pick_digit(hist, dm + 1, &r);
		prefix |= d << sh;
		if (lv == N_LEVELS - 1)
			break;

		/* Narrow to the chosen bucket; copy it out when small. */
		size_t in_bucket = hist[d];
		uint32_t next_pm = prefix_mask[lv + 1];
		if (cand) {
			size_t w = 0;
			for (size_t i = 0; i < n_cand; i++)
				if ((cand[i] & next_pm) == prefix)
					cand[w++] = cand[i];
			n_cand = w;
		} else if (in_bucket <= n / GATHER_DIVISOR) {
			cand = sb_malloc((in_bucket ? in_bucket : 1) *
					 sizeof *cand);
			for (size_t i = 0; i < n; i++) {
				uint32_t key = key_of(x[i]);
				if ((key & next_pm) == prefix)
					cand[n_cand++] = key;
			}
		}
	}
	free(cand);
	*threshold = prefix;
	*n_equal = r;
}

/* A lower bound on the k-th largest key of x from a sample of it, and how
 * many candidates a pass should keep at most; false when the sampled way
 * cannot pay (small n, or k too large a share of n). */
static bool sample_bound(const float *x, size_t n, size_t k, uint32_t *bound,
			 size_t *cap)
{
	if (n < SAMPLE_MIN_N)
		return false;
	size_t m = n / SAMPLE_EVERY < SAMPLE_MAX ? n / SAMPLE_EVERY : SAMPLE_MAX;
	double r = (double)k * (double)m / (double)n;
	double r_bound = ceil(r + SAMPLE_SIGMAS * sqrt(r) + SAMPLE_SLACK);
	if (r_bound > (double)(m / 4))
		return false;
	float *sample = sb_malloc(m * sizeof *sample);
	size_t stride = n / m;
	for (size_t j = 0; j < m; j++)
		sample[j] = x[j * stride + stride / 2];
	size_t n_equal;
	find_threshold(sample, m, (size_t)r_bound, bound, &n_equal);
	free(sample);
	/* the expected candidates, and half as many again for the spread */
	size_t expect = (size_t)(r_bound * (double)n / (double)m);
	*cap = expect + expect / 2 + 4096;
	if (*cap < k)
		*cap = k;
	return true;
}

/* The pass of s over x, collecting above a sampled bound when there is
 * one; true when it left the whole top k of x among s's candidates. */
static bool scan_top(struct sb_scan *s, const float *x, size_t n, size_t k)
{
	s->collect = sample_bound(x, n, k, &s->bound, &s->cap);
	if (!s->collect && !s->energy)
		return false;
	sb_scan_run(s, x, n, sb_scan_threads());
	return s->collect && s->n_cand >= k && s->n_cand <= s->cap;
}

void sb_topk_abs(const float *x, size_t n, size_t k, sb_index base,
		 sb_index *out)
{
	if (k > n)
		k = n;
	if (k == 0)
		return;
	if (k == n) {
		for (size_t i = 0; i < n; i++)
			out[i] = base + (sb_index)i;
		return;
	}
	/* Candidates hold every key >= the bound <= the k-th key, so the top
	 * k and all the keys tied with the k-th, in index order. */
	struct sb_scan s = {0};
	const sb_index *at = NULL; /* candidate j is x[at[j]] */
	const float *v = x;
	size_t n_v = n;
	if (scan_top(&s, x, n, k)) {
		at = s.cand_idx;
		v = s.cand_val;
		n_v = s.n_cand;
	}
	uint32_t threshold;
	size_t n_equal;
	find_threshold(v, n_v, k, &threshold, &n_equal);

	/* Index order: keys above the threshold, and the first n_equal keys
	 * equal to it, so ties go to the lower index and out is ascending. */
	size_t w = 0;
	for (size_t j = 0; j < n_v && w < k; j++) {
		uint32_t key = key_of(v[j]);
		if (key > threshold || (key == threshold && n_equal > 0)) {
			if (key == threshold)
				n_equal--;
			out[w++] = base + (sb_index)(at ? at[j] : j);
		}
	}
	sb_scan_release(&s);
}

/* The top k's energy: the squares of the keys above the k-th, in index
 * order, then the ties at it. With `total`, the energy of all of x
 * (sb_metrics_energy's) from the same pass. */
static double topk_energy(const float *x, size_t n, size_t k, double *total)
{
	if (k > n)
		k = n;
	/* k == n keeps everything: the total itself, in its fixed order, so
	 * that the oracle of a full set retains exactly 1 */
	struct sb_scan s = {.energy = total != NULL || (k > 0 && k == n)};
	bool some = k > 0 && k < n; /* else no threshold to find */
	bool few = some && scan_top(&s, x, n, k); /* the pass, if any */
	if (s.energy && !some)
		sb_scan_run(&s, x, n, sb_scan_threads());
	if (total)
		*total = s.energy_sum;
	double energy = 0.0;
	if (k == 0 || k == n) {
		energy = k ? s.energy_sum : 0.0;
		sb_scan_release(&s);
		return energy;
	}
	const float *v = few ? s.cand_val : x;
	size_t n_v = few ? s.n_cand : n;
	uint32_t threshold;
	size_t n_equal;
	find_threshold(v, n_v, k, &threshold, &n_equal);
	for (size_t j = 0; j < n_v; j++) {
		if (key_of(v[j]) > threshold)
			energy += (double)v[j] * (double)v[j];
	}
	sb_scan_release(&s);
	float t;
	memcpy(&t, &threshold, sizeof t);
	return energy + (double)n_equal * (double)t * (double)t;
}

double sb_topk_energy(const float *x, size_t n, size_t k)
{
	return topk_energy(x, n, k, NULL);
}

double sb_topk_energy_total(const float *x, size_t n, size_t k,
			    double *total)
{
	return topk_energy(x, n, k, total);
}
