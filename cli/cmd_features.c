/* berth features: the runtime-spec features document. */
#include <stdlib.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "berth/runtime.h"
#include "cli/cli.h"
#include "cli/output.h"

const struct cli_spec cmd_features_spec = {
    .command = "features",
    .synopsis = "",
    .summary = "Print the features berth supports as JSON (runtime-spec \"Features\").",
};

int cmd_features_parse(int argc, char **argv, struct features_cli *out, struct berth_error *err)
{
	struct features_cli cli = {0};
	struct cli_parsed parsed;
	int r;

	r = cli_parse(&cmd_features_spec, argc, argv, &cli, &parsed, err);
	if (r < 0)
		return r;
	cli.help = parsed.help;
	*out = cli;
	return 0;
}

int cmd_features(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	_cleanup_free_ char *json = NULL;
	struct features_cli cli;
	size_t len;
	int r;

	if (cmd_features_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_features_spec, env->out);
		return CLI_EXIT_OK;
	}
	struct berth_lsm lsm;
	berth_lsm_probe(&lsm);
	struct oci_features_host host = {.apparmor = lsm.apparmor, .selinux = lsm.selinux};
	r = oci_features_json_host(&host, &json, &len);
	if (r < 0)
		return cli_fail(berth_error_setf_errno(err, r, "building the features document"), err);
	output_text(env->out, json);
	return CLI_EXIT_OK;
}
