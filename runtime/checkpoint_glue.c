/* checkpoint / restore: the container side around the checkpoint module. Loads the container,
 * declares its bind mounts and joined namespaces to CRIU, writes the record after a restore. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/checkpoint.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/images.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "create.h"
#include "lifecycle.h"

#define DEFAULT_IMAGES "checkpoint"
#define DEFAULT_IMPORT_ROOT "/var/lib/berth/restored"
#define EXT_NET_KEY "berth-net"

static void config_freep(struct oci_config **c)
{
	oci_config_free(*c);
}

static bool mount_is_bind(const struct oci_mount *m)
{
	if (m->type && strcmp(m->type, "bind") == 0)
		return true;
	for (char **o = m->options; o && *o; o++)
		if (strcmp(*o, "bind") == 0 || strcmp(*o, "rbind") == 0)
			return true;
	return false;
}

static int add_ext_mount(struct ckpt_opts *o, const char *key, const char *val, struct berth_error *err)
{
	if (o->n_ext_mounts >= CKPT_MAX_MAPS)
		return berth_error_set(err, -E2BIG, "more than %d bind mounts to declare to CRIU",
				       CKPT_MAX_MAPS);
	o->ext_mounts[o->n_ext_mounts++] = (struct ckpt_map){key, val};
	return 0;
}

/* Bind mounts come from outside the container's root: CRIU must be told they are external. On
 * dump the key is the mount point; on restore the same key maps to the source on this host.
 * Masked files are binds of /dev/null. */
static int declare_mounts(const struct oci_config *c, pid_t pid, bool restore, struct ckpt_opts *o,
			  struct berth_error *err)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < c->n_mounts; i++) {
		const struct oci_mount *m = &c->mounts[i];
		if (mount_is_bind(m) && m->source)
			r = add_ext_mount(o, m->destination, restore ? m->source : m->destination, err);
	}
	for (char **p = c->linux_.masked_paths; r == 0 && p && *p; p++) {
		char path[PATH_MAX];
		struct stat st;
		if (!restore) {
			snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, *p);
			if (stat(path, &st) < 0 || S_ISDIR(st.st_mode))
				continue; /* missing, or a tmpfs CRIU dumps itself */
		}
		r = add_ext_mount(o, *p, restore ? "/dev/null" : *p, err);
	}
	return r;
}

/* ---- the init's stdio ----
 * The init's stdin/stdout/stderr usually come from outside the container (berth's caller: a
 * pipe from containerd's shim, a log file, /dev/null). CRIU cannot dump a file on a mount the
 * container does not have, so such a file is declared external ("file[mnt_id:inode]"); a pipe
 * is dumped by CRIU itself. Restore hands its own stdio in their place (as runc does), by key:
 * the keys are kept in STDIO_FILE inside the images, so they travel with an archive. */

#define STDIO_FILE "berth-stdio"
#define STDIO_MAX 3

struct stdio_keys {
	char key[STDIO_MAX][96];
	bool has[STDIO_MAX];
};

static bool mount_visible(pid_t pid, unsigned long mnt_id)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (strtoul(line, NULL, 10) == mnt_id)
			return true;
	return false;
}

static unsigned long fd_mnt_id(pid_t pid, int fd)
{
	char path[64], line[256];
	unsigned long id = 0;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "mnt_id: %lu", &id) == 1)
			break;
	return id;
}

static void stdio_collect(pid_t pid, struct stdio_keys *k, struct ckpt_opts *o)
{
	for (int fd = 0; fd < STDIO_MAX; fd++) {
		char path[64], target[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0 || stat(path, &st) < 0)
			continue;
		target[n] = '\0';
		if (str_has_prefix(target, "pipe:")) {
			snprintf(k->key[fd], sizeof(k->key[fd]), "%.90s", target);
			k->has[fd] = true;
		} else if (target[0] == '/') {
			unsigned long mnt = fd_mnt_id(pid, fd);
			if (!mnt || mount_visible(pid, mnt) || o->n_externals >= CKPT_MAX_MAPS)
				continue;
			snprintf(k->key[fd], sizeof(k->key[fd]), "file[%lx:%lx]", mnt,
				 (unsigned long)st.st_ino);
			k->has[fd] = true;
			o->externals[o->n_externals++] = k->key[fd];
		}
	}
}

