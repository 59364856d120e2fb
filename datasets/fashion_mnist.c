/* fashion_mnist.c - Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017) from the
 * gzip-compressed IDX files of the Debian package dataset-fashion-mnist; IDX
 * as specified by LeCun et al. (big-endian header: magic, then dimensions). */
#include "sb.h"
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define N_CLASSES 10
#define SIDE 28
#define PIXELS (SIDE * SIDE)
#define MAGIC_LABELS 0x00000801u /* unsigned bytes, 1 dimension */
#define MAGIC_IMAGES 0x00000803u /* unsigned bytes, 3 dimensions */
#define INSTALL_HINT "install the Debian package: apt-get install " \
		     "dataset-fashion-mnist"

enum { TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS, N_FILES };

static const char *const file_names[N_FILES] = {
	"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
	"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
};

struct fashion_mnist {
	size_t n[3];         /* examples per split */
	uint8_t *pixels[3];  /* [n[split], 784], raw bytes */
	int32_t *labels[3];  /* [n[split]], remapped to 0..C-1 */
	float value[256];    /* standardised value of each byte */
};

static const struct sb_param fashion_mnist_params[] = {
	{.name = "path", .type = SB_STRING,
	 .def = "/usr/share/datasets/fashion-mnist",
	 .help = "directory of the four *-idx?-ubyte.gz files"},
	{.name = "classes", .type = SB_INTS, .def = "[]",
	 .help = "classes 0..9 to keep, relabelled 0..C-1 in this order; "
		 "empty: all 10"},
	{.name = "n_train", .type = SB_INT, .def = "0", SB_RANGE(0, 1e8),
	 .help = "training examples, the first of the training split "
		 "(0: all available)"},
	{.name = "val_fraction", .type = SB_FLOAT, .def = "0.1", SB_RANGE(0, 1),
	 .hi_open = true,
	 .help = "share of the training file held out for validation, "
		 "chosen by a hash of the example's index"},
	{.name = "n_test", .type = SB_INT, .def = "0", SB_RANGE(0, 1e8),
	 .help = "test examples, the first of the test file (0: all)"},
	{0},
};

/* class_of[raw label] = remapped class, or -1 when the class is not kept */
static int class_map(const struct sb_values *cfg, int class_of[N_CLASSES],
		     size_t *n_classes, struct sb_error *err)
{
	const struct sb_value *v = sb_values_get(cfg, "classes");
	assert(v && v->type == SB_INTS);
	if (v->n == 0) {
		for (int c = 0; c < N_CLASSES; c++)
			class_of[c] = c;
		*n_classes = N_CLASSES;
		return 0;
	}
	for (int c = 0; c < N_CLASSES; c++)
		class_of[c] = -1;
	for (size_t i = 0; i < v->n; i++) {
		long c = v->ints[i];
		if (c < 0 || c >= N_CLASSES)
			return sb_error(err, "dataset 'fashion_mnist': class %ld "
					"in 'classes' is not in 0..9", c);
		if (class_of[c] >= 0)
			return sb_error(err, "dataset 'fashion_mnist': class %ld "
					"appears twice in 'classes'", c);
		class_of[c] = (int)i;
	}
	if (v->n < 2)
		return sb_error(err, "dataset 'fashion_mnist': 'classes' needs "
				"at least 2 classes, not %zu", v->n);
	*n_classes = v->n;
	return 0;
}

static char *file_path(const char *dir, int file)
{
	return sb_asprintf("%s/%s", dir, file_names[file]);
}

