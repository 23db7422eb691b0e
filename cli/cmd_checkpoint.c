/* berth checkpoint [OPTIONS] ID: dump a running container with CRIU (runc's flags), optionally
 * into one migration archive (--export FILE). */
#include <errno.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "cli/cli.h"

#define CK(field) offsetof(struct checkpoint_cli, opts.field)

static const struct cli_option checkpoint_options[] = {
    {.name = "image-path",
     .type = CLI_STRING,
     .offset = CK(image_path),
     .metavar = "DIR",
     .help = "where CRIU writes the images (default: ./checkpoint)"},
    {.name = "work-path",
     .type = CLI_STRING,
     .offset = CK(work_path),
     .metavar = "DIR",
     .help = "where CRIU writes its log (default: the image path; with --export, /tmp/berth-criu-ID, kept "
	     "only on failure)"},
    {.name = "parent-path",
     .type = CLI_STRING,
     .offset = CK(parent_path),
     .metavar = "DIR",
     .help = "a previous pre-dump, relative to the image path"},
    {.name = "leave-running",
     .type = CLI_FLAG,
     .offset = CK(leave_running),
     .help = "keep the container running after the checkpoint"},
    {.name = "tcp-established",
     .type = CLI_FLAG,
     .offset = CK(tcp_established),
     .help = "checkpoint established TCP connections"},
    {.name = "ext-unix-sk",
     .type = CLI_FLAG,
     .offset = CK(ext_unix_sk),
     .help = "allow external unix sockets"},
    {.name = "shell-job",
     .type = CLI_FLAG,
     .offset = CK(shell_job),
     .help = "allow a shell job (a terminal from outside)"},
    {.name = "file-locks", .type = CLI_FLAG, .offset = CK(file_locks), .help = "checkpoint file locks"},
    {.name = "pre-dump",
     .type = CLI_FLAG,
     .offset = CK(pre_dump),
     .help = "dump the memory only, leaving the container running (for a later --parent-path)"},
    {.name = "manage-cgroups-mode",
     .type = CLI_STRING,
     .offset = CK(manage_cgroups_mode),
     .metavar = "soft|full|strict|ignore",
     .help = "how CRIU handles cgroups"},
    {.name = "empty-ns",
     .type = CLI_STRING,
     .offset = CK(empty_ns),
     .metavar = "network",
     .help = "do not dump this namespace: restore gives an empty one back"},
    {.name = "status-fd",
     .type = CLI_INT,
     .offset = CK(status_fd),
     .metavar = "FD",
     .min = -1,
     .max = 1048576,
     .help = "write a NUL byte to FD once the dump is done"},
    {.name = "export",
     .type = CLI_STRING,
     .offset = CK(export_path),
     .metavar = "FILE",
     .help = "write one migration archive (tar; .gz or .zst compressed by name); for a run --image "
	     "container it carries the overlay upper dir (the filesystem changes)"},
    {.name = "export-rootfs",
     .type = CLI_FLAG,
     .offset = CK(export_rootfs),
     .help = "with --export: put the whole rootfs into the archive (needed for a plain bundle)"},
};

const struct cli_spec cmd_checkpoint_spec = {
    .command = "checkpoint",
    .synopsis = "[OPTIONS] ID",
    .summary = "Checkpoint a running container with CRIU.",
    .description = "Unless --leave-running or --pre-dump is given, the container is gone afterwards.\n"
		   "When CRIU fails, the error carries its last error lines and the log's path.",
    .options = checkpoint_options,
    .n_options = ARRAY_SIZE(checkpoint_options),
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
};

int cmd_checkpoint_parse(int argc, char **argv, struct checkpoint_cli *out, struct berth_error *err)
{
	struct checkpoint_cli cli = {.opts.status_fd = -1};
	struct cli_parsed parsed;
	int r;

	r = cli_parse(&cmd_checkpoint_spec, argc, argv, &cli, &parsed, err);
	if (r < 0)
		return r;
	cli.help = parsed.help;
	if (!cli.help) {
		cli.opts.id = parsed.args[0];
		r = cli_check_id(cli.opts.id, err);
		if (r < 0)
			return r;
		cli.opts.image_path = cli_nonempty(cli.opts.image_path);
		cli.opts.work_path = cli_nonempty(cli.opts.work_path);
		cli.opts.parent_path = cli_nonempty(cli.opts.parent_path);
		cli.opts.export_path = cli_nonempty(cli.opts.export_path);
		cli.opts.manage_cgroups_mode = cli_nonempty(cli.opts.manage_cgroups_mode);
		cli.opts.empty_ns = cli_nonempty(cli.opts.empty_ns);
	}
	*out = cli;
	return 0;
}

int cmd_checkpoint(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	_cleanup_free_ char *export_path = NULL;
	struct checkpoint_cli cli;
	int r;

	if (cmd_checkpoint_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_checkpoint_spec, env->out);
		return CLI_EXIT_OK;
	}
	r = cli_absolutize(&cli.opts.export_path, &export_path, err);
	if (r < 0)
		return cli_fail(r, err);
	r = berth_container_checkpoint(&env->ctx, &cli.opts, err);
	if (r < 0)
		return cli_fail(r, err);
	return CLI_EXIT_OK;
}
