/* runtime-internal: a foreground process's own pseudo-terminal, relayed to berth's stdio.
 *
 * A foreground `run` with process.terminal, `exec -t` and `run --image -t` without
 * --console-socket never hand the container the caller's terminal: a process that shares its
 * controlling terminal can push keystrokes into it (TIOCSTI) that the caller's shell runs once
 * berth returns. The init or exec child opens a pty in the container's devpts, as it does for
 * --console-socket, and sends the master over one end of a socketpair; berth relays between its
 * own stdin/stdout and that master, as runc does. */
#pragma once

#include <signal.h>
#include <sys/types.h>

struct berth_error;

/* A connected pair of unix sockets (close-on-exec): the pty master arrives on *ret_parent;
 * *ret_child goes to the child in place of a --console-socket connection. */
int pty_relay_socketpair(int *ret_parent, int *ret_child, struct berth_error *err);

/* Receive the pty master the child sent over @sock. The child sends it before it reports
 * success, so this does not wait; -EPROTO if no descriptor came. */
int pty_relay_receive(int sock, int *ret_master, struct berth_error *err);

/* The caller's terminal: the first of stdin, stdout and stderr that is one, or -1. */
int pty_relay_caller_tty(void);

/* Give @master the window size of the terminal @tty_fd (a no-op when @tty_fd < 0 or it has no
 * size: the pty keeps the one the child set from process.consoleSize). */
void pty_relay_copy_size(int tty_fd, int master);

struct pty_relay_io {
	int master;  /* the process's pty master (made non-blocking by the relay) */
	int in_fd;   /* what is typed: berth's stdin (raw mode while relaying if a terminal) */
	int out_fd;  /* where the process's output goes: berth's stdout */
	int size_fd; /* the terminal whose size the pty follows on SIGWINCH, or -1 */
};

/* Relay until @pid exits, then drain what the process wrote and return its exit code (128+N
 * when killed by signal N; 255 if it cannot be waited for). The caller blocks @set before the
 * clone: SIGCHLD reaps, SIGWINCH copies the size of io->size_fd to the pty, every other signal
 * in @set is forwarded to @pid. While relaying, io->in_fd (if a terminal) is in raw mode; its
 * settings are restored before returning, and also when a signal stops or kills berth. EOF on
 * io->in_fd is passed on as the pty's end-of-file character (as when ^D is typed). */
int pty_relay_run(const struct pty_relay_io *io, pid_t pid, const sigset_t *set);
