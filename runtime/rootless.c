/* Rootless containers: berth run by a non-root user. The kernel lets such a user make a user
 * namespace mapping its own id (or, through the setuid newuidmap/newgidmap, its subordinate
 * ranges) and be root inside; what still needs the host's root is refused here with the field
 * named, or adapted: cgroups only where a subtree is delegated to the user, device nodes bound
 * from the host (devices.c), sysfs bound from the host without a network namespace (mounts.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/idmap.h"
#include "berth/log.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "create.h"
#include "rootless.h"

_Static_assert(sizeof(struct oci_id_mapping) == sizeof(struct idmap_range), "same layout");

/* euid 0 outside the initial user namespace (whose uid_map is "0 0 4294967295"). */
static bool in_user_namespace(void)
{
	_cleanup_free_ char *map = NULL;
	size_t len;
	unsigned a, b, c;

	if (read_file_at(AT_FDCWD, "/proc/self/uid_map", 4096, &map, &len) < 0)
		return false;
	return !(sscanf(map, "%u %u %u", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295u);
}

bool rootless_cgroups(const struct berth_context *ctx)
{
	if (ctx->rootless != BERTH_ROOTLESS_AUTO)
		return ctx->rootless == BERTH_ROOTLESS_TRUE;
	if (geteuid() != 0)
		return true;
	if (!in_user_namespace())
		return false; /* the real root */
	/* Root in a user namespace: with cgroupfs its rights on the cgroup path are unknown, so
	 * rootless (runc 1.1); with systemd runc asks the bus for the manager's owner and takes
	 * root when it cannot tell, which is what berth assumes. */
	return !ctx->systemd_cgroup;
}

int rootless_validate(const struct oci_config *c, struct berth_error *err)
{
	if (geteuid() == 0)
		return 0;
	if (!oci_config_namespace(c, OCI_NS_USER))
		return berth_error_set(err, -EPERM,
				       "linux.namespaces: a rootless container needs a user namespace "
				       "({\"type\": \"user\"} with linux.uidMappings and linux.gidMappings, "
				       "as `berth spec --rootless` writes)");
	for (size_t i = 0; i < c->n_annotations; i++)
		if (strcmp(c->annotations[i].key, "berth.network") == 0)
			return berth_error_set(
			    err, -EPERM,
			    "annotation berth.network: berth networks need root (a bridge "
			    "and veth pairs in the host's network namespace); a rootless "
			    "container has only the loopback of its own network namespace");
	if (c->linux_.n_net_devices)
		return berth_error_set(err, -EPERM,
				       "linux.netDevices: moving a host network device into a container "
				       "needs root");
	return 0;
}

/* The cgroup a non-root caller may use: the config's absolute cgroupsPath when delegated, else
 * below the delegated cgroup nearest to berth's own. 1 and @ret set, or 0 and @why set. */
static int delegated_path(const struct create_plan *p, const char *id, char *ret, size_t size, char *why,
			  size_t why_size)
{
	const char *cp = p->config->linux_.cgroups_path;
	char self[PATH_MAX], parent[PATH_MAX];
	int r;

	if (p->cg.layout != CGROUP_LAYOUT_UNIFIED) {
		snprintf(why, why_size,
			 "the host's controllers are in cgroup v1 hierarchies, which cannot be "
			 "delegated to a user (a pure cgroup v2 host with a delegated subtree can)");
		return 0;
	}
	if (cp && cp[0] == '/') {
		r = cgroup_path_delegated(p->cg_root_fd, cp, geteuid(), why, why_size);
		if (r > 0)
			snprintf(ret, size, "%s", cp);
		return r;
	}
	r = cgroup_self_v2(self, sizeof(self));
	if (r < 0) {
		snprintf(why, why_size, "berth's own cgroup is not in /proc/self/cgroup");
		return 0;
	}
	r = cgroup_delegated_parent(p->cg_root_fd, self, geteuid(), parent, sizeof(parent), why, why_size);
	if (r <= 0)
		return r;
	if (snprintf(ret, size, "%s/%s%s", strcmp(parent, "/") ? parent : "", cp && *cp ? "" : "berth-",
		     cp && *cp ? cp : id) >= (int)size)
		return -ENAMETOOLONG;
	return 1;
}

int rootless_cgroup_place(struct create_plan *p, const char *id, struct berth_error *err)
{
	const struct oci_linux *l = &p->config->linux_;
	const char *limit = l->has_resources ? cgroup_resources_limit_field(&l->resources) : NULL;
	char path[PATH_MAX], why[PATH_MAX + 128];
	int r;

	/* The real root may use any cgroup (--rootless true changes nothing for it); root in a user
	 * namespace is checked like any user, its own uid being what owns a delegated cgroup there. */
	if (geteuid() == 0 && !in_user_namespace())
		return 1;
	r = delegated_path(p, id, path, sizeof(path), why, sizeof(why));
	if (r < 0)
		return berth_error_setf_errno(err, r, "linux.cgroupsPath: rootless cgroup");
	if (r > 0) {
		cgroup_free(&p->cg);
		memset(&p->cg, 0, sizeof(p->cg));
		p->cg_resolved = false;
		r = cgroup_resolve(p->cg_root_fd, path, id, &p->cg, err);
		if (r < 0)
			return r;
		p->cg_resolved = true;
		p->cg.only_needed = true;
		log_debug("rootless: the container's cgroup is %s (delegated)", path);
		return 1;
	}
	if (limit)
		return berth_error_set(
		    err, -EPERM, "%s: a limit needs a cgroup, and this rootless container gets none: %s",
		    limit, why);
	log_warn("rootless: cgroups skipped: %s; the container stays in berth's cgroup "
		 "(no limits, pause or ps)",
		 why);
	cgroup_free(&p->cg);
	memset(&p->cg, 0, sizeof(p->cg));
	p->cg_resolved = false;
	return 0;
}

void rootless_drop_device_rules(struct oci_resources *res)
{
	if (geteuid() == 0 && !in_user_namespace())
		return;
	res->devices = NULL;
	res->n_devices = 0;
}

int rootless_write_id_maps(pid_t pid, const struct oci_linux *l, struct berth_error *err)
{
	return idmap_write(pid, (const struct idmap_range *)l->uid_mappings, l->n_uid_mappings,
			   (const struct idmap_range *)l->gid_mappings, l->n_gid_mappings,
			   "linux.uidMappings", "linux.gidMappings", err);
}
