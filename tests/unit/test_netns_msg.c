/* The rtnetlink requests netns/ builds, parsed back with libmnl's attribute parser: message type
 * and flags, the fixed header, every attribute's type, length and value, and the nesting of
 * IFLA_LINKINFO / IFLA_INFO_DATA / VETH_INFO_PEER. No root needed: nothing is sent. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "berth/netns.h"
#include "../../netns/rtnl.h"

/* Attributes of one level, by type (the last occurrence), plus how many there were. */
#define MAX_ATTR 64
struct attrs {
	const struct nlattr *tb[MAX_ATTR];
	int count;
};

static int collect(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	int type = mnl_attr_get_type(attr);
	a->count++;
	if (type < MAX_ATTR)
		a->tb[type] = attr;
	return MNL_CB_OK;
}

/* Parse @nlh's attributes after a fixed header of @hdr bytes; the whole message must be used up
 * by well-formed attributes. */
static void parse_msg(const struct nlmsghdr *nlh, size_t hdr, struct attrs *a)
{
	memset(a, 0, sizeof(*a));
	assert_true(nlh->nlmsg_len <= NL_MSG_SIZE);
	assert_true(nlh->nlmsg_len >= MNL_NLMSG_HDRLEN + MNL_ALIGN(hdr));
	assert_int_equal(mnl_attr_parse(nlh, (unsigned)hdr, collect, a), MNL_CB_OK);
}

static void parse_nested(const struct nlattr *nest, struct attrs *a)
{
	memset(a, 0, sizeof(*a));
	assert_non_null(nest);
	assert_int_equal(mnl_attr_validate(nest, MNL_TYPE_NESTED), 0);
	assert_int_equal(mnl_attr_parse_nested(nest, collect, a), MNL_CB_OK);
}

static void assert_strz(const struct nlattr *attr, const char *want)
{
	assert_non_null(attr);
	assert_int_equal(mnl_attr_validate(attr, MNL_TYPE_NUL_STRING), 0);
	assert_int_equal(mnl_attr_get_payload_len(attr), strlen(want) + 1);
	assert_string_equal(mnl_attr_get_str(attr), want);
}

static void assert_u32(const struct nlattr *attr, uint32_t want)
{
	assert_non_null(attr);
	assert_int_equal(mnl_attr_validate(attr, MNL_TYPE_U32), 0);
	assert_int_equal(mnl_attr_get_u32(attr), want);
}

static void assert_bytes(const struct nlattr *attr, const void *want, size_t len)
{
	assert_non_null(attr);
	assert_int_equal(mnl_attr_get_payload_len(attr), len);
	assert_memory_equal(mnl_attr_get_payload(attr), want, len);
}

static struct netns_addr addr(const char *s)
{
	struct netns_addr a;
	assert_int_equal(netns_addr_parse(s, &a), 0);
	return a;
}

static void test_veth(void **state)
{
	NL_MSG_BUF(buf);
	struct attrs top, info, data, peer;
	(void)state;

	struct nlmsghdr *nlh = msg_link_new_veth(buf, "bv0123456789ab", "eth0", 7, 1400);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_CREATE | NLM_F_EXCL);
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifm->ifi_family, AF_UNSPEC);
	assert_int_equal(ifm->ifi_index, 0);

	parse_msg(nlh, sizeof(*ifm), &top);
	assert_int_equal(top.count, 3);
	assert_strz(top.tb[IFLA_IFNAME], "bv0123456789ab");
	assert_u32(top.tb[IFLA_MTU], 1400);

	parse_nested(top.tb[IFLA_LINKINFO], &info);
	assert_int_equal(info.count, 2);
	assert_strz(info.tb[IFLA_INFO_KIND], "veth");

	parse_nested(info.tb[IFLA_INFO_DATA], &data);
	assert_int_equal(data.count, 1);
	const struct nlattr *p = data.tb[VETH_INFO_PEER];
	assert_non_null(p);
	/* The peer: an ifinfomsg, then attributes of its own, all inside VETH_INFO_PEER. */
	assert_true(mnl_attr_get_payload_len(p) >= sizeof(struct ifinfomsg));
	const struct ifinfomsg *pifm = mnl_attr_get_payload(p);
	assert_int_equal(pifm->ifi_family, AF_UNSPEC);
	assert_int_equal(pifm->ifi_index, 0);
	memset(&peer, 0, sizeof(peer));
	size_t off = MNL_ALIGN(sizeof(*pifm));
	assert_int_equal(mnl_attr_parse_payload((const char *)pifm + off, mnl_attr_get_payload_len(p) - off,
						collect, &peer),
			 MNL_CB_OK);
	assert_int_equal(peer.count, 3);
	assert_strz(peer.tb[IFLA_IFNAME], "eth0");
	assert_u32(peer.tb[IFLA_MTU], 1400);
	assert_u32(peer.tb[IFLA_NET_NS_FD], 7);

	/* The nests end exactly where the message ends. */
	const char *end = (const char *)nlh + nlh->nlmsg_len;
	assert_ptr_equal((const char *)top.tb[IFLA_LINKINFO] + MNL_ALIGN(top.tb[IFLA_LINKINFO]->nla_len),
			 end);
}

