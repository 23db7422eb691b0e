/* netns against the real kernel, inside network namespaces the test makes: every check runs in
 * a forked child that unshares its network namespace (its "host"), and makes further ones for
 * "containers", so no interface, address or route of the machine is ever touched.
 * Bridges and veth pairs, a peer moved into another namespace by descriptor, IPv4 and IPv6
 * addresses, default routes, all read back through dumps; a whole veth attach with a datagram
 * across it; netDevices moved in and out with their addresses. Needs root; exits 77 otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "berth/error.h"
#include "berth/netns.h"
#include "../../netns/nl.h"
#include "../../netns/rtnl.h"

#include "netns_fixture.h"

/* A new network namespace, as a descriptor; the caller stays where it is. */
static int new_netns(void)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || unshare(CLONE_NEWNET) < 0)
		return -1;
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (setns(self, CLONE_NEWNET) < 0)
		abort();
	close(self);
	return fd;
}

static struct netns_addr addr(const char *s)
{
	struct netns_addr a = {0};
	if (netns_addr_parse(s, &a) < 0)
		abort();
	return a;
}

static struct netns_cidr subnet(const char *s)
{
	struct netns_cidr c = {0};
	if (netns_cidr_parse(s, &c, NULL) < 0)
		abort();
	return c;
}

/* The link named @name in @nl's namespace, from a full dump (not a lookup by name). */
static bool find_link(struct nl_sock *nl, const char *name, struct link_info *ret)
{
	struct link_info *v = NULL;
	size_t n = 0;
	bool found = false;
	if (link_list(nl, &v, &n, NULL) < 0)
		return false;
	for (size_t i = 0; i < n && !found; i++) {
		if (strcmp(v[i].name, name) == 0) {
			*ret = v[i];
			found = true;
		}
	}
	free(v);
	return found;
}

