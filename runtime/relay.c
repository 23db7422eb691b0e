/* The socket <-> pipes relay (see relay.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "berth/util.h"
#include "relay.h"

#define RELAY_BUF (256u << 10)
#define FAULT_AFTER (1ull << 20) /* BERTH_FAULT=relay.after-1mib: die once a leg moved 1 MiB */

struct leg {
	int from, to;
	char buf[RELAY_BUF];
	size_t pos, len;
	bool eof;  /* @from ended */
	bool done; /* and everything read was written */
	unsigned long long moved;
};

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* Read what @from has (when the buffer is empty) and write what the buffer holds. */
static int leg_step(struct leg *l, short rev_from, short rev_to)
{
	if (l->len == 0 && !l->eof && (rev_from & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t n = read(l->from, l->buf, sizeof(l->buf));
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return errno == ECONNRESET ? (l->eof = true, 0) : -errno;
		if (n == 0)
			l->eof = true;
		if (n > 0) {
			l->pos = 0;
			l->len = (size_t)n;
		}
	}
	if (l->len > 0 && (rev_to & (POLLOUT | POLLERR | POLLHUP))) {
		ssize_t n = write(l->to, l->buf + l->pos, l->len);
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			/* the reader is gone: this direction ends here (whether the transfer was complete
			 * is for the two ends, CRIU's page server and lazy-pages daemon, to say) */
			l->eof = true;
			l->len = 0;
			n = 0;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return -errno;
		}
		if (n > 0) {
			bool under = l->moved < FAULT_AFTER;
			l->pos += (size_t)n;
			l->len -= (size_t)n;
			l->moved += (unsigned long long)n;
			if (under && l->moved >= FAULT_AFTER)
				fault_point("relay.after-1mib"); /* a channel that breaks midway */
		}
	}
	if (l->eof && l->len == 0)
		l->done = true;
	return 0;
}

static short want(const struct leg *l, bool from)
{
	if (l->done)
		return 0;
	if (from)
		return l->len == 0 && !l->eof ? POLLIN : 0;
	return l->len > 0 ? POLLOUT : 0;
}

static int relay_loop(struct leg *up, struct leg *down, int sock, int out)
{
	bool up_closed = false, down_closed = false;
	while (!up->done || !down->done) {
		struct pollfd p[4] = {
		    {up->from, want(up, true), 0},
		    {up->to, want(up, false), 0},
		    {down->from, want(down, true), 0},
		    {down->to, want(down, false), 0},
		};
		for (int i = 0; i < 4; i++)
			if (!p[i].events)
				p[i].fd = -1;
		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		int r = leg_step(up, p[0].revents, p[1].revents);
		if (r == 0)
			r = leg_step(down, p[2].revents, p[3].revents);
		if (r < 0)
			return r;
		/* The socket's peer (CRIU) ended: nothing more goes to it, so do not wait for the end of
		 * @in, which may never come (a lazy-pages daemon that died leaves the source's side of
		 * the channel open). */
		if (down->done)
			up->done = true;
		if (up->done && !up_closed) {
			(void)shutdown(sock, SHUT_WR); /* the peer of the socket sees the end */
			up_closed = true;
		}
		if (down->done && !down_closed) {
			close(out);
			down_closed = true;
		}
	}
	return 0;
}

int relay_run(int sock, int in, int out, unsigned long long *ret_up, unsigned long long *ret_down)
{
	static struct leg legs[2]; /* 512 KiB: off the stack; one relay per process */
	struct leg *up = &legs[0], *down = &legs[1];
	int r = 0;
	memset(legs, 0, sizeof(legs));
	up->from = in;
	up->to = sock;
	down->from = sock;
	down->to = out;
	if ((r = set_nonblock(sock)) < 0 || (r = set_nonblock(in)) < 0 || (r = set_nonblock(out)) < 0)
		return r;
	r = relay_loop(up, down, sock, out);
	if (ret_up)
		*ret_up = up->moved;
	if (ret_down)
		*ret_down = down->moved;
	return r;
}
