/* Addresses, subnets and the network store: CIDR parsing, containment and overlap, the n-th
 * address, interface names; network create/get/list/remove and address leases (first free,
 * fixed, outside the subnet, the gateway, taken, released and reused, a full subnet, stale
 * leases, many processes at once) in a temporary state root. No root needed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/error.h"
#include "berth/netns.h"
#include "berth/util.h"

/* ---- addresses ---- */

static struct netns_cidr cidr(const char *s)
{
	struct netns_cidr c;
	struct berth_error err = {0};
	int r = netns_cidr_parse(s, &c, &err);
	if (r < 0)
		fail_msg("netns_cidr_parse(%s): %s", s, err.msg);
	return c;
}

static struct netns_addr addr(const char *s)
{
	struct netns_addr a;
	assert_int_equal(netns_addr_parse(s, &a), 0);
	return a;
}

static void assert_nth(const struct netns_cidr *c, uint64_t i, const char *want)
{
	struct netns_addr a;
	char text[NETNS_ADDR_STRLEN];
	assert_int_equal(netns_cidr_nth(c, i, &a), 0);
	netns_addr_format(&a, text, sizeof(text));
	assert_string_equal(text, want);
}

static void test_cidr_parse(void **state)
{
	struct netns_cidr c;
	struct berth_error err = {0};
	char text[NETNS_CIDR_STRLEN];
	(void)state;

	c = cidr("10.231.1.0/24");
	assert_int_equal(c.addr.family, AF_INET);
	assert_int_equal(c.prefix, 24);
	netns_cidr_format(&c, text, sizeof(text));
	assert_string_equal(text, "10.231.1.0/24");
	c = cidr("fd00:b3::/64");
	assert_int_equal(c.addr.family, AF_INET6);
	netns_cidr_format(&c, text, sizeof(text));
	assert_string_equal(text, "fd00:b3::/64");
	c = cidr("10.0.0.0/8");
	assert_int_equal(c.prefix, 8);
	c = cidr("10.231.1.4/30");
	assert_int_equal(c.prefix, 30);

	static const char *const bad[] = {
	    "10.231.1.0",
	    "10.231.1.0/",
	    "10.231.1.0/abc",
	    "10.231.1.0/-1",
	    "10.231.1.0/+24",
	    "10.231.1.0/31",
	    "10.231.1.0/32",
	    "10.231.1.0/0",
	    "10.231.1.5/24",
	    "300.1.1.0/24",
	    "fd00::/127",
	    "fd00::1/64",
	    "/24",
	    "",
	    "10.231.1.0/24x",
	    "10.231.1.0/2 4",
	    "10.231.1.0//24",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.code = 0;
		if (netns_cidr_parse(bad[i], &c, &err) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_int_equal(err.code, -EINVAL);
	}
	assert_int_equal(netns_cidr_parse("10.231.1.5/24", &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "host bits"));
	assert_int_equal(netns_cidr_parse(NULL, &c, &err), -EINVAL);
}

static void test_cidr_contains_overlap(void **state)
{
	(void)state;
	struct netns_cidr a = cidr("10.231.1.0/24"), b = cidr("10.231.1.128/25"), c = cidr("10.231.2.0/24");
	struct netns_cidr big = cidr("10.231.0.0/16"), v6 = cidr("fd00:b3::/64"),
			  v6b = cidr("fd00:b3:0:1::/64");

	struct netns_addr in = addr("10.231.1.77"), out = addr("10.231.2.1");
	assert_true(netns_cidr_contains(&a, &in));
	assert_false(netns_cidr_contains(&a, &out));
	struct netns_addr v6in = addr("fd00:b3::42");
	assert_false(netns_cidr_contains(&a, &v6in));
	assert_true(netns_cidr_contains(&v6, &v6in));
	assert_false(netns_cidr_contains(&v6b, &v6in));

	assert_true(netns_cidr_overlap(&a, &b));
	assert_true(netns_cidr_overlap(&b, &a));
	assert_false(netns_cidr_overlap(&a, &c));
	assert_true(netns_cidr_overlap(&big, &c));
	assert_true(netns_cidr_overlap(&c, &big));
	assert_false(netns_cidr_overlap(&a, &v6));
	assert_false(netns_cidr_overlap(&v6, &v6b));
	assert_true(netns_cidr_overlap(&v6, &v6));
}

static void test_cidr_nth_host(void **state)
{
	(void)state;
	struct netns_cidr c = cidr("10.231.1.0/24"), s30 = cidr("10.231.1.4/30"), v6 = cidr("fd00:b3::/64");
	struct netns_addr a;

	assert_nth(&c, 0, "10.231.1.0");
	assert_nth(&c, 1, "10.231.1.1");
	assert_nth(&c, 255, "10.231.1.255");
	assert_int_equal(netns_cidr_nth(&c, 256, &a), -ERANGE);
	struct netns_cidr w = cidr("10.231.0.0/16");
	assert_nth(&w, 256 + 7, "10.231.1.7");
	assert_nth(&w, 65535, "10.231.255.255");
	assert_nth(&v6, 2, "fd00:b3::2");
	assert_nth(&v6, 0x10000, "fd00:b3::1:0");
	assert_nth(&v6, UINT64_MAX, "fd00:b3::ffff:ffff:ffff:ffff");

	struct netns_addr net = addr("10.231.1.4"), h1 = addr("10.231.1.5"), h2 = addr("10.231.1.6"),
			  bc = addr("10.231.1.7");
	assert_false(netns_cidr_host_ok(&s30, &net));
	assert_true(netns_cidr_host_ok(&s30, &h1));
	assert_true(netns_cidr_host_ok(&s30, &h2));
	assert_false(netns_cidr_host_ok(&s30, &bc));
	struct netns_addr v6last = addr("fd00:b3::ffff:ffff:ffff:ffff"), v6net = addr("fd00:b3::");
	assert_true(netns_cidr_host_ok(&v6, &v6last)); /* no broadcast in IPv6 */
	assert_false(netns_cidr_host_ok(&v6, &v6net));
}

static void test_addr_parse_format(void **state)
{
	struct netns_addr a, b;
	char text[NETNS_ADDR_STRLEN];
	(void)state;

	assert_int_equal(netns_addr_parse("10.231.1.2", &a), 0);
	assert_int_equal(a.family, AF_INET);
	netns_addr_format(&a, text, sizeof(text));
	assert_string_equal(text, "10.231.1.2");
	assert_int_equal(netns_addr_parse("FD00:B3:0::2", &b), 0);
	netns_addr_format(&b, text, sizeof(text));
	assert_string_equal(text, "fd00:b3::2");
	assert_false(netns_addr_equal(&a, &b));
	assert_int_equal(netns_addr_parse("10.231.1", &a), -EINVAL);
	assert_int_equal(netns_addr_parse("10.231.1.2/24", &a), -EINVAL);
	assert_int_equal(netns_addr_parse("", &a), -EINVAL);
	assert_int_equal(netns_addr_parse(NULL, &a), -EINVAL);
}

static void test_ifname(void **state)
{
	struct berth_error err = {0};
	(void)state;

	assert_int_equal(netns_ifname_validate("bridge name", "berth-n1", &err), 0);
	assert_int_equal(netns_ifname_validate("bridge name", "abcdefghijklmno", &err), 0); /* 15 */
	assert_int_equal(netns_ifname_validate("bridge name", "abcdefghijklmnop", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bridge name 'abcdefghijklmnop' must be 1 to 15 bytes long"));
	assert_int_equal(netns_ifname_validate("x", "", &err), -EINVAL);
	assert_int_equal(netns_ifname_validate("x", NULL, &err), -EINVAL);
	assert_int_equal(netns_ifname_validate("x", "a/b", &err), -EINVAL);
	assert_int_equal(netns_ifname_validate("x", "a b", &err), -EINVAL);
	assert_int_equal(netns_ifname_validate("x", "a:1", &err), -EINVAL);
	assert_int_equal(netns_ifname_validate("x", "..", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a valid interface name"));
}

/* ---- the store ---- */

struct root {
	char dir[64];
	int fd;
};

static int root_setup(void **state)
{
	struct root *r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	snprintf(r->dir, sizeof(r->dir), "/tmp/berth-nettest-XXXXXX");
	if (!mkdtemp(r->dir)) {
		free(r);
		return -1;
	}
	r->fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = r;
	return r->fd < 0 ? -1 : 0;
}

static int root_teardown(void **state)
{
	struct root *r = *state;
	rm_rf_at(AT_FDCWD, r->dir);
	close(r->fd);
	free(r);
	return 0;
}

/* A container directory, as create makes before it takes a lease. */
static void make_container(struct root *r, const char *id)
{
	assert_int_equal(mkdirat(r->fd, id, 0700), 0);
}

static void create_net(struct root *r, const char *name, const char *subnet)
{
	struct berth_error err = {0};
	struct netns_network_opts o = {.name = name, .subnet = subnet};
	int rc = netns_network_create(r->fd, &o, NULL, &err);
	if (rc < 0)
		fail_msg("create %s %s: %s", name, subnet, err.msg);
}

/* Lease for @id (made a container first) and return the address as text in @buf. */
static int lease(struct root *r, const char *net, const char *id, const char *ip, char *buf,
		 struct berth_error *err)
{
	struct netns_addr a;
	char ifname[16];
	snprintf(ifname, sizeof(ifname), "bv%.12s", id);
	if (faccessat(r->fd, id, F_OK, 0) < 0)
		make_container(r, id);
	int rc = netns_lease_acquire(r->fd, net, id, ip, ifname, NULL, &a, err);
	if (rc == 0 && buf)
		netns_addr_format(&a, buf, NETNS_ADDR_STRLEN);
	return rc;
}

static void test_network_create(void **state)
{
	struct root *r = *state;
	struct berth_error err = {0};
	struct netns_network *net = NULL;

	struct netns_network_opts o = {.name = "n1", .subnet = "10.231.1.0/24", .mtu = 1400};
	assert_int_equal(netns_network_create(r->fd, &o, &net, &err), 0);
	assert_string_equal(net->name, "n1");
	assert_string_equal(net->bridge, "berth-n1");
	assert_int_equal(net->mtu, 1400);
	char gw[NETNS_ADDR_STRLEN];
	netns_addr_format(&net->gateway, gw, sizeof(gw));
	assert_string_equal(gw, "10.231.1.1");
	netns_network_free(net);

	/* Read back as stored. */
	assert_int_equal(netns_network_get(r->fd, "n1", &net, &err), 0);
	assert_string_equal(net->bridge, "berth-n1");
	assert_int_equal(net->n_leases, 0);
	assert_true(net->created[0] != '\0');
	netns_network_free(net);

	/* Same name, overlapping subnet, shared bridge. */
	assert_int_equal(netns_network_create(r->fd, &o, NULL, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "already exists"));
	o = (struct netns_network_opts){.name = "n2", .subnet = "10.231.1.128/25"};
	assert_int_equal(netns_network_create(r->fd, &o, NULL, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "overlaps subnet 10.231.1.0/24 of network 'n1'"));
	o = (struct netns_network_opts){.name = "n2", .subnet = "10.0.0.0/8"};
	assert_int_equal(netns_network_create(r->fd, &o, NULL, &err), -EEXIST);
	o = (struct netns_network_opts){.name = "n2", .subnet = "10.231.2.0/24", .bridge = "berth-n1"};
	assert_int_equal(netns_network_create(r->fd, &o, NULL, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "bridge 'berth-n1' is already used by network 'n1'"));

	/* A long name gets a hashed default bridge of at most 15 bytes; IPv6 with a gateway. */
	o = (struct netns_network_opts){
	    .name = "a-rather-long-network-name", .subnet = "fd00:b3::/64", .gateway = "fd00:b3::fe"};
	assert_int_equal(netns_network_create(r->fd, &o, &net, &err), 0);
	assert_true(strlen(net->bridge) <= 15);
	assert_true(strncmp(net->bridge, "berth-", 6) == 0);
	netns_addr_format(&net->gateway, gw, sizeof(gw));
	assert_string_equal(gw, "fd00:b3::fe");
	netns_network_free(net);

	struct netns_network **all = NULL;
	size_t n = 0;
	assert_int_equal(netns_network_list(r->fd, &all, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(all[0]->name, "a-rather-long-network-name");
	assert_string_equal(all[1]->name, "n1");
	netns_network_list_free(all, n);
}

static void test_network_bad_input(void **state)
{
	struct root *r = *state;
	struct berth_error err = {0};
	static const struct {
		struct netns_network_opts o;
		const char *msg;
	} cases[] = {
	    {{.name = "", .subnet = "10.231.1.0/24"}, "must be 1 to 64"},
	    {{.name = "-x", .subnet = "10.231.1.0/24"}, "may only hold"},
	    {{.name = "a/b", .subnet = "10.231.1.0/24"}, "may only hold"},
	    {{.name = "ok"}, "a subnet is required"},
	    {{.name = "ok", .subnet = "10.231.1.1/24"}, "host bits"},
	    {{.name = "ok", .subnet = "10.231.1.0/24", .gateway = "10.231.2.1"}, "not a host address"},
	    {{.name = "ok", .subnet = "10.231.1.0/24", .gateway = "10.231.1.255"}, "not a host address"},
	    {{.name = "ok", .subnet = "10.231.1.0/24", .gateway = "nope"}, "not an IP address"},
	    {{.name = "ok", .subnet = "10.231.1.0/24", .bridge = "abcdefghijklmnop"}, "1 to 15 bytes"},
	    {{.name = "ok", .subnet = "10.231.1.0/24", .mtu = 67}, "out of range"},
	    {{.name = "ok", .subnet = "fd00::/64", .mtu = 1000}, "too small for IPv6"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err.code = 0;
		int rc = netns_network_create(r->fd, &cases[i].o, NULL, &err);
		if (rc != -EINVAL || !strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: %d '%s', expected -EINVAL with '%s'", i, rc, err.msg,
				 cases[i].msg);
	}
	/* Nothing was made: not even the store. */
	assert_int_equal(faccessat(r->fd, ".networks", F_OK, 0), -1);
	struct netns_network *net = NULL;
	assert_int_equal(netns_network_get(r->fd, "ok", &net, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "network 'ok' does not exist"));
}

static void test_lease_first_free_and_release(void **state)
{
	struct root *r = *state;
	struct berth_error err = {0};
	char ip[NETNS_ADDR_STRLEN];
	char ifname[NETNS_IFNAME_MAX + 1];

	create_net(r, "n1", "10.231.1.0/24");
	assert_int_equal(lease(r, "n1", "a", NULL, ip, &err), 0);
	assert_string_equal(ip, "10.231.1.2"); /* .1 is the gateway */
	assert_int_equal(lease(r, "n1", "b", NULL, ip, &err), 0);
	assert_string_equal(ip, "10.231.1.3");
	assert_int_equal(lease(r, "n1", "c", NULL, ip, &err), 0);
	assert_string_equal(ip, "10.231.1.4");

	/* Release the middle one: the next lease reuses it. */
	assert_int_equal(netns_lease_release(r->fd, "n1", "b", ifname, &err), 0);
	assert_string_equal(ifname, "bvb");
	assert_int_equal(lease(r, "n1", "d", NULL, ip, &err), 0);
	assert_string_equal(ip, "10.231.1.3");

	/* Releasing what is not leased, or on a missing network, is fine. */
	assert_int_equal(netns_lease_release(r->fd, "n1", "b", ifname, &err), 0);
	assert_string_equal(ifname, "");
	assert_int_equal(netns_lease_release(r->fd, "nope", "b", NULL, &err), 0);

	struct netns_network *net = NULL;
	assert_int_equal(netns_network_get(r->fd, "n1", &net, &err), 0);
	assert_int_equal(net->n_leases, 3);
	assert_string_equal(net->leases[0].container, "a");
	assert_string_equal(net->leases[0].host_ifname, "bva");
	netns_network_free(net);
}

static void test_lease_fixed(void **state)
{
	struct root *r = *state;
	struct berth_error err = {0};
	char ip[NETNS_ADDR_STRLEN];

	create_net(r, "n1", "10.231.1.0/24");
	assert_int_equal(netns_lease_check(r->fd, "n1", "10.231.1.50", &err), 0);
	assert_int_equal(lease(r, "n1", "a", "10.231.1.50", ip, &err), 0);
	assert_string_equal(ip, "10.231.1.50");
	/* The first free one is still .2. */
	assert_int_equal(lease(r, "n1", "b", NULL, ip, &err), 0);
	assert_string_equal(ip, "10.231.1.2");

	static const struct {
		const char *ip;
		int code;
		const char *msg;
	} bad[] = {
	    {"10.231.1.50", -EADDRINUSE, "already leased to container \"a\""},
	    {"10.231.2.5", -EINVAL, "outside subnet 10.231.1.0/24"},
	    {"fd00::5", -EINVAL, "outside subnet"},
	    {"10.231.1.1", -EINVAL, "is the gateway"},
	    {"10.231.1.0", -EINVAL, "not a host address"},
	    {"10.231.1.255", -EINVAL, "not a host address"},
	    {"10.231.1", -EINVAL, "not an IP address"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = netns_lease_check(r->fd, "n1", bad[i].ip, &err);
		if (rc != bad[i].code || !strstr(err.msg, bad[i].msg))
			fail_msg("check %s: %d '%s'", bad[i].ip, rc, err.msg);
		rc = lease(r, "n1", "z", bad[i].ip, NULL, &err);
		if (rc != bad[i].code || !strstr(err.msg, bad[i].msg))
			fail_msg("acquire %s: %d '%s'", bad[i].ip, rc, err.msg);
	}
	assert_int_equal(netns_lease_check(r->fd, "nope", NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "network 'nope' does not exist"));
	assert_int_equal(lease(r, "nope", "y", NULL, NULL, &err), -ENOENT);

	struct netns_network *net = NULL;
	assert_int_equal(netns_network_get(r->fd, "n1", &net, &err), 0);
	assert_int_equal(net->n_leases, 2); /* the refused ones took nothing */
	netns_network_free(net);
}

static void test_lease_full_subnet(void **state)
{
	struct root *r = *state;
	struct berth_error err = {0};
	char ip[NETNS_ADDR_STRLEN];

	/* A /29: .1 gateway, .2-.6 for containers, .7 broadcast. */
	create_net(r, "small", "10.231.3.0/29");
	for (int i = 0; i < 5; i++) {
		char id[8];
		snprintf(id, sizeof(id), "c%d", i);
		assert_int_equal(lease(r, "small", id, NULL, ip, &err), 0);
	}
	assert_string_equal(ip, "10.231.3.6");
	assert_int_equal(lease(r, "small", "c5", NULL, ip, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "no free address"));
	/* Free one: it comes back. */
	assert_int_equal(netns_lease_release(r->fd, "small", "c3", NULL, &err), 0);
	assert_int_equal(lease(r, "small", "c5", NULL, ip, &err), 0);
	assert_string_equal(ip, "10.231.3.5");
}

static void test_lease_v6(void **state)
{
	struct root *r = *state;
	struct berth_error err = {0};
	char ip[NETNS_ADDR_STRLEN];

	create_net(r, "six", "fd00:b3::/64");
	assert_int_equal(lease(r, "six", "a", NULL, ip, &err), 0);
	assert_string_equal(ip, "fd00:b3::2");
	assert_int_equal(lease(r, "six", "b", "fd00:b3::ffff:ffff:ffff:ffff", ip, &err), 0);
	assert_int_equal(lease(r, "six", "c", NULL, ip, &err), 0);
	assert_string_equal(ip, "fd00:b3::3");
}

static void test_lease_stale_and_same_id(void **state)
{
	struct root *r = *state;
	struct berth_error err = {0};
	char ip[NETNS_ADDR_STRLEN];

	create_net(r, "n1", "10.231.1.0/24");
	assert_int_equal(lease(r, "n1", "a", NULL, ip, &err), 0);
	assert_int_equal(lease(r, "n1", "b", NULL, ip, &err), 0);
	/* A second lease for the same id replaces the first. */
	assert_int_equal(lease(r, "n1", "b", "10.231.1.9", ip, &err), 0);
	struct netns_network *net = NULL;
	assert_int_equal(netns_network_get(r->fd, "n1", &net, &err), 0);
	assert_int_equal(net->n_leases, 2);
	netns_network_free(net);

	/* "a"'s state directory vanished (a create that crashed): its address is free again, and
	 * it no longer blocks removing the network. */
	assert_int_equal(unlinkat(r->fd, "a", AT_REMOVEDIR), 0);
	assert_int_equal(lease(r, "n1", "c", NULL, ip, &err), 0);
	assert_string_equal(ip, "10.231.1.2");

	assert_int_equal(netns_network_remove(r->fd, "n1", NULL, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "in use by 2 containers: \"b\", \"c\""));
	assert_int_equal(netns_lease_release(r->fd, "n1", "b", NULL, &err), 0);
	assert_int_equal(unlinkat(r->fd, "c", AT_REMOVEDIR), 0);
	assert_int_equal(netns_network_remove(r->fd, "n1", &net, &err), 0);
	assert_string_equal(net->bridge, "berth-n1");
	netns_network_free(net);
	assert_int_equal(netns_network_get(r->fd, "n1", &net, &err), -ENOENT);
	assert_int_equal(netns_network_remove(r->fd, "n1", NULL, &err), -ENOENT);
}

static void test_store_corrupt(void **state)
{
	struct root *r = *state;
	struct berth_error err = {0};
	struct netns_network *net = NULL;

	create_net(r, "n1", "10.231.1.0/24");
	static const char *const bad[] = {
	    "not a network\n",
	    "berth-network 1\nname n1\nsubnet 10.231.1.0/24\ngateway 10.231.1.1\n",           /* no bridge */
	    "berth-network 1\nname n1\nsubnet 10.231.1.5/24\ngateway 10.231.1.1\nbridge b\n", /* bad subnet */
	    "berth-network 1\nname n1\nsubnet 10.231.1.0/24\ngateway 10.231.1.1\nbridge b\nlease x\n",
	    "berth-network 1\nname n2\nsubnet 10.231.1.0/24\ngateway 10.231.1.1\nbridge b\n", /* other name */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int dfd = openat(r->fd, ".networks", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(dfd >= 0);
		assert_int_equal(write_file_atomic_at(dfd, "n1.net", bad[i], strlen(bad[i]), 0600), 0);
		close(dfd);
		err.code = 0;
		if (netns_network_get(r->fd, "n1", &net, &err) != -EINVAL)
			fail_msg("case %zu accepted", i);
		assert_non_null(strstr(err.msg, "n1.net"));
	}
	/* Unknown lines are skipped (a newer berth may add some). */
	static const char good[] = "berth-network 1\nname n1\nsubnet 10.231.1.0/24\ngateway 10.231.1.1\n"
				   "bridge b\nfuture thing\nlease 10.231.1.2 bvx a\n";
	int dfd = openat(r->fd, ".networks", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(write_file_atomic_at(dfd, "n1.net", good, strlen(good), 0600), 0);
	close(dfd);
	assert_int_equal(netns_network_get(r->fd, "n1", &net, &err), 0);
	assert_int_equal(net->n_leases, 1);
	netns_network_free(net);
}

/* Processes leasing at once each get their own address: the flock serialises them. */
static void test_lease_parallel(void **state)
{
	struct root *r = *state;
	enum { N = 24 };
	int p[2];
	char ips[N][NETNS_ADDR_STRLEN];

	create_net(r, "n1", "10.231.1.0/24");
	for (int i = 0; i < N; i++) {
		char id[8];
		snprintf(id, sizeof(id), "p%d", i);
		make_container(r, id);
	}
	assert_int_equal(pipe(p), 0);
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct berth_error err = {0};
			char id[8], ip[NETNS_ADDR_STRLEN] = "";
			snprintf(id, sizeof(id), "p%d", i);
			int rc = lease(r, "n1", id, NULL, ip, &err);
			char line[64];
			int n = snprintf(line, sizeof(line), "%-45s\n", rc == 0 ? ip : "FAIL");
			_exit(write(p[1], line, (size_t)n) == n ? 0 : 1);
		}
	}
	close(p[1]);
	for (int i = 0; i < N; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (int i = 0; i < N; i++) {
		char line[47];
		assert_int_equal(read(p[0], line, 46), 46);
		line[45] = '\0';
		sscanf(line, "%45s", ips[i]);
		assert_string_not_equal(ips[i], "FAIL");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(ips[i], ips[j]);
	}
	close(p[0]);
	struct berth_error err = {0};
	struct netns_network *net = NULL;
	assert_int_equal(netns_network_get(r->fd, "n1", &net, &err), 0);
	assert_int_equal(net->n_leases, N);
	netns_network_free(net);
}

#define STORE_TEST(fn) cmocka_unit_test_setup_teardown(fn, root_setup, root_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cidr_parse),
	    cmocka_unit_test(test_cidr_contains_overlap),
	    cmocka_unit_test(test_cidr_nth_host),
	    cmocka_unit_test(test_addr_parse_format),
	    cmocka_unit_test(test_ifname),
	    STORE_TEST(test_network_create),
	    STORE_TEST(test_network_bad_input),
	    STORE_TEST(test_lease_first_free_and_release),
	    STORE_TEST(test_lease_fixed),
	    STORE_TEST(test_lease_full_subnet),
	    STORE_TEST(test_lease_v6),
	    STORE_TEST(test_lease_stale_and_same_id),
	    STORE_TEST(test_store_corrupt),
	    STORE_TEST(test_lease_parallel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
