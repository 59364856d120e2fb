/* test_fashion_mnist.c - the fashion_mnist dataset (datasets/fashion_mnist.c)
 * on the real files of the Debian package dataset-fashion-mnist, and on
 * corrupt copies written into a temporary directory. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "sb.h"
#include "util.h"

#define REAL_DIR "/usr/share/datasets/fashion-mnist"

extern const struct sb_dataset sb_dataset_fashion_mnist;

static const char *const files[4] = {
	"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
	"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
};

struct opened {
	void *priv;
	struct sb_data_info info;
};

/* A config from the defaults and name/value pairs, NULL-ended. */
static void config(struct sb_values *cfg, va_list ap)
{
	struct sb_error err = {{0}};
	assert_int_equal(sb_values_defaults(cfg, sb_dataset_fashion_mnist.params,
					    &err), 0);
	for (const char *name; (name = va_arg(ap, const char *));) {
		const char *value = va_arg(ap, const char *);
		assert_int_equal(sb_values_set(cfg, name, value, &err), 0);
	}
}

/* Opens; returns open's result, the message in err. */
static int try_open(struct opened *o, struct sb_error *err, ...)
{
	struct sb_values cfg;
	va_list ap;
	va_start(ap, err);
	config(&cfg, ap);
	va_end(ap);
	o->priv = sb_calloc(1, sb_dataset_fashion_mnist.priv_size);
	int rc = sb_dataset_fashion_mnist.open(o->priv, &cfg, &o->info, err);
	sb_values_release(&cfg);
	return rc;
}

static int try_check(struct sb_error *err, ...)
{
	struct sb_values cfg;
	va_list ap;
	va_start(ap, err);
	config(&cfg, ap);
	va_end(ap);
	int rc = sb_dataset_fashion_mnist.check(&cfg, err);
	sb_values_release(&cfg);
	return rc;
}

static void close_opened(struct opened *o)
{
	sb_dataset_fashion_mnist.release(o->priv);
	free(o->priv);
}

/* Rows [start, start + n) of a split. */
static void rows_of(const struct opened *o, enum sb_split split, size_t start,
		    size_t n, struct sb_batch *b)
{
	size_t *rows = sb_malloc(n * sizeof *rows);
	for (size_t i = 0; i < n; i++)
		rows[i] = start + i;
	b->x = sb_malloc(n * 784 * sizeof *b->x);
	b->targets = sb_malloc(n * sizeof *b->targets);
	sb_dataset_fashion_mnist.batch(o->priv, split, rows, n, b);
	assert_int_equal(b->n, n);
	free(rows);
}

static void batch_free(struct sb_batch *b)
{
	free(b->x);
	free(b->targets);
}

/* Examples per label over a whole split. */
static void label_counts(const struct opened *o, enum sb_split split,
			 size_t counts[10])
{
	memset(counts, 0, 10 * sizeof *counts);
	size_t n = o->info.n_examples[split];
	for (size_t start = 0; start < n; start += 4096) {
		size_t m = n - start < 4096 ? n - start : 4096;
		struct sb_batch b;
		rows_of(o, split, start, m, &b);
		for (size_t i = 0; i < m; i++) {
			assert_in_range(b.targets[i], 0, o->info.n_classes - 1);
			counts[b.targets[i]]++;
		}
		batch_free(&b);
	}
}

/* The first `n` decompressed bytes of a real file. */
static void raw_bytes(const char *file, unsigned char *buf, size_t n)
{
	char *path = sb_asprintf("%s/%s", REAL_DIR, file);
	gzFile gz = gzopen(path, "rb");
	assert_non_null(gz);
	assert_int_equal(gzread(gz, buf, (unsigned)n), (int)n);
	gzclose(gz);
	free(path);
}

/* ---- the real files ----------------------------------------------------- */

/* All classes, opened once for the tests that only read. */
static int open_all(void **state)
{
	static struct opened all;
	struct sb_error err = {{0}};
	if (try_open(&all, &err, NULL))
		fail_msg("open: %s", err.msg);
	*state = &all;
	return 0;
}

static int close_all(void **state)
{
	close_opened(*state);
	return 0;
}

