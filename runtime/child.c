/* The container init: runs in the namespaces clone3() made, sets the container up phase by
 * phase (each failure is reported to `create` over the sync socket), then blocks on exec.fifo
 * until `start`, and execs the user process. It is a fork of berth, not a re-exec. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/util.h"
#include "internal.h"
#include "lifecycle.h"
#include "lsm.h"
#include "seccomp.h"
#include "trampoline_exec.h"

#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif

/* Wait for the parent's go-ahead; the payload (state JSON) is kept when asked for. */
static int wait_go(int fd, char **ret_payload, size_t *ret_len, struct berth_error *err)
{
	enum sync_type t;
	int r = sync_recv(fd, &t, ret_payload, ret_len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "wait for the runtime");
	if (t != SYNC_GO)
		return berth_error_set(err, -EPROTO, "unexpected message %d from the runtime", (int)t);
	return 0;
}

static int join_namespaces(const struct child_args *a, struct berth_error *err)
{
	/* The user namespace first, so the namespaces unshared next are owned by it. */
	if (a->ns_fds[OCI_NS_USER] >= 0 && setns(a->ns_fds[OCI_NS_USER], CLONE_NEWUSER) < 0)
		return berth_error_setf_errno(err, -errno, "join the user namespace");
	if (a->unshare_flags && unshare((int)a->unshare_flags) < 0)
		return berth_error_setf_errno(err, -errno, "unshare namespaces (flags 0x%lx)",
					      a->unshare_flags);
	for (int t = 0; t < OCI_NS_MAX; t++) {
		if (t == OCI_NS_USER || t == OCI_NS_PID || t == OCI_NS_TIME || a->ns_fds[t] < 0)
			continue;
		if (setns(a->ns_fds[t], (int)oci_ns_clone_flag(t)) < 0)
			return berth_error_setf_errno(err, -errno, "join the %s namespace",
						      oci_ns_type_name(t));
	}
	for (int t = 0; t < OCI_NS_MAX; t++)
		if (a->ns_fds[t] >= 0)
			close(a->ns_fds[t]);
	return 0;
}

static int set_names(const struct oci_config *c, struct berth_error *err)
{
	if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
		return berth_error_setf_errno(err, -errno, "hostname: set \"%s\"", c->hostname);
	if (c->domainname && setdomainname(c->domainname, strlen(c->domainname)) < 0)
		return berth_error_setf_errno(err, -errno, "domainname: set \"%s\"", c->domainname);
	return 0;
}

/* Compile linux.seccomp (or take it from the cache under the state root) while `create` still
 * listens for errors, and connect to its listenerPath: both are host paths, so this runs before any
 * namespace is joined. The state dir descriptor is done with then and must not reach the container. */
