/* start, state, kill, delete and run: the commands that act on an existing container. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/images.h"
#include "berth/log.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "create.h"
#include "exec.h"
#include "lifecycle.h"
#include "network.h"
#include "ptyrelay.h"
#include "systemd_glue.h"

static const char *status_word(enum oci_status s)
{
	return oci_status_name(s);
}

static int state_json(const struct container *c, enum oci_status st, bool pretty, char **ret, size_t *ret_len,
		      struct berth_error *err)
{
	int r = container_state_json(c->rec, st, pretty, ret, ret_len);
	return r < 0 ? berth_error_setf_errno(err, r, "serialise state") : 0;
}

/* Run the hooks of @kind with the current state; failures are only logged (poststart, poststop). */
static void run_hooks_warn(const struct container *c, enum oci_status st, enum oci_hook_kind kind)
{
	struct berth_error err = {0};
	_cleanup_free_ char *json = NULL;
	size_t len;
	struct oci_config *config = NULL;
	if (c->rec->hook_kinds_known && !(c->rec->hook_kinds & (1u << kind)))
		return; /* the record says config.json has none: no need to parse it */
	if (container_config(c, &config, &err) < 0) {
		log_warn("%s hooks skipped: %s", oci_hook_kind_name(kind), err.msg);
		return;
	}
	if (config->n_hooks[kind] && state_json(c, st, false, &json, &len, &err) == 0 &&
	    hooks_run(config, kind, json, len, &err) < 0)
		log_warn("%s", err.msg);
	oci_config_free(config);
}

/* The init holds exec.fifo open read-write and close-on-exec. Once it has exec'd the user
 * process (or died), no reader is left and our write end reports POLLERR: that is how start
 * knows the process runs before poststart hooks, as the spec requires. */
static void wait_exec_done(int fifo)
{
	/* No events asked for: poll sleeps until POLLERR (no reader left), which is always reported. */
	struct pollfd p = {.fd = fifo, .events = 0};
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

/* Wake the init blocked on exec.fifo; it holds the fifo open, so this never blocks. */
static int release_init(const struct container *c, struct berth_error *err)
{
	fault_point("start.before-fifo");
	_cleanup_close_ int fifo = openat(c->dir_fd, FIFO_FILE, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0) {
		if (errno == ENXIO)
			return berth_error_set(err, -ESRCH, "container \"%s\": container not running",
					       c->rec->id);
		return berth_error_setf_errno(err, -errno, "open exec.fifo of \"%s\"", c->rec->id);
	}
	int r = write_all(fifo, "0", 1);
	if (r < 0)
		return berth_error_setf_errno(err, r, "start \"%s\": write exec.fifo", c->rec->id);
	fault_point("start.after-fifo");
	unlinkat(c->dir_fd, FIFO_FILE, 0);
	wait_exec_done(fifo);
	return 0;
}

int berth_container_start(const struct berth_context *ctx, const char *id, struct berth_error *err)
{
	struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
	int r = container_load(ctx, id, &c, err);
	if (r < 0)
		return r;
	enum oci_status st = container_status(ctx, &c);
	if (st != OCI_STATUS_CREATED)
		r = berth_error_set(err, st == OCI_STATUS_STOPPED ? -ESRCH : -EBUSY,
				    "cannot start container \"%s\": it is %s, not created", id,
				    status_word(st));
	else
		r = release_init(&c, err);
	if (r == 0)
		run_hooks_warn(&c, OCI_STATUS_RUNNING, OCI_HOOK_POSTSTART);
	container_release(&c);
	return r;
}

int berth_container_state(const struct berth_context *ctx, const char *id, char **ret_json,
			  struct berth_error *err)
{
	struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
	int r = container_peek(ctx, id, &c, err);
	if (r < 0)
		return r;
	size_t len;
	r = state_json(&c, container_status(ctx, &c), true, ret_json, &len, err);
	container_release(&c);
	return r;
}

/* Signal the init only while it is the process the record names: a pidfd pins the process, so
 * the start-time check made through it cannot be overtaken by pid reuse before the signal. */
static int signal_init(const struct berth_record *rec, int sig)
{
	_cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, rec->pid, 0);
	if (pfd < 0 && errno != ENOSYS)
		return -errno;
	if (!container_init_alive(rec))
		return -ESRCH;
	if (pfd < 0)
		return kill(rec->pid, sig) < 0 ? -errno : 0;
	return syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0 ? -errno : 0;
}

