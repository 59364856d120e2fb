/* test_parallel.c - the loop split of harness/parallel.c: each part of
 * each call runs exactly once, with OpenBLAS on one thread meanwhile, on
 * threads started per call and on the pool, whose threads grow with the
 * thread count and are joined when the last hold is dropped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cblas.h>
#include <string.h>
#include "parallel.h"

#define MAX_TEST_PARTS 8

/* What the parts of one call saw. */
struct tally {
	int runs[MAX_TEST_PARTS];  /* times part p ran */
	size_t parts[MAX_TEST_PARTS]; /* the parts it was told of */
	int blas_threads[MAX_TEST_PARTS];
};

static void count_part(void *ctx, size_t part, size_t parts)
{
	struct tally *t = ctx;
	assert_true(part < MAX_TEST_PARTS);
	t->runs[part]++; /* parts write disjoint entries */
	t->parts[part] = parts;
	t->blas_threads[part] = openblas_get_num_threads();
}

/* One call with `threads` OpenBLAS threads and at most max_parts parts:
 * parts 0..want-1 ran once each, told of want parts, with OpenBLAS on one
 * thread when there were several (a single part runs on the caller as
 * any code does); none other ran; OpenBLAS has its count again after. */
static void check_call(int threads, size_t max_parts, size_t want)
{
	struct tally t;
	memset(&t, 0, sizeof t);
	openblas_set_num_threads(threads);
	sb_parallel_run(count_part, &t, max_parts);
	for (size_t p = 0; p < MAX_TEST_PARTS; p++) {
		assert_int_equal(t.runs[p], p < want ? 1 : 0);
		if (p < want) {
			assert_int_equal(t.parts[p], want);
			assert_int_equal(t.blas_threads[p],
					 want > 1 ? 1 : threads);
		}
	}
	assert_int_equal(openblas_get_num_threads(), threads);
}

static void test_threads_per_call(void **state)
{
	(void)state;
	check_call(1, 8, 1);
	check_call(2, 8, 2);
	check_call(2, 1, 1);
	check_call(3, 8, 3);
}

/* Many calls in a row on the pool, which starts one thread, grows to two
 * when OpenBLAS gets three, leaves one idle when a call has fewer parts,
 * and starts again after the last hold is dropped. */
static void test_pool(void **state)
{
	(void)state;
	sb_parallel_hold();
	sb_parallel_hold();
	for (int i = 0; i < 2000; i++)
		check_call(2, 8, 2);
	for (int i = 0; i < 500; i++) {
		check_call(3, 8, 3);
		check_call(3, 2, 2);
		check_call(1, 8, 1);
	}
	sb_parallel_drop();
	check_call(2, 8, 2); /* one hold is left: still the pool */
	sb_parallel_drop();
	check_call(2, 8, 2); /* none: threads per call */
	sb_parallel_hold();
	for (int i = 0; i < 100; i++)
		check_call(2, 8, 2);
	sb_parallel_drop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_per_call),
		cmocka_unit_test(test_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
