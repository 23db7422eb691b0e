/* Signal forwarding for foreground `run` and `exec`: the caller blocks these signals before it
 * clones, then waits for them synchronously and passes each one to the container process. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "berth/cleanup.h"
#include "exec.h"

static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

void exec_signal_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(set, forwarded[i]);
	sigaddset(set, SIGCHLD);
}

int exec_wait_forwarding(pid_t pid, const sigset_t *set)
{
	for (;;) {
		/* Reap first: SIGCHLD may have been consumed before we got here. */
		int status;
		pid_t w;
		while ((w = waitpid(-1, &status, WNOHANG)) > 0)
			if (w == pid)
				return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
		if (w < 0 && errno == ECHILD)
			return 255;
		siginfo_t si;
		int sig = sigwaitinfo(set, &si);
		if (sig > 0 && sig != SIGCHLD)
			kill(pid, sig);
	}
}
