/* test_grid.c - the expansion of specs into runs (docs/spec.md, "The grid"):
 * sizes and order in the top-level and methods forms, ids, settings, the
 * density axis of scoped policies, list-typed values against sweeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec/spec.h"

/* Writes `text` to a temporary .yaml file and loads it. */
static int load_text(struct sb_spec *spec, const char *text,
		     struct sb_error *err)
{
	char path[] = "/tmp/sb_test_grid_XXXXXX.yaml";
	int fd = mkstemps(path, 5);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	int rc = sb_spec_load(spec, path, err);
	unlink(path);
	return rc;
}

static void load_ok(struct sb_spec *spec, const char *text)
{
	struct sb_error err = {{0}};
	int rc = load_text(spec, text, &err);
	if (rc)
		fail_msg("%s", err.msg);
}

static void assert_ids(const struct sb_spec *spec, const char *const *ids,
		       size_t n)
{
	assert_int_equal(spec->n_runs, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(spec->runs[i].id, ids[i]);
}

#define N(a) (sizeof(a) / sizeof *(a))

static void test_top_level_grid_order(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec,
		"dataset: synthetic\n"
		"model: mlp\n"
		"seeds: [1, 2]\n"
		"density: [0.01, 0.1]\n"
		"policy: [dense, topk_batch]\n"
		"optimizer: {name: sparse_adam, lr: [1e-3, 3e-3]}\n");
	/* dense gets no density axis: 2 lr x 2 seeds; topk_batch 2 x 2 x 2 */
	static const char *const ids[] = {
		"dense+sparse_adam,lr=0.001,seed=1",
		"dense+sparse_adam,lr=0.001,seed=2",
		"dense+sparse_adam,lr=0.003,seed=1",
		"dense+sparse_adam,lr=0.003,seed=2",
		"topk_batch+sparse_adam,density=0.01,lr=0.001,seed=1",
		"topk_batch+sparse_adam,density=0.01,lr=0.001,seed=2",
		"topk_batch+sparse_adam,density=0.01,lr=0.003,seed=1",
		"topk_batch+sparse_adam,density=0.01,lr=0.003,seed=2",
		"topk_batch+sparse_adam,density=0.1,lr=0.001,seed=1",
		"topk_batch+sparse_adam,density=0.1,lr=0.001,seed=2",
		"topk_batch+sparse_adam,density=0.1,lr=0.003,seed=1",
		"topk_batch+sparse_adam,density=0.1,lr=0.003,seed=2",
	};
	assert_ids(&spec, ids, N(ids));
	const struct sb_run_cfg *r = &spec.runs[6];
	assert_string_equal(r->method, "topk_batch+sparse_adam");
	assert_string_equal(r->setting, "density=0.01 lr=0.003");
	assert_int_equal(r->seed, 1);
	assert_string_equal(r->policy->name, "topk_batch");
	assert_string_equal(r->optimizer->name, "sparse_adam");
	/* exact: both are the doubles strtod gives for the spec's text */
	assert_true(sb_values_float(&r->policy_cfg, "density") == 0.01);
	assert_true(sb_values_float(&r->optimizer_cfg, "lr") == 3e-3);
	assert_string_equal(spec.runs[0].setting, "lr=0.001");
	sb_spec_release(&spec);
}

static void test_methods_per_method_lr(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec,
		"dataset: synthetic\n"
		"model: mlp\n"
		"seeds: [1, 2, 3]\n"
		"methods:\n"
		"  - policy: dense\n"
		"    optimizer: {name: dense_adam, lr: [1e-4, 3e-4]}\n"
		"  - name: SIFT\n"
		"    policy: {name: topk_first}\n"
		"    optimizer: {name: sparse_adam, lr: [1e-3, 3e-3, 1e-2]}\n");
	assert_int_equal(spec.n_runs, 5 * 3);
	static const char *const ids[] = {
		"dense+dense_adam,lr=0.0001,seed=1",
		"dense+dense_adam,lr=0.0001,seed=2",
		"dense+dense_adam,lr=0.0001,seed=3",
		"dense+dense_adam,lr=0.0003,seed=1",
		"dense+dense_adam,lr=0.0003,seed=2",
		"dense+dense_adam,lr=0.0003,seed=3",
		"SIFT,lr=0.001,seed=1",
		"SIFT,lr=0.001,seed=2",
		"SIFT,lr=0.001,seed=3",
		"SIFT,lr=0.003,seed=1",
		"SIFT,lr=0.003,seed=2",
		"SIFT,lr=0.003,seed=3",
		"SIFT,lr=0.01,seed=1",
		"SIFT,lr=0.01,seed=2",
		"SIFT,lr=0.01,seed=3",
	};
	assert_ids(&spec, ids, N(ids));
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(spec.runs[i].method, "dense+dense_adam");
	for (size_t i = 6; i < 15; i++) {
		assert_string_equal(spec.runs[i].method, "SIFT");
		assert_string_equal(spec.runs[i].policy->name, "topk_first");
	}
	assert_string_equal(spec.runs[14].setting, "lr=0.01");
	assert_int_equal(spec.runs[14].seed, 3);
	sb_spec_release(&spec);
}

