/* `berth-ext __netlink OP ARGS...`: one netlink operation for the statically linked berth (see
 * cli/netlink_proxy.c for the protocol). Not a user command: it is not listed in the help. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/error.h"
#include "berth/netns.h"
#include "cli/cli.h"

#define NETNS_FD 3

static const char *opt(const char *s)
{
	return s && *s ? s : NULL;
}

static int veth_attach(int argc, char **argv, struct berth_error *err)
{
	if (argc != 9)
		return berth_error_set(err, -EINVAL, "veth-attach: expected 8 arguments");
	struct netns_veth_config c = {
	    .bridge = opt(argv[1]),
	    .network = opt(argv[2]),
	    .mtu = (uint32_t)strtoul(argv[3], NULL, 10),
	    .host_ifname = opt(argv[6]),
	    .netns_fd = NETNS_FD,
	    .ifname = opt(argv[7]),
	};
	int r = netns_cidr_parse(argv[4], &c.subnet, err);
	if (r < 0)
		return r;
	if (netns_addr_parse(argv[5], &c.gateway) < 0 || netns_addr_parse(argv[8], &c.addr) < 0)
		return berth_error_set(err, -EINVAL, "veth-attach: bad address");
	return netns_veth_attach(&c, err);
}

static int move_devices(int argc, char **argv, bool in, struct berth_error *err)
{
	size_t n = (size_t)(argc - 1) / 2;
	if (argc < 3 || (argc - 1) % 2)
		return berth_error_set(err, -EINVAL, "%s: expected HOST NAME pairs", argv[0]);
	struct netns_device *devs = calloc(n, sizeof(*devs));
	if (!devs)
		return berth_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		devs[i] = (struct netns_device){.host_name = argv[1 + 2 * i], .name = opt(argv[2 + 2 * i])};
	int r = in ? netns_devices_move_in(NETNS_FD, devs, n, err)
		   : netns_devices_move_out(NETNS_FD, devs, n, err);
	free(devs);
	return r;
}

static int dispatch(int argc, char **argv, char *value, size_t size, struct berth_error *err)
{
	const char *op = argv[0];
	if (strcmp(op, "link-exists") == 0 && argc == 2) {
		bool exists = false;
		int r = netns_link_exists(argv[1], &exists, err);
		snprintf(value, size, "%d", exists);
		return r;
	}
	if (strcmp(op, "link-up") == 0 && argc == 2)
		return netns_link_up(argv[1], err);
	if (strcmp(op, "veth-attach") == 0)
		return veth_attach(argc, argv, err);
	if (strcmp(op, "veth-detach") == 0 && argc == 2)
		return netns_veth_detach(argv[1], err);
	if (strcmp(op, "bridge-remove") == 0 && argc == 3)
		return netns_bridge_remove(argv[1], opt(argv[2]), err);
	if (strcmp(op, "devices-in") == 0 || strcmp(op, "devices-out") == 0)
		return move_devices(argc, argv, strcmp(op, "devices-in") == 0, err);
	return berth_error_set(err, -EINVAL, "__netlink: unknown operation or arguments '%s'", op);
}

int netlink_helper_main(int argc, char **argv)
{
	struct berth_error err = {0};
	char value[32] = "";
	int r = argc < 2 ? berth_error_set(&err, -EINVAL, "__netlink: no operation")
			 : dispatch(argc - 1, argv + 1, value, sizeof(value), &err);
	if (r < 0) {
		/* One line: the proxy turns it back into the caller's error. */
		for (char *p = err.msg; *p; p++)
			if (*p == '\n')
				*p = ' ';
		printf("err %d %s\n", r, err.msg);
		return 1;
	}
	if (value[0])
		printf("ok %s\n", value);
	else
		printf("ok\n");
	return 0;
}