static int check_file(const char *path, struct sb_error *err)
{
	FILE *f = fopen(path, "rb");
	if (f) {
		fclose(f);
		return 0;
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return sb_error(err, "'%s' not found; " INSTALL_HINT, path);
	return sb_error(err, "'%s' is not readable: %s", path, strerror(errno));
}

static int fashion_mnist_check(const struct sb_values *cfg,
			       struct sb_error *err)
{
	int class_of[N_CLASSES];
	size_t n_classes;
	if (class_map(cfg, class_of, &n_classes, err))
		return -1;
	const char *dir = sb_values_str(cfg, "path");
	for (int f = 0; f < N_FILES; f++) {
		char *path = file_path(dir, f);
		int rc = check_file(path, err);
		free(path);
		if (rc)
			return -1;
	}
	return 0;
}

/* ---- IDX reading -------------------------------------------------------- */

/* A gzip stream being read, with the offset into its decompressed bytes
 * that every error names. */
struct idx {
	gzFile gz;
	const char *path;
	size_t offset;
};

/* Reads exactly len bytes; `what` says what they were meant to be. */
static int idx_read(struct idx *f, void *buf, size_t len, const char *what,
		    struct sb_error *err)
{
	unsigned char *p = buf;
	size_t done = 0;
	while (done < len) {
		size_t chunk = len - done;
		if (chunk > (1u << 20))
			chunk = 1u << 20;
		int got = gzread(f->gz, p + done, (unsigned)chunk);
		if (got < 0) {
			int code;
			const char *msg = gzerror(f->gz, &code);
			return sb_error(err, "'%s': corrupt after byte %zu of "
					"the unzipped file, reading %s: %s",
					f->path, f->offset + done, what,
					code == Z_ERRNO ? strerror(errno)
							: msg);
		}
		if (got == 0)
			return sb_error(err, "'%s': truncated at byte %zu of "
					"the unzipped file, reading %s (%zu "
					"more bytes expected)", f->path,
					f->offset + done, what, len - done);
		done += (size_t)got;
	}
	f->offset += len;
	return 0;
}

static uint32_t be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Opens an IDX file and reads its header: the magic, then ndim sizes. */
static int idx_open(struct idx *f, const char *path, uint32_t magic,
		    int ndim, const char *kind, uint32_t *dims,
		    struct sb_error *err)
{
	unsigned char head[16];
	f->path = path;
	f->offset = 0;
	f->gz = gzopen(path, "rb");
	if (!f->gz) {
		if (errno == ENOENT || errno == ENOTDIR)
			return sb_error(err, "'%s' not found; " INSTALL_HINT,
					path);
		return sb_error(err, "'%s' is not readable: %s", path,
				strerror(errno));
	}
	gzbuffer(f->gz, 1u << 17);
	if (idx_read(f, head, 4, "the magic number", err))
		return -1;
	if (be32(head) != magic)
		return sb_error(err, "'%s': bad magic 0x%08x at byte 0 of the "
				"unzipped file (expected 0x%08x, the IDX "
				"magic of %s)", path, be32(head), magic, kind);
	if (idx_read(f, head + 4, 4 * (size_t)ndim, "the dimensions", err))
		return -1;
	for (int i = 0; i < ndim; i++)
		dims[i] = be32(head + 4 + 4 * i);
	return 0;
}

/* The stream must end where the header says. */
static int idx_close(struct idx *f, struct sb_error *err)
{
	unsigned char extra;
	int got = gzread(f->gz, &extra, 1);
	gzclose(f->gz);
	f->gz = NULL;
	if (got > 0)
		return sb_error(err, "'%s': unexpected data after byte %zu of "
				"the unzipped file (its header says it ends "
				"there)", f->path, f->offset);
	return 0;
}

static void idx_abandon(struct idx *f)
{
	if (f->gz)
		gzclose(f->gz);
	f->gz = NULL;
}

/* All labels of a file, checked to lie in 0..9. They are read in chunks
 * so that a corrupt count in the header cannot ask for a huge buffer. */
static int read_labels(const char *path, uint8_t **labels, size_t *n,
		       struct sb_error *err)
{
	struct idx f;
	uint32_t count = 0;
	*labels = NULL;
	if (idx_open(&f, path, MAGIC_LABELS, 1, "labels", &count, err)) {
		idx_abandon(&f);
		return -1;
	}
	uint8_t *l = NULL;
	for (size_t done = 0; done < count;) {
		size_t m = count - done < 65536 ? count - done : 65536;
		l = sb_realloc(l, done + m);
		if (idx_read(&f, l + done, m, "the labels", err))
			goto fail;
		for (size_t i = done; i < done + m; i++)
			if (l[i] >= N_CLASSES) {
				sb_error(err, "'%s': label %u at byte %zu of "
					 "the unzipped file is not a class "
					 "0..9", path, l[i], 8 + i);
				goto fail;
			}
		done += m;
	}
	if (idx_close(&f, err))
		goto fail_closed;
	*labels = l;
	*n = count;
	return 0;
fail:
	idx_abandon(&f);
fail_closed:
	free(l);
	return -1;
}

/* Reads the images of a file into the splits dest[i] sends them to
 * (-1: nowhere); out[split] has room for every image sent there. */
static int read_images(const char *path, const char *labels_path,
		       size_t n_labels, const signed char *dest,
		       uint8_t *out[3], struct sb_error *err)
{
	struct idx f;
	uint32_t dims[3];
	if (idx_open(&f, path, MAGIC_IMAGES, 3, "images", dims, err)) {
		idx_abandon(&f);
		return -1;
	}
	if (dims[1] != SIDE || dims[2] != SIDE) {
		idx_abandon(&f);
		return sb_error(err, "'%s': images of %ux%u pixels at byte 8 "
				"of the unzipped file (expected %dx%d)", path,
				dims[1], dims[2], SIDE, SIDE);
	}
	if (dims[0] != n_labels) {
		idx_abandon(&f);
		return sb_error(err, "'%s': %u images at byte 4 of the "
				"unzipped file, but '%s' has %zu labels",
				path, dims[0], labels_path, n_labels);
	}
	enum { CHUNK = 512 };
	uint8_t *buf = sb_malloc((size_t)CHUNK * PIXELS);
	size_t filled[3] = {0, 0, 0};
	for (size_t start = 0; start < n_labels; start += CHUNK) {
		size_t m = n_labels - start < CHUNK ? n_labels - start : CHUNK;
		if (idx_read(&f, buf, m * PIXELS, "the pixels", err)) {
			free(buf);
			idx_abandon(&f);
			return -1;
		}
		for (size_t i = 0; i < m; i++) {
			int s = dest[start + i];
			if (s < 0)
				continue;
			memcpy(out[s] + filled[s] * PIXELS, buf + i * PIXELS,
			       PIXELS);
			filled[s]++;
		}
	}
	free(buf);
	return idx_close(&f, err);
}

/* ---- the plugin --------------------------------------------------------- */

/* The validation split: a fixed pseudo-random share of the training file,
 * decided by the example's index alone, so it does not move when
 * `classes` or `n_train` change. */
static bool held_out(size_t index, double val_fraction)
{
	unsigned char le[8];
	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)((uint64_t)index >> (8 * i));
	double u = (double)(sb_hash_bytes(le, sizeof le) >> 11) * 0x1.0p-53;
	return u < val_fraction;
}

