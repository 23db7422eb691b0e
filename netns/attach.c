/* A container's network: the bridge, the veth pair and its configuration on both sides, and
 * linux.netDevices moved in and out with their addresses. The caller's network namespace is the
 * "host" side; the container's is reached through a descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/netns.h"
#include "nl.h"
#include "rtnl.h"

#define _cleanup_nl_ __attribute__((cleanup(nl_close)))

/* The alias berth gives the bridges it makes, so `network rm` removes only those. */
static void bridge_alias(const char *network, char *buf, size_t size)
{
	snprintf(buf, size, "berth network %s", network);
}

/* An address for the kernel: the prefix of the subnet; IPv6 without duplicate address detection,
 * so it is usable at once (the addresses come from our own lease table). */
static struct addr_entry host_addr(const struct netns_addr *a, unsigned prefix, int ifindex)
{
	struct addr_entry e = {
	    .address = *a, .prefix = prefix, .ifindex = ifindex, .scope = RT_SCOPE_UNIVERSE};
	if (a->family == AF_INET6)
		e.flags = IFA_F_NODAD;
	return e;
}

/* A random locally administered unicast address. */
static void random_mac(uint8_t mac[6])
{
	if (getrandom(mac, 6, 0) != 6) {
		uint64_t t = (uint64_t)getpid() * 2654435761u ^ (uint64_t)time(NULL);
		memcpy(mac, &t, 6);
	}
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
}

static int ensure_bridge(struct nl_sock *nl, const struct netns_veth_config *c, int *ret_index,
			 struct berth_error *err)
{
	struct link_info li;
	int r = link_get(nl, c->bridge, &li, err);
	if (r == -ENODEV) {
		r = link_create_bridge(nl, c->bridge, c->mtu, err);
		bool made = r == 0; /* -EEXIST: a parallel create made it first */
		if (r < 0 && r != -EEXIST)
			return r;
		r = link_get(nl, c->bridge, &li, err);
		if (r == 0 && made) {
			/* A MAC of its own: otherwise the bridge takes its lowest port's, and changes
			 * it (breaking the neighbours' caches) as containers come and go. */
			char alias[LINK_ALIAS_MAX];
			uint8_t mac[6];
			struct link_change ch = LINK_CHANGE_INIT;
			bridge_alias(c->network ? c->network : "", alias, sizeof(alias));
			random_mac(mac);
			ch.index = li.index;
			ch.alias = alias;
			ch.mac = mac;
			r = link_set(nl, &ch, err);
		}
	}
	if (r < 0)
		return r;
	if (strcmp(li.kind, "bridge") != 0)
		return berth_error_set(err, -EEXIST, "network interface '%s' exists and is not a bridge",
				       c->bridge);
	struct addr_entry gw = host_addr(&c->gateway, c->subnet.prefix, li.index);
	r = addr_add(nl, &gw, err);
	if (r < 0)
		return NL_PREFIX(r, err, "bridge '%s'", c->bridge);
	struct link_change up = LINK_CHANGE_INIT;
	up.index = li.index;
	up.up = 1;
	r = link_set(nl, &up, err);
	if (r < 0)
		return NL_PREFIX(r, err, "bridge '%s'", c->bridge);
	*ret_index = li.index;
	return 0;
}

/* Inside the container: the address, eth0 and lo up, the default route. */
static int configure_inside(struct nl_sock *nl, const struct netns_veth_config *c, struct berth_error *err)
{
	struct link_info li;
	int r = link_get(nl, c->ifname, &li, err);
	if (r < 0)
		return r;
	struct link_change up = LINK_CHANGE_INIT;
	up.index = li.index;
	up.up = 1;
	r = link_set(nl, &up, err);
	if (r < 0)
		return r;
	struct addr_entry a = host_addr(&c->addr, c->subnet.prefix, li.index);
	r = addr_add(nl, &a, err);
	if (r < 0)
		return r;
	struct link_change lo = LINK_CHANGE_INIT;
	lo.name = "lo";
	lo.up = 1;
	r = link_set(nl, &lo, err);
	if (r < 0)
		return r;
	return route_add(nl, c->addr.family, NULL, 0, &c->gateway, li.index, err);
}

static int check_veth_config(const struct netns_veth_config *c, struct berth_error *err)
{
	int r = netns_ifname_validate("bridge name", c->bridge, err);
	if (r == 0)
		r = netns_ifname_validate("host interface name", c->host_ifname, err);
	if (r == 0)
		r = netns_ifname_validate("container interface name", c->ifname, err);
	if (r < 0)
		return r;
	if (c->netns_fd < 0)
		return berth_error_set(err, -EBADF, "no network namespace to attach to");
	if (!netns_cidr_host_ok(&c->subnet, &c->addr) || !netns_cidr_host_ok(&c->subnet, &c->gateway))
		return berth_error_set(err, -EINVAL,
				       "the address or the gateway is not a host address of the subnet");
	return 0;
}

