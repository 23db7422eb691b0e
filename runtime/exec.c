/* exec: a new process in a running container. The parent enters the container's pid (and time)
 * namespace for its children only, clone3()s straight into the container's cgroup, and the child
 * joins the remaining namespaces through the init's pidfd in one setns() call before it shapes
 * itself like the container's process and execs. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "exec.h"
#include "lifecycle.h"
#include "ptyrelay.h"

/* A process.json is the config's process: the same bound as a config.json. */
#define PROCESS_JSON_MAX BERTH_CONFIG_MAX

void exec_plan_free(struct exec_plan *x)
{
	free(x->env);
	free(x->caps_bounding);
	free(x->caps_effective);
	free(x->caps_permitted);
	oci_process_free(x->owned_process);
	oci_config_free(x->config);
	closep(&x->pidfd);
	closep(&x->init_root_fd);
	closep(&x->cg_fd);
	cgroup_movers_close(&x->movers);
	closep(&x->console_fd);
	closep(&x->pty_sock);
	closep(&x->sync_fd);
	seccomp_plan_release(&x->seccomp);
	free(x->state_json);

	if (x->cg_resolved)
		cgroup_free(&x->cg);
	closep(&x->cg_root_fd);
	container_release(&x->c);
}

/* ---- the process to run ---- */

static int load_process_file(struct exec_plan *x, const char *path, struct berth_error *err)
{
	_cleanup_free_ char *json = NULL;
	size_t len;
	int r = read_file_at(AT_FDCWD, path, PROCESS_JSON_MAX, &json, &len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "--process: read '%s'", path);
	r = oci_process_parse(json, len, &x->owned_process, err);
	if (r < 0)
		return berth_error_prefix(err, "--process '%s'", path);
	x->proc = *x->owned_process;
	/* As runc: a process.json without LSM labels gets the container's. */
	if (!x->proc.apparmor_profile)
		x->proc.apparmor_profile = x->config->process.apparmor_profile;
	if (!x->proc.selinux_label)
		x->proc.selinux_label = x->config->process.selinux_label;
	return 0;
}

/* The container's env with every -e NAME=VALUE added or replacing the same NAME. */
static int merge_env(struct exec_plan *x, char **base, char **extra, struct berth_error *err)
{
	size_t nb = 0, ne = 0;
	while (base && base[nb])
		nb++;
	while (extra && extra[ne])
		ne++;
	char **env = calloc(nb + ne + 1, sizeof(char *));
	if (!env)
		return berth_error_set(err, -ENOMEM, "out of memory");
	size_t n = 0;
	for (size_t i = 0; i < nb; i++) {
		size_t klen = strcspn(base[i], "=");
		bool overridden = false;
		for (size_t j = 0; j < ne && !overridden; j++)
			overridden = strncmp(extra[j], base[i], klen + 1) == 0;
		if (!overridden)
			env[n++] = base[i];
	}
	for (size_t j = 0; j < ne; j++) {
		if (!strchr(extra[j], '=')) {
			free(env);
			return berth_error_set(err, -EINVAL, "-e: \"%s\" is not NAME=VALUE", extra[j]);
		}
		env[n++] = extra[j];
	}
	x->env = env;
	x->proc.env = env;
	return 0;
}

static int parse_user(struct exec_plan *x, const char *user, struct berth_error *err)
{
	int64_t uid, gid;
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", user);
	char *colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (parse_int64(buf, 0, UINT32_MAX - 1, &uid) < 0 ||
	    (colon && parse_int64(colon + 1, 0, UINT32_MAX - 1, &gid) < 0))
		return berth_error_set(err, -EINVAL, "--user: \"%s\" is not uid[:gid] (numbers)", user);
	x->proc.user.uid = (uint32_t)uid;
	x->proc.user.gid = colon ? (uint32_t)gid : (uint32_t)uid == 0 ? 0 : x->proc.user.gid;
	return 0;
}

/* --cap adds a capability to the bounding, effective and permitted sets, as runc does. */
static int add_caps(char ***slot, char ***owned, char **extra, struct berth_error *err)
{
	size_t nb = 0, ne = 0;
	while (*slot && (*slot)[nb])
		nb++;
	while (extra[ne])
		ne++;
	char **v = calloc(nb + ne + 1, sizeof(char *));
	if (!v)
		return berth_error_set(err, -ENOMEM, "out of memory");
	if (nb)
		memcpy(v, *slot, nb * sizeof(char *));
	memcpy(v + nb, extra, ne * sizeof(char *));
	*slot = v;
	*owned = v;
	return 0;
}

