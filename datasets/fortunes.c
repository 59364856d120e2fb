/* fortunes.c - the fortune(6) cookie files of Debian's fortunes (English,
 * with fortunes-min) and fortunes-de (German): entries between lines holding
 * only "%", as byte-level language modelling or category classification.
 *
 * Files: every category is read from its `<name>.u8` file, the UTF-8 version
 * both packages ship (today a link to the plain file, which is UTF-8 too);
 * the default categories are the package's own, from its file list in
 * /var/lib/dpkg/info, as other packages drop files of other languages into
 * the same folder. Entries are trimmed of trailing whitespace; a text found
 * in two categories is dropped from both, a repeat within one is kept once.
 *
 * Splits: an entry's split depends on its text alone, so no text is ever in
 * two splits: b = sb_hash_bytes(text) % 1000; b < 1000 * test_fraction is
 * test, the next 1000 * val_fraction values are val, the rest train.
 * lm: per split, the bytes of its entries in file order, each followed by
 * "\n%\n"; train examples start at every offset, val/test examples are
 * non-overlapping windows. classify: one example per entry, its first
 * seq_len bytes, labelled by its category's index in `categories`. */
#include "sb.h"
#include "util.h"
#include "lib/lm_windows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYSTEM_DIR "/usr/share/games/fortunes"
#define DPKG_INFO "/var/lib/dpkg/info"
#define SEPARATOR "\n%\n"

static const struct sb_param fortunes_params[] = {
	{.name = "language", .type = SB_CHOICE, .def = "en", .choices = "en|de",
	 .help = "en: fortunes (with fortunes-min); de: fortunes-de"},
	{.name = "categories", .type = SB_STRINGS, .def = "[]",
	 .help = "category files to read (empty: all of the package's)"},
	{.name = "exclude_categories", .type = SB_STRINGS, .def = "[]",
	 .help = "categories left out"},
	{.name = "task", .type = SB_CHOICE, .def = "lm",
	 .choices = "lm|classify",
	 .help = "lm: next byte; classify: an entry's category"},
	{.name = "seq_len", .type = SB_INT, .def = "128", SB_RANGE(1, 1 << 20),
	 .help = "bytes per example"},
	{.name = "val_fraction", .type = SB_FLOAT, .def = "0.05",
	 SB_RANGE(0, 1), .hi_open = true,
	 .help = "share of entries in the validation split"},
	{.name = "test_fraction", .type = SB_FLOAT, .def = "0.05",
	 SB_RANGE(0, 1), .hi_open = true,
	 .help = "share of entries in the test split"},
	{.name = "dir", .type = SB_STRING, .def = SYSTEM_DIR,
	 .help = "folder of the cookie files (de reads <dir>/de)"},
	{0},
};

static const char *const split_names[] = {"train", "val", "test"};

struct language {
	const char *name;
	const char *subdir;          /* below dir and SYSTEM_DIR */
	const char *packages[2];     /* whose file lists name the categories */
	const char *install;         /* the package to install */
};

static const struct language languages[] = {
	{"en", "", {"fortunes-min", "fortunes"}, "fortunes"},
	{"de", "/de", {"fortunes-de", NULL}, "fortunes-de"},
};

struct names {
	char **v;
	size_t n;
};

static void names_add(struct names *s, const char *name)
{
	s->v = sb_realloc(s->v, (s->n + 1) * sizeof *s->v);
	s->v[s->n++] = sb_strdup(name);
}

static bool names_has(const struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], name))
			return true;
	return false;
}

static void names_release(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* The categories the language's packages install: files directly in its
 * system folder, without the .dat index or .u8 twin, that are not folders.
 * Sorted; none when the packages are not installed. */
static void package_categories(const struct language *lang,
			       struct names *known)
{
	char *folder = sb_asprintf(SYSTEM_DIR "%s/", lang->subdir);
	size_t folder_len = strlen(folder);
	for (int p = 0; p < 2 && lang->packages[p]; p++) {
		char *list = sb_asprintf(DPKG_INFO "/%s.list",
					 lang->packages[p]);
		FILE *f = fopen(list, "r");
		free(list);
		if (!f)
			continue;
		char line[4096];
		while (fgets(line, sizeof line, f)) {
			line[strcspn(line, "\n")] = '\0';
			const char *name = line + folder_len;
			struct stat st;
			if (strncmp(line, folder, folder_len) || !*name ||
			    strchr(name, '/') || ends_with(name, ".dat") ||
			    ends_with(name, ".u8") || names_has(known, name) ||
			    (!stat(line, &st) && S_ISDIR(st.st_mode)))
				continue;
			names_add(known, name);
		}
		fclose(f);
	}
	free(folder);
	if (known->n)
		qsort(known->v, known->n, sizeof *known->v, cmp_names);
}

static void join_names(char *buf, size_t cap, const struct names *s)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < s->n && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%s",
					 i ? ", " : "", s->v[i]);
}

