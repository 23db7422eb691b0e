/* runtime-internal: the state of one `create` while it runs (shared by create and run). */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "berth/cgroups.h"
#include "berth/cgroups_systemd.h"
#include "berth/oci.h"
#include "network.h"

struct berth_error;
struct berth_context;
struct berth_create_opts;

struct create_plan {
	struct oci_config *config;
	char *config_json;
	size_t config_len;
	char bundle[PATH_MAX];
	char rootfs[PATH_MAX];
	int root_fd, dir_fd;
	bool dir_created;
	struct cgroup cg;
	bool cg_resolved, cg_created;
	bool cg_fresh; /* this create made the leaf (cg_created also covers an empty one taken over) */
	int cg_root_fd, cg_fd;
	int cg_lock_fd; /* cgroup_lock, from before the cgroup is claimed until the init is in it */
	struct cgroup_movers movers; /* v1 "tasks" files the init writes itself into (n == 0: none) */
	bool systemd, sd_started;    /* --systemd-cgroup; its scope unit started (systemd_glue.c) */
	struct cgroup_systemd_unit sd;
	int ns_fds[OCI_NS_MAX];
	unsigned long clone_flags, unshare_flags;
	bool new_userns, userns_any;
	int console_fd;
	int pty_sock;   /* foreground terminal: where the init sends its pty master (ptyrelay.h) */
	int pty_master; /* ... and the master once received, for `run` to relay */
	int sync_fd;    /* parent end */
	pid_t pid;
	uint64_t pid_start_time;
	struct net_plan net; /* berth.network and linux.netDevices (network.c) */
	int *bind_trees;     /* user namespaces: bind sources opened as the runtime (bindsrc.c) */
	/* a detached run's stdio (stdio_log.h), when has_stdio_log (a zeroed plan has none) */
	bool has_stdio_log;
	int stdio_log[3];
};

/* Run every phase of create; on success the plan holds the live init (p->pid), the locked state
 * dir and the parsed config; release with create_plan_free(). On failure everything is undone. */
int berth_container_create_plan(const struct berth_context *ctx, const struct berth_create_opts *o,
				bool foreground, struct create_plan *p, struct berth_error *err);
void create_plan_unwind(struct create_plan *p, const char *id);
void create_plan_free(struct create_plan *p);

/* spawn.c: clone3 the init, configure it from the parent, run the create-time hooks. */
int create_spawn(struct create_plan *p, const struct berth_create_opts *o, struct berth_error *err);
/* Write the record for pid @pid (0 before the init exists). */
int create_persist(struct create_plan *p, const char *id, pid_t pid, struct berth_error *err);

/* linux.sysctl: refuse a key outside the namespaces the container owns (ipc keys need a new ipc
 * namespace, net.* a new network namespace; kernel.hostname/domainname have their own fields),
 * naming the key (sysctl.c). */
int sysctl_validate(const struct oci_config *c, struct berth_error *err);
