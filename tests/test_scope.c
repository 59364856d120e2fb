/* test_scope.c - sb_scope_init (include/exclude patterns, errors) and
 * sb_scope_complete (merging the outside tensors when `outside: train`),
 * on a hand-built layout of six named tensors in two blocks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "spec/params.h"
#include "run/scope.h"
#include "util.h"

/* 43 components: wte 0..9, h.0.* 10..23, h.1.* 24..37, head 38..42 */
static const struct sb_tensor tensors[] = {
	{.name = "wte", .offset = 0, .size = 10, .layer = SB_LAYER_NONE},
	{.name = "h.0.attn.weight", .offset = 10, .size = 6, .layer = 0},
	{.name = "h.0.mlp.weight", .offset = 16, .size = 8, .layer = 0},
	{.name = "h.1.attn.weight", .offset = 24, .size = 6, .layer = 1},
	{.name = "h.1.mlp.weight", .offset = 30, .size = 8, .layer = 1},
	{.name = "head.weight", .offset = 38, .size = 5, .layer = SB_LAYER_NONE},
};
static const struct sb_layout layout = {
	.n_params = 43, .n_tensors = 6, .tensors = tensors, .n_layers = 2,
};

/* The scope parameters at their defaults, with the given ones (NULL:
 * default) set from their YAML text. */
static void scope_cfg(struct sb_values *cfg, const char *include,
		      const char *exclude, const char *outside)
{
	struct sb_error err;
	assert_int_equal(sb_values_defaults(cfg, sb_scope_params, &err), 0);
	if (include)
		assert_int_equal(sb_values_set(cfg, "include", include, &err), 0);
	if (exclude)
		assert_int_equal(sb_values_set(cfg, "exclude", exclude, &err), 0);
	if (outside)
		assert_int_equal(sb_values_set(cfg, "outside", outside, &err), 0);
}

static void assert_tensors(const size_t *got, size_t n_got,
			   const size_t *want, size_t n_want)
{
	assert_int_equal(n_got, n_want);
	for (size_t i = 0; i < n_want; i++)
		assert_int_equal(got[i], want[i]);
}

static void test_empty_include_takes_every_tensor(void **state)
{
	(void)state;
	struct sb_values cfg;
	struct sb_scope scope;
	struct sb_error err;
	scope_cfg(&cfg, NULL, NULL, NULL);
	assert_int_equal(sb_scope_init(&scope, &layout, &cfg, &err), 0);
	const size_t want[] = {0, 1, 2, 3, 4, 5};
	assert_tensors(scope.tensors, scope.n_tensors, want, 6);
	assert_int_equal(scope.n_eligible, 43);
	assert_int_equal(scope.n_outside, 0);
	assert_int_equal(scope.n_outside_components, 0);
	assert_false(scope.train_outside);
	sb_scope_release(&scope);
	sb_values_release(&cfg);
}

static void test_include_and_exclude_patterns(void **state)
{
	(void)state;
	struct sb_values cfg;
	struct sb_scope scope;
	struct sb_error err;

	scope_cfg(&cfg, "[h.*]", NULL, NULL);
	assert_int_equal(sb_scope_init(&scope, &layout, &cfg, &err), 0);
	const size_t blocks[] = {1, 2, 3, 4}, ends[] = {0, 5};
	assert_tensors(scope.tensors, scope.n_tensors, blocks, 4);
	assert_tensors(scope.outside, scope.n_outside, ends, 2);
	assert_int_equal(scope.n_eligible, 28);
	assert_int_equal(scope.n_outside_components, 15);
	sb_scope_release(&scope);
	sb_values_release(&cfg);

	scope_cfg(&cfg, NULL, "[*.mlp.*, wte]", NULL);
	assert_int_equal(sb_scope_init(&scope, &layout, &cfg, &err), 0);
	const size_t attn_head[] = {1, 3, 5}, rest[] = {0, 2, 4};
	assert_tensors(scope.tensors, scope.n_tensors, attn_head, 3);
	assert_tensors(scope.outside, scope.n_outside, rest, 3);
	assert_int_equal(scope.n_eligible, 17);
	sb_scope_release(&scope);
	sb_values_release(&cfg);

	/* exclude wins over include */
	scope_cfg(&cfg, "[h.1.*]", "[*mlp*]", NULL);
	assert_int_equal(sb_scope_init(&scope, &layout, &cfg, &err), 0);
	const size_t only[] = {3};
	assert_tensors(scope.tensors, scope.n_tensors, only, 1);
	assert_int_equal(scope.n_eligible, 6);
	sb_scope_release(&scope);
	sb_values_release(&cfg);
}