static void test_density_multiplies_scoped_policies_only(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec,
		"dataset: synthetic\n"
		"model: mlp\n"
		"density: [0.01, 0.05, 0.1]\n"
		"methods:\n"
		"  - policy: dense\n"
		"    optimizer: dense_adam\n"
		"  - policy: [random, {name: topk_first, density: 0.5}]\n"
		"    optimizer: sparse_adam\n");
	/* dense: 1 run; random: 3 densities; topk_first sets its own: 1 */
	static const char *const ids[] = {
		"dense+dense_adam,seed=0",
		"random+sparse_adam,density=0.01,seed=0",
		"random+sparse_adam,density=0.05,seed=0",
		"random+sparse_adam,density=0.1,seed=0",
		"topk_first+sparse_adam,seed=0",
	};
	assert_ids(&spec, ids, N(ids));
	assert_string_equal(spec.runs[0].setting, "");
	assert_null(sb_values_get(&spec.runs[0].policy_cfg, "density"));
	assert_true(sb_values_float(&spec.runs[2].policy_cfg, "density") == 0.05);
	assert_true(sb_values_float(&spec.runs[4].policy_cfg, "density") == 0.5);
	assert_string_equal(spec.runs[4].setting, "");
	sb_spec_release(&spec);
}

static void test_scalar_density_is_a_default_not_an_axis(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec,
		"dataset: synthetic\n"
		"model: mlp\n"
		"density: 0.05\n"
		"policy: [topk_batch, {name: random, density: 0.2}]\n"
		"optimizer: sparse_adam\n"
		"seed: 4\n");
	static const char *const ids[] = {
		"topk_batch+sparse_adam,seed=4",
		"random+sparse_adam,seed=4",
	};
	assert_ids(&spec, ids, N(ids));
	assert_true(sb_values_float(&spec.runs[0].policy_cfg, "density") == 0.05);
	assert_true(sb_values_float(&spec.runs[1].policy_cfg, "density") == 0.2);
	assert_int_equal(spec.runs[0].seed, 4);
	sb_spec_release(&spec);
}

static void test_id_and_setting_format(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec,
		"dataset: synthetic\n"
		"model: mlp\n"
		"seeds: [1]\n"
		"density: [0.01]\n"
		"policy: topk_first\n"
		"optimizer: {name: sparse_adam, lr: [0.003], schedule: cosine}\n");
	assert_int_equal(spec.n_runs, 1);
	assert_string_equal(spec.runs[0].id,
			    "topk_first+sparse_adam,density=0.01,lr=0.003,seed=1");
	assert_string_equal(spec.runs[0].setting, "density=0.01 lr=0.003");
	assert_string_equal(spec.runs[0].method, "topk_first+sparse_adam");
	assert_string_equal(sb_values_str(&spec.runs[0].optimizer_cfg,
					  "schedule"), "cosine");
	sb_spec_release(&spec);
}