static void test_veth_defaults(void **state)
{
	NL_MSG_BUF(buf);
	struct attrs top, info, data, peer;
	(void)state;

	/* No MTU and no namespace: neither attribute is sent. */
	struct nlmsghdr *nlh = msg_link_new_veth(buf, "a", "b", -1, 0);
	parse_msg(nlh, sizeof(struct ifinfomsg), &top);
	assert_null(top.tb[IFLA_MTU]);
	parse_nested(top.tb[IFLA_LINKINFO], &info);
	parse_nested(info.tb[IFLA_INFO_DATA], &data);
	const struct nlattr *p = data.tb[VETH_INFO_PEER];
	size_t off = MNL_ALIGN(sizeof(struct ifinfomsg));
	memset(&peer, 0, sizeof(peer));
	assert_int_equal(mnl_attr_parse_payload((const char *)mnl_attr_get_payload(p) + off,
						mnl_attr_get_payload_len(p) - off, collect, &peer),
			 MNL_CB_OK);
	assert_int_equal(peer.count, 1);
	assert_strz(peer.tb[IFLA_IFNAME], "b");
}

static void test_bridge(void **state)
{
	NL_MSG_BUF(buf);
	struct attrs top, info;
	(void)state;

	struct nlmsghdr *nlh = msg_link_new_bridge(buf, "berth-n1", 9000);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_CREATE | NLM_F_EXCL);
	parse_msg(nlh, sizeof(struct ifinfomsg), &top);
	assert_int_equal(top.count, 3);
	assert_strz(top.tb[IFLA_IFNAME], "berth-n1");
	assert_u32(top.tb[IFLA_MTU], 9000);
	parse_nested(top.tb[IFLA_LINKINFO], &info);
	assert_int_equal(info.count, 1);
	assert_strz(info.tb[IFLA_INFO_KIND], "bridge");
}

static void test_link_set_all(void **state)
{
	NL_MSG_BUF(buf);
	struct attrs top;
	static const uint8_t mac[6] = {0x02, 1, 2, 3, 4, 5};
	struct link_change c = LINK_CHANGE_INIT;
	(void)state;

	c.index = 42;
	c.up = 1;
	c.mtu = 1280;
	c.mac = mac;
	c.new_name = "ctr0";
	c.master = 9;
	c.netns_fd = 5;
	c.alias = "berth network n1";
	struct nlmsghdr *nlh = msg_link_set(buf, &c);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	assert_int_equal(nlh->nlmsg_flags, 0); /* a change, never a create */
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifm->ifi_index, 42);
	assert_int_equal(ifm->ifi_change, IFF_UP);
	assert_int_equal(ifm->ifi_flags, IFF_UP);
	parse_msg(nlh, sizeof(*ifm), &top);
	assert_int_equal(top.count, 6);
	assert_strz(top.tb[IFLA_IFNAME], "ctr0");
	assert_u32(top.tb[IFLA_MTU], 1280);
	assert_bytes(top.tb[IFLA_ADDRESS], mac, 6);
	assert_u32(top.tb[IFLA_MASTER], 9);
	assert_u32(top.tb[IFLA_NET_NS_FD], 5);
	assert_bytes(top.tb[IFLA_IFALIAS], "berth network n1", strlen("berth network n1"));
}

