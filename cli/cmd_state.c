/* berth state ID: the runtime-spec state document. */
#include <stdlib.h>

#include "berth/cleanup.h"
#include "cli/cli.h"
#include "cli/output.h"

const struct cli_spec cmd_state_spec = {
    .command = "state",
    .synopsis = "ID",
    .summary = "Print the state of a container as JSON (runtime-spec \"State\").",
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
};

int cmd_state_parse(int argc, char **argv, struct id_cli *out, struct berth_error *err)
{
	return cli_parse_id(&cmd_state_spec, argc, argv, out, err);
}

int cmd_state(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	_cleanup_free_ char *json = NULL;
	struct id_cli cli;
	int r;

	if (cmd_state_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_state_spec, env->out);
		return CLI_EXIT_OK;
	}
	r = berth_container_state(&env->ctx, cli.id, &json, err);
	if (r < 0)
		return cli_fail(r, err);
	output_text(env->out, json);
	return CLI_EXIT_OK;
}