static void test_axes_follow_document_order(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec,
		"dataset: synthetic\n"
		"model: mlp\n"
		"optimizer: {name: sgd, momentum: [0, 0.9], lr: [0.1, 1]}\n"
		"train: {steps: [10, 20]}\n"
		"policy: {name: random, granularity: [global, per_tensor]}\n");
	/* axes in the order they appear; the last varies fastest */
	assert_int_equal(spec.n_runs, 16);
	assert_string_equal(spec.runs[0].setting,
			    "momentum=0 lr=0.1 steps=10 granularity=global");
	assert_string_equal(spec.runs[1].setting,
			    "momentum=0 lr=0.1 steps=10 granularity=per_tensor");
	assert_string_equal(spec.runs[2].setting,
			    "momentum=0 lr=0.1 steps=20 granularity=global");
	assert_string_equal(spec.runs[15].setting,
			    "momentum=0.9 lr=1 steps=20 granularity=per_tensor");
	assert_int_equal(sb_values_int(&spec.runs[2].train_cfg, "steps"), 20);
	assert_string_equal(sb_values_str(&spec.runs[1].policy_cfg,
					  "granularity"), "per_tensor");
	sb_spec_release(&spec);
}

static void test_list_param_value_or_sweep(void **state)
{
	(void)state;
	struct sb_spec spec;
	/* a list is the value of a list-typed parameter */
	load_ok(&spec,
		"dataset: synthetic\n"
		"model: mlp\n"
		"policy: {name: topk_batch, include: [\"fc0.*\", \"fc1.*\"]}\n"
		"optimizer: sparse_adam\n");
	assert_int_equal(spec.n_runs, 1);
	const struct sb_value *inc = sb_values_get(&spec.runs[0].policy_cfg,
						   "include");
	assert_int_equal(inc->n, 2);
	assert_string_equal(inc->strs[0], "fc0.*");
	assert_string_equal(inc->strs[1], "fc1.*");
	assert_string_equal(spec.runs[0].setting, "");
	sb_spec_release(&spec);

	/* a list of lists is a sweep of it */
	load_ok(&spec,
		"dataset: synthetic\n"
		"model: mlp\n"
		"policy: {name: topk_batch, include: [[\"fc0.*\"], [\"fc0.*\", \"fc1.*\"]]}\n"
		"optimizer: sparse_adam\n");
	assert_int_equal(spec.n_runs, 2);
	assert_string_equal(spec.runs[0].setting, "include=[fc0.*]");
	assert_string_equal(spec.runs[1].setting, "include=[fc0.*,fc1.*]");
	assert_string_equal(spec.runs[1].id,
			    "topk_batch+sparse_adam,include=[fc0.*,fc1.*],seed=0");
	inc = sb_values_get(&spec.runs[1].policy_cfg, "include");
	assert_int_equal(inc->n, 2);
	assert_string_equal(inc->strs[1], "fc1.*");
	sb_spec_release(&spec);
}

static void test_core_sections_multiply_every_run(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec,
		"dataset: synthetic\n"
		"model: {name: mlp, fresh: [[], [\"head.*\"]]}\n"
		"train: {batch_size: [8, 16], steps: 50}\n"
		"seeds: [1, 2]\n"
		"methods:\n"
		"  - policy: dense\n"
		"    optimizer: dense_adam\n"
		"  - policy: random\n"
		"    optimizer: {name: sparse_adam, lr: [0.01, 0.03]}\n");
	/* (1 + 2 lr) methods x 2 fresh x 2 batch sizes x 2 seeds */
	assert_int_equal(spec.n_runs, (1 + 2) * 2 * 2 * 2);
	assert_string_equal(spec.runs[0].id,
			    "dense+dense_adam,fresh=[],batch_size=8,seed=1");
	assert_string_equal(spec.runs[7].id,
			    "dense+dense_adam,fresh=[head.*],batch_size=16,seed=2");
	assert_string_equal(spec.runs[8].setting,
			    "fresh=[] batch_size=8 lr=0.01");
	assert_int_equal(sb_values_int(&spec.runs[7].train_cfg, "batch_size"), 16);
	assert_int_equal(sb_values_int(&spec.runs[7].train_cfg, "steps"), 50);
	const struct sb_value *fresh = sb_values_get(&spec.runs[7].model_cfg,
						     "fresh");
	assert_int_equal(fresh->n, 1);
	assert_string_equal(fresh->strs[0], "head.*");
	sb_spec_release(&spec);
}

