/* Link operations: look-up, dumps, veth pairs, bridges, changes (up/down, MTU, MAC, rename,
 * master, namespace, alias) and removal, each one request over an nl_sock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>

#include "berth/error.h"
#include "berth/netns.h"
#include "nl.h"
#include "rtnl.h"

static int linkinfo_attr(const struct nlattr *attr, void *data)
{
	struct link_info *li = data;

	if (mnl_attr_get_type(attr) == IFLA_INFO_KIND && mnl_attr_validate(attr, MNL_TYPE_STRING) == 0)
		snprintf(li->kind, sizeof(li->kind), "%.*s", (int)mnl_attr_get_payload_len(attr),
			 mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *attr, void *data)
{
	struct link_info *li = data;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(li->name, sizeof(li->name), "%s", mnl_attr_get_str(attr));
		break;
	case IFLA_IFALIAS:
		if (mnl_attr_validate(attr, MNL_TYPE_STRING) == 0)
			snprintf(li->alias, sizeof(li->alias), "%.*s", (int)mnl_attr_get_payload_len(attr),
				 mnl_attr_get_str(attr));
		break;
	case IFLA_MTU:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			li->mtu = mnl_attr_get_u32(attr);
		break;
	case IFLA_MASTER:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			li->master = (int)mnl_attr_get_u32(attr);
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
			mnl_attr_parse_nested(attr, linkinfo_attr, li);
		break;
	}
	return MNL_CB_OK;
}

int link_parse_msg(const struct nlmsghdr *nlh, struct link_info *li)
{
	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return -EBADMSG;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	memset(li, 0, sizeof(*li));
	li->index = ifm->ifi_index;
	li->flags = ifm->ifi_flags;
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr, li);
	return 0;
}

static int one_link(const struct nlmsghdr *nlh, void *data)
{
	return link_parse_msg(nlh, data);
}

int link_get(struct nl_sock *nl, const char *name, struct link_info *ret, struct berth_error *err)
{
	NL_MSG_BUF(buf);
	struct link_info li = {0};
	int r = nl_request(nl, msg_link_get(buf, name), one_link, &li, err);

	if (r == -ENODEV)
		return berth_error_set(err, r, "network interface '%s' does not exist", name);
	if (r < 0)
		return NL_PREFIX(r, err, "look up network interface '%s'", name);
	if (li.index <= 0)
		return berth_error_set(err, -EBADMSG, "look up network interface '%s': no answer", name);
	*ret = li;
	return 0;
}

struct link_array {
	struct link_info *v;
	size_t n, cap;
};

static int collect_link(const struct nlmsghdr *nlh, void *data)
{
	struct link_array *a = data;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct link_info *v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	if (link_parse_msg(nlh, &a->v[a->n]) == 0)
		a->n++;
	return 0;
}

int link_list(struct nl_sock *nl, struct link_info **ret, size_t *ret_n, struct berth_error *err)
{
	NL_MSG_BUF(buf);
	struct link_array a = {0};
	int r = nl_request(nl, msg_link_dump(buf), collect_link, &a, err);

	if (r < 0) {
		free(a.v);
		return NL_PREFIX(r, err, "list network interfaces");
	}
	*ret = a.v;
	*ret_n = a.n;
	return 0;
}

int link_create_veth(struct nl_sock *nl, const char *name, const char *peer, int peer_netns_fd, uint32_t mtu,
		     struct berth_error *err)
{
	NL_MSG_BUF(buf);
	int r = nl_request(nl, msg_link_new_veth(buf, name, peer, peer_netns_fd, mtu), NULL, NULL, err);

	if (r < 0)
		return NL_PREFIX(r, err, "create veth pair '%s'/'%s'", name, peer);
	return 0;
}

int link_create_bridge(struct nl_sock *nl, const char *name, uint32_t mtu, struct berth_error *err)
{
	NL_MSG_BUF(buf);
	int r = nl_request(nl, msg_link_new_bridge(buf, name, mtu), NULL, NULL, err);

	if (r < 0 && r != -EEXIST)
		return NL_PREFIX(r, err, "create bridge '%s'", name);
	return r;
}

int link_set(struct nl_sock *nl, const struct link_change *c, struct berth_error *err)
{
	NL_MSG_BUF(buf);
	char what[32];
	int r;

	if (c->index == 0 && (!c->name || c->new_name))
		return berth_error_set(err, -EINVAL, "change a network interface: a rename needs its index");
	if (c->alias && strlen(c->alias) >= LINK_ALIAS_MAX)
		return berth_error_set(err, -EINVAL, "interface alias '%s' is too long", c->alias);
	r = nl_request(nl, msg_link_set(buf, c), NULL, NULL, err);
	if (r == 0)
		return 0;
	if (c->name)
		snprintf(what, sizeof(what), "'%s'", c->name);
	else
		snprintf(what, sizeof(what), "#%d", c->index);
	if (r == -ENODEV)
		return berth_error_set(err, r,
				       "network interface %s does not exist in this network namespace", what);
	return NL_PREFIX(r, err, "change network interface %s", what);
}

int link_del(struct nl_sock *nl, const char *name, struct berth_error *err)
{
	NL_MSG_BUF(buf);
	int r = nl_request(nl, msg_link_del(buf, name), NULL, NULL, err);

	if (r == -ENODEV)
		return berth_error_set(err, r, "network interface '%s' does not exist", name);
	if (r < 0)
		return NL_PREFIX(r, err, "delete network interface '%s'", name);
	return 0;
}

int netns_link_up(const char *ifname, struct berth_error *err)
{
	__attribute__((cleanup(nl_close))) struct nl_sock nl = NL_SOCK_INIT;
	struct link_change c = LINK_CHANGE_INIT;
	int r = netns_ifname_validate("network interface name", ifname, err);

	if (r < 0)
		return r;
	r = nl_open(&nl, err);
	if (r < 0)
		return NL_PREFIX(r, err, "bring up network interface '%s'", ifname);
	c.name = ifname;
	c.up = 1;
	return link_set(&nl, &c, err);
}

int netns_link_exists(const char *ifname, bool *ret_exists, struct berth_error *err)
{
	__attribute__((cleanup(nl_close))) struct nl_sock nl = NL_SOCK_INIT;
	struct link_info li;
	int r = netns_ifname_validate("network interface name", ifname, err);

	if (r == 0)
		r = nl_open(&nl, err);
	if (r == 0)
		r = link_get(&nl, ifname, &li, err);
	if (r == -ENODEV) {
		berth_error_clear(err);
		*ret_exists = false;
		return 0;
	}
	if (r < 0)
		return r;
	*ret_exists = true;
	return 0;
}
