/* netns module internals: one rtnetlink request/acknowledgement exchange over libmnl.
 * Shared by the files of this module only; libmnl itself stays in the .c files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct berth_error;
struct mnl_socket;
struct nlmsghdr;

/* An rtnetlink socket bound in the caller's current network namespace. */
struct nl_sock {
	struct mnl_socket *mnl;
	uint32_t portid;
	uint32_t seq;
	char *buf; /* receive buffer of NL_RECV_SIZE bytes */
};

#define NL_SOCK_INIT                                                                                         \
	{                                                                                                    \
		.mnl = NULL, .buf = NULL                                                                     \
	}

/* Room for one datagram of replies; the kernel sizes dump replies to the reader's buffer. */
#define NL_RECV_SIZE 32768

/* Called for each reply message of a request other than the closing ACK/DONE (for example the
 * answer to an RTM_GET*). Return 0 to go on or -errno; the first error is what nl_request
 * returns, after the exchange has been read to its end. */
typedef int (*nl_reply_fn)(const struct nlmsghdr *nlh, void *data);

/* Prefix @err (which may be NULL) with context and evaluate to @r: berth_error_prefix alone returns
 * 0 for a NULL @err, which would turn a failure into success. */
#define NL_PREFIX(r, err, ...) (berth_error_prefix((err), __VA_ARGS__), (r))

/* Open and bind a NETLINK_ROUTE socket with extended acknowledgements enabled. */
int nl_open(struct nl_sock *nl, struct berth_error *err);

/* The same in the network namespace @netns_fd (the caller's own when negative): the thread enters
 * it just long enough to make the socket, which stays bound to it. */
int nl_open_in(struct nl_sock *nl, int netns_fd, struct berth_error *err);

/* Close the socket and free the buffer. Safe on an NL_SOCK_INIT value and twice. */
void nl_close(struct nl_sock *nl);

/* Send @nlh (NLM_F_REQUEST|NLM_F_ACK are added, the sequence number assigned) and read the
 * replies until the kernel acknowledges, reports an error, or ends a dump. A kernel error is
 * returned as -errno with @err holding strerror and the kernel's extended-ack text, if any, for
 * the caller to prefix with what it was doing. */
int nl_request(struct nl_sock *nl, struct nlmsghdr *nlh, nl_reply_fn cb, void *data, struct berth_error *err);

/* The state of one exchange across the datagrams that answer it. */
struct nl_replies {
	bool done;     /* the kernel acknowledged, reported an error or ended the dump */
	int first_err; /* the first failure (kernel or callback), 0 so far */
};
#define NL_REPLIES_INIT                                                                                      \
	{                                                                                                    \
		.done = false, .first_err = 0                                                                \
	}

/* Parse one received datagram (@buf, @len bytes, 4-byte aligned) of replies to request @seq
 * from the kernel socket @portid (either 0: any), with no I/O: @cb gets each reply message other
 * than the closing ACK/DONE until it fails. NLMSG_ERROR gives the kernel's -errno with
 * strerror and the extended-ack text (NLMSGERR_ATTR_MSG) in @err.
 * Returns 1 when the exchange goes on in a further datagram, 0 when it is over and succeeded,
 * or -errno (@err set) when it is over and failed or the datagram is malformed. */
int nl_parse_replies(const void *buf, size_t len, uint32_t seq, uint32_t portid, nl_reply_fn cb, void *data,
		     struct nl_replies *st, struct berth_error *err);
