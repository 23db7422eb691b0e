/* The exec'd process: cloned into the container's cgroup (and pid/time namespaces via the
 * parent's *_for_children), it joins the other namespaces through the init's pidfd, shapes itself
 * like the container's process and execs. Its sync socket is close-on-exec, so the parent learns
 * of a successful exec from EOF and of a failure from an error message. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "exec.h"
#include "internal.h"
#include "lifecycle.h"
#include "lsm.h"
#include "seccomp.h"
#include "trampoline_exec.h"

static int child_setup(const struct exec_plan *x, const struct berth_exec_opts *o, int sync_fd, char *path,
		       size_t size, int *lsm_fd, char **lsm_value, struct berth_error *err)
{
	enum sync_type t;
	int r = sync_recv(sync_fd, &t, NULL, NULL);
	if (r < 0 || t != SYNC_GO)
		return berth_error_set(err, r < 0 ? r : -EPROTO, "wait for the runtime");
	/* Into the v1 cgroups first, still one thread with the runtime's credentials. */
	if (x->movers.n) {
		r = cgroup_movers_enter_self(&x->cg, &x->movers, err);
		if (r < 0)
			return r;
	}
	/* The LSM attribute file is opened while /proc is still the host's. */
	r = lsm_prepare_exec_label(&x->proc, lsm_fd, lsm_value, err);
	if (r < 0)
		return r;
	/* One call joins them all, in the order the kernel needs (user first). */
	if (x->child_ns && setns(x->pidfd, (int)x->child_ns) < 0)
		return berth_error_setf_errno(err, -errno, "join the namespaces of the container (0x%lx)",
					      x->child_ns);
	if (x->userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return berth_error_setf_errno(err, -errno, "become root in the container's user namespace");
	if (x->init_root_fd >= 0 && (fchdir(x->init_root_fd) < 0 || chroot(".") < 0))
		return berth_error_setf_errno(err, -errno, "chroot to the container's root");
	(void)o;
	return process_prepare(&x->proc, x->console_fd, false, path, size, err);
}

/* As in the init: with no_new_privs the filter goes in last; without, before the identity change
 * can drop the CAP_SYS_ADMIN loading it needs. */
static int load_seccomp(struct exec_plan *x, bool before_identity, struct berth_error *err)
{
	if (!x->seccomp.prog || before_identity == x->proc.no_new_privileges)
		return 0;
	return seccomp_plan_install(&x->seccomp, &x->config->linux_.seccomp, x->state_json, x->state_len,
				    err);
}

static __attribute__((noreturn)) void exec_child(struct exec_plan *x, const struct berth_exec_opts *o,
						 int sync_fd)
{
	struct berth_error err = {0};
	char path[PATH_MAX];
	int lsm_fd = -EBADF;
	char *lsm_value = NULL;
	sigset_t none;
	int trampoline_fd = -EBADF;
	sigemptyset(&none);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* as the init: no /proc/<pid>/exe from the container */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* Only stdio and --preserve-fds reach the process (CVE-2024-21626 class). */
	fds_cloexec_from(3 + o->preserve_fds);
	/* A session of its own, as the init's: the caller's terminal, which a process without -t
	 * still gets as its stdio, is never its controlling terminal (TIOCSTI). */
	(void)setsid();

	if (trampoline_open(&trampoline_fd, &err) < 0 ||
	    child_setup(x, o, sync_fd, path, sizeof(path), &lsm_fd, &lsm_value, &err) < 0)
		goto fail;
	/* Without no_new_privs the filter goes in before the identity change and the rest runs under
	 * it: the sync socket is handed to the trampoline (to report a failed exec) without a
	 * syscall the profile might refuse. */
	bool filtered = x->seccomp.prog && !x->proc.no_new_privileges;
	bool proc_path_ok = filtered && trampoline_proc_path_ok(trampoline_fd);
	if (filtered && fcntl(sync_fd, F_SETFD, 0) < 0) {
		berth_error_setf_errno(&err, -errno, "keep the sync socket open for the exec");
		goto fail;
	}
	if (load_seccomp(x, true, &err) < 0 || process_apply_identity(&x->proc, &err) < 0)
		goto fail;
	if (x->proc.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		berth_error_setf_errno(&err, -errno, "no_new_privs");
		goto fail;
	}
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	/* A failed exec reaches the parent over the sync socket, from here or from the trampoline. */
	struct process_exec pe = {.proc = &x->proc,
				  .path = path,
				  .sp = &x->seccomp,
				  .seccomp = &x->config->linux_.seccomp,
				  .state = x->state_json,
				  .state_len = x->state_len,
				  .lsm_fd = lsm_fd,
				  .lsm_value = lsm_value,
				  .memfd = trampoline_fd,
				  .report_fd = sync_fd,
				  .hold_fd = -1,
				  .filtered = filtered,
				  .proc_path_ok = proc_path_ok};
	trampoline_exec_process(&pe, &err);
fail:
	sync_send_error(sync_fd, &err);
	_exit(1);
}