static int stdio_save(const char *images, const struct stdio_keys *k, struct berth_error *err)
{
	char buf[STDIO_MAX * 112] = "";
	size_t len = 0;
	for (int fd = 0; fd < STDIO_MAX; fd++)
		if (k->has[fd])
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%d %s\n", fd, k->key[fd]);
	_cleanup_close_ int dfd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dfd < 0 ? -errno : write_file_at(dfd, STDIO_FILE, buf, len, true, 0600);
	if (r < 0)
		return berth_error_setf_errno(err, r, "save the stdio keys in '%s'", images);
	return 0;
}

/* Hand our own stdio to CRIU for each recorded key. */
static int stdio_restore(const char *images, struct stdio_keys *k, struct ckpt_opts *o)
{
	_cleanup_close_ int dfd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (dfd < 0 || read_file_at(dfd, STDIO_FILE, 4096, &buf, &len) < 0)
		return 0; /* a checkpoint made elsewhere: CRIU says what it misses */
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int fd;
		char key[96];
		if (sscanf(line, "%d %95s", &fd, key) != 2 || fd < 0 || fd >= STDIO_MAX)
			continue;
		snprintf(k->key[fd], sizeof(k->key[fd]), "%s", key);
		o->inherit_fds[o->n_inherit_fds++] = (struct ckpt_inherit_fd){fd, k->key[fd]};
	}
	return 0;
}

/* ---- checkpoint ---- */

static const char *annotation(const struct berth_record *rec, const char *key)
{
	for (size_t i = 0; i < rec->n_annotations; i++)
		if (strcmp(rec->annotations[i].key, key) == 0)
			return rec->annotations[i].value;
	return NULL;
}

/* The address leased to a container on a berth network (its record's berth.network.ip), or NULL. */
static const char *leased_ip(const struct oci_config *cfg, const struct container *c)
{
	const char *ip = annotation(c->rec, NETWORK_IP_ANNOTATION);
	return network_joins_berth(cfg) && annotation(c->rec, NETWORK_ANNOTATION) && ip && *ip ? ip : NULL;
}

/* Keep the network and address of a container on a berth network beside the images (they travel
 * with an archive): restore leases that address again. */
static int network_save(const char *images, const struct oci_config *cfg, const struct container *c,
			struct berth_error *err)
{
	const char *ip = leased_ip(cfg, c);
	char buf[2 * NETWORK_CKPT_MAX + 2];
	if (!ip)
		return 0;
	int n = network_ckpt_format(annotation(c->rec, NETWORK_ANNOTATION), ip, buf, sizeof(buf));
	if (n < 0)
		return berth_error_setf_errno(err, n, "record the container's network address");
	_cleanup_close_ int dfd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dfd < 0 ? -errno : write_file_at(dfd, NETWORK_CKPT_FILE, buf, (size_t)n, true, 0600);
	if (r < 0)
		return berth_error_setf_errno(err, r, "save the network address in '%s'", images);
	return 0;
}

/* The network and address recorded by network_save (buffers of NETWORK_CKPT_MAX bytes); empty
 * strings when there is none (a container without a berth network, an older checkpoint). */
static int network_load(const char *images, char *network, char *ip, struct berth_error *err)
{
	_cleanup_close_ int dfd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	network[0] = ip[0] = '\0';
	int r = dfd < 0 ? -errno : read_file_at(dfd, NETWORK_CKPT_FILE, NETWORK_CKPT_MAX * 2 + 2, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r == 0 && network_ckpt_parse(buf, len, network, ip) < 0)
		r = -EINVAL;
	if (r < 0)
		return berth_error_setf_errno(err, r, "read " NETWORK_CKPT_FILE " in '%s'", images);
	return 0;
}

