/* test_registry.c - the generated plugin registry: the seed's plugins are
 * there, every registered plugin keeps the descriptor contract, and a
 * plugin file dropped into its folder is picked up by `make` alone. */
#define _POSIX_C_SOURCE 200809L
#include "support.h"

#include "spec/params.h"
#include "registry.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_seed_plugins_are_registered(void **state)
{
	(void)state;
	static const struct {
		enum sb_family family;
		const char *name;
	} seed[] = {
		{SB_FAMILY_POLICY, "dense"},
		{SB_FAMILY_POLICY, "fixed_layers"},
		{SB_FAMILY_POLICY, "random"},
		{SB_FAMILY_POLICY, "topk_batch"},
		{SB_FAMILY_POLICY, "topk_first"},
		{SB_FAMILY_OPTIMIZER, "dense_adam"},
		{SB_FAMILY_OPTIMIZER, "sgd"},
		{SB_FAMILY_OPTIMIZER, "sparse_adam"},
		{SB_FAMILY_DATASET, "synthetic"},
		{SB_FAMILY_MODEL, "mlp"},
	};
	struct sb_plugin p;
	for (size_t i = 0; i < sizeof seed / sizeof *seed; i++) {
		assert_true(sb_registry_find(seed[i].family, seed[i].name, &p));
		assert_int_equal(p.family, seed[i].family);
		assert_string_equal(p.name, seed[i].name);
	}
	/* the common view is the descriptor's own */
	assert_true(sb_registry_find(SB_FAMILY_POLICY, "random", &p));
	assert_true(p.scoped);
	assert_true(p.params == ((const struct sb_policy *)p.desc)->params);
	assert_true(sb_registry_find(SB_FAMILY_POLICY, "fixed_layers", &p));
	assert_false(p.scoped);
	/* a name is looked up in its own family only */
	assert_false(sb_registry_find(SB_FAMILY_POLICY, "topkk", &p));
	assert_false(sb_registry_find(SB_FAMILY_OPTIMIZER, "dense", &p));
	assert_true(sb_policies[sb_n_policies] == NULL);
	assert_int_equal(sb_registry_count(SB_FAMILY_MODEL), sb_n_models);
}

/* Every declared parameter is well formed and its default is valid. */
static void check_params(const char *plugin, const struct sb_param *params,
			 const struct sb_param *core)
{
	struct sb_values vals;
	struct sb_error err = {{0}};
	if (sb_values_defaults(&vals, params, &err))
		fail_msg("%s: %s", plugin, err.msg);
	for (size_t i = 0; params && params[i].name; i++) {
		const struct sb_param *p = &params[i];
		if (!p->help || !*p->help)
			fail_msg("%s: parameter '%s' has no help", plugin,
				 p->name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(params[j].name, p->name))
				fail_msg("%s: '%s' declared twice", plugin,
					 p->name);
		for (size_t j = 0; core && core[j].name; j++)
			if (!strcmp(core[j].name, p->name))
				fail_msg("%s: '%s' shadows a core parameter",
					 plugin, p->name);
		if (!p->def)
			continue;
		const struct sb_value *v = &vals.v[i];
		if (p->type == SB_CHOICE) {
			size_t len = strlen(v->s);
			const char *c = strstr(p->choices, v->s);
			if (!c || (c[len] && c[len] != '|'))
				fail_msg("%s: default '%s' of '%s' is not a "
					 "choice", plugin, v->s, p->name);
		}
		if (p->ranged && (p->type == SB_INT || p->type == SB_FLOAT)) {
			double x = p->type == SB_INT ? (double)v->i : v->f;
			bool ok = (p->lo_open ? x > p->lo : x >= p->lo) &&
				  (p->hi_open ? x < p->hi : x <= p->hi);
			if (!ok)
				fail_msg("%s: default of '%s' out of range",
					 plugin, p->name);
		}
	}
	sb_values_release(&vals);
}

/* The callbacks a family cannot do without are there. */
static void check_callbacks(const struct sb_plugin *p)
{
	switch (p->family) {
	case SB_FAMILY_POLICY: {
		const struct sb_policy *d = p->desc;
		assert_non_null(d->select);
		/* a declared need the core knows how to serve; the steps of
		 * SB_GRAD_SOME come from needs_grad, and only then */
		assert_true(d->grad_need == SB_GRAD_NEVER ||
			    d->grad_need == SB_GRAD_WARMUP ||
			    d->grad_need == SB_GRAD_ALWAYS ||
			    d->grad_need == SB_GRAD_SOME);
		assert_true((d->grad_need == SB_GRAD_SOME) ==
			    (d->needs_grad != NULL));
		break;
	}
	case SB_FAMILY_OPTIMIZER: {
		const struct sb_optimizer *d = p->desc;
		assert_non_null(d->init);
		assert_non_null(d->grad_need);
		assert_non_null(d->step);
		assert_non_null(d->state_bytes);
		break;
	}
	case SB_FAMILY_DATASET: {
		const struct sb_dataset *d = p->desc;
		assert_non_null(d->open);
		assert_non_null(d->batch);
		break;
	}
	case SB_FAMILY_MODEL: {
		const struct sb_model *d = p->desc;
		assert_non_null(d->init);
		assert_non_null(d->init_params);
		assert_non_null(d->forward);
		assert_non_null(d->backward);
		assert_non_null(d->activation_bytes);
		break;
	}
	default:
		fail_msg("%s: unknown family %d", p->name, (int)p->family);
	}
}

