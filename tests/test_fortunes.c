/* test_fortunes.c - the fortunes dataset (datasets/fortunes.c) on the real
 * Debian fortunes and fortunes-de files, and on small cookie files written
 * to a temporary folder for the duplicate rules. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sb.h"
#include "util.h"

extern const struct sb_dataset sb_dataset_fortunes;

#define SYSTEM_DIR "/usr/share/games/fortunes"
/* longer than every entry of both packages (the longest has 3779 bytes),
 * so a classify example holds its whole entry */
#define WHOLE_ENTRY "4096"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return sb_test_tmpdir(dir, sizeof dir, "test_fortunes");
}

static int teardown(void **state)
{
	(void)state;
	return sb_test_rmtree(dir);
}

/* ---- an opened dataset ------------------------------------------------ */

struct fx {
	struct sb_values vals;
	void *priv;
	struct sb_data_info info;
	struct sb_error err;
	int32_t *tokens, *targets, *lengths;
};

/* Opens the dataset with name/value pairs (NULL-ended); returns open's
 * result, and check's must agree. */
static int fx_open(struct fx *f, const char *const *settings)
{
	const struct sb_dataset *ds = &sb_dataset_fortunes;
	memset(f, 0, sizeof *f);
	assert_int_equal(sb_values_defaults(&f->vals, ds->params, &f->err), 0);
	for (size_t i = 0; settings[i]; i += 2)
		assert_int_equal(sb_values_set(&f->vals, settings[i],
					       settings[i + 1], &f->err), 0);
	f->priv = sb_calloc(1, ds->priv_size);
	int rc = ds->open(f->priv, &f->vals, &f->info, &f->err);
	if (rc)
		return rc;
	size_t T = f->info.seq_len;
	f->tokens = sb_malloc(T * sizeof *f->tokens);
	f->targets = sb_malloc(T * sizeof *f->targets);
	f->lengths = sb_malloc(sizeof *f->lengths);
	return 0;
}

static void fx_release(struct fx *f)
{
	sb_dataset_fortunes.release(f->priv);
	free(f->priv);
	free(f->tokens);
	free(f->targets);
	free(f->lengths);
	sb_values_release(&f->vals);
}

static void fx_row(struct fx *f, enum sb_split split, size_t row)
{
	struct sb_batch b = {.tokens = f->tokens, .targets = f->targets,
			     .lengths = f->lengths};
	sb_dataset_fortunes.batch(f->priv, split, &row, 1, &b);
	assert_int_equal(b.n, 1);
}

/* A classify example's text, as a fresh string. */
static char *fx_text(struct fx *f, enum sb_split split, size_t row)
{
	fx_row(f, split, row);
	size_t len = (size_t)f->lengths[0];
	assert_true(len >= 1 && len < f->info.seq_len);
	char *text = sb_malloc(len + 1);
	for (size_t t = 0; t < len; t++)
		text[t] = (char)f->tokens[t];
	text[len] = '\0';
	for (size_t t = len; t < f->info.seq_len; t++)
		assert_int_equal(f->tokens[t], 0);
	return text;
}

/* An lm split's bytes, rebuilt from windows a seq_len apart. */
static unsigned char *fx_stream(struct fx *f, enum sb_split split,
				size_t *n_bytes)
{
	size_t T = f->info.seq_len, n = f->info.n_examples[split];
	size_t step = split == SB_TRAIN ? T : 1, last = n - 1;
	size_t bytes = split == SB_TRAIN ? n + T : n * T + 1;
	unsigned char *s = sb_malloc(bytes);
	for (size_t r = 0;; r += step) {
		if (r > last)
			r = last;
		size_t at = split == SB_TRAIN ? r : r * T;
		fx_row(f, split, r);
		for (size_t t = 0; t < T; t++) {
			s[at + t] = (unsigned char)f->tokens[t];
			s[at + t + 1] = (unsigned char)f->targets[t];
		}
		if (r == last)
			break;
	}
	*n_bytes = bytes;
	return s;
}

static enum sb_split split_rule(const char *text, size_t len)
{
	uint64_t b = sb_hash_bytes(text, len) % 1000;
	return b < 50 ? SB_TEST : b < 100 ? SB_VAL : SB_TRAIN;
}

/* ---- the real packages ------------------------------------------------ */

struct text_key {
	uint64_t hash;
	int split;
};

