/* test_spec.c - parsing and validation of experiment specs (docs/spec.md):
 * the malformed-spec corpus tests/specs/bad/ with the exact message each
 * must produce (its sibling .err file, where "{policies}" stands for the
 * registered policies' names), and the good specs' resolved values. */
#include "support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "registry.h"
#include "spec/spec.h"
#include "util.h"

/* Paths are relative to the repository root, where `make test` runs. */
#define BAD_DIR "tests/specs/bad"
#define GOOD_DIR "tests/specs/good"

static char *slurp(const char *path)
{
	char *text = sb_test_read_file(path, NULL);
	if (!text)
		fail_msg("cannot open '%s' (run from the repository root)", path);
	return text;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The expected message with each "{<family>}" ("{policies}",
 * "{optimizers}", ...) replaced by the names of that family's registered
 * plugins as the spec layer lists them, "a, b, c": the .err files hold
 * what does not depend on which plugins are compiled in (fresh string). */
static char *expand_registry(const char *want)
{
	char *out = sb_strdup(want);
	for (int f = 0; f < SB_N_FAMILIES; f++) {
		char key[64];
		snprintf(key, sizeof key, "{%s}", sb_family_names[f]);
		char *at = strstr(out, key);
		if (!at)
			continue;
		char *names = sb_strdup("");
		for (size_t i = 0; i < sb_registry_count(f); i++) {
			char *more = sb_asprintf("%s%s%s", names, i ? ", " : "",
						 sb_registry_plugin(f, i).name);
			free(names);
			names = more;
		}
		char *done = sb_asprintf("%.*s%s%s", (int)(at - out), out,
					 names, at + strlen(key));
		free(names);
		free(out);
		out = done;
	}
	return out;
}

static void assert_empty(const struct sb_spec *spec)
{
	assert_null(spec->runs);
	assert_int_equal(spec->n_runs, 0);
	assert_null(spec->text);
	assert_null(spec->path);
	assert_null(spec->name);
	assert_null(spec->plots);
}

static void test_bad_corpus(void **state)
{
	(void)state;
	DIR *dir = opendir(BAD_DIR);
	if (!dir)
		fail_msg("cannot open '%s' (run from the repository root)",
			 BAD_DIR);
	char **names = NULL;
	size_t n = 0;
	for (struct dirent *e; (e = readdir(dir));) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".yaml"))
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		names[n++] = strdup(e->d_name);
	}
	closedir(dir);
	qsort(names, n, sizeof *names, compare_names);
	assert_true(n >= 20);
	for (size_t i = 0; i < n; i++) {
		char path[512], err_path[512];
		snprintf(path, sizeof path, "%s/%s", BAD_DIR, names[i]);
		snprintf(err_path, sizeof err_path, "%.*s.err",
			 (int)strlen(path) - 5, path);
		char *text = slurp(err_path);
		text[strcspn(text, "\n")] = '\0';
		char *want = expand_registry(text);
		free(text);
		struct sb_spec spec;
		struct sb_error err = {{0}};
		int rc = sb_spec_load(&spec, path, &err);
		if (rc == 0) {
			sb_spec_release(&spec);
			fail_msg("'%s' loaded; expected: %s", path, want);
		}
		assert_int_equal(rc, -1);
		assert_string_equal(err.msg, want);
		assert_empty(&spec);
		free(want);
		free(names[i]);
	}
	free(names);
}

static void test_missing_file(void **state)
{
	(void)state;
	struct sb_spec spec;
	struct sb_error err;
	assert_int_equal(sb_spec_load(&spec, GOOD_DIR "/nonexistent.yaml", &err),
			 -1);
	assert_string_equal(err.msg, "cannot read 'tests/specs/good/nonexistent.yaml': "
				     "No such file or directory");
	assert_empty(&spec);
}

static void load_ok(struct sb_spec *spec, const char *path)
{
	struct sb_error err = {{0}};
	if (sb_spec_load(spec, path, &err))
		fail_msg("%s", err.msg);
}

