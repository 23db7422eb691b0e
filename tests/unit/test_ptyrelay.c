/* runtime/ptyrelay.c: the relay between berth's stdio and a foreground process's own pty.
 * A forked child stands in for the container's process on a pty of the test's own; the caller's
 * stdin is a pipe or the slave of a second pty (the "caller's terminal"), its stdout a memfd. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/error.h"
#include "berth/util.h"
#include "../../runtime/exec.h"
#include "../../runtime/ptyrelay.h"

struct pty {
	int master, slave;
};

static void pty_open(struct pty *p)
{
	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(p->master >= 0);
	assert_int_equal(grantpt(p->master), 0);
	assert_int_equal(unlockpt(p->master), 0);
	p->slave = open(ptsname(p->master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(p->slave >= 0);
}

static void pty_close(struct pty *p)
{
	if (p->master >= 0)
		close(p->master);
	if (p->slave >= 0)
		close(p->slave);
	p->master = p->slave = -1;
}

typedef void (*child_fn)(int caller_tty);

/* Fork the "container process": its own session, @p's slave as controlling terminal and stdio,
 * signals unblocked; runs @fn and exits 0 unless @fn exits itself. The parent's slave is closed,
 * so the master reports EIO once the child is gone. */
static pid_t spawn(struct pty *p, child_fn fn, int caller_tty)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		ioctl(p->slave, TIOCSCTTY, 0);
		for (int fd = 0; fd < 3; fd++)
			dup2(p->slave, fd);
		fn(caller_tty);
		_exit(0);
	}
	close(p->slave);
	p->slave = -1;
	return pid;
}

