/* berth start ID */
#include "berth/cleanup.h"
#include "cli/cli.h"

const struct cli_spec cmd_start_spec = {
    .command = "start",
    .synopsis = "ID",
    .summary = "Start a created container: its process executes the configured program.",
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
};

int cmd_start_parse(int argc, char **argv, struct id_cli *out, struct berth_error *err)
{
	return cli_parse_id(&cmd_start_spec, argc, argv, out, err);
}

int cmd_start(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	struct id_cli cli;
	int r;

	if (cmd_start_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_start_spec, env->out);
		return CLI_EXIT_OK;
	}
	r = berth_container_start(&env->ctx, cli.id, err);
	if (r < 0)
		return cli_fail(r, err);
	return CLI_EXIT_OK;
}