static int build_process(struct exec_plan *x, const struct berth_exec_opts *o, struct berth_error *err)
{
	if (o->process_file)
		return load_process_file(x, o->process_file, err);
	if (!o->args || !o->args[0])
		return berth_error_set(err, -EINVAL, "exec: a command (or --process) is required");
	x->proc = x->config->process;
	x->proc.args = o->args;
	x->proc.terminal = o->tty;
	x->proc.has_console_size = false;
	if (o->cwd)
		x->proc.cwd = (char *)o->cwd;
	if (o->no_new_privs)
		x->proc.no_new_privileges = true;
	if (o->n_additional_gids) {
		x->proc.user.additional_gids = o->additional_gids;
		x->proc.user.n_additional_gids = o->n_additional_gids;
	}
	int r = merge_env(x, x->config->process.env, o->env, err);
	if (r == 0 && o->user)
		r = parse_user(x, o->user, err);
	if (r == 0 && o->caps && o->caps[0]) {
		struct oci_capabilities *c = &x->proc.capabilities;
		x->proc.has_capabilities = true;
		r = add_caps(&c->bounding, &x->caps_bounding, o->caps, err);
		if (r == 0)
			r = add_caps(&c->effective, &x->caps_effective, o->caps, err);
		if (r == 0)
			r = add_caps(&c->permitted, &x->caps_permitted, o->caps, err);
	}
	return r;
}

/* ---- the container ---- */

static int check_status(const struct berth_context *ctx, struct exec_plan *x, const struct berth_exec_opts *o,
			struct berth_error *err)
{
	enum oci_status st = container_status(ctx, &x->c);
	if (st == OCI_STATUS_STOPPED)
		return berth_error_set(err, -ESRCH, "container not running");
	if (st == OCI_STATUS_PAUSED && !o->ignore_paused)
		return berth_error_set(err, -EBUSY,
				       "the container is paused (use --ignore-paused to override)");
	x->paused = st == OCI_STATUS_PAUSED;
	return 0;
}

/* --cgroup [controller:]path, as runc 1.1: "cpu,cpuacct:sub" names a v1 hierarchy by a controller
 * it carries; a word without ':' is a path for every hierarchy. */
