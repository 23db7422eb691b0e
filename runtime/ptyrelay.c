/* The relay between berth's stdio and the pty of a foreground container process (ptyrelay.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/util.h"
#include "exec.h"
#include "ptyrelay.h"

#define RELAY_BUF 4096
/* Once the process has exited, what it wrote may still be on its way to the master (the tty
 * layer pushes it from a work queue), and an exec'd process's children may still hold the pty:
 * drain until EIO, or until the pty has been quiet this long, and at most DRAIN_MAX_MS. */
#define DRAIN_QUIET_MS 100
#define DRAIN_MAX_MS 2000

int pty_relay_socketpair(int *ret_parent, int *ret_child, struct berth_error *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return berth_error_setf_errno(err, -errno, "process.terminal: socketpair for the pty");
	*ret_parent = sv[0];
	*ret_child = sv[1];
	return 0;
}

int pty_relay_receive(int sock, int *ret_master, struct berth_error *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	memset(&u, 0, sizeof(u));
	do
		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return berth_error_setf_errno(err, -errno, "process.terminal: receive the pty master");
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (n != 1 || !cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return berth_error_set(err, -EPROTO, "process.terminal: the process sent no pty master");
	memcpy(ret_master, CMSG_DATA(cm), sizeof(int));
	return 0;
}

int pty_relay_caller_tty(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (isatty(fd))
			return fd;
	return -1;
}

void pty_relay_copy_size(int tty_fd, int master)
{
	struct winsize ws;
	if (tty_fd >= 0 && ioctl(tty_fd, TIOCGWINSZ, &ws) == 0 && (ws.ws_row || ws.ws_col))
		(void)ioctl(master, TIOCSWINSZ, &ws);
}

/* ---- the caller's terminal in raw mode ----
 * Signal handlers must be able to put the terminal back, so its settings live in one static
 * record (the only global state here: one relay runs per berth process). */

static struct {
	int fd;
	struct termios orig, raw;
	volatile sig_atomic_t active;
} term = {.fd = -1};

static const int fatal_signals[] = {SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGIO,  SIGPWR, SIGSTKFLT,
				    SIGSEGV, SIGBUS,    SIGILL,  SIGFPE,  SIGABRT, SIGSYS, SIGTRAP};
static const int stop_signals[] = {SIGTSTP, SIGTTIN, SIGTTOU};
static struct sigaction saved_fatal[ARRAY_SIZE(fatal_signals)], saved_stop[ARRAY_SIZE(stop_signals)];

/* berth dies: the terminal first, then the signal's own default action. */
static void on_fatal(int sig)
{
	if (term.active)
		(void)tcsetattr(term.fd, TCSANOW, &term.orig);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* berth is stopped: the caller's shell gets its terminal back as it was; raw again once berth
 * continues in the foreground (in the background it will be stopped again when it reads). The
 * signal's default action does the stopping, so the kernel still discards it where it would
 * (a process group no shell could continue). */
static void on_stop(int sig)
{
	int saved = errno;
	struct sigaction dfl = {.sa_handler = SIG_DFL}, mine;
	sigset_t self;
	sigemptyset(&self);
	sigaddset(&self, sig);
	if (term.active)
		(void)tcsetattr(term.fd, TCSANOW, &term.orig);
	sigaction(sig, &dfl, &mine);
	sigprocmask(SIG_UNBLOCK, &self, NULL);
	raise(sig);
	sigprocmask(SIG_BLOCK, &self, NULL);
	sigaction(sig, &mine, NULL);
	pid_t fg = tcgetpgrp(term.fd); /* -1: not berth's controlling terminal, no foreground */
	if (term.active && (fg < 0 || fg == getpgrp()))
		(void)tcsetattr(term.fd, TCSANOW, &term.raw);
	errno = saved;
}

static void install_handlers(void)
{
	struct sigaction sa = {.sa_handler = on_fatal, .sa_flags = SA_RESETHAND | SA_NODEFER};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++)
		sigaction(fatal_signals[i], &sa, &saved_fatal[i]);
	sa = (struct sigaction){.sa_handler = on_stop, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(stop_signals); i++)
		sigaddset(&sa.sa_mask, stop_signals[i]);
	for (size_t i = 0; i < ARRAY_SIZE(stop_signals); i++)
		sigaction(stop_signals[i], &sa, &saved_stop[i]);
}

static void restore_handlers(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++)
		sigaction(fatal_signals[i], &saved_fatal[i], NULL);
	for (size_t i = 0; i < ARRAY_SIZE(stop_signals); i++)
		sigaction(stop_signals[i], &saved_stop[i], NULL);
}

/* Raw mode on @fd if it is a terminal: keystrokes (^C, ^Z, ^D included) go to the container's
 * pty unchanged and the pty's line discipline interprets them, as if typed there. */
static void term_enter(int fd)
{
	if (fd < 0 || !isatty(fd) || tcgetattr(fd, &term.orig) < 0)
		return;
	term.fd = fd;
	term.raw = term.orig;
	cfmakeraw(&term.raw);
	install_handlers();
	term.active = 1;
	if (tcsetattr(fd, TCSANOW, &term.raw) < 0) {
		term.active = 0;
		restore_handlers();
	}
}

static void term_leave(void)
{
	if (!term.active)
		return;
	(void)tcsetattr(term.fd, TCSANOW, &term.orig);
	term.active = 0;
	restore_handlers();
	term.fd = -1;
}

