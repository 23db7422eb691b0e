/* runtime: the container lifecycle. The public API the CLI drives.
 * Every entry point takes the context, plain options, and a struct berth_error filled with a
 * sentence naming the failed step; it returns 0 or -errno. Nothing here prints. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "berth/oci.h"

struct berth_error;

enum berth_rootless { BERTH_ROOTLESS_AUTO = 0, BERTH_ROOTLESS_TRUE, BERTH_ROOTLESS_FALSE };

struct berth_context {
	const char *root; /* state root; default /run/berth */
	const char *criu_path;
	bool systemd_cgroup;
	enum berth_rootless rootless;
	const char *cgroup_root; /* cgroupfs root; default /sys/fs/cgroup (tests may override) */
};

struct berth_create_opts {
	const char *id;
	const char *bundle; /* default: current directory */
	const char *pid_file;
	const char *console_socket;
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds; /* extra fds after stdio passed to the container: 3 .. 3+n-1 */
	/* run -d: without a terminal, the init's stdin is /dev/null and its stdout and stderr go to
	 * the container's log in its state dir (berth_container_logs), not to the caller's stdio */
	bool log_stdio;
};

/* create: set up the container and leave its init blocked until start. */
int berth_container_create(const struct berth_context *ctx, const struct berth_create_opts *opts,
			   struct berth_error *err);

/* start: let a created container's init exec the user process; runs poststart hooks. */
int berth_container_start(const struct berth_context *ctx, const char *id, struct berth_error *err);

struct berth_run_opts {
	struct berth_create_opts create;
	bool detach; /* -d: return after start */
	bool keep;   /* --keep: do not delete after the container exits */
};

/* run: create + start; in the foreground it forwards signals, waits, and sets *ret_status to the
 * container's exit code (128+N when killed by signal N); then deletes unless --keep. */
int berth_container_run(const struct berth_context *ctx, const struct berth_run_opts *opts, int *ret_status,
			struct berth_error *err);

/* logs: copy the log of a detached container (`run -d`) to @out_fd; with @follow, keep copying
 * what it writes until it stops; with @term_safe (@out_fd is a terminal), through term_filter
 * (berth/termsafe.h): the container's escape sequences print as text, colours pass. -ENOENT
 * when there is no such container or it has no log. */
int berth_container_logs(const struct berth_context *ctx, const char *id, bool follow, bool term_safe,
			 int out_fd, struct berth_error *err);

/* state: the spec's state JSON (malloc'd). */
int berth_container_state(const struct berth_context *ctx, const char *id, char **ret_json,
			  struct berth_error *err);

/* kill: send @sig to the init, or to every process of the container with @all. */
int berth_container_kill(const struct berth_context *ctx, const char *id, int sig, bool all,
			 struct berth_error *err);

/* delete: remove a stopped (or created) container; --force kills a running one first.
 * Runs poststop hooks. */
int berth_container_delete(const struct berth_context *ctx, const char *id, bool force,
			   struct berth_error *err);

struct berth_container_info {
	char *id;
	pid_t pid; /* 0 when stopped */
	enum oci_status status;
	char *bundle, *rootfs, *created, *owner;
	struct oci_kv *annotations;
	size_t n_annotations;
};

/* list: every container under the root, sorted by id. Free with berth_container_info_free. */
int berth_container_list(const struct berth_context *ctx, struct berth_container_info **ret_infos,
			 size_t *ret_n, struct berth_error *err);
void berth_container_info_free(struct berth_container_info *infos, size_t n);

/* pause / resume: freeze or thaw every process of the container (cgroup freezer). */
int berth_container_pause(const struct berth_context *ctx, const char *id, struct berth_error *err);
int berth_container_resume(const struct berth_context *ctx, const char *id, struct berth_error *err);

/* ps: host pids of every process in the container's cgroup (sorted). *ret_pids malloc'd. */
int berth_container_ps(const struct berth_context *ctx, const char *id, pid_t **ret_pids, size_t *ret_n,
		       struct berth_error *err);

struct berth_exec_opts {
	const char *id;
	const char
	    *process_file; /* --process: a runtime-spec process JSON; else built from the fields below */
	char **args;       /* the command (NULL-terminated) when no --process */
	bool tty;          /* -t */
	bool detach;       /* -d */
	const char *pid_file;
	const char *console_socket;
	const char *cwd;           /* --cwd */
	char **env;                /* -e NAME=VALUE, added to / overriding the container's env */
	const char *user;          /* -u uid[:gid] */
	uint32_t *additional_gids; /* --additional-gids */
	size_t n_additional_gids;
	char **caps;       /* --cap: added to every capability set */
	bool no_new_privs; /* --no-new-privs */
	int preserve_fds;
	bool ignore_paused;
	char **cgroups; /* --cgroup [controller:]path: existing sub-cgroups to run in (NULL-terminated) */
};

/* exec: run a new process inside a running container: every namespace, the cgroup, and the
 * container's capabilities, rlimits, no_new_privs and seccomp unless overridden. In the
 * foreground *ret_status is the process's exit code (128+N for a signal). */
int berth_container_exec(const struct berth_context *ctx, const struct berth_exec_opts *opts, int *ret_status,
			 struct berth_error *err);

/* ---- Linux security modules (lsm.c) ---- */

struct berth_lsm {
	bool apparmor; /* AppArmor is active: process.apparmorProfile can be applied */
	bool selinux;  /* SELinux is active with a policy: process.selinuxLabel, linux.mountLabel */
};

/* What the host's kernel offers, from /sys/kernel/security/lsm, AppArmor's module parameter and
 * selinuxfs. Never fails: what cannot be read counts as absent. */
void berth_lsm_probe(struct berth_lsm *ret);