static int enter_sub_cgroups(struct exec_plan *x, const struct berth_exec_opts *o, struct berth_error *err)
{
	for (size_t i = 0; o->cgroups && o->cgroups[i]; i++) {
		_cleanup_free_ char *controller = NULL;
		const char *s = o->cgroups[i], *colon = strchr(s, ':');
		int r;

		if (colon && !(controller = strndup(s, (size_t)(colon - s))))
			return berth_error_set(err, -ENOMEM, "out of memory");
		if (controller && !*controller)
			return berth_error_set(err, -EINVAL, "--cgroup: \"%s\": empty controller", s);
		r = cgroup_descend(&x->cg, controller, colon ? colon + 1 : s, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A container without a mount namespace of its own (none, or one joined by path) is chrooted into
 * its rootfs: joining the namespace alone would give the process that namespace's root, the host's
 * in the first case. The process is chrooted where the init is. */
static int open_init_root(struct exec_plan *x, struct berth_error *err)
{
	const struct oci_namespace *mnt = oci_config_namespace(x->config, OCI_NS_MOUNT);
	char path[64];
	if (mnt && !mnt->path)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/root", (int)x->c.rec->pid);
	x->init_root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (x->init_root_fd < 0)
		return berth_error_setf_errno(err, -errno, "open the root of the container's init (%s)",
					      path);
	return 0;
}

static int open_container(const struct berth_context *ctx, struct exec_plan *x,
			  const struct berth_exec_opts *o, struct berth_error *err)
{
	int r = container_load(ctx, o->id, &x->c, err);
	if (r == 0)
		r = check_status(ctx, x, o, err);
	if (r == 0)
		r = container_config(&x->c, &x->config, err);
	if (r < 0)
		return r;
	x->pidfd = (int)syscall(SYS_pidfd_open, x->c.rec->pid, 0);
	if (x->pidfd < 0)
		return berth_error_setf_errno(err, -errno, "open the init of \"%s\"", o->id);
	r = open_init_root(x, err);
	if (r < 0)
		return r;
	for (int t = 0; t < OCI_NS_MAX; t++) {
		if (!x->c.rec->ns_paths[t])
			continue;
		if (t == OCI_NS_PID || t == OCI_NS_TIME)
			x->parent_ns |= oci_ns_clone_flag(t);
		else
			x->child_ns |= oci_ns_clone_flag(t);
	}
	x->userns = x->c.rec->ns_paths[OCI_NS_USER] != NULL;
	/* runc applies the container's filter to exec'd processes too. */
	if (x->config->has_linux && x->config->linux_.has_seccomp) {
		r = seccomp_plan_prepare(&x->config->linux_.seccomp, x->c.root_fd, &x->seccomp, err);
		if (r == 0)
			r = container_state_json(x->c.rec, OCI_STATUS_RUNNING, false, &x->state_json,
						 &x->state_len);
		if (r < 0)
			return r;
	}
	if (o->cgroups && o->cgroups[0] && !x->c.rec->cgroup_path)
		return berth_error_set(err, -EINVAL, "--cgroup: the container has no cgroup");
	if (x->c.rec->cgroup_path) {
		r = container_cgroup(ctx, x->c.rec, &x->cg, &x->cg_root_fd, err);

		if (r < 0)
			return r;
		x->cg_resolved = true;
		r = enter_sub_cgroups(x, o, err);
		if (r < 0)
			return r;
		x->cg_fd = cgroup_open_unified(&x->cg, NULL);
		return cgroup_movers_open(&x->cg, &x->movers, err);
	}
	return 0;
}

static int connect_socket(const char *path, int *ret_fd, struct berth_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return berth_error_set(err, -ENAMETOOLONG, "--console-socket: path '%s' is too long", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		if (fd >= 0)
			close(fd);
		return berth_error_setf_errno(err, r, "--console-socket: connect to '%s'", path);
	}
	*ret_fd = fd;
	return 0;
}

static int validate_terminal(struct exec_plan *x, const struct berth_exec_opts *o, struct berth_error *err)
{
	if (x->proc.terminal && o->detach && !o->console_socket)
		return berth_error_set(err, -EINVAL,
				       "exec: a detached process with a terminal needs --console-socket");
	if (!x->proc.terminal && o->console_socket)
		return berth_error_set(err, -EINVAL,
				       "--console-socket: given but the process has no terminal");
	if (o->console_socket)
		return connect_socket(o->console_socket, &x->console_fd, err);
	if (!x->proc.terminal)
		return 0;
	/* In the foreground: a new pty the child opens and berth relays, never the caller's own
	 * terminal (TIOCSTI). Sized like the caller's before the process starts, which then never
	 * sees another size (SIGWINCH follows the caller's later). */
	struct winsize ws;
	int tty = pty_relay_caller_tty();
	if (tty >= 0 && ioctl(tty, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		x->proc.has_console_size = true;
		x->proc.console_height = ws.ws_row;
		x->proc.console_width = ws.ws_col;
	}
	return pty_relay_socketpair(&x->pty_sock, &x->console_fd, err);
}

/* Wait for a foreground process: through its pty when it has one of berth's making. */
static int wait_foreground(pid_t pid, int master, const sigset_t *set)
{
	if (master < 0)
		return exec_wait_forwarding(pid, set);
	struct pty_relay_io io = {.master = master,
				  .in_fd = STDIN_FILENO,
				  .out_fd = STDOUT_FILENO,
				  .size_fd = pty_relay_caller_tty()};
	return pty_relay_run(&io, pid, set);
}

/* Kill a process whose exec failed and reap it, for a bounded time: in a v1 freezer a frozen
 * process acts on SIGKILL only once thawed, and then dies on its own (reparented). */
static void reap_failed(pid_t pid)
{
	kill(pid, SIGKILL);
	for (int i = 0; i < 100; i++) {
		pid_t w = waitpid(pid, NULL, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			return;
		usleep(10000);
	}
}

int berth_container_exec(const struct berth_context *ctx, const struct berth_exec_opts *o, int *ret_status,
			 struct berth_error *err)
{
	struct exec_plan x = {.c = {.root_fd = -EBADF, .dir_fd = -EBADF},
			      .pidfd = -EBADF,
			      .cg_root_fd = -EBADF,
			      .cg_fd = -EBADF,
			      .console_fd = -EBADF,
			      .pty_sock = -EBADF,
			      .sync_fd = -EBADF,
			      .init_root_fd = -EBADF,
			      .seccomp = SECCOMP_PLAN_INIT};

	_cleanup_close_ int master = -EBADF;
	sigset_t set, old;
	exec_signal_set(&set);
	sigprocmask(SIG_BLOCK, &set, &old);

	int r = open_container(ctx, &x, o, err);
	/* The process cannot start before the container is resumed, and `resume` needs the lock:
	 * holding it across that wait would deadlock the two. What the exec needs of the container
	 * (record, config, a pidfd of the init) is loaded already. */
	if (r == 0 && x.paused)
		(void)flock(x.c.dir_fd, LOCK_UN);
	if (r == 0)
		r = build_process(&x, o, err);
	if (r == 0)
		r = validate_terminal(&x, o, err);
	if (r == 0)
		r = exec_spawn(&x, o, err);
	if (r == 0 && x.pty_sock >= 0)
		r = pty_relay_receive(x.pty_sock, &master, err);
	if (r == 0 && o->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)x.pid);
		r = write_file_atomic_at(AT_FDCWD, o->pid_file, buf, (size_t)n, 0644);
		if (r < 0)
			berth_error_setf_errno(err, r, "--pid-file: write '%s'", o->pid_file);
	}
	pid_t pid = x.pid;
	exec_plan_free(&x); /* drops the container lock before a possibly long wait */
	if (r < 0 && pid > 0)
		reap_failed(pid);
	if (r == 0)
		*ret_status = o->detach ? 0 : wait_foreground(pid, master, &set);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r < 0 ? berth_error_prefix(err, "exec in \"%s\"", o->id) : 0;
}
