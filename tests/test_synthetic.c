/* test_synthetic.c - the synthetic teacher-network dataset
 * (datasets/synthetic.c): reproducible data, split sizes, labels, noise. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sb.h"
#include "util.h"

extern const struct sb_dataset sb_dataset_synthetic;

struct opened {
	void *priv;
	struct sb_data_info info;
};

/* Opens with the defaults overridden by name/value pairs, NULL-ended. */
static void open_with(struct opened *o, ...)
{
	struct sb_values cfg;
	struct sb_error err = {{0}};
	va_list ap;
	assert_int_equal(sb_values_defaults(&cfg, sb_dataset_synthetic.params,
					    &err), 0);
	va_start(ap, o);
	for (const char *name; (name = va_arg(ap, const char *));) {
		const char *value = va_arg(ap, const char *);
		assert_int_equal(sb_values_set(&cfg, name, value, &err), 0);
	}
	va_end(ap);
	o->priv = sb_calloc(1, sb_dataset_synthetic.priv_size);
	int rc = sb_dataset_synthetic.open(o->priv, &cfg, &o->info, &err);
	if (rc)
		fail_msg("open: %s", err.msg);
	sb_values_release(&cfg);
}

static void close_opened(struct opened *o)
{
	sb_dataset_synthetic.release(o->priv);
	free(o->priv);
}

/* Every row of a split, in order. */
static void read_split(const struct opened *o, enum sb_split split,
		       float **x, int32_t **y)
{
	size_t n = o->info.n_examples[split];
	size_t *rows = sb_malloc(n * sizeof *rows);
	for (size_t i = 0; i < n; i++)
		rows[i] = i;
	struct sb_batch b = {
		.x = sb_malloc(n * o->info.n_features * sizeof *b.x),
		.targets = sb_malloc(n * sizeof *b.targets),
	};
	sb_dataset_synthetic.batch(o->priv, split, rows, n, &b);
	assert_int_equal(b.n, n);
	*x = b.x;
	*y = b.targets;
	free(rows);
}

static void test_defaults_give_declared_sizes(void **state)
{
	(void)state;
	struct opened o;
	open_with(&o, NULL);
	assert_int_equal(o.info.task, SB_TASK_VECTOR_CLASSIFY);
	assert_int_equal(o.info.n_features, 32);
	assert_int_equal(o.info.n_classes, 10);
	assert_int_equal(o.info.n_examples[SB_TRAIN], 4096);
	assert_int_equal(o.info.n_examples[SB_VAL], 1024);
	assert_int_equal(o.info.n_examples[SB_TEST], 1024);
	assert_null(sb_dataset_synthetic.check);
	close_opened(&o);

	open_with(&o, "n_features", "7", "n_classes", "3", "n_train", "50",
		  "n_val", "20", "n_test", "30", NULL);
	assert_int_equal(o.info.n_features, 7);
	assert_int_equal(o.info.n_classes, 3);
	assert_int_equal(o.info.n_examples[SB_TRAIN], 50);
	assert_int_equal(o.info.n_examples[SB_VAL], 20);
	assert_int_equal(o.info.n_examples[SB_TEST], 30);
	close_opened(&o);
}

static void test_same_data_seed_same_data(void **state)
{
	(void)state;
	struct opened a, b;
	open_with(&a, "data_seed", "5", NULL);
	open_with(&b, "data_seed", "5", NULL);
	for (int s = SB_TRAIN; s <= SB_TEST; s++) {
		float *xa, *xb;
		int32_t *ya, *yb;
		size_t n = a.info.n_examples[s];
		read_split(&a, (enum sb_split)s, &xa, &ya);
		read_split(&b, (enum sb_split)s, &xb, &yb);
		assert_memory_equal(xa, xb, n * 32 * sizeof *xa);
		assert_memory_equal(ya, yb, n * sizeof *ya);
		free(xa);
		free(xb);
		free(ya);
		free(yb);
	}
	close_opened(&a);
	close_opened(&b);
}

static void test_other_data_seed_other_data(void **state)
{
	(void)state;
	struct opened a, b;
	open_with(&a, "data_seed", "5", NULL);
	open_with(&b, "data_seed", "6", NULL);
	float *xa, *xb;
	int32_t *ya, *yb;
	read_split(&a, SB_TRAIN, &xa, &ya);
	read_split(&b, SB_TRAIN, &xb, &yb);
	size_t same_x = 0, same_y = 0, n = 4096;
	for (size_t i = 0; i < n * 32; i++)
		same_x += xa[i] == xb[i];
	for (size_t i = 0; i < n; i++)
		same_y += ya[i] == yb[i];
	assert_int_equal(same_x, 0);
	/* independent teachers agree by chance on about 1/10 of labels; 20%
	 * is over 20 sigma above that (sd of the count is ~19 of 4096) */
	assert_true(same_y < n / 5);
	free(xa);
	free(xb);
	free(ya);
	free(yb);
	close_opened(&a);
	close_opened(&b);
}

