/* runtime/relay.c: the socket <-> pipes relay that carries CRIU's page traffic through ssh in a
 * post-copy migration. Both directions at once with more than a pipe's and a socket's buffers
 * (a relay that blocked on one direction would deadlock here), the ends propagated (the end of
 * the input pipe shuts the socket's sending side down; the socket's end closes the output pipe),
 * and the byte counts. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/relay.h"

#define SIZE (3u << 20) /* 3 MiB each way: well over the pipe (64 KiB) and socket buffers */

static unsigned char pattern(size_t i, unsigned seed)
{
	return (unsigned char)((i * 131u + seed) ^ (i >> 9));
}

/* Write SIZE bytes of pattern @seed to @fd, then close it. */
static void writer(int fd, unsigned seed)
{
	static unsigned char buf[65536];
	for (size_t off = 0; off < SIZE;) {
		size_t n = SIZE - off < sizeof(buf) ? SIZE - off : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i, seed);
		ssize_t w = write(fd, buf, n);
		if (w <= 0)
			_exit(3);
		off += (size_t)w;
	}
	close(fd);
	_exit(0);
}

/* Read from @fd to its end: the count of bytes, -1 when one differs from pattern @seed. */
static long long reader(int fd, unsigned seed)
{
	unsigned char buf[65536];
	long long total = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern((size_t)total + (size_t)i, seed))
				return -1;
		total += n;
	}
	return n < 0 ? -2 : total;
}

static void test_both_ways(void **state)
{
	(void)state;
	int sv[2], in[2], out[2];
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	pid_t relay = fork();
	assert_true(relay >= 0);
	if (relay == 0) {
		close(sv[1]);
		close(in[1]);
		close(out[0]);
		unsigned long long up = 0, down = 0;
		int r = relay_run(sv[0], in[0], out[1], &up, &down);
		_exit(r == 0 && up == SIZE && down == SIZE ? 0 : 1);
	}
	close(sv[0]);
	close(in[0]);
	close(out[1]);
	/* the pipe side writes into in[1]; the socket side writes into sv[1] at the same time */
	pid_t w1 = fork();
	if (w1 == 0)
		writer(in[1], 7);
	close(in[1]);
	pid_t w2 = fork();
	if (w2 == 0) {
		close(out[0]);
		writer(sv[1], 11);
	}
	pid_t r2 = fork();
	if (r2 == 0) {
		/* what came through the socket from the pipe; then the end of the socket's input */
		long long got = reader(sv[1], 7);
		_exit(got == SIZE ? 0 : 1);
	}
	close(sv[1]);
	long long got = reader(out[0], 11); /* what came through the pipe from the socket */
	assert_int_equal(got, SIZE);
	close(out[0]);
	int ws;
	pid_t kids[] = {w1, w2, r2, relay};
	for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++) {
		assert_int_equal(waitpid(kids[i], &ws, 0), kids[i]);
		assert_true(WIFEXITED(ws));
		assert_int_equal(WEXITSTATUS(ws), 0);
	}
}

/* The socket's peer goes away at once (the page server ended, or a lazy-pages daemon died): the
 * relay ends too, without waiting for the end of its input (which may never come: the other
 * side of the channel may stay open), and the pipe side sees the end of its output. */
static void test_peer_gone(void **state)
{
	(void)state;
	int sv[2], in[2], out[2];
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(write(sv[1], "bye", 3), 3);
	close(sv[1]);
	pid_t relay = fork();
	if (relay == 0) {
		close(in[1]);
		close(out[0]);
		unsigned long long up = 0, down = 0;
		int r = relay_run(sv[0], in[0], out[1], &up, &down);
		_exit(r == 0 && down == 3 ? 0 : 1);
	}
	close(sv[0]);
	close(in[0]);
	close(out[1]);
	char buf[8];
	assert_int_equal(read(out[0], buf, sizeof(buf)), 3);
	assert_int_equal(read(out[0], buf, sizeof(buf)), 0); /* closed by the relay */
	/* in[1] stays open: the relay must end anyway, within 5 s */
	int ws = 0;
	pid_t got = 0;
	for (int i = 0; i < 500 && got == 0; i++) {
		got = waitpid(relay, &ws, WNOHANG);
		if (got == 0)
			usleep(10 * 1000);
	}
	if (got == 0)
		kill(relay, SIGKILL);
	assert_int_equal(got, relay);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	close(in[1]);
	close(out[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_both_ways),
	    cmocka_unit_test(test_peer_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
