/* From an image to something the runtime can run: a bundle directory (`image unpack`) or a
 * container's own directory in the store (`run --image`): rootfs as an overlay of the cached
 * layers, or a full copy where overlayfs is unavailable, and a generated config.json. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "berth/util.h"
#include "internal.h"

#define ROOTFS_DIR "rootfs"
#define CONFIG_JSON "config.json"

/* The image an operation works on, loaded under the store lock. */
struct loaded {
	struct oci_descriptor *desc; /* borrowed from the index */
	struct oci_image_index *index;
	struct oci_image_manifest *manifest;
	struct oci_image_config *config;
	const char *name;
};

static void loaded_free(struct loaded *l)
{
	oci_image_manifest_free(l->manifest);
	oci_image_config_free(l->config);
	oci_image_index_free(l->index);
	memset(l, 0, sizeof(*l));
}

static int load(struct image_store *s, const char *ref, struct loaded *l, struct berth_error *err)
{
	size_t pos;
	int r;

	r = store_read_index(s, &l->index, err);
	if (r == 0)
		r = store_resolve(s, l->index, ref, &pos, err);
	if (r < 0)
		return r;
	l->desc = &l->index->manifests[pos];
	l->name = store_desc_name(l->desc);
	r = store_load_image(s->fd, l->desc, &l->manifest, &l->config, err);
	return r < 0 ? berth_error_prefix(err, "image \"%s\"", ref) : 0;
}

/* ---- the full copy ---- */

/* Apply every layer, base first, onto @rootfs_fd: a plain directory tree. */
static int apply_layers(struct image_store *s, const struct loaded *l, int rootfs_fd, struct berth_error *err)
{
	for (size_t i = 0; i < l->manifest->n_layers; i++) {
		const struct oci_descriptor *d = &l->manifest->layers[i];
		struct image_unpack_opts uo = {
		    .mode = IMAGE_UNPACK_APPLY,
		    .no_chown = geteuid() != 0,
		    /* The store verified the blob's digest and diff_id when it was imported. */
		    .expect_size = d->size,
		};
		_cleanup_close_ int blob = blob_open(s->fd, d->digest);
		int r;

		if (blob < 0)
			return berth_error_setf_errno(err, blob, "layer %zu: open blob %s", i, d->digest);
		r = image_layer_unpack(rootfs_fd, blob, &uo, NULL, err);
		if (r < 0)
			return berth_error_prefix(err, "layer %zu (%s)", i, d->digest);
	}
	return 0;
}

/* ---- overlay ---- */

/* nodev, as containers/storage mounts it: a device node an image carries is not a way to the
 * host's devices, whatever the device cgroup says.
 * The new mount API takes one lower layer per call ("lowerdir+", Linux 6.8), so the number of
 * layers is not bounded by the size of one option string. */
static int mount_overlay_fsconfig(char **lowers, size_t n, const char *upper, const char *work,
				  const char *target)
{
	_cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC), mnt = -EBADF;

	if (fs < 0)
		return -errno;
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", "berth", 0) < 0)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0) < 0)
			return -errno;
	}
	if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return -errno;
	if (move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

static int mount_overlay_legacy(char **lowers, size_t n, const char *upper, const char *work,
				const char *target)
{
	_cleanup_free_ char *opts = NULL;
	size_t len = 64 + strlen(upper) + strlen(work);
	char *p;

	for (size_t i = 0; i < n; i++) {
		if (strpbrk(lowers[i], ":,"))
			return -EINVAL;
		len += strlen(lowers[i]) + 1;
	}
	if (len > (size_t)sysconf(_SC_PAGESIZE) - 1)
		return -E2BIG;
	opts = malloc(len);
	if (!opts)
		return -ENOMEM;
	p = opts + sprintf(opts, "lowerdir=");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? ":" : "", lowers[i]);
	sprintf(p, ",upperdir=%s,workdir=%s", upper, work);
	return mount("berth", target, "overlay", MS_NODEV, opts) < 0 ? -errno : 0;
}

static int mount_rootfs(struct image_store *s, const struct loaded *l, const char *dir,
			struct berth_error *err)
{
	char(*chain)[IMAGE_DIGEST_SIZE] = NULL;
	size_t n = l->config->n_diff_ids;
	_cleanup_free_ char **lowers = calloc(n + 1, sizeof(char *));
	char upper[PATH_MAX], work[PATH_MAX], target[PATH_MAX];
	int r;