static int out_file(void)
{
	int fd = memfd_create("relay-out", MFD_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* Everything written to the memfd @fd. */
static char *slurp(int fd)
{
	static char buf[256 * 1024];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static int relay(struct pty *p, pid_t pid, int in_fd, int out_fd, int size_fd)
{
	sigset_t set;
	exec_signal_set(&set);
	struct pty_relay_io io = {.master = p->master, .in_fd = in_fd, .out_fd = out_fd, .size_fd = size_fd};
	return pty_relay_run(&io, pid, &set);
}

static int setup_signals(void **state)
{
	(void)state;
	sigset_t set;
	exec_signal_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL); /* as run and exec do before the clone */
	return 0;
}

/* ---- input, output, exit status ---- */

static void echo_line_exit3(int caller_tty)
{
	char line[128] = "";
	(void)caller_tty;
	ssize_t n = read(0, line, sizeof(line) - 1);
	dprintf(1, "got:%.*s|\n", n > 0 ? (int)n - 1 : 0, line);
	_exit(3);
}

static void test_input_output_status(void **state)
{
	(void)state;
	struct pty p;
	int in[2], out = out_file();
	pty_open(&p);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(write(in[1], "hello relay\n", 12), 12);
	pid_t pid = spawn(&p, echo_line_exit3, -1);
	assert_int_equal(relay(&p, pid, in[0], out, -1), 3);
	assert_non_null(strstr(slurp(out), "got:hello relay|"));
	close(in[0]);
	close(in[1]);
	close(out);
	pty_close(&p);
}

/* ---- EOF on a stdin that is not a terminal ---- */

static void report_eof(int caller_tty)
{
	char c;
	(void)caller_tty;
	dprintf(1, read(0, &c, 1) == 0 ? "eof\n" : "no-eof\n");
}

static void test_stdin_eof(void **state)
{
	(void)state;
	struct pty p;
	int in[2], out = out_file();
	pty_open(&p);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	close(in[1]);
	pid_t pid = spawn(&p, report_eof, -1);
	assert_int_equal(relay(&p, pid, in[0], out, -1), 0);
	assert_non_null(strstr(slurp(out), "eof"));
	assert_null(strstr(slurp(out), "no-eof"));
	close(in[0]);
	close(out);
	pty_close(&p);
}

/* ---- all output arrives, even written just before the exit ---- */

static void write_much(int caller_tty)
{
	static char buf[100000];
	(void)caller_tty;
	memset(buf, 'x', sizeof(buf));
	buf[sizeof(buf) - 1] = 'E';
	struct termios t;
	tcgetattr(1, &t);
	t.c_oflag &= ~(tcflag_t)OPOST; /* byte for byte */
	tcsetattr(1, TCSANOW, &t);
	for (size_t off = 0; off < sizeof(buf);) {
		ssize_t n = write(1, buf + off, sizeof(buf) - off);
		if (n <= 0)
			_exit(9);
		off += (size_t)n;
	}
	_exit(0);
}

static void test_output_drained(void **state)
{
	(void)state;
	struct pty p;
	int out = out_file();
	pty_open(&p);
	pid_t pid = spawn(&p, write_much, -1);
	assert_int_equal(relay(&p, pid, -1, out, -1), 0);
	char *s = slurp(out);
	assert_int_equal(strlen(s), 100000);
	assert_int_equal(s[99999], 'E');
	close(out);
	pty_close(&p);
}

/* ---- the caller's terminal: raw while relaying, restored after; size and SIGWINCH ---- */

/* Wait (bounded) until the caller's terminal is raw, then until the pty is 40x100. */
static void watch_raw_and_size(int caller_tty)
{
	struct termios t;
	struct winsize ws = {0};
	bool raw = false, resized = false;
	for (int i = 0; i < 500 && !(raw && resized); i++) {
		raw = raw || (tcgetattr(caller_tty, &t) == 0 && !(t.c_lflag & (ICANON | ECHO | ISIG)));
		resized = ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 40 && ws.ws_col == 100;
		usleep(10000);
	}
	dprintf(1, "raw=%d size=%ux%u\n", raw, ws.ws_row, ws.ws_col);
}

static void test_caller_terminal(void **state)
{
	(void)state;
	struct pty p, caller;
	struct termios before, after;
	struct winsize ws = {.ws_row = 33, .ws_col = 77}, got;
	int out = out_file();
	pty_open(&p);
	pty_open(&caller);
	assert_int_equal(ioctl(caller.master, TIOCSWINSZ, &ws), 0);
	assert_int_equal(tcgetattr(caller.slave, &before), 0);
	assert_true(before.c_lflag & ICANON);

	pty_relay_copy_size(caller.slave, p.master);
	assert_int_equal(ioctl(p.master, TIOCGWINSZ, &got), 0);
	assert_int_equal(got.ws_row, 33);
	assert_int_equal(got.ws_col, 77);

	/* The caller's terminal is resized: the pending SIGWINCH makes the relay follow. */
	ws = (struct winsize){.ws_row = 40, .ws_col = 100};
	assert_int_equal(ioctl(caller.master, TIOCSWINSZ, &ws), 0);
	kill(getpid(), SIGWINCH);
	pid_t pid = spawn(&p, watch_raw_and_size, caller.slave);
	assert_int_equal(relay(&p, pid, caller.slave, out, caller.slave), 0);
	assert_non_null(strstr(slurp(out), "raw=1 size=40x100"));

	assert_int_equal(tcgetattr(caller.slave, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	assert_int_equal(after.c_iflag, before.c_iflag);
	assert_int_equal(after.c_oflag, before.c_oflag);
	assert_int_equal(after.c_cflag, before.c_cflag);
	close(out);
	pty_close(&p);
	pty_close(&caller);
}

/* ---- stopped by SIGTSTP: the caller's terminal is as it was until berth continues ---- */

static void exit_on_input(int caller_tty)
{
	char c;
	(void)caller_tty;
	_exit(read(0, &c, 1) == 1 ? 5 : 1);
}

static bool tty_is_raw(int fd)
{
	struct termios t;
	return tcgetattr(fd, &t) == 0 && !(t.c_lflag & (ICANON | ECHO | ISIG));
}

/* waitpid(@pid, @flags) for at most 5 s; on timeout its process group is killed and the test
 * fails, rather than hanging. */
static void wait_bounded(pid_t pid, int flags, int *status)
{
	for (int i = 0; i < 500; i++) {
		pid_t w = waitpid(pid, status, flags | WNOHANG);
		assert_true(w >= 0);
		if (w == pid)
			return;
		usleep(10000);
	}
	kill(-pid, SIGKILL);
	waitpid(pid, status, 0);
	fail_msg("pid %d did not change state within 5 s", (int)pid);
}

/* The relay runs in a child of its own process group (one a shell could continue, so the kernel
 * does not discard its SIGTSTP); the process on the pty exits when the test types a key. */
static void test_stopped(void **state)
{
	(void)state;
	struct pty p, caller;
	struct termios before, during;
	int status, out = out_file();
	pty_open(&p);
	pty_open(&caller);
	assert_int_equal(tcgetattr(caller.slave, &before), 0);
	pid_t relay_pid = fork();
	assert_true(relay_pid >= 0);
	if (relay_pid == 0) {
		setpgid(0, 0);
		pid_t pid = spawn(&p, exit_on_input, -1);
		_exit(relay(&p, pid, caller.slave, out, -1));
	}
	for (int i = 0; i < 500 && !tty_is_raw(caller.slave); i++)
		usleep(10000);
	assert_true(tty_is_raw(caller.slave));
	kill(relay_pid, SIGTSTP);
	wait_bounded(relay_pid, WUNTRACED, &status);
	assert_true(WIFSTOPPED(status));
	assert_int_equal(tcgetattr(caller.slave, &during), 0);
	assert_int_equal(during.c_lflag, before.c_lflag);
	assert_int_equal(during.c_iflag, before.c_iflag);
	kill(relay_pid, SIGCONT);
	for (int i = 0; i < 500 && !tty_is_raw(caller.slave); i++)
		usleep(10000);
	assert_true(tty_is_raw(caller.slave));               /* raw again once continued */
	assert_int_equal(write(caller.master, "k\r", 2), 2); /* relayed: the process exits 5 */
	wait_bounded(relay_pid, 0, &status);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 5);
	assert_int_equal(tcgetattr(caller.slave, &during), 0);
	assert_int_equal(during.c_lflag, before.c_lflag);
	close(out);
	pty_close(&p);
	pty_close(&caller);
}

/* ---- signals are forwarded; a kill by signal is 128+N ---- */

static void sleep_long(int caller_tty)
{
	(void)caller_tty;
	sleep(30);
	_exit(1);
}

static void test_signal_forwarded(void **state)
{
	(void)state;
	struct pty p;
	int out = out_file();
	pty_open(&p);
	pid_t pid = spawn(&p, sleep_long, -1);
	kill(getpid(), SIGTERM); /* blocked: pending until the relay takes it */
	assert_int_equal(relay(&p, pid, -1, out, -1), 128 + SIGTERM);
	close(out);
	pty_close(&p);
}

/* ---- the master arrives over the socketpair ---- */

static void test_socketpair_receive(void **state)
{
	(void)state;
	struct berth_error err = {0};
	struct pty p;
	int parent, child, got = -1;
	pty_open(&p);
	assert_int_equal(pty_relay_socketpair(&parent, &child, &err), 0);
	/* nothing sent yet: a clear error, no wait */
	assert_int_equal(pty_relay_receive(parent, &got, &err), -EAGAIN);
	assert_non_null(strstr(err.msg, "process.terminal"));
	assert_int_equal(unix_send_fd(child, p.master, "", 1), 0);
	assert_int_equal(pty_relay_receive(parent, &got, &err), 0);
	assert_true(got >= 0 && got != p.master);
	assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
	assert_true(isatty(got));
	/* a message without a descriptor */
	assert_int_equal(write(child, "x", 1), 1);
	assert_int_equal(pty_relay_receive(parent, &got, &err), -EPROTO);
	close(got);
	close(parent);
	close(child);
	pty_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_input_output_status),
	    cmocka_unit_test(test_stdin_eof),
	    cmocka_unit_test(test_output_drained),
	    cmocka_unit_test(test_caller_terminal),
	    cmocka_unit_test(test_stopped),
	    cmocka_unit_test(test_signal_forwarded),
	    cmocka_unit_test(test_socketpair_receive),
	};
	return cmocka_run_group_tests(tests, setup_signals, NULL);
}