struct cgroup_stats;

/* update: write @res into the container's cgroup (memory.checkBeforeUpdate honoured). */
int berth_container_update(const struct berth_context *ctx, const char *id, const struct oci_resources *res,
			   struct berth_error *err);

/* stats: one snapshot of the container's cgroup statistics. */
int berth_container_stats(const struct berth_context *ctx, const char *id, struct cgroup_stats *ret,
			  struct berth_error *err);

/* ---- networks (`berth network ...`): definitions and leases under the state root ---- */

struct netns_network;
struct netns_network_opts;

/* network create: define a network (see netns_network_create); no interface is made until a
 * container joins it. */
int berth_network_create(const struct berth_context *ctx, const struct netns_network_opts *opts,
			 struct berth_error *err);
/* network ls: every network, sorted by name; free with netns_network_list_free(). */
int berth_network_list(const struct berth_context *ctx, struct netns_network ***ret_nets, size_t *ret_n,
		       struct berth_error *err);
/* network inspect: one network with its leases; free with netns_network_free(). */
int berth_network_inspect(const struct berth_context *ctx, const char *name, struct netns_network **ret_net,
			  struct berth_error *err);
/* network rm: refused while containers hold leases; removes the bridge berth made for it. */
int berth_network_remove(const struct berth_context *ctx, const char *name, struct berth_error *err);

/* ---- checkpoint / restore (checkpoint_glue.c) ---- */

struct berth_checkpoint_opts {
	const char *id;
	const char *image_path;  /* --image-path; default ./checkpoint (a private one with --export) */
	const char *work_path;   /* --work-path: CRIU's logs; default the image path */
	const char *parent_path; /* --parent-path */
	const char *export_path; /* --export FILE: one migration archive */
	bool export_rootfs;      /* --export-rootfs: put the whole rootfs into the archive */
	bool leave_running, tcp_established, ext_unix_sk, shell_job, file_locks, pre_dump;
	const char *manage_cgroups_mode; /* soft|full|strict|ignore, or NULL */
	const char *empty_ns;            /* "network" or NULL */
	int status_fd;        /* -1: none; else a NUL byte is written there once the dump is done */
	bool no_kernel_check; /* skip `criu check` (migrate ran it before the freeze) */
	/* post-copy (migrate --lazy): CRIU's lazy-pages mode is set by the caller (a CRIU config
	 * file); berth's files and the archive are written as soon as CRIU's images are, and
	 * lazy_ready_fd then hears 'R' (or 'E' + a struct berth_error); the call itself returns
	 * once CRIU's page server has served every page */
	bool lazy;
	int lazy_ready_fd;
};

/* checkpoint: dump a running (or paused) container with CRIU. Unless --leave-running or
 * --pre-dump, the container is gone afterwards (as runc). On failure the container is left as it
 * was and the message carries CRIU's error lines and log path. */
int berth_container_checkpoint(const struct berth_context *ctx, const struct berth_checkpoint_opts *opts,
			       struct berth_error *err);

struct berth_restore_opts {
	const char *id;
	const char *image_path; /* default ./checkpoint */
	const char *work_path;
	const char *bundle;      /* default: the current directory; with --import where it is unpacked */
	const char *import_path; /* --import FILE */
	const char *storage;     /* the image store an archive with an upper dir goes into (--storage) */
	const char *pid_file;
	const char *console_socket;
	bool detach, no_subreaper, no_pivot, tcp_established, file_locks, ext_unix_sk, shell_job;
	const char *manage_cgroups_mode;
	bool no_kernel_check; /* skip `criu check` (migrate-receive ran it before the freeze) */
};

/* restore: recreate the container (state dir, cgroup) and restore its processes with CRIU; the
 * restored init is recorded so state/kill/delete work. Without --detach, waits for it and sets
 * *ret_status. On failure nothing is left (state dir, cgroup, an imported bundle). */
int berth_container_restore(const struct berth_context *ctx, const struct berth_restore_opts *opts,
			    int *ret_status, struct berth_error *err);

/* ---- live migration (migrate.c, migrate_receive.c) ---- */

struct berth_migrate_opts {
	const char *id;
	const char *destination;        /* ssh://[user@]host[:port] */
	const char *const *ssh_options; /* each passed to ssh as "-o OPTION" */
	size_t n_ssh_options;
	const char *remote_berth;   /* the receiver's command on the target; default "berth" */
	const char *storage;        /* this host's image store (an image-based container's image) */
	int max_rounds;             /* pre-copy rounds before the freeze; 0: the default (4) */
	bool lazy;                  /* post-copy (CRIU lazy pages) */
	const char *console_socket; /* process.terminal: the target's console socket (an absolute path) */
	void (*progress)(void *data, const char *line); /* one line per round and at the end */
	void *progress_data;
};

/* migrate: move a running container to the target over ssh: pre-copy rounds, freeze, final
 * dump, transfer, restore on the target, acknowledgement, clean-up. On success the container and
 * everything of it is gone from here; on failure at any phase it runs on here (thawed) and the
 * receiver removes what it made on the target. */
int berth_container_migrate(const struct berth_context *ctx, const struct berth_migrate_opts *opts,
			    struct berth_error *err);

/* migrate-receive: the target's side, run by `migrate` over ssh; speaks on @in/@out (its stdio
 * is /dev/null while it runs, as the restored container gets it). */
int berth_migrate_receive(const struct berth_context *ctx, const char *storage, int in, int out,
			  struct berth_error *err);

/* migrate-pages ID: the target's end of a post-copy's page channel, run by `migrate --lazy` as a
 * second ssh session: relays @in/@out to the receiver of ID (migrate_lazy.c). */
int berth_migrate_pages(const char *id, int in, int out, struct berth_error *err);
