/* libFuzzer target: netlink reply parsing (netns/nl.c nl_parse_replies, with the RTM_NEWLINK and
 * RTM_NEWADDR parsers of netns/link.c and netns/addr.c as callbacks) on arbitrary bytes taken as
 * one received datagram. Each input is parsed for the link and for the address callback, with
 * sequence number 0 (any) and with the first message's. A finished exchange that failed must
 * return a negative errno with a message; one that is not over yet (1) must have recorded
 * nothing; parsed entries must be sane. ASan checks that nothing is read outside the input. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <linux/netlink.h>

#include "fuzz_common.h"
#include "netns/nl.h"
#include "netns/rtnl.h"

/* A callback that fails (for an index the fuzzer can reach) exercises the callback error path. */
#define FAIL_INDEX 4242

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	size_t *n = data;
	struct link_info li;

	if (link_parse_msg(nlh, &li) < 0)
		return 0;
	FUZZ_CHECK(memchr(li.name, '\0', sizeof(li.name)) != NULL, "link name is NUL-terminated");
	FUZZ_CHECK(memchr(li.kind, '\0', sizeof(li.kind)) != NULL, "link kind is NUL-terminated");
	FUZZ_CHECK(memchr(li.alias, '\0', sizeof(li.alias)) != NULL, "link alias is NUL-terminated");
	(*n)++;
	return li.index == FAIL_INDEX ? -E2BIG : 0;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	size_t *n = data;
	struct addr_entry e;

	if (addr_parse_msg(nlh, &e) <= 0)
		return 0;
	FUZZ_CHECK(e.address.family == AF_INET || e.address.family == AF_INET6, "address family");
	FUZZ_CHECK(e.local.family == 0 || e.local.family == e.address.family, "local address family");
	(*n)++;
	return e.ifindex == FAIL_INDEX ? -ENOMEM : 0;
}

static void run(const void *buf, size_t len, uint32_t seq, nl_reply_fn cb)
{
	struct berth_error err = {0};
	struct nl_replies st = NL_REPLIES_INIT;
	size_t n = 0;
	int r = nl_parse_replies(buf, len, seq, 0, cb, &n, &st, &err);

	if (r == 1) {
		FUZZ_CHECK(!st.done, "an exchange that goes on is not done");
		FUZZ_CHECK(err.code == 0, "no error recorded while the exchange goes on");
		return;
	}
	fuzz_check_error(r, &err);
	if (r == 0)
		FUZZ_CHECK(st.done && st.first_err == 0, "success ends the exchange");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The socket path hands over a malloc'd, hence aligned, buffer of at most NL_RECV_SIZE. */
	if (size > NL_RECV_SIZE)
		return 0;
	void *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	uint32_t seq = 0;
	if (size >= sizeof(struct nlmsghdr))
		seq = ((const struct nlmsghdr *)buf)->nlmsg_seq;
	run(buf, size, 0, link_cb);
	run(buf, size, 0, addr_cb);
	run(buf, size, seq, link_cb);
	run(buf, size, seq, addr_cb);
	run(buf, size, seq, NULL);
	free(buf);
	return 0;
}