static int dump_opts(const struct berth_checkpoint_opts *x, const struct oci_config *cfg,
		     const struct container *c, struct ckpt_opts *o, struct stdio_keys *keys,
		     struct berth_error *err)
{
	o->action = x->pre_dump ? CKPT_PRE_DUMP : CKPT_DUMP;
	o->pid = c->rec->pid;
	o->leave_running = x->leave_running;
	o->tcp_established = x->tcp_established;
	o->ext_unix_sk = x->ext_unix_sk;
	o->shell_job = x->shell_job;
	o->file_locks = x->file_locks;
	o->work_dir = x->work_path;
	o->parent_path = x->parent_path;
	if (x->manage_cgroups_mode && checkpoint_cg_mode_parse(x->manage_cgroups_mode, &o->cg_mode) < 0)
		return berth_error_set(err, -EINVAL,
				       "--manage-cgroups-mode: '%s' is not soft, full, strict or ignore",
				       x->manage_cgroups_mode);
	if (x->empty_ns && strcmp(x->empty_ns, "network") != 0)
		return berth_error_set(err, -EINVAL, "--empty-ns: only 'network' is supported, not '%s'",
				       x->empty_ns);
	int r = declare_mounts(cfg, o->pid, false, o, err);
	if (r < 0)
		return r;
	stdio_collect(o->pid, keys, o);
	/* A joined network namespace (or with --empty-ns network, any; or one on a berth network, whose
	 * veth pair and bridge are this host's) is not dumped: CRIU records it as external and restore
	 * gives one back. */
	const struct oci_namespace *net = oci_config_namespace(cfg, OCI_NS_NETWORK);
	if (net && (net->path || x->empty_ns || network_joins_berth(cfg))) {
		static char key[96];
		char path[64];
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)o->pid);
		if (stat(path, &st) < 0)
			return berth_error_setf_errno(err, -errno, "stat '%s'", path);
		snprintf(key, sizeof(key), "net[%lu]:" EXT_NET_KEY, (unsigned long)st.st_ino);
		o->externals[o->n_externals++] = key;
	}
	return 0;
}

/* CRIU refuses a process tree in its own pid namespace whose session leader is outside it,
 * whatever --shell-job says: say so before it runs. */
static int check_session(const struct oci_config *cfg, pid_t pid, struct berth_error *err)
{
	pid_t sid = getsid(pid);
	if (oci_config_namespace(cfg, OCI_NS_PID) && sid > 0 && sid != pid)
		return berth_error_set(
		    err, -ENOTSUP,
		    "the container's init (pid %d) is not a session leader: its session %d is "
		    "outside the container's pid namespace, which CRIU cannot dump (run the "
		    "process under setsid, or with a terminal)",
		    (int)pid, (int)sid);
	return 0;
}

/* A paused container (containerd's shim pauses it before `checkpoint`): ptrace alone cannot stop
 * its frozen tasks and CRIU would wait for them forever, so CRIU seizes them through the freezer
 * of the cgroup (it thaws it for the dump and leaves it frozen again). Its directory, or NULL
 * when the container's cgroup is not frozen. */
static const char *frozen_cgroup_dir(const struct berth_context *ctx, const struct container *c)
{
	static char dir[2 * PATH_MAX];
	char rel[PATH_MAX];
	struct cgroup cg = {0};
	_cleanup_close_ int cg_root = -EBADF;

	if (!c->rec->cgroup_path || container_cgroup(ctx, c->rec, &cg, &cg_root, NULL) < 0)
		return NULL;
	int r = cgroup_frozen_dir(&cg, rel, sizeof(rel));
	cgroup_free(&cg);
	if (r < 0)
		return NULL;
	snprintf(dir, sizeof(dir), "%s/%s", ctx->cgroup_root ? ctx->cgroup_root : BERTH_DEFAULT_CGROUP_ROOT,
		 rel);
	return dir;
}

