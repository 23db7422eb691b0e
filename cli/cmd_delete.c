/* berth delete [--force] ID */
#include "berth/cleanup.h"
#include "cli/cli.h"

static const struct cli_option delete_options[] = {
    {.name = "force",
     .short_name = 'f',
     .type = CLI_FLAG,
     .offset = offsetof(struct delete_cli, force),
     .help = "kill the container first if it is still running"},
};

const struct cli_spec cmd_delete_spec = {
    .command = "delete",
    .synopsis = "[OPTIONS] ID",
    .summary = "Delete a stopped or created container and its state.",
    .options = delete_options,
    .n_options = ARRAY_SIZE(delete_options),
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
};

int cmd_delete_parse(int argc, char **argv, struct delete_cli *out, struct berth_error *err)
{
	struct delete_cli cli = {0};
	struct cli_parsed parsed;
	int r;

	r = cli_parse(&cmd_delete_spec, argc, argv, &cli, &parsed, err);
	if (r < 0)
		return r;
	cli.help = parsed.help;
	if (!cli.help) {
		cli.id = parsed.args[0];
		r = cli_check_id(cli.id, err);
		if (r < 0)
			return r;
	}
	*out = cli;
	return 0;
}

int cmd_delete(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	struct delete_cli cli;
	int r;

	if (cmd_delete_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_delete_spec, env->out);
		return CLI_EXIT_OK;
	}
	r = berth_container_delete(&env->ctx, cli.id, cli.force, err);
	if (r < 0)
		return cli_fail(r, err);
	return CLI_EXIT_OK;
}
