/* The berth command line: global options, the command table, dispatch, and the one place that
 * prints errors. */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <spawn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/util.h"
#include "berth/version.h"
#include "cli/cli.h"

extern char **environ;

static const char *const log_formats[] = {"text", "json", NULL};             /* enum berth_log_format */
static const char *const rootless_modes[] = {"auto", "true", "false", NULL}; /* enum berth_rootless */

static const struct cli_option global_options[] = {
    {.name = "root",
     .type = CLI_STRING,
     .offset = offsetof(struct cli_global, root),
     .metavar = "DIR",
     .help =
	 "directory for container state (default: " CLI_DEFAULT_ROOT "; non-root: $XDG_RUNTIME_DIR/berth)"},
    {.name = "log",
     .type = CLI_STRING,
     .offset = offsetof(struct cli_global, log),
     .metavar = "FILE",
     .help = "append log records (and errors) to FILE instead of stderr"},
    {.name = "log-format",
     .type = CLI_CHOICE,
     .offset = offsetof(struct cli_global, log_format),
     .choices = log_formats,
     .help = "format of log records (default: text)"},
    {.name = "debug",
     .type = CLI_FLAG,
     .offset = offsetof(struct cli_global, debug),
     .help = "log debug records"},
    {.name = "systemd-cgroup",
     .type = CLI_FLAG,
     .offset = offsetof(struct cli_global, systemd_cgroup),
     .help = "place containers in systemd transient scope units (linux.cgroupsPath \"slice:prefix:name\")"},
    {.name = "criu",
     .type = CLI_STRING,
     .offset = offsetof(struct cli_global, criu),
     .metavar = "PATH",
     .help = "the criu binary for checkpoint and restore (default: " CLI_DEFAULT_CRIU ")"},
    {.name = "storage",
     .type = CLI_STRING,
     .offset = offsetof(struct cli_global, storage),
     .metavar = "DIR",
     .help = "image store for `image` and `run --image` (default: " CLI_DEFAULT_STORAGE
	     "; non-root: $XDG_DATA_HOME/berth or ~/.local/share/berth)"},
    {.name = "rootless",
     .type = CLI_CHOICE,
     .offset = offsetof(struct cli_global, rootless),
     .choices = rootless_modes,
     .help = "rootless cgroup handling: true uses a cgroup only where one is delegated to the "
	     "user (else none, with a warning), false requires one; auto is true for a non-root "
	     "caller and for root in a user namespace (default: auto)"},
    {.name = "version",
     .short_name = 'v',
     .type = CLI_FLAG,
     .offset = offsetof(struct cli_global, version),
     .help = "print the version and exit"},
};

const struct cli_spec cli_global_spec = {
    .synopsis = "[GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS...]",
    .summary = "berth: an OCI container runtime.",
    .description = "Global options go before the command. Every long option is also accepted with a\n"
		   "single dash (-root DIR, -log=FILE), as Go's flag package parses them.\n"
		   "Run by a non-root user, berth makes rootless containers: a user namespace maps the\n"
		   "user to root (more ids through newuidmap/newgidmap from /etc/subuid), devices are\n"
		   "bind mounts, cgroups are used only where delegated, berth networks need root.",
    .options = global_options,
    .n_options = ARRAY_SIZE(global_options),
    .arg_names = (const char *const[]){"COMMAND"},
    .max_args = 1,
    .stop_after = 1,
};

int cli_global_parse(int argc, char **argv, struct cli_global *out, struct berth_error *err)
{
	struct cli_global g = {
	    .criu = CLI_DEFAULT_CRIU,
	    .log_format = BERTH_LOG_TEXT,
	    .rootless = BERTH_ROOTLESS_AUTO,
	};
	struct cli_parsed parsed;
	int r;

	r = cli_parse(&cli_global_spec, argc, argv, &g, &parsed, err);
	if (r < 0)
		return r;
	g.help = parsed.help;
	if (parsed.n_args == 1) {
		g.command = parsed.args[0];
		/* The command's words start at its name, which is argv[rest - 1]. */
		g.cmd_argc = argc - parsed.rest + 1;
		g.cmd_argv = argv + parsed.rest - 1;
	}
	/* The buffers live as long as the process: the parsed struct points into them. */
	static char root_buf[4096], storage_buf[4096];
	bool root_given = g.root != NULL, storage_given = g.storage != NULL;
	if (!g.root)
		g.root = CLI_DEFAULT_ROOT;
	if (!g.storage)
		g.storage = CLI_DEFAULT_STORAGE;
	r = cli_default_dirs(&g, root_given, storage_given, root_buf, sizeof(root_buf), storage_buf,
			     sizeof(storage_buf));
	if (r < 0)
		return r;
	*out = g;
	return 0;
}

