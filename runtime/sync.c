/* The create <-> init channel: one SOCK_SEQPACKET message per step, a 4-byte type then payload
 * (a large payload follows in chunks). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "berth/error.h"
#include "lifecycle.h"

/* A message the socket buffer always holds; larger payloads go in chunks of this size after a
 * header that has SYNC_LARGE in its type and the total length (a state JSON carries the
 * annotations, which config.json may make megabytes long). */
#define SYNC_INLINE_MAX (32u << 10)
#define SYNC_LARGE 0x80000000u
/* The bound a receiver accepts: the state JSON of the largest config.json, escaped at worst. */
#define SYNC_PAYLOAD_MAX (8 * BERTH_CONFIG_MAX)

static int send_msg(int fd, const void *a, size_t alen, const void *b, size_t blen)
{
	struct iovec iov[2] = {
	    {.iov_base = (void *)a, .iov_len = alen},
	    {.iov_base = (void *)b, .iov_len = blen},
	};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = blen ? 2 : 1};
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

int sync_send(int fd, enum sync_type type, const void *payload, size_t len)
{
	uint32_t t = (uint32_t)type;
	if (len <= SYNC_INLINE_MAX)
		return send_msg(fd, &t, sizeof(t), payload, len);
	if (len > SYNC_PAYLOAD_MAX)
		return -EMSGSIZE;
	uint64_t total = len;
	t |= SYNC_LARGE;
	int r = send_msg(fd, &t, sizeof(t), &total, sizeof(total));
	for (size_t off = 0; r == 0 && off < len; off += SYNC_INLINE_MAX) {
		size_t n = len - off < SYNC_INLINE_MAX ? len - off : SYNC_INLINE_MAX;
		r = send_msg(fd, (const char *)payload + off, n, NULL, 0);
	}
	return r;
}

/* Receive one whole message of at most @max bytes into @buf; its size, or -errno (-EPIPE: closed). */
static ssize_t recv_msg(int fd, char *buf, size_t max)
{
	ssize_t n;
	do
		n = recv(fd, buf, max, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE; /* peer closed: the child died or the parent went away */
	return (size_t)n > max ? -EBADMSG : n;
}

/* The chunks that follow a SYNC_LARGE header, into a buffer of @total bytes (+ NUL). */
static int recv_chunks(int fd, size_t total, char **ret_buf)
{
	char *buf = malloc(total + 1);
	if (!buf)
		return -ENOMEM;
	for (size_t off = 0; off < total;) {
		size_t want = total - off < SYNC_INLINE_MAX ? total - off : SYNC_INLINE_MAX;
		ssize_t n = recv_msg(fd, buf + off, want);
		if (n < 0 || (size_t)n != want) {
			free(buf);
			return n < 0 ? (int)n : -EBADMSG;
		}
		off += want;
	}
	*ret_buf = buf;
	return 0;
}

int sync_recv(int fd, enum sync_type *ret_type, char **ret_payload, size_t *ret_len)
{
	char *buf = malloc(sizeof(uint32_t) + SYNC_INLINE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	ssize_t size = recv_msg(fd, buf, sizeof(uint32_t) + SYNC_INLINE_MAX);
	if (size >= 0 && (size_t)size < sizeof(uint32_t))
		size = -EBADMSG;
	if (size < 0) {
		free(buf);
		return (int)size;
	}
	uint32_t t;
	uint64_t total;
	memcpy(&t, buf, sizeof(t));
	size_t len = (size_t)size - sizeof(t);
	memmove(buf, buf + sizeof(t), len);
	if (t & SYNC_LARGE) {
		memcpy(&total, buf, sizeof(total));
		free(buf);
		buf = NULL;
		if (len != sizeof(total) || total <= SYNC_INLINE_MAX || total > SYNC_PAYLOAD_MAX)
			return -EBADMSG;
		int r = recv_chunks(fd, (size_t)total, &buf);
		if (r < 0)
			return r;
		t &= ~SYNC_LARGE;
		len = (size_t)total;
	}
	buf[len] = '\0';
	*ret_type = (enum sync_type)t;
	if (ret_len)
		*ret_len = len;
	if (ret_payload)
		*ret_payload = buf;
	else
		free(buf);
	return 0;
}

void sync_send_error(int fd, const struct berth_error *err)
{
	(void)sync_send(fd, SYNC_ERROR, err, sizeof(*err));
}