/* Remove the container after a final dump: its processes are gone (CRIU killed them). */
static void remove_dumped(const struct berth_context *ctx, const char *id)
{
	struct berth_error e = {0};
	(void)berth_container_delete(ctx, id, true, &e);
}

/* checkpoint --export without --export-rootfs: the container's filesystem changes are its overlay
 * upper dir, which a container made by `run --image` has. Anything else needs --export-rootfs:
 * said before CRIU stops the container, as an archive without a filesystem restores nowhere. */
static int export_upper(const struct berth_checkpoint_opts *x, const struct container *c, char **ret_upper,
			char digest[IMAGE_DIGEST_SIZE], char chain[IMAGE_DIGEST_SIZE],
			struct berth_error *err)
{
	int r = image_container_upper(x->id, c->rec->annotations, c->rec->n_annotations, ret_upper, digest,
				      chain, err);
	if (r == -ENOENT || r == -ENOTSUP) {
		char why[sizeof(err->msg)];
		snprintf(why, sizeof(why), "%s", err->msg);
		return berth_error_set(
		    err, -EINVAL,
		    "--export: %s, so its filesystem changes are not an overlay upper dir: "
		    "add --export-rootfs to put its whole rootfs into the archive",
		    why);
	}
	return r;
}

/* Where CRIU works (and logs) when the images go to a directory that is removed afterwards (a
 * private dump for --export, an --import unpacked into a directory removed on failure) and no
 * --work-path was given: a path the error message can name once those are gone. */
static const char *kept_work_dir(const char *id, char *buf, size_t size)
{
	snprintf(buf, size, "/tmp/berth-criu-%s", id);
	return buf;
}

static int do_checkpoint(const struct berth_context *ctx, const struct berth_checkpoint_opts *x,
			 struct container *c, const char *images, struct berth_error *err, bool *ret_dumped)
{
	_cleanup_(config_freep) struct oci_config *cfg = NULL;
	struct ckpt_opts o = {0};
	struct stdio_keys keys = {0};
	enum oci_status st = container_status(ctx, c);
	if (st != OCI_STATUS_RUNNING && st != OCI_STATUS_PAUSED)
		return berth_error_set(err, -EINVAL,
				       "container \"%s\" is not running (it is %s): nothing to checkpoint",
				       x->id, st == OCI_STATUS_CREATED ? "created" : "stopped");
	_cleanup_free_ char *upper = NULL;
	char digest[IMAGE_DIGEST_SIZE] = "", chain[IMAGE_DIGEST_SIZE] = "";
	int r = container_config(c, &cfg, err);
	if (r == 0)
		r = dump_opts(x, cfg, c, &o, &keys, err);
	if (r == 0 && x->export_path && !x->export_rootfs && !x->pre_dump)
		r = export_upper(x, c, &upper, digest, chain, err);
	if (r < 0)
		return r;
	o.images_dir = images;
	char work[PATH_MAX];
	if (!o.work_dir && str_has_prefix(images, ctx->root))
		o.work_dir = kept_work_dir(x->id, work, sizeof(work));
	o.criu_path = ctx->criu_path;
	o.orphan_pts_master = cfg->process.terminal;
	if (st == OCI_STATUS_PAUSED)
		o.freeze_cgroup = frozen_cgroup_dir(ctx, c);
	fault_point("checkpoint.before-dump"); /* the next calls go into CRIU */
	r = checkpoint_check_kernel(ctx->criu_path, o.work_dir ? o.work_dir : images, err);
	if (r == 0)
		r = check_session(cfg, o.pid, err);
	if (r == 0)
		r = checkpoint_dump(&o, err);
	*ret_dumped = r == 0; /* without --leave-running the container is gone from here on */
	if (r == 0)
		r = stdio_save(images, &keys, err);
	if (r == 0 && !x->pre_dump)
		r = network_save(images, cfg, c, err);
	if (r < 0 || !x->export_path || x->pre_dump)
		return r;
	struct ckpt_export ex = {
	    .out_path = x->export_path,
	    .images_dir = images,
	    .rootfs = x->export_rootfs ? c->rec->rootfs : NULL,
	    .upper = upper,
	    .container_id = x->id,
	    .image_ref = annotation(c->rec, IMAGE_ANNOTATION_NAME),
	    .image_digest = upper ? digest : NULL,
	    .image_chain_id = upper ? chain : NULL,
	    .network = annotation(c->rec, "berth.network"),
	};
	_cleanup_free_ char *cfg_json = NULL;
	r = read_file_at(c->dir_fd, CONFIG_FILE, BERTH_CONFIG_MAX, &cfg_json, &ex.config_len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "read the container's config.json");
	/* The address goes into the archive's config.json too: a restore elsewhere asks for it. */
	const char *ip = leased_ip(cfg, c);
	if (ip) {
		const struct oci_kv set[] = {{(char *)NETWORK_IP_ANNOTATION, (char *)ip}};
		char *out = NULL;
		r = oci_ckpt_config_set_annotations(cfg_json, ex.config_len, set, ARRAY_SIZE(set), &out,
						    &ex.config_len, err);
		if (r < 0)
			return berth_error_prefix(err, "record the network address in config.json");
		free(cfg_json);
		cfg_json = out;
	}
	ex.config_json = cfg_json;
	return checkpoint_export(&ex, err);
}