static void fashion_mnist_release(void *priv)
{
	struct fashion_mnist *d = priv;
	for (int s = 0; s < 3; s++) {
		free(d->pixels[s]);
		free(d->labels[s]);
	}
	memset(d, 0, sizeof *d);
}

/* Decides the split of every example of a file and fills the labels;
 * `limit` (0: none) caps the examples of split `capped`. */
static int assign(struct fashion_mnist *d, const uint8_t *raw, size_t n,
		  const int class_of[N_CLASSES], bool is_train,
		  double val_fraction, size_t limit, signed char *dest,
		  const char *name, struct sb_error *err)
{
	int capped = is_train ? SB_TRAIN : SB_TEST;
	size_t avail[3] = {0, 0, 0};
	for (size_t i = 0; i < n; i++) {
		dest[i] = -1;
		if (class_of[raw[i]] < 0)
			continue;
		int s = is_train && held_out(i, val_fraction) ? SB_VAL : capped;
		avail[s]++;
		if (s == capped && limit && avail[s] > limit)
			continue;
		dest[i] = (signed char)s;
	}
	if (limit > avail[capped])
		return sb_error(err, "dataset 'fashion_mnist': '%s' is %zu, but "
				"only %zu examples of the chosen classes are "
				"available", name, limit, avail[capped]);
	int splits[2] = {capped, SB_VAL};
	for (int k = 0; k < (is_train ? 2 : 1); k++) {
		int s = splits[k];
		d->n[s] = s == capped && limit ? limit : avail[s];
		d->pixels[s] = sb_malloc(d->n[s] * PIXELS);
		d->labels[s] = sb_malloc(d->n[s] * sizeof *d->labels[s]);
	}
	size_t filled[3] = {0, 0, 0};
	for (size_t i = 0; i < n; i++)
		if (dest[i] >= 0)
			d->labels[dest[i]][filled[dest[i]]++] = class_of[raw[i]];
	return 0;
}

/* Pixels are scaled to [0, 1], then standardised by the mean and standard
 * deviation of every pixel of the training split; one table per byte
 * value makes that exact and identical for every batch. */