static void test_shared_label_is_qualified(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec,
		"dataset: synthetic\n"
		"model: {name: mlp, layers: [1, 2]}\n"
		"policy: {name: fixed_layers, layers: [[-1], [0, -1]]}\n"
		"optimizer: sgd\n");
	assert_int_equal(spec.n_runs, 4);
	assert_string_equal(spec.runs[1].setting,
			    "model.layers=1 policy.layers=[0,-1]");
	assert_string_equal(spec.runs[1].id,
			    "fixed_layers+sgd,model.layers=1,policy.layers=[0,-1],seed=0");
	sb_spec_release(&spec);
}

static void test_slash_never_in_id(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec,
		"dataset: synthetic\n"
		"model: mlp\n"
		"train: {save_checkpoint: [out/a.h5, out/b.h5]}\n"
		"policy: dense\n"
		"optimizer: dense_adam\n");
	assert_int_equal(spec.n_runs, 2);
	assert_string_equal(spec.runs[0].setting, "save_checkpoint=out/a.h5");
	assert_string_equal(spec.runs[0].id,
			    "dense+dense_adam,save_checkpoint=out_a.h5,seed=0");
	assert_string_equal(sb_values_str(&spec.runs[1].train_cfg,
					  "save_checkpoint"), "out/b.h5");
	sb_spec_release(&spec);
}

static void test_plugin_lists_in_methods(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec,
		"dataset: synthetic\n"
		"model: mlp\n"
		"methods:\n"
		"  - policy: [topk_batch, random]\n"
		"    optimizer: [dense_adam, {name: sgd, lr: 0.1}]\n");
	static const char *const ids[] = {
		"topk_batch+dense_adam,seed=0",
		"topk_batch+sgd,seed=0",
		"random+dense_adam,seed=0",
		"random+sgd,seed=0",
	};
	assert_ids(&spec, ids, N(ids));
	assert_true(sb_values_float(&spec.runs[3].optimizer_cfg, "lr") == 0.1);
	/* the scope default: density 0.01 from sb_scope_params */
	assert_true(sb_values_float(&spec.runs[3].policy_cfg, "density") == 0.01);
	sb_spec_release(&spec);
}

/* A method's model/train key replaces the top-level value or sweep of that
 * key for its runs only; the top-level sweeps of other keys still apply. */
static void test_method_override_replaces_top_level_sweep(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec,
		"dataset: synthetic\n"
		"model: {name: mlp, hidden: [32, 64]}\n"
		"train: {steps: [100, 200], batch_size: 16}\n"
		"methods:\n"
		"  - policy: dense\n"
		"    optimizer: sgd\n"
		"  - name: long\n"
		"    policy: dense\n"
		"    optimizer: dense_adam\n"
		"    train: {steps: [300, 400, 500]}\n"
		"  - name: narrow\n"
		"    policy: dense\n"
		"    optimizer: dense_adam\n"
		"    model: {hidden: 16, layers: [1, 3]}\n");
	/* 2 hidden x 2 steps; 2 hidden x 3 steps; 2 steps x 2 layers */
	static const char *const ids[] = {
		"dense+sgd,hidden=32,steps=100,seed=0",
		"dense+sgd,hidden=32,steps=200,seed=0",
		"dense+sgd,hidden=64,steps=100,seed=0",
		"dense+sgd,hidden=64,steps=200,seed=0",
		"long,hidden=32,steps=300,seed=0",
		"long,hidden=32,steps=400,seed=0",
		"long,hidden=32,steps=500,seed=0",
		"long,hidden=64,steps=300,seed=0",
		"long,hidden=64,steps=400,seed=0",
		"long,hidden=64,steps=500,seed=0",
		"narrow,steps=100,layers=1,seed=0",
		"narrow,steps=100,layers=3,seed=0",
		"narrow,steps=200,layers=1,seed=0",
		"narrow,steps=200,layers=3,seed=0",
	};
	assert_ids(&spec, ids, N(ids));
	assert_string_equal(spec.runs[9].setting, "hidden=64 steps=500");
	assert_int_equal(sb_values_int(&spec.runs[9].train_cfg, "steps"), 500);
	assert_int_equal(sb_values_int(&spec.runs[9].model_cfg, "hidden"), 64);
	assert_string_equal(spec.runs[13].setting, "steps=200 layers=3");
	assert_int_equal(sb_values_int(&spec.runs[13].model_cfg, "hidden"), 16);
	assert_int_equal(sb_values_int(&spec.runs[13].model_cfg, "layers"), 3);
	assert_int_equal(sb_values_int(&spec.runs[13].train_cfg, "steps"), 200);
	/* not overridden: every method keeps the top-level value and default */
	for (size_t i = 0; i < spec.n_runs; i++) {
		assert_int_equal(
			sb_values_int(&spec.runs[i].train_cfg, "batch_size"),
			16);
		assert_int_equal(sb_values_int(&spec.runs[i].model_cfg,
					       "layers"),
				 i < 10 ? 2 : (i % 2 ? 3 : 1));
	}
	/* the first method's runs are untouched by the others' overrides */
	assert_int_equal(sb_values_int(&spec.runs[3].train_cfg, "steps"), 200);
	assert_int_equal(sb_values_int(&spec.runs[3].model_cfg, "hidden"), 64);
	sb_spec_release(&spec);
}

