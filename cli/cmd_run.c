/* berth run [OPTIONS] ID: create + start, and in the foreground wait for the container.
 * berth run --image NAME [OPTIONS] [COMMAND...]: the same from an image of the store, whose
 * bundle the images module prepares first (an overlay rootfs and a generated config.json). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/util.h"
#include "cli/cli.h"

/* In berth-ext only: `berth` hands run --image over (see struct cli_command.ext). */
#pragma weak cmd_run_image

static const struct cli_option run_options[] = {
    CLI_CREATE_OPTIONS(struct run_cli, opts.create),
    {.name = "detach",
     .short_name = 'd',
     .type = CLI_FLAG,
     .offset = offsetof(struct run_cli, opts.detach),
     .help = "return once the container started; without a terminal its output goes to its log (logs)"},
    {.name = "keep",
     .type = CLI_FLAG,
     .offset = offsetof(struct run_cli, opts.keep),
     .help = "do not delete the container after it exits"},
    {.name = "no-subreaper",
     .type = CLI_FLAG,
     .offset = offsetof(struct run_cli, no_subreaper),
     .help = "accepted and ignored (runc's flag; berth makes no subreaper)"},
};

const struct cli_spec cmd_run_spec = {
    .command = "run",
    .synopsis = "[OPTIONS] ID",
    .summary = "Create and start a container, and wait for it to exit.",
    .description = "In the foreground berth forwards signals to the container and exits with its\n"
		   "status (128+N when signal N killed it), then deletes it unless --keep is given.\n"
		   "With --image NAME the container comes from the image store instead of a bundle:\n"
		   "see `berth run --image - --help`.",
    .options = run_options,
    .n_options = ARRAY_SIZE(run_options),
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
};

static const struct cli_option run_image_options[] = {
    {.name = "image",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, image),
     .metavar = "NAME",
     .help = "the image to run (from --storage)"},
    {.name = "name",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, name),
     .metavar = "ID",
     .help = "the container's id (default: berth-<random>)"},
    {.name = "rm",
     .type = CLI_FLAG,
     .offset = offsetof(struct run_cli, rm),
     .help = "delete the container and its root filesystem when it exits"},
    {.name = "detach",
     .short_name = 'd',
     .type = CLI_FLAG,
     .offset = offsetof(struct run_cli, opts.detach),
     .help = "print the id and return once the container started (output: berth logs)"},
    {.name = "tty",
     .short_name = 't',
     .type = CLI_FLAG,
     .offset = offsetof(struct run_cli, tty),
     .help = "give the process a terminal"},
    {.name = "env",
     .short_name = 'e',
     .type = CLI_LIST,
     .offset = offsetof(struct run_cli, env),
     .metavar = "NAME[=VALUE]",
     .help = "set an environment variable (NAME alone: berth's own value)"},
    {.name = "workdir",
     .short_name = 'w',
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, workdir),
     .metavar = "DIR",
     .help = "the working directory instead of the image's"},
    {.name = "user",
     .short_name = 'u',
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, user),
     .metavar = "USER[:GROUP]",
     .help = "the user instead of the image's (names from the image's /etc/passwd)"},
    {.name = "volume",
     .short_name = 'v',
     .type = CLI_LIST,
     .offset = offsetof(struct run_cli, volumes),
     .metavar = "SRC:DST[:ro]",
     .help = "bind-mount host path SRC at DST"},
    {.name = "net",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, net),
     .metavar = "NETWORK",
     .help = "join a berth network (`berth network create`); default: none"},
    {.name = "ip",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, ip),
     .metavar = "IP",
     .help = "with --net: this fixed address instead of the next free one"},
    {.name = "memory",
     .short_name = 'm',
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, memory),
     .metavar = "SIZE",
     .help = "memory limit (bytes, or with k, m, g, t; -1: unlimited)"},
    {.name = "pids-limit",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, pids_limit),
     .metavar = "N",
     .help = "at most N processes"},
    {.name = "cpus",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, cpus),
     .metavar = "N",
     .help = "CPU quota in CPUs (1.5)"},
    {.name = "cgroups-path",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, cgroups_path),
     .metavar = "PATH",
     .help = "linux.cgroupsPath (default: /berth/<id>)"},
    {.name = "security-opt",
     .type = CLI_LIST,
     .offset = offsetof(struct run_cli, security_opts),
     .metavar = "OPT",
     .help = "seccomp=unconfined (no filter) or seccomp=FILE (a profile) instead of berth's default"},
    {.name = "pid-file",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, opts.create.pid_file),
     .metavar = "FILE",
     .help = "write the container's init pid to FILE"},
    {.name = "console-socket",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, opts.create.console_socket),
     .metavar = "PATH",
     .help = "AF_UNIX socket that receives the terminal's master fd (with -t)"},
};