static void standardise(struct fashion_mnist *d)
{
	uint64_t hist[256] = {0};
	size_t total = d->n[SB_TRAIN] * PIXELS;
	for (size_t i = 0; i < total; i++)
		hist[d->pixels[SB_TRAIN][i]]++;
	double sum = 0.0, sq = 0.0;
	for (int v = 0; v < 256; v++) {
		double x = v / 255.0;
		sum += (double)hist[v] * x;
		sq += (double)hist[v] * x * x;
	}
	double mean = total ? sum / (double)total : 0.0;
	double var = total ? sq / (double)total - mean * mean : 1.0;
	double std = var > 1e-12 ? sqrt(var) : 1.0;
	for (int v = 0; v < 256; v++)
		d->value[v] = (float)((v / 255.0 - mean) / std);
}

static int fashion_mnist_open(void *priv, const struct sb_values *cfg,
			      struct sb_data_info *info, struct sb_error *err)
{
	struct fashion_mnist *d = priv;
	int class_of[N_CLASSES];
	size_t n_classes;
	if (fashion_mnist_check(cfg, err) ||
	    class_map(cfg, class_of, &n_classes, err))
		return -1;
	const char *dir = sb_values_str(cfg, "path");
	long n_train = sb_values_int(cfg, "n_train");
	long n_test = sb_values_int(cfg, "n_test");
	double val_fraction = sb_values_float(cfg, "val_fraction");
	if (n_train < 0 || n_test < 0)
		return sb_error(err, "dataset 'fashion_mnist': 'n_train' and "
				"'n_test' must not be negative");
	if (!(val_fraction >= 0.0 && val_fraction < 1.0))
		return sb_error(err, "dataset 'fashion_mnist': 'val_fraction' "
				"must be in [0, 1), not %g", val_fraction);

	char *paths[N_FILES];
	for (int f = 0; f < N_FILES; f++)
		paths[f] = file_path(dir, f);
	uint8_t *raw[2] = {NULL, NULL};
	signed char *dest[2] = {NULL, NULL};
	size_t count[2];
	int rc = -1;
	/* the labels first: they are small and decide what to keep */
	if (read_labels(paths[TRAIN_LABELS], &raw[0], &count[0], err) ||
	    read_labels(paths[TEST_LABELS], &raw[1], &count[1], err))
		goto out;
	dest[0] = sb_malloc(count[0] ? count[0] : 1);
	dest[1] = sb_malloc(count[1] ? count[1] : 1);
	if (assign(d, raw[0], count[0], class_of, true, val_fraction,
		   (size_t)n_train, dest[0], "n_train", err) ||
	    assign(d, raw[1], count[1], class_of, false, 0.0, (size_t)n_test,
		   dest[1], "n_test", err))
		goto out;
	if (read_images(paths[TRAIN_IMAGES], paths[TRAIN_LABELS], count[0],
			dest[0], d->pixels, err) ||
	    read_images(paths[TEST_IMAGES], paths[TEST_LABELS], count[1],
			dest[1], d->pixels, err))
		goto out;
	standardise(d);

	memset(info, 0, sizeof *info);
	info->task = SB_TASK_VECTOR_CLASSIFY;
	info->n_features = PIXELS;
	info->n_classes = n_classes;
	for (int s = 0; s < 3; s++)
		info->n_examples[s] = d->n[s];
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		free(raw[i]);
		free(dest[i]);
	}
	for (int f = 0; f < N_FILES; f++)
		free(paths[f]);
	return rc;
}

static void fashion_mnist_batch(void *priv, enum sb_split split,
				const size_t *rows, size_t n,
				struct sb_batch *out)
{
	const struct fashion_mnist *d = priv;
	for (size_t r = 0; r < n; r++) {
		assert(rows[r] < d->n[split] && "row out of range");
		const uint8_t *p = d->pixels[split] + rows[r] * PIXELS;
		float *x = out->x + r * PIXELS;
		for (size_t i = 0; i < PIXELS; i++)
			x[i] = d->value[p[i]];
		out->targets[r] = d->labels[split][rows[r]];
	}
	out->n = n;
}

const struct sb_dataset sb_dataset_fashion_mnist = {
	.name = "fashion_mnist",
	.summary = "Fashion-MNIST 28x28 clothing images as 784-vectors "
		   "(Debian package dataset-fashion-mnist)",
	.params = fashion_mnist_params,
	.priv_size = sizeof(struct fashion_mnist),
	.check = fashion_mnist_check,
	.open = fashion_mnist_open,
	.batch = fashion_mnist_batch,
	.release = fashion_mnist_release,
};
