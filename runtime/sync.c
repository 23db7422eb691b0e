/* The create <-> init channel: one SOCK_SEQPACKET message per step, a 4-byte type then payload. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "berth/error.h"
#include "lifecycle.h"

#define SYNC_PAYLOAD_MAX (1u << 20)

int sync_send(int fd, enum sync_type type, const void *payload, size_t len)
{
	uint32_t t = (uint32_t)type;
	struct iovec iov[2] = {
	    {.iov_base = &t, .iov_len = sizeof(t)},
	    {.iov_base = (void *)payload, .iov_len = len},
	};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

int sync_recv(int fd, enum sync_type *ret_type, char **ret_payload, size_t *ret_len)
{
	/* Peek with MSG_TRUNC to learn the message size before reading it. */
	ssize_t size;
	do
		size = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
	while (size < 0 && errno == EINTR);
	if (size < 0)
		return -errno;
	if (size == 0)
		return -EPIPE; /* peer closed: the child died or the parent went away */
	if ((size_t)size < sizeof(uint32_t) || (size_t)size > SYNC_PAYLOAD_MAX)
		return -EBADMSG;
	char *buf = malloc((size_t)size + 1);
	if (!buf)
		return -ENOMEM;
	ssize_t n;
	do
		n = recv(fd, buf, (size_t)size, 0);
	while (n < 0 && errno == EINTR);
	if (n != size) {
		free(buf);
		return n < 0 ? -errno : -EBADMSG;
	}
	uint32_t t;
	memcpy(&t, buf, sizeof(t));
	size_t len = (size_t)size - sizeof(t);
	memmove(buf, buf + sizeof(t), len);
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
