/* The create <-> init sync channel (runtime/sync.c): a payload of any size the state JSON can
 * reach arrives whole over the SOCK_SEQPACKET pair (a 3 MB annotation made one message too large
 * for the socket: EMSGSIZE), small messages keep their one-message form, and a malformed large
 * header or a peer that closes mid-payload is an error, never a short payload. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../runtime/lifecycle.h"

struct sender {
	int fd;
	const char *buf;
	size_t len;
	int r;
};

static void *send_thread(void *arg)
{
	struct sender *s = arg;
	s->r = sync_send(s->fd, SYNC_GO, s->buf, s->len);
	return NULL;
}

/* Send @len bytes from a thread (a large payload does not fit the socket at once) and receive. */
static void round_trip(size_t len)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	/* A sender that fails must fail the test, not leave the receiver waiting for ever. */
	struct timeval tv = {.tv_sec = 10};
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	char *buf = malloc(len + 1);
	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (i * 7) % 26);
	struct sender s = {.fd = sv[0], .buf = buf, .len = len};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, send_thread, &s), 0);
	enum sync_type type = 0;
	char *got = NULL;
	size_t got_len = 0;
	assert_int_equal(sync_recv(sv[1], &type, &got, &got_len), 0);
	pthread_join(t, NULL);
	assert_int_equal(s.r, 0);
	assert_int_equal(type, SYNC_GO);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, buf, len);
	assert_int_equal(got[len], '\0');
	free(got);
	free(buf);
	close(sv[0]);
	close(sv[1]);
}

static void test_sizes(void **state)
{
	(void)state;
	static const size_t sizes[] = {
	    0, 1, 4096, 32 << 10, (32 << 10) + 1, 1 << 20, 3 << 20, (3 << 20) + 12345};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		round_trip(sizes[i]);
}

/* A small message is still one datagram: the peer of an older berth (or the error path) reads it. */
static void test_small_is_one_message(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(sync_send(sv[0], SYNC_READY, "abc", 3), 0);
	char raw[16];
	assert_int_equal(recv(sv[1], raw, sizeof(raw), 0), 7);
	uint32_t t;
	memcpy(&t, raw, sizeof(t));
	assert_int_equal(t, SYNC_READY);
	assert_memory_equal(raw + 4, "abc", 3);
	close(sv[0]);
	close(sv[1]);
}

/* A large header whose payload never comes (the peer died) or that lies about its size. */
static void test_truncated_and_bad_headers(void **state)
{
	(void)state;
	int sv[2];
	enum sync_type type;
	char *got = NULL;
	uint32_t hdr[3] = {SYNC_GO | 0x80000000u, 1 << 20, 0}; /* type, then a 64-bit length */

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(send(sv[0], hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	assert_int_equal(send(sv[0], "partial", 7, 0), 7);
	close(sv[0]);
	assert_int_equal(sync_recv(sv[1], &type, &got, NULL), -EBADMSG);
	assert_null(got);
	close(sv[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	hdr[1] = 0; /* 2^40 bytes: over the bound */
	hdr[2] = 256;
	assert_int_equal(send(sv[0], hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	assert_int_equal(sync_recv(sv[1], &type, &got, NULL), -EBADMSG);
	close(sv[0]);
	assert_int_equal(sync_recv(sv[1], &type, &got, NULL), -EPIPE);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_small_is_one_message),
	    cmocka_unit_test(test_truncated_and_bad_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