static void test_every_plugin_keeps_the_contract(void **state)
{
	(void)state;
	for (int f = 0; f < SB_N_FAMILIES; f++) {
		const char *previous = NULL;
		for (size_t i = 0; i < sb_registry_count(f); i++) {
			struct sb_plugin p = sb_registry_plugin(f, i);
			assert_non_null(p.name);
			assert_true(strlen(p.name) > 0);
			assert_non_null(p.summary);
			assert_true(strlen(p.summary) > 0);
			/* the table is sorted by file stem, which is the name */
			if (previous)
				assert_true(strcmp(previous, p.name) < 0);
			previous = p.name;
			check_callbacks(&p);
			check_params(p.name, p.params, sb_params_core(&p));
		}
	}
	check_params("train", sb_train_params, NULL);
	check_params("scope", sb_scope_params, NULL);
	check_params("schedule", sb_schedule_params, NULL);
	check_params("checkpoint", sb_checkpoint_params, NULL);
}

/* The core calls release on state whose init failed or never ran (sb.h),
 * so every release accepts zeroed state: one that follows a pointer it
 * assumes init set crashes here, one that frees garbage fails under
 * SANITIZE=1. */
static void test_every_release_accepts_zeroed_state(void **state)
{
	(void)state;
	size_t n_released = 0;
	for (int f = 0; f < SB_N_FAMILIES; f++) {
		for (size_t i = 0; i < sb_registry_count(f); i++) {
			struct sb_plugin p = sb_registry_plugin(f, i);
			if (!p.release)
				continue;
			void *priv = sb_calloc(1, p.priv_size);
			p.release(priv);
			free(priv);
			n_released++;
		}
	}
	/* the seed's plugins with state to free: fixed_layers, topk_first,
	 * the three optimizers, the four datasets, the two models */
	assert_true(n_released >= 11);
}

static const char probe_plugin[] =
	"/* zz_probe.c - a policy that only proves discovery. */\n"
	"#include \"sb.h\"\n"
	"#include <string.h>\n"
	"static int select_all(void *priv, const struct sb_select_ctx *ctx,\n"
	"\t\t      struct sb_selection *out, struct sb_error *err)\n"
	"{\n"
	"\t(void)priv; (void)err;\n"
	"\tsb_selection_reserve(out, ctx->layout->n_params);\n"
	"\tfor (size_t i = 0; i < ctx->layout->n_params; i++)\n"
	"\t\tout->idx[i] = (sb_index)i;\n"
	"\tout->k = ctx->layout->n_params;\n"
	"\treturn 0;\n"
	"}\n"
	"const struct sb_policy sb_policy_zz_probe = {\n"
	"\t.name = \"zz_probe\",\n"
	"\t.summary = \"probe for the discovery test\",\n"
	"\t.select = select_all,\n"
	"};\n";

static const char probe_spec[] =
	"dataset: {name: synthetic, n_train: 64, n_val: 32, n_test: 32}\n"
	"model: {name: mlp, hidden: 8, layers: 1}\n"
	"train: {steps: 3, batch_size: 8}\n"
	"policy: zz_probe\n"
	"optimizer: sgd\n";

static int sh(const char *fmt, const char *dir)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd, fmt, dir, dir, dir, dir);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A copy of the tree (with its build, so only the new file compiles) gains
 * one file in policies/ and nothing else; make registers and runs it. */
static void test_dropped_in_plugin_is_picked_up(void **state)
{
	(void)state;
	char dir[64];
	assert_int_equal(sb_test_tmpdir(dir, sizeof dir, "dropin"), 0);
	assert_int_equal(sh("tar cf - --exclude=./results --exclude=./.git . "
			    "| tar xf - -C '%s'", dir), 0);
	char path[256];
	snprintf(path, sizeof path, "%s/policies/zz_probe.c", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(probe_plugin, f);
	fclose(f);
	snprintf(path, sizeof path, "%s/probe.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(probe_spec, f);
	fclose(f);
	/* SANITIZE= : under `make test SANITIZE=1` the inherited SANITIZE
	 * would build build/san/bin/sparsebench instead */
	assert_int_equal(sh("make -s -C '%s' all SANITIZE= >/dev/null", dir),
			 0);
	assert_int_equal(sh("'%s/bin/sparsebench' list policies | grep -q "
			    "'^  zz_probe '", dir), 0);
	assert_int_equal(sh("grep -q '&sb_policy_zz_probe' "
			    "'%s/build/registry.c'", dir), 0);
	assert_int_equal(sh("cd '%s' && bin/sparsebench run probe.yaml "
			    "--quiet -o probe.h5 >/dev/null", dir), 0);
	assert_int_equal(sb_test_rmtree(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_plugins_are_registered),
		cmocka_unit_test(test_every_plugin_keeps_the_contract),
		cmocka_unit_test(test_every_release_accepts_zeroed_state),
		cmocka_unit_test(test_dropped_in_plugin_is_picked_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