/* Fail before CRIU stops anything when the archive cannot be written where asked. */
static int check_export_target(const char *path, struct berth_error *err)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (access(dir, W_OK) < 0)
		return berth_error_setf_errno(err, -errno, "--export: cannot write into '%s'", dir);
	return 0;
}

int berth_container_checkpoint(const struct berth_context *ctx, const struct berth_checkpoint_opts *x,
			       struct berth_error *err)
{
	struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
	char images[PATH_MAX];
	bool private_images = false;
	int r;

	if (x->export_path && x->pre_dump)
		return berth_error_set(err, -EINVAL,
				       "--export: not with --pre-dump (a pre-dump is not restorable alone)");
	if (x->export_rootfs && !x->export_path)
		return berth_error_set(err, -EINVAL, "--export-rootfs: needs --export FILE");
	r = container_load(ctx, x->id, &c, err);
	if (r < 0)
		return r;
	if (x->image_path) {
		if (!realpath(x->image_path, images) &&
		    snprintf(images, sizeof(images), "%s", x->image_path) >= (int)sizeof(images))
			r = berth_error_set(err, -ENAMETOOLONG, "--image-path: too long");
	} else if (x->export_path) {
		/* A private image directory that goes into the archive and away. */
		snprintf(images, sizeof(images), "%s/%s/criu-images", ctx->root, x->id);
		private_images = true;
	} else {
		snprintf(images, sizeof(images), DEFAULT_IMAGES);
	}
	bool dumped = false;
	if (r == 0 && x->export_path)
		r = check_export_target(x->export_path, err);
	if (r == 0)
		r = do_checkpoint(ctx, x, &c, images, err, &dumped);
	container_release(&c);
	/* A dump whose export failed is the only copy of the container: keep it and say where. */
	if (r < 0 && dumped && private_images)
		berth_error_prefix(err, "the dump is kept in %s (restore it with --image-path)", images);
	else if (private_images)
		(void)rm_rf_at(AT_FDCWD, images);
	if (r < 0)
		return berth_error_prefix(err, "checkpoint \"%s\"", x->id);
	if (private_images && !x->work_path) {
		char work[PATH_MAX];
		(void)rm_rf_at(AT_FDCWD, kept_work_dir(x->id, work, sizeof(work))); /* only for failures */
	}
	if (!x->leave_running && !x->pre_dump)
		remove_dumped(ctx, x->id);
	if (x->status_fd >= 0) {
		(void)write_all(x->status_fd, "", 1);
		close(x->status_fd);
	}
	return 0;
}