	if (!lowers)
		return berth_error_set(err, -ENOMEM, "out of memory");
	r = image_chain_ids(l->config, &chain, err);
	if (r < 0)
		return r;
	for (size_t k = 0; k < n && r == 0; k++) {
		/* topmost first */
		if (asprintf(&lowers[k], "%s/" STORE_LAYERS_DIR "/%s", s->path, chain[n - 1 - k] + 7) < 0) {
			lowers[k] = NULL;
			r = berth_error_set(err, -ENOMEM, "out of memory");
		}
	}
	free(chain);
	snprintf(upper, sizeof(upper), "%s/upper", dir);
	snprintf(work, sizeof(work), "%s/work", dir);
	snprintf(target, sizeof(target), "%s/" ROOTFS_DIR, dir);
	if (r == 0) {
		r = mount_overlay_fsconfig(lowers, n, upper, work, target);
		if (r == -EINVAL || r == -ENOSYS)
			r = mount_overlay_legacy(lowers, n, upper, work, target);
		if (r < 0)
			berth_error_setf_errno(err, r, "mount the overlay root filesystem on %s", target);
	}
	for (size_t k = 0; k < n; k++)
		free(lowers[k]);
	return r;
}

/* ---- config.json ---- */

/* Write config.json into @dir_fd from the image config, the user resolved in @rootfs_fd, and
 * @opts, with @extra annotations. */
static int write_config(const struct loaded *l, int dir_fd, int rootfs_fd,
			const struct image_bundle_opts *opts, const struct oci_kv *extra, size_t n_extra,
			const char *hostname, struct berth_error *err)
{
	struct oci_image_run_opts ro = opts ? opts->run : (struct oci_image_run_opts){0};
	_cleanup_free_ struct oci_kv *ann = calloc(ro.n_annotations + n_extra + 1, sizeof(*ann));
	_cleanup_free_ uint32_t *gids = NULL;
	_cleanup_free_ char *json = NULL;
	const char *user = opts && opts->user ? opts->user : l->config->user;
	size_t n_gids = 0, len;
	int r;

	if (!ann)
		return berth_error_set(err, -ENOMEM, "out of memory");
	r = image_user_resolve(rootfs_fd, user, &ro.uid, &ro.gid, &gids, &n_gids, err);
	if (r < 0)
		return r;
	ro.additional_gids = gids;
	ro.n_additional_gids = n_gids;
	ro.root_path = ROOTFS_DIR;
	if (!ro.hostname)
		ro.hostname = hostname;
	for (size_t i = 0; i < ro.n_annotations; i++)
		ann[i] = ro.annotations[i];
	for (size_t i = 0; i < n_extra; i++)
		ann[ro.n_annotations + i] = extra[i];
	ro.annotations = ann;
	ro.n_annotations += n_extra;
	r = oci_image_runtime_config(l->config, &ro, &json, &len, err);
	if (r < 0)
		return r;
	r = write_file_atomic_at(dir_fd, CONFIG_JSON, json, len, 0644);
	if (r < 0)
		return berth_error_setf_errno(err, r, "write config.json");
	return 0;
}

/* ---- `image unpack` ---- */

static int empty_dir(const char *dir, bool *ret_created, struct berth_error *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (mkdir(dir, 0755) == 0) {
		*ret_created = true;
		return 0;
	}
	if (errno != EEXIST)
		return berth_error_setf_errno(err, -errno, "create bundle directory \"%s\"", dir);
	d = opendir(dir);
	if (!d)
		return berth_error_setf_errno(err, -errno, "open bundle directory \"%s\"", dir);
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			return berth_error_set(err, -EEXIST, "bundle directory \"%s\" is not empty", dir);
	}
	return 0;
}