static void test_minimal_takes_defaults(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec, GOOD_DIR "/minimal.yaml");
	char *text = slurp(GOOD_DIR "/minimal.yaml");
	assert_string_equal(spec.text, text);
	free(text);
	assert_string_equal(spec.path, GOOD_DIR "/minimal.yaml");
	assert_string_equal(spec.name, "minimal"); /* the file's stem */
	assert_string_equal(spec.description, "");
	assert_int_equal(spec.n_plots, 0);
	assert_int_equal(spec.n_runs, 1);
	const struct sb_run_cfg *r = &spec.runs[0];
	assert_string_equal(r->id, "dense+dense_adam,seed=0");
	assert_string_equal(r->method, "dense+dense_adam");
	assert_string_equal(r->setting, "");
	assert_int_equal(r->seed, 0);
	assert_string_equal(r->dataset->name, "synthetic");
	assert_string_equal(r->model->name, "mlp");
	assert_string_equal(r->policy->name, "dense");
	assert_string_equal(r->optimizer->name, "dense_adam");
	/* defaults of the core's tables (harness/spec/params.c) */
	assert_int_equal(sb_values_int(&r->train_cfg, "steps"), 100);
	assert_int_equal(sb_values_int(&r->train_cfg, "batch_size"), 32);
	assert_int_equal(sb_values_int(&r->train_cfg, "eval_every"), 0);
	assert_int_equal(sb_values_int(&r->train_cfg, "metrics_every"), 1);
	assert_true(sb_values_bool(&r->train_cfg, "test"));
	assert_string_equal(sb_values_str(&r->train_cfg, "save_checkpoint"), "");
	assert_true(sb_values_float(&r->optimizer_cfg, "lr") == 0.001);
	assert_string_equal(sb_values_str(&r->optimizer_cfg, "schedule"),
			    "constant");
	assert_int_equal(sb_values_int(&r->optimizer_cfg, "warmup"), 0);
	assert_string_equal(sb_values_str(&r->model_cfg, "checkpoint"), "");
	assert_int_equal(sb_values_get(&r->model_cfg, "fresh")->n, 0);
	/* dense is not scoped: no scope parameters */
	assert_null(sb_values_get(&r->policy_cfg, "density"));
	/* values hold the core's tables first, then the plugin's */
	assert_string_equal(r->optimizer_cfg.v[0].name, "lr");
	assert_string_equal(r->model_cfg.v[0].name, "checkpoint");
	assert_string_equal(r->train_cfg.v[0].name, "steps");
	sb_spec_release(&spec);
}

static void test_full_example_values(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec, GOOD_DIR "/full.yaml");
	assert_string_equal(spec.name, "mlp_synthetic");
	assert_string_equal(spec.description,
			    "SIFT against full fine-tuning on a small teacher task");
	assert_int_equal(spec.n_plots, 2);
	assert_string_equal(spec.plots[0], "grad_info");
	assert_string_equal(spec.plots[1], "churn");
	/* SIFT: 2 densities x 3 lr x 3 seeds; dense: 2 lr x 3 seeds */
	assert_int_equal(spec.n_runs, 18 + 6);
	const struct sb_run_cfg *r = &spec.runs[10];
	assert_string_equal(r->id, "SIFT,density=0.1,lr=0.001,seed=2");
	assert_string_equal(r->setting, "density=0.1 lr=0.001");
	assert_int_equal(r->seed, 2);
	assert_int_equal(sb_values_int(&r->train_cfg, "steps"), 200);
	assert_int_equal(sb_values_int(&r->train_cfg, "eval_every"), 50);
	assert_int_equal(sb_values_int(&r->train_cfg, "eval_batch_size"), 64);
	assert_int_equal(sb_values_int(&r->dataset_cfg, "n_train"), 2048);
	assert_int_equal(sb_values_int(&r->model_cfg, "hidden"), 64);
	assert_true(sb_values_float(&r->policy_cfg, "density") == 0.1);
	assert_string_equal(sb_values_str(&r->policy_cfg, "outside"), "train");
	assert_string_equal(sb_values_str(&r->policy_cfg, "granularity"),
			    "global");
	const struct sb_value *ex = sb_values_get(&r->policy_cfg, "exclude");
	assert_int_equal(ex->n, 1);
	assert_string_equal(ex->strs[0], "head.*");
	assert_true(sb_values_float(&r->optimizer_cfg, "lr") == 1e-3);

	const struct sb_run_cfg *d = &spec.runs[23];
	assert_string_equal(d->id, "dense+dense_adam,lr=0.0003,seed=3");
	assert_string_equal(sb_values_str(&d->optimizer_cfg, "schedule"),
			    "cosine");
	assert_int_equal(sb_values_int(&d->optimizer_cfg, "warmup"), 10);
	assert_true(sb_values_float(&d->optimizer_cfg, "lr") == 3e-4);
	sb_spec_release(&spec);
}

