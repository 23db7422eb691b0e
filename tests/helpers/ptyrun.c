/* ptyrun: run a command as a session leader on a new pseudo-terminal and drive it, for the
 * integration tests: the command (a shell standing in for an admin's) then has a controlling
 * terminal, as when berth is run by hand.
 *
 *   ptyrun [--size ROWSxCOLS] [--timeout SECONDS] [STEP...] -- COMMAND [ARG...]
 *
 * Everything the terminal shows is copied to stdout. The STEPs run in order:
 *   --expect STRING   wait until the output since the last match contains STRING
 *   --send STRING     type STRING (escapes: \n \r \t \\ \xHH)
 *   --resize ROWSxCOLS  change the terminal's size (the kernel sends SIGWINCH)
 * Once the steps are done it relays until COMMAND has exited and the terminal is closed, and
 * exits with COMMAND's status (128+N for signal N). Exit 124 on timeout (COMMAND is then killed),
 * 125 on a usage or set-up error. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_STEPS 64
#define OUT_MAX (1 << 20)

struct step {
	char kind; /* 'e'xpect, 's'end, 'r'esize */
	char *arg;
};

static char out[OUT_MAX];
static size_t out_len, match_from;

static int usage(void)
{
	fprintf(stderr,
		"usage: ptyrun [--size RxC] [--timeout S] [--expect S|--send S|--resize RxC]... -- CMD...\n");
	return 125;
}

static int parse_size(const char *s, struct winsize *ws)
{
	unsigned r, c;
	if (sscanf(s, "%ux%u", &r, &c) != 2 || !r || !c || r > 9999 || c > 9999)
		return -1;
	*ws = (struct winsize){.ws_row = (unsigned short)r, .ws_col = (unsigned short)c};
	return 0;
}

/* Decode the escapes of a --send argument in place; returns the length. */
static size_t unescape(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (*p != '\\' || !p[1]) {
			*w++ = *p;
			continue;
		}
		p++;
		if (*p == 'n')
			*w++ = '\n';
		else if (*p == 'r')
			*w++ = '\r';
		else if (*p == 't')
			*w++ = '\t';
		else if (*p == 'x' && p[1] && p[2]) {
			char hex[3] = {p[1], p[2], 0};
			*w++ = (char)strtol(hex, NULL, 16);
			p += 2;
		} else
			*w++ = *p;
	}
	return (size_t)(w - s);
}

static pid_t spawn(int master, char **argv)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	char *name = ptsname(master);
	if (setsid() < 0 || !name)
		_exit(125);
	int slave = open(name, O_RDWR);
	if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
		_exit(125);
	for (int fd = 0; fd < 3; fd++)
		dup2(slave, fd);
	if (slave > 2)
		close(slave);
	close(master);
	execvp(argv[0], argv);
	perror("ptyrun: exec");
	_exit(127);
}

/* Read what the terminal shows now; returns 0 once it is closed (EIO). */
static int pump(int master, int timeout_ms)
{
	struct pollfd p = {.fd = master, .events = POLLIN};
	if (poll(&p, 1, timeout_ms) <= 0)
		return 1;
	char buf[4096];
	ssize_t n = read(master, buf, sizeof(buf));
	if (n <= 0)
		return errno == EAGAIN || errno == EINTR ? 1 : 0;
	(void)!write(STDOUT_FILENO, buf, (size_t)n);
	size_t keep = out_len + (size_t)n <= OUT_MAX ? (size_t)n : OUT_MAX - out_len;
	memcpy(out + out_len, buf, keep);
	out_len += keep;
	return 1;
}

static int run_step(int master, const struct step *s, int *open)
{
	if (s->kind == 's') {
		size_t len = unescape(s->arg);
		return write(master, s->arg, len) == (ssize_t)len ? 0 : -1;
	}
	if (s->kind == 'r') {
		struct winsize ws;
		return parse_size(s->arg, &ws) < 0 ? -1 : ioctl(master, TIOCSWINSZ, &ws);
	}
	for (;;) {
		char *hit = memmem(out + match_from, out_len - match_from, s->arg, strlen(s->arg));
		if (hit) {
			match_from = (size_t)(hit - out) + strlen(s->arg);
			return 0;
		}
		if (!*open)
			return -1;
		*open = pump(master, 100);
	}
}

static pid_t child;

/* Only the command's own process group (it leads a session of its own), never ours. */
static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "\nptyrun: timed out\n";
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	if (child > 0)
		kill(-child, SIGKILL);
	_exit(124);
}

int main(int argc, char **argv)
{
	struct step steps[MAX_STEPS];
	int n_steps = 0, timeout = 60, i;
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	for (i = 1; i < argc && strcmp(argv[i], "--"); i += 2) {
		if (i + 1 >= argc || n_steps >= MAX_STEPS)
			return usage();
		if (!strcmp(argv[i], "--size")) {
			if (parse_size(argv[i + 1], &ws) < 0)
				return usage();
		} else if (!strcmp(argv[i], "--timeout")) {
			timeout = atoi(argv[i + 1]);
		} else if (!strcmp(argv[i], "--expect") || !strcmp(argv[i], "--send") ||
			   !strcmp(argv[i], "--resize")) {
			steps[n_steps++] = (struct step){argv[i][2], argv[i + 1]};
		} else {
			return usage();
		}
	}
	if (i + 1 >= argc)
		return usage();
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 || ioctl(master, TIOCSWINSZ, &ws) < 0) {
		perror("ptyrun: pty");
		return 125;
	}
	signal(SIGALRM, on_alarm);
	alarm((unsigned)timeout);
	pid_t pid = spawn(master, argv + i + 1);
	child = pid;
	if (pid < 0)
		return 125;
	int open = 1;
	for (int s = 0; s < n_steps; s++)
		if (run_step(master, &steps[s], &open) < 0) {
			fprintf(stderr, "\nptyrun: step %d (--%s %s) failed\n", s + 1,
				steps[s].kind == 'e'   ? "expect"
				: steps[s].kind == 's' ? "send"
						       : "resize",
				steps[s].arg);
			kill(pid, SIGKILL);
			return 125;
		}
	while (open)
		open = pump(master, -1);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 125;
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
