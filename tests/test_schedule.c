/* test_schedule.c - the learning-rate schedule sb_schedule_lr (harness/spec/params.c):
 * constant, linear warm-up over t = 1..warmup, then linear or cosine decay
 * reaching min_lr at the last step t = steps. */
#include "support.h"

#include <math.h>

#include "sb.h"
#include "spec/params.h"

/* The schedule is a few double operations on values near 1e-3: rounding is
 * ~1e-19; the literals below carry 16 significant digits, so 1e-15 absolute
 * separates any formula error (>= 1e-7 here) from rounding. */
#define TOL 1e-15

static void schedule(struct sb_values *cfg, const char *kind,
		     const char *warmup, const char *min_lr)
{
	struct sb_error err = {{0}};
	assert_int_equal(sb_values_defaults(cfg, sb_schedule_params, &err), 0);
	assert_int_equal(sb_values_set(cfg, "lr", "0.001", &err), 0);
	assert_int_equal(sb_values_set(cfg, "schedule", kind, &err), 0);
	assert_int_equal(sb_values_set(cfg, "warmup", warmup, &err), 0);
	assert_int_equal(sb_values_set(cfg, "min_lr", min_lr, &err), 0);
}

static void test_defaults_are_constant(void **state)
{
	(void)state;
	struct sb_error err = {{0}};
	struct sb_values cfg;
	assert_int_equal(sb_values_defaults(&cfg, sb_schedule_params, &err), 0);
	assert_string_equal(sb_values_str(&cfg, "schedule"), "constant");
	assert_near(sb_schedule_lr(&cfg, 1, 100), 0.001, TOL);
	assert_near(sb_schedule_lr(&cfg, 100, 100), 0.001, TOL);
	sb_values_release(&cfg);
}

static void test_constant(void **state)
{
	(void)state;
	struct sb_values cfg;
	schedule(&cfg, "constant", "0", "0.0001");
	/* min_lr applies only to the decaying schedules */
	for (long t = 1; t <= 100; t += 33)
		assert_near(sb_schedule_lr(&cfg, t, 100), 0.001, TOL);
	assert_near(sb_schedule_lr(&cfg, 100, 100), 0.001, TOL);
	sb_values_release(&cfg);
}

static void test_warmup_ramp(void **state)
{
	(void)state;
	struct sb_values cfg;
	schedule(&cfg, "constant", "10", "0");
	/* lr t / warmup for t = 1..10, then lr */
	assert_near(sb_schedule_lr(&cfg, 1, 100), 0.0001, TOL);
	assert_near(sb_schedule_lr(&cfg, 5, 100), 0.0005, TOL);
	assert_near(sb_schedule_lr(&cfg, 10, 100), 0.001, TOL);
	assert_near(sb_schedule_lr(&cfg, 11, 100), 0.001, TOL);
	assert_near(sb_schedule_lr(&cfg, 100, 100), 0.001, TOL);
	sb_values_release(&cfg);

	/* the ramp leads every schedule; warm-up as long as the run never
	 * decays */
	schedule(&cfg, "cosine", "10", "0");
	assert_near(sb_schedule_lr(&cfg, 3, 100), 0.0003, TOL);
	assert_near(sb_schedule_lr(&cfg, 10, 10), 0.001, TOL);
	sb_values_release(&cfg);
}

static void test_linear(void **state)
{
	(void)state;
	struct sb_values cfg;
	schedule(&cfg, "linear", "0", "0.0001");
	/* min + (lr - min) (1 - t / steps), steps = 100 */
	assert_near(sb_schedule_lr(&cfg, 1, 100), 0.000991, TOL);
	assert_near(sb_schedule_lr(&cfg, 50, 100), 0.00055, TOL);
	assert_near(sb_schedule_lr(&cfg, 100, 100), 0.0001, TOL);
	sb_values_release(&cfg);

	/* after a warm-up of 10 the decay spans t = 10..110 */
	schedule(&cfg, "linear", "10", "0");
	assert_near(sb_schedule_lr(&cfg, 10, 110), 0.001, TOL);
	assert_near(sb_schedule_lr(&cfg, 11, 110), 0.00099, TOL);
	assert_near(sb_schedule_lr(&cfg, 60, 110), 0.0005, TOL);
	assert_near(sb_schedule_lr(&cfg, 110, 110), 0.0, TOL);
	sb_values_release(&cfg);
}

static void test_cosine(void **state)
{
	(void)state;
	struct sb_values cfg;
	schedule(&cfg, "cosine", "0", "0.0001");
	/* min + (lr - min) (1 + cos(pi t / steps)) / 2, steps = 100;
	 * cos(pi / 100) = 0.9995065603657316 */
	assert_near(sb_schedule_lr(&cfg, 1, 100),
		    0.0001 + 0.00045 * (1 + 0.9995065603657316), TOL);
	assert_near(sb_schedule_lr(&cfg, 50, 100), 0.00055, TOL);
	assert_near(sb_schedule_lr(&cfg, 100, 100), 0.0001, TOL);
	/* a quarter of the way: cos(pi / 4) = 0.7071067811865476 */
	assert_near(sb_schedule_lr(&cfg, 25, 100),
		    0.0001 + 0.00045 * (1 + 0.7071067811865476), TOL);
	sb_values_release(&cfg);

	schedule(&cfg, "cosine", "10", "0");
	assert_near(sb_schedule_lr(&cfg, 60, 110), 0.0005, TOL);
	assert_near(sb_schedule_lr(&cfg, 110, 110), 0.0, TOL);
	sb_values_release(&cfg);
}

/* Both decays fall monotonically from lr to min_lr, never below it. */
static void test_decay_is_monotone(void **state)
{
	(void)state;
	const char *kinds[] = {"linear", "cosine"};
	for (size_t s = 0; s < 2; s++) {
		struct sb_values cfg;
		schedule(&cfg, kinds[s], "5", "0.0002");
		double prev = sb_schedule_lr(&cfg, 5, 1000);
		for (long t = 6; t <= 1000; t++) {
			double lr = sb_schedule_lr(&cfg, t, 1000);
			assert_true(lr <= prev && lr >= 0.0002 - TOL);
			prev = lr;
		}
		sb_values_release(&cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_are_constant),
		cmocka_unit_test(test_constant),
		cmocka_unit_test(test_warmup_ramp),
		cmocka_unit_test(test_linear),
		cmocka_unit_test(test_cosine),
		cmocka_unit_test(test_decay_is_monotone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
