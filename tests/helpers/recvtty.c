/* recvtty: the receiving end of `--console-socket`, for the integration tests (like runc's
 * tests/cmd/recvtty).
 *
 *   recvtty SOCKET [--input STRING] [--timeout SECONDS]
 *
 * Listens on the unix socket SOCKET, accepts one connection, receives the pty master through
 * SCM_RIGHTS, writes STRING (verbatim, if given) to the master, then copies everything the
 * master yields to stdout until EOF or EIO (the last slave descriptor was closed: the container
 * exited). The socket path appears only once it is listening (it is bound under a temporary
 * name and renamed), so a caller may start the runtime as soon as the path exists.
 * Exit status: 0 after EOF/EIO, 1 on any error, 2 on a usage error, 3 on timeout. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "recvtty: timed out\n";
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(3);
}

static int usage(void)
{
	fprintf(stderr, "usage: recvtty SOCKET [--input STRING] [--timeout SECONDS]\n");
	return 2;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char tmp[sizeof(sa.sun_path)];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		fprintf(stderr, "recvtty: socket path '%s' is too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, tmp);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("recvtty: socket");
		return -1;
	}
	(void)unlink(tmp);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "recvtty: listen on '%s': %s\n", path, strerror(errno));
		(void)unlink(tmp);
		close(fd);
		return -1;
	}
	return fd;
}

/* recv_fd: one message carrying exactly one descriptor. */
static int recv_fd(int conn)
{
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
	ssize_t n;
	do
		n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		perror("recvtty: recvmsg");
		return -1;
	}
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (n == 0 || !c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int))) {
		fprintf(stderr, "recvtty: the message carried no descriptor\n");
		return -1;
	}
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *input = NULL;
	long timeout = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--input") == 0 && i + 1 < argc)
			input = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout = strtol(argv[++i], NULL, 10);
		else if (argv[i][0] != '-' && !sock)
			sock = argv[i];
		else
			return usage();
	}
	if (!sock)
		return usage();
	if (timeout > 0) {
		signal(SIGALRM, on_alarm);
		alarm((unsigned)timeout);
	}

	int lfd = listen_on(sock);
	if (lfd < 0)
		return 1;
	int conn;
	do
		conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (conn < 0 && errno == EINTR);
	if (conn < 0) {
		perror("recvtty: accept");
		return 1;
	}
	close(lfd);
	(void)unlink(sock); /* one connection only */
	int master = recv_fd(conn);
	close(conn);
	if (master < 0)
		return 1;
	if (input && write_all(master, input, strlen(input)) < 0) {
		perror("recvtty: write to the pty master");
		return 1;
	}

	char buf[4096];
	for (;;) {
		ssize_t n = read(master, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && errno == EIO))
			break; /* every slave descriptor is closed */
		if (n < 0) {
			perror("recvtty: read from the pty master");
			return 1;
		}
		if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
			perror("recvtty: write to stdout");
			return 1;
		}
	}
	close(master);
	return 0;
}