/* ---- restore ---- */

struct restore_ctx {
	struct create_plan p;
	struct stdio_keys keys;
	char images[PATH_MAX];
	char imported[PATH_MAX]; /* a bundle made by --import, removed on failure */
	char work[PATH_MAX];     /* CRIU's work dir when --work-path is not given */
	struct oci_ckpt_manifest *manifest;
	int net_fd;
	/* an --import with an upper dir: the store and <storage>/containers/<id> made for it */
	struct image_store *store;
	char store_dir[PATH_MAX];
	int mntns_fd; /* our mount namespace, where the overlay is mounted (rootfs_mountpoint leaves it) */
	/* a berth network: the network and address recorded at the dump (NETWORK_CKPT_FILE) */
	char net_name[NETWORK_CKPT_MAX];
	char net_ip[NETWORK_CKPT_MAX];
};

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
	int r = network_load(rc->images, rc->net_name, rc->net_ip, err);
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
	int r = declare_mounts(cfg, 0, true, o, err);
	if (r < 0)
		return r;
	stdio_restore(rc->images, &rc->keys, o);
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
	/* A joined network namespace is given back by path; any other declared-external one (an
	 * --empty-ns dump) gets a new empty namespace. CRIU ignores the key when the dump has none. */
	const struct oci_namespace *net = oci_config_namespace(cfg, OCI_NS_NETWORK);
	if (net && net->path) {
		rc->net_fd = open(net->path, O_RDONLY | O_CLOEXEC);
		if (rc->net_fd < 0)
			return berth_error_setf_errno(err, -errno, "linux.namespaces: open '%s'", net->path);
		o->inherit_fds[o->n_inherit_fds++] = (struct ckpt_inherit_fd){rc->net_fd, EXT_NET_KEY};
	} else if (rc->p.net.netns_fd >= 0) {
		/* a berth network: the new namespace network_attach_new_netns made */
		o->inherit_fds[o->n_inherit_fds++] =
		    (struct ckpt_inherit_fd){rc->p.net.netns_fd, EXT_NET_KEY};
	}
	return 0;
}

/* ---- restore --import ---- */

/* The imported config.json's berth.image.* annotations name the dumping host's store: point them
 * at this host's (@rootfs/@storage: NULL drops them), so that delete releases the right directory. */
static int rebase_config(int dfd, const char *rootfs, const char *storage, const char *image,
			 struct berth_error *err)
{
	_cleanup_free_ char *json = NULL, *out = NULL;
	size_t len, out_len;
	const struct oci_kv set[] = {
	    {(char *)IMAGE_ANNOTATION_ROOTFS, (char *)rootfs},
	    {(char *)IMAGE_ANNOTATION_STORAGE, (char *)storage},
	    {(char *)IMAGE_ANNOTATION_NAME, (char *)image},
	};
	int r = read_file_at(dfd, CKPT_ARCHIVE_CONFIG, BERTH_CONFIG_MAX, &json, &len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "--import: read " CKPT_ARCHIVE_CONFIG);
	r = oci_ckpt_config_set_annotations(json, len, set, ARRAY_SIZE(set), &out, &out_len, err);
	if (r == 0)
		r = write_file_atomic_at(dfd, CKPT_ARCHIVE_CONFIG, out, out_len, 0644);
	if (r < 0)
		return berth_error_setf_errno(err, r, "--import: rewrite " CKPT_ARCHIVE_CONFIG);
	return 0;
}

