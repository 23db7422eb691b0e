/* pause, resume and ps: operations on the processes of a container through its cgroup. */
#include <errno.h>
#include <stdlib.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/runtime.h"
#include "devrules.h"
#include "lifecycle.h"
#include "systemd_glue.h"

/* Load @id and its cgroup; fails when the container has none (it was created without one). */
static int load_with_cgroup(const struct berth_context *ctx, const char *id, struct container *c,
			    struct cgroup *cg, int *cg_root, struct berth_error *err)
{
	int r = container_load(ctx, id, c, err);
	if (r < 0)
		return r;
	if (!c->rec->cgroup_path) {
		container_release(c);
		return berth_error_set(err, -EOPNOTSUPP, "container \"%s\" has no cgroup", id);
	}
	r = container_cgroup(ctx, c->rec, cg, cg_root, err);
	if (r < 0)
		container_release(c);
	return r;
}

static int set_frozen(const struct berth_context *ctx, const char *id, bool freeze, struct berth_error *err)
{
	struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
	struct cgroup cg = {0};
	_cleanup_close_ int cg_root = -EBADF;
	int r = load_with_cgroup(ctx, id, &c, &cg, &cg_root, err);
	if (r < 0)
		return r;
	enum oci_status st = container_status(ctx, &c);
	if (st == OCI_STATUS_STOPPED)
		r = berth_error_set(err, -ESRCH, "container \"%s\": container not running", id);
	else if (freeze && st != OCI_STATUS_RUNNING)
		r = berth_error_set(err, -EBUSY, "cannot pause container \"%s\": it is %s", id,
				    oci_status_name(st));
	else if (!freeze && st != OCI_STATUS_PAUSED)
		r = berth_error_set(err, -EBUSY, "cannot resume container \"%s\": it is not paused", id);
	else
		r = cgroup_freeze(&cg, freeze, err);
	cgroup_free(&cg);
	container_release(&c);
	return r;
}

int berth_container_pause(const struct berth_context *ctx, const char *id, struct berth_error *err)
{
	return set_frozen(ctx, id, true, err);
}

int berth_container_resume(const struct berth_context *ctx, const char *id, struct berth_error *err)
{
	return set_frozen(ctx, id, false, err);
}

int berth_container_ps(const struct berth_context *ctx, const char *id, pid_t **ret_pids, size_t *ret_n,
		       struct berth_error *err)
{
	struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
	struct cgroup cg = {0};
	_cleanup_close_ int cg_root = -EBADF;
	int r = load_with_cgroup(ctx, id, &c, &cg, &cg_root, err);
	if (r < 0)
		return r;
	if (container_status(ctx, &c) == OCI_STATUS_STOPPED) {
		*ret_pids = NULL;
		*ret_n = 0;
	} else {
		r = cgroup_pids(&cg, ret_pids, ret_n, err);
	}
	cgroup_free(&cg);
	container_release(&c);
	return r;
}

int berth_container_update(const struct berth_context *ctx, const char *id, const struct oci_resources *res,
			   struct berth_error *err)
{
	struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
	struct cgroup cg = {0};
	_cleanup_close_ int cg_root = -EBADF;
	int r = load_with_cgroup(ctx, id, &c, &cg, &cg_root, err);
	if (r < 0)
		return r;
	struct oci_config *config = NULL;
	struct oci_resources eff;
	_cleanup_free_ struct oci_device_cgroup *rules = NULL;
	if (container_status(ctx, &c) == OCI_STATUS_STOPPED)
		r = berth_error_set(err, -ESRCH, "container \"%s\": container not running", id);
	if (r == 0)
		r = container_config(&c, &config, err);
	if (r == 0)
		r = device_rules_build(config, res, false, &eff, &rules, err);
	if (r == 0)
		r = systemd_record_update(c.rec, &cg, &eff, err); /* the unit's view first, then the files */
	if (r == 0)
		r = cgroup_enable_controllers(&cg, &eff, err);
	if (r == 0)
		r = cgroup_apply_resources(&cg, &eff, true, err);
	oci_config_free(config);
	cgroup_free(&cg);
	container_release(&c);
	return r < 0 ? berth_error_prefix(err, "update \"%s\"", id) : 0;
}

int berth_container_stats(const struct berth_context *ctx, const char *id, struct cgroup_stats *ret,
			  struct berth_error *err)
{
	struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
	struct cgroup cg = {0};
	_cleanup_close_ int cg_root = -EBADF;
	int r = load_with_cgroup(ctx, id, &c, &cg, &cg_root, err);
	if (r < 0)
		return r;
	if (container_status(ctx, &c) == OCI_STATUS_STOPPED)
		r = berth_error_set(err, -ESRCH, "container \"%s\": container not running", id);
	else
		r = cgroup_stats_read(&cg, ret, err);
	cgroup_free(&cg);
	container_release(&c);
	return r;
}
