/* berth restore [OPTIONS] ID: restore a container from CRIU images (--image-path) or from one
 * migration archive (--import FILE, under the id ID or --name). */
#include <errno.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "cli/cli.h"

#define RS(field) offsetof(struct restore_cli, opts.field)

static const struct cli_option restore_options[] = {
    {.name = "image-path",
     .type = CLI_STRING,
     .offset = RS(image_path),
     .metavar = "DIR",
     .help = "the CRIU images (default: ./checkpoint)"},
    {.name = "work-path",
     .type = CLI_STRING,
     .offset = RS(work_path),
     .metavar = "DIR",
     .help = "where CRIU writes its log (default: the image path; with --import, /tmp/berth-criu-ID, kept "
	     "only on failure)"},
    {.name = "bundle",
     .short_name = 'b',
     .type = CLI_STRING,
     .offset = RS(bundle),
     .metavar = "DIR",
     .help = "the bundle (default: the current directory; with --import of a --export-rootfs "
	     "archive, where it is unpacked)"},
    {.name = "import",
     .type = CLI_STRING,
     .offset = RS(import_path),
     .metavar = "FILE",
     .help = "restore from a migration archive made by checkpoint --export"},
    {.name = "name",
     .type = CLI_STRING,
     .offset = offsetof(struct restore_cli, name),
     .metavar = "ID",
     .help = "the id of the restored container (instead of the ID argument)"},
    {.name = "detach",
     .short_name = 'd',
     .type = CLI_FLAG,
     .offset = RS(detach),
     .help = "return once restored instead of waiting for the container"},
    {.name = "pid-file",
     .type = CLI_STRING,
     .offset = RS(pid_file),
     .metavar = "FILE",
     .help = "write the restored init's pid to FILE"},
    {.name = "console-socket",
     .type = CLI_STRING,
     .offset = RS(console_socket),
     .metavar = "PATH",
     .help = "send the restored terminal's pty master to this socket (process.terminal)"},
    {.name = "no-subreaper",
     .type = CLI_FLAG,
     .offset = RS(no_subreaper),
     .help = "accepted and ignored (containerd sends it; berth makes no subreaper)"},
    {.name = "no-pivot",
     .type = CLI_FLAG,
     .offset = RS(no_pivot),
     .help = "accepted and ignored (runc compatibility)"},
    {.name = "tcp-established",
     .type = CLI_FLAG,
     .offset = RS(tcp_established),
     .help = "restore established TCP connections"},
    {.name = "ext-unix-sk",
     .type = CLI_FLAG,
     .offset = RS(ext_unix_sk),
     .help = "allow external unix sockets"},
    {.name = "shell-job", .type = CLI_FLAG, .offset = RS(shell_job), .help = "allow a shell job"},
    {.name = "file-locks", .type = CLI_FLAG, .offset = RS(file_locks), .help = "restore file locks"},
    {.name = "manage-cgroups-mode",
     .type = CLI_STRING,
     .offset = RS(manage_cgroups_mode),
     .metavar = "soft|full|strict|ignore",
     .help = "how CRIU handles cgroups"},
};

const struct cli_spec cmd_restore_spec = {
    .command = "restore",
    .synopsis = "[OPTIONS] [ID]",
    .summary = "Restore a container from a checkpoint.",
    .description = "Without --detach berth waits for the restored container and exits with its status.",
    .options = restore_options,
    .n_options = ARRAY_SIZE(restore_options),
    .arg_names = (const char *const[]){"ID"},
    .min_args = 0,
    .max_args = 1,
};

int cmd_restore_parse(int argc, char **argv, struct restore_cli *out, struct berth_error *err)
{
	struct restore_cli cli = {0};
	struct cli_parsed parsed;
	int r;

	r = cli_parse(&cmd_restore_spec, argc, argv, &cli, &parsed, err);
	if (r < 0)
		return r;
	cli.help = parsed.help;
	if (!cli.help) {
		cli.opts.id = cli_nonempty(cli.name) ? cli.name : parsed.n_args ? parsed.args[0] : NULL;
		if (!cli.opts.id)
			return berth_error_set(err, -EINVAL, "restore: an ID (or --name) is required");
		r = cli_check_id(cli.opts.id, err);
		if (r < 0)
			return r;
		cli.opts.image_path = cli_nonempty(cli.opts.image_path);
		cli.opts.work_path = cli_nonempty(cli.opts.work_path);
		cli.opts.bundle = cli_nonempty(cli.opts.bundle);
		cli.opts.import_path = cli_nonempty(cli.opts.import_path);
		cli.opts.pid_file = cli_nonempty(cli.opts.pid_file);
		cli.opts.console_socket = cli_nonempty(cli.opts.console_socket);
		cli.opts.manage_cgroups_mode = cli_nonempty(cli.opts.manage_cgroups_mode);
		if (cli.opts.import_path && cli.opts.image_path)
			return berth_error_set(err, -EINVAL,
					       "restore: --import and --image-path exclude each other");
	}
	*out = cli;
	return 0;
}

int cmd_restore(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	_cleanup_free_ char *pid_file = NULL, *bundle = NULL, *import = NULL, *storage = NULL;
	struct restore_cli cli;
	int r, status = 0;

	if (cmd_restore_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_restore_spec, env->out);
		return CLI_EXIT_OK;
	}
	/* An archive of a `run --image` container goes into the image store. */
	cli.opts.storage = env->storage;
	if ((r = cli_absolutize(&cli.opts.pid_file, &pid_file, err)) < 0 ||
	    (r = cli_absolutize(&cli.opts.bundle, &bundle, err)) < 0 ||
	    (r = cli_absolutize(&cli.opts.import_path, &import, err)) < 0 ||
	    (r = cli_absolutize(&cli.opts.storage, &storage, err)) < 0)
		return cli_fail(r, err);
	fflush(env->out);
	r = berth_container_restore(&env->ctx, &cli.opts, &status, err);
	if (r < 0)
		return cli_fail(r, err);
	return cli.opts.detach ? CLI_EXIT_OK : status;
}
