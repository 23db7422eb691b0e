/* runtime-internal: the state directory, the parent/child sync channel, hooks, and the
 * process set-up run in the container's init. Not part of the public API. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "berth/oci.h"

struct berth_error;
struct berth_context;
struct cgroup;
struct cgroup_movers;

#define BERTH_DEFAULT_ROOT "/run/berth"
#define BERTH_DEFAULT_CGROUP_ROOT "/sys/fs/cgroup"
#define BERTH_CONFIG_MAX (4u << 20)
#define STATE_FILE "state.json"
#define CONFIG_FILE "config.json"
#define FIFO_FILE "exec.fifo"

/* ---- bounded waits (bounded.c) ---- */

/* How long one berth command waits for another (a container's lock, a process that cannot start
 * while the container is paused): BERTH_LOCK_TIMEOUT seconds (1..3600) from the environment, else
 * BERTH_WAIT_LIMIT_DEFAULT_MS. */
#define BERTH_WAIT_LIMIT_DEFAULT_MS 30000u
unsigned int berth_wait_limit_ms(void);

/* flock(LOCK_EX) for at most @limit_ms: 0, -ETIMEDOUT, or -errno. */
int flock_bounded(int fd, unsigned int limit_ms);

/* ---- state directory (state.c) ---- */

/* A container loaded from <root>/<id>, holding an flock on its directory. */
struct container {
	int root_fd;
	int dir_fd;
	struct berth_record *rec;
};

/* Open (and with @create, make) the state root; refused unless fd_check_trusted. */
int state_root_open(const char *root, bool create, int *ret_fd, struct berth_error *err);

/* mkdir <root>/<id> exclusively and lock it. "container \"id\" already exists" on EEXIST. */
int container_dir_create(int root_fd, const char *id, int *ret_dir_fd, struct berth_error *err);

/* Open and lock <root>/<id> and read its record. "container \"id\" does not exist" when absent
 * (also when the directory was removed while we waited for the lock). */
int container_load(const struct berth_context *ctx, const char *id, struct container *ret,
		   struct berth_error *err);
/* The same without the lock: for readers (state, list); state.json is replaced atomically. */
/* Like container_peek, below an already open state root (ret->root_fd stays -EBADF). */
int container_peek_at(int root_fd, const char *root, const char *id, struct container *ret,
		      struct berth_error *err);
int container_peek(const struct berth_context *ctx, const char *id, struct container *ret,
		   struct berth_error *err);
void container_release(struct container *c);

/* Write the record atomically. */
int container_save(int dir_fd, const struct berth_record *rec, struct berth_error *err);

/* Derive the status: stopped / created / paused / running (DESIGN.md section 3). */
enum oci_status container_status(const struct berth_context *ctx, const struct container *c);

/* true while pid is alive with the recorded start time (not a zombie). */
bool container_init_alive(const struct berth_record *rec);

/* Remove <root>/<id> entirely. */
int container_dir_remove(int root_fd, const char *id);

/* Read the config.json copy kept in the state dir. */
int container_config(const struct container *c, struct oci_config **ret, struct berth_error *err);

/* The container's cgroup (resolved from the record); *ret_root_fd must be closed by the caller. */
int container_cgroup(const struct berth_context *ctx, const struct berth_record *rec, struct cgroup *cg,
		     int *ret_root_fd, struct berth_error *err);

/* Build the spec state JSON for @rec with @status (indented for people, compact for hooks). */
int container_state_json(const struct berth_record *rec, enum oci_status status, bool pretty, char **ret_json,
			 size_t *ret_len);

/* ---- sync channel (sync.c): SOCK_SEQPACKET messages between create and the child ---- */

enum sync_type {
	SYNC_GO = 1, /* parent -> child: continue (payload: optional state JSON) */
	SYNC_ERROR,  /* child -> parent: payload is a struct berth_error */
	SYNC_HOOKS,  /* child -> parent: mounts done, run prestart/createRuntime hooks */
	SYNC_READY,  /* child -> parent: set up, blocked on exec.fifo next */
};

int sync_send(int fd, enum sync_type type, const void *payload, size_t len);
/* Receive one message; *ret_payload is malloc'd (NUL-terminated) or NULL when empty. */
int sync_recv(int fd, enum sync_type *ret_type, char **ret_payload, size_t *ret_len);
/* Child side: report @err to the parent. */
void sync_send_error(int fd, const struct berth_error *err);