int cli_fail(int r, struct berth_error *err)
{
	if (err && err->code == 0)
		berth_error_set(err, r < 0 ? r : -EIO, "%s", strerror(r < 0 ? -r : EIO));
	return CLI_EXIT_FAILURE;
}

int cli_absolutize(const char **path, char **owned, struct berth_error *err)
{
	int r = cli_absolute_path(*path, owned, err);
	if (r == 0 && *owned)
		*path = *owned;
	return r;
}

int cli_absolute_path(const char *path, char **ret, struct berth_error *err)
{
	_cleanup_free_ char *cwd = NULL;
	char *abs;

	if (!path || path[0] == '/') {
		*ret = NULL;
		return 0;
	}
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return berth_error_setf_errno(err, -errno, "cannot resolve the current directory for \"%s\"",
					      path);
	if (asprintf(&abs, "%s/%s", cwd, path) < 0)
		return berth_error_set(err, -ENOMEM, "out of memory");
	*ret = abs;
	return 0;
}

int cli_parse_id(const struct cli_spec *spec, int argc, char **argv, struct id_cli *out,
		 struct berth_error *err)
{
	struct id_cli cli = {0};
	struct cli_parsed parsed;
	int r;

	r = cli_parse(spec, argc, argv, &cli, &parsed, err);
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

const char *cli_nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

void cli_create_normalize(struct berth_create_opts *opts)
{
	opts->bundle = cli_nonempty(opts->bundle);
	opts->pid_file = cli_nonempty(opts->pid_file);
	opts->console_socket = cli_nonempty(opts->console_socket);
}

int cli_check_id(const char *id, struct berth_error *err)
{
	return container_id_validate(id, err) < 0 ? -EINVAL : 0;
}

/* ---- the command table ---- */

static int cmd_help(const struct cli_env *env, int argc, char **argv, struct berth_error *err);

static const struct cli_spec help_spec = {
    .command = "help",
    .synopsis = "[COMMAND]",
    .summary = "Show the usage of berth, or of COMMAND.",
    .arg_names = (const char *const[]){"COMMAND"},
    .max_args = 1,
};

/* berth-ext's commands. Weak: `berth` links without their code and the libraries it needs
 * (libarchive, libcriu), so they are NULL there and the command line goes to berth-ext. */
#pragma weak cmd_checkpoint_spec
#pragma weak cmd_checkpoint
#pragma weak cmd_restore_spec
#pragma weak cmd_restore
#pragma weak cmd_image_spec
#pragma weak cmd_image
#pragma weak cmd_migrate_spec
#pragma weak cmd_migrate
#pragma weak cmd_migrate_receive_spec
#pragma weak cmd_migrate_receive
#pragma weak cmd_migrate_pages_spec
#pragma weak cmd_migrate_pages

/* Commands without a spec are listed but not implemented yet: adding one is a spec, a run
 * function, and filling in its row here. */
const struct cli_command cli_commands[] = {
    {"create", NULL, &cmd_create_spec, cmd_create, false},
    {"start", NULL, &cmd_start_spec, cmd_start, false},
    {"run", NULL, &cmd_run_spec, cmd_run, false},
    {"state", NULL, &cmd_state_spec, cmd_state, false},
    {"logs", NULL, &cmd_logs_spec, cmd_logs, false},
    {"kill", NULL, &cmd_kill_spec, cmd_kill, false},
    {"delete", NULL, &cmd_delete_spec, cmd_delete, false},
    {"list", NULL, &cmd_list_spec, cmd_list, false},
    {"exec", NULL, &cmd_exec_spec, cmd_exec, false},
    {"ps", NULL, &cmd_ps_spec, cmd_ps, false},
    {"pause", NULL, &cmd_pause_spec, cmd_pause, false},
    {"resume", NULL, &cmd_resume_spec, cmd_resume, false},
    {"update", NULL, &cmd_update_spec, cmd_update, false},
    {"events", NULL, &cmd_events_spec, cmd_events, false},
    {"checkpoint", "Checkpoint a running container with CRIU.", &cmd_checkpoint_spec, cmd_checkpoint, true},
    {"restore", "Restore a container from a checkpoint.", &cmd_restore_spec, cmd_restore, true},
    {"spec", NULL, &cmd_spec_spec, cmd_spec, false},
    {"features", NULL, &cmd_features_spec, cmd_features, false},
    {"network", NULL, &cmd_network_spec, cmd_network, false},
    {"image", "Manage the image store.", &cmd_image_spec, cmd_image, true},
    {"migrate", "Move a running container to another host over ssh.", &cmd_migrate_spec, cmd_migrate, true},
    {"migrate-receive", "(internal) the target's side of migrate.", &cmd_migrate_receive_spec,
     cmd_migrate_receive, true},
    {"migrate-pages", "(internal) the target's end of migrate --lazy's page channel.",
     &cmd_migrate_pages_spec, cmd_migrate_pages, true},
    {"help", NULL, &help_spec, cmd_help, false},
};
const size_t cli_n_commands = ARRAY_SIZE(cli_commands);

const struct cli_command *cli_command_find(const char *name)
{
	size_t i;

	for (i = 0; i < cli_n_commands; i++) {
		if (strcmp(cli_commands[i].name, name) == 0)
			return &cli_commands[i];
	}
	return NULL;
}

static const char *command_summary(const struct cli_command *cmd)
{
	return cmd->spec ? cmd->spec->summary : cmd->summary;
}

static void print_global_usage(FILE *out)
{
	size_t i;

	cli_usage(&cli_global_spec, out);
	fprintf(out, "\nCommands:\n");
	for (i = 0; i < cli_n_commands; i++)
		fprintf(out, "  %-16s%s%s\n", cli_commands[i].name, command_summary(&cli_commands[i]),
			cli_commands[i].run || cli_commands[i].ext ? "" : " (not implemented yet)");
	fprintf(out, "\nRun 'berth COMMAND --help' for the options of a command.\n");
}

/* One berth-ext helper call (`berth-ext __netlink|__systemd ...`): @args[0] is its path; @fd3,
 * when >= 0, becomes its fd 3. It answers one line on stdout, "ok[ VALUE]" or "err CODE MESSAGE";
 * VALUE goes to @value (when not NULL). */
int cli_ext_run(char *const *args, int fd3, const char *what, char *value, size_t value_size,
		struct berth_error *err)
{
	char reply[4096];
	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return berth_error_setf_errno(err, -errno, "%s: pipe", what);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	if (fd3 >= 0)
		posix_spawn_file_actions_adddup2(&fa, fd3, 3);
	pid_t pid;
	int r = -posix_spawn(&pid, args[0], &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	if (r < 0) {
		close(out[0]);
		return berth_error_setf_errno(err, r, "%s: run %s (berth-ext must be installed beside berth)",
					      what, args[0]);
	}
	ssize_t len = read_full(out[0], reply, sizeof(reply) - 1);
	close(out[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	reply[len > 0 ? len : 0] = '\0';
	reply[strcspn(reply, "\n")] = '\0';
	if (strncmp(reply, "ok", 2) == 0 && (reply[2] == '\0' || reply[2] == ' ') && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0) {
		if (value)
			snprintf(value, value_size, "%s", reply[2] == ' ' ? reply + 3 : "");
		return 0;
	}
	int code = 0, off = 0;
	if (sscanf(reply, "err %d %n", &code, &off) == 1 && code < 0 && off > 0)
		return berth_error_set(err, code, "%s", reply + off);
	return berth_error_set(err, -EIO, "%s: %s failed (status %d) without a reason", what, args[0],
			       status);
}

int cli_ext_path(char *path, size_t size, struct berth_error *err)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return berth_error_setf_errno(err, -errno, "find berth-ext: readlink /proc/self/exe");
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	if (snprintf(path, size, "%s/berth-ext", slash ? self : ".") >= (int)size)
		return berth_error_set(err, -ENAMETOOLONG, "find berth-ext: path too long");
	return 0;
}

int cli_exec_ext(const struct cli_env *env, struct berth_error *err)
{
	char path[PATH_MAX];
	if (cli_ext_path(path, sizeof(path), err) < 0)
		return cli_fail(-EINVAL, err);
	fflush(NULL);
	/* The same words: berth-ext parses them exactly as berth would have. */
	execv(path, env->argv);
	return cli_fail(
	    berth_error_setf_errno(err, -errno,
				   "this command is in berth-ext, which must be installed beside berth "
				   "(%s)",
				   path),
	    err);
}

static int not_implemented(const char *name, struct berth_error *err)
{
	berth_error_set(err, -ENOSYS, "command \"%s\" is not implemented yet", name);
	return CLI_EXIT_FAILURE;
}

static int cmd_help(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	const struct cli_command *cmd;
	struct cli_parsed parsed;

	if (cli_parse(&help_spec, argc, argv, NULL, &parsed, err) < 0)
		return CLI_EXIT_USAGE;
	if (parsed.help || parsed.n_args == 0) {
		print_global_usage(env->out);
		return CLI_EXIT_OK;
	}
	cmd = cli_command_find(parsed.args[0]);
	if (!cmd) {
		berth_error_set(err, -EINVAL, "unknown command \"%s\"", parsed.args[0]);
		return CLI_EXIT_USAGE;
	}
	if (!cmd->spec && cmd->ext)
		return cli_exec_ext(env, err);
	if (!cmd->spec)
		return not_implemented(cmd->name, err);
	cli_usage(cmd->spec, env->out);
	return CLI_EXIT_OK;
}

/* ---- running a command line ---- */

static void print_version(FILE *out)
{
	fprintf(out, "berth version %s\nspec: %s\n", BERTH_VERSION, BERTH_OCI_VERSION);
}

/* The log goes to --log when given, else to stderr. Errors are printed by report() too, so
 * they reach a caller that only reads the log (containerd) and a human at a terminal. */
static int open_log(const struct cli_global *g, struct berth_error *err)
{
	int r = berth_log_open(g->log, g->log_format, g->debug ? BERTH_LOG_DEBUG : BERTH_LOG_WARN);

	if (r < 0)
		return berth_error_setf_errno(err, r, "cannot open log file \"%s\"",
					      g->log ? g->log : "(stderr)");
	return 0;
}

static void log_command_line(int argc, char **argv)
{
	char line[1024];
	size_t n = 0;
	int i;

	if (!berth_log_enabled(BERTH_LOG_DEBUG))
		return;
	line[0] = '\0';
	for (i = 0; i < argc && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", i ? " " : "", argv[i]);
	log_debug("command line: %s", line);
}

/* Print @err as "berth: <msg>" (and to the log file when there is one), with a pointer to the
 * usage text for usage errors. Returns @status. */
static int report(const struct berth_error *err, int status, const char *command, bool to_log)
{
	const char *msg = err->msg[0] ? err->msg : strerror(err->code < 0 ? -err->code : EIO);

	fprintf(stderr, "berth: %s\n", msg);
	if (to_log)
		log_error("%s", msg);
	if (status == CLI_EXIT_USAGE)
		fprintf(stderr, "Run 'berth%s%s --help' for usage.\n", command ? " " : "",
			command ? command : "");
	return status;
}

static int dispatch(const struct cli_global *g, const struct cli_command *cmd, struct berth_error *err)
{
	const struct cli_env env = {
	    .ctx =
		{
		    .root = g->root,
		    .criu_path = g->criu,
		    .systemd_cgroup = g->systemd_cgroup,
		    .rootless = g->rootless,
		    .cgroup_root = NULL,
		},
	    .out = stdout,
	    .storage = g->storage,
	    .argc = g->argc,
	    .argv = g->argv,
	};

	if (!cmd->run && cmd->ext)
		return cli_exec_ext(&env, err);
	if (!cmd->run)
		return not_implemented(cmd->name, err);
	return cmd->run(&env, g->cmd_argc, g->cmd_argv, err);
}

/* stdout is buffered: a full disk or a closed pipe only shows when it is flushed. */
static int flush_output(int status, bool to_log)
{
	struct berth_error err = {0};

	int r = fflush(stdout) == 0 ? 0 : -errno;

	if (r == 0 && !ferror(stdout))
		return status;
	berth_error_setf_errno(&err, r < 0 ? r : -EIO, "writing output");
	return report(&err, status ? status : CLI_EXIT_FAILURE, NULL, to_log);
}

static int run_command(const struct cli_global *g, struct berth_error *err)
{
	const struct cli_command *cmd = cli_command_find(g->command);
	bool to_log = g->log != NULL;
	int status;

	if (!cmd) {
		berth_error_set(err, -EINVAL, "unknown command \"%s\"", g->command);
		return report(err, CLI_EXIT_USAGE, NULL, to_log);
	}
	status = dispatch(g, cmd, err);
	/* `help bogus` points at the global usage, not at help's own. */
	if (status != CLI_EXIT_OK && err->code != 0)
		report(err, status, cmd->spec == &help_spec ? NULL : cmd->name, to_log);
	return flush_output(status, to_log);
}

int cli_main(int argc, char **argv)
{
	struct berth_error err = {0};
	struct cli_global g;
	int status;

	if (cli_global_parse(argc, argv, &g, &err) < 0)
		return report(&err, CLI_EXIT_USAGE, NULL, false);
	g.argc = argc;
	g.argv = argv;
	if (g.help || g.version) {
		if (g.help)
			print_global_usage(stdout);
		else
			print_version(stdout);
		return flush_output(CLI_EXIT_OK, false);
	}
	if (!g.command) {
		berth_error_set(&err, -EINVAL, "no command given");
		return report(&err, CLI_EXIT_USAGE, NULL, false);
	}
	if (open_log(&g, &err) < 0)
		return report(&err, CLI_EXIT_FAILURE, NULL, false);
	if (cli_prepare_xdg_root(&g, &err) < 0)
		return report(&err, CLI_EXIT_FAILURE, NULL, g.log != NULL);
	log_command_line(argc, argv);
	status = run_command(&g, &err);
	berth_log_close();
	return status;
}
