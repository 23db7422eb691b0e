/* restore: the container side around the checkpoint module. Makes the state dir, cgroup and
 * network lease as create does, hands CRIU what was declared external at the dump, and writes
 * the record once the restored init runs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/checkpoint.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "berth/util.h"
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "berth/cgroups.h"
#include "berth/images.h"
#include "berth/log.h"
#include "berth/runtime.h"
#include "ckpt_internal.h"
#include "create.h"
#include "lifecycle.h"

static int load_bundle(struct create_plan *p, const char *bundle, struct berth_error *err)
{
	if (!realpath(bundle ? bundle : ".", p->bundle))
		return berth_error_setf_errno(err, -errno, "--bundle '%s'", bundle ? bundle : ".");
	_cleanup_close_ int bfd = open(p->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return berth_error_setf_errno(err, -errno, "--bundle '%s'", p->bundle);
	int r = read_file_at(bfd, CONFIG_FILE, BERTH_CONFIG_MAX, &p->config_json, &p->config_len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "read config.json in '%s'", p->bundle);
	r = oci_config_parse(p->config_json, p->config_len, &p->config, err);
	if (r < 0)
		return r;
	const char *rp = p->config->root_path;
	char root[PATH_MAX];
	if (snprintf(root, sizeof(root), "%s%s%s", rp[0] == '/' ? "" : p->bundle, rp[0] == '/' ? "" : "/",
		     rp) >= (int)sizeof(root))
		return berth_error_set(err, -ENAMETOOLONG, "root.path: too long");
	if (!realpath(root, p->rootfs))
		return berth_error_setf_errno(err, -errno, "root.path: rootfs '%s'", root);
	return 0;
}

/* A container on a berth network: the network must be defined here and the address it had at the
 * dump free (the config's berth.network.ip, else the recorded one: the same network only). */
static int network_check(struct restore_ctx *rc, struct berth_error *err)
{
	const struct oci_config *cfg = rc->p.config;
	if (!network_joins_berth(cfg))
		return 0;
	int r = ckpt_network_load(rc->images, rc->net_name, rc->net_ip, err);
	if (r < 0)
		return r;
	const char *recorded =
	    strcmp(rc->net_name, oci_config_annotation(cfg, NETWORK_ANNOTATION)) == 0 ? rc->net_ip : NULL;
	return network_validate_restore(&rc->p, network_restore_ip(cfg, recorded), err);
}

/* The state dir (no exec.fifo: the container is never "created"), the cgroup CRIU puts the
 * restored tasks into and the lease on a berth network. */
static int prepare_state(const struct berth_context *ctx, struct restore_ctx *rc, const char *id,
			 struct berth_error *err)
{
	struct create_plan *p = &rc->p;
	int r = state_root_open(ctx->root, true, &p->root_fd, err);
	if (r == 0)
		r = network_check(rc, err); /* before anything is made */
	if (r == 0)
		r = container_dir_create(p->root_fd, id, &p->dir_fd, err);
	if (r < 0)
		return r;
	p->dir_created = true;
	r = write_file_at(p->dir_fd, CONFIG_FILE, p->config_json, p->config_len, true, 0600);
	if (r < 0)
		return berth_error_setf_errno(err, r, "save config.json");
	const char *cgroot = ctx->cgroup_root ? ctx->cgroup_root : BERTH_DEFAULT_CGROUP_ROOT;
	p->cg_root_fd = open(cgroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->cg_root_fd < 0)
		return berth_error_setf_errno(err, -errno, "open cgroup root '%s'", cgroot);
	r = cgroup_resolve(p->cg_root_fd, p->config->linux_.cgroups_path, id, &p->cg, err);
	if (r < 0)
		return r;
	p->cg_resolved = true;
	r = cgroup_create(&p->cg, &p->cg_created, err);
	if (r == 0)
		r = network_lease(p, id, err);
	/* The lease in the record from here on: `delete --force` after a crash releases it. */
	if (r == 0)
		r = create_persist(p, id, 0, err);
	return r;
}

/* CRIU wants the root to be a mount point: bind the rootfs onto itself in a mount namespace of
 * our own (CRIU, our child, inherits it; the restored container gets its own). */
