/* rtnetlink request builders: pure functions from values to one netlink message each. The
 * caller sends them (nl_request adds NLM_F_REQUEST | NLM_F_ACK and the sequence number). */
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "rtnl.h"

static struct nlmsghdr *start(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	return nlh;
}

static struct ifinfomsg *put_ifinfomsg(struct nlmsghdr *nlh, int index)
{
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = index;
	return ifm;
}

struct nlmsghdr *msg_link_get(char *buf, const char *name)
{
	struct nlmsghdr *nlh = start(buf, RTM_GETLINK, 0);
	put_ifinfomsg(nlh, 0);
	/* By name: the kernel resolves it in the request itself. No statistics: smaller replies. */
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return nlh;
}

struct nlmsghdr *msg_link_dump(char *buf)
{
	struct nlmsghdr *nlh = start(buf, RTM_GETLINK, NLM_F_DUMP);
	put_ifinfomsg(nlh, 0);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return nlh;
}

struct nlmsghdr *msg_link_new_veth(char *buf, const char *name, const char *peer, int peer_netns_fd,
				   uint32_t mtu)
{
	struct nlmsghdr *nlh = start(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	put_ifinfomsg(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *peer_attr = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer is described like a link of its own: an ifinfomsg, then its attributes. */
	struct ifinfomsg *pifm = mnl_nlmsg_get_payload_tail(nlh);
	memset(pifm, 0, sizeof(*pifm));
	pifm->ifi_family = AF_UNSPEC;
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*pifm));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, peer_attr);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return nlh;
}

struct nlmsghdr *msg_link_new_bridge(char *buf, const char *name, uint32_t mtu)
{
	struct nlmsghdr *nlh = start(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	put_ifinfomsg(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, linkinfo);
	return nlh;
}

struct nlmsghdr *msg_link_set(char *buf, const struct link_change *c)
{
	struct nlmsghdr *nlh = start(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = put_ifinfomsg(nlh, c->index);
	if (c->up != LINK_KEEP) {
		ifm->ifi_change = IFF_UP;
		ifm->ifi_flags = c->up ? IFF_UP : 0;
	}
	/* IFLA_IFNAME names the link when there is no index, and is the new name otherwise. */
	if (c->index == 0 && c->name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, c->name);
	else if (c->index != 0 && c->new_name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, c->new_name);
	if (c->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, c->mtu);
	if (c->mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, c->mac);
	if (c->master != LINK_KEEP)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)c->master);
	if (c->netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)c->netns_fd);
	if (c->alias)
		mnl_attr_put_str(nlh, IFLA_IFALIAS, c->alias);
	return nlh;
}

struct nlmsghdr *msg_link_del(char *buf, const char *name)
{
	struct nlmsghdr *nlh = start(buf, RTM_DELLINK, 0);
	put_ifinfomsg(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

struct nlmsghdr *msg_addr(char *buf, uint16_t type, const struct addr_entry *a)
{
	uint16_t flags = type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_REPLACE : 0;
	struct nlmsghdr *nlh = start(buf, type, flags);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	int family = a->address.family;
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)a->prefix;
	ifa->ifa_flags = (uint8_t)(a->flags & 0xff);
	ifa->ifa_scope = a->scope;
	ifa->ifa_index = (uint32_t)a->ifindex;
	const struct netns_addr *local = a->local.family ? &a->local : &a->address;
	/* IPv4 names the interface's own address IFA_LOCAL (IFA_ADDRESS is the peer, the same
	 * unless point-to-point); IPv6 uses IFA_ADDRESS and IFA_LOCAL only for a peer. Giving both
	 * as the kernel reported them works for either. */
	if (family == AF_INET || a->local.family)
		mnl_attr_put(nlh, IFA_LOCAL, nl_addr_len(family), local->bytes);
	mnl_attr_put(nlh, IFA_ADDRESS, nl_addr_len(family), a->address.bytes);
	if (type == RTM_NEWADDR)
		mnl_attr_put_u32(nlh, IFA_FLAGS, a->flags);
	return nlh;
}

struct nlmsghdr *msg_addr_dump(char *buf, int family)
{
	struct nlmsghdr *nlh = start(buf, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	return nlh;
}

struct nlmsghdr *msg_route(char *buf, uint16_t type, int family, const struct netns_addr *dst,
			   unsigned dst_len, const struct netns_addr *gateway, int oif)
{
	uint16_t flags = type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0;
	struct nlmsghdr *nlh = start(buf, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = (uint8_t)(dst ? dst_len : 0);
	rtm->rtm_table = RT_TABLE_MAIN;
	if (type == RTM_NEWROUTE) {
		rtm->rtm_protocol = RTPROT_BOOT;
		rtm->rtm_type = RTN_UNICAST;
		/* Via a gateway the route reaches the universe; without one the destination is
		 * on the link. */
		rtm->rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	} else {
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	}
	if (dst && dst_len)
		mnl_attr_put(nlh, RTA_DST, nl_addr_len(family), dst->bytes);
	if (gateway)
		mnl_attr_put(nlh, RTA_GATEWAY, nl_addr_len(family), gateway->bytes);
	if (oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	return nlh;
}

struct nlmsghdr *msg_route_dump(char *buf, int family)
{
	struct nlmsghdr *nlh = start(buf, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	return nlh;
}