static int cmp_keys(const void *a, const void *b)
{
	const struct text_key *x = a, *y = b;
	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static void test_splits_stable_and_disjoint(void **state)
{
	(void)state;
	const char *const settings[] = {"task", "classify", "seq_len",
					WHOLE_ENTRY, NULL};
	struct fx f, again;
	assert_int_equal(fx_open(&f, settings), 0);
	assert_int_equal(f.info.task, SB_TASK_SEQ_CLASSIFY);
	/* the categories of fortunes (40) and fortunes-min (3) */
	assert_int_equal(f.info.n_classes, 43);
	assert_int_equal(fx_open(&again, settings), 0);
	assert_memory_equal(again.info.n_examples, f.info.n_examples,
			    sizeof f.info.n_examples);
	fx_release(&again);

	size_t total = 0;
	for (int s = 0; s < 3; s++)
		total += f.info.n_examples[s];
	/* each of ~15,000 entries lands in test (or val) with probability
	 * 0.05, a standard deviation of 0.18 points: 3% to 7% is > 10 sd */
	for (int s = SB_VAL; s <= SB_TEST; s++) {
		assert_true(f.info.n_examples[s] > total * 3 / 100);
		assert_true(f.info.n_examples[s] < total * 7 / 100);
	}
	struct text_key *keys = sb_malloc(total * sizeof *keys);
	size_t k = 0;
	for (int s = 0; s < 3; s++)
		for (size_t r = 0; r < f.info.n_examples[s]; r++) {
			char *text = fx_text(&f, (enum sb_split)s, r);
			size_t len = strlen(text);
			/* the documented rule places every entry */
			assert_int_equal(split_rule(text, len), s);
			keys[k++] = (struct text_key){
				sb_hash_bytes(text, len), s};
			free(text);
		}
	/* no text twice, within a split or across: equal 64-bit hashes of
	 * different texts are too unlikely (~1e-11) to tell apart here */
	qsort(keys, total, sizeof *keys, cmp_keys);
	for (size_t i = 1; i < total; i++)
		assert_true(keys[i].hash != keys[i - 1].hash);
	free(keys);
	fx_release(&f);
}

/* The first entry of a category opens its split's stream (one category:
 * nothing precedes it), followed by the separator. */
static void test_first_entry_opens_its_stream(void **state)
{
	(void)state;
	size_t len;
	char *file = sb_test_read_file(SYSTEM_DIR "/science.u8", &len);
	assert_non_null(file);
	char *end = strstr(file, "\n%\n");
	assert_non_null(end);
	while (end > file && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t n = (size_t)(end - file);
	char seq_len[32];
	snprintf(seq_len, sizeof seq_len, "%zu", n + 3);
	const char *const settings[] = {"categories", "[science]",
					"seq_len", seq_len, NULL};
	struct fx f;
	assert_int_equal(fx_open(&f, settings), 0);
	assert_int_equal(f.info.task, SB_TASK_LM);
	assert_int_equal(f.info.vocab, 256);
	fx_row(&f, split_rule(file, n), 0);
	for (size_t t = 0; t < n; t++)
		assert_int_equal(f.tokens[t], (unsigned char)file[t]);
	assert_int_equal(f.tokens[n], '\n');
	assert_int_equal(f.tokens[n + 1], '%');
	assert_int_equal(f.tokens[n + 2], '\n');
	fx_release(&f);
	free(file);
}

/* Every example's text is in the file of the category its label names. */
static void check_labels(const char *categories, const char *first,
			 const char *second, size_t *counts)
{
	const char *const settings[] = {"task", "classify", "categories",
					categories, "seq_len", WHOLE_ENTRY,
					NULL};
	struct fx f;
	assert_int_equal(fx_open(&f, settings), 0);
	assert_int_equal(f.info.n_classes, 2);
	size_t len;
	char *path[2] = {sb_asprintf(SYSTEM_DIR "/%s.u8", first),
			 sb_asprintf(SYSTEM_DIR "/%s.u8", second)};
	char *files[2] = {sb_test_read_file(path[0], &len),
			  sb_test_read_file(path[1], &len)};
	assert_true(files[0] && files[1]);
	counts[0] = counts[1] = 0;
	for (int s = 0; s < 3; s++)
		for (size_t r = 0; r < f.info.n_examples[s]; r++) {
			char *text = fx_text(&f, (enum sb_split)s, r);
			int label = f.targets[0];
			assert_true(label == 0 || label == 1);
			assert_non_null(strstr(files[label], text));
			counts[label]++;
			free(text);
		}
	for (int i = 0; i < 2; i++) {
		free(files[i]);
		free(path[i]);
	}
	fx_release(&f);
}

static void test_labels_follow_categories(void **state)
{
	(void)state;
	size_t counts[2], swapped[2];
	check_labels("[pets, magic]", "pets", "magic", counts);
	check_labels("[magic, pets]", "magic", "pets", swapped);
	/* pets has 52 entries and magic 30, each ended by a "%" line, none
	 * repeated and none shared */
	assert_int_equal(counts[0], 52);
	assert_int_equal(counts[1], 30);
	assert_int_equal(swapped[0], 30);
	assert_int_equal(swapped[1], 52);
}

/* Well-formed sequences of lead and continuation bytes (RFC 3629 lead
 * bytes; overlong forms are not looked for). */
static bool valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t more = s[i] < 0x80 ? 0 :
			      s[i] >= 0xc2 && s[i] < 0xe0 ? 1 :
			      s[i] >= 0xe0 && s[i] < 0xf0 ? 2 :
			      s[i] >= 0xf0 && s[i] < 0xf5 ? 3 : 4;
		if (more == 4 || i + more >= n + (more == 0))
			return false;
		for (size_t j = 1; j <= more; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		i += 1 + more;
	}
	return true;
}

static void test_german_is_utf8(void **state)
{
	(void)state;
	const char *const settings[] = {"language", "de", NULL};
	struct fx f;
	assert_int_equal(fx_open(&f, settings), 0);
	size_t total = 0, n;
	bool umlauts[3] = {false};
	for (int s = 0; s < 3; s++) {
		unsigned char *bytes = fx_stream(&f, (enum sb_split)s, &n);
		total += n;
		if (s != SB_TRAIN) {
			free(bytes);
			continue;
		}
		/* ä ö ü in UTF-8, in a stream that is valid UTF-8 */
		static const unsigned char second[] = {0xa4, 0xb6, 0xbc};
		for (size_t i = 0; i + 1 < n; i++)
			for (int u = 0; u < 3; u++)
				umlauts[u] |= bytes[i] == 0xc3 &&
					      bytes[i + 1] == second[u];
		assert_true(valid_utf8(bytes, n));
		free(bytes);
	}
	assert_true(total > 1000000);
	assert_true(umlauts[0] && umlauts[1] && umlauts[2]);
	fx_release(&f);
}

static void test_windows_shift_by_one(void **state)
{
	(void)state;
	const char *const settings[] = {"categories", "[pets, magic]",
					"seq_len", "16", NULL};
	struct fx f;
	assert_int_equal(fx_open(&f, settings), 0);
	size_t T = 16, n;
	int32_t prev_tokens[16], prev_targets[16];
	for (size_t r = 0; r < 40; r++) {
		fx_row(&f, SB_TRAIN, r);
		for (size_t t = 0; t + 1 < T; t++)
			assert_int_equal(f.targets[t], f.tokens[t + 1]);
		if (r)
			for (size_t t = 0; t + 1 < T; t++)
				assert_int_equal(f.tokens[t],
						 prev_tokens[t + 1]);
		memcpy(prev_tokens, f.tokens, sizeof prev_tokens);
	}
	/* val windows tile the stream: each starts where the last ended */
	for (size_t r = 0; r < f.info.n_examples[SB_VAL]; r++) {
		fx_row(&f, SB_VAL, r);
		if (r)
			assert_int_equal(f.tokens[0], prev_targets[T - 1]);
		memcpy(prev_targets, f.targets, sizeof prev_targets);
	}
	/* train starts everywhere a window and its target fit */
	unsigned char *bytes = fx_stream(&f, SB_TRAIN, &n);
	assert_int_equal(f.info.n_examples[SB_TRAIN], n - T);
	assert_memory_equal(bytes + n - 3, "\n%\n", 3);
	free(bytes);
	fx_release(&f);
}

static void test_missing_categories(void **state)
{
	(void)state;
	struct fx f;
	const char *const unknown[] = {"categories", "[pets, nosuch]", NULL};
	assert_int_equal(fx_open(&f, unknown), -1);
	assert_error(&f.err, "unknown fortune category 'nosuch' (known: art, "
		     "ascii-art, computers,");
	assert_error(&f.err, "zippy)");
	fx_release(&f);

	const char *const absent[] = {"dir", dir, NULL};
	assert_int_equal(fx_open(&f, absent), -1);
	char *want = sb_asprintf("fortune category 'art' not found at "
				 "'%s/art.u8'; install it with: apt-get "
				 "install fortunes", dir);
	assert_error(&f.err, want);
	/* check() reports it before anything loads */
	struct sb_error err = {{0}};
	assert_int_equal(sb_dataset_fortunes.check(&f.vals, &err), -1);
	assert_string_equal(err.msg, f.err.msg);
	free(want);
	fx_release(&f);

	const char *const absent_de[] = {"language", "de", "dir", dir, NULL};
	assert_int_equal(fx_open(&f, absent_de), -1);
	want = sb_asprintf("fortune category 'anekdoten' not found at "
			   "'%s/de/anekdoten.u8'; install it with: apt-get "
			   "install fortunes-de", dir);
	assert_error(&f.err, want);
	free(want);
	fx_release(&f);

	const char *const bad_exclude[] = {"exclude_categories", "[petz]",
					   NULL};
	assert_int_equal(fx_open(&f, bad_exclude), -1);
	assert_error(&f.err, "unknown category 'petz' in exclude_categories");
	fx_release(&f);

	const char *const no_val[] = {"categories", "[pets]", "val_fraction",
				      "0", NULL};
	assert_int_equal(fx_open(&f, no_val), -1);
	assert_error(&f.err, "the val split is empty");
	fx_release(&f);
}

static void test_exclude_categories(void **state)
{
	(void)state;
	struct fx all, some;
	const char *const settings[] = {"task", "classify", NULL};
	const char *const fewer[] = {"task", "classify", "exclude_categories",
				     "[art, zippy]", NULL};
	assert_int_equal(fx_open(&all, settings), 0);
	assert_int_equal(fx_open(&some, fewer), 0);
	assert_int_equal(some.info.n_classes, all.info.n_classes - 2);
	assert_true(some.info.n_examples[SB_TRAIN] <
		    all.info.n_examples[SB_TRAIN]);
	fx_release(&all);
	fx_release(&some);
}

/* ---- duplicates, on files written here -------------------------------- */

static void write_text(const char *name, const char *text)
{
	char *path = sb_test_path(dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static void test_cross_category_duplicates_dropped(void **state)
{
	(void)state;
	/* unique texts, chosen so that every split (val and test 20% each)
	 * gets two from each file */
	char *texts[2][6];
	int have[2][3] = {{0}};
	size_t n_texts[2] = {0};
	for (int k = 0; n_texts[0] + n_texts[1] < 12; k++) {
		char *text = sb_asprintf("saying number %d", k);
		uint64_t b = sb_hash_bytes(text, strlen(text)) % 1000;
		int s = b < 200 ? SB_TEST : b < 400 ? SB_VAL : SB_TRAIN;
		int file = k % 2;
		if (have[file][s] < 2) {
			have[file][s]++;
			texts[file][n_texts[file]++] = text;
		} else {
			free(text);
		}
	}
	/* a: its texts, one repeated, one with trailing blanks, and the
	 * shared text; b: its texts and the shared text */
	char *a = sb_asprintf("%s\n%%\n%s\n%%\nthe shared one\n%%\n%s\n%%\n"
			      "%s  \t\n\n%%\n%s\n%%\n%s\n%%\n%s\n%%\n%s\n",
			      texts[0][0], texts[0][1], texts[0][2],
			      texts[0][3], texts[0][4], texts[0][0],
			      texts[0][5], texts[0][1]);
	char *b = sb_asprintf("the shared one\n%%\n%s\n%%\n%s\n%%\n%s\n%%\n"
			      "%s\n%%\n%s\n%%\n%s\n%%\n",
			      texts[1][0], texts[1][1], texts[1][2],
			      texts[1][3], texts[1][4], texts[1][5]);
	write_text("a.u8", a);
	write_text("b.u8", b);
	free(a);
	free(b);

	const char *const settings[] = {"dir", dir, "categories", "[a, b]",
					"task", "classify", "seq_len", "64",
					"val_fraction", "0.2", "test_fraction",
					"0.2", NULL};
	struct fx f;
	assert_int_equal(fx_open(&f, settings), 0);
	assert_int_equal(f.info.n_classes, 2);
	size_t seen[2][6] = {{0}};
	size_t total = 0;
	for (int s = 0; s < 3; s++) {
		assert_int_equal(f.info.n_examples[s], 4);
		for (size_t r = 0; r < f.info.n_examples[s]; r++, total++) {
			char *text = fx_text(&f, (enum sb_split)s, r);
			int label = f.targets[0];
			assert_string_not_equal(text, "the shared one");
			bool found = false;
			for (int i = 0; i < 6; i++)
				if (!strcmp(text, texts[label][i])) {
					seen[label][i]++;
					found = true;
				}
			if (!found)
				fail_msg("unexpected entry '%s'", text);
			free(text);
		}
	}
	/* each unique text exactly once, the repeated ones included */
	assert_int_equal(total, 12);
	for (int file = 0; file < 2; file++)
		for (int i = 0; i < 6; i++) {
			assert_int_equal(seen[file][i], 1);
			free(texts[file][i]);
		}
	fx_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_splits_stable_and_disjoint),
		cmocka_unit_test(test_first_entry_opens_its_stream),
		cmocka_unit_test(test_labels_follow_categories),
		cmocka_unit_test(test_german_is_utf8),
		cmocka_unit_test(test_windows_shift_by_one),
		cmocka_unit_test_setup_teardown(test_missing_categories, setup,
						teardown),
		cmocka_unit_test(test_exclude_categories),
		cmocka_unit_test_setup_teardown(
			test_cross_category_duplicates_dropped, setup,
			teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