static const struct language *find_language(const struct sb_values *cfg)
{
	const char *name = sb_values_str(cfg, "language");
	for (size_t i = 0; i < sizeof languages / sizeof languages[0]; i++)
		if (!strcmp(languages[i].name, name))
			return &languages[i];
	return &languages[0];
}

/* The categories to read, in label order, and the path of each file. */
static int resolve(const struct sb_values *cfg, struct names *cats,
		   struct names *paths, struct sb_error *err)
{
	const struct language *lang = find_language(cfg);
	const struct sb_value *req = sb_values_get(cfg, "categories");
	const struct sb_value *excl = sb_values_get(cfg, "exclude_categories");
	char *folder = sb_asprintf("%s%s", sb_values_str(cfg, "dir"),
				   lang->subdir);
	struct names known = {0};
	char list[800];
	int rc = 0;

	package_categories(lang, &known);
	join_names(list, sizeof list, &known);
	if (!req->n && !known.n)
		rc = sb_error(err, "fortunes: no '%s' categories: the package "
			      "list " DPKG_INFO "/%s.list is missing; install "
			      "it with: apt-get install %s", lang->name,
			      lang->install, lang->install);
	for (size_t i = 0; !rc && i < excl->n; i++)
		if (!names_has(&known, excl->strs[i]) &&
		    !(req->n && names_has(&(struct names){req->strs, req->n},
					  excl->strs[i])))
			rc = sb_error(err, "fortunes: unknown category '%s' in "
				      "exclude_categories (known: %s)",
				      excl->strs[i], list);
	const struct names wanted = req->n ?
		(struct names){req->strs, req->n} : known;
	for (size_t i = 0; !rc && i < wanted.n; i++) {
		const char *name = wanted.v[i];
		if (names_has(&(struct names){excl->strs, excl->n}, name))
			continue;
		if (names_has(cats, name)) {
			rc = sb_error(err, "fortunes: category '%s' listed "
				      "twice", name);
			break;
		}
		char *path = sb_asprintf("%s/%s.u8", folder, name);
		if (!*name || strchr(name, '/'))
			rc = sb_error(err, "fortunes: bad category name '%s'",
				      name);
		else if (access(path, R_OK) && known.n &&
			 !names_has(&known, name))
			rc = sb_error(err, "unknown fortune category '%s' "
				      "(known: %s)", name, list);
		else if (access(path, R_OK))
			rc = sb_error(err, "fortune category '%s' not found at "
				      "'%s'; install it with: apt-get install "
				      "%s", name, path, lang->install);
		names_add(cats, name);
		names_add(paths, path);
		free(path);
	}
	if (!rc && !cats->n)
		rc = sb_error(err, "fortunes: exclude_categories leaves no "
			      "category");
	if (!rc && sb_values_float(cfg, "val_fraction") +
			   sb_values_float(cfg, "test_fraction") >= 1.0)
		rc = sb_error(err, "fortunes: val_fraction + test_fraction "
			      "must be below 1, leaving entries to train on");
	if (rc) {
		names_release(cats);
		names_release(paths);
	}
	names_release(&known);
	free(folder);
	return rc;
}

static int fortunes_check(const struct sb_values *cfg, struct sb_error *err)
{
	struct names cats = {0}, paths = {0};
	if (resolve(cfg, &cats, &paths, err))
		return -1;
	names_release(&cats);
	names_release(&paths);
	return 0;
}

/* ---- entries ---------------------------------------------------------- */

struct entry {
	size_t off, len; /* in the text pool */
	uint32_t cat;
	uint64_t hash;
};

struct corpus {
	char *pool;
	size_t pool_len;
	struct entry *v;
	size_t n, cap;
};

static int read_file(struct corpus *c, const char *path, struct sb_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return sb_error(err, "'%s': cannot open: %s", path,
				strerror(errno));
	char buf[65536];
	size_t got;
	while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
		c->pool = sb_realloc(c->pool, c->pool_len + got);
		memcpy(c->pool + c->pool_len, buf, got);
		c->pool_len += got;
	}
	int failed = ferror(f);
	fclose(f);
	if (failed)
		return sb_error(err, "'%s': read error", path);
	return 0;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
	       ch == '\v' || ch == '\f';
}

