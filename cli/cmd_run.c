/* berth run [OPTIONS] ID: create + start, and in the foreground wait for the container. */
#include <errno.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "cli/cli.h"

static const struct cli_option run_options[] = {
    CLI_CREATE_OPTIONS(struct run_cli, opts.create),
    {.name = "detach",
     .short_name = 'd',
     .type = CLI_FLAG,
     .offset = offsetof(struct run_cli, opts.detach),
     .help = "return once the container started instead of waiting for it"},
    {.name = "keep",
     .type = CLI_FLAG,
     .offset = offsetof(struct run_cli, opts.keep),
     .help = "do not delete the container after it exits"},
};

const struct cli_spec cmd_run_spec = {
    .command = "run",
    .synopsis = "[OPTIONS] ID",
    .summary = "Create and start a container, and wait for it to exit.",
    .description = "In the foreground berth forwards signals to the container and exits with its\n"
		   "status (128+N when signal N killed it), then deletes it unless --keep is given.",
    .options = run_options,
    .n_options = ARRAY_SIZE(run_options),
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
};

int cmd_run_parse(int argc, char **argv, struct run_cli *out, struct berth_error *err)
{
	struct run_cli cli = {0};
	struct cli_parsed parsed;
	int r;

	r = cli_parse(&cmd_run_spec, argc, argv, &cli, &parsed, err);
	if (r < 0)
		return r;
	cli.help = parsed.help;
	if (!cli.help) {
		cli.opts.create.id = parsed.args[0];
		r = cli_check_id(cli.opts.create.id, err);
		if (r < 0)
			return r;
		cli_create_normalize(&cli.opts.create);
	}
	*out = cli;
	return 0;
}

int cmd_run(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	_cleanup_free_ char *pid_file = NULL;
	struct run_cli cli;
	int r, status = 0;

	if (cmd_run_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_run_spec, env->out);
		return CLI_EXIT_OK;
	}
	r = cli_absolute_path(cli.opts.create.pid_file, &pid_file, err);
	if (r < 0)
		return cli_fail(r, err);
	if (pid_file)
		cli.opts.create.pid_file = pid_file;
	/* Output written so far must not be duplicated into the container's inherited stdout. */
	fflush(env->out);
	r = berth_container_run(&env->ctx, &cli.opts, &status, err);
	if (r < 0)
		return cli_fail(r, err);
	return cli.opts.detach ? CLI_EXIT_OK : status;
}
