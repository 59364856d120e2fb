/* report.c - the summary of `make bench`: the RESULT lines every bench
 * program printed (bench/README.md), as one table on stdout and as CSV,
 * with the machine's processor, cores and OpenBLAS build as '#' lines.
 *   bench-report OUTPUT.txt OUT.csv */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct result {
	char name[128];
	double seconds, floor, target; /* target 0: none stated */
};

/* The processor's model name from /proc/cpuinfo, or "unknown". */
static void cpu_model(char *out, size_t size)
{
	snprintf(out, size, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) || !colon)
			continue;
		colon += 1 + (colon[1] == ' ');
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(out, size, "%s", colon);
		break;
	}
	fclose(f);
}

static const char *verdict(const struct result *r)
{
	if (r->target <= 0 || !(r->floor > 0))
		return "-";
	return r->seconds / r->floor <= r->target ? "pass" : "miss";
}

static int write_csv(const char *path, const struct result *res, size_t n)
{
	char cpu[256];
	cpu_model(cpu, sizeof cpu);
	char *tmp = malloc(strlen(path) + 8);
	if (!tmp)
		return -1;
	sprintf(tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		free(tmp);
		return -1;
	}
	char *config = openblas_get_config();
	fprintf(f, "# cpu: %s\n# cores: %ld\n# openblas: %s\n"
		"# openblas_corename: %s\n# openblas_threads: %d\n", cpu,
		sysconf(_SC_NPROCESSORS_ONLN), config ? config : "unknown",
		openblas_get_corename(), openblas_get_num_threads());
	fprintf(f, "name,seconds,floor_seconds,ratio,target_ratio,verdict\n");
	for (size_t i = 0; i < n; i++) {
		const struct result *r = &res[i];
		fprintf(f, "%s,%.9g,%.9g,%.4g,", r->name, r->seconds, r->floor,
			r->seconds / r->floor);
		if (r->target > 0)
			fprintf(f, "%g", r->target);
		fprintf(f, ",%s\n", verdict(r));
	}
	int rc = ferror(f) ? -1 : 0;
	if (fclose(f) || rc || rename(tmp, path)) {
		remove(tmp);
		rc = -1;
	}
	free(tmp);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bench-report OUTPUT.txt OUT.csv\n");
		return 2;
	}
	FILE *in = fopen(argv[1], "r");
	if (!in) {
		fprintf(stderr, "bench-report: cannot read '%s'\n", argv[1]);
		return 2;
	}
	struct result *res = NULL;
	size_t n = 0, cap = 0, line_no = 0;
	char line[1024];
	int rc = 0;
	while (fgets(line, sizeof line, in)) {
		line_no++;
		if (strncmp(line, "RESULT ", 7))
			continue;
		struct result r = {0};
		int got = sscanf(line + 7, "%127s %lf %lf %lf", r.name,
				 &r.seconds, &r.floor, &r.target);
		if (got < 3) {
			fprintf(stderr, "%s:%zu: expected 'RESULT <name> "
				"<seconds> <floor_seconds> [<target_ratio>]'\n",
				argv[1], line_no);
			rc = 2;
			break;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct result *grown = realloc(res, cap * sizeof *res);
			if (!grown)
				abort();
			res = grown;
		}
		res[n++] = r;
	}
	fclose(in);
	if (rc) {
		free(res);
		return rc;
	}

	printf("\n== summary (%zu figures; ratio = seconds / floor, within "
	       "target when <= target)\n", n);
	printf("%-44s %12s %12s %8s %7s %7s\n", "figure", "seconds", "floor",
	       "ratio", "target", "");
	for (size_t i = 0; i < n; i++) {
		const struct result *r = &res[i];
		char target[32] = "-";
		if (r->target > 0)
			snprintf(target, sizeof target, "%g", r->target);
		printf("%-44s %12.6f %12.6f %8.3f %7s %7s\n", r->name,
		       r->seconds, r->floor, r->seconds / r->floor, target,
		       verdict(r));
	}
	if (write_csv(argv[2], res, n)) {
		fprintf(stderr, "bench-report: cannot write '%s'\n", argv[2]);
		rc = 1;
	} else {
		printf("written to %s\n", argv[2]);
	}
	free(res);
	return rc;
}
