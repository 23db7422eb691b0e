/* berth logs [-f] ID: the log of a detached container (`run -d`). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "cli/cli.h"

static const struct cli_option logs_options[] = {
    {.name = "follow",
     .short_name = 'f',
     .type = CLI_FLAG,
     .offset = offsetof(struct logs_cli, follow),
     .help = "keep printing what the container writes until it stops"},
    {.name = "raw",
     .type = CLI_FLAG,
     .offset = offsetof(struct logs_cli, raw),
     .help = "the bytes as written, also to a terminal"},
};

const struct cli_spec cmd_logs_spec = {
    .command = "logs",
    .synopsis = "[OPTIONS] ID",
    .summary = "Print the output of a detached container (run -d).",
    .description = "A container started with `run -d` (or `run --image -d`) without a terminal has\n"
		   "stdin /dev/null and writes its stdout and stderr, interleaved as written, to\n"
		   "<root>/<id>/container.log; `delete` removes it. A checkpoint carries the log and\n"
		   "a restore (also --import on another host) goes on appending to it there. Other\n"
		   "containers (create/start, a terminal) write to their creator's stdio and have no log.\n"
		   "To a terminal, what the container wrote cannot act on the terminal: control\n"
		   "characters and escape sequences print as text (^[ for ESC, \\xHH for bytes that\n"
		   "are not UTF-8); colour sequences (ESC [ ... m) pass. A pipe or a file gets the\n"
		   "bytes as written, as does --raw.",
    .options = logs_options,
    .n_options = ARRAY_SIZE(logs_options),
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
};

int cmd_logs_parse(int argc, char **argv, struct logs_cli *out, struct berth_error *err)
{
	struct logs_cli cli = {0};
	struct cli_parsed parsed;
	int r = cli_parse(&cmd_logs_spec, argc, argv, &cli, &parsed, err);
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

int cmd_logs(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	struct logs_cli cli;
	if (cmd_logs_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_logs_spec, env->out);
		return CLI_EXIT_OK;
	}
	fflush(env->out);
	int out = fileno(env->out);
	bool term = cli.raw ? false : isatty(out);
	int r = berth_container_logs(&env->ctx, cli.id, cli.follow, term, out, err);
	if (r < 0)
		return cli_fail(r, err);
	return CLI_EXIT_OK;
}
