/* netns: netlink (libmnl) operations on network namespaces, and berth's networks.
 *
 * Everything here takes plain values and descriptors: a network namespace is a descriptor
 * (/proc/<pid>/ns/net or a pin of it), the network store is the state root's descriptor. Link
 * operations without a namespace descriptor act in the caller's current network namespace (the
 * "host" side). Functions return 0 or -errno and fill @err with a sentence naming the object. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct berth_error;

/* The kernel's IFNAMSIZ - 1. */
#define NETNS_IFNAME_MAX 15
/* INET6_ADDRSTRLEN: room for any address as text, with its NUL. */
#define NETNS_ADDR_STRLEN 46
/* "<address>/<prefix>" */
#define NETNS_CIDR_STRLEN (NETNS_ADDR_STRLEN + 4)
/* Network names: [A-Za-z0-9][A-Za-z0-9_.-]*, at most this long. */
#define NETNS_NAME_MAX 64

/* ---- addresses (cidr.c, no I/O) ---- */

struct netns_addr {
	int family;        /* AF_INET or AF_INET6 */
	uint8_t bytes[16]; /* network byte order; 4 used for AF_INET */
};

struct netns_cidr {
	struct netns_addr addr; /* the network address (host bits zero) */
	unsigned prefix;
};

/* Parse a plain IPv4 or IPv6 address. -EINVAL (no message: callers name the field). */
int netns_addr_parse(const char *s, struct netns_addr *ret);
/* Write @a as text into @buf (at least NETNS_ADDR_STRLEN bytes). */
void netns_addr_format(const struct netns_addr *a, char *buf, size_t size);
bool netns_addr_equal(const struct netns_addr *a, const struct netns_addr *b);

/* Parse "10.1.2.0/24" or "fd00::/64". The host bits must be zero, and the prefix leave room for
 * a gateway and at least one container (at most /30, /126). -EINVAL with a message. */
int netns_cidr_parse(const char *s, struct netns_cidr *ret, struct berth_error *err);
void netns_cidr_format(const struct netns_cidr *c, char *buf, size_t size);
bool netns_cidr_contains(const struct netns_cidr *c, const struct netns_addr *a);
/* Two subnets overlap when one contains the other's network address (same family only). */
bool netns_cidr_overlap(const struct netns_cidr *a, const struct netns_cidr *b);
/* The @index-th address of the subnet (0 is the network address). -ERANGE past the end. */
int netns_cidr_nth(const struct netns_cidr *c, uint64_t index, struct netns_addr *ret);
/* Whether @a may be given to a host: inside, not the network address, not the IPv4 broadcast. */
bool netns_cidr_host_ok(const struct netns_cidr *c, const struct netns_addr *a);

/* An interface name the kernel accepts: 1..15 bytes, not "." or "..", no '/', ':' or white
 * space. -EINVAL with "<what> 'name' ..." in @err. */
int netns_ifname_validate(const char *what, const char *name, struct berth_error *err);

/* ---- links in the caller's network namespace (link.c) ---- */

/* Bring the interface @ifname up in the network namespace the caller is in. */
int netns_link_up(const char *ifname, struct berth_error *err);
/* *ret_exists: whether @ifname exists in the caller's network namespace. */
int netns_link_exists(const char *ifname, bool *ret_exists, struct berth_error *err);

/* ---- a container's network (attach.c) ---- */

struct netns_veth_config {
	const char *bridge;        /* host bridge; made (with the gateway address) when missing */
	const char *network;       /* the network's name, recorded in the bridge's alias */
	uint32_t mtu;              /* 0: the kernel's default */
	struct netns_cidr subnet;  /* the prefix of the container's and the gateway's address */
	struct netns_addr gateway; /* on the bridge; the container's default route */
	const char *host_ifname;   /* the host end of the pair */
	int netns_fd;              /* the container's network namespace */
	const char *ifname;        /* the container end ("eth0") */
	struct netns_addr addr;    /* the container's address */
};

/* Give the container a veth pair on the bridge: the bridge is made if missing, the pair is made
 * with its peer directly inside @c->netns_fd (so no temporary name ever exists on the host), the
 * host end enslaved and up; inside: the address, the link and lo up, a default route via the
 * gateway. On failure the pair is removed again (the bridge stays: other containers may use it). */
int netns_veth_attach(const struct netns_veth_config *c, struct berth_error *err);

/* Remove the host end @host_ifname (the peer goes with it). An interface that no longer exists
 * (the container's namespace died and took the pair) is success. */
