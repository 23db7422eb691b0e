/* Spawning the init: one clone3() with every new namespace (and CLONE_INTO_CGROUP), then the
 * parent writes the id maps, places the init in the v1 hierarchies, runs the create-time hooks
 * it owns, and waits for the init to report "ready" or an error. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "create.h"
#include "internal.h"
#include "lifecycle.h"
#include "rootless.h"
#include "systemd_glue.h"

/* Namespaces that only take effect for children (pid, time) are entered or made by the parent
 * itself just around clone3; these descriptors let it return to its own afterwards. */
struct saved_ns {
	int pid_fd, time_fd;
};

static int write_time_offsets(const struct oci_linux *l, struct berth_error *err)
{
	char buf[256];
	size_t n = 0;
	for (size_t i = 0; i < l->n_time_offsets && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s %lld %u\n", l->time_offsets[i].clock,
				      (long long)l->time_offsets[i].secs, l->time_offsets[i].nanosecs);
	if (n == 0)
		return 0;
	int r = write_file_at(AT_FDCWD, "/proc/self/timens_offsets", buf, n, false, 0);
	return r < 0 ? berth_error_setf_errno(err, r, "linux.timeOffsets: write") : 0;
}

static int enter_child_namespaces(struct create_plan *p, struct saved_ns *s, struct berth_error *err)
{
	const struct oci_namespace *pid = oci_config_namespace(p->config, OCI_NS_PID);
	const struct oci_namespace *time = oci_config_namespace(p->config, OCI_NS_TIME);
	if (pid && pid->path) {
		s->pid_fd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (s->pid_fd < 0 || setns(p->ns_fds[OCI_NS_PID], CLONE_NEWPID) < 0)
			return berth_error_setf_errno(err, -errno, "join the pid namespace '%s'", pid->path);
	}
	if (!time)
		return 0;
	s->time_fd = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
	if (s->time_fd < 0)
		return berth_error_setf_errno(err, -errno, "open /proc/self/ns/time");
	if (time->path) {
		if (setns(p->ns_fds[OCI_NS_TIME], CLONE_NEWTIME) < 0)
			return berth_error_setf_errno(err, -errno, "join the time namespace '%s'",
						      time->path);
		return 0;
	}
	/* A new time namespace: its offsets must be written before any process enters it. */
	if (unshare(CLONE_NEWTIME) < 0)
		return berth_error_setf_errno(err, -errno, "create the time namespace");
	return write_time_offsets(&p->config->linux_, err);
}

static void leave_child_namespaces(struct saved_ns *s)
{
	if (s->pid_fd >= 0)
		(void)setns(s->pid_fd, CLONE_NEWPID);
	if (s->time_fd >= 0)
		(void)setns(s->time_fd, CLONE_NEWTIME);
	closep(&s->pid_fd);
	closep(&s->time_fd);
}

/* clone3 into @cg_fd, then wait for the child's first byte on a pipe: EOF instead means the
 * kernel killed it on entry. Some kernels (seen on 6.18) SIGKILL every child cloned into a cgroup
 * that once had cgroup.kill written, as if that kill were still going on. */
