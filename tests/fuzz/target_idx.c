/* target_idx.c - the four IDX files of Fashion-MNIST (datasets/
 * fashion_mnist.c) opened by the dataset, then every example of every split
 * read back as a batch: what the loader accepts must hold only finite
 * pixels and labels of the chosen classes.
 *
 * An input is a configuration byte, then the four files in the order
 * train images, train labels, test images, test labels, separated by
 * SEPARATOR; each may be gzip-compressed or not (zlib reads both). */
#define _GNU_SOURCE /* memmem */
#include "fuzz.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct sb_dataset sb_dataset_fashion_mnist;

#define SEPARATOR "\n--8<--\n"

static const char *const file_names[4] = {
	"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
	"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
};

/* What the configuration byte chooses (modulo the count): every class, or
 * some relabelled, with caps on the examples taken. */
static const struct {
	const char *classes, *n_train, *n_test, *val_fraction;
} configs[] = {
	{"[]", "0", "0", "0.1"},
	{"[3, 0, 1]", "2", "1", "0.5"},
	{"[9, 8]", "0", "0", "0"},
	{"[]", "3", "2", "0.9"},
};
#define N_CONFIGS (sizeof configs / sizeof configs[0])

static void set(struct sb_values *cfg, const char *name, const char *text)
{
	struct sb_error err;
	if (sb_values_set(cfg, name, text, &err)) {
		fprintf(stderr, "fuzz idx: %s\n", err.msg);
		abort();
	}
}

/* Every example of every split, each pixel and label checked. */
static void read_all(void *priv, const struct sb_data_info *info)
{
	struct sb_batch batch = {0};
	sb_batch_alloc(&batch, info, 1);
	for (int s = SB_TRAIN; s <= SB_TEST; s++) {
		for (size_t row = 0; row < info->n_examples[s]; row++) {
			sb_dataset_fashion_mnist.batch(priv, (enum sb_split)s,
						       &row, 1, &batch);
			bool ok = batch.targets[0] >= 0 &&
				  (size_t)batch.targets[0] < info->n_classes;
			for (size_t i = 0; ok && i < info->n_features; i++)
				ok = isfinite(batch.x[i]);
			if (!ok) {
				fprintf(stderr, "fuzz idx: split %d row %zu "
					"has a label outside 0..%zu or a "
					"pixel that is not finite\n", s, row,
					info->n_classes - 1);
				abort();
			}
		}
	}
	sb_batch_release(&batch);
}

static int load(const uint8_t *data, size_t size, struct sb_error *err)
{
	size_t config = size ? data[0] % N_CONFIGS : 0;
	const uint8_t *at = size ? data + 1 : data, *end = data + size;
	for (int f = 0; f < 4; f++) {
		/* the last file takes the rest; a missing one is empty */
		const uint8_t *next = f < 3 ? memmem(at, (size_t)(end - at),
						     SEPARATOR,
						     strlen(SEPARATOR))
					    : NULL;
		const uint8_t *stop = next ? next : end;
		sb_fuzz_write(file_names[f], at, (size_t)(stop - at));
		at = next ? next + strlen(SEPARATOR) : end;
	}
	struct sb_values cfg = {0};
	if (sb_values_defaults(&cfg, sb_dataset_fashion_mnist.params, err))
		abort();
	set(&cfg, "path", sb_fuzz_dir());
	set(&cfg, "classes", configs[config].classes);
	set(&cfg, "n_train", configs[config].n_train);
	set(&cfg, "n_test", configs[config].n_test);
	set(&cfg, "val_fraction", configs[config].val_fraction);
	void *priv = sb_calloc(1, sb_dataset_fashion_mnist.priv_size);
	struct sb_data_info info;
	int rc = sb_dataset_fashion_mnist.open(priv, &cfg, &info, err);
	if (!rc)
		read_all(priv, &info);
	sb_dataset_fashion_mnist.release(priv); /* after a failed open too (sb.h) */
	free(priv);
	sb_values_release(&cfg);
	return rc;
}

const struct sb_fuzz_target sb_fuzz_idx = {
	.name = "idx",
	.load = load,
};
