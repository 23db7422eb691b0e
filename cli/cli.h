/* The berth command line: global options, the command table, and each command's split into
 * "parse argv into a struct" (pure, unit-tested) and "execute" (drives the runtime API).
 * Only cli/ prints; commands fill a struct berth_error and return an exit status. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "berth/runtime.h"
#include "cli/args.h"

struct berth_error;

/* Exit statuses (runc's): a runtime failure, and a usage error the caller should fix. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

#define CLI_DEFAULT_ROOT "/run/berth"
#define CLI_DEFAULT_CRIU "criu"
#define CLI_DEFAULT_STORAGE "/var/lib/berth"

/* ---- global options (before the command) ---- */

struct cli_global {
	const char *root;
	const char *log;
	int log_format; /* enum berth_log_format */
	bool debug;
	bool systemd_cgroup;
	const char *criu;
	const char *storage; /* --storage: the image store (default /var/lib/berth) */
	int rootless;        /* enum berth_rootless */
	bool root_from_xdg;  /* root is $XDG_RUNTIME_DIR/berth (cli/defaults.c) */
	bool version;
	bool help;
	const char *command; /* NULL when none was given */
	int cmd_argc;        /* the command's words, cmd_argv[0] being its name */
	char **cmd_argv;
	int argc; /* the whole command line (set by cli_main) */
	char **argv;
};

extern const struct cli_spec cli_global_spec;

/* Parse the global options of a full command line (argv[0] is the program) up to the command.
 * Defaults: root /run/berth, criu "criu", text logs, rootless auto. -EINVAL: usage error. */
int cli_global_parse(int argc, char **argv, struct cli_global *out, struct berth_error *err);

/* cli/defaults.c: a non-root caller's defaults for what was not given: the state root
 * $XDG_RUNTIME_DIR/berth (runc's rule) and the image store $XDG_DATA_HOME/berth or
 * ~/.local/share/berth, written into the buffers. */
int cli_default_dirs(struct cli_global *g, bool root_given, bool storage_given, char *root_buf,
		     size_t root_size, char *storage_buf, size_t storage_size);
/* Make $XDG_RUNTIME_DIR/berth (0700, sticky) when it is the state root; runc's error words. */
int cli_prepare_xdg_root(const struct cli_global *g, struct berth_error *err);

/* Run a whole command line; returns the process exit status. */
int cli_main(int argc, char **argv);

/* ---- commands ---- */

/* What every command runs with. */
struct cli_env {
	struct berth_context ctx;
	int argc; /* the whole command line, for handing a command over to berth-ext */
	char **argv;
	FILE *out;           /* stdout; usage text and command output */
	const char *storage; /* the image store (--storage) */
};

