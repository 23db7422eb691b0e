/* netns link operations, run in throw-away network namespaces: each check forks a child that
 * unshares its network namespace, so the host's interfaces are never touched.
 * Needs root (CAP_NET_ADMIN to unshare); exits 77 otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "berth/error.h"
#include "berth/netns.h"
#include "../../netns/nl.h"

#include "netns_fixture.h"

static int if_flags(const char *ifname, short *ret)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	int r = ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ? -errno : 0;
	close(fd);
	*ret = ifr.ifr_flags;
	return r;
}

/* A UDP datagram from 127.0.0.1 to itself: works only when lo is up. */
static int udp_loopback(char *msg, size_t size)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof(addr);
	char buf[16] = "";

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0, "socket: %s", strerror(errno));
	int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	if (r < 0) {
		snprintf(msg, size, "bind 127.0.0.1: %s", strerror(errno));
		close(fd);
		return -1;
	}
	r = getsockname(fd, (struct sockaddr *)&addr, &len) == 0 &&
		    sendto(fd, "ping", 4, 0, (struct sockaddr *)&addr, sizeof(addr)) == 4 &&
		    recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT) == 4
		? 0
		: -1;
	if (r < 0)
		snprintf(msg, size, "udp to 127.0.0.1:%d: %s", ntohs(addr.sin_port), strerror(errno));
	close(fd);
	if (r < 0)
		return -1;
	CHECK(strcmp(buf, "ping") == 0, "received '%s' instead of 'ping'", buf);
	return 0;
}

static int check_lo_up(char *msg, size_t size)
{
	struct berth_error err = {0};
	short flags = 0;
	char udp[MSG_MAX];

	/* A fresh namespace starts with lo down, and 127.0.0.1 unusable. */
	CHECK(if_flags("lo", &flags) == 0, "SIOCGIFFLAGS lo: %s", strerror(errno));
	CHECK(!(flags & IFF_UP), "lo is already up in a new namespace");
	CHECK(udp_loopback(udp, sizeof(udp)) < 0, "127.0.0.1 reachable before lo is up");

	int r = netns_link_up("lo", &err);
	CHECK(r == 0, "netns_link_up(lo) = %d: %s", r, err.msg);
	CHECK(if_flags("lo", &flags) == 0, "SIOCGIFFLAGS lo: %s", strerror(errno));
	CHECK(flags & IFF_UP, "lo not up after netns_link_up (flags 0x%x)", flags);
	if (udp_loopback(msg, size) < 0)
		return -1;

	/* Already up: still success. */
	r = netns_link_up("lo", &err);
	CHECK(r == 0, "second netns_link_up(lo) = %d: %s", r, err.msg);
	return 0;
}

static int check_missing(char *msg, size_t size)
{
	struct berth_error err = {0};

	int r = netns_link_up("nonexistent0", &err);
	CHECK(r == -ENODEV, "netns_link_up(nonexistent0) = %d (%s), expected -ENODEV", r, err.msg);
	CHECK(err.code == -ENODEV, "err.code = %d", err.code);
	CHECK(strstr(err.msg, "'nonexistent0'") != NULL, "message does not name the interface: %s", err.msg);
	CHECK(strstr(err.msg, "does not exist") != NULL, "message does not say why: %s", err.msg);
	return 0;
}

/* The request core hands back the kernel's extended-ack text: an IFLA_IFNAME longer than its
 * policy allows is refused by netlink attribute validation, before anything is changed. */
static int check_extack(char *msg, size_t size)
{
	struct berth_error err = {0};
	struct nl_sock nl = NL_SOCK_INIT;
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[64];
	} req = {0};
	static const char longname[] = "abcdefghijklmnopqrstuvwxyz";

	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = RTM_NEWLINK;
	req.ifi.ifi_family = AF_UNSPEC;
	struct rtattr *rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = IFLA_IFNAME;
	rta->rta_len = RTA_LENGTH(sizeof(longname));
	memcpy(RTA_DATA(rta), longname, sizeof(longname));
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);

	int r = nl_open(&nl, &err);
	CHECK(r == 0, "nl_open: %s", err.msg);
	r = nl_request(&nl, &req.nh, NULL, NULL, &err);
	nl_close(&nl);
	nl_close(&nl); /* safe twice */
	CHECK(r < 0 && err.code == r, "nl_request = %d, code %d: %s", r, err.code, err.msg);
	CHECK(strstr(err.msg, strerror(-r)) == err.msg, "message does not start with strerror: %s", err.msg);
	CHECK(strstr(err.msg, "policy") != NULL, "no extended-ack text in: %s", err.msg);
	return 0;
}

static void test_nl_extack(void **state)
{
	(void)state;
	run_in_new_netns(check_extack);
}

static void test_link_up_lo(void **state)
{
	(void)state;
	run_in_new_netns(check_lo_up);
}

static void test_link_up_missing(void **state)
{
	(void)state;
	run_in_new_netns(check_missing);
}

/* Names the kernel could never hold are refused before any netlink traffic. */
static void test_link_up_bad_names(void **state)
{
	struct berth_error err = {0};
	(void)state;

	assert_int_equal(netns_link_up("", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "1 to 15 bytes"));
	assert_int_equal(netns_link_up("abcdefghijklmnop", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'abcdefghijklmnop'"));
	assert_int_equal(netns_link_up(NULL, &err), -EINVAL);
}

int main(void)
{
	if (netns_fixture_skip("the netns test"))
		return 77;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_link_up_lo),
	    cmocka_unit_test(test_link_up_missing),
	    cmocka_unit_test(test_link_up_bad_names),
	    cmocka_unit_test(test_nl_extack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