static void test_splits_are_distinct_and_independent_of_sizes(void **state)
{
	(void)state;
	struct opened a, b;
	open_with(&a, NULL);
	open_with(&b, "n_train", "100", NULL);
	float *xa, *xb, *xv;
	int32_t *ya, *yb, *yv;
	/* the test split does not move when n_train changes */
	read_split(&a, SB_TEST, &xa, &ya);
	read_split(&b, SB_TEST, &xb, &yb);
	assert_memory_equal(xa, xb, 1024 * 32 * sizeof *xa);
	assert_memory_equal(ya, yb, 1024 * sizeof *ya);
	/* and differs from the validation split */
	read_split(&a, SB_VAL, &xv, &yv);
	assert_memory_not_equal(xa, xv, 32 * sizeof *xa);
	free(xa);
	free(xb);
	free(xv);
	free(ya);
	free(yb);
	free(yv);
	/* the first 100 training rows are the same as well */
	read_split(&a, SB_TRAIN, &xa, &ya);
	read_split(&b, SB_TRAIN, &xb, &yb);
	assert_memory_equal(xa, xb, 100 * 32 * sizeof *xa);
	assert_memory_equal(ya, yb, 100 * sizeof *ya);
	free(xa);
	free(xb);
	free(ya);
	free(yb);
	close_opened(&a);
	close_opened(&b);
}

static void test_labels_in_range_and_every_class_present(void **state)
{
	(void)state;
	struct opened o;
	open_with(&o, NULL);
	for (int s = SB_TRAIN; s <= SB_TEST; s++) {
		float *x;
		int32_t *y;
		size_t n = o.info.n_examples[s], count[10] = {0};
		read_split(&o, (enum sb_split)s, &x, &y);
		for (size_t i = 0; i < n; i++) {
			assert_in_range(y[i], 0, 9);
			count[y[i]]++;
		}
		/* not degenerate: every class has at least a quarter of its
		 * fair share, none has more than three times it */
		for (int c = 0; c < 10; c++) {
			assert_true(count[c] >= n / 40);
			assert_true(count[c] <= 3 * n / 10);
		}
		/* the inputs are N(0, 1): over 32768+ draws the mean is within
		 * 0.03 (5 sigma) of 0 and the variance within 5% of 1 */
		double sum = 0, sq = 0;
		for (size_t i = 0; i < n * 32; i++) {
			sum += x[i];
			sq += (double)x[i] * x[i];
		}
		double mean = sum / (double)(n * 32);
		assert_true(fabs(mean) < 0.03);
		assert_true(fabs(sq / (double)(n * 32) - 1.0) < 0.05);
		free(x);
		free(y);
	}
	close_opened(&o);
}

static void test_label_noise_replaces_that_fraction(void **state)
{
	(void)state;
	struct opened clean, noisy;
	open_with(&clean, NULL);
	open_with(&noisy, "label_noise", "0.3", NULL);
	float *xc, *xn;
	int32_t *yc, *yn;
	read_split(&clean, SB_TRAIN, &xc, &yc);
	read_split(&noisy, SB_TRAIN, &xn, &yn);
	assert_memory_equal(xc, xn, 4096 * 32 * sizeof *xc);
	size_t changed = 0;
	for (size_t i = 0; i < 4096; i++)
		changed += yc[i] != yn[i];
	/* 30% are replaced, 9 in 10 of them by another class: 27% expected,
	 * sd 0.7%; 23%..31% is over 5 sigma either side */
	double share = (double)changed / 4096.0;
	assert_true(share > 0.23 && share < 0.31);
	free(xc);
	free(xn);
	free(yc);
	free(yn);
	close_opened(&clean);
	close_opened(&noisy);
}

/* batch() copies exactly the rows asked for, in the order asked. */
static void test_batch_copies_the_rows_asked_for(void **state)
{
	(void)state;
	struct opened a;
	open_with(&a, "n_train", "64", NULL);
	float *x;
	int32_t *y;
	read_split(&a, SB_TRAIN, &x, &y);
	size_t rows[3] = {63, 0, 17};
	struct sb_batch b = {.x = sb_malloc(3 * 32 * sizeof *b.x),
			     .targets = sb_malloc(3 * sizeof *b.targets)};
	sb_dataset_synthetic.batch(a.priv, SB_TRAIN, rows, 3, &b);
	assert_int_equal(b.n, 3);
	for (size_t r = 0; r < 3; r++) {
		assert_memory_equal(b.x + r * 32, x + rows[r] * 32,
				    32 * sizeof *x);
		assert_int_equal(b.targets[r], y[rows[r]]);
	}
	free(b.x);
	free(b.targets);
	free(x);
	free(y);
	close_opened(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_give_declared_sizes),
		cmocka_unit_test(test_same_data_seed_same_data),
		cmocka_unit_test(test_other_data_seed_other_data),
		cmocka_unit_test(test_splits_are_distinct_and_independent_of_sizes),
		cmocka_unit_test(test_labels_in_range_and_every_class_present),
		cmocka_unit_test(test_label_noise_replaces_that_fraction),
		cmocka_unit_test(test_batch_copies_the_rows_asked_for),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