static void test_scalar_forms(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec, GOOD_DIR "/quoting.yaml");
	assert_int_equal(spec.n_runs, 1);
	const struct sb_run_cfg *r = &spec.runs[0];
	assert_int_equal(r->seed, UINT64_MAX);
	assert_true(sb_values_float(&r->optimizer_cfg, "lr") == 0.5);
	assert_true(sb_values_float(&r->policy_cfg, "density") == 1e-3);
	assert_false(sb_values_bool(&r->train_cfg, "test"));
	assert_string_equal(sb_values_str(&r->train_cfg, "save_checkpoint"),
			    "results/out dir/ck: 1.h5");
	const struct sb_value *fresh = sb_values_get(&r->model_cfg, "fresh");
	assert_int_equal(fresh->n, 6);
	assert_string_equal(fresh->strs[0], "*.bias");
	assert_string_equal(fresh->strs[1], "yes");
	assert_string_equal(fresh->strs[3], "say \"hi\"");
	assert_string_equal(fresh->strs[4], "tab\there");
	assert_string_equal(fresh->strs[5], "\xc3\x9cmlaut");
	sb_spec_release(&spec);
}

/* config_yaml is valid YAML, and a spec made of it alone resolves to the
 * same config (a fixed point). */
static void check_round_trip(const struct sb_run_cfg *run)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser,
				     (const unsigned char *)run->config_yaml,
				     strlen(run->config_yaml));
	int loaded = yaml_parser_load(&parser, &doc);
	if (!loaded)
		fail_msg("config_yaml does not parse: %s\n%s", parser.problem,
			 run->config_yaml);
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	assert_non_null(root);
	assert_int_equal(root->type, YAML_MAPPING_NODE);
	/* dataset, model, policy, optimizer, train, seed */
	assert_int_equal(root->data.mapping.pairs.top -
				 root->data.mapping.pairs.start, 6);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);

	char path[] = "/tmp/sb_test_spec_XXXXXX.yaml";
	int fd = mkstemps(path, 5);
	assert_true(fd >= 0);
	size_t len = strlen(run->config_yaml);
	assert_int_equal(write(fd, run->config_yaml, len), (ssize_t)len);
	close(fd);
	struct sb_spec again;
	struct sb_error err = {{0}};
	int rc = sb_spec_load(&again, path, &err);
	unlink(path);
	if (rc)
		fail_msg("%s\n%s", err.msg, run->config_yaml);
	assert_int_equal(again.n_runs, 1);
	assert_string_equal(again.runs[0].config_yaml, run->config_yaml);
	assert_int_equal(again.runs[0].seed, run->seed);
	sb_spec_release(&again);
}

static void test_config_yaml_round_trips(void **state)
{
	(void)state;
	static const char *const files[] = {
		GOOD_DIR "/minimal.yaml", GOOD_DIR "/full.yaml",
		GOOD_DIR "/quoting.yaml", GOOD_DIR "/method_overrides.yaml",
	};
	for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
		struct sb_spec spec;
		load_ok(&spec, files[f]);
		for (size_t i = 0; i < spec.n_runs; i++)
			check_round_trip(&spec.runs[i]);
		sb_spec_release(&spec);
	}
}