static int prepare_seccomp(const struct child_args *a, struct seccomp_plan *sp, struct berth_error *err)
{
	const struct oci_config *c = a->config;
	int r = 0;
	if (c->has_linux && c->linux_.has_seccomp) {
		_cleanup_close_ int root_fd = openat(a->state_dir_fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		r = seccomp_plan_prepare(&c->linux_.seccomp, root_fd, sp, err);
	}
	close(a->state_dir_fd);
	return r;
}

/* Loading a filter needs no_new_privs or CAP_SYS_ADMIN. With no_new_privs it goes in just before
 * exec, so profiles need not allow the runtime's own syscalls; without, before the identity change
 * can drop CAP_SYS_ADMIN, as runc does. */
static int load_seccomp(const struct child_args *a, struct seccomp_plan *sp, bool before_identity,
			const char *state, size_t state_len, struct berth_error *err)
{
	if (!sp->prog || before_identity == a->config->process.no_new_privileges)
		return 0;
	return seccomp_plan_install(sp, &a->config->linux_.seccomp, state, state_len, err);
}

/* Everything before pivot_root: seccomp, namespaces, names, mounts, and the create-time hooks. */
/* A new network namespace starts with lo down; runc and crun bring it up, so programs that talk
 * to 127.0.0.1 work without any network configured. */
static int loopback_up(struct berth_error *err)
{
	struct ifreq ifr = {0};
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return berth_error_setf_errno(err, -errno, "linux.namespaces: read the flags of lo");
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return berth_error_setf_errno(err, -errno,
					      "linux.namespaces: bring lo up in the new network namespace");
	return 0;
}

static int setup_pre_pivot(const struct child_args *a, const struct rootfs_opts *ro, struct seccomp_plan *sp,
			   int *lsm_fd, char **lsm_value, int trampoline_fd, char **ret_state,
			   size_t *ret_state_len, struct berth_error *err)
{
	const struct oci_config *c = a->config;
	int r = wait_go(a->sync_fd, NULL, NULL, err);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* the maps are written (see child_main) */
	fault_point("init.before-cgroups"); /* the init dies: create must clean up after it */
	/* Into the v1 cgroups before anything else (still one thread, still host credentials). */
	if (r == 0 && a->movers)
		r = cgroup_movers_enter_self(a->cg, a->movers, err);
	if (r == 0)
		r = prepare_seccomp(a, sp, err);
	/* The LSM attribute file is opened while /proc is still the host's. */
	if (r == 0)
		r = lsm_prepare_init(c, !a->no_new_keyring, lsm_fd, lsm_value, err);
	if (r < 0)
		return r;
	r = join_namespaces(a, err);
	if (r < 0)
		return r;
	/* In a fresh user namespace the maps are written now: become its root. */
	if (a->new_userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return berth_error_setf_errno(err, -errno,
					      "become root in the user namespace (is uid/gid 0 mapped?)");
	if (oci_config_namespace(c, OCI_NS_CGROUP) && !oci_config_namespace(c, OCI_NS_CGROUP)->path &&
	    unshare(CLONE_NEWCGROUP) < 0)
		return berth_error_setf_errno(err, -errno, "create the cgroup namespace");
	const struct oci_namespace *net = oci_config_namespace(c, OCI_NS_NETWORK);
	if (net && !net->path) {
		r = loopback_up(err);
		if (r < 0)
			return r;
	}
	r = set_names(c, err);
	/* Relative mount sources are relative to the bundle, as with runc. */
	if (r == 0 && chdir(a->bundle) < 0)
		r = berth_error_setf_errno(err, -errno, "chdir to the bundle '%s'", a->bundle);
	/* a joined mount namespace gets the rootfs set up inside it, as with runc and crun */
	if (r == 0 && oci_config_namespace(c, OCI_NS_MOUNT))
		r = rootfs_prepare(c, ro, err);
	if (r < 0)
		return r;
	/* prestart and createRuntime hooks run in the runtime's namespaces, in `create`. */
	r = sync_send(a->sync_fd, SYNC_HOOKS, NULL, 0);
	if (r < 0)
		return berth_error_setf_errno(err, r, "report to the runtime");
	r = wait_go(a->sync_fd, ret_state, ret_state_len, err);
	if (r < 0)
		return r;
	struct hook_exec_via via = {.memfd = trampoline_fd, .control_fd = -1, .not_inherited_fd = -1};
	return hooks_run_via(c, OCI_HOOK_CREATE_CONTAINER, *ret_state, *ret_state_len, &via, err);
}

/* After pivot_root: finish the root filesystem and shape the process (but for its identity). */
static int setup_post_pivot(const struct child_args *a, const struct rootfs_opts *ro, char *exec_path,
			    size_t exec_size, struct berth_error *err)
{
	const struct oci_config *c = a->config;
	const struct oci_process *p = &c->process;
	int r = 0;
	if (oci_config_namespace(c, OCI_NS_MOUNT)) {
		r = rootfs_pivot(c, ro, err);
		if (r == 0)
			r = rootfs_finalize(c, ro, err);
	} else {
		r = rootfs_chroot(ro, err); /* the runtime's mount namespace: nothing is mounted */
	}
	if (r < 0)
		return r;
	if (p->terminal && a->console_fd >= 0) {
		r = process_setup_terminal(p, a->console_fd, err);
		/* Only in a mount namespace of the container's own: never a mount in the runtime's or
		 * in a joined one that other processes share. */
		if (r == 0 && a->config_mount_ns_new)
			r = rootfs_bind_console(STDIN_FILENO, err);
		if (r < 0)
			return r;
		close(a->console_fd);
	}
	if (!a->no_new_keyring && syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 &&
	    errno != ENOSYS)
		return berth_error_setf_errno(err, -errno, "create a session keyring");
	r = process_apply_personality(c->has_linux ? &c->linux_ : NULL, err);
	if (r == 0)
		r = process_apply_rlimits(p, err);
	if (r == 0)
		r = process_enter_cwd(p, true, err);
	if (r == 0)
		r = process_lookup_exec(p, exec_path, exec_size, err);
	return r;
}

static __attribute__((noreturn)) void die(int sync_fd, struct berth_error *err)
{
	if (sync_fd >= 0)
		sync_send_error(sync_fd, err);
	else
		dprintf(STDERR_FILENO, "berth: %s\n", err->msg);
	_exit(1);
}

/* Block until `start` writes to exec.fifo. The init holds the fifo open read-write, so opening
 * never blocks and `start` can open it for writing without waiting. */
static int wait_for_start(int fifo_fd, struct berth_error *err)
{
	char b;
	ssize_t n;
	do
		n = read(fifo_fd, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return berth_error_setf_errno(err, n < 0 ? -errno : -EPIPE, "read exec.fifo");
	/* fifo_fd stays open (close-on-exec): `start` waits for it to go away at the exec, so
	 * poststart hooks run after the startContainer hooks and the exec, as the spec says. */
	return 0;
}

static void reset_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The startContainer hooks. With noNewPrivileges they run under the container's filter, as with
 * runc (which loads it before running them): each hook's trampoline loads it just before the
 * hook's exec, so berth's own syscalls stay unfiltered. Without, the init is filtered already. */
static int run_start_hooks(const struct child_args *a, const struct seccomp_plan *sp, int trampoline_fd,
			   int fifo_fd, bool filtered, bool proc_path_ok, const char *state, size_t state_len,
			   struct berth_error *err)
{
	const struct oci_config *c = a->config;
	if (!c->n_hooks[OCI_HOOK_START_CONTAINER])
		return 0;
	struct trampoline_steps steps = TRAMPOLINE_STEPS_INIT;
	_cleanup_free_ char *msg = NULL;
	_cleanup_close_ int control_fd = -EBADF;
	int r = 0;
	if (c->process.no_new_privileges)
		r = seccomp_plan_steps(sp, &c->linux_.seccomp, state, state_len, false, &steps, &msg, err);
	if (r == 0)
		r = trampoline_control_create(&steps, &control_fd, err);
	if (r < 0)
		return r;
	struct hook_exec_via via = {.memfd = trampoline_fd,
				    .control_fd = control_fd,
				    .not_inherited_fd = filtered ? fifo_fd : -1,
				    .filtered = filtered,
				    .proc_path_ok = proc_path_ok};
	return hooks_run_via(c, OCI_HOOK_START_CONTAINER, state, state_len, &via, err);
}

void child_main(const struct child_args *a)
{
	struct berth_error err = {0};
	const struct oci_config *c = a->config;
	int devnull = -EBADF;
	struct rootfs_opts ro = {.rootfs = a->rootfs,
				 .no_pivot = a->no_pivot,
				 .userns = a->userns_any,
				 .new_cgroupns = oci_config_namespace(c, OCI_NS_CGROUP) != NULL,
				 .chroot_only = !a->config_mount_ns_new,
				 .host_devnull_fd = &devnull,
				 .bind_trees = a->bind_trees,
				 .cg = a->cg};
	char exec_path[PATH_MAX];
	char *state = NULL;
	size_t state_len = 0;
	struct seccomp_plan sp = SECCOMP_PLAN_INIT;
	int lsm_fd = -EBADF;
	char *lsm_value = NULL;
	int trampoline_fd = -EBADF;

	/* Until execve this process runs berth's own code inside the container's pid namespace:
	 * non-dumpable, a container process cannot open its /proc/<pid>/exe (the host's berth
	 * binary, CVE-2019-5736 class), mem or environ. Its execs (hooks, the user's process) go
	 * through the sealed trampoline, so no exec in the container resolves /proc/self/exe to
	 * the host's binary either. A rootless runtime stays dumpable until its GO (setup_pre_pivot):
	 * an unprivileged writer of uid_map, and newuidmap, need /proc/<pid> to be the user's, as
	 * runc's rootless init does; nothing else runs in the container until then. */
	/* Decided by the runtime's euid, not ours: the parent writes uid_map and then gid_map, so
	 * between the two this process's geteuid() already says 0, and becoming non-dumpable then
	 * made the gid_map write fail (EACCES, seen under load). */
	if (!a->runtime_rootless)
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* The flock is shared with `create` through this copy: keep it and other creates would
	 * wait until this init execs. */
	if (a->cg_lock_fd >= 0)
		close(a->cg_lock_fd);
	/* A detached run's own stdio (its log), before anything could write to the caller's. */
	for (int i = 0; a->stdio_fds && i < 3; i++)
		if (dup2(a->stdio_fds[i], i) < 0) {
			berth_error_setf_errno(&err, -errno, "set up the container's stdio");
			die(a->sync_fd, &err);
		}
	/* No descriptor of the caller beyond stdio and preserve_fds may reach anything that runs in
	 * the container, hooks included (CVE-2024-21626 class); berth's own are close-on-exec. */
	fds_cloexec_from(3 + a->preserve_fds);
	/* A session of its own, like runc's init (CRIU also needs the root task to lead one), always:
	 * the caller's terminal is then never the container's controlling terminal (TIOCSTI). */
	(void)setsid();
	reset_signals();
	/* Die with `create` while it still supervises us; cleared before it lets go. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

	int fifo_fd = openat(a->state_dir_fd, FIFO_FILE, O_RDWR | O_CLOEXEC);
	if (fifo_fd < 0) {
		berth_error_setf_errno(&err, -errno, "open exec.fifo");
		die(a->sync_fd, &err);
	}
	if (trampoline_open(&trampoline_fd, &err) < 0 ||
	    setup_pre_pivot(a, &ro, &sp, &lsm_fd, &lsm_value, trampoline_fd, &state, &state_len, &err) < 0 ||
	    setup_post_pivot(a, &ro, exec_path, sizeof(exec_path), &err) < 0)
		die(a->sync_fd, &err);
	/* Without no_new_privs the filter goes in now and the rest runs under it. */
	bool filtered = sp.prog && !c->process.no_new_privileges;
	bool proc_path_ok = filtered && trampoline_proc_path_ok(trampoline_fd);
	/* exec.fifo stays open into the trampoline, closed by the user's program's exec (see
	 * wait_for_start); filtered, it is made inheritable now, before the filter could refuse it. */
	if (filtered && fcntl(fifo_fd, F_SETFD, 0) < 0) {
		berth_error_setf_errno(&err, -errno, "keep exec.fifo open for the exec");
		die(a->sync_fd, &err);
	}
	if (load_seccomp(a, &sp, true, state, state_len, &err) < 0 ||
	    process_apply_identity(&c->process, &err) < 0)
		die(a->sync_fd, &err);

	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	if (sync_send(a->sync_fd, SYNC_READY, NULL, 0) < 0)
		_exit(1);
	close(a->sync_fd);

	/* From here on nobody listens on the sync socket: errors go to the container's stderr. */
	if (wait_for_start(fifo_fd, &err) < 0)
		die(-1, &err);
	/* Before the startContainer hooks, which runc runs with no_new_privs set. */
	if (c->process.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		berth_error_setf_errno(&err, -errno, "process.noNewPrivileges");
		die(-1, &err);
	}
	if (run_start_hooks(a, &sp, trampoline_fd, fifo_fd, filtered, proc_path_ok, state ? state : "",
			    state_len, &err) < 0)
		die(-1, &err);
	/* Through the trampoline: with noNewPrivileges it loads the filter (and hands the notify fd
	 * to the agent) as its last step; without, the filter is in already. */
	struct process_exec pe = {.proc = &c->process,
				  .path = exec_path,
				  .sp = &sp,
				  .seccomp = &c->linux_.seccomp,
				  .state = state,
				  .state_len = state_len,
				  .lsm_fd = lsm_fd,
				  .lsm_value = lsm_value,
				  .memfd = trampoline_fd,
				  .report_fd = -1,
				  .hold_fd = fifo_fd,
				  .filtered = filtered,
				  .proc_path_ok = proc_path_ok};
	trampoline_exec_process(&pe, &err);
	die(-1, &err);
}