/* File checks read each run's resolved model values: a top-level checkpoint
 * that does not exist is fine when every method replaces it. A list-typed
 * parameter in a method is a value; a list of lists is that method's axis. */
static void test_method_override_resolves_files_and_lists(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec,
		"dataset: synthetic\n"
		"model: {name: mlp, checkpoint: no/such/checkpoint.h5}\n"
		"seeds: [5]\n"
		"methods:\n"
		"  - name: a\n"
		"    policy: dense\n"
		"    optimizer: sgd\n"
		"    model: {checkpoint: \"\", fresh: [\"fc0.*\", \"fc1.*\"]}\n"
		"  - name: b\n"
		"    policy: dense\n"
		"    optimizer: sgd\n"
		"    model: {checkpoint: \"\", fresh: [[fc0.bias], [fc2.*]]}\n");
	static const char *const ids[] = {
		"a,seed=5",
		"b,fresh=[fc0.bias],seed=5",
		"b,fresh=[fc2.*],seed=5",
	};
	assert_ids(&spec, ids, N(ids));
	for (size_t i = 0; i < spec.n_runs; i++)
		assert_string_equal(
			sb_values_str(&spec.runs[i].model_cfg, "checkpoint"),
			"");
	const struct sb_value *fresh =
		sb_values_get(&spec.runs[0].model_cfg, "fresh");
	assert_int_equal(fresh->n, 2);
	assert_string_equal(fresh->strs[0], "fc0.*");
	assert_string_equal(fresh->strs[1], "fc1.*");
	assert_string_equal(spec.runs[0].setting, "");
	assert_string_equal(spec.runs[2].setting, "fresh=[fc2.*]");
	fresh = sb_values_get(&spec.runs[2].model_cfg, "fresh");
	assert_int_equal(fresh->n, 1);
	assert_string_equal(fresh->strs[0], "fc2.*");
	sb_spec_release(&spec);

	/* one method left on the top-level checkpoint: its runs need it */
	struct sb_error err = {{0}};
	assert_int_equal(load_text(&spec,
				   "dataset: synthetic\n"
				   "model: {name: mlp, checkpoint: no/such/c.h5}\n"
				   "methods:\n"
				   "  - {name: a, policy: dense, optimizer: sgd,\n"
				   "     model: {checkpoint: \"\"}}\n"
				   "  - {name: b, policy: dense, optimizer: sgd}\n",
				   &err),
			 -1);
	assert_non_null(strstr(err.msg, ":2:32: checkpoint 'no/such/c.h5' not "
					"found (and no 'checkpoint_spec' to "
					"make it)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_level_grid_order),
		cmocka_unit_test(test_methods_per_method_lr),
		cmocka_unit_test(test_density_multiplies_scoped_policies_only),
		cmocka_unit_test(test_scalar_density_is_a_default_not_an_axis),
		cmocka_unit_test(test_id_and_setting_format),
		cmocka_unit_test(test_axes_follow_document_order),
		cmocka_unit_test(test_list_param_value_or_sweep),
		cmocka_unit_test(test_core_sections_multiply_every_run),
		cmocka_unit_test(test_shared_label_is_qualified),
		cmocka_unit_test(test_slash_never_in_id),
		cmocka_unit_test(test_plugin_lists_in_methods),
		cmocka_unit_test(test_method_override_replaces_top_level_sweep),
		cmocka_unit_test(test_method_override_resolves_files_and_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