int netns_veth_detach(const char *host_ifname, struct berth_error *err);

/* Remove the bridge of network @network if berth made it for that network (its alias says so).
 * A missing bridge, or one berth did not make, is left alone and is success. */
int netns_bridge_remove(const char *bridge, const char *network, struct berth_error *err);

/* linux.netDevices: @host_name in the caller's namespace, @name (or the same name) inside. */
struct netns_device {
	const char *host_name;
	const char *name; /* NULL: keep host_name */
};

/* Move each device into @netns_fd, renamed, with its permanent global addresses, and bring it
 * up. On failure the devices already moved are moved back; nothing is left half done. */
int netns_devices_move_in(int netns_fd, const struct netns_device *devs, size_t n, struct berth_error *err);

/* Move every device back from @netns_fd to the caller's namespace under its host name, with its
 * permanent global addresses. Best effort over all of them: a device no longer in @netns_fd is
 * skipped; the first failure is returned after the rest were tried. */
int netns_devices_move_out(int netns_fd, const struct netns_device *devs, size_t n, struct berth_error *err);

/* ---- the network store (store.c) ----
 * Under the state root: <root>/.networks/<name>.net, one text file per network holding its
 * definition and its leases, replaced atomically, every change made under an exclusive flock of
 * <root>/.networks/lock (readers take it shared). ".networks" cannot be a container id. */

struct netns_lease {
	struct netns_addr addr;
	char host_ifname[NETNS_IFNAME_MAX + 1];
	char *container; /* the container id */
};

struct netns_network {
	char name[NETNS_NAME_MAX + 1];
	struct netns_cidr subnet;
	struct netns_addr gateway;
	char bridge[NETNS_IFNAME_MAX + 1];
	uint32_t mtu; /* 0: kernel default */
	char created[48];
	struct netns_lease *leases;
	size_t n_leases;
};

void netns_network_free(struct netns_network *net);
void netns_network_list_free(struct netns_network **nets, size_t n);

struct netns_network_opts {
	const char *name;
	const char *subnet;  /* CIDR, required */
	const char *gateway; /* default: the subnet's first address */
	const char *bridge;  /* default: "berth-<name>" (or a hash of it when longer than 15 bytes) */
	uint32_t mtu;        /* 0: kernel default; else 68..65535 */
};

/* Define a network. Refused: a bad name, subnet, gateway or bridge name, a name already taken, a
 * subnet overlapping another network's, a bridge another network uses. Nothing is made on the
 * host until a container joins. *ret_net (optional) is the new definition. */
int netns_network_create(int root_fd, const struct netns_network_opts *o, struct netns_network **ret_net,
			 struct berth_error *err);
/* Forget a network; refused (-EBUSY, naming the containers) while it has leases. The caller
 * removes the bridge (netns_bridge_remove) with *ret_net (optional, owned by the caller). */
int netns_network_remove(int root_fd, const char *name, struct netns_network **ret_net,
			 struct berth_error *err);
/* Read one network ("network 'x' does not exist": -ENOENT). */
int netns_network_get(int root_fd, const char *name, struct netns_network **ret_net, struct berth_error *err);
/* Every network, sorted by name. */
int netns_network_list(int root_fd, struct netns_network ***ret_nets, size_t *ret_n, struct berth_error *err);

/* Check, without taking anything, that a container could join @network with the fixed address
 * @ip (NULL: any): the network exists, the address is a host address of the subnet, not the
 * gateway and not leased. For the early validation of create; acquire checks again. */
int netns_lease_check(int root_fd, const char *network, const char *ip, struct berth_error *err);

/* Lease an address of @network to @container (the fixed @ip, or the lowest free one), recording
 * @host_ifname with it. Leases whose container directory (<root>/<id>) no longer exists are
 * stale and reclaimed first. *ret_net: the network with the new lease; *ret_addr: the address. */
int netns_lease_acquire(int root_fd, const char *network, const char *container, const char *ip,
			const char *host_ifname, struct netns_network **ret_net, struct netns_addr *ret_addr,
			struct berth_error *err);

/* Release @container's lease on @network; a missing lease or network is success. The released
 * lease's host interface is copied to @ret_host_ifname (optional, NETNS_IFNAME_MAX + 1 bytes,
 * "" when there was none). */
int netns_lease_release(int root_fd, const char *network, const char *container, char *ret_host_ifname,
			struct berth_error *err);