struct cli_command {
	const char *name;
	const char *summary;         /* for `berth --help` */
	const struct cli_spec *spec; /* NULL: not implemented yet */
	/* Returns an exit status; when it fails it has filled @err, which cli_main prints. */
	int (*run)(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
	/* Lives in berth-ext (the commands that need libarchive and libcriu): in `berth` its spec and
	 * run are weak references left NULL, and the command line is handed to berth-ext. */
	bool ext;
};

/* Exec berth-ext (beside /proc/self/exe) with the same command line; returns only on failure. */
int cli_exec_ext(const struct cli_env *env, struct berth_error *err);
/* The path of berth-ext: beside the running binary. */
int cli_ext_path(char *path, size_t size, struct berth_error *err);
int cli_ext_run(char *const *args, int fd3, const char *what, char *value, size_t value_size,
		struct berth_error *err);
/* berth-ext's internal `__netlink OP ...` (cli/netlink_helper.c): runs one netlink operation for
 * a statically linked berth (cli/netlink_proxy.c). Absent (NULL) in berth itself. */
int netlink_helper_main(int argc, char **argv) __attribute__((weak));
/* berth-ext's internal `__systemd OP ...` (cli/systemd_helper.c): one systemd unit call over
 * D-Bus for a statically linked berth (cli/systemd_proxy.c). Absent (NULL) in berth itself. */
int systemd_helper_main(int argc, char **argv) __attribute__((weak));

/* The table `berth COMMAND` dispatches on, in the order `berth --help` lists it. */
extern const struct cli_command cli_commands[];
extern const size_t cli_n_commands;
const struct cli_command *cli_command_find(const char *name);

struct id_cli;

/* Helpers shared by the commands (cli.c). */
/* Map a runtime failure @r to exit status 1, making sure @err says something. */
int cli_fail(int r, struct berth_error *err);
/* Validate a container id argument as a usage error (exit 2). */
int cli_check_id(const char *id, struct berth_error *err);
/* Parse a command whose only argument is a container id (start, state). */
int cli_parse_id(const struct cli_spec *spec, int argc, char **argv, struct id_cli *out,
		 struct berth_error *err);
/* As runc, an empty path option means "not given": @s, or NULL when it is NULL or "". */
const char *cli_nonempty(const char *s);
/* As runc, an empty --bundle, --pid-file or --console-socket means "not given". */
void cli_create_normalize(struct berth_create_opts *opts);
/* *ret = @path made absolute against the current directory (malloc'd), or NULL when @path is
 * NULL or already absolute. */
int cli_absolute_path(const char *path, char **ret, struct berth_error *err);
/* Make the option *path absolute in place: *owned (free it) holds the new string, if any. */
int cli_absolutize(const char **path, char **owned, struct berth_error *err);

/* create, and run which takes the same options. */
struct create_cli {
	bool help;
	struct berth_create_opts opts;
};
struct run_cli {
	bool help;
	struct berth_run_opts opts;
	/* `run --image NAME [OPTIONS] [COMMAND...]` */
	const char *image;
	const char *name; /* --name: the container id (default: berth-<random>) */
	bool rm, tty;
	bool no_subreaper;            /* accepted for runc compatibility */
	struct cli_list env, volumes; /* -e NAME=VALUE, -v SRC:DST[:ro] */
	const char *workdir, *user, *net, *ip, *memory, *pids_limit, *cpus, *cgroups_path;
	char **args; /* the command (NULL-terminated, malloc'd array pointing into argv), or NULL */
	struct cli_list security_opts; /* --security-opt seccomp=unconfined|FILE */
	char *seccomp_file;            /* FILE's contents (malloc'd), when given */
};
void run_cli_free(struct run_cli *cli);

/* commands that take only an id: start, state */
struct id_cli {
	bool help;
	const char *id;
};

struct logs_cli {
	bool help;
	bool follow;
	bool raw; /* --raw: no term_filter even to a terminal */
	const char *id;
};

struct kill_cli {
	bool help;
	bool all;
	const char *id;
	int signal; /* default SIGTERM */
};

struct delete_cli {
	bool help;
	bool force;
	const char *id;
};

enum list_format { LIST_FORMAT_TABLE = 0, LIST_FORMAT_JSON };
struct list_cli {
	bool help;
	int format; /* enum list_format */
	bool quiet;
};

struct spec_cli {
	bool help;
	const char *bundle; /* default "." */
	bool rootless;
};

struct exec_cli {
	bool help;
	struct berth_exec_opts opts;
	struct cli_list env, gids, caps, cgroups; /* raw repeatable options */
	uint32_t *gid_values;                     /* owned arrays the opts point into */
	char **env_v, **caps_v, **cgroups_v;
};
void exec_cli_free(struct exec_cli *cli);

enum ps_format { PS_FORMAT_TABLE = 0, PS_FORMAT_JSON };
struct ps_cli {
	bool help;
	int format; /* enum ps_format */
	const char *id;
	char **ps_args; /* arguments for ps(1) in table format (NULL-terminated), or NULL: -ef */
};

struct update_cli {
	bool help;
	const char *id;
	const char *resources; /* --resources FILE|- */
	const char *memory, *memory_reservation, *memory_swap, *pids_limit, *cpu_quota, *cpu_period,
	    *cpu_shares, *cpu_rt_period, *cpu_rt_runtime, *cpuset_cpus, *cpuset_mems, *blkio_weight;
	struct oci_resources flags_res; /* built from the flags; strings point into argv */
};

struct events_cli {
	bool help;
	bool stats;
	const char *interval;
	uint64_t interval_ms;
	const char *id;
};

/* "64m" -> 67108864; -1 allowed (unlimited). */
int cli_parse_bytes(const char *s, int64_t *ret);
/* "500ms", "5s", "1m", "2h" -> milliseconds (> 0). */
int cli_parse_duration_ms(const char *s, uint64_t *ret);

struct features_cli {
	bool help;
};

/* berth network create|ls|inspect|rm */
enum network_action { NETWORK_CREATE = 0, NETWORK_LS, NETWORK_INSPECT, NETWORK_RM };
enum network_format { NETWORK_FORMAT_TABLE = 0, NETWORK_FORMAT_JSON };
struct network_cli {
	bool help;
	const struct cli_spec *spec; /* the subcommand's (or `network`'s, for its --help) */
	int action;                  /* enum network_action */
	const char *name;
	const char *subnet, *gateway, *bridge; /* create */
	int mtu;                               /* create; 0: the kernel's default */
	int format;                            /* ls: enum network_format */
	bool quiet;                            /* ls */
};

/* berth image import|ls|inspect|tag|rm|export|unpack */
enum image_action {
	IMAGE_IMPORT = 0,
	IMAGE_LS,
	IMAGE_INSPECT,
	IMAGE_TAG,
	IMAGE_RM,
	IMAGE_EXPORT,
	IMAGE_UNPACK
};
enum image_format { IMAGE_FORMAT_TABLE = 0, IMAGE_FORMAT_JSON };
struct image_cli {
	bool help;
	const struct cli_spec *spec; /* the subcommand's (or `image`'s, for its --help) */
	int action;                  /* enum image_action */
	char *args[CLI_MAX_ARGS];    /* the subcommand's positionals */
	size_t n_args;
	const char *name;         /* import --name */
	bool no_progress;         /* import --quiet */
	int format;               /* ls: enum image_format */
	bool quiet;               /* ls -q */
	const char *user;         /* unpack --user */
	const char *cgroups_path; /* unpack --cgroups-path */
};

/* Each parse fills @out (zeroed first, then defaults) from argv[0..argc-1] where argv[0] is the
 * command name; 0, or -EINVAL with a usage message in @err. With --help only out->help is
 * meaningful. */
int cmd_create_parse(int argc, char **argv, struct create_cli *out, struct berth_error *err);
int cmd_run_parse(int argc, char **argv, struct run_cli *out, struct berth_error *err);
int cmd_start_parse(int argc, char **argv, struct id_cli *out, struct berth_error *err);
int cmd_state_parse(int argc, char **argv, struct id_cli *out, struct berth_error *err);
int cmd_logs_parse(int argc, char **argv, struct logs_cli *out, struct berth_error *err);
int cmd_kill_parse(int argc, char **argv, struct kill_cli *out, struct berth_error *err);
int cmd_delete_parse(int argc, char **argv, struct delete_cli *out, struct berth_error *err);
int cmd_list_parse(int argc, char **argv, struct list_cli *out, struct berth_error *err);
int cmd_spec_parse(int argc, char **argv, struct spec_cli *out, struct berth_error *err);
int cmd_features_parse(int argc, char **argv, struct features_cli *out, struct berth_error *err);
int cmd_update_parse(int argc, char **argv, struct update_cli *out, struct berth_error *err);
int cmd_events_parse(int argc, char **argv, struct events_cli *out, struct berth_error *err);
int cmd_exec_parse(int argc, char **argv, struct exec_cli *out, struct berth_error *err);
int cmd_ps_parse(int argc, char **argv, struct ps_cli *out, struct berth_error *err);
int cmd_pause_parse(int argc, char **argv, struct id_cli *out, struct berth_error *err);
int cmd_resume_parse(int argc, char **argv, struct id_cli *out, struct berth_error *err);
int cmd_network_parse(int argc, char **argv, struct network_cli *out, struct berth_error *err);
int cmd_image_parse(int argc, char **argv, struct image_cli *out, struct berth_error *err);

extern const struct cli_spec cmd_create_spec, cmd_run_spec, cmd_start_spec, cmd_state_spec, cmd_kill_spec,
    cmd_delete_spec, cmd_list_spec, cmd_spec_spec, cmd_features_spec, cmd_exec_spec, cmd_ps_spec,
    cmd_pause_spec, cmd_resume_spec, cmd_update_spec, cmd_events_spec, cmd_network_spec, cmd_logs_spec;
extern const struct cli_spec cmd_image_spec, cmd_run_image_spec;
struct image_store;
/* Open the image store of --storage (made absolute), creating it when @create. */
int cli_open_store(const struct cli_env *env, bool create, struct image_store **ret, struct berth_error *err);
/* run --image's seccomp profile from --security-opt into @ro (run_image_seccomp.c): berth's default
 * (image_seccomp_default), none with seccomp=unconfined, or FILE, checked as a linux.seccomp object
 * (errors name the option). */
struct oci_image_run_opts;
int run_image_seccomp(struct run_cli *cli, struct oci_image_run_opts *ro, struct berth_error *err);

int cmd_create(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_run(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_start(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_state(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_logs(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_kill(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_delete(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_list(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_spec(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_features(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_update(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_events(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_exec(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_ps(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_pause(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_resume(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_network(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_image(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
/* run --image, once parsed (cmd_run_image.c, in berth-ext). */
int cmd_run_image(const struct cli_env *env, struct run_cli *cli, int *ret_status, struct berth_error *err);

/* The kernel's default descriptor ceiling (fs.nr_open); more cannot be open anyway. */
#define CLI_PRESERVE_FDS_MAX 1048576

/* The options create and run share, for a struct @T whose struct berth_create_opts is the
 * member @M, so `run` lists them with its own offsets. */
/* clang-format off */
#define CLI_CREATE_OPTIONS(T, M)                                                                   \
	{.name = "bundle", .short_name = 'b', .type = CLI_STRING, .offset = offsetof(T, M.bundle), \
	 .metavar = "DIR", .help = "path to the bundle directory (default: the current directory)"}, \
	{.name = "pid-file", .type = CLI_STRING, .offset = offsetof(T, M.pid_file),                \
	 .metavar = "FILE", .help = "write the container's init pid to FILE"},                     \
	{.name = "console-socket", .type = CLI_STRING, .offset = offsetof(T, M.console_socket),    \
	 .metavar = "PATH", .help = "AF_UNIX socket that receives the terminal's master fd"},      \
	{.name = "no-pivot", .type = CLI_FLAG, .offset = offsetof(T, M.no_pivot),                  \
	 .help = "use MS_MOVE and chroot instead of pivot_root (for a ramdisk root)"},             \
	{.name = "no-new-keyring", .type = CLI_FLAG, .offset = offsetof(T, M.no_new_keyring),      \
	 .help = "keep the caller's session keyring instead of creating a new one"},               \
	{.name = "preserve-fds", .type = CLI_INT, .offset = offsetof(T, M.preserve_fds),           \
	 .metavar = "N", .help = "pass N more descriptors (3 .. 3+N-1) to the container",         \
	 .min = 0, .max = CLI_PRESERVE_FDS_MAX}
/* clang-format on */

/* ---- checkpoint / restore (cmd_checkpoint.c, cmd_restore.c) ---- */

struct checkpoint_cli {
	bool help;
	struct berth_checkpoint_opts opts;
};

struct restore_cli {
	bool help;
	const char *name; /* --name */
	struct berth_restore_opts opts;
};

int cmd_checkpoint_parse(int argc, char **argv, struct checkpoint_cli *out, struct berth_error *err);
int cmd_restore_parse(int argc, char **argv, struct restore_cli *out, struct berth_error *err);
extern const struct cli_spec cmd_checkpoint_spec, cmd_restore_spec;
int cmd_checkpoint(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_restore(const struct cli_env *env, int argc, char **argv, struct berth_error *err);

/* ---- migrate (cmd_migrate.c) ---- */

struct migrate_cli {
	bool help;
	bool lazy;
	int max_rounds;
	const char *remote_berth;
	const char *console_socket;
	struct cli_list ssh_options;
	const char *id, *destination;
};

int cmd_migrate_parse(int argc, char **argv, struct migrate_cli *out, struct berth_error *err);
extern const struct cli_spec cmd_migrate_spec, cmd_migrate_receive_spec;
int cmd_migrate(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
int cmd_migrate_receive(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
extern const struct cli_spec cmd_migrate_pages_spec;
int cmd_migrate_pages(const struct cli_env *env, int argc, char **argv, struct berth_error *err);