static void test_check_finds_the_package_files(void **state)
{
	(void)state;
	struct sb_error err = {{0}};
	assert_int_equal(try_check(&err, NULL), 0);
	assert_int_equal(try_check(&err, "path", "/nonexistent/fmnist", NULL),
			 -1);
	assert_string_equal(err.msg,
			    "'/nonexistent/fmnist/train-images-idx3-ubyte.gz' "
			    "not found; install the Debian package: apt-get "
			    "install dataset-fashion-mnist");
	struct opened o;
	assert_int_equal(try_open(&o, &err, "path", "/nonexistent/fmnist",
				  NULL), -1);
	assert_non_null(strstr(err.msg, "apt-get install dataset-fashion-mnist"));
	close_opened(&o);
}

static void test_all_classes_counts(void **state)
{
	const struct opened *o = *state;
	assert_int_equal(o->info.task, SB_TASK_VECTOR_CLASSIFY);
	assert_int_equal(o->info.n_features, 784);
	assert_int_equal(o->info.n_classes, 10);
	size_t train = o->info.n_examples[SB_TRAIN];
	size_t val = o->info.n_examples[SB_VAL];
	assert_int_equal(train + val, 60000);
	assert_int_equal(o->info.n_examples[SB_TEST], 10000);
	/* the hash holds out 10% of 60000: 6000, sd ~73; 5% either side is
	 * over 4 sigma */
	assert_true(val > 5700 && val < 6300);

	/* the file holds 6000 of each class for training, 1000 for test */
	size_t tr[10], va[10], te[10];
	label_counts(o, SB_TRAIN, tr);
	label_counts(o, SB_VAL, va);
	label_counts(o, SB_TEST, te);
	for (int c = 0; c < 10; c++) {
		assert_int_equal(tr[c] + va[c], 6000);
		assert_int_equal(te[c], 1000);
	}
}

static void test_training_split_is_standardised(void **state)
{
	const struct opened *o = *state;
	size_t n = o->info.n_examples[SB_TRAIN];
	double sum = 0, sq = 0;
	for (size_t start = 0; start < n; start += 4096) {
		size_t m = n - start < 4096 ? n - start : 4096;
		struct sb_batch b;
		rows_of(o, SB_TRAIN, start, m, &b);
		for (size_t i = 0; i < m * 784; i++) {
			sum += b.x[i];
			sq += (double)b.x[i] * b.x[i];
		}
		batch_free(&b);
	}
	double count = (double)n * 784;
	double mean = sum / count;
	/* the values are float roundings (relative 6e-8) of an exact
	 * standardisation, summed in double: 1e-4 is generous */
	assert_true(fabs(mean) < 1e-4);
	assert_true(fabs(sq / count - mean * mean - 1.0) < 1e-4);
}

static void test_first_test_image_matches_raw_file(void **state)
{
	const struct opened *o = *state;
	unsigned char label[9], image[16 + 784];
	raw_bytes(files[3], label, sizeof label);
	raw_bytes(files[2], image, sizeof image);
	struct sb_batch b;
	rows_of(o, SB_TEST, 0, 1, &b);
	assert_int_equal(b.targets[0], label[8]);
	/* x is an increasing affine function of the pixel byte: fit it on
	 * the darkest and brightest pixels and check every pixel */
	size_t lo = 0, hi = 0;
	for (size_t i = 0; i < 784; i++) {
		if (image[16 + i] < image[16 + lo])
			lo = i;
		if (image[16 + i] > image[16 + hi])
			hi = i;
	}
	assert_true(image[16 + hi] > image[16 + lo]);
	double slope = (b.x[hi] - b.x[lo]) / (double)(image[16 + hi] - image[16 + lo]);
	assert_true(slope > 0);
	for (size_t i = 0; i < 784; i++) {
		double want = b.x[lo] + slope * (image[16 + i] - image[16 + lo]);
		/* values of a few units, rounded to float: 1e-5 absolute */
		assert_true(fabs(b.x[i] - want) < 1e-5);
	}
	batch_free(&b);
}