static void add_entry(struct corpus *c, size_t from, size_t to, uint32_t cat)
{
	while (to > from && is_space(c->pool[to - 1]))
		to--;
	if (to == from)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 1024;
		c->v = sb_realloc(c->v, c->cap * sizeof *c->v);
	}
	c->v[c->n++] = (struct entry){
		.off = from, .len = to - from, .cat = cat,
		.hash = sb_hash_bytes(c->pool + from, to - from),
	};
}

/* Appends a cookie file's entries: text between lines that hold only "%". */
static int read_category(struct corpus *c, const char *path, uint32_t cat,
			 struct sb_error *err)
{
	size_t start = c->pool_len;
	if (read_file(c, path, err))
		return -1;
	size_t end = c->pool_len, entry = start;
	for (size_t line = start; line < end;) {
		const char *nl = memchr(c->pool + line, '\n', end - line);
		size_t next = nl ? (size_t)(nl - c->pool) + 1 : end;
		size_t len = (nl ? (size_t)(nl - c->pool) : end) - line;
		if (len == 1 && c->pool[line] == '%') {
			add_entry(c, entry, line, cat);
			entry = next;
		}
		line = next;
	}
	add_entry(c, entry, end, cat);
	return 0;
}

static bool same_text(const struct corpus *c, const struct entry *a,
		      const struct entry *b)
{
	return a->hash == b->hash && a->len == b->len &&
	       !memcmp(c->pool + a->off, c->pool + b->off, a->len);
}

/* Marks the entries to keep: the first of each text, unless the text is in
 * two categories. An open-addressing table maps texts to first entries. */
static bool *dedup(const struct corpus *c)
{
	size_t cap = 16;
	while (cap < 2 * c->n)
		cap *= 2;
	size_t *slots = sb_calloc(cap, sizeof *slots); /* entry + 1; 0 empty */
	bool *keep = sb_calloc(c->n ? c->n : 1, sizeof *keep);
	bool *cross = sb_calloc(c->n ? c->n : 1, sizeof *cross);
	for (size_t i = 0; i < c->n; i++) {
		size_t s = c->v[i].hash & (cap - 1);
		while (slots[s] && !same_text(c, &c->v[slots[s] - 1], &c->v[i]))
			s = (s + 1) & (cap - 1);
		if (!slots[s]) {
			slots[s] = i + 1;
			keep[i] = true;
		} else if (c->v[slots[s] - 1].cat != c->v[i].cat) {
			cross[slots[s] - 1] = true;
		}
	}
	for (size_t i = 0; i < c->n; i++)
		keep[i] = keep[i] && !cross[i];
	free(cross);
	free(slots);
	return keep;
}

static enum sb_split split_of(uint64_t hash, double val_fraction,
			      double test_fraction)
{
	double b = (double)(hash % 1000);
	if (b < 1000.0 * test_fraction)
		return SB_TEST;
	if (b < 1000.0 * (test_fraction + val_fraction))
		return SB_VAL;
	return SB_TRAIN;
}

/* ---- the dataset ------------------------------------------------------ */

struct fortunes {
	bool classify;
	size_t seq_len;
	unsigned char *stream[3]; /* lm: the split's bytes */
	size_t n_bytes[3];
	char *pool;               /* classify: entry texts */
	struct entry *items[3];   /* classify: the split's entries */
	size_t n_items[3];
	size_t n_entries[3];      /* entries per split, either task */
};

static void fortunes_release(void *priv)
{
	struct fortunes *d = priv;
	for (int s = 0; s < 3; s++) {
		free(d->stream[s]);
		free(d->items[s]);
	}
	free(d->pool);
	memset(d, 0, sizeof *d);
}

static void build_streams(struct fortunes *d, const struct corpus *c,
			  const bool *keep, const enum sb_split *split)
{
	size_t sep = strlen(SEPARATOR);
	for (size_t i = 0; i < c->n; i++)
		if (keep[i])
			d->n_bytes[split[i]] += c->v[i].len + sep;
	size_t used[3] = {0};
	for (int s = 0; s < 3; s++)
		d->stream[s] = sb_malloc(d->n_bytes[s]);
	for (size_t i = 0; i < c->n; i++) {
		if (!keep[i])
			continue;
		unsigned char *dst = d->stream[split[i]] + used[split[i]];
		memcpy(dst, c->pool + c->v[i].off, c->v[i].len);
		memcpy(dst + c->v[i].len, SEPARATOR, sep);
		used[split[i]] += c->v[i].len + sep;
	}
}

