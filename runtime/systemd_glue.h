/* runtime-internal: --systemd-cgroup hooks of create, delete and update (systemd_glue.c). */
#pragma once

struct create_plan;
struct berth_error;
struct berth_record;
struct oci_resources;
struct cgroup;

/* create, in place of cgroupfs placement: parse linux.cgroupsPath as "slice:prefix:name" and
 * resolve the scope's cgroup (made later by systemd). Errors name linux.cgroupsPath. */
int systemd_plan_cgroup(struct create_plan *p, const char *id, struct berth_error *err);
/* create, once the init exists: start its scope unit, then apply linux.resources there. */
int systemd_place_init(struct create_plan *p, struct berth_error *err);
/* create failed: stop the unit if this create started it. */
void systemd_unwind(struct create_plan *p);
/* delete: stop the container's unit (records of --systemd-cgroup containers only). */
int systemd_record_stop(const struct berth_record *rec, struct berth_error *err);
/* update: set the unit properties for @res (records of --systemd-cgroup containers only); a
 * quota without a period is taken with the period @cg has now. */
int systemd_record_update(const struct berth_record *rec, const struct cgroup *cg,
			  const struct oci_resources *res, struct berth_error *err);