static void test_chosen_classes_counts_and_remapping(void **state)
{
	(void)state;
	struct opened o;
	struct sb_error err = {{0}};
	if (try_open(&o, &err, "classes", "[0, 2, 4, 6]", NULL))
		fail_msg("open: %s", err.msg);
	assert_int_equal(o.info.n_classes, 4);
	assert_int_equal(o.info.n_examples[SB_TRAIN] + o.info.n_examples[SB_VAL],
			 24000);
	assert_int_equal(o.info.n_examples[SB_TEST], 4000);
	size_t tr[10], va[10], te[10];
	label_counts(&o, SB_TRAIN, tr);
	label_counts(&o, SB_VAL, va);
	label_counts(&o, SB_TEST, te);
	for (int c = 0; c < 4; c++) {
		assert_int_equal(tr[c] + va[c], 6000);
		assert_int_equal(te[c], 1000);
	}
	close_opened(&o);

	/* listed out of order: the first test example keeps its image and
	 * gets its raw label's position in the list */
	unsigned char label[9];
	raw_bytes(files[3], label, sizeof label);
	char *classes = sb_asprintf("[%d, %d]", (label[8] + 1) % 10, label[8]);
	if (try_open(&o, &err, "classes", classes, "n_test", "50", NULL))
		fail_msg("open: %s", err.msg);
	assert_int_equal(o.info.n_classes, 2);
	assert_int_equal(o.info.n_examples[SB_TEST], 50);
	struct sb_batch b;
	rows_of(&o, SB_TEST, 0, 1, &b);
	assert_int_equal(b.targets[0], 1);
	batch_free(&b);
	close_opened(&o);
	free(classes);
}

static void test_n_train_takes_the_first_and_keeps_validation(void **state)
{
	const struct opened *all = *state;
	struct opened o;
	struct sb_error err = {{0}};
	if (try_open(&o, &err, "n_train", "1000", NULL))
		fail_msg("open: %s", err.msg);
	assert_int_equal(o.info.n_examples[SB_TRAIN], 1000);
	assert_int_equal(o.info.n_examples[SB_VAL],
			 all->info.n_examples[SB_VAL]);
	/* the same first rows, and the same validation split */
	struct sb_batch a, b;
	rows_of(all, SB_TRAIN, 0, 1000, &a);
	rows_of(&o, SB_TRAIN, 0, 1000, &b);
	assert_memory_equal(a.targets, b.targets, 1000 * sizeof *a.targets);
	batch_free(&a);
	batch_free(&b);
	rows_of(all, SB_VAL, 0, 500, &a);
	rows_of(&o, SB_VAL, 0, 500, &b);
	assert_memory_equal(a.targets, b.targets, 500 * sizeof *a.targets);
	batch_free(&a);
	batch_free(&b);
	close_opened(&o);

	assert_int_equal(try_open(&o, &err, "n_train", "59000", NULL), -1);
	assert_non_null(strstr(err.msg, "'n_train'"));
	close_opened(&o);
}

static void test_bad_classes_are_errors(void **state)
{
	(void)state;
	struct sb_error err = {{0}};
	assert_int_equal(try_check(&err, "classes", "[1, 10]", NULL), -1);
	assert_non_null(strstr(err.msg, "class 10"));
	assert_int_equal(try_check(&err, "classes", "[3, 1, 3]", NULL), -1);
	assert_non_null(strstr(err.msg, "class 3 appears twice"));
	struct opened o;
	assert_int_equal(try_open(&o, &err, "classes", "[-1, 2]", NULL), -1);
	assert_non_null(strstr(err.msg, "class -1"));
	close_opened(&o);
}

/* ---- corrupt copies ----------------------------------------------------- */

/* A directory with links to the real files, one of which is replaced. */
struct corrupt_dir {
	char dir[64];
	char *path[4];
};

static void corrupt_dir_make(struct corrupt_dir *c)
{
	assert_int_equal(sb_test_tmpdir(c->dir, sizeof c->dir, "fmnist"), 0);
	for (int f = 0; f < 4; f++) {
		char real[128];
		snprintf(real, sizeof real, "%s/%s", REAL_DIR, files[f]);
		c->path[f] = sb_test_path(c->dir, files[f]);
		assert_int_equal(symlink(real, c->path[f]), 0);
	}
}

static void corrupt_dir_remove(struct corrupt_dir *c)
{
	sb_test_rmtree(c->dir);
	for (int f = 0; f < 4; f++)
		free(c->path[f]);
}

/* Replaces file f by a gzip stream of the given bytes. */
static void write_gz(struct corrupt_dir *c, int f, const unsigned char *bytes,
		     size_t n)
{
	unlink(c->path[f]);
	gzFile gz = gzopen(c->path[f], "wb");
	assert_non_null(gz);
	assert_int_equal(gzwrite(gz, bytes, (unsigned)n), (int)n);
	assert_int_equal(gzclose(gz), Z_OK);
}