static pid_t clone3_checked(struct clone_args *ca)
{
	int alive[2];
	if (pipe2(alive, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = (pid_t)syscall(SYS_clone3, ca, sizeof(*ca));
	if (pid == 0) {
		(void)!write(alive[1], "", 1);
		close(alive[0]);
		close(alive[1]);
		return 0;
	}
	close(alive[1]);
	char b;
	ssize_t n = 1;
	if (pid > 0) {
		/* Bounded: in a frozen cgroup (exec --ignore-paused) the child runs only once thawed. */
		struct pollfd pfd = {.fd = alive[0], .events = POLLIN};
		int r;
		do
			r = poll(&pfd, 1, (int)berth_wait_limit_ms());
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			close(alive[0]);
			kill(pid, SIGKILL); /* acts at once in a cgroup2 freezer */
			(void)waitpid(pid, NULL, WNOHANG);
			errno = ETIMEDOUT;
			return -1;
		}
		n = read(alive[0], &b, 1);
	}
	close(alive[0]);
	if (n == 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		log_debug("clone3: the child was killed on entering its cgroup: placing it by pid");
		errno = ESTALE;
		return -1;
	}
	return pid;
}

pid_t spawn_clone3(uint64_t flags, int cg_fd, bool cg_fresh, bool *ret_into_cgroup)
{
	struct clone_args ca = {.flags = flags, .exit_signal = SIGCHLD};
	if (cg_fd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)cg_fd;
	}
	/* A cgroup made by this create has never been killed: no need to check. */
	pid_t pid =
	    cg_fd >= 0 && !cg_fresh ? clone3_checked(&ca) : (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	*ret_into_cgroup = cg_fd >= 0;
	if (pid < 0 && cg_fd >= 0 && errno != ENOMEM && errno != EPERM && errno != ETIMEDOUT) {
		/* Older kernels or odd hierarchies: place the init by pid afterwards. */
		ca.flags &= ~(uint64_t)CLONE_INTO_CGROUP;
		ca.cgroup = 0;
		*ret_into_cgroup = false;
		pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	}
	return pid;
}

static void fill_child_args(const struct create_plan *p, const struct berth_create_opts *o, int sync_fd,
			    struct child_args *a)
{
	const struct oci_namespace *mnt = oci_config_namespace(p->config, OCI_NS_MOUNT);
	*a = (struct child_args){
	    .config = p->config,
	    .rootfs = p->rootfs,
	    .bundle = p->bundle,
	    .sync_fd = sync_fd,
	    .state_dir_fd = p->dir_fd,
	    .console_fd = p->console_fd,
	    .unshare_flags = p->unshare_flags,
	    .new_userns = p->new_userns,
	    .userns_any = p->userns_any,
	    .config_mount_ns_new = mnt && !mnt->path,
	    .no_pivot = o->no_pivot,
	    .no_new_keyring = o->no_new_keyring,
	    .preserve_fds = o->preserve_fds,
	    .cg = p->cg_resolved ? &p->cg : NULL,
	    .movers = p->movers.n ? &p->movers : NULL,
	    .bind_trees = p->bind_trees,
	    .cg_lock_fd = p->cg_lock_fd,
	    .stdio_fds = p->has_stdio_log ? p->stdio_log : NULL,
	    .runtime_rootless = geteuid() != 0,
	};
	memcpy(a->ns_fds, p->ns_fds, sizeof(a->ns_fds));
}

/* Parent-side configuration between clone3 and the init's first step. */
static int configure_child(struct create_plan *p, bool into_cgroup, struct berth_error *err)
{
	const struct oci_linux *l = &p->config->linux_;
	int r;
	if (p->new_userns) {
		r = rootless_write_id_maps(p->pid, l, err);
		if (r < 0)
			return r;
	}
	r = network_configure(p, err);
	if (r < 0)
		return r;
	/* From here (host root), as lowering the score needs CAP_SYS_RESOURCE in the initial user ns. */
	r = process_apply_oom_score_adj(&p->config->process, p->pid, err);
	if (r < 0)
		return r;
	if (p->systemd)
		r = systemd_place_init(p, err);
	if (r == 0 && p->cg_resolved)
		r = cgroup_enter(&p->cg, p->pid, (into_cgroup ? CGROUP_SKIP_UNIFIED : 0) | CGROUP_SKIP_V1,
				 err);
	if (r < 0)
		return r;
	/* The init is in the cgroup that cgroup_pids reads (the unified one): another create now
	 * sees it in use. Without a unified tree the init moves itself into v1 after SYNC_GO. */
	if (p->cg.has_unified)
		closep(&p->cg_lock_fd);
	r = sync_send(p->sync_fd, SYNC_GO, NULL, 0);
	return r < 0 ? berth_error_setf_errno(err, r, "signal the container init") : 0;
}

static int init_died(struct create_plan *p, struct berth_error *err)
{
	int status = 0;
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	p->pid = 0;
	if (WIFSIGNALED(status))
		return berth_error_set(err, -ECHILD, "container init was killed by signal %d during set-up",
				       WTERMSIG(status));
	return berth_error_set(err, -ECHILD, "container init exited with status %d during set-up",
			       WEXITSTATUS(status));
}

/* The init asks for the prestart/createRuntime hooks once its mounts are done. */
static int run_parent_hooks(struct create_plan *p, const char *id, struct berth_error *err)
{
	struct berth_record rec = {.id = (char *)id, .bundle = p->bundle, .pid = p->pid};
	closep(&p->cg_lock_fd); /* the init asked for the hooks: it is in its v1 cgroups too */
	rec.annotations = (struct oci_kv *)network_annotations(p, &rec.n_annotations);
	_cleanup_free_ char *state = NULL;
	size_t len = 0;
	struct oci_state st = {.id = id,
			       .status = OCI_STATUS_CREATING,
			       .pid = p->pid,
			       .bundle = p->bundle,
			       .annotations = rec.annotations,
			       .n_annotations = rec.n_annotations};
	int r = oci_state_to_json(&st, false, &state, &len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "serialise state");
	r = hooks_run(p->config, OCI_HOOK_PRESTART, state, len, err);
	if (r == 0)
		r = hooks_run(p->config, OCI_HOOK_CREATE_RUNTIME, state, len, err);
	if (r < 0)
		return r;
	r = sync_send(p->sync_fd, SYNC_GO, state, len);
	return r < 0 ? berth_error_setf_errno(err, r, "signal the container init") : 0;
}

static int wait_ready(struct create_plan *p, const char *id, struct berth_error *err)
{
	for (;;) {
		enum sync_type t;
		_cleanup_free_ char *payload = NULL;
		size_t len = 0;
		int r = sync_recv(p->sync_fd, &t, &payload, &len);
		if (r == -EPIPE || r == -ECONNRESET)
			return init_died(p, err);
		if (r < 0)
			return berth_error_setf_errno(err, r, "read from the container init");
		switch (t) {
		case SYNC_READY:
			return 0;
		case SYNC_HOOKS:
			r = run_parent_hooks(p, id, err);
			if (r < 0)
				return r;
			fault_point("create.after-hooks");
			break;
		case SYNC_ERROR:
			if (len != sizeof(struct berth_error))
				return berth_error_set(err, -EPROTO,
						       "malformed error from the container init");
			memcpy(err, payload, sizeof(*err));
			err->msg[sizeof(err->msg) - 1] = '\0';
			return err->code < 0 ? err->code : -EIO;
		default:
			return berth_error_set(err, -EPROTO, "unexpected message %d from the container init",
					       (int)t);
		}
	}
}

int create_spawn(struct create_plan *p, const struct berth_create_opts *o, struct berth_error *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return berth_error_setf_errno(err, -errno, "socketpair");
	p->sync_fd = sv[0];
	struct child_args a;
	fill_child_args(p, o, sv[1], &a);

	struct saved_ns saved = {.pid_fd = -EBADF, .time_fd = -EBADF};
	int r = enter_child_namespaces(p, &saved, err);
	bool into_cgroup = false;
	if (r == 0) {
		p->pid = spawn_clone3(p->clone_flags, p->cg_fd, p->cg_fresh, &into_cgroup);
		if (p->pid == 0) {
			close(sv[0]);
			child_main(&a);
		}
		if (p->pid < 0)
			r = berth_error_setf_errno(err, -errno, "clone3 the container init (flags 0x%lx)",
						   p->clone_flags);
		else
			fault_point("create.after-clone");
	}
	leave_child_namespaces(&saved);
	close(sv[1]);
	if (r < 0) {
		p->pid = 0;
		return r;
	}
	r = configure_child(p, into_cgroup, err);
	if (r == 0)
		r = wait_ready(p, o->id, err);
	if (r == 0 && proc_start_time(p->pid, &p->pid_start_time) < 0)
		r = init_died(p, err);
	return r;
}

int create_persist(struct create_plan *p, const char *id, pid_t pid, struct berth_error *err)
{
	char created[48];
	rfc3339_now(created, sizeof(created));
	struct berth_record rec = {
	    .id = (char *)id,
	    .bundle = p->bundle,
	    .rootfs = p->rootfs,
	    .pid = pid,
	    .pid_start_time = p->pid_start_time,
	    .created = created,
	    .owner = geteuid() == 0 ? "root" : "",
	    .cgroup_path = p->cg_resolved ? p->cg.path : NULL,
	    .cgroup_owned = p->cg_created,
	    .systemd_cgroup = p->systemd,
	    .hook_kinds_known = true,
	};
	for (int k = 0; k < OCI_HOOK_KIND_MAX; k++)
		if (p->config->n_hooks[k])
			rec.hook_kinds |= 1u << k;
	rec.annotations = (struct oci_kv *)network_annotations(p, &rec.n_annotations);
	char ns_buf[OCI_NS_MAX][64];
	for (size_t i = 0; i < p->config->linux_.n_namespaces; i++) {
		const struct oci_namespace *ns = &p->config->linux_.namespaces[i];
		if (ns->path) {
			rec.ns_paths[ns->type] = ns->path;
		} else if (pid > 0) {
			snprintf(ns_buf[ns->type], sizeof(ns_buf[0]), "/proc/%d/ns/%s", (int)pid,
				 oci_ns_type_name(ns->type));
			rec.ns_paths[ns->type] = ns_buf[ns->type];
		}
	}
	return container_save(p->dir_fd, &rec, err);
}