/* ---- the relay loop ---- */

struct relay {
	const struct pty_relay_io *io;
	pid_t pid;
	int sigfd;
	bool in_open, master_open, exited;
	int status;
	char in[RELAY_BUF];
	size_t in_len, in_off;
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reap every child that is done; note @pid's exit. */
static void reap(struct relay *r)
{
	int status;
	pid_t w;
	while ((w = waitpid(-1, &status, WNOHANG)) > 0)
		if (w == r->pid) {
			r->exited = true;
			r->status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
		}
	if (w < 0 && errno == ECHILD && !r->exited) {
		r->exited = true;
		r->status = 255;
	}
}

static void handle_signals(struct relay *r)
{
	struct signalfd_siginfo si;
	while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;
		if (sig == SIGCHLD)
			reap(r);
		else if (sig == SIGWINCH)
			pty_relay_copy_size(r->io->size_fd, r->io->master);
		else if (!r->exited)
			kill(r->pid, sig);
	}
}

/* Output: everything the master has now, to out_fd (a blocking write: output is never dropped
 * while someone reads it; a closed out_fd only discards it). */
static void pump_output(struct relay *r)
{
	char buf[RELAY_BUF];
	ssize_t n = read(r->io->master, buf, sizeof(buf));
	if (n > 0 && r->io->out_fd != r->io->master)
		(void)write_all(r->io->out_fd, buf, (size_t)n);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		r->master_open = false; /* EIO: no process has the pty open any more */
}

/* EOF on stdin: the pty's end-of-file character, so a reader in canonical mode sees EOF. */
static void input_eof(struct relay *r)
{
	struct termios t;
	r->in_open = false;
	if (tcgetattr(r->io->master, &t) == 0 && (t.c_lflag & ICANON) && t.c_cc[VEOF] != _POSIX_VDISABLE) {
		r->in[0] = (char)t.c_cc[VEOF];
		r->in_len = 1;
		r->in_off = 0;
	}
}

static void pump_input(struct relay *r, short revents)
{
	if (r->in_off < r->in_len && (revents & POLLOUT)) {
		ssize_t n = write(r->io->master, r->in + r->in_off, r->in_len - r->in_off);
		if (n > 0)
			r->in_off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			r->in_off = r->in_len; /* the pty is gone: drop the rest */
		if (r->in_off == r->in_len)
			r->in_len = r->in_off = 0;
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	ssize_t n = read(r->io->in_fd, r->in, sizeof(r->in));
	if (n > 0) {
		r->in_len = (size_t)n;
		r->in_off = 0;
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		input_eof(r);
	}
}

/* One poll round; returns false when the relay is over. */
static bool relay_step(struct relay *r, long *drain_start)
{
	struct pollfd pfd[3] = {{.fd = r->sigfd, .events = POLLIN}, {.fd = -1}, {.fd = -1}};
	if (r->master_open)
		pfd[1] = (struct pollfd){.fd = r->io->master,
					 .events = (short)(POLLIN | (r->in_off < r->in_len ? POLLOUT : 0))};
	/* After the exit nothing more is read from stdin: what is typed then is the shell's. */
	if (r->in_open && !r->exited && r->in_len == 0)
		pfd[2] = (struct pollfd){.fd = r->io->in_fd, .events = POLLIN};
	int timeout = -1;
	if (r->exited) {
		if (!r->master_open)
			return false;
		if (*drain_start < 0)
			*drain_start = now_ms();
		long left = DRAIN_MAX_MS - (now_ms() - *drain_start);
		if (left <= 0)
			return false;
		timeout = left < DRAIN_QUIET_MS ? (int)left : DRAIN_QUIET_MS;
	}
	int n = poll(pfd, 3, timeout);
	if (n < 0)
		return errno == EINTR;
	if (n == 0)
		return !r->exited; /* quiet for DRAIN_QUIET_MS after the exit: done */
	if (pfd[0].revents)
		handle_signals(r);
	if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
		pump_output(r);
	if (r->master_open && (pfd[1].revents & POLLOUT))
		pump_input(r, POLLOUT);
	if (pfd[2].revents && !r->exited) /* exited in this round: the typing is the shell's */
		pump_input(r, pfd[2].revents);
	return true;
}

int pty_relay_run(const struct pty_relay_io *io, pid_t pid, const sigset_t *set)
{
	struct relay r = {.io = io, .pid = pid, .in_open = true, .master_open = true};
	long drain_start = -1;
	/* A stdin berth was started without (closed): checked before the signalfd could take its
	 * number; the master itself may have taken it. */
	if (io->in_fd < 0 || io->in_fd == io->master || fcntl(io->in_fd, F_GETFD) < 0)
		r.in_open = false;
	r.sigfd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r.sigfd < 0)
		return exec_wait_forwarding(pid, set); /* no relay, but the status and the signals */
	int fl = fcntl(io->master, F_GETFL);
	if (fl >= 0)
		(void)fcntl(io->master, F_SETFL, fl | O_NONBLOCK);
	term_enter(r.in_open ? io->in_fd : -1);
	/* SIGCHLD may have come before the signalfd existed. */
	reap(&r);
	while (relay_step(&r, &drain_start))
		;
	term_leave();
	close(r.sigfd);
	return r.status;
}