int image_bundle_create(struct image_store *s, const char *ref, const char *dir,
			const struct image_bundle_opts *opts, struct berth_error *err)
{
	_cleanup_close_ int dir_fd = -EBADF, rootfs_fd = -EBADF;
	struct loaded l = {0};
	bool created = false;
	int r;

	r = store_lock(s, LOCK_SH, err);
	if (r < 0)
		return r;
	r = load(s, ref, &l, err);
	if (r == 0)
		r = empty_dir(dir, &created, err);
	if (r < 0)
		goto out;
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir_fd < 0 || mkdirat(dir_fd, ROOTFS_DIR, 0755) < 0 ||
	    (rootfs_fd = openat(dir_fd, ROOTFS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = berth_error_setf_errno(err, -errno, "create %s/" ROOTFS_DIR, dir);
		goto undo;
	}
	r = apply_layers(s, &l, rootfs_fd, err);
	if (r == 0)
		r = write_config(&l, dir_fd, rootfs_fd, opts, NULL, 0, "berth", err);
undo:
	if (r < 0 && dir_fd >= 0) {
		(void)rm_rf_at(dir_fd, ROOTFS_DIR);
		unlinkat(dir_fd, CONFIG_JSON, 0);
	}
	if (r < 0 && created)
		(void)rmdir(dir);
out:
	loaded_free(&l);
	store_lock(s, LOCK_UN, NULL);
	return r;
}

/* ---- containers ---- */

/* Unmount <id>/rootfs (if mounted) and remove <id> below containers/, which must carry the
 * "image" marker berth writes first. */
static int make_container_dir(struct image_store *s, const char *id, const char *digest, int *ret_fd,
			      struct berth_error *err)
{
	_cleanup_close_ int cfd = openat(s->fd, STORE_CONTAINERS_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC),
			    fd = -EBADF;
	char buf[IMAGE_DIGEST_SIZE + 1];
	int r;

	if (cfd < 0)
		return berth_error_setf_errno(err, -errno, "open %s/containers", s->path);
	if (mkdirat(cfd, id, 0700) < 0) {
		if (errno == EEXIST)
			return berth_error_set(err, -EEXIST,
					       "container \"%s\" already exists in image store \"%s\"", id,
					       s->path);
		return berth_error_setf_errno(err, -errno, "create %s/containers/%s", s->path, id);
	}
	fd = openat(cfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	snprintf(buf, sizeof(buf), "%s\n", digest);
	r = fd < 0 ? -errno : write_file_at(fd, CONTAINER_IMAGE_FILE, buf, strlen(buf), true, 0644);
	if (r == 0 && (mkdirat(fd, ROOTFS_DIR, 0755) < 0 || mkdirat(fd, "upper", 0755) < 0 ||
		       mkdirat(fd, "work", 0700) < 0))
		r = -errno;
	if (r < 0) {
		(void)rm_rf_at(cfd, id);
		return berth_error_setf_errno(err, r, "create %s/containers/%s", s->path, id);
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* rootfs/ of a fresh container dir: the overlay, or a copy when overlayfs cannot be used. */
static int make_rootfs(struct image_store *s, const struct loaded *l, const char *dir, int dir_fd, bool copy,
		       struct berth_error *err)
{
	_cleanup_close_ int rootfs_fd = -EBADF;
	int r = -ENODEV;

	if (!copy) {
		r = mount_rootfs(s, l, dir, err);
		if (r == 0 || (r != -ENODEV && r != -EOPNOTSUPP && r != -EINVAL))
			return r;
		log_warn("overlayfs is not available (%s): copying the image's layers instead", strerror(-r));
		berth_error_clear(err);
	}
	rootfs_fd = openat(dir_fd, ROOTFS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfs_fd < 0)
		return berth_error_setf_errno(err, -errno, "open %s/" ROOTFS_DIR, dir);
	return apply_layers(s, l, rootfs_fd, err);
}

static const char *short_hostname(const char *id)
{
	return strlen(id) <= 63 ? id : "berth";
}

int image_container_prepare(struct image_store *s, const char *ref, const char *id,
			    const struct image_bundle_opts *opts, char **ret_bundle, struct berth_error *err)
{
	_cleanup_close_ int dir_fd = -EBADF, rootfs_fd = -EBADF;
	_cleanup_free_ char *dir = NULL, *rootfs = NULL;
	struct loaded l = {0};
	bool made = false;
	int r;

	r = container_id_validate(id, err);
	if (r < 0)
		return r;
	if (asprintf(&dir, "%s/" STORE_CONTAINERS_DIR "/%s", s->path, id) < 0 ||
	    asprintf(&rootfs, "%s/" ROOTFS_DIR, dir) < 0)
		return berth_error_set(err, -ENOMEM, "out of memory");
	/* Shared: image rm and garbage collection wait until the container records its image. */
	r = store_lock(s, LOCK_SH, err);
	if (r < 0)
		return r;
	r = load(s, ref, &l, err);
	if (r == 0)
		r = make_container_dir(s, id, l.desc->digest, &dir_fd, err);
	made = r == 0;
	if (r == 0)
		r = make_rootfs(s, &l, dir, dir_fd, opts && opts->copy, err);
	if (r == 0) {
		rootfs_fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (rootfs_fd < 0)
			r = berth_error_setf_errno(err, -errno, "open %s", rootfs);
	}
	if (r == 0) {
		const struct oci_kv extra[] = {
		    {(char *)IMAGE_ANNOTATION_ROOTFS, rootfs},
		    {(char *)IMAGE_ANNOTATION_STORAGE, s->path},
		    {(char *)IMAGE_ANNOTATION_NAME, (char *)(l.name ? l.name : l.desc->digest)},
		};
		r = write_config(&l, dir_fd, rootfs_fd, opts, extra, ARRAY_SIZE(extra), short_hostname(id),
				 err);
	}
	if (r < 0 && made) {
		struct berth_error ignored = {0};
		if (image_container_dir_remove(s, id, &ignored) < 0)
			log_warn("%s", ignored.msg);
	}
	loaded_free(&l);
	store_lock(s, LOCK_UN, NULL);
	if (r < 0)
		return r;
	*ret_bundle = TAKE_PTR(dir);
	return 0;
}
