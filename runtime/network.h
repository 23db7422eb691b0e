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

/* delete: devices back to the host, the pin and the veth pair removed, the lease released. Best
 * effort: failures are logged, the container is deleted anyway. */
void network_destroy(struct container *c);