/* Enter the pid/time namespaces for our children only; @saved lets us return. */
static int enter_parent_ns(const struct exec_plan *x, int *saved_pid, int *saved_time,
			   struct berth_error *err)
{
	if (!x->parent_ns)
		return 0;
	*saved_pid = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	*saved_time = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
	if (*saved_pid < 0 || *saved_time < 0)
		return berth_error_setf_errno(err, -errno, "open own namespaces");
	if (setns(x->pidfd, (int)x->parent_ns) < 0)
		return berth_error_setf_errno(err, -errno, "join the pid namespace of the container");
	return 0;
}

static void leave_parent_ns(int *saved_pid, int *saved_time)
{
	if (*saved_pid >= 0)
		(void)setns(*saved_pid, CLONE_NEWPID);
	if (*saved_time >= 0)
		(void)setns(*saved_time, CLONE_NEWTIME);
	closep(saved_pid);
	closep(saved_time);
}

/* Wait for the child's verdict: EOF means the exec succeeded. */
static int wait_exec(struct exec_plan *x, struct berth_error *err)
{
	enum sync_type t;
	_cleanup_free_ char *payload = NULL;
	size_t len = 0;
	unsigned int limit = berth_wait_limit_ms();
	struct pollfd p = {.fd = x->sync_fd, .events = POLLIN};
	int r;

	/* Bounded: a process in a frozen (paused) cgroup does not run until the container is
	 * resumed, and nobody may be left waiting for that forever. */
	do
		r = poll(&p, 1, (int)limit);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return berth_error_set(
		    err, -ETIMEDOUT, "the process did not start within %u s%s", limit / 1000,
		    x->paused ? ": the container is paused (its cgroup is frozen); resume it"
			      : " (is the container's cgroup frozen?)");
	r = sync_recv(x->sync_fd, &t, &payload, &len);
	if (r == -EPIPE)
		return 0;
	if (r < 0)
		return berth_error_setf_errno(err, r, "read from the exec'd process");
	if (t != SYNC_ERROR || len != sizeof(struct berth_error))
		return berth_error_set(err, -EPROTO, "unexpected message %d from the exec'd process", (int)t);
	memcpy(err, payload, sizeof(*err));
	err->msg[sizeof(err->msg) - 1] = '\0';
	return err->code < 0 ? err->code : -EIO;
}

int exec_spawn(struct exec_plan *x, const struct berth_exec_opts *o, struct berth_error *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return berth_error_setf_errno(err, -errno, "socketpair");
	x->sync_fd = sv[0];
	_cleanup_close_ int saved_pid = -EBADF, saved_time = -EBADF;
	/* The clone starts inside the container's pid namespace: non-dumpable from its first
	 * instruction, not only from its first prctl (exec never returns here: `berth exec` exits). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	int r = enter_parent_ns(x, &saved_pid, &saved_time, err);
	bool into_cgroup = false;
	if (r == 0) {
		x->pid = spawn_clone3(0, x->cg_fd, false, &into_cgroup);
		if (x->pid == 0) {
			close(sv[0]);
			exec_child(x, o, sv[1]);
		}
		if (x->pid < 0 && errno == ETIMEDOUT)
			r = berth_error_set(
			    err, -ETIMEDOUT, "the process did not start within %u s%s",
			    berth_wait_limit_ms() / 1000,
			    x->paused ? ": the container is paused (its cgroup is frozen); resume it"
				      : " (is the container's cgroup frozen?)");
		else if (x->pid < 0)
			r = berth_error_setf_errno(err, -errno, "clone3 the exec'd process");
		else
			fault_point("exec.after-clone");
	}
	leave_parent_ns(&saved_pid, &saved_time);
	close(sv[1]);
	if (r < 0) {
		x->pid = 0;
		return r;
	}
	if (x->cg_resolved)
		r = cgroup_enter(&x->cg, x->pid, (into_cgroup ? CGROUP_SKIP_UNIFIED : 0) | CGROUP_SKIP_V1,
				 err);
	if (r == 0) {
		r = sync_send(x->sync_fd, SYNC_GO, NULL, 0);
		if (r < 0)
			berth_error_setf_errno(err, r, "signal the exec'd process");
	}
	if (r == 0)
		r = wait_exec(x, err);
	return r;
}
