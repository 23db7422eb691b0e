/* runtime-internal: what changes when berth runs without root (rootless.c). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct berth_context;
struct berth_error;
struct create_plan;
struct oci_config;
struct oci_linux;
struct oci_resources;

/* runc 1.1's rule for the rootless cgroup manager: --rootless true/false as given; auto is true
 * for a non-root caller, false for the real root, and for root in a user namespace true with
 * cgroupfs, false with --systemd-cgroup. */
bool rootless_cgroups(const struct berth_context *ctx);

/* A non-root caller: refuse what needs root, naming the field (a config without a user namespace,
 * berth networks, linux.netDevices). Nothing is checked for root. */
int rootless_validate(const struct oci_config *c, struct berth_error *err);

/* With the rootless cgroup manager: keep p->cg when it may be used (the real root; or any other
 * caller on a pure cgroup v2 host with a delegated cgroup, where p->cg is moved below it), returning 1;
 * else release it, warn, and return 0, or fail naming the first limit linux.resources sets. */
int rootless_cgroup_place(struct create_plan *p, const char *id, struct berth_error *err);

/* A caller that is not the real root gets no device cgroup rules (an eBPF program needs CAP_SYS_ADMIN;
 * devices are bind mounts of the host's nodes anyway): clears @res's device list. */
void rootless_drop_device_rules(struct oci_resources *res);

/* Write @pid's uid and gid maps from the config: directly as root or for the caller's own id
 * only, else through newuidmap/newgidmap (common/idmap.c). */
int rootless_write_id_maps(pid_t pid, const struct oci_linux *l, struct berth_error *err);
