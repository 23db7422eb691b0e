/* Addresses and routes: add, delete, and read back through dumps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "berth/error.h"
#include "berth/netns.h"
#include "nl.h"
#include "rtnl.h"

/* Copy an address attribute of the right length for @family into @out. */
static void get_addr(const struct nlattr *attr, int family, struct netns_addr *out)
{
	if (mnl_attr_get_payload_len(attr) != nl_addr_len(family))
		return;
	out->family = family;
	memcpy(out->bytes, mnl_attr_get_payload(attr), nl_addr_len(family));
}

int addr_add(struct nl_sock *nl, const struct addr_entry *a, struct berth_error *err)
{
	NL_MSG_BUF(buf);
	char text[NETNS_ADDR_STRLEN];
	int r = nl_request(nl, msg_addr(buf, RTM_NEWADDR, a), NULL, NULL, err);

	if (r < 0) {
		netns_addr_format(&a->address, text, sizeof(text));
		return NL_PREFIX(r, err, "add address %s/%u to interface #%d", text, a->prefix, a->ifindex);
	}
	return 0;
}

int addr_del(struct nl_sock *nl, const struct addr_entry *a, struct berth_error *err)
{
	NL_MSG_BUF(buf);
	char text[NETNS_ADDR_STRLEN];
	int r = nl_request(nl, msg_addr(buf, RTM_DELADDR, a), NULL, NULL, err);

	if (r < 0) {
		netns_addr_format(&a->address, text, sizeof(text));
		return NL_PREFIX(r, err, "remove address %s/%u from interface #%d", text, a->prefix,
				 a->ifindex);
	}
	return 0;
}

struct addr_dump {
	int ifindex;
	struct addr_entry *v;
	size_t n, cap;
};

struct addr_attrs {
	int family;
	struct addr_entry *e;
};

static int addr_attr(const struct nlattr *attr, void *data)
{
	struct addr_attrs *a = data;

	switch (mnl_attr_get_type(attr)) {
	case IFA_ADDRESS:
		get_addr(attr, a->family, &a->e->address);
		break;
	case IFA_LOCAL:
		get_addr(attr, a->family, &a->e->local);
		break;
	case IFA_FLAGS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			a->e->flags = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

int addr_parse_msg(const struct nlmsghdr *nlh, struct addr_entry *e)
{
	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifaddrmsg))
		return 0;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	memset(e, 0, sizeof(*e));
	e->prefix = ifa->ifa_prefixlen;
	e->flags = ifa->ifa_flags; /* IFA_FLAGS, when present, has all 32 bits */
	e->scope = ifa->ifa_scope;
	e->ifindex = (int)ifa->ifa_index;
	struct addr_attrs a = {.family = ifa->ifa_family, .e = e};
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr, &a);
	/* IPv4 reports IFA_ADDRESS even without a peer; IPv6 has only it. Skip anything odd. */
	if (e->address.family == 0 && e->local.family)
		e->address = e->local;
	return e->address.family ? 1 : 0;
}

static int collect_addr(const struct nlmsghdr *nlh, void *data)
{
	struct addr_dump *d = data;
	struct addr_entry e;

	if (addr_parse_msg(nlh, &e) <= 0 || (d->ifindex && e.ifindex != d->ifindex))
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct addr_entry *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = e;
	return 0;
}

int addr_list(struct nl_sock *nl, int ifindex, struct addr_entry **ret, size_t *ret_n,
	      struct berth_error *err)
{
	NL_MSG_BUF(buf);
	struct addr_dump d = {.ifindex = ifindex};
	int r = nl_request(nl, msg_addr_dump(buf, AF_UNSPEC), collect_addr, &d, err);

	if (r < 0) {
		free(d.v);
		return NL_PREFIX(r, err, "list addresses");
	}
	*ret = d.v;
	*ret_n = d.n;
	return 0;
}

int route_add(struct nl_sock *nl, int family, const struct netns_addr *dst, unsigned dst_len,
	      const struct netns_addr *gateway, int oif, struct berth_error *err)
{
	NL_MSG_BUF(buf);
	char d[NETNS_ADDR_STRLEN] = "default", g[NETNS_ADDR_STRLEN] = "";
	int r =
	    nl_request(nl, msg_route(buf, RTM_NEWROUTE, family, dst, dst_len, gateway, oif), NULL, NULL, err);

	if (r < 0) {
		if (dst && dst_len)
			netns_addr_format(dst, d, sizeof(d));
		if (gateway)
			netns_addr_format(gateway, g, sizeof(g));
		return NL_PREFIX(r, err, "add route %s%s%s", d, gateway ? " via " : "", g);
	}
	return 0;
}

struct route_dump {
	struct route_entry *v;
	size_t n, cap;
};

struct route_attrs {
	struct route_entry *e;
	int table;
};

static int route_attr(const struct nlattr *attr, void *data)
{
	struct route_attrs *a = data;

	switch (mnl_attr_get_type(attr)) {
	case RTA_DST:
		get_addr(attr, a->e->family, &a->e->dst);
		break;
	case RTA_GATEWAY:
		get_addr(attr, a->e->family, &a->e->gateway);
		break;
	case RTA_OIF:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			a->e->oif = (int)mnl_attr_get_u32(attr);
		break;
	case RTA_TABLE:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			a->table = (int)mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

static int collect_route(const struct nlmsghdr *nlh, void *data)
{
	struct route_dump *d = data;
	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct rtmsg))
		return 0;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct route_entry *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	struct route_entry *e = &d->v[d->n];
	memset(e, 0, sizeof(*e));
	e->family = rtm->rtm_family;
	e->dst_len = rtm->rtm_dst_len;
	struct route_attrs a = {.e = e, .table = rtm->rtm_table};
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr, &a);
	if (a.table == RT_TABLE_MAIN)
		d->n++;
	return 0;
}

int route_list(struct nl_sock *nl, int family, struct route_entry **ret, size_t *ret_n,
	       struct berth_error *err)
{
	NL_MSG_BUF(buf);
	struct route_dump d = {0};
	int r = nl_request(nl, msg_route_dump(buf, family), collect_route, &d, err);

	if (r < 0) {
		free(d.v);
		return NL_PREFIX(r, err, "list routes");
	}
	*ret = d.v;
	*ret_n = d.n;
	return 0;
}
