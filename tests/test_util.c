/* test_util.c - the core's small services (harness/util.c): the growing
 * string, the mean of the finite values, and sizes in binary units. */
#include "support.h"

#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_strbuf_appends_across_growth(void **state)
{
	(void)state;
	struct sb_strbuf buf = {0};
	sb_strbuf_printf(&buf, "%s", "");
	assert_string_equal(buf.s, "");
	assert_int_equal(buf.len, 0);
	/* 2000 pieces of 1 to 5 characters: many reallocations */
	char want[12000];
	size_t used = 0;
	for (int i = 0; i < 2000; i++) {
		sb_strbuf_printf(&buf, "%d,", i);
		used += (size_t)snprintf(want + used, sizeof want - used, "%d,",
					 i);
	}
	assert_int_equal(buf.len, used);
	assert_int_equal(strlen(buf.s), used);
	assert_true(buf.cap > buf.len);
	assert_string_equal(buf.s, want);
	free(buf.s);
}

static void test_mean_skips_nan_and_infinities(void **state)
{
	(void)state;
	/* Small integers and halves: every sum and quotient is exact. */
	const double x[] = {1, NAN, 3, INFINITY, -INFINITY, 0.5, NAN};
	assert_true(sb_mean_finite(x, 7) == 1.5);
	assert_true(sb_mean_finite(x, 1) == 1.0);
	assert_true(sb_mean_finite(x, 3) == 2.0);
	const double none[] = {NAN, INFINITY, -INFINITY};
	assert_true(isnan(sb_mean_finite(none, 3)));
	assert_true(isnan(sb_mean_finite(NULL, 0)));
}

static void test_bytes_unit_is_the_largest_below_the_size(void **state)
{
	(void)state;
	struct {
		double bytes;
		const char *unit;
		double scale;
	} cases[] = {
		{0, "B", 1},
		{1023, "B", 1},
		{1024, "KiB", 1024},
		{1048575, "KiB", 1024},
		{1048576, "MiB", 1048576},
		{-3.0 * 1073741824, "GiB", 1073741824},
		{1099511627776.0, "TiB", 1099511627776.0},
		/* nothing above TiB */
		{5e15, "TiB", 1099511627776.0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		double scale = 0;
		assert_string_equal(sb_bytes_unit(cases[i].bytes, &scale),
				    cases[i].unit);
		assert_true(scale == cases[i].scale);
	}
}

static void test_format_bytes_decimals_by_magnitude(void **state)
{
	(void)state;
	struct {
		double bytes;
		const char *text;
	} cases[] = {
		{NAN, "-"},
		{0, "0 B"},
		{512, "512 B"},
		{1023, "1023 B"},
		{1024, "1.00 KiB"},
		{1536, "1.50 KiB"},
		{66.0 * 1024, "66.0 KiB"},
		{3.21 * 1048576, "3.21 MiB"},
		{6743552, "6.43 MiB"},
		{123.0 * 1073741824, "123 GiB"},
		{-2048, "-2.00 KiB"},
		{5000.0 * 1099511627776.0, "5000 TiB"},
	};
	char text[32];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sb_format_bytes(cases[i].bytes, text, sizeof text);
		assert_string_equal(text, cases[i].text);
	}
	/* a short buffer truncates, NUL-terminated */
	char small[4];
	sb_format_bytes(1536, small, sizeof small);
	assert_string_equal(small, "1.5");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strbuf_appends_across_growth),
		cmocka_unit_test(test_mean_skips_nan_and_infinities),
		cmocka_unit_test(test_bytes_unit_is_the_largest_below_the_size),
		cmocka_unit_test(test_format_bytes_decimals_by_magnitude),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