static bool has_addr(struct nl_sock *nl, int ifindex, const char *ip, unsigned prefix)
{
	struct addr_entry *v = NULL;
	size_t n = 0;
	struct netns_addr want = addr(ip);
	bool found = false;
	if (addr_list(nl, ifindex, &v, &n, NULL) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		found |= netns_addr_equal(&v[i].address, &want) && v[i].prefix == prefix;
	free(v);
	return found;
}

static bool has_default_route(struct nl_sock *nl, int family, const char *gw, int oif)
{
	struct route_entry *v = NULL;
	size_t n = 0;
	struct netns_addr want = addr(gw);
	bool found = false;
	if (route_list(nl, family, &v, &n, NULL) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		found |= v[i].family == family && v[i].dst_len == 0 &&
			 netns_addr_equal(&v[i].gateway, &want) && v[i].oif == oif;
	free(v);
	return found;
}

/* ---- links ---- */

static int check_bridge_veth_move(char *msg, size_t size)
{
	struct berth_error err = {0};
	struct nl_sock host = NL_SOCK_INIT, other = NL_SOCK_INIT;
	struct link_info br, a, b;
	int fd = new_netns();
	CHECK(fd >= 0, "make a second namespace: %s", strerror(errno));
	CHECK(nl_open(&host, &err) == 0, "nl_open: %s", err.msg);
	CHECK(nl_open_in(&other, fd, &err) == 0, "nl_open_in: %s", err.msg);

	CHECK(link_create_bridge(&host, "tbr0", 1400, &err) == 0, "bridge: %s", err.msg);
	CHECK(link_create_bridge(&host, "tbr0", 1400, &err) == -EEXIST, "second bridge create: %s", err.msg);
	CHECK(link_create_veth(&host, "tva", "tvb", -1, 1400, &err) == 0, "veth: %s", err.msg);
	CHECK(link_create_veth(&host, "tva", "tvc", -1, 0, &err) == -EEXIST, "dup veth accepted");
	CHECK(strstr(err.msg, "create veth pair 'tva'/'tvc': File exists") != NULL, "dup veth message: %s",
	      err.msg);
	CHECK(find_link(&host, "tbr0", &br), "no tbr0 in the dump");
	CHECK(strcmp(br.kind, "bridge") == 0 && br.mtu == 1400, "tbr0: kind '%s' mtu %u", br.kind, br.mtu);
	CHECK(find_link(&host, "tva", &a) && find_link(&host, "tvb", &b), "veth ends not in the dump");
	CHECK(strcmp(a.kind, "veth") == 0 && a.mtu == 1400 && b.mtu == 1400, "veth: kind '%s' mtu %u/%u",
	      a.kind, a.mtu, b.mtu);

	/* master, up, MAC, alias; then move the peer away by descriptor and rename it there. */
	static const uint8_t mac[6] = {0x02, 0xbe, 0x27, 0, 0, 1};
	struct link_change ch = LINK_CHANGE_INIT;
	ch.index = a.index;
	ch.master = br.index;
	ch.up = 1;
	ch.mac = mac;
	ch.alias = "test end";
	CHECK(link_set(&host, &ch, &err) == 0, "enslave tva: %s", err.msg);
	CHECK(find_link(&host, "tva", &a), "tva gone");
	CHECK(a.master == br.index && (a.flags & IFF_UP) && strcmp(a.alias, "test end") == 0,
	      "tva: master %d (want %d), flags 0x%x, alias '%s'", a.master, br.index, a.flags, a.alias);

	struct link_change mv = LINK_CHANGE_INIT;
	mv.index = b.index;
	mv.netns_fd = fd;
	CHECK(link_set(&host, &mv, &err) == 0, "move tvb: %s", err.msg);
	CHECK(!find_link(&host, "tvb", &b), "tvb still on the host");
	CHECK(find_link(&other, "tvb", &b), "tvb not in the other namespace");
	struct link_change rn = LINK_CHANGE_INIT;
	rn.index = b.index;
	rn.new_name = "eth0";
	rn.up = 1;
	CHECK(link_set(&other, &rn, &err) == 0, "rename tvb: %s", err.msg);
	CHECK(find_link(&other, "eth0", &b) && (b.flags & IFF_UP), "no eth0 up in the other namespace");

	/* Deleting one end takes the other, across namespaces. */
	CHECK(link_del(&host, "tva", &err) == 0, "delete tva: %s", err.msg);
	CHECK(!find_link(&other, "eth0", &b), "the peer outlived its pair");
	CHECK(link_del(&host, "tva", &err) == -ENODEV, "second delete: %s", err.msg);
	CHECK(strstr(err.msg, "'tva' does not exist") != NULL, "delete message: %s", err.msg);
	struct link_info li;
	CHECK(link_get(&host, "nope0", &li, &err) == -ENODEV, "lookup of a missing link");
	nl_close(&host);
	nl_close(&other);
	close(fd);
	return 0;
}

/* ---- addresses and routes ---- */

static int check_addr_route(char *msg, size_t size)
{
	struct berth_error err = {0};
	struct nl_sock nl = NL_SOCK_INIT;
	struct link_info a;
	CHECK(nl_open(&nl, &err) == 0, "nl_open: %s", err.msg);
	CHECK(link_create_veth(&nl, "tva", "tvb", -1, 0, &err) == 0, "veth: %s", err.msg);
	CHECK(find_link(&nl, "tva", &a), "no tva");
	struct link_change up = LINK_CHANGE_INIT;
	up.index = a.index;
	up.up = 1;
	CHECK(link_set(&nl, &up, &err) == 0, "up: %s", err.msg);

	struct addr_entry v4 = {.address = addr("10.231.5.2"), .prefix = 24, .ifindex = a.index};
	struct addr_entry v6 = {
	    .address = addr("fd00:b3:5::2"), .prefix = 64, .ifindex = a.index, .flags = IFA_F_NODAD};
	CHECK(addr_add(&nl, &v4, &err) == 0, "add v4: %s", err.msg);
	CHECK(addr_add(&nl, &v4, &err) == 0, "add v4 again (replace): %s", err.msg);
	CHECK(addr_add(&nl, &v6, &err) == 0, "add v6: %s", err.msg);
	CHECK(has_addr(&nl, a.index, "10.231.5.2", 24), "10.231.5.2/24 not in the dump");
	CHECK(has_addr(&nl, a.index, "fd00:b3:5::2", 64), "fd00:b3:5::2/64 not in the dump");
	CHECK(!has_addr(&nl, a.index + 1000, "10.231.5.2", 24), "the filter by interface does not work");

	struct netns_addr gw4 = addr("10.231.5.1"), gw6 = addr("fd00:b3:5::1");
	CHECK(route_add(&nl, AF_INET, NULL, 0, &gw4, a.index, &err) == 0, "default v4: %s", err.msg);
	CHECK(route_add(&nl, AF_INET6, NULL, 0, &gw6, a.index, &err) == 0, "default v6: %s", err.msg);
	CHECK(has_default_route(&nl, AF_INET, "10.231.5.1", a.index), "no v4 default route in the dump");
	CHECK(has_default_route(&nl, AF_INET6, "fd00:b3:5::1", a.index), "no v6 default route in the dump");
	CHECK(route_add(&nl, AF_INET, NULL, 0, &gw4, a.index, &err) == -EEXIST, "duplicate route: %s",
	      err.msg);
	CHECK(strstr(err.msg, "add route default via 10.231.5.1") != NULL, "route message: %s", err.msg);
	/* A gateway off every connected subnet is refused by the kernel, with its reason. */
	struct netns_addr far = addr("10.99.0.1");
	struct netns_addr dst = addr("10.98.0.0");
	CHECK(route_add(&nl, AF_INET, &dst, 16, &far, a.index, &err) < 0, "unreachable gateway accepted");

	CHECK(addr_del(&nl, &v4, &err) == 0, "delete v4: %s", err.msg);
	CHECK(!has_addr(&nl, a.index, "10.231.5.2", 24), "10.231.5.2 still there");
	nl_close(&nl);
	return 0;
}

/* ---- a container's veth pair ---- */

static struct netns_veth_config veth_config(int fd)
{
	return (struct netns_veth_config){
	    .bridge = "tbr1",
	    .network = "t1",
	    .mtu = 1450,
	    .subnet = subnet("10.231.6.0/24"),
	    .gateway = addr("10.231.6.1"),
	    .host_ifname = "bvtest1",
	    .netns_fd = fd,
	    .ifname = "eth0",
	    .addr = addr("10.231.6.2"),
	};
}

/* A datagram from inside @fd's namespace to @to:@port, received on the host side. */
static int udp_across(int fd, const char *to, char *msg, size_t size)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	inet_pton(AF_INET, to, &sa.sin_addr);
	int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(rx >= 0 && bind(rx, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s: %s", to,
	      strerror(errno));
	CHECK(getsockname(rx, (struct sockaddr *)&sa, &len) == 0, "getsockname");
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	CHECK(self >= 0 && setns(fd, CLONE_NEWNET) == 0, "enter the container namespace");
	int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (setns(self, CLONE_NEWNET) < 0)
		abort();
	close(self);
	CHECK(tx >= 0, "socket in the container: %s", strerror(errno));
	CHECK(sendto(tx, "hello", 5, 0, (struct sockaddr *)&sa, sizeof(sa)) == 5, "send: %s",
	      strerror(errno));
	struct pollfd p = {.fd = rx, .events = POLLIN};
	char buf[16] = "";
	CHECK(poll(&p, 1, 3000) == 1, "nothing arrived at %s:%d", to, ntohs(sa.sin_port));
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	CHECK(recvfrom(rx, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &flen) == 5, "recv");
	CHECK(strcmp(buf, "hello") == 0, "received '%s'", buf);
	char src[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &from.sin_addr, src, sizeof(src));
	CHECK(strcmp(src, "10.231.6.2") == 0, "the datagram came from %s, not the container's address", src);
	close(tx);
	close(rx);
	return 0;
}

static int check_veth_attach(char *msg, size_t size)
{
	struct berth_error err = {0};
	struct nl_sock host = NL_SOCK_INIT, ctr = NL_SOCK_INIT;
	struct link_info br, h, e, lo;
	int fd = new_netns();
	CHECK(fd >= 0, "second namespace: %s", strerror(errno));
	struct netns_veth_config c = veth_config(fd);
	CHECK(netns_veth_attach(&c, &err) == 0, "attach: %s", err.msg);
	CHECK(nl_open(&host, &err) == 0 && nl_open_in(&ctr, fd, &err) == 0, "sockets: %s", err.msg);

	/* Host side: the bridge (made, with the gateway and our alias), the host end on it. */
	CHECK(find_link(&host, "tbr1", &br) && strcmp(br.kind, "bridge") == 0, "no bridge tbr1");
	CHECK(strcmp(br.alias, "berth network t1") == 0, "bridge alias '%s'", br.alias);
	CHECK((br.flags & IFF_UP) && br.mtu == 1450, "bridge flags 0x%x mtu %u", br.flags, br.mtu);
	CHECK(has_addr(&host, br.index, "10.231.6.1", 24), "no gateway address on the bridge");
	CHECK(find_link(&host, "bvtest1", &h), "no host end");
	CHECK(h.master == br.index && (h.flags & IFF_UP) && h.mtu == 1450,
	      "host end: master %d flags 0x%x mtu %u", h.master, h.flags, h.mtu);
	CHECK(!find_link(&host, "eth0", &e), "a container end on the host");

	/* Inside: eth0 up with the address, lo up, the default route. */
	CHECK(find_link(&ctr, "eth0", &e) && strcmp(e.kind, "veth") == 0, "no eth0 inside");
	CHECK((e.flags & IFF_UP) && e.mtu == 1450, "eth0 flags 0x%x mtu %u", e.flags, e.mtu);
	CHECK(has_addr(&ctr, e.index, "10.231.6.2", 24), "no 10.231.6.2/24 on eth0");
	CHECK(find_link(&ctr, "lo", &lo) && (lo.flags & IFF_UP), "lo is not up inside");
	CHECK(has_default_route(&ctr, AF_INET, "10.231.6.1", e.index), "no default route inside");
	if (udp_across(fd, "10.231.6.1", msg, size) < 0)
		return -1;

	/* A second container on the same bridge: the bridge is reused. */
	int fd2 = new_netns();
	struct netns_veth_config c2 = veth_config(fd2);
	c2.host_ifname = "bvtest2";
	c2.addr = addr("10.231.6.3");
	CHECK(netns_veth_attach(&c2, &err) == 0, "second attach: %s", err.msg);

	/* Detach: the pair goes (both ends); twice is fine; the bridge stays until removed. */
	CHECK(netns_veth_detach("bvtest1", &err) == 0, "detach: %s", err.msg);
	CHECK(netns_veth_detach("bvtest1", &err) == 0, "second detach: %s", err.msg);
	CHECK(!find_link(&host, "bvtest1", &h) && !find_link(&ctr, "eth0", &e), "the pair outlived detach");
	CHECK(find_link(&host, "tbr1", &br), "the bridge went with one container");
	CHECK(netns_veth_detach("bvtest2", &err) == 0, "detach 2: %s", err.msg);
	/* Only a bridge berth made for that network is removed. */
	CHECK(netns_bridge_remove("tbr1", "other", &err) == 0 && find_link(&host, "tbr1", &br),
	      "removed a bridge of another network");
	CHECK(netns_bridge_remove("tbr1", "t1", &err) == 0, "bridge remove: %s", err.msg);
	CHECK(!find_link(&host, "tbr1", &br), "the bridge is still there");
	CHECK(netns_bridge_remove("tbr1", "t1", &err) == 0, "removing a missing bridge: %s", err.msg);
	CHECK(link_create_bridge(&host, "userbr", 0, &err) == 0, "user bridge: %s", err.msg);
	CHECK(netns_bridge_remove("userbr", "t1", &err) == 0 && find_link(&host, "userbr", &br),
	      "removed a bridge berth did not make");
	nl_close(&host);
	nl_close(&ctr);
	close(fd);
	close(fd2);
	return 0;
}

/* Failures leave nothing of ours, and never remove what was there before. */
static int check_veth_attach_failures(char *msg, size_t size)
{
	struct berth_error err = {0};
	struct nl_sock host = NL_SOCK_INIT;
	struct link_info li;
	int fd = new_netns();
	CHECK(fd >= 0 && nl_open(&host, &err) == 0, "setup: %s", err.msg);

	/* The host name is taken: refused, and the existing interface stays. */
	CHECK(link_create_veth(&host, "bvtest1", "bvtest1p", -1, 0, &err) == 0, "veth: %s", err.msg);
	struct netns_veth_config c = veth_config(fd);
	CHECK(netns_veth_attach(&c, &err) == -EEXIST, "attach over an existing name: %d %s", err.code,
	      err.msg);
	CHECK(strstr(err.msg, "host network interface 'bvtest1' already exists"), "host name message: %s",
	      err.msg);
	CHECK(find_link(&host, "bvtest1", &li), "the existing interface was removed");

	/* eth0 is taken inside: refused, no host end left. */
	struct nl_sock ctr = NL_SOCK_INIT;
	CHECK(nl_open_in(&ctr, fd, &err) == 0, "ctr socket: %s", err.msg);
	CHECK(link_create_veth(&ctr, "eth0", "eth0p", -1, 0, &err) == 0, "eth0 inside: %s", err.msg);
	c.host_ifname = "bvtest2";
	CHECK(netns_veth_attach(&c, &err) == -EEXIST, "attach with eth0 taken: %s", err.msg);
	CHECK(strstr(err.msg, "'eth0' already exists in the container"), "eth0 message: %s", err.msg);
	CHECK(!find_link(&host, "bvtest2", &li), "host end left behind");
	/* The bridge stays (a network's, shared by its containers): remove it for what follows. */
	CHECK(netns_bridge_remove("tbr1", "t1", &err) == 0 && !find_link(&host, "tbr1", &li),
	      "bridge remove");

	/* The bridge name belongs to something that is not a bridge. */
	c.bridge = "bvtest1";
	c.host_ifname = "bvtest3";
	CHECK(netns_veth_attach(&c, &err) == -EEXIST, "attach to a non-bridge: %s", err.msg);
	CHECK(strstr(err.msg, "is not a bridge") != NULL, "not-a-bridge message: %s", err.msg);
	CHECK(!find_link(&host, "bvtest3", &li), "host end left behind");
	CHECK(find_link(&host, "bvtest1", &li), "the non-bridge was removed");

	/* Bad values are refused before any request. */
	c = veth_config(fd);
	c.host_ifname = "abcdefghijklmnop";
	CHECK(netns_veth_attach(&c, &err) == -EINVAL && strstr(err.msg, "1 to 15 bytes"), "long name: %s",
	      err.msg);
	c = veth_config(fd);
	c.addr = addr("10.231.7.2");
	CHECK(netns_veth_attach(&c, &err) == -EINVAL, "address outside the subnet accepted");
	CHECK(!find_link(&host, "tbr1", &li), "a bridge was made for refused requests");
	nl_close(&host);
	nl_close(&ctr);
	close(fd);
	return 0;
}

/* ---- linux.netDevices ---- */

static int make_device(struct nl_sock *nl, const char *name, char *msg, size_t size)
{
	struct berth_error err = {0};
	struct link_info li;
	char peer[16];
	snprintf(peer, sizeof(peer), "%sp", name);
	CHECK(link_create_veth(nl, name, peer, -1, 0, &err) == 0, "veth %s: %s", name, err.msg);
	CHECK(find_link(nl, name, &li), "no %s", name);
	struct addr_entry v4 = {.address = addr("10.231.9.5"), .prefix = 24, .ifindex = li.index};
	struct addr_entry v6 = {
	    .address = addr("fd00:b3:9::5"), .prefix = 64, .ifindex = li.index, .flags = IFA_F_NODAD};
	CHECK(addr_add(nl, &v4, &err) == 0 && addr_add(nl, &v6, &err) == 0, "addresses: %s", err.msg);
	return 0;
}

static int check_devices(char *msg, size_t size)
{
	struct berth_error err = {0};
	struct nl_sock host = NL_SOCK_INIT, ctr = NL_SOCK_INIT;
	struct link_info li;
	int fd = new_netns();
	CHECK(fd >= 0 && nl_open(&host, &err) == 0 && nl_open_in(&ctr, fd, &err) == 0, "setup: %s", err.msg);
	if (make_device(&host, "tdev0", msg, size) < 0)
		return -1;

	bool exists = false;
	CHECK(netns_link_exists("tdev0", &exists, &err) == 0 && exists, "tdev0 not found");
	CHECK(netns_link_exists("tdev9", &exists, &err) == 0 && !exists, "tdev9 found");

	struct netns_device devs[] = {{.host_name = "tdev0", .name = "ctr0"}};
	CHECK(netns_devices_move_in(fd, devs, 1, &err) == 0, "move in: %s", err.msg);
	CHECK(!find_link(&host, "tdev0", &li), "tdev0 still on the host");
	CHECK(find_link(&ctr, "ctr0", &li) && (li.flags & IFF_UP), "no ctr0 up inside");
	CHECK(has_addr(&ctr, li.index, "10.231.9.5", 24), "IPv4 address not carried over");
	CHECK(has_addr(&ctr, li.index, "fd00:b3:9::5", 64), "IPv6 address not carried over");

	CHECK(netns_devices_move_out(fd, devs, 1, &err) == 0, "move out: %s", err.msg);
	CHECK(!find_link(&ctr, "ctr0", &li), "ctr0 still inside");
	CHECK(find_link(&host, "tdev0", &li), "tdev0 not back on the host");
	CHECK(has_addr(&host, li.index, "10.231.9.5", 24) && has_addr(&host, li.index, "fd00:b3:9::5", 64),
	      "addresses not back with tdev0");
	/* Out again: nothing inside to move is not an error. */
	CHECK(netns_devices_move_out(fd, devs, 1, &err) == 0, "second move out: %s", err.msg);

	/* A missing second device: the first one is moved back, nothing stays inside. */
	struct netns_device two[] = {{.host_name = "tdev0", .name = NULL},
				     {.host_name = "tdev9", .name = NULL}};
	CHECK(netns_devices_move_in(fd, two, 2, &err) == -ENODEV, "move of a missing device: %s", err.msg);
	CHECK(strstr(err.msg, "tdev9") != NULL, "message does not name the device: %s", err.msg);
	CHECK(find_link(&host, "tdev0", &li) && !find_link(&ctr, "tdev0", &li), "tdev0 not rolled back");

	/* The new name is taken inside: refused, and the device is back on the host. */
	CHECK(link_create_veth(&ctr, "taken0", "taken0p", -1, 0, &err) == 0, "taken0: %s", err.msg);
	struct netns_device clash[] = {{.host_name = "tdev0", .name = "taken0"}};
	CHECK(netns_devices_move_in(fd, clash, 1, &err) == -EEXIST, "rename onto a taken name: %s", err.msg);
	CHECK(find_link(&host, "tdev0", &li), "tdev0 lost after a refused rename");
	CHECK(has_addr(&host, li.index, "10.231.9.5", 24), "tdev0 lost its address after a refused rename");
	nl_close(&host);
	nl_close(&ctr);
	close(fd);
	return 0;
}

#define LIVE_TEST(name, fn)                                                                                  \
	static void name(void **state)                                                                       \
	{                                                                                                    \
		(void)state;                                                                                 \
		run_in_new_netns(fn);                                                                        \
	}

LIVE_TEST(test_bridge_veth_move, check_bridge_veth_move)
LIVE_TEST(test_addr_route, check_addr_route)
LIVE_TEST(test_veth_attach, check_veth_attach)
LIVE_TEST(test_veth_attach_failures, check_veth_attach_failures)
LIVE_TEST(test_devices, check_devices)

int main(void)
{
	if (netns_fixture_skip("the live netns test"))
		return 77;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bridge_veth_move), cmocka_unit_test(test_addr_route),
	    cmocka_unit_test(test_veth_attach),      cmocka_unit_test(test_veth_attach_failures),
	    cmocka_unit_test(test_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
