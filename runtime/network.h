/* runtime-internal: a container's network during create and delete (network.c).
 *
 * A container joins a berth network through the annotations `berth.network` (the network's name)
 * and `berth.network.ip` (an optional fixed address); linux.netDevices moves host interfaces in.
 * Create: validate (before anything is made) -> lease (state dir exists) -> configure (the init
 * exists, before it goes on) -> unwind on failure. Delete: destroy. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "berth/netns.h"
#include "berth/oci.h"

struct berth_context;
struct berth_error;
struct container;
struct create_plan;

#define NETWORK_ANNOTATION "berth.network"
#define NETWORK_IP_ANNOTATION "berth.network.ip"
/* The container end of the veth pair. */
#define NETWORK_IFNAME "eth0"
/* The netns pin in the state directory (only with linux.netDevices). */
#define NETWORK_PIN_FILE "netns"

struct net_plan {
	const char *network;  /* berth.network, or NULL */
	const char *fixed_ip; /* berth.network.ip, or NULL */
	char host_ifname[NETNS_IFNAME_MAX + 1];
	bool leased;
	struct netns_network *net; /* with the lease, once leased */
	struct netns_addr addr;    /* the leased address */
	char addr_text[NETNS_ADDR_STRLEN];
	bool attached; /* the veth pair may exist: remove it on unwind */
	bool devices_moved;
	bool pinned;
	int netns_fd; /* the container's network namespace while creating */
	/* The record's annotations: the config's, with berth.network.ip set to the leased address. */
	struct oci_kv *annotations;
	size_t n_annotations;
};

void network_plan_init(struct net_plan *n);
void network_plan_free(struct net_plan *n);

/* Check the network annotations and linux.netDevices against the store and the host; nothing is
 * made. Needs p->root_fd. */
int network_validate(struct create_plan *p, struct berth_error *err);
/* Take the lease (needs the state directory: a lease is owned by it). */
int network_lease(struct create_plan *p, const char *id, struct berth_error *err);
/* After clone3, before the init goes on: move netDevices in, attach the veth pair. */
int network_configure(struct create_plan *p, struct berth_error *err);
/* Undo whatever network_lease/network_configure did; call while the init is still alive. */
void network_unwind(struct create_plan *p, const char *id);

/* The annotations to persist and report (the plan's when it has a lease, else the config's). */
const struct oci_kv *network_annotations(const struct create_plan *p, size_t *ret_n);

/* ---- checkpoint and restore (checkpoint_glue.c) ----
 * A container on a berth network is dumped without its network namespace (declared external to
 * CRIU: the veth pair and the bridge stay out of the images); the dump records the network and the
 * leased address (NETWORK_CKPT_FILE in the images, berth.network.ip in an exported config.json).
 * Restore: validate (the network must exist, the address be free) -> lease that address -> a new
 * empty network namespace with the veth pair attached, handed to CRIU -> unwind on failure. */

/* The record in the images directory: "<network> <address>\n". */
#define NETWORK_CKPT_FILE "berth-network"
#define NETWORK_CKPT_MAX 128

/* Whether @c joins a berth network in a network namespace of its own (not joined by path). */
bool network_joins_berth(const struct oci_config *c);
/* The record of @network and @ip into @buf; -ENAMETOOLONG when it does not fit, -EINVAL for an
 * empty or blank name or address. Returns the length. */
int network_ckpt_format(const char *network, const char *ip, char *buf, size_t size);
/* Parse a record (trailing newline optional) into @network and @ip (each NETWORK_CKPT_MAX bytes);
 * -EINVAL when it is not "<network> <address>". */
int network_ckpt_parse(const char *buf, size_t len, char network[NETWORK_CKPT_MAX],
		       char ip[NETWORK_CKPT_MAX]);
/* The address a restored container asks for: the config's berth.network.ip, else @recorded (the
 * address leased at the dump; NULL or "": none), else NULL (the lowest free one). */
const char *network_restore_ip(const struct oci_config *c, const char *recorded);
/* restore --import, before unpacking: -ENOENT naming @network and how to create it when it is
 * not defined in the state root @root_fd (negative: there is no state root); else 0. */
int network_check_exists(int root_fd, const char *network, struct berth_error *err);
/* restore: what network_validate checks of berth.network (not linux.netDevices), asking for the
 * address @ip; a missing network is an -ENOENT naming it and how to create it. Needs p->root_fd. */
int network_validate_restore(struct create_plan *p, const char *ip, struct berth_error *err);
/* restore, after network_lease: a new empty network namespace (made in-process, we stay in ours)
 * with the veth pair attached, as create does; its descriptor (not close-on-exec: CRIU inherits
 * it) in p->net.netns_fd. network_unwind undoes it. */
int network_attach_new_netns(struct create_plan *p, struct berth_error *err);

/* delete: devices back to the host, the pin and the veth pair removed, the lease released. Best
 * effort: failures are logged, the container is deleted anyway. */
void network_destroy(struct container *c);