static void test_link_set_by_name(void **state)
{
	NL_MSG_BUF(buf);
	struct attrs top;
	struct link_change c = LINK_CHANGE_INIT;
	(void)state;

	/* Down, by name, nothing else: the name identifies the link, flags say down. */
	c.name = "lo";
	c.up = 0;
	struct nlmsghdr *nlh = msg_link_set(buf, &c);
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifm->ifi_index, 0);
	assert_int_equal(ifm->ifi_change, IFF_UP);
	assert_int_equal(ifm->ifi_flags, 0);
	parse_msg(nlh, sizeof(*ifm), &top);
	assert_int_equal(top.count, 1);
	assert_strz(top.tb[IFLA_IFNAME], "lo");

	/* LINK_KEEP leaves the flags alone; master 0 detaches. */
	struct link_change k = LINK_CHANGE_INIT;
	k.index = 3;
	k.master = 0;
	nlh = msg_link_set(buf, &k);
	ifm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifm->ifi_change, 0);
	parse_msg(nlh, sizeof(*ifm), &top);
	assert_int_equal(top.count, 1);
	assert_u32(top.tb[IFLA_MASTER], 0);
}

static void test_link_get_del_dump(void **state)
{
	NL_MSG_BUF(buf);
	struct attrs top;
	(void)state;

	struct nlmsghdr *nlh = msg_link_get(buf, "eth0");
	assert_int_equal(nlh->nlmsg_type, RTM_GETLINK);
	assert_int_equal(nlh->nlmsg_flags, 0);
	parse_msg(nlh, sizeof(struct ifinfomsg), &top);
	assert_strz(top.tb[IFLA_IFNAME], "eth0");
	assert_u32(top.tb[IFLA_EXT_MASK], RTEXT_FILTER_SKIP_STATS);

	nlh = msg_link_dump(buf);
	assert_int_equal(nlh->nlmsg_type, RTM_GETLINK);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_DUMP);

	nlh = msg_link_del(buf, "bv1");
	assert_int_equal(nlh->nlmsg_type, RTM_DELLINK);
	parse_msg(nlh, sizeof(struct ifinfomsg), &top);
	assert_int_equal(top.count, 1);
	assert_strz(top.tb[IFLA_IFNAME], "bv1");
}

static void test_addr_v4(void **state)
{
	NL_MSG_BUF(buf);
	struct attrs top;
	(void)state;

	struct addr_entry a = {
	    .address = addr("10.231.1.2"), .prefix = 24, .ifindex = 4, .scope = RT_SCOPE_UNIVERSE};
	struct nlmsghdr *nlh = msg_addr(buf, RTM_NEWADDR, &a);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWADDR);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_CREATE | NLM_F_REPLACE);
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifa->ifa_family, AF_INET);
	assert_int_equal(ifa->ifa_prefixlen, 24);
	assert_int_equal(ifa->ifa_index, 4);
	assert_int_equal(ifa->ifa_scope, RT_SCOPE_UNIVERSE);
	parse_msg(nlh, sizeof(*ifa), &top);
	assert_int_equal(top.count, 3);
	uint8_t want[4] = {10, 231, 1, 2};
	assert_bytes(top.tb[IFA_LOCAL], want, 4);
	assert_bytes(top.tb[IFA_ADDRESS], want, 4);
	assert_u32(top.tb[IFA_FLAGS], 0);

	nlh = msg_addr(buf, RTM_DELADDR, &a);
	assert_int_equal(nlh->nlmsg_type, RTM_DELADDR);
	assert_int_equal(nlh->nlmsg_flags, 0);
	parse_msg(nlh, sizeof(*ifa), &top);
	assert_null(top.tb[IFA_FLAGS]);
}

