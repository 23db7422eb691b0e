/* berth create [OPTIONS] ID */
#include <errno.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "cli/cli.h"

static const struct cli_option create_options[] = {
    CLI_CREATE_OPTIONS(struct create_cli, opts),
};

const struct cli_spec cmd_create_spec = {
    .command = "create",
    .synopsis = "[OPTIONS] ID",
    .summary = "Create a container from a bundle; its process waits for `berth start`.",
    .description = "The bundle's config.json describes the container. Its init process is set up\n"
		   "and blocks until `berth start ID` lets it execute the configured program.",
    .options = create_options,
    .n_options = ARRAY_SIZE(create_options),
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
};

int cmd_create_parse(int argc, char **argv, struct create_cli *out, struct berth_error *err)
{
	struct create_cli cli = {0};
	struct cli_parsed parsed;
	int r;

	r = cli_parse(&cmd_create_spec, argc, argv, &cli, &parsed, err);
	if (r < 0)
		return r;
	cli.help = parsed.help;
	if (!cli.help) {
		cli.opts.id = parsed.args[0];
		r = cli_check_id(cli.opts.id, err);
		if (r < 0)
			return r;
		cli_create_normalize(&cli.opts);
	}
	*out = cli;
	return 0;
}

int cmd_create(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	_cleanup_free_ char *pid_file = NULL;
	struct create_cli cli;
	int r;

	if (cmd_create_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_create_spec, env->out);
		return CLI_EXIT_OK;
	}
	/* The runtime may change directory (into the bundle) before it writes the pid file. */
	r = cli_absolutize(&cli.opts.pid_file, &pid_file, err);
	if (r < 0)
		return cli_fail(r, err);
	r = berth_container_create(&env->ctx, &cli.opts, err);
	if (r < 0)
		return cli_fail(r, err);
	return CLI_EXIT_OK;
}
