/* Link operations: bringing an interface up. */
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "berth/error.h"
#include "berth/netns.h"
#include "nl.h"

/* Large enough for an ifinfomsg and a few attributes. */
#define LINK_REQ_SIZE 1024

static int validate_ifname(const char *ifname, struct berth_error *err)
{
	size_t len = ifname ? strlen(ifname) : 0;

	if (len == 0 || len >= IFNAMSIZ)
		return berth_error_set(err, -EINVAL, "network interface name '%s' must be 1 to %d bytes long",
				       ifname ? ifname : "", IFNAMSIZ - 1);
	return 0;
}

int netns_link_up(const char *ifname, struct berth_error *err)
{
	_Alignas(struct nlmsghdr) char buf[LINK_REQ_SIZE];
	__attribute__((cleanup(nl_close))) struct nl_sock nl = NL_SOCK_INIT;
	int r = validate_ifname(ifname, err);

	if (r < 0)
		return r;
	r = nl_open(&nl, err);
	if (r < 0)
		return berth_error_prefix(err, "bring up network interface '%s'", ifname);

	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	/* By name rather than if_nametoindex(): the kernel resolves it in the same request, so the
	 * interface cannot be renamed in between. Without NLM_F_CREATE a missing one is -ENODEV. */
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);

	r = nl_request(&nl, nlh, NULL, NULL, err);
	if (r == -ENODEV)
		return berth_error_set(err, r,
				       "bring up network interface '%s': it does not exist in this "
				       "network namespace",
				       ifname);
	if (r < 0)
		return berth_error_prefix(err, "bring up network interface '%s'", ifname);
	return 0;
}