static void test_pattern_matching_nothing_is_an_error(void **state)
{
	(void)state;
	struct sb_values cfg;
	struct sb_scope scope;
	struct sb_error err = {{0}};

	scope_cfg(&cfg, "[h.*, blocks.*]", NULL, NULL);
	assert_int_equal(sb_scope_init(&scope, &layout, &cfg, &err), -1);
	assert_string_equal(err.msg,
			    "include pattern 'blocks.*' matches no tensor");
	assert_null(scope.tensors);
	sb_values_release(&cfg);

	scope_cfg(&cfg, NULL, "[lm_head*]", NULL);
	assert_int_equal(sb_scope_init(&scope, &layout, &cfg, &err), -1);
	assert_string_equal(err.msg,
			    "exclude pattern 'lm_head*' matches no tensor");
	sb_values_release(&cfg);
}

static void test_empty_scope_is_an_error(void **state)
{
	(void)state;
	struct sb_values cfg;
	struct sb_scope scope;
	struct sb_error err = {{0}};
	scope_cfg(&cfg, "[head.*]", "[head.weight]", NULL);
	assert_int_equal(sb_scope_init(&scope, &layout, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "scope is empty"));
	assert_null(scope.tensors);
	assert_null(scope.outside);
	sb_values_release(&cfg);
}

static void test_complete_merges_outside_when_trained(void **state)
{
	(void)state;
	struct sb_values cfg;
	struct sb_scope scope;
	struct sb_error err;
	scope_cfg(&cfg, "[h.*]", "[h.0.mlp.weight]", "train");
	assert_int_equal(sb_scope_init(&scope, &layout, &cfg, &err), 0);
	assert_true(scope.train_outside);
	/* outside: wte 0..9, h.0.mlp 16..23, head 38..42 */
	assert_int_equal(scope.n_outside_components, 23);

	struct sb_selection sel = {0};
	const sb_index picked[] = {10, 15, 24, 31, 37};
	sb_selection_reserve(&sel, 5);
	memcpy(sel.idx, picked, sizeof picked);
	sel.k = 5;
	sb_scope_complete(&scope, &layout, &sel);

	sb_index want[28];
	size_t n = 0;
	for (sb_index i = 0; i <= 10; i++)
		want[n++] = i;
	want[n++] = 15;
	for (sb_index i = 16; i <= 24; i++)
		want[n++] = i;
	want[n++] = 31;
	for (sb_index i = 37; i <= 42; i++)
		want[n++] = i;
	assert_int_equal(sel.k, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sel.idx[i], want[i]);

	/* merging again adds nothing: duplicates are taken once */
	sb_scope_complete(&scope, &layout, &sel);
	assert_int_equal(sel.k, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sel.idx[i], want[i]);

	sb_selection_release(&sel);
	sb_scope_release(&scope);
	sb_values_release(&cfg);
}

static void test_complete_of_an_empty_selection(void **state)
{
	(void)state;
	struct sb_values cfg;
	struct sb_scope scope;
	struct sb_error err;
	scope_cfg(&cfg, "[h.1.*]", NULL, "train");
	assert_int_equal(sb_scope_init(&scope, &layout, &cfg, &err), 0);
	struct sb_selection sel = {0};
	sb_scope_complete(&scope, &layout, &sel);
	/* everything but h.1.* (24..37) */
	assert_int_equal(sel.k, 43 - 14);
	for (size_t i = 0; i < sel.k; i++)
		assert_int_equal(sel.idx[i], i < 24 ? i : i + 14);
	sb_selection_release(&sel);
	sb_scope_release(&scope);
	sb_values_release(&cfg);
}

static void test_complete_leaves_frozen_outside_alone(void **state)
{
	(void)state;
	struct sb_values cfg;
	struct sb_scope scope;
	struct sb_error err;
	scope_cfg(&cfg, "[h.*]", NULL, NULL);
	assert_int_equal(sb_scope_init(&scope, &layout, &cfg, &err), 0);
	assert_false(scope.train_outside);
	struct sb_selection sel = {0};
	sb_selection_reserve(&sel, 2);
	sel.idx[0] = 11;
	sel.idx[1] = 30;
	sel.k = 2;
	sb_scope_complete(&scope, &layout, &sel);
	assert_int_equal(sel.k, 2);
	assert_int_equal(sel.idx[0], 11);
	assert_int_equal(sel.idx[1], 30);
	sb_selection_release(&sel);
	sb_scope_release(&scope);
	sb_values_release(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_include_takes_every_tensor),
		cmocka_unit_test(test_include_and_exclude_patterns),
		cmocka_unit_test(test_pattern_matching_nothing_is_an_error),
		cmocka_unit_test(test_empty_scope_is_an_error),
		cmocka_unit_test(test_complete_merges_outside_when_trained),
		cmocka_unit_test(test_complete_of_an_empty_selection),
		cmocka_unit_test(test_complete_leaves_frozen_outside_alone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
