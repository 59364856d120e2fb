/* test_fuzz_regressions.c - the fuzz targets' loaders (tests/fuzz/,
 * docs/fuzzing.md) through the gcc build: the inputs that once broke a
 * loader under `make fuzz`, tests/fuzz/regressions/<target>/<case>, with
 * <case>.err holding the part of the error message the loader must now
 * give (no .err: the input is valid and must load); a target read by a
 * command also through the binary (SB_BIN), which must exit 2 with that
 * message. And the committed seeds, which must stay valid inputs. */
#define _POSIX_C_SOURCE 200809L
#include "support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"
#include "util.h"

#define CASES "tests/fuzz/regressions"
#define SEEDS "tests/fuzz/corpus"

static const struct sb_fuzz_target *const targets[] = {
	&sb_fuzz_spec,        &sb_fuzz_idx,        &sb_fuzz_llmc_model,
	&sb_fuzz_llmc_tokens, &sb_fuzz_checkpoint, &sb_fuzz_results,
	&sb_fuzz_delta,
};

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The cases of a target, sorted: every file but the .err files. */
static char **list_cases(const char *dir, size_t *n)
{
	char **names = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return NULL; /* a target nothing has broken yet */
	for (struct dirent *e; (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' ||
		    (len > 4 && !strcmp(e->d_name + len - 4, ".err")))
			continue;
		names = realloc(names, (*n + 1) * sizeof *names);
		names[(*n)++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, *n, sizeof *names, compare_names);
	return names;
}

/* Runs `SB_BIN <command> <path>`; returns its exit code, its stderr in
 * *errors (freed by the caller). */
static int run_cli(const char *command, const char *path, char **errors)
{
	const char *bin = getenv("SB_BIN");
	char out[64];
	assert_int_equal(sb_test_tmpdir(out, sizeof out, "fuzz_cli"), 0);
	char *err_path = sb_test_path(out, "stderr");
	/* a binary that hangs on the input exits 124 */
	char *cmd = sb_asprintf("timeout 60 '%s' %s '%s' >/dev/null 2>'%s'",
				bin ? bin : "bin/sparsebench", command, path,
				err_path);
	int st = system(cmd);
	*errors = sb_test_read_file(err_path, NULL);
	assert_non_null(*errors);
	sb_test_rmtree(out);
	free(cmd);
	free(err_path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void check_case(const struct sb_fuzz_target *t, const char *dir,
		       const char *name)
{
	char *path = sb_asprintf("%s/%s", dir, name);
	char *err_path = sb_asprintf("%s.err", path);
	size_t size;
	char *input = sb_test_read_file(path, &size);
	char *want = sb_test_read_file(err_path, NULL);
	assert_non_null(input);
	if (want)
		want[strcspn(want, "\n")] = '\0';

	struct sb_error err = {{0}};
	int rc = t->load((const uint8_t *)input, size, &err);
	if (want && rc != -1)
		fail_msg("%s: loaded; expected an error with '%s'", path, want);
	if (!want && rc != 0)
		fail_msg("%s: expected to load, got: %s", path, err.msg);
	if (want && !strstr(err.msg, want))
		fail_msg("%s: error '%s' lacks '%s'", path, err.msg, want);

	if (t->cli) {
		char *errors;
		int code = run_cli(t->cli, path, &errors);
		if (code != (want ? 2 : 0))
			fail_msg("sparsebench %s %s: exit %d, expected %d; "
				 "stderr: %s", t->cli, path, code, want ? 2 : 0,
				 errors);
		if (want && !strstr(errors, want))
			fail_msg("sparsebench %s %s: stderr '%s' lacks '%s'",
				 t->cli, path, errors, want);
		free(errors);
	}
	free(want);
	free(input);
	free(err_path);
	free(path);
}

static void test_saved_inputs_give_their_errors(void **state)
{
	(void)state;
	size_t total = 0;
	for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
		char *dir = sb_asprintf(CASES "/%s", targets[i]->name);
		size_t n;
		char **names = list_cases(dir, &n);
		for (size_t c = 0; c < n; c++) {
			check_case(targets[i], dir, names[c]);
			free(names[c]);
		}
		total += n;
		free(names);
		free(dir);
	}
	/* a moved folder must not pass by testing nothing */
	assert_true(total > 0);
}

/* A seed the loader rejects would start the fuzzer from a dead end. */
static void test_committed_seeds_load(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
		char *dir = sb_asprintf(SEEDS "/%s", targets[i]->name);
		size_t n;
		char **names = list_cases(dir, &n);
		if (n == 0)
			fail_msg("no seeds in '%s' (make fuzz-corpus)", dir);
		for (size_t c = 0; c < n; c++) {
			char *path = sb_asprintf("%s/%s", dir, names[c]);
			size_t size;
			char *input = sb_test_read_file(path, &size);
			struct sb_error err = {{0}};
			assert_non_null(input);
			if (targets[i]->load((const uint8_t *)input, size,
					     &err))
				fail_msg("seed '%s' does not load: %s", path,
					 err.msg);
			free(input);
			free(path);
			free(names[c]);
		}
		free(names);
		free(dir);
	}
}

int main(void)
{
	/* a case that hangs again fails instead of stalling `make test` */
	alarm(120);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_saved_inputs_give_their_errors),
		cmocka_unit_test(test_committed_seeds_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