/* An archive with the whole rootfs: unpacked into --bundle (default under DEFAULT_IMPORT_ROOT). */
static int import_rootfs(const struct berth_restore_opts *x, struct restore_ctx *rc, struct berth_error *err)
{
	if (!rc->manifest->has_rootfs)
		return berth_error_set(err, -EINVAL,
				       "--import: the archive carries neither a rootfs nor an upper dir "
				       "(checkpoint with --export-rootfs)");
	oci_ckpt_manifest_free(rc->manifest);
	rc->manifest = NULL;
	if (!x->bundle) {
		snprintf(rc->imported, sizeof(rc->imported), DEFAULT_IMPORT_ROOT "/%s", x->id);
		(void)mkdir_p_at(AT_FDCWD, DEFAULT_IMPORT_ROOT, 0700);
	} else {
		snprintf(rc->imported, sizeof(rc->imported), "%s", x->bundle);
	}
	int r = checkpoint_import(x->import_path, rc->imported, &rc->manifest, err);
	if (r < 0) {
		rc->imported[0] = '\0'; /* removed already */
		return r;
	}
	/* Not this host's image store: the copy is a plain bundle now. */
	_cleanup_close_ int dfd = open(rc->imported, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berth_error_setf_errno(err, -errno, "open '%s'", rc->imported);
	return rebase_config(dfd, NULL, NULL, rc->manifest->image, err);
}

/* The imported config.json must keep the rootfs where the store put it. */
static int check_root_path(int dfd, struct berth_error *err)
{
	_cleanup_free_ char *json = NULL;
	_cleanup_(config_freep) struct oci_config *cfg = NULL;
	size_t len;
	int r = read_file_at(dfd, CKPT_ARCHIVE_CONFIG, BERTH_CONFIG_MAX, &json, &len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "--import: read " CKPT_ARCHIVE_CONFIG);
	r = oci_config_parse(json, len, &cfg, err);
	if (r < 0)
		return berth_error_prefix(err, "--import: " CKPT_ARCHIVE_CONFIG);
	if (strcmp(cfg->root_path, "rootfs") != 0)
		return berth_error_set(err, -EINVAL,
				       "--import: " CKPT_ARCHIVE_CONFIG ": root.path is '%s', not the image "
				       "container's 'rootfs'",
				       cfg->root_path);
	return 0;
}

/* An archive with an upper dir (a `run --image` container): the image must be in this host's
 * store; <storage>/containers/<id>/ is made as `run --image` makes it, the archive unpacked into
 * it (upper/ onto its upper dir), and the overlay mounted. */
static int import_upper(const struct berth_restore_opts *x, struct restore_ctx *rc, struct berth_error *err)
{
	const char *storage = x->storage ? x->storage : IMAGE_DEFAULT_STORAGE;
	struct oci_ckpt_manifest *m = rc->manifest, *got = NULL;
	_cleanup_free_ char *dir = NULL, *rootfs = NULL;
	_cleanup_close_ int dfd = -EBADF;

	if (x->bundle)
		return berth_error_set(
		    err, -EINVAL,
		    "--bundle: the archive holds an image-based container, which is restored "
		    "into the image store (--storage), not into a bundle directory");
	int r = image_store_open(storage, false, &rc->store, err);
	if (r == -ENOENT)
		return berth_error_set(
		    err, -ENOENT,
		    "image \"%s\" (%s) is not in the image store \"%s\" (there is no store): "
		    "import it there first (berth --storage %s image import FILE)",
		    m->image, m->image_digest, storage, storage);
	if (r == 0)
		r = image_container_create_for_import(rc->store, m->image, m->image_digest, m->image_chain_id,
						      x->id, &dir, err);
	if (r < 0)
		return r;
	snprintf(rc->store_dir, sizeof(rc->store_dir), "%s", dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return berth_error_setf_errno(err, -errno, "open '%s'", dir);
	r = checkpoint_import_into(x->import_path, dfd, &got, err);
	if (r == 0 && strcmp(got->image_digest, m->image_digest) != 0)
		r = berth_error_set(err, -EINVAL, "--import: the archive names two different images");
	oci_ckpt_manifest_free(got);
	if (r == 0 && asprintf(&rootfs, "%s/rootfs", dir) < 0)
		r = berth_error_set(err, -ENOMEM, "out of memory");
	if (r == 0)
		r = rebase_config(dfd, rootfs, storage, m->image, err);
	if (r == 0)
		r = check_root_path(dfd, err);
	if (r < 0)
		return r;
	rc->mntns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (rc->mntns_fd < 0)
		return berth_error_setf_errno(err, -errno, "open /proc/self/ns/mnt");
	return image_container_mount(rc->store, x->id, err);
}

/* A failed --import with an upper dir: unmount and remove the store directory, from the mount
 * namespace the overlay is mounted in. */
static void import_unwind(struct restore_ctx *rc, const char *id)
{
	struct berth_error e = {0};
	if (!rc->store_dir[0])
		return;
	if (rc->mntns_fd >= 0 && setns(rc->mntns_fd, CLONE_NEWNS) < 0)
		log_warn("restore: cannot go back to the mount namespace of '%s': %m", rc->store_dir);
	if (image_container_remove(rc->store, id, &e) < 0)
		log_warn("restore: %s", e.msg);
	rc->store_dir[0] = '\0';
}

/* Before unpacking an archive of a container on a berth network: the network must be defined here. */
static int import_network_check(const struct berth_context *ctx, const char *network, struct berth_error *err)
{
	_cleanup_close_ int root_fd = -EBADF;
	int r = state_root_open(ctx->root, false, &root_fd, err);
	if (r < 0 && r != -ENOENT)
		return r;
	berth_error_clear(err);
	return network_check_exists(root_fd, network, err);
}

static int restore_phases(const struct berth_context *ctx, const struct berth_restore_opts *x,
			  struct restore_ctx *rc, struct berth_error *err)
{
	const char *bundle = x->bundle;
	int r;

	if (x->work_path)
		snprintf(rc->work, sizeof(rc->work), "%s", x->work_path);
	else if (x->import_path)
		(void)kept_work_dir(x->id, rc->work, sizeof(rc->work));
	if (x->import_path) {
		r = checkpoint_archive_manifest(x->import_path, &rc->manifest, err);
		if (r == 0 && rc->manifest->network)
			r = import_network_check(ctx, rc->manifest->network, err);
		if (r == 0)
			r = rc->manifest->has_upper ? import_upper(x, rc, err) : import_rootfs(x, rc, err);
		if (r < 0)
			return r;
		bundle = rc->store_dir[0] ? rc->store_dir : rc->imported;
		if (snprintf(rc->images, sizeof(rc->images), "%s/" CKPT_ARCHIVE_IMAGES, bundle) >=
		    (int)sizeof(rc->images))
			return berth_error_set(err, -ENAMETOOLONG, "--bundle: path too long");
	} else if (!realpath(x->image_path ? x->image_path : DEFAULT_IMAGES, rc->images)) {
		return berth_error_setf_errno(err, -errno, "--image-path '%s'",
					      x->image_path ? x->image_path : DEFAULT_IMAGES);
	}
	struct stat st;
	char inv[PATH_MAX + 32];
	snprintf(inv, sizeof(inv), "%s/inventory.img", rc->images);
	if (stat(inv, &st) < 0)
		return berth_error_set(
		    err, -ENOENT, "--image-path '%s' holds no checkpoint (no inventory.img)", rc->images);
	r = load_bundle(&rc->p, bundle, err);
	if (r == 0)
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
	struct restore_ctx rc = {.net_fd = -EBADF, .mntns_fd = -EBADF};
	struct create_plan *p = &rc.p;
	network_plan_init(&p->net);
	p->root_fd = p->dir_fd = p->cg_root_fd = p->cg_fd = p->console_fd = p->sync_fd = -EBADF;
	p->cg_lock_fd = -EBADF;
	for (int t = 0; t < OCI_NS_MAX; t++)
		p->ns_fds[t] = -EBADF;

	int r = container_id_validate(x->id, err);
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
		import_unwind(&rc, x->id);
	}
	pid_t pid = p->pid;
	create_plan_free(p);
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
