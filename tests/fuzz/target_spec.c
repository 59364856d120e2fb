/* target_spec.c - an experiment spec, YAML text, parsed, validated and
 * expanded into its grid by sb_spec_load (harness/spec/spec.c), as
 * `sparsebench validate` and `run` read it. A spec it accepts must give
 * runs whose resolved config, itself a spec, resolves to the same config
 * (what `config_yaml` promises: docs/spec.md). */
#include "fuzz.h"
#include "spec/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void round_trip(const struct sb_run_cfg *run)
{
	const char *path = sb_fuzz_write("config.yaml", run->config_yaml,
					 strlen(run->config_yaml));
	struct sb_spec again;
	struct sb_error err = {{0}};
	if (sb_spec_load(&again, path, &err)) {
		fprintf(stderr, "fuzz spec: the config of run '%s' is not a "
			"spec: %s\n%s", run->id, err.msg, run->config_yaml);
		abort();
	}
	if (again.n_runs != 1 ||
	    strcmp(again.runs[0].config_yaml, run->config_yaml)) {
		fprintf(stderr, "fuzz spec: the config of run '%s' resolves "
			"to %zu runs, the first:\n%s---\n%s", run->id,
			again.n_runs, run->config_yaml,
			again.n_runs ? again.runs[0].config_yaml : "");
		abort();
	}
	sb_spec_release(&again);
}

static int load(const uint8_t *data, size_t size, struct sb_error *err)
{
	const char *path = sb_fuzz_write("spec.yaml", data, size);
	struct sb_spec spec;
	if (sb_spec_load(&spec, path, err))
		return -1;
	round_trip(&spec.runs[0]);
	if (spec.n_runs > 1)
		round_trip(&spec.runs[spec.n_runs - 1]);
	sb_spec_release(&spec);
	return 0;
}

const struct sb_fuzz_target sb_fuzz_spec = {
	.name = "spec",
	.cli = "validate",
	.load = load,
};
