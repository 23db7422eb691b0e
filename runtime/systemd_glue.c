/* --systemd-cgroup in the container lifecycle: the init is moved into a transient scope unit
 * that systemd creates for it (cgroups_systemd.h); limits systemd has a property for are set on
 * the unit, and berth's cgroupfs writer then applies every limit (including those systemd has no
 * property for, and the device rules as berth's eBPF program) in the delegated cgroup. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cgroups_systemd.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "create.h"
#include "devrules.h"
#include "rootless.h"
#include "systemd_glue.h"

/* The device rules as DevicePolicy=strict + DeviceAllow where systemd can say the same (see
 * cgroup_systemd_device_props); /proc/devices names the majors of "char-NAME" entries. */
static int add_device_props(const struct oci_resources *res, struct cgroup_systemd_prop *props, size_t *n)
{
	_cleanup_free_ char *devices = NULL;
	size_t len = 0;
	if (res->n_devices == 0)
		return 0;
	if (read_file_at(AT_FDCWD, "/proc/devices", 65536, &devices, &len) < 0)
		devices = NULL; /* then only entries that need no name */
	return cgroup_systemd_device_props(res->devices, res->n_devices, devices, props,
					   CGROUP_SYSTEMD_PROPS_MAX, n);
}

/* A non-root caller's containers are units of its own systemd instance (user@UID.service, which
 * systemd delegates to the user), as runc's rootless systemd driver does: an empty slice means
 * the instance's user.slice, and the unit's cgroup lies below the instance's own cgroup, named
 * by systemd's rule /user.slice/user-UID.slice/user@UID.service. */
static const char *user_cgroups_path(const char *path, const char *id, char *buf, size_t size)
{
	if (!path || !*path)
		snprintf(buf, size, "user.slice:berth:%s", id);
	else if (path[0] == ':')
		snprintf(buf, size, "user.slice%s", path);
	else
		return path;
	return buf;
}