static int signal_container(const struct berth_context *ctx, const struct container *c, int sig, bool all,
			    struct berth_error *err)
{
	if (all && c->rec->cgroup_path) {
		struct cgroup cg = {0};
		_cleanup_close_ int cg_root = -EBADF;
		int r = container_cgroup(ctx, c->rec, &cg, &cg_root, err);
		if (r < 0)
			return r;
		r = cgroup_signal_all(&cg, sig, err);
		cgroup_free(&cg);
		return r;
	}
	int r = signal_init(c->rec, sig);
	if (r == -ESRCH)
		return berth_error_set(err, -ESRCH, "container \"%s\": no such process", c->rec->id);
	if (r < 0)
		return berth_error_setf_errno(err, r, "kill container \"%s\"", c->rec->id);
	return 0;
}

int berth_container_kill(const struct berth_context *ctx, const char *id, int sig, bool all,
			 struct berth_error *err)
{
	struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
	int r = container_load(ctx, id, &c, err);
	if (r < 0)
		return r;
	if (container_status(ctx, &c) == OCI_STATUS_STOPPED && !all)
		r = berth_error_set(err, -ESRCH, "container \"%s\": container not running", id);
	else
		r = signal_container(ctx, &c, sig, all, err);
	container_release(&c);
	return r;
}

/* Wait (bounded) for the init to be gone; it is not our child, so poll its pidfd. */
static void wait_init_gone(const struct berth_record *rec)
{
	_cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, rec->pid, 0);
	if (pfd >= 0) {
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		(void)poll(&p, 1, 5000);
		return;
	}
	for (int i = 0; i < 500 && container_init_alive(rec); i++)
		usleep(10000);
}

/* The container had a pid namespace of its own: its processes all die with its init. */
static bool own_pidns(const struct berth_record *rec)
{
	char own[64];

	snprintf(own, sizeof(own), "/proc/%d/ns/pid", (int)rec->pid);
	return rec->ns_paths[OCI_NS_PID] && strcmp(rec->ns_paths[OCI_NS_PID], own) == 0;
}

/* Remove the container's cgroup under the cgroup lock (see claim_cgroup in create.c). Once the
 * init of a container with its own pid namespace is gone, its other processes die within
 * milliseconds; a process still in the cgroup after that belongs to the container that took the
 * emptied cgroup over since: it is left to that one, whose delete removes it. */
static int remove_cgroup(const struct berth_record *rec, const struct cgroup *cg, struct berth_error *err)
{
	_cleanup_close_ int lock = -EBADF;
	int r = cgroup_lock(cg, berth_wait_limit_ms(), &lock, err);

	if (r < 0)
		return r;
	for (int i = 0; own_pidns(rec) && i < 50; i++) {
		_cleanup_free_ pid_t *pids = NULL;
		size_t n = 0;

		if (cgroup_pids(cg, &pids, &n, NULL) < 0 || n == 0)
			break;
		if (i == 49) {
			log_debug("cgroup %s: in use by another container now, not removed", cg->path);
			return 0;
		}
		usleep(10000);
	}
	return cgroup_destroy(cg, err);
}

