/* berth kill [--all] ID [SIGNAL] */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/util.h"
#include "cli/cli.h"

static const struct cli_option kill_options[] = {
    {.name = "all",
     .short_name = 'a',
     .type = CLI_FLAG,
     .offset = offsetof(struct kill_cli, all),
     .help = "send the signal to every process of the container, not only its init"},
};

const struct cli_spec cmd_kill_spec = {
    .command = "kill",
    .synopsis = "[OPTIONS] ID [SIGNAL]",
    .summary = "Send a signal to a container (default: SIGTERM).",
    .description = "SIGNAL is a number (9) or a name with or without SIG, in any case (KILL,\n"
		   "SIGKILL, sigkill); real-time signals as RTMIN, RTMIN+N, RTMAX-N.\n"
		   "SIGNAL 0 sends nothing: the exit status says whether the container runs.",
    .options = kill_options,
    .n_options = ARRAY_SIZE(kill_options),
    .arg_names = (const char *const[]){"ID", "SIGNAL"},
    .min_args = 1,
    .max_args = 2,
};

int cmd_kill_parse(int argc, char **argv, struct kill_cli *out, struct berth_error *err)
{
	struct kill_cli cli = {.signal = SIGTERM};
	struct cli_parsed parsed;
	int r;

	r = cli_parse(&cmd_kill_spec, argc, argv, &cli, &parsed, err);
	if (r < 0)
		return r;
	cli.help = parsed.help;
	if (!cli.help) {
		cli.id = parsed.args[0];
		r = cli_check_id(cli.id, err);
		if (r < 0)
			return r;
		/* 0: no signal, only the check that the container runs (runc accepts it) */
		if (parsed.n_args > 1 && strcmp(parsed.args[1], "0") == 0)
			cli.signal = 0;
		else if (parsed.n_args > 1 && signal_parse(parsed.args[1], &cli.signal) < 0)
			return berth_error_set(err, -EINVAL, "kill: invalid signal \"%s\"", parsed.args[1]);
	}
	*out = cli;
	return 0;
}

int cmd_kill(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	struct kill_cli cli = {0};
	int r;

	if (cmd_kill_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_kill_spec, env->out);
		return CLI_EXIT_OK;
	}
	r = berth_container_kill(&env->ctx, cli.id, cli.signal, cli.all, err);
	if (r < 0)
		return cli_fail(r, err);
	return CLI_EXIT_OK;
}