static int rootfs_mountpoint(const char *rootfs, struct berth_error *err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return berth_error_setf_errno(err, -errno, "restore: unshare a mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return berth_error_setf_errno(err, -errno, "restore: bind the rootfs '%s' onto itself",
					      rootfs);
	return 0;
}

static int restore_opts(const struct berth_restore_opts *x, struct restore_ctx *rc, struct ckpt_opts *o,
			struct berth_error *err)
{
	const struct oci_config *cfg = rc->p.config;
	o->action = CKPT_RESTORE;
	o->images_dir = rc->images;
	o->work_dir = rc->work[0] ? rc->work : NULL;
	o->root = rc->p.rootfs;
	o->tcp_established = x->tcp_established;
	o->file_locks = x->file_locks;
	o->ext_unix_sk = x->ext_unix_sk;
	o->shell_job = x->shell_job;
	if (x->manage_cgroups_mode && checkpoint_cg_mode_parse(x->manage_cgroups_mode, &o->cg_mode) < 0)
		return berth_error_set(err, -EINVAL,
				       "--manage-cgroups-mode: '%s' is not soft, full, strict or ignore",
				       x->manage_cgroups_mode);
	int r = ckpt_declare_mounts(cfg, 0, true, o, err);
	if (r < 0)
		return r;
	r = ckpt_stdio_restore(rc->images, rc->p.dir_fd, NULL, &rc->keys, o, err);
	if (r < 0)
		return r;
	/* A terminal: CRIU makes a new pty pair in the container's devpts and hands the master
	 * over; it goes to --console-socket, as at create. */
	o->orphan_pts_master = cfg->process.terminal;
	if (cfg->process.terminal && !x->console_socket)
		return berth_error_set(err, -EINVAL,
				       "process.terminal: restoring a container with a terminal needs "
				       "--console-socket");
	if (x->console_socket) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", x->console_socket) >=
		    (int)sizeof(sa.sun_path))
			return berth_error_set(err, -ENAMETOOLONG, "--console-socket: path '%s' is too long",
					       x->console_socket);
		rc->p.console_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (rc->p.console_fd < 0 || connect(rc->p.console_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return berth_error_setf_errno(err, -errno, "--console-socket: connect to '%s'",
						      x->console_socket);
		o->has_console = true;
		o->console_fd = rc->p.console_fd;
	}
	return ckpt_declare_netns_restore(cfg, rc->p.net.netns_fd, &rc->net_fd, o, err);
}

static int restore_phases(const struct berth_context *ctx, const struct berth_restore_opts *x,
			  struct restore_ctx *rc, struct berth_error *err)
{
	const char *bundle = x->bundle;
	int r;

	if (x->work_path)
		snprintf(rc->work, sizeof(rc->work), "%s", x->work_path);
	else if (x->import_path)
		(void)ckpt_kept_work_dir(x->id, rc->work, sizeof(rc->work));
	if (x->import_path) {
		r = ckpt_import_bundle(ctx, x, rc, &bundle, err);
		if (r < 0)
			return r;
	} else if (!realpath(x->image_path ? x->image_path : CKPT_DEFAULT_IMAGES, rc->images)) {
		return berth_error_setf_errno(err, -errno, "--image-path '%s'",
					      x->image_path ? x->image_path : CKPT_DEFAULT_IMAGES);
	}
	struct stat st;
	char inv[PATH_MAX + 32];
	snprintf(inv, sizeof(inv), "%s/inventory.img", rc->images);
	if (stat(inv, &st) < 0)
		return berth_error_set(
		    err, -ENOENT, "--image-path '%s' holds no checkpoint (no inventory.img)", rc->images);
	r = load_bundle(&rc->p, bundle, err);
	if (r == 0 && !x->no_kernel_check) /* migrate-receive checked before the freeze */
		r = checkpoint_check_kernel(ctx->criu_path, rc->work[0] ? rc->work : rc->images, err);
	if (r == 0)
		r = prepare_state(ctx, rc, x->id, err);
	if (r == 0)
		r = network_attach_new_netns(&rc->p, err);
	if (r < 0)
		return r;