/* Kill whatever is left, remove the cgroup berth made, run poststop, remove the state dir. */
static int destroy(const struct berth_context *ctx, struct container *c, struct berth_error *err)
{
	struct cgroup cg = {0};
	_cleanup_close_ int cg_root = -EBADF;
	bool have_cg = c->rec->cgroup_path && container_cgroup(ctx, c->rec, &cg, &cg_root, NULL) == 0;
	if (container_init_alive(c->rec)) {
		if (have_cg) {
			(void)cgroup_freeze(&cg, false, NULL);
			(void)cgroup_signal_all(&cg, SIGKILL, NULL);
		}
		kill(c->rec->pid, SIGKILL);
		wait_init_gone(c->rec);
	}
	fault_point("delete.after-kill");
	network_destroy(c);
	/* --systemd-cgroup: the unit goes first (its processes are dead: it stops at once), then
	 * whatever systemd left of the cgroup. A unit that cannot be stopped (no bus) is not worth
	 * a state dir left behind: once empty, systemd stops and forgets a scope by itself. */
	struct berth_error sd_err = {0};
	if (systemd_record_stop(c->rec, &sd_err) < 0)
		log_warn("%s", sd_err.msg);
	int r = 0;
	if (have_cg && c->rec->cgroup_owned)
		r = remove_cgroup(c->rec, &cg, err);
	if (have_cg)
		cgroup_free(&cg);
	if (r < 0)
		return berth_error_prefix(err, "delete \"%s\"", c->rec->id);
	fault_point("delete.after-cgroup");
	run_hooks_warn(c, OCI_STATUS_STOPPED, OCI_HOOK_POSTSTOP);
	/* A container made by `run --image`: unmount and remove its image rootfs. */
	if (image_container_release(c->rec->id, c->rec->annotations, c->rec->n_annotations, err) < 0)
		return berth_error_prefix(err, "delete \"%s\"", c->rec->id);
	r = container_dir_remove(c->root_fd, c->rec->id);
	if (r < 0)
		return berth_error_setf_errno(err, r, "delete \"%s\": remove state directory", c->rec->id);
	return 0;
}

/* A state directory without a readable record is a create that crashed: remove it. Like runc,
 * --force makes deleting a container that does not exist a success (containerd relies on it). */
static int delete_missing(const struct berth_context *ctx, const char *id, bool force,
			  struct berth_error *err)
{
	_cleanup_close_ int root_fd = -EBADF;
	if (container_id_validate(id, NULL) == 0 && state_root_open(ctx->root, false, &root_fd, NULL) == 0 &&
	    faccessat(root_fd, id, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		int r = container_dir_remove(root_fd, id);
		if (r < 0)
			return berth_error_setf_errno(err, r, "delete \"%s\": remove state directory", id);
		return 0;
	}
	if (force) {
		berth_error_clear(err);
		return 0;
	}
	return -ENOENT;
}

int berth_container_delete(const struct berth_context *ctx, const char *id, bool force,
			   struct berth_error *err)
{
	struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
	int r = container_load(ctx, id, &c, err);
	if (r == -ENOENT && delete_missing(ctx, id, force, err) == 0)
		return 0;
	if (r < 0)
		return r;
	enum oci_status st = container_status(ctx, &c);
	if (!force && (st == OCI_STATUS_RUNNING || st == OCI_STATUS_PAUSED))
		r = berth_error_set(err, -EBUSY, "cannot delete container \"%s\" that is not stopped: %s", id,
				    status_word(st));
	else
		r = destroy(ctx, &c, err);
	container_release(&c);
	return r;
}

/* ---- run ---- */

int berth_container_run(const struct berth_context *ctx, const struct berth_run_opts *opts, int *ret_status,
			struct berth_error *err)
{
	sigset_t set, old;
	exec_signal_set(&set);
	/* Blocked before clone3 so no signal is lost; the init unblocks its own mask. */
	sigprocmask(SIG_BLOCK, &set, &old);

	struct create_plan p;
	_cleanup_close_ int master = -EBADF;
	struct berth_create_opts co = opts->create;
	co.log_stdio = opts->detach; /* a detached run writes to its log (stdio_log.h) */
	int r = berth_container_create_plan(ctx, &co, !opts->detach, &p, err);
	if (r < 0)
		goto out;
	pid_t pid = p.pid;
	master = TAKE_FD(p.pty_master);
	create_plan_free(&p); /* drops the lock so start can take it */
	/* The caller's size before the process starts, so it never sees another. */
	if (master >= 0)
		pty_relay_copy_size(pty_relay_caller_tty(), master);
	r = berth_container_start(ctx, opts->create.id, err);
	if (r < 0) {
		(void)berth_container_delete(ctx, opts->create.id, true, NULL);
		goto out;
	}
	*ret_status = 0;
	if (opts->detach)
		goto out;
	if (master >= 0) {
		struct pty_relay_io io = {.master = master,
					  .in_fd = STDIN_FILENO,
					  .out_fd = STDOUT_FILENO,
					  .size_fd = pty_relay_caller_tty()};
		*ret_status = pty_relay_run(&io, pid, &set);
	} else {
		*ret_status = exec_wait_forwarding(pid, &set);
	}
	if (!opts->keep)
		r = berth_container_delete(ctx, opts->create.id, true, err);
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
