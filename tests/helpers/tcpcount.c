/* tcpcount: one established TCP connection over loopback that counts, for the checkpoint VM
 * test (tests/vm/test_vm_checkpoint_extra.sh: CRIU's --tcp-established). Built static, so it can
 * be copied into a busybox rootfs.
 *
 *   tcpcount FILE
 *
 * Listens on 127.0.0.1 (a port the kernel picks) and forks: the child accepts one connection and
 * echoes everything back; the parent connects to it and, every ~100 ms, sends the next number
 * n (1, 2, ...) as a line, reads the echo back, checks it, and writes "<its local port> <n>" to
 * FILE (through FILE.tmp and rename, so a reader never sees half a line). The same port after a
 * restore means the same connection. On any error (a broken connection, a wrong echo) it writes
 * "error: ..." to FILE and exits 1. Exit status 2: usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "put_line.h"

static const char *out_path;

static void fail(const char *what)
{
	char msg[200];
	snprintf(msg, sizeof(msg), "error: %s: %s\n", what, strerror(errno));
	put_line(out_path, msg);
	exit(1);
}

/* The echo side: copy what arrives back until EOF. */
static void serve(int lfd)
{
	char buf[256];
	int c = accept(lfd, NULL, NULL);
	if (c < 0)
		_exit(1);
	close(lfd);
	for (;;) {
		ssize_t n = read(c, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(n == 0 ? 0 : 1);
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(c, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				_exit(1);
			off += w;
		}
	}
}

/* Read exactly one line (ending in '\n') into buf. */
static int read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;
	while (len + 1 < size) {
		ssize_t n = read(fd, buf + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return -1;
		}
		if (buf[len++] == '\n') {
			buf[len] = '\0';
			return 0;
		}
	}
	errno = EMSGSIZE;
	return -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t salen = sizeof(sa);

	if (argc != 2) {
		fprintf(stderr, "usage: tcpcount FILE\n");
		return 2;
	}
	out_path = argv[1];
	signal(SIGPIPE, SIG_IGN);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0)
		fail("listen on 127.0.0.1");
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0)
		serve(lfd);
	close(lfd);

	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail("connect");
	struct sockaddr_in local;
	socklen_t llen = sizeof(local);
	if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0)
		fail("getsockname");
	unsigned port = ntohs(local.sin_port);
	for (unsigned long n = 1;; n++) {
		char line[64], back[64];
		int len = snprintf(line, sizeof(line), "%lu\n", n);
		if (write(fd, line, (size_t)len) != len)
			fail("send");
		if (read_line(fd, back, sizeof(back)) < 0)
			fail("read the echo");
		if (strcmp(line, back) != 0) {
			errno = EPROTO;
			fail("the echo differs");
		}
		snprintf(line, sizeof(line), "%u %lu\n", port, n);
		put_line(out_path, line);
		struct timespec ts = {0, 100 * 1000 * 1000};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}