static int user_instance_path(int cg_root_fd, struct cgroup_systemd_unit *u, struct berth_error *err)
{
	char base[128], rel[CGROUP_SYSTEMD_PATH_MAX];
	unsigned uid = (unsigned)geteuid();
	struct stat st;
	snprintf(base, sizeof(base), "user.slice/user-%u.slice/user@%u.service", uid, uid);
	int n = snprintf(rel, sizeof(rel), "/%s%s", base, u->path);
	if (n < 0 || (size_t)n >= sizeof(u->path))
		return berth_error_set(err, -ENAMETOOLONG, "linux.cgroupsPath: too long");
	if (fstatat(cg_root_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_uid != uid)
		return berth_error_set(
		    err, -ENOTSUP,
		    "--systemd-cgroup: rootless, and cgroup /%s is not delegated to uid %u "
		    "(is the user's systemd instance, user@%u.service, running?)",
		    base, uid, uid);
	memcpy(u->path, rel, (size_t)n + 1);
	return 0;
}

int systemd_plan_cgroup(struct create_plan *p, const char *id, struct berth_error *err)
{
	char buf[CGROUP_SYSTEMD_PATH_MAX];
	bool user = geteuid() != 0;
	const char *path = p->config->linux_.cgroups_path;
	if (user)
		path = user_cgroups_path(path, id, buf, sizeof(buf));
	/* The field first: a malformed path is the config's fault on any host. */
	int r = cgroup_systemd_parse(path, id, &p->sd, err);
	if (r < 0)
		return r;
	if (!cgroup_systemd_booted())
		return berth_error_set(
		    err, -ENOTSUP,
		    "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system)");
	if (user && (r = user_instance_path(p->cg_root_fd, &p->sd, err)) < 0)
		return r;
	r = cgroup_resolve(p->cg_root_fd, p->sd.path, id, &p->cg, err);
	if (r < 0)
		return r;
	p->cg_resolved = true;
	p->systemd = true;
	return 0;
}

/* Between clone3 and the init's first step: the init waits for SYNC_GO, so nothing of the
 * container runs before it is in its unit with its limits. */
int systemd_place_init(struct create_plan *p, struct berth_error *err)
{
	static const struct oci_resources none;
	const struct oci_linux *l = &p->config->linux_;
	struct oci_resources res;
	_cleanup_free_ struct oci_device_cgroup *rules = NULL;
	struct cgroup_systemd_prop props[CGROUP_SYSTEMD_PROPS_MAX];
	size_t n = 0;
	int r =
	    device_rules_build(p->config, l->has_resources ? &l->resources : &none, true, &res, &rules, err);
	rootless_drop_device_rules(&res); /* a user's instance: devices are bind mounts */
	if (r == 0)
		r = cgroup_systemd_properties(&res, props, CGROUP_SYSTEMD_PROPS_MAX, &n, err);
	if (r == 0)
		r = add_device_props(&res, props, &n);
	if (r < 0)
		return r;
	if (geteuid() != 0)
		p->cg.only_needed = true; /* the levels above the unit are not the user's */
	r = cgroup_systemd_start(&p->sd, p->pid, props, n, err);
	if (r < 0)
		return r;
	/* From here the unit (and so the cgroup) is this container's: unwind and delete stop it. */
	p->sd_started = true;
	p->cg_created = true;
	log_debug("systemd: %s in %s, cgroup %s", p->sd.unit, p->sd.slice, p->sd.path);
	r = cgroup_enable_controllers(&p->cg, &res, err);
	if (r == 0)
		r = cgroup_apply_resources(&p->cg, &res, false, err);
	return r;
}

void systemd_unwind(struct create_plan *p)
{
	struct berth_error e = {0};
	if (p->sd_started && cgroup_systemd_stop(p->sd.unit, &e) < 0)
		log_warn("%s", e.msg);
	p->sd_started = false;
}

int systemd_record_stop(const struct berth_record *rec, struct berth_error *err)
{
	const char *unit = cgroup_systemd_unit_of_path(rec->cgroup_path);
	if (!rec->systemd_cgroup || !rec->cgroup_owned || !unit)
		return 0;
	return cgroup_systemd_stop(unit, err);
}

/* A quota without a period means the cgroup's current period (the kernel keeps it), and so must
 * CPUQuotaPerSecUSec: read it from cpu.max ("max 100000", "50000 50000"). */
static void fill_period(const struct cgroup *cg, struct oci_resources *res)
{
	char rel[CGROUP_SYSTEMD_PATH_MAX + 16];
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	unsigned long long period = 0;
	if (!res->has_cpu || !res->cpu.has_quota || (res->cpu.has_period && res->cpu.period) || !cg->path)
		return;
	snprintf(rel, sizeof(rel), "%s%s/cpu.max", cg->layout == CGROUP_LAYOUT_UNIFIED ? "" : "unified",
		 cg->path);
	if (read_file_at(cg->root_fd, rel[0] == '/' ? rel + 1 : rel, 64, &text, &len) < 0 ||
	    sscanf(text, "%*s %llu", &period) != 1 || period == 0)
		return;
	res->cpu.has_period = true;
	res->cpu.period = period;
}

int systemd_record_update(const struct berth_record *rec, const struct cgroup *cg,
			  const struct oci_resources *in, struct berth_error *err)
{
	const char *unit = cgroup_systemd_unit_of_path(rec->cgroup_path);
	struct cgroup_systemd_prop props[CGROUP_SYSTEMD_PROPS_MAX];
	struct oci_resources res = *in;
	size_t n = 0;
	if (!rec->systemd_cgroup || !unit)
		return 0;
	fill_period(cg, &res);
	int r = cgroup_systemd_properties(&res, props, CGROUP_SYSTEMD_PROPS_MAX, &n, err);
	if (r == 0)
		r = add_device_props(&res, props, &n);
	if (r < 0 || n == 0)
		return r;
	return cgroup_systemd_update(unit, props, n, err);
}