static void test_addr_v6(void **state)
{
	NL_MSG_BUF(buf);
	struct attrs top;
	(void)state;

	struct addr_entry a = {
	    .address = addr("fd00:b3::2"), .prefix = 64, .ifindex = 2, .flags = IFA_F_NODAD};
	struct nlmsghdr *nlh = msg_addr(buf, RTM_NEWADDR, &a);
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifa->ifa_family, AF_INET6);
	assert_int_equal(ifa->ifa_prefixlen, 64);
	assert_int_equal(ifa->ifa_flags, IFA_F_NODAD);
	parse_msg(nlh, sizeof(*ifa), &top);
	/* IPv6 without a peer: IFA_ADDRESS only. */
	assert_int_equal(top.count, 2);
	assert_null(top.tb[IFA_LOCAL]);
	assert_bytes(top.tb[IFA_ADDRESS], a.address.bytes, 16);
	assert_u32(top.tb[IFA_FLAGS], IFA_F_NODAD);

	nlh = msg_addr_dump(buf, AF_INET6);
	assert_int_equal(nlh->nlmsg_type, RTM_GETADDR);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_DUMP);
	assert_int_equal(((const struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_family, AF_INET6);
}

static void test_route_default(void **state)
{
	NL_MSG_BUF(buf);
	struct attrs top;
	(void)state;

	struct netns_addr gw = addr("10.231.1.1");
	struct nlmsghdr *nlh = msg_route(buf, RTM_NEWROUTE, AF_INET, NULL, 0, &gw, 3);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWROUTE);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_CREATE | NLM_F_EXCL);
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(rtm->rtm_family, AF_INET);
	assert_int_equal(rtm->rtm_dst_len, 0);
	assert_int_equal(rtm->rtm_table, RT_TABLE_MAIN);
	assert_int_equal(rtm->rtm_protocol, RTPROT_BOOT);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_UNIVERSE);
	assert_int_equal(rtm->rtm_type, RTN_UNICAST);
	parse_msg(nlh, sizeof(*rtm), &top);
	assert_int_equal(top.count, 2);
	assert_null(top.tb[RTA_DST]);
	assert_bytes(top.tb[RTA_GATEWAY], gw.bytes, 4);
	assert_u32(top.tb[RTA_OIF], 3);
}

static void test_route_v6_dst(void **state)
{
	NL_MSG_BUF(buf);
	struct attrs top;
	(void)state;

	struct netns_addr dst = addr("fd00:b3:1::"), gw = addr("fd00:b3::1");
	struct nlmsghdr *nlh = msg_route(buf, RTM_NEWROUTE, AF_INET6, &dst, 48, &gw, 0);
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(rtm->rtm_family, AF_INET6);
	assert_int_equal(rtm->rtm_dst_len, 48);
	parse_msg(nlh, sizeof(*rtm), &top);
	assert_int_equal(top.count, 2);
	assert_bytes(top.tb[RTA_DST], dst.bytes, 16);
	assert_bytes(top.tb[RTA_GATEWAY], gw.bytes, 16);

	/* On-link (no gateway) routes have link scope; deletions scope "nowhere". */
	nlh = msg_route(buf, RTM_NEWROUTE, AF_INET6, &dst, 48, NULL, 2);
	assert_int_equal(((const struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_scope, RT_SCOPE_LINK);
	nlh = msg_route(buf, RTM_DELROUTE, AF_INET6, &dst, 48, &gw, 0);
	assert_int_equal(nlh->nlmsg_flags, 0);
	assert_int_equal(((const struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_scope, RT_SCOPE_NOWHERE);

	nlh = msg_route_dump(buf, AF_INET);
	assert_int_equal(nlh->nlmsg_type, RTM_GETROUTE);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_DUMP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_veth),
	    cmocka_unit_test(test_veth_defaults),
	    cmocka_unit_test(test_bridge),
	    cmocka_unit_test(test_link_set_all),
	    cmocka_unit_test(test_link_set_by_name),
	    cmocka_unit_test(test_link_get_del_dump),
	    cmocka_unit_test(test_addr_v4),
	    cmocka_unit_test(test_addr_v6),
	    cmocka_unit_test(test_route_default),
	    cmocka_unit_test(test_route_v6_dst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