int netns_veth_attach(const struct netns_veth_config *c, struct berth_error *err)
{
	_cleanup_nl_ struct nl_sock host = NL_SOCK_INIT;
	_cleanup_nl_ struct nl_sock ctr = NL_SOCK_INIT;
	int bridge_index = 0;
	int r = check_veth_config(c, err);

	if (r == 0)
		r = nl_open(&host, err);
	if (r == 0)
		r = nl_open_in(&ctr, c->netns_fd, err);
	if (r == 0)
		r = ensure_bridge(&host, c, &bridge_index, err);
	if (r < 0)
		return r;
	r = link_create_veth(&host, c->host_ifname, c->ifname, c->netns_fd, c->mtu, err);
	if (r == -EEXIST) {
		/* Either end's name: say which. */
		struct link_info li;
		if (link_get(&host, c->host_ifname, &li, NULL) == 0)
			return berth_error_set(err, r, "host network interface '%s' already exists",
					       c->host_ifname);
		return berth_error_set(err, r, "network interface '%s' already exists in the container",
				       c->ifname);
	}
	if (r < 0)
		return r; /* nothing of ours to undo: an existing interface is someone else's */

	struct link_change ch = LINK_CHANGE_INIT;
	ch.name = c->host_ifname;
	ch.master = bridge_index;
	ch.up = 1;
	r = link_set(&host, &ch, err);
	if (r == 0)
		r = configure_inside(&ctr, c, err);
	if (r < 0)
		(void)link_del(&host, c->host_ifname, NULL);
	return r;
}

int netns_veth_detach(const char *host_ifname, struct berth_error *err)
{
	_cleanup_nl_ struct nl_sock nl = NL_SOCK_INIT;
	int r = netns_ifname_validate("host interface name", host_ifname, err);

	if (r == 0)
		r = nl_open(&nl, err);
	if (r == 0)
		r = link_del(&nl, host_ifname, err);
	if (r == -ENODEV) {
		berth_error_clear(err);
		return 0;
	}
	return r;
}

int netns_bridge_remove(const char *bridge, const char *network, struct berth_error *err)
{
	_cleanup_nl_ struct nl_sock nl = NL_SOCK_INIT;
	struct link_info li;
	char alias[LINK_ALIAS_MAX];
	int r = netns_ifname_validate("bridge name", bridge, err);

	if (r == 0)
		r = nl_open(&nl, err);
	if (r == 0)
		r = link_get(&nl, bridge, &li, err);
	if (r == -ENODEV) {
		berth_error_clear(err);
		return 0;
	}
	if (r < 0)
		return r;
	bridge_alias(network, alias, sizeof(alias));
	if (strcmp(li.kind, "bridge") != 0 || strcmp(li.alias, alias) != 0)
		return 0;
	r = link_del(&nl, bridge, err);
	if (r == -ENODEV) {
		berth_error_clear(err);
		return 0;
	}
	return r;
}

/* ---- linux.netDevices ---- */

