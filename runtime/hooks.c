/* OCI hooks: each runs with the state JSON on stdin, its own args and env, and an optional timeout. */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/util.h"
#include "lifecycle.h"
#include "trampoline_exec.h"

/* A hook without `env` gets an environment as with runc (Go's exec.Cmd with a nil Env): the
 * runtime's own for the hooks run in the runtime's namespaces, the container process's for the
 * two kinds run inside the container (runc's init has switched to that environment by then). */
static char *const *hook_env(const struct oci_config *config, const struct oci_hook *h,
			     enum oci_hook_kind kind)
{
	static char *const empty_env[] = {NULL};

	if (h->env)
		return h->env;
	if (kind == OCI_HOOK_CREATE_CONTAINER)
		return config->process.env ? config->process.env : empty_env;
	if (kind == OCI_HOOK_START_CONTAINER) {
		/* After the root switch, as runc's: with HOME from the container's /etc/passwd when
		 * process.env has none (the init execs soon, so the small copy is never freed). */
		char **env = config->process.env ? config->process.env : (char **)empty_env;
		(void)process_env_with_home(&config->process, &env);
		return env;
	}
	return environ;
}

static __attribute__((noreturn)) void hook_exec(const struct oci_hook *h, char *const *env, int stdin_fd,
						const struct hook_exec_via *via)
{
	char *const fallback_argv[] = {h->path, NULL};

	if (dup2(stdin_fd, STDIN_FILENO) < 0)
		_exit(126);
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (via) {
		/* A hook in the container is a fork of berth too: it leaves through the trampoline. */
		struct berth_error err = {0};
		/* close_range: what berth used after loading a filter before (profiles allow it). */
		if (via->not_inherited_fd >= 0 &&
		    syscall(SYS_close_range, (unsigned)via->not_inherited_fd, (unsigned)via->not_inherited_fd,
			    CLOSE_RANGE_CLOEXEC) < 0 &&
		    fcntl(via->not_inherited_fd, F_SETFD, FD_CLOEXEC) < 0)
			_exit(127);
		struct trampoline_call c = {.memfd = via->memfd,
					    .path = h->path,
					    .argv = h->args ? h->args : fallback_argv,
					    .envp = env,
					    .report_fd = -1,
					    .fail_status = 127,
					    .hold_fd = -1,
					    .control_fd = via->control_fd,
					    .filtered = via->filtered,
					    .proc_path_ok = via->proc_path_ok};
		(void)trampoline_exec(&c, &err);
		dprintf(STDERR_FILENO, "berth: %s\n", err.msg);
		_exit(127);
	}
	execve(h->path, h->args ? h->args : fallback_argv, env);
	_exit(127);
}

/* Wait for @pid for at most @timeout seconds (0: forever). Returns the wait status or -ETIMEDOUT. */
static int wait_with_timeout(pid_t pid, int timeout)
{
	int status;
	if (timeout > 0) {
		_cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pfd >= 0) {
			struct pollfd p = {.fd = pfd, .events = POLLIN};
			int n;
			do
				n = poll(&p, 1, timeout * 1000);
			while (n < 0 && errno == EINTR);
			if (n == 0) {
				kill(pid, SIGKILL);
				while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
					;
				return -ETIMEDOUT;
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return status;
}

static int run_one(const struct oci_hook *h, char *const *env, const char *state, size_t len,
		   const struct hook_exec_via *via, struct berth_error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return berth_error_setf_errno(err, -errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(p[0]);
		close(p[1]);
		return berth_error_setf_errno(err, r, "fork");
	}
	if (pid == 0) {
		close(p[1]);
		hook_exec(h, env, p[0], via);
	}
	close(p[0]);
	/* A hook need not read its stdin; EPIPE here is fine (SIGPIPE is ignored by the CLI). */
	(void)write_all(p[1], state, len);
	close(p[1]);

	int status = wait_with_timeout(pid, h->has_timeout ? h->timeout : 0);
	if (status == -ETIMEDOUT)
		return berth_error_set(err, -ETIMEDOUT, "timed out after %d seconds", h->timeout);
	if (status < 0)
		return berth_error_setf_errno(err, status, "wait");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return berth_error_set(err, -ENOEXEC, "could not be executed (exit status 127)");
	if (WIFEXITED(status))
		return berth_error_set(err, -ECANCELED, "exited with status %d", WEXITSTATUS(status));
	return berth_error_set(err, -ECANCELED, "killed by signal %d", WTERMSIG(status));
}

int hooks_run_via(const struct oci_config *config, enum oci_hook_kind kind, const char *state_json,
		  size_t state_len, const struct hook_exec_via *via, struct berth_error *err)
{
	/* The spec: a failing poststart or poststop hook is a warning, and the remaining hooks and the
	 * lifecycle go on as if it had succeeded. Every other kind stops at the first failure. */
	bool warn_only = kind == OCI_HOOK_POSTSTART || kind == OCI_HOOK_POSTSTOP;

	for (size_t i = 0; i < config->n_hooks[kind]; i++) {
		const struct oci_hook *h = &config->hooks[kind][i];
		struct berth_error hook_err = {0};
		int r = run_one(h, hook_env(config, h, kind), state_json, state_len, via, &hook_err);
		if (r == 0)
			continue;
		berth_error_prefix(&hook_err, "%s hook[%zu] (%s)", oci_hook_kind_name(kind), i, h->path);
		if (!warn_only) {
			*err = hook_err;
			return r;
		}
		log_warn("%s", hook_err.msg);
	}
	return 0;
}

int hooks_run(const struct oci_config *config, enum oci_hook_kind kind, const char *state_json,
	      size_t state_len, struct berth_error *err)
{
	return hooks_run_via(config, kind, state_json, state_len, NULL, err);
}