/* ---- hooks (hooks.c) ---- */

/* Run every hook of @kind in order with @state_json on stdin; honours timeouts.
 * Stops at the first failure with "<kind> hook[<i>] (<path>): <reason>". */
int hooks_run(const struct oci_config *config, enum oci_hook_kind kind, const char *state_json,
	      size_t state_len, struct berth_error *err);

/* How a hook that runs in the container (createContainer, startContainer) is exec'd: through the
 * exec trampoline (trampoline_exec.h), never directly from berth's code. */
struct hook_exec_via {
	int memfd;            /* trampoline_open() */
	int control_fd;       /* last steps for every hook (the filter, for startContainer hooks under
			       * noNewPrivileges), or -1 */
	int not_inherited_fd; /* an inheritable descriptor of the caller's that no hook may get, or -1 */
	bool filtered;        /* the caller runs under the container's filter already */
	bool proc_path_ok;    /* trampoline_proc_path_ok() */
};
/* hooks_run, with each hook exec'd as @via says (NULL: directly). */
int hooks_run_via(const struct oci_config *config, enum oci_hook_kind kind, const char *state_json,
		  size_t state_len, const struct hook_exec_via *via, struct berth_error *err);

/* ---- the init process (child.c / process.c) ---- */

struct child_args {
	const struct oci_config *config;
	const char *rootfs;
	const char *bundle;
	int sync_fd;
	int state_dir_fd;            /* the locked state dir: exec.fifo is opened through it */
	int console_fd;              /* connected --console-socket, or -1 */
	int ns_fds[OCI_NS_MAX];      /* namespaces to join (setns in the child), -1 otherwise */
	unsigned long unshare_flags; /* namespaces to create with unshare() in the child */
	bool new_userns;             /* clone3 made a user namespace: become its root once mapped */
	bool runtime_rootless;       /* berth runs as non-root: the init stays dumpable until GO */
	bool userns_any;             /* the container runs in a user namespace (new or joined) */
	bool config_mount_ns_new;    /* a new mount namespace: set up the root filesystem */
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;
	/* the container's cgroup (NULL: none): @movers moves the init into its v1 hierarchies, and
	 * config "cgroup" mounts show it */
	const struct cgroup *cg;
	const struct cgroup_movers *movers;
	const int *bind_trees; /* per config mount: a bind source opened by create, or -1 (bindsrc.h) */
	int cg_lock_fd;        /* create's cgroup lock: the init closes its copy at once (-EBADF: none) */
	/* the init's stdin, stdout, stderr instead of the caller's (all >= 3), or NULL */
	const int *stdio_fds;
};

/* The container init's whole life; never returns. */
__attribute__((noreturn)) void child_main(const struct child_args *a);

/* process.c: pieces of the init's process set-up, each filling @err on failure. */
int process_lookup_exec(const struct oci_process *p, char *ret_path, size_t size, struct berth_error *err);
int process_apply_rlimits(const struct oci_process *p, struct berth_error *err);
int process_apply_oom_score_adj(const struct oci_process *p, pid_t pid, struct berth_error *err);
int process_apply_personality(const struct oci_linux *l, struct berth_error *err);
int process_apply_identity(const struct oci_process *p, struct berth_error *err);
int process_setup_terminal(const struct oci_process *p, int console_fd, struct berth_error *err);
/* chdir to process.cwd resolved inside the current root (no magic links; created when missing
 * with @create) and verified to be inside it. */
int process_enter_cwd(const struct oci_process *p, bool create, struct berth_error *err);
/* Steps shared by the init and exec: terminal (when @console_fd >= 0), rlimits, cwd (created
 * when missing with @create_cwd), the executable's path. The identity (process_apply_identity)
 * comes after, once the caller has loaded a seccomp filter that needs CAP_SYS_ADMIN. */

/* When @p's env has no HOME, *ret_env = a copy with HOME added from the container's /etc/passwd
 * (call after entering the root); otherwise *ret_env is left alone. The copy (and its last
 * entry) are leaked on purpose: the caller execs right after. */
int process_env_with_home(const struct oci_process *p, char ***ret_env);
int process_prepare(const struct oci_process *p, int console_fd, bool create_cwd, char *exec_path,
		    size_t size, struct berth_error *err);