static void test_config_yaml_text(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec, GOOD_DIR "/quoting.yaml");
	const char *yaml = spec.runs[0].config_yaml;
	assert_non_null(strstr(yaml, "dataset: {name: synthetic, "));
	assert_non_null(strstr(yaml, "fresh: [\"*.bias\", \"yes\", \"1\", "
				     "\"say \\\"hi\\\"\", \"tab\\there\", "
				     "\"\xc3\x9cmlaut\"]"));
	assert_non_null(strstr(yaml, "policy: {name: topk_batch, density: 0.001, "
				     "include: [\"*\", \"fc0.*\"], exclude: [fc1.weight], "
				     "outside: freeze, granularity: global"));
	assert_non_null(strstr(yaml, "optimizer: {name: sgd, lr: 0.5, "));
	assert_non_null(strstr(yaml, "save_checkpoint: \"results/out dir/ck: 1.h5\""));
	assert_non_null(strstr(yaml, "\nseed: 18446744073709551615\n"));
	sb_spec_release(&spec);
}

/* The brief's example: `scratch` overrides the checkpoint and the steps;
 * everything else (hidden, checkpoint_spec, batch_size) comes from the top. */
static void test_method_overrides_model_and_train(void **state)
{
	(void)state;
	struct sb_spec spec;
	load_ok(&spec, GOOD_DIR "/method_overrides.yaml");
	static const char *const ids[] = {
		"topk_first+sparse_adam,seed=1", "topk_first+sparse_adam,seed=2",
		"scratch,seed=1", "scratch,seed=2",
	};
	assert_int_equal(spec.n_runs, 4);
	for (size_t i = 0; i < spec.n_runs; i++) {
		const struct sb_run_cfg *r = &spec.runs[i];
		bool scratch = i >= 2;
		assert_string_equal(r->id, ids[i]);
		assert_string_equal(r->setting, "");
		assert_int_equal(r->seed, 1 + i % 2);
		assert_string_equal(r->method, scratch ? "scratch"
						       : "topk_first+sparse_adam");
		assert_string_equal(r->model->name, "mlp");
		assert_string_equal(sb_values_str(&r->model_cfg, "checkpoint"),
				    scratch ? "" : "results/never_written_mlp.h5");
		assert_string_equal(
			sb_values_str(&r->model_cfg, "checkpoint_spec"),
			"tests/specs/good/minimal.yaml");
		assert_int_equal(sb_values_int(&r->model_cfg, "hidden"), 64);
		assert_int_equal(sb_values_int(&r->train_cfg, "steps"),
				 scratch ? 600 : 200);
		assert_int_equal(sb_values_int(&r->train_cfg, "batch_size"), 32);
		/* exact: the doubles strtod gives for the spec's text */
		assert_true(sb_values_float(&r->optimizer_cfg, "lr") ==
			    (scratch ? 0.001 : 0.003));
	}
	assert_non_null(strstr(spec.runs[2].config_yaml,
			       "\nmodel: {name: mlp, checkpoint: \"\", "
			       "checkpoint_spec: tests/specs/good/minimal.yaml, "
			       "fresh: [], hidden: 64, "));
	assert_non_null(strstr(spec.runs[2].config_yaml,
			       "\ntrain: {steps: 600, batch_size: 32, "));
	assert_non_null(strstr(spec.runs[0].config_yaml,
			       "\nmodel: {name: mlp, checkpoint: "
			       "results/never_written_mlp.h5, "));
	assert_non_null(strstr(spec.runs[0].config_yaml,
			       "\ntrain: {steps: 200, batch_size: 32, "));
	sb_spec_release(&spec);
}

static void test_name_defaults_to_safe_stem(void **state)
{
	(void)state;
	char dir[64];
	assert_int_equal(sb_test_tmpdir(dir, sizeof dir, "test_spec"), 0);
	char path[256];
	snprintf(path, sizeof path, "%s/my exp.v2.yaml", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("dataset: synthetic\nmodel: mlp\npolicy: dense\n"
	      "optimizer: sgd\n", f);
	fclose(f);
	struct sb_spec spec;
	load_ok(&spec, path);
	assert_string_equal(spec.name, "my_exp.v2");
	sb_spec_release(&spec);
	sb_test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_corpus),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_minimal_takes_defaults),
		cmocka_unit_test(test_full_example_values),
		cmocka_unit_test(test_scalar_forms),
		cmocka_unit_test(test_config_yaml_round_trips),
		cmocka_unit_test(test_config_yaml_text),
		cmocka_unit_test(test_method_overrides_model_and_train),
		cmocka_unit_test(test_name_defaults_to_safe_stem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
