/* The rtnetlink request/acknowledgement core every netns operation is built on. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "nl.h"

int nl_open(struct nl_sock *nl, struct berth_error *err)
{
	int on = 1;

	nl->buf = malloc(NL_RECV_SIZE);
	if (!nl->buf)
		return berth_error_set(err, -ENOMEM, "out of memory");
	nl->mnl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->mnl) {
		int r = -errno;
		nl_close(nl);
		return berth_error_setf_errno(err, r, "open a netlink socket");
	}
	/* Best effort: without them (old kernels) errors simply carry no text, and the kernel
	 * echoes the whole request in every error. */
	mnl_socket_setsockopt(nl->mnl, NETLINK_EXT_ACK, &on, sizeof(on));
	mnl_socket_setsockopt(nl->mnl, NETLINK_CAP_ACK, &on, sizeof(on));
	if (mnl_socket_bind(nl->mnl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;
		nl_close(nl);
		return berth_error_setf_errno(err, r, "bind a netlink socket");
	}
	nl->portid = mnl_socket_get_portid(nl->mnl);
	nl->seq = 0;
	return 0;
}

int nl_open_in(struct nl_sock *nl, int netns_fd, struct berth_error *err)
{
	if (netns_fd < 0)
		return nl_open(nl, err);
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return berth_error_setf_errno(err, -errno, "open this thread's network namespace");
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return berth_error_setf_errno(err, -errno, "enter the container's network namespace");
	int r = nl_open(nl, err);
	/* Every later step of the caller assumes its own namespace: going on from inside the
	 * container's could change the wrong interfaces, so failing to get back is fatal. */
	if (setns(self, CLONE_NEWNET) < 0)
		abort();
	return r;
}

void nl_close(struct nl_sock *nl)
{
	if (nl->mnl)
		mnl_socket_close(nl->mnl);
	nl->mnl = NULL;
	free(nl->buf);
	nl->buf = NULL;
}

static int ext_ack_attr(const struct nlattr *attr, void *data)
{
	const char **msg = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		*msg = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

/* The NLMSGERR_ATTR_MSG text of an error reply, or NULL. The attributes follow struct nlmsgerr,
 * after the echoed request unless the kernel capped it. */
static const char *ext_ack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t len = mnl_nlmsg_get_payload_len(nlh);
	size_t off = sizeof(*e);
	const char *msg = NULL;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
			return NULL;
		off += MNL_ALIGN(e->msg.nlmsg_len - sizeof(struct nlmsghdr));
	}
	if (off >= len)
		return NULL;
	mnl_attr_parse_payload((const char *)e + off, len - off, ext_ack_attr, &msg);
	return msg;
}

/* A kernel error code (-errno, or errno in old kernels' errors) as -errno; anything out of
 * range (a corrupt reply) as -EPROTO, so negating it cannot overflow. */
static int kernel_errno(int e)
{
	if (e < 0 && e > -4096)
		return e;
	if (e > 0 && e < 4096)
		return -e;
	return -EPROTO;
}

/* NLMSG_ERROR: error 0 is the acknowledgement, anything else the kernel's -errno. */
static int handle_error(const struct nlmsghdr *nlh, struct berth_error *err)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return berth_error_set(err, -EBADMSG, "truncated netlink error message");
	if (e->error == 0)
		return 0;
	int code = kernel_errno(e->error);
	const char *msg = ext_ack_msg(nlh);
	return berth_error_set(err, code, "%s%s%s", strerror(-code), msg ? ": " : "", msg ? msg : "");
}

/* mnl_nlmsg_ok, stricter: without its (int) cast of nlmsg_len (a length of 2^31 or more would
 * pass and send the walk outside the buffer), and with the padded length inside the buffer, as
 * the mnl_attr_* walks end at MNL_ALIGN(nlmsg_len). The kernel's messages are always padded. */
static bool nlmsg_ok(const struct nlmsghdr *nlh, int len)
{
	return len >= (int)sizeof(struct nlmsghdr) && nlh->nlmsg_len >= sizeof(struct nlmsghdr) &&
	       (size_t)MNL_ALIGN((size_t)nlh->nlmsg_len) <= (size_t)len;
}

int nl_parse_replies(const void *buf, size_t len, uint32_t seq, uint32_t portid, nl_reply_fn cb, void *data,
		     struct nl_replies *st, struct berth_error *err)
{
	if (len > NL_RECV_SIZE)
		return berth_error_set(err, -EBADMSG, "malformed netlink reply");
	int n = (int)len;

	for (const struct nlmsghdr *nlh = buf; nlmsg_ok(nlh, n); nlh = mnl_nlmsg_next(nlh, &n)) {
		int r = 0;
		/* A reply to some earlier, abandoned request: not ours to interpret. */
		if (!mnl_nlmsg_seq_ok(nlh, seq) || !mnl_nlmsg_portid_ok(nlh, portid))
			continue;
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			r = handle_error(nlh, err);
			st->done = true;
		} else if (nlh->nlmsg_type == NLMSG_DONE) {
			/* A dump that failed part-way ends with its error in place of the count. */
			if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
				int code = *(const int *)mnl_nlmsg_get_payload(nlh);
				if (code < 0) {
					code = kernel_errno(code);
					r = berth_error_set(err, code, "%s", strerror(-code));
				}
			}
			st->done = true;
		} else if (nlh->nlmsg_type == NLMSG_OVERRUN) {
			r = berth_error_set(err, -EOVERFLOW, "netlink reply overrun");
			st->done = true;
		} else if (nlh->nlmsg_type >= NLMSG_MIN_TYPE && cb && st->first_err == 0) {
			r = cb(nlh, data);
		}
		if (r < 0 && st->first_err == 0)
			st->first_err = r;
	}
	if (n != 0 && !st->done)
		return berth_error_set(err, -EBADMSG, "malformed netlink reply");
	if (!st->done)
		return 1;
	/* A callback's failure comes without a message. */
	if (st->first_err < 0 && err && err->code != st->first_err)
		berth_error_set(err, st->first_err, "%s", strerror(-st->first_err));
	return st->first_err;
}

int nl_request(struct nl_sock *nl, struct nlmsghdr *nlh, nl_reply_fn cb, void *data, struct berth_error *err)
{
	struct nl_replies st = NL_REPLIES_INIT;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->mnl, nlh, nlh->nlmsg_len) < 0)
		return berth_error_setf_errno(err, -errno, "send a netlink request");
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->mnl, nl->buf, NL_RECV_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_error_setf_errno(err, -errno, "receive a netlink reply");
		int r = nl_parse_replies(nl->buf, (size_t)n, nl->seq, nl->portid, cb, data, &st, err);
		if (r <= 0)
			return r;
	}
}