static void put_be32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)(v >> 24);
	b[1] = (unsigned char)(v >> 16);
	b[2] = (unsigned char)(v >> 8);
	b[3] = (unsigned char)v;
}

/* Opening fails and the message names the file and holds `want`. */
static void expect_open_error(struct corrupt_dir *c, int f, const char *want)
{
	struct opened o;
	struct sb_error err = {{0}};
	assert_int_equal(try_open(&o, &err, "path", c->dir, NULL), -1);
	close_opened(&o);
	char *quoted = sb_asprintf("'%s'", c->path[f]);
	if (!strstr(err.msg, quoted) || !strstr(err.msg, want))
		fail_msg("expected %s and '%s' in: %s", quoted, want, err.msg);
	free(quoted);
}

static void test_bad_magic_names_file_and_offset(void **state)
{
	(void)state;
	struct corrupt_dir c;
	corrupt_dir_make(&c);
	unsigned char bytes[8 + 100] = {0};
	put_be32(bytes, 0x00000803); /* an images magic in a labels file */
	put_be32(bytes + 4, 100);
	write_gz(&c, 3, bytes, sizeof bytes);
	expect_open_error(&c, 3, "bad magic 0x00000803 at byte 0");
	corrupt_dir_remove(&c);
}

static void test_truncated_file_names_file_and_offset(void **state)
{
	(void)state;
	struct corrupt_dir c;
	corrupt_dir_make(&c);
	/* the header promises 10000 labels, the stream ends after 100 */
	unsigned char bytes[8 + 100] = {0};
	put_be32(bytes, 0x00000801);
	put_be32(bytes + 4, 10000);
	write_gz(&c, 3, bytes, sizeof bytes);
	expect_open_error(&c, 3, "truncated at byte 108");

	/* the real compressed labels, cut in half: the gzip stream itself
	 * ends early */
	char *real = sb_asprintf("%s/%s", REAL_DIR, files[1]);
	FILE *in = fopen(real, "rb");
	assert_non_null(in);
	unsigned char *gz = sb_malloc(40000);
	size_t n = fread(gz, 1, 40000, in);
	fclose(in);
	free(real);
	assert_true(n > 20000 && n < 40000);
	unlink(c.path[1]);
	FILE *out = fopen(c.path[1], "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(gz, 1, n / 2, out), n / 2);
	fclose(out);
	free(gz);
	expect_open_error(&c, 1, "byte ");
	corrupt_dir_remove(&c);
}

static void test_wrong_dimensions_and_labels_name_file_and_offset(void **state)
{
	(void)state;
	struct corrupt_dir c;
	corrupt_dir_make(&c);
	unsigned char head[16];
	put_be32(head, 0x00000803);
	put_be32(head + 4, 60000);
	put_be32(head + 8, 28);
	put_be32(head + 12, 27);
	write_gz(&c, 0, head, sizeof head);
	expect_open_error(&c, 0, "images of 28x27 pixels at byte 8");

	/* a label 12 at index 5 sits at byte 8 + 5 */
	unsigned char labels[8 + 10000];
	raw_bytes(files[3], labels, sizeof labels);
	labels[8 + 5] = 12;
	write_gz(&c, 3, labels, sizeof labels);
	expect_open_error(&c, 3, "label 12 at byte 13");

	/* one byte more than the header says */
	unsigned char longer[8 + 10001];
	raw_bytes(files[3], longer, sizeof longer - 1);
	longer[sizeof longer - 1] = 0;
	write_gz(&c, 3, longer, sizeof longer);
	expect_open_error(&c, 3, "unexpected data after byte 10008");
	corrupt_dir_remove(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_finds_the_package_files),
		cmocka_unit_test(test_all_classes_counts),
		cmocka_unit_test(test_training_split_is_standardised),
		cmocka_unit_test(test_first_test_image_matches_raw_file),
		cmocka_unit_test(test_chosen_classes_counts_and_remapping),
		cmocka_unit_test(test_n_train_takes_the_first_and_keeps_validation),
		cmocka_unit_test(test_bad_classes_are_errors),
		cmocka_unit_test(test_bad_magic_names_file_and_offset),
		cmocka_unit_test(test_truncated_file_names_file_and_offset),
		cmocka_unit_test(test_wrong_dimensions_and_labels_name_file_and_offset),
	};
	return cmocka_run_group_tests(tests, open_all, close_all);
}