const struct cli_spec cmd_run_image_spec = {
    .command = "run",
    .synopsis = "--image NAME [OPTIONS] [COMMAND [ARG...]]",
    .summary = "Run a container from an image of the store.",
    .description = "The container's root filesystem is an overlay of the image's layers and its own\n"
		   "writable layer, in <storage>/containers/<id>. COMMAND replaces the image's Cmd (its\n"
		   "Entrypoint stays). Options end at COMMAND. Without --rm the stopped container\n"
		   "stays until `berth delete`, which also removes its root filesystem.",
    .options = run_image_options,
    .n_options = ARRAY_SIZE(run_image_options),
    .arg_names = (const char *const[]){"COMMAND"},
    .min_args = 0,
    .max_args = 1,
    .stop_after = 1,
};

/* Whether the words before "--" name --image: the two forms parse differently. */
static bool image_mode(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];

		if (strcmp(w, "--") == 0)
			break;
		if (w[0] != '-')
			continue;
		w += w[1] == '-' ? 2 : 1;
		if (strcmp(w, "image") == 0 || str_has_prefix(w, "image="))
			return true;
	}
	return false;
}

void run_cli_free(struct run_cli *cli)
{
	cli_list_free(&cli->env);
	cli_list_free(&cli->volumes);
	cli_list_free(&cli->security_opts);
	free(cli->seccomp_file);
	cli->seccomp_file = NULL;
	free(cli->args);
	cli->args = NULL;
}

static int parse_image_mode(int argc, char **argv, struct run_cli *cli, struct berth_error *err)
{
	struct cli_parsed parsed;
	int r, n;

	r = cli_parse(&cmd_run_image_spec, argc, argv, cli, &parsed, err);
	if (r < 0)
		return r;
	cli->help = parsed.help;
	if (cli->help)
		return 0;
	if (!cli->image || !cli->image[0])
		return berth_error_set(err, -EINVAL, "run: --image needs an image name");
	if (cli->name && cli_check_id(cli->name, err) < 0)
		return -EINVAL;
	if (cli->rm && cli->opts.detach)
		return berth_error_set(
		    err, -EINVAL, "run: --rm cannot be combined with -d (berth keeps no monitor process)");
	if (parsed.n_args == 0)
		return 0;
	/* The command: the first positional and every word after it, options or not. */
	n = 1 + argc - parsed.rest;
	cli->args = calloc((size_t)n + 1, sizeof(char *));
	if (!cli->args)
		return berth_error_set(err, -ENOMEM, "out of memory");
	cli->args[0] = parsed.args[0];
	for (int i = 1; i < n; i++)
		cli->args[i] = argv[parsed.rest + i - 1];
	return 0;
}

int cmd_run_parse(int argc, char **argv, struct run_cli *out, struct berth_error *err)
{
	struct run_cli cli = {0};
	struct cli_parsed parsed;
	int r;

	if (image_mode(argc, argv)) {
		r = parse_image_mode(argc, argv, &cli, err);
		if (r < 0) {
			run_cli_free(&cli);
			return r;
		}
		cli_create_normalize(&cli.opts.create);
		*out = cli;
		return 0;
	}
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

/* ---- --image: from options to the bundle's settings ---- */

int cmd_run(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	_cleanup_free_ char *pid_file = NULL;
	struct run_cli cli;
	int r, status = 0;

	if (cmd_run_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(cli.image ? &cmd_run_image_spec : &cmd_run_spec, env->out);
		run_cli_free(&cli);
		return CLI_EXIT_OK;
	}
	r = cli_absolutize(&cli.opts.create.pid_file, &pid_file, err);
	if (r == 0 && cli.image && !cmd_run_image) {
		run_cli_free(&cli);
		return cli_exec_ext(env, err); /* the image commands live in berth-ext */
	} else if (r == 0 && cli.image) {
		r = cmd_run_image(env, &cli, &status, err);
	} else if (r == 0) {
		/* Output written so far must not be duplicated into the container's inherited stdout. */
		fflush(env->out);
		r = berth_container_run(&env->ctx, &cli.opts, &status, err);
	}
	run_cli_free(&cli);
	if (r < 0)
		return cli_fail(r, err);
	return cli.opts.detach ? CLI_EXIT_OK : status;
}
