/* berth exec [OPTIONS] ID COMMAND [ARGS...]   |   berth exec --process FILE ID */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/util.h"
#include "cli/cli.h"

/* clang-format off */
static const struct cli_option exec_options[] = {
    {.name = "process", .short_name = 'p', .type = CLI_STRING, .offset = offsetof(struct exec_cli, opts.process_file),
     .metavar = "FILE", .help = "a runtime-spec process JSON; COMMAND and the process flags are then ignored"},
    {.name = "tty", .short_name = 't', .type = CLI_FLAG, .offset = offsetof(struct exec_cli, opts.tty),
     .help = "allocate a pseudo-terminal"},
    {.name = "detach", .short_name = 'd', .type = CLI_FLAG, .offset = offsetof(struct exec_cli, opts.detach),
     .help = "return once the process runs"},
    {.name = "pid-file", .type = CLI_STRING, .offset = offsetof(struct exec_cli, opts.pid_file),
     .metavar = "FILE", .help = "write the process's pid to FILE"},
    {.name = "console-socket", .type = CLI_STRING, .offset = offsetof(struct exec_cli, opts.console_socket),
     .metavar = "PATH", .help = "AF_UNIX socket that receives the terminal's master fd"},
    {.name = "cwd", .type = CLI_STRING, .offset = offsetof(struct exec_cli, opts.cwd),
     .metavar = "DIR", .help = "working directory inside the container"},
    {.name = "env", .short_name = 'e', .type = CLI_LIST, .offset = offsetof(struct exec_cli, env),
     .metavar = "NAME=VALUE", .help = "set an environment variable (repeatable)"},
    {.name = "user", .short_name = 'u', .type = CLI_STRING, .offset = offsetof(struct exec_cli, opts.user),
     .metavar = "UID[:GID]", .help = "run as this user and group"},
    {.name = "additional-gids", .short_name = 'g', .type = CLI_LIST, .offset = offsetof(struct exec_cli, gids),
     .metavar = "GID", .help = "an additional group (repeatable)"},
    {.name = "cap", .short_name = 'c', .type = CLI_LIST, .offset = offsetof(struct exec_cli, caps),
     .metavar = "CAP", .help = "add a capability (repeatable)"},
    {.name = "no-new-privs", .type = CLI_FLAG, .offset = offsetof(struct exec_cli, opts.no_new_privs),
     .help = "set no_new_privs for the process"},
    {.name = "preserve-fds", .type = CLI_INT, .offset = offsetof(struct exec_cli, opts.preserve_fds),
     .metavar = "N", .help = "pass N more descriptors (3 .. 3+N-1) to the process", .min = 0,
     .max = CLI_PRESERVE_FDS_MAX},
    {.name = "cgroup", .type = CLI_LIST, .offset = offsetof(struct exec_cli, cgroups),
     .metavar = "[CONTROLLER:]PATH", .help = "run in this existing sub-cgroup of the container's (repeatable)"},
    {.name = "ignore-paused", .type = CLI_FLAG, .offset = offsetof(struct exec_cli, opts.ignore_paused),
     .help = "exec even if the container is paused"},
};
/* clang-format on */

const struct cli_spec cmd_exec_spec = {
    .command = "exec",
    .synopsis = "[OPTIONS] ID [COMMAND [ARGS...]]",
    .summary = "Run a new process inside a running container.",
    .description = "Without --process, the process inherits the container's env, cwd, user,\n"
		   "capabilities, rlimits and no_new_privs, changed by the flags given.\n"
		   "In the foreground, the exit status is the process's (128+N for signal N).",
    .options = exec_options,
    .n_options = ARRAY_SIZE(exec_options),
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
    .stop_after = 1,
};

static int parse_gids(struct exec_cli *cli, struct berth_error *err)
{
	if (!cli->gids.n)
		return 0;
	cli->gid_values = calloc(cli->gids.n, sizeof(uint32_t));
	if (!cli->gid_values)
		return berth_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < cli->gids.n; i++) {
		int64_t v;
		if (parse_int64(cli->gids.items[i], 0, UINT32_MAX - 1, &v) < 0)
			return berth_error_set(err, -EINVAL, "exec: --additional-gids: \"%s\" is not a gid",
					       cli->gids.items[i]);
		cli->gid_values[i] = (uint32_t)v;
	}
	cli->opts.additional_gids = cli->gid_values;
	cli->opts.n_additional_gids = cli->gids.n;
	return 0;
}

void exec_cli_free(struct exec_cli *cli)
{
	cli_list_free(&cli->env);
	cli_list_free(&cli->gids);
	cli_list_free(&cli->caps);
	cli_list_free(&cli->cgroups);
	free(cli->gid_values);
	free(cli->cgroups_v);
	free(cli->env_v);
	free(cli->caps_v);
}

/* NULL-terminated copy of a cli_list's items (the strings stay in argv). */
static int list_strv(const struct cli_list *l, char ***ret, struct berth_error *err)
{
	*ret = NULL;
	if (!l->n)
		return 0;
	char **v = calloc(l->n + 1, sizeof(char *));
	if (!v)
		return berth_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < l->n; i++)
		v[i] = (char *)l->items[i];
	*ret = v;
	return 0;
}

int cmd_exec_parse(int argc, char **argv, struct exec_cli *out, struct berth_error *err)
{
	struct cli_parsed parsed;
	memset(out, 0, sizeof(*out));
	int r = cli_parse(&cmd_exec_spec, argc, argv, out, &parsed, err);
	if (r < 0)
		return r;
	out->help = parsed.help;
	if (out->help)
		return 0;
	out->opts.id = parsed.args[0];
	r = cli_check_id(out->opts.id, err);
	if (r == 0 && !out->opts.process_file &&
	    parsed.rest >= argc - (parsed.rest < argc && !strcmp(argv[parsed.rest], "--")))
		r = berth_error_set(err, -EINVAL, "exec: COMMAND (or --process FILE) is required");
	int rest = parsed.rest;
	if (rest < argc && strcmp(argv[rest], "--") == 0)
		rest++;
	if (r == 0 && rest < argc)
		out->opts.args = argv + rest;
	if (r == 0)
		r = parse_gids(out, err);
	if (r == 0)
		r = list_strv(&out->env, &out->env_v, err);
	if (r == 0)
		r = list_strv(&out->caps, &out->caps_v, err);
	if (r == 0)
		r = list_strv(&out->cgroups, &out->cgroups_v, err);
	out->opts.env = out->env_v;
	out->opts.caps = out->caps_v;
	out->opts.cgroups = out->cgroups_v;
	if (r < 0)
		exec_cli_free(out);
	return r;
}

int cmd_exec(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	struct exec_cli cli;
	if (cmd_exec_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_exec_spec, env->out);
		exec_cli_free(&cli);
		return CLI_EXIT_OK;
	}
	_cleanup_free_ char *pid_file = NULL;
	int status = 0;
	int r = cli_absolutize(&cli.opts.pid_file, &pid_file, err);
	if (r == 0)
		r = berth_container_exec(&env->ctx, &cli.opts, &status, err);
	exec_cli_free(&cli);
	if (r < 0)
		return cli_fail(r, err);
	return status;
}