	struct ckpt_opts o = {0};
	o.criu_path = ctx->criu_path;
	r = restore_opts(x, rc, &o, err);
	if (r == 0)
		r = rootfs_mountpoint(rc->p.rootfs, err);
	if (r == 0)
		r = checkpoint_restore(&o, &rc->p.pid, err);
	if (r < 0)
		return r;
	/* Limits (the device rules above all) only now: CRIU recreates the container's /dev with
	 * mknod inside this cgroup, which the container's own rules would refuse. */
	if (rc->p.config->linux_.has_resources) {
		r = cgroup_enable_controllers(&rc->p.cg, &rc->p.config->linux_.resources, err);
		if (r == 0)
			r = cgroup_apply_resources(&rc->p.cg, &rc->p.config->linux_.resources, false, err);
		if (r < 0)
			return r;
	}
	r = proc_start_time(rc->p.pid, &rc->p.pid_start_time);
	if (r < 0)
		return berth_error_setf_errno(err, r, "the restored init %d", (int)rc->p.pid);
	r = create_persist(&rc->p, x->id, rc->p.pid, err);
	if (r == 0 && x->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)rc->p.pid);
		r = write_file_atomic_at(AT_FDCWD, x->pid_file, buf, (size_t)n, 0644);
		if (r < 0)
			berth_error_setf_errno(err, r, "--pid-file: write '%s'", x->pid_file);
	}
	return r;
}

static int wait_init(pid_t pid, int *ret_status)
{
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return -errno;
	*ret_status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return 0;
}

int berth_container_restore(const struct berth_context *ctx, const struct berth_restore_opts *x,
			    int *ret_status, struct berth_error *err)
{
	struct restore_ctx rc = {.net_fd = -EBADF, .mntns_fd = -EBADF, .cwd_fd = -EBADF};
	struct create_plan *p = &rc.p;
	network_plan_init(&p->net);
	p->root_fd = p->dir_fd = p->cg_root_fd = p->cg_fd = p->console_fd = p->sync_fd = -EBADF;
	p->cg_lock_fd = -EBADF;
	for (int t = 0; t < OCI_NS_MAX; t++)
		p->ns_fds[t] = -EBADF;

	int r = container_id_validate(x->id, err);
	/* rootfs_mountpoint moves us into a mount namespace of our own: where we go back to */
	rc.mntns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	rc.cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r == 0 && (rc.mntns_fd < 0 || rc.cwd_fd < 0))
		r = berth_error_setf_errno(err, -errno, "restore: open our mount namespace");
	/* CRIU restores into a cgroupfs path; a systemd scope for it is not made yet: say so rather
	 * than read "slice:prefix:name" as a cgroupfs path. */
	if (r == 0 && ctx->systemd_cgroup)
		r = berth_error_set(err, -ENOTSUP,
				    "--systemd-cgroup: restore into a systemd unit is not supported");
	if (r == 0)
		r = restore_phases(ctx, x, &rc, err);
	if (r < 0) {
		create_plan_unwind(p, x->id);
		if (rc.imported[0])
			(void)rm_rf_at(AT_FDCWD, rc.imported);
		ckpt_import_unwind(&rc, x->id);
	}
	/* Back in the caller's mount namespace, where the rootfs bind of rootfs_mountpoint does not
	 * exist: a caller that goes on (migrate-receive) can then remove a restored bundle again. */
	if (rc.mntns_fd >= 0 && (setns(rc.mntns_fd, CLONE_NEWNS) < 0 || fchdir(rc.cwd_fd) < 0))
		log_warn("restore: cannot go back to our mount namespace: %m");
	closep(&rc.cwd_fd);
	pid_t pid = p->pid;
	create_plan_free(p);
	ckpt_stdio_release(&rc.keys);
	closep(&rc.net_fd);
	closep(&rc.mntns_fd);
	image_store_close(rc.store);
	oci_ckpt_manifest_free(rc.manifest);
	if (r < 0)
		return berth_error_prefix(err, "restore \"%s\"", x->id);
	if (!x->work_path && rc.work[0])
		(void)rm_rf_at(AT_FDCWD, rc.work); /* kept only to explain a failure */
	if (!x->detach && ret_status)
		return wait_init(pid, ret_status);
	if (ret_status)
		*ret_status = 0;
	return 0;
}
