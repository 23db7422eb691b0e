/* The netlink operations of include/berth/netns.h for the statically linked berth binary.
 *
 * berth is linked statically (no dynamic loader, no shared libraries to map and relocate: the
 * start-up cost of every short command), but Debian ships libmnl only as a shared library. So the
 * few operations that talk rtnetlink (a veth on a network, linux.netDevices, removing a bridge)
 * run in berth-ext, exec'd as `berth-ext __netlink OP ARGS...` with the network namespace as fd 3;
 * cli/netlink_helper.c answers on its stdout with "ok [VALUE]" or "err CODE MESSAGE". Containers
 * without those features never get here. berth-ext and the unit tests link the real functions. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/netns.h"
#include "berth/util.h"
#include "cli/cli.h"

#define ARGS_MAX 64

/* Run `berth-ext __netlink ARGV...` (with @netns_fd as its fd 3 when >= 0); fill @value with what
 * follows "ok " in the reply. */
static int call(const char *const *argv, int netns_fd, char *value, size_t value_size,
		struct berth_error *err)
{
	char path[PATH_MAX];
	char *args[ARGS_MAX + 3];
	size_t n = 0;
	int r = cli_ext_path(path, sizeof(path), err);
	if (r < 0)
		return r;
	args[n++] = path;
	args[n++] = "__netlink";
	for (size_t i = 0; argv[i] && n < ARGS_MAX + 2; i++)
		args[n++] = (char *)argv[i];
	args[n] = NULL;

	return cli_ext_run(args, netns_fd, "the netlink helper", value, value_size, err);
}

int netns_link_exists(const char *ifname, bool *ret_exists, struct berth_error *err)
{
	char value[8];
	const char *argv[] = {"link-exists", ifname, NULL};
	int r = call(argv, -1, value, sizeof(value), err);
	if (r == 0)
		*ret_exists = strcmp(value, "1") == 0;
	return r;
}

int netns_link_up(const char *ifname, struct berth_error *err)
{
	const char *argv[] = {"link-up", ifname, NULL};
	return call(argv, -1, NULL, 0, err);
}

int netns_veth_attach(const struct netns_veth_config *c, struct berth_error *err)
{
	char mtu[16], subnet[64], gateway[64], addr[64];
	snprintf(mtu, sizeof(mtu), "%u", c->mtu);
	netns_cidr_format(&c->subnet, subnet, sizeof(subnet));
	netns_addr_format(&c->gateway, gateway, sizeof(gateway));
	netns_addr_format(&c->addr, addr, sizeof(addr));
	const char *argv[] = {
	    "veth-attach", c->bridge ? c->bridge : "",           c->network ? c->network : "", mtu,  subnet,
	    gateway,       c->host_ifname ? c->host_ifname : "", c->ifname ? c->ifname : "",   addr, NULL};
	return call(argv, c->netns_fd, NULL, 0, err);
}

int netns_veth_detach(const char *host_ifname, struct berth_error *err)
{
	const char *argv[] = {"veth-detach", host_ifname, NULL};
	return call(argv, -1, NULL, 0, err);
}

int netns_bridge_remove(const char *bridge, const char *network, struct berth_error *err)
{
	const char *argv[] = {"bridge-remove", bridge, network ? network : "", NULL};
	return call(argv, -1, NULL, 0, err);
}

/* devices-in/devices-out HOST NAME ... ("" for a name that stays the host's). */
static int move_devices(const char *op, int netns_fd, const struct netns_device *devs, size_t n,
			struct berth_error *err)
{
	const char *argv[ARGS_MAX + 1];
	size_t k = 0;
	if (2 * n + 1 > ARGS_MAX)
		return berth_error_set(err, -E2BIG, "linux.netDevices: more than %d devices",
				       (ARGS_MAX - 1) / 2);
	argv[k++] = op;
	for (size_t i = 0; i < n; i++) {
		argv[k++] = devs[i].host_name;
		argv[k++] = devs[i].name ? devs[i].name : "";
	}
	argv[k] = NULL;
	return call(argv, netns_fd, NULL, 0, err);
}

int netns_devices_move_in(int netns_fd, const struct netns_device *devs, size_t n, struct berth_error *err)
{
	return move_devices("devices-in", netns_fd, devs, n, err);
}

int netns_devices_move_out(int netns_fd, const struct netns_device *devs, size_t n, struct berth_error *err)
{
	return move_devices("devices-out", netns_fd, devs, n, err);
}