/* The addresses the runtime-spec says travel with a device: permanent, global scope. */
static int device_addrs(struct nl_sock *nl, int ifindex, struct addr_entry **ret, size_t *ret_n,
			struct berth_error *err)
{
	struct addr_entry *v = NULL;
	size_t n = 0, keep = 0;
	int r = addr_list(nl, ifindex, &v, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if ((v[i].flags & IFA_F_PERMANENT) && v[i].scope == RT_SCOPE_UNIVERSE)
			v[keep++] = v[i];
	*ret = v;
	*ret_n = keep;
	return 0;
}

/* Give @addrs back to @ifindex in @nl's namespace (the kernel dropped them with the move). */
static int restore_addrs(struct nl_sock *nl, int ifindex, const struct addr_entry *addrs, size_t n,
			 struct berth_error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct addr_entry a = addrs[i];
		a.ifindex = ifindex;
		a.flags &= IFA_F_NODAD | IFA_F_NOPREFIXROUTE | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR;
		if (a.address.family == AF_INET6)
			a.flags |= IFA_F_NODAD;
		int r = addr_add(nl, &a, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Undo a move_link that failed half-way: the name back, the namespace back, the addresses and
 * the up state back. Best effort: this already follows a failure. */
static void move_back(struct nl_sock *src, struct nl_sock *dst, int src_fd, int index, const char *from,
		      bool renamed, const struct addr_entry *addrs, size_t n_addrs, bool was_up)
{
	struct link_change ch = LINK_CHANGE_INIT;
	struct link_info li;
	ch.index = index;
	ch.new_name = renamed ? from : NULL;
	ch.netns_fd = src_fd;
	if (link_set(dst, &ch, NULL) < 0 || link_get(src, from, &li, NULL) < 0)
		return;
	(void)restore_addrs(src, li.index, addrs, n_addrs, NULL);
	if (was_up) {
		struct link_change up = LINK_CHANGE_INIT;
		up.index = li.index;
		up.up = 1;
		(void)link_set(src, &up, NULL);
	}
}

/* Move link @from (in @src) into the namespace @dst_fd (whose socket is @dst) named @to, with
 * its addresses; @up: bring it up there (1), or leave it down (-1). On failure after the move it
 * is put back as it was. */
static int move_link(struct nl_sock *src, struct nl_sock *dst, int dst_fd, int src_fd, const char *from,
		     const char *to, int up, struct berth_error *err)
{
	struct link_info li, moved = {0};
	_cleanup_free_ struct addr_entry *addrs = NULL;
	size_t n_addrs = 0;
	bool renamed = false;
	int r = link_get(src, from, &li, err);
	if (r == 0)
		r = device_addrs(src, li.index, &addrs, &n_addrs, err);
	if (r < 0)
		return r;
	/* Moved under its own name, then renamed on the far side, where the new name is checked
	 * against the interfaces that are already there. */
	struct link_change ch = LINK_CHANGE_INIT;
	ch.index = li.index;
	ch.netns_fd = dst_fd;
	r = link_set(src, &ch, err);
	if (r == -EEXIST)
		return berth_error_set(err, r,
				       "network interface '%s' already exists in the target namespace", from);
	if (r < 0)
		return r;
	r = link_get(dst, from, &moved, err);
	if (r == 0 && strcmp(from, to) != 0) {
		struct link_change rn = LINK_CHANGE_INIT;
		rn.index = moved.index;
		rn.new_name = to;
		r = link_set(dst, &rn, err);
		if (r == -EEXIST)
			r = berth_error_set(err, r, "network interface '%s' already exists", to);
		renamed = r == 0;
	}
	if (r == 0)
		r = restore_addrs(dst, moved.index, addrs, n_addrs, err);
	if (r == 0 && up > 0) {
		struct link_change u = LINK_CHANGE_INIT;
		u.index = moved.index;
		u.up = 1;
		r = link_set(dst, &u, err);
	}
	if (r < 0 && moved.index > 0)
		move_back(src, dst, src_fd, moved.index, from, renamed, addrs, n_addrs, li.flags & IFF_UP);
	return r;
}

static int open_self_netns(int *ret_fd, struct berth_error *err)
{
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "open this thread's network namespace");
	*ret_fd = fd;
	return 0;
}

static const char *device_name(const struct netns_device *d)
{
	return d->name ? d->name : d->host_name;
}

static int move_out_one(struct nl_sock *host, struct nl_sock *ctr, int host_fd, int netns_fd,
			const struct netns_device *d, struct berth_error *err)
{
	struct link_info li;
	int r = link_get(ctr, device_name(d), &li, err);
	if (r == -ENODEV) {
		berth_error_clear(err);
		return 0; /* already gone */
	}
	if (r < 0)
		return r;
	/* Back under its host name, renamed inside first: the name it had in the container may
	 * well be taken on the host ("eth0"). */
	if (strcmp(device_name(d), d->host_name) != 0) {
		struct link_change rn = LINK_CHANGE_INIT;
		rn.index = li.index;
		rn.new_name = d->host_name;
		r = link_set(ctr, &rn, err);
		if (r < 0)
			return r;
	}
	r = move_link(ctr, host, host_fd, netns_fd, d->host_name, d->host_name, (li.flags & IFF_UP) ? 1 : -1,
		      err);
	if (r < 0 && strcmp(device_name(d), d->host_name) != 0) {
		struct link_change rn = LINK_CHANGE_INIT;
		rn.index = li.index;
		rn.new_name = device_name(d);
		(void)link_set(ctr, &rn, NULL);
	}
	return r;
}

int netns_devices_move_out(int netns_fd, const struct netns_device *devs, size_t n, struct berth_error *err)
{
	_cleanup_nl_ struct nl_sock host = NL_SOCK_INIT;
	_cleanup_nl_ struct nl_sock ctr = NL_SOCK_INIT;
	_cleanup_close_ int host_fd = -EBADF;
	int first = 0;
	int r = open_self_netns(&host_fd, err);
	if (r == 0)
		r = nl_open(&host, err);
	if (r == 0)
		r = nl_open_in(&ctr, netns_fd, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct berth_error e = {0};
		r = move_out_one(&host, &ctr, host_fd, netns_fd, &devs[i], &e);
		if (r < 0 && first == 0) {
			first = r;
			if (err)
				*err = e;
			berth_error_prefix(err, "return network device '%s' to the host", devs[i].host_name);
		}
	}
	return first;
}

int netns_devices_move_in(int netns_fd, const struct netns_device *devs, size_t n, struct berth_error *err)
{
	_cleanup_nl_ struct nl_sock host = NL_SOCK_INIT;
	_cleanup_nl_ struct nl_sock ctr = NL_SOCK_INIT;
	_cleanup_close_ int host_fd = -EBADF;
	int r = open_self_netns(&host_fd, err);
	if (r == 0)
		r = nl_open(&host, err);
	if (r == 0)
		r = nl_open_in(&ctr, netns_fd, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		r = move_link(&host, &ctr, netns_fd, host_fd, devs[i].host_name, device_name(&devs[i]), 1,
			      err);
		if (r < 0) {
			berth_error_prefix(err, "linux.netDevices: move '%s' into the container",
					   devs[i].host_name);
			for (size_t j = 0; j < i; j++)
				(void)move_out_one(&host, &ctr, host_fd, netns_fd, &devs[j], NULL);
			return r;
		}
	}
	return 0;
}
