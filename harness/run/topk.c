/* topk.c - top-k by magnitude in O(n) time, worst case too: a radix select
 * on the IEEE-754 bits of |x| (with the sign bit cleared, the bit patterns
 * of non-negative floats order like their values), then one collecting pass. */
#include "run/topk.h"
#include "util.h"

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

static inline uint32_t key_of(float v)
{
	uint32_t bits;
	memcpy(&bits, &v, sizeof bits);
	return bits & 0x7fffffffu; /* -0.0 becomes 0.0 */
}

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
	uint32_t threshold;
	size_t n_equal;
	find_threshold(x, n, k, &threshold, &n_equal);

	/* Index order: keys above the threshold, and the first n_equal keys
	 * equal to it, so ties go to the lower index and out is ascending. */
	size_t w = 0;
	for (size_t i = 0; i < n && w < k; i++) {
		uint32_t key = key_of(x[i]);
		if (key > threshold || (key == threshold && n_equal > 0)) {
			if (key == threshold)
				n_equal--;
			out[w++] = base + (sb_index)i;
		}
	}
}

double sb_topk_energy(const float *x, size_t n, size_t k)
{
	if (k > n)
		k = n;
	double energy = 0.0;
	if (k == 0)
		return 0.0;
	if (k == n) {
		for (size_t i = 0; i < n; i++)
			energy += (double)x[i] * (double)x[i];
		return energy;
	}
	uint32_t threshold;
	size_t n_equal;
	find_threshold(x, n, k, &threshold, &n_equal);
	for (size_t i = 0; i < n; i++) {
		if (key_of(x[i]) > threshold)
			energy += (double)x[i] * (double)x[i];
	}
	float t;
	memcpy(&t, &threshold, sizeof t);
	return energy + (double)n_equal * (double)t * (double)t;
}
