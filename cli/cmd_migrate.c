/* berth migrate [OPTIONS] ID ssh://[user@]host[:port]: live migration over OpenSSH; and the
 * hidden `migrate-receive`, the target's side that `migrate` runs through ssh. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "cli/cli.h"

#define MG(field) offsetof(struct migrate_cli, field)

static const struct cli_option migrate_options[] = {
    {.name = "lazy",
     .type = CLI_FLAG,
     .offset = MG(lazy),
     .help = "post-copy: resume on the target at once and fetch the memory on demand (CRIU lazy "
	     "pages; needs userfaultfd on the target; no pre-copy rounds)"},
    {.name = "max-rounds",
     .type = CLI_INT,
     .offset = MG(max_rounds),
     .metavar = "N",
     .min = 1,
     .max = 16,
     .help = "pre-copy rounds at most before the freeze (default 4)"},
    {.name = "ssh-option",
     .type = CLI_LIST,
     .offset = MG(ssh_options),
     .metavar = "OPTION",
     .help = "passed to ssh as -o OPTION (repeatable), e.g. IdentityFile=KEY"},
    {.name = "console-socket",
     .type = CLI_STRING,
     .offset = MG(console_socket),
     .metavar = "PATH",
     .help = "a container with a terminal: the console socket on the target that gets its new "
	     "pty master (as restore --console-socket)"},
    {.name = "remote-berth",
     .type = CLI_STRING,
     .offset = MG(remote_berth),
     .metavar = "COMMAND",
     .help = "berth on the target, with its global options (default: berth)"},
};

const struct cli_spec cmd_migrate_spec = {
    .command = "migrate",
    .synopsis = "[OPTIONS] ID ssh://[user@]host[:port]",
    .summary = "Move a running container to another host over ssh (live, pre-copy).",
    .description =
	"Runs `berth migrate-receive` on the target through ssh (your ssh configuration and keys);\n"
	"the memory is copied in rounds while the container runs, then it is frozen, the rest sent\n"
	"and the container restored there. Nothing is left here on success; on failure the container\n"
	"runs on here and the target removes what it made. Progress goes to stderr.",
    .options = migrate_options,
    .n_options = ARRAY_SIZE(migrate_options),
    .arg_names = (const char *const[]){"ID", "DESTINATION"},
    .min_args = 2,
    .max_args = 2,
};

const struct cli_spec cmd_migrate_receive_spec = {
    .command = "migrate-receive",
    .synopsis = "",
    .summary = "(internal) the target's side of migrate, run by it over ssh.",
};

int cmd_migrate_parse(int argc, char **argv, struct migrate_cli *out, struct berth_error *err)
{
	struct migrate_cli cli = {0};
	struct cli_parsed parsed;
	int r = cli_parse(&cmd_migrate_spec, argc, argv, &cli, &parsed, err);
	if (r < 0)
		return r;
	cli.help = parsed.help;
	if (!cli.help) {
		cli.id = parsed.args[0];
		cli.destination = parsed.args[1];
		r = cli_check_id(cli.id, err);
		if (r < 0) {
			cli_list_free(&cli.ssh_options);
			return r;
		}
	}
	*out = cli;
	return 0;
}

static void print_progress(void *data, const char *line)
{
	(void)data;
	fprintf(stderr, "migrate: %s\n", line);
}

int cmd_migrate(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	struct migrate_cli cli;
	if (cmd_migrate_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_migrate_spec, env->out);
		return CLI_EXIT_OK;
	}
	struct berth_migrate_opts o = {
	    .id = cli.id,
	    .destination = cli.destination,
	    .ssh_options = cli.ssh_options.items,
	    .n_ssh_options = cli.ssh_options.n,
	    .remote_berth = cli.remote_berth,
	    .storage = env->storage,
	    .max_rounds = cli.max_rounds,
	    .lazy = cli.lazy,
	    .console_socket = cli.console_socket,
	    .progress = print_progress,
	};
	int r = berth_container_migrate(&env->ctx, &o, err);
	cli_list_free(&cli.ssh_options);
	return r < 0 ? cli_fail(r, err) : CLI_EXIT_OK;
}

/* The channel moves off stdin/stdout, which become /dev/null: the restored container inherits
 * this process's standard streams in place of the ones it had on the source. */
int cmd_migrate_receive(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	struct cli_parsed parsed;
	int r = cli_parse(&cmd_migrate_receive_spec, argc, argv, NULL, &parsed, err);
	if (r < 0)
		return CLI_EXIT_USAGE;
	_cleanup_close_ int in = fcntl(0, F_DUPFD_CLOEXEC, 3), out = fcntl(1, F_DUPFD_CLOEXEC, 3);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (in < 0 || out < 0 || null < 0)
		return cli_fail(berth_error_setf_errno(err, -errno, "migrate-receive: standard streams"),
				err);
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	close(null);
	r = berth_migrate_receive(&env->ctx, env->storage, in, out, err);
	return r < 0 ? cli_fail(r, err) : CLI_EXIT_OK;
}
