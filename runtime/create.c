/* `create`, the parent side: validate -> prepare -> spawn -> configure -> persist.
 * Any failure unwinds everything made so far: the init is killed, the cgroup and the state
 * directory removed; mounts die with the init's mount namespace. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <linux/sched.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "bindsrc.h"
#include "create.h"
#include "devrules.h"
#include "lifecycle.h"
#include "ptyrelay.h"
#include "rootless.h"
#include "systemd_glue.h"
#include "stdio_log.h"

static void plan_init(struct create_plan *p)
{
	memset(p, 0, sizeof(*p));
	network_plan_init(&p->net);
	p->root_fd = p->dir_fd = p->cg_root_fd = p->cg_fd = p->console_fd = p->sync_fd = -EBADF;
	p->cg_lock_fd = -EBADF;
	p->pty_sock = p->pty_master = -EBADF;
	for (int t = 0; t < OCI_NS_MAX; t++)
		p->ns_fds[t] = -EBADF;
}

/* ---- validate ---- */

static int load_config(struct create_plan *p, const char *bundle, struct berth_error *err)
{
	if (!realpath(bundle ? bundle : ".", p->bundle))
		return berth_error_setf_errno(err, -errno, "bundle '%s'", bundle ? bundle : ".");
	_cleanup_close_ int bfd = open(p->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return berth_error_setf_errno(err, -errno, "bundle '%s'", p->bundle);
	int r = read_file_at(bfd, CONFIG_FILE, BERTH_CONFIG_MAX, &p->config_json, &p->config_len);
	if (r == -EFBIG)
		return berth_error_set(err, r, "config.json in '%s' is larger than %u bytes", p->bundle,
				       BERTH_CONFIG_MAX);
	if (r < 0)
		return berth_error_setf_errno(err, r, "read config.json in '%s'", p->bundle);
	r = oci_config_parse(p->config_json, p->config_len, &p->config, err);
	if (r < 0)
		return r;

	char root[PATH_MAX];
	const char *rp = p->config->root_path;
	if (snprintf(root, sizeof(root), "%s%s%s", rp[0] == '/' ? "" : p->bundle, rp[0] == '/' ? "" : "/",
		     rp) >= (int)sizeof(root))
		return berth_error_set(err, -ENAMETOOLONG, "root.path: too long");
	struct stat st;
	if (!realpath(root, p->rootfs) || stat(p->rootfs, &st) < 0)
		return berth_error_setf_errno(err, -errno, "root.path: rootfs '%s'", root);
	if (!S_ISDIR(st.st_mode))
		return berth_error_set(err, -ENOTDIR, "root.path: rootfs '%s' is not a directory", root);
	return 0;
}

/* No mount namespace in linux.namespaces: the container inherits the runtime's, as the spec says,
 * and is chrooted into root.path (runc does the same). What needs mounts is refused: maskedPaths,
 * readonlyPaths and --no-pivot with runc's own reason; mounts, root.readonly, linux.devices and
 * linux.sysctl deliberately (runc would mount into, or write devices from, the host's namespace,
 * where nothing would ever unmount them, or silently drop root.readonly; berth changes nothing
 * in the runtime's mount namespace). */
static int validate_no_mount_ns(const struct oci_config *c, const struct berth_create_opts *o,
				struct berth_error *err)
{
	static const char why[] = "without a private MNT namespace (linux.namespaces has no mount entry)";
	const struct oci_linux *l = &c->linux_;
	if (oci_config_namespace(c, OCI_NS_MOUNT))
		return 0;
	if ((l->masked_paths && l->masked_paths[0]) || (l->readonly_paths && l->readonly_paths[0]))
		return berth_error_set(
		    err, -EINVAL, "linux.maskedPaths/readonlyPaths: unable to restrict sys entries %s", why);
	if (o->no_pivot)
		return berth_error_set(err, -EINVAL, "--no-pivot: unable to use no-pivot %s", why);
	if (c->n_mounts)
		return berth_error_set(err, -EINVAL,
				       "mounts: berth mounts nothing into the runtime's own mount "
				       "namespace: add {\"type\": \"mount\"} to linux.namespaces");
	if (c->root_readonly)
		return berth_error_set(err, -EINVAL,
				       "root.readonly: a read-only root needs a mount namespace "
				       "(linux.namespaces has no mount entry)");
	if (l->n_devices)
		return berth_error_set(err, -EINVAL,
				       "linux.devices: devices are created in the container's "
				       "/dev mount, which needs a mount namespace");
	if (l->n_sysctl)
		return berth_error_set(err, -EINVAL,
				       "linux.sysctl: sysctls are written through the "
				       "container's /proc mount, which needs a mount namespace");
	return 0;
}

static int validate(struct create_plan *p, const struct berth_create_opts *o, bool foreground,
		    struct berth_error *err)
{
	const struct oci_config *c = p->config;
	if (!c->has_process)
		return berth_error_set(err, -EINVAL, "process: required to create a container");
	const struct oci_namespace *user = oci_config_namespace(c, OCI_NS_USER);
	if (user && !user->path && (!c->linux_.n_uid_mappings || !c->linux_.n_gid_mappings))
		return berth_error_set(
		    err, -EINVAL,
		    "linux.uidMappings: required (with linux.gidMappings) for a new user namespace");
	int r = validate_no_mount_ns(c, o, err);
	if (r == 0)
		r = rootless_validate(c, err);
	if (r < 0)
		return r;
	if (c->process.terminal && !o->console_socket && !foreground)
		return berth_error_set(
		    err, -EINVAL,
		    "process.terminal: a detached container with a terminal needs --console-socket");
	if (!c->process.terminal && o->console_socket)
		return berth_error_set(err, -EINVAL, "--console-socket: given but process.terminal is false");
	if (o->preserve_fds < 0 || o->preserve_fds > 1024)
		return berth_error_set(err, -EINVAL, "--preserve-fds: %d is out of range", o->preserve_fds);
	return sysctl_validate(c, err);
}

/* ---- prepare ---- */

static int open_namespaces(struct create_plan *p, struct berth_error *err)
{
	const struct oci_config *c = p->config;
	bool user_path = false;
	for (size_t i = 0; i < c->linux_.n_namespaces; i++) {
		const struct oci_namespace *ns = &c->linux_.namespaces[i];
		if (!ns->path)
			continue;
		p->ns_fds[ns->type] = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (p->ns_fds[ns->type] < 0)
			return berth_error_setf_errno(err, -errno, "linux.namespaces[%zu]: open '%s'", i,
						      ns->path);
		/* Say so now, instead of a bare EINVAL from setns() in the init later. */
		int type = ioctl(p->ns_fds[ns->type], NS_GET_NSTYPE);
		if (type < 0 || (unsigned long)type != oci_ns_clone_flag(ns->type))
			return berth_error_set(err, -EINVAL,
					       "linux.namespaces[%zu]: '%s' is not a %s namespace", i,
					       ns->path, oci_ns_type_name(ns->type));
		if (ns->type == OCI_NS_USER)
			user_path = true;
	}
	for (size_t i = 0; i < c->linux_.n_namespaces; i++) {
		const struct oci_namespace *ns = &c->linux_.namespaces[i];
		unsigned long f = oci_ns_clone_flag(ns->type);
		if (ns->path || ns->type == OCI_NS_CGROUP || ns->type == OCI_NS_TIME)
			continue; /* cgroup: unshared by the init once placed; time: by us, see spawn */
		/* Namespaces that must be owned by a joined user namespace are unshared after setns. */
		if (user_path && ns->type != OCI_NS_PID)
			p->unshare_flags |= f;
		else
			p->clone_flags |= f;
	}
	const struct oci_namespace *user = oci_config_namespace(c, OCI_NS_USER);
	p->new_userns = user && !user->path;
	p->userns_any = user != NULL;
	return 0;
}

static int connect_console(struct create_plan *p, const char *path, struct berth_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return berth_error_set(err, -ENAMETOOLONG, "--console-socket: path '%s' is too long", path);
	strcpy(sa.sun_path, path);
	p->console_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->console_fd < 0 || connect(p->console_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return berth_error_setf_errno(err, -errno, "--console-socket: connect to '%s'", path);
	return 0;
}

/* Describe who uses the cgroup @path: a container of this state root recorded with it (being
 * created, running, or exiting right now), else "processes of no container in this --root". */
static void cgroup_user(struct create_plan *p, const char *path, const char *self, char *buf, size_t size)
{
	_cleanup_close_ int dfd = openat(p->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;

	snprintf(buf, size, "processes of no container in this --root");
	if (!d)
		return;
	TAKE_FD(dfd);
	while ((de = readdir(d))) {
		struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
		bool same = false;

		if (de->d_name[0] == '.' || strcmp(de->d_name, self) == 0 ||
		    container_peek_at(dirfd(d), "", de->d_name, &c, NULL) < 0)
			continue;
		same = c.rec->cgroup_path && strcmp(c.rec->cgroup_path, path) == 0;
		container_release(&c);
		if (same) {
			snprintf(buf, size, "container \"%s\"", de->d_name);
			break;
		}
	}
	closedir(d);
}

/* One container per cgroup. runc 1.1 only warns about a non-empty cgroup ("DEPRECATED: running
 * container in a non-empty cgroup won't be supported in runc 1.2"); berth refuses it, because
 * containers sharing a cgroup kill or remove each other's cgroup at delete (cgroup.kill, rmdir)
 * and a freezer or limit of one applies to all. A cgroup that exists but holds no process is
 * taken over: this container removes it at delete, as runc removes the cgroup it ran in. A frozen
 * cgroup is refused at once (a process placed in it would never run): runc's "container's cgroup
 * unexpectedly frozen". Called with the cgroup lock held, so no other create can claim the same
 * cgroup between this check and the clone. */
static int claim_cgroup(struct create_plan *p, const char *id, struct berth_error *err)
{
	_cleanup_free_ pid_t *pids = NULL;
	bool frozen = false;
	char user[300];
	size_t n = 0;
	int r = cgroup_pids(&p->cg, &pids, &n, err);

	if (r < 0)
		return r;
	if (n > 0) {
		p->cg_created = false; /* someone else's: the unwind must neither kill nor remove it */
		cgroup_user(p, p->cg.path, id, user, sizeof(user));
		return berth_error_set(err, -EBUSY,
				       "linux.cgroupsPath: cgroup \"%s\" is in use by %s (%zu process%s): "
				       "berth runs one container per cgroup",
				       p->cg.path, user, n, n == 1 ? "" : "es");
	}
	p->cg_fresh = p->cg_created;
	p->cg_created = true; /* empty: ours now, removed at delete */
	r = cgroup_is_frozen(&p->cg, &frozen);
	if (r == 0 && frozen)
		return berth_error_set(err, -EBUSY,
				       "linux.cgroupsPath: cgroup \"%s\" is frozen (container's cgroup "
				       "unexpectedly frozen): thaw it or use another cgroupsPath",
				       p->cg.path);
	return 0;
}

static int setup_cgroup(const struct berth_context *ctx, struct create_plan *p, const char *id,
			struct berth_error *err)
{
	const char *root = ctx->cgroup_root ? ctx->cgroup_root : BERTH_DEFAULT_CGROUP_ROOT;
	p->cg_root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->cg_root_fd < 0)
		return berth_error_setf_errno(err, -errno, "open cgroup root '%s'", root);
	/* systemd makes the cgroup (a scope unit, whose name is the claim) once the init exists. */
	if (ctx->systemd_cgroup) {
		int r = systemd_plan_cgroup(p, id, err);
		return r < 0 ? r : create_persist(p, id, 0, err);
	}
	int r = cgroup_resolve(p->cg_root_fd, p->config->linux_.cgroups_path, id, &p->cg, err);
	if (r < 0)
		return r;
	p->cg_resolved = true;
	/* cgroupfs only: the systemd driver asks the (user's) manager for a delegated scope */
	if (!ctx->systemd_cgroup && rootless_cgroups(ctx)) {
		r = rootless_cgroup_place(p, id, err);
		if (r <= 0)
			return r; /* 0: no cgroup, with a warning */
	}
	r = cgroup_lock(&p->cg, berth_wait_limit_ms(), &p->cg_lock_fd, err);
	if (r == 0)
		r = cgroup_create(&p->cg, &p->cg_created, err);
	if (r == 0)
		r = claim_cgroup(p, id, err);
	if (r < 0)
		return r;
	/* Record the cgroup at once, so `delete --force` after a crash from here on removes it. */
	r = create_persist(p, id, 0, err);
	if (r < 0)
		return r;
	const struct oci_linux *l = &p->config->linux_;
	{
		/* Always: without linux.resources the device policy is still runc's default one. */
		static const struct oci_resources none;
		struct oci_resources res;
		_cleanup_free_ struct oci_device_cgroup *rules = NULL;
		r = device_rules_build(p->config, l->has_resources ? &l->resources : &none, true, &res,
				       &rules, err);
		rootless_drop_device_rules(&res);
		if (r == 0)
			r = cgroup_enable_controllers(&p->cg, &res, err);
		if (r == 0)
			r = cgroup_apply_resources(&p->cg, &res, false, err);
		if (r < 0)
			return r;
	}

	p->cg_fd = cgroup_open_unified(&p->cg, NULL); /* optional: CLONE_INTO_CGROUP when present */
	return cgroup_movers_open(&p->cg, &p->movers, err);
}

static int prepare(const struct berth_context *ctx, struct create_plan *p, const struct berth_create_opts *o,
		   struct berth_error *err)
{
	int r = state_root_open(ctx->root, true, &p->root_fd, err);
	if (r == 0)
		r = network_validate(p, err); /* before anything is made */
	if (r < 0)
		return r;
	r = container_dir_create(p->root_fd, o->id, &p->dir_fd, err);
	if (r < 0)
		return r;
	p->dir_created = true;
	fault_point("create.after-statedir");
	if (mkfifoat(p->dir_fd, FIFO_FILE, 0600) < 0)
		return berth_error_setf_errno(err, -errno, "create exec.fifo");
	r = write_file_at(p->dir_fd, CONFIG_FILE, p->config_json, p->config_len, true, 0600);
	if (r < 0)
		return berth_error_setf_errno(err, r, "save config.json");
	r = setup_cgroup(ctx, p, o->id, err);
	if (r == 0)
		fault_point("create.after-cgroup");
	if (r == 0)
		r = network_lease(p, o->id, err);
	/* setup_cgroup recorded the container already; a lease taken since must reach the record
	 * too, so that `delete --force` after a crash releases it. Without one, no second write. */
	if (r == 0 && p->net.leased)
		r = create_persist(p, o->id, 0, err);
	if (r < 0)
		return r;
	r = open_namespaces(p, err);
	if (r == 0 && p->userns_any)
		r = bindsrc_open(p->config, p->bundle, &p->bind_trees, err);
	if (r == 0 && o->console_socket)
		r = connect_console(p, o->console_socket, err);
	/* A detached run without a terminal writes to its log, not to the caller's stdio. */
	if (r == 0 && o->log_stdio && !p->config->process.terminal) {
		r = stdio_log_open(p->dir_fd, p->stdio_log, err);
		p->has_stdio_log = r == 0;
	}
	return r;
}

/* ---- cleanup ---- */

void create_plan_unwind(struct create_plan *p, const char *id)
{
	/* While the init lives: its network namespace still holds the devices to hand back. */
	network_unwind(p, id);
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		p->pid = 0;
	}
	systemd_unwind(p);
	if (p->cg_created)
		(void)cgroup_destroy(&p->cg, NULL);
	p->cg_created = false;
	if (p->dir_created)
		(void)container_dir_remove(p->root_fd, id);
	p->dir_created = false;
}

void create_plan_free(struct create_plan *p)
{
	closep(&p->sync_fd);
	closep(&p->console_fd);
	if (p->has_stdio_log)
		stdio_log_close(p->stdio_log);
	p->has_stdio_log = false;
	closep(&p->pty_sock);
	closep(&p->pty_master);
	for (int t = 0; t < OCI_NS_MAX; t++)
		closep(&p->ns_fds[t]);
	closep(&p->cg_fd);
	if (p->config)
		bindsrc_close(&p->bind_trees, p->config->n_mounts);
	closep(&p->cg_lock_fd);
	cgroup_movers_close(&p->movers);
	if (p->cg_resolved)
		cgroup_free(&p->cg);
	closep(&p->cg_root_fd);
	closep(&p->dir_fd);
	closep(&p->root_fd);
	network_plan_free(&p->net);
	oci_config_free(p->config);
	free(p->config_json);
	p->config = NULL;
	p->config_json = NULL;
}

int berth_container_create_plan(const struct berth_context *ctx, const struct berth_create_opts *o,
				bool foreground, struct create_plan *p, struct berth_error *err)
{
	plan_init(p);
	int r = container_id_validate(o->id, err);
	if (r == 0)
		r = load_config(p, o->bundle, err);
	if (r == 0)
		r = validate(p, o, foreground, err);
	if (r == 0)
		r = prepare(ctx, p, o, err);
	/* A foreground terminal without --console-socket: the init opens a new pty and sends its
	 * master here, for `run` to relay; never the caller's own terminal (TIOCSTI). */
	if (r == 0 && foreground && p->config->process.terminal && !o->console_socket)
		r = pty_relay_socketpair(&p->pty_sock, &p->console_fd, err);
	if (r == 0)
		r = create_spawn(p, o, err);
	if (p->config) /* the init has its copies (or is gone) */
		bindsrc_close(&p->bind_trees, p->config->n_mounts);
	if (r == 0 && p->pty_sock >= 0)
		r = pty_relay_receive(p->pty_sock, &p->pty_master, err);
	if (r == 0)
		fault_point("create.before-persist");
	if (r == 0)
		r = create_persist(p, o->id, p->pid, err);
	if (r == 0 && o->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)p->pid);
		r = write_file_atomic_at(AT_FDCWD, o->pid_file, buf, (size_t)n, 0644);
		if (r < 0)
			berth_error_setf_errno(err, r, "--pid-file: write '%s'", o->pid_file);
	}
	if (r < 0) {
		create_plan_unwind(p, o->id);
		create_plan_free(p);
		return berth_error_prefix(err, "create \"%s\"", o->id);
	}
	return 0;
}

int berth_container_create(const struct berth_context *ctx, const struct berth_create_opts *opts,
			   struct berth_error *err)
{
	struct create_plan p;
	int r = berth_container_create_plan(ctx, opts, false, &p, err);
	if (r < 0)
		return r;
	create_plan_free(&p);
	return 0;
}