static void build_items(struct fortunes *d, struct corpus *c, const bool *keep,
			const enum sb_split *split)
{
	for (int s = 0; s < 3; s++)
		d->items[s] = sb_malloc((c->n ? c->n : 1) *
					sizeof *d->items[s]);
	for (size_t i = 0; i < c->n; i++)
		if (keep[i])
			d->items[split[i]][d->n_items[split[i]]++] = c->v[i];
	d->pool = c->pool;
	c->pool = NULL;
}

static size_t count_examples(const struct fortunes *d, enum sb_split s)
{
	if (d->classify)
		return d->n_items[s];
	return sb_lm_windows_count(s, d->n_bytes[s], d->seq_len);
}

static int fortunes_open(void *priv, const struct sb_values *cfg,
			 struct sb_data_info *info, struct sb_error *err)
{
	struct fortunes *d = priv;
	struct names cats = {0}, paths = {0};
	if (resolve(cfg, &cats, &paths, err))
		return -1;
	struct corpus c = {0};
	int rc = 0;
	for (size_t i = 0; !rc && i < paths.n; i++)
		rc = read_category(&c, paths.v[i], (uint32_t)i, err);
	d->classify = !strcmp(sb_values_str(cfg, "task"), "classify");
	d->seq_len = (size_t)sb_values_int(cfg, "seq_len");
	if (!rc) {
		bool *keep = dedup(&c);
		enum sb_split *split = sb_malloc((c.n ? c.n : 1) *
						 sizeof *split);
		double val = sb_values_float(cfg, "val_fraction");
		double test = sb_values_float(cfg, "test_fraction");
		for (size_t i = 0; i < c.n; i++) {
			split[i] = split_of(c.v[i].hash, val, test);
			d->n_entries[split[i]] += keep[i];
		}
		if (d->classify)
			build_items(d, &c, keep, split);
		else
			build_streams(d, &c, keep, split);
		free(split);
		free(keep);
	}
	*info = (struct sb_data_info){
		.task = d->classify ? SB_TASK_SEQ_CLASSIFY : SB_TASK_LM,
		.n_classes = d->classify ? cats.n : 0,
		.vocab = 256,
		.seq_len = d->seq_len,
	};
	for (int s = 0; !rc && s < 3; s++) {
		info->n_examples[s] = count_examples(d, (enum sb_split)s);
		if (!info->n_examples[s])
			rc = sb_error(err, "fortunes: the %s split is empty "
				      "(%zu entries%s; %s)", split_names[s],
				      d->n_entries[s],
				      d->classify ? "" : " for seq_len",
				      s == SB_TRAIN ? "lower val_fraction and "
				      "test_fraction" : s == SB_VAL ? "raise "
				      "val_fraction" : "raise test_fraction");
	}
	free(c.pool);
	free(c.v);
	names_release(&cats);
	names_release(&paths);
	return rc;
}

static void fortunes_batch(void *priv, enum sb_split split,
			   const size_t *rows, size_t n, struct sb_batch *out)
{
	const struct fortunes *d = priv;
	size_t T = d->seq_len;
	out->n = n;
	for (size_t r = 0; r < n; r++) {
		int32_t *x = out->tokens + r * T;
		if (d->classify) {
			const struct entry *e = &d->items[split][rows[r]];
			const unsigned char *text =
				(const unsigned char *)d->pool + e->off;
			size_t len = e->len < T ? e->len : T;
			for (size_t t = 0; t < T; t++)
				x[t] = t < len ? text[t] : 0;
			out->lengths[r] = (int32_t)len;
			out->targets[r] = (int32_t)e->cat;
			continue;
		}
		const unsigned char *src = d->stream[split] +
			sb_lm_window_start(split, rows[r], T);
		int32_t *y = out->targets + r * T;
		for (size_t t = 0; t < T; t++) {
			x[t] = src[t];
			y[t] = src[t + 1];
		}
	}
}

const struct sb_dataset sb_dataset_fortunes = {
	.name = "fortunes",
	.summary = "fortune cookies (Debian fortunes, fortunes-de): byte LM "
		   "or category classification",
	.params = fortunes_params,
	.priv_size = sizeof(struct fortunes),
	.check = fortunes_check,
	.open = fortunes_open,
	.batch = fortunes_batch,
	.release = fortunes_release,
};
