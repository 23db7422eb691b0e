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
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "berth/util.h"
#include "internal.h"
#include "rootless.h"

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
static int apply_layers_as(struct image_store *s, const struct loaded *l, int rootfs_fd, bool in_userns,
			   struct berth_error *err)
{
	for (size_t i = 0; i < l->manifest->n_layers; i++) {
		const struct oci_descriptor *d = &l->manifest->layers[i];
		struct image_unpack_opts uo = {
		    .mode = IMAGE_UNPACK_APPLY,
		    .no_chown = geteuid() != 0,
		    .skip_devices = in_userns,
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

static int apply_layers(struct image_store *s, const struct loaded *l, int rootfs_fd, struct berth_error *err)
{
	return apply_layers_as(s, l, rootfs_fd, false, err);
}

struct userns_apply {
	struct image_store *s;
	const struct loaded *l;
	int rootfs_fd;
};

static int userns_apply(void *arg, struct berth_error *err)
{
	struct userns_apply *a = arg;
	return apply_layers_as(a->s, a->l, a->rootfs_fd, true, err);
}

/* Rootless (rootless.h): the layers are copied as root of a user namespace mapping the user's
 * subordinate ids, so each file keeps its owner through the map; no overlay, which the runtime,
 * unprivileged in the host's mount namespace, could not mount there. */
static int apply_layers_rootless(struct image_store *s, const struct loaded *l, int rootfs_fd,
				 const struct image_idmap *map, struct berth_error *err)
{
	struct userns_apply a = {s, l, rootfs_fd};
	return image_userns_run(map, userns_apply, &a, err);
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
			const char *hostname, const struct image_idmap *map, struct berth_error *err)
{
	struct oci_image_run_opts ro = opts ? opts->run : (struct oci_image_run_opts){0};
	struct oci_id_mapping map_uids[2], map_gids[2];

	if (map) {
		image_idmap_to_oci(map, map_uids, map_gids);
		ro.uid_mappings = map_uids;
		ro.gid_mappings = map_gids;
		ro.n_uid_mappings = ro.n_gid_mappings = 2;
	}
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
		r = write_config(&l, dir_fd, rootfs_fd, opts, NULL, 0, "berth", NULL, err);
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

static int make_rootfs_rootless(struct image_store *s, const struct loaded *l, const char *dir, int dir_fd,
				const struct image_idmap *map, struct berth_error *err)
{
	_cleanup_close_ int rootfs_fd =
	    openat(dir_fd, ROOTFS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (rootfs_fd < 0)
		return berth_error_setf_errno(err, -errno, "open %s/" ROOTFS_DIR, dir);
	return apply_layers_rootless(s, l, rootfs_fd, map, err);
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
	struct image_idmap map;
	bool made = false, rootless = geteuid() != 0;
	int r;

	r = container_id_validate(id, err);
	if (r == 0 && rootless)
		r = image_idmap_lookup(&map, err);
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
	if (r == 0 && rootless)
		r = image_idmap_save(dir_fd, &map, err);
	if (r == 0 && rootless)
		r = make_rootfs_rootless(s, &l, dir, dir_fd, &map, err);
	else if (r == 0)
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
				 rootless ? &map : NULL, err);
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

/* ---- migration: the upper dir of an image-based container ---- */

static const char *find_annotation(const struct oci_kv *kv, size_t n, const char *key)
{
	for (size_t i = n; i-- > 0;)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}

/* The manifest digest recorded in <dir>/image. */
static int read_marker(int dir_fd, const char *dir, char digest[IMAGE_DIGEST_SIZE], struct berth_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_file_at(dir_fd, CONTAINER_IMAGE_FILE, IMAGE_DIGEST_SIZE + 8, &buf, &len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "read %s/" CONTAINER_IMAGE_FILE, dir);
	buf[strcspn(buf, "\n")] = '\0';
	if (strncmp(buf, "sha256:", 7) != 0 || strlen(buf) >= IMAGE_DIGEST_SIZE)
		return berth_error_set(err, -EINVAL, "%s/" CONTAINER_IMAGE_FILE ": not an image digest", dir);
	snprintf(digest, IMAGE_DIGEST_SIZE, "%s", buf);
	return 0;
}

/* The chain id of the image's top layer: what its root filesystem is, whatever its config says
 * ("" for an image without layers). */
static int top_chain_id(const struct loaded *l, char out[IMAGE_DIGEST_SIZE], struct berth_error *err)
{
	char(*chain)[IMAGE_DIGEST_SIZE] = NULL;
	size_t n = l->config->n_diff_ids;
	int r;

	out[0] = '\0';
	if (!n)
		return 0;
	r = image_chain_ids(l->config, &chain, err);
	if (r < 0)
		return r;
	snprintf(out, IMAGE_DIGEST_SIZE, "%s", chain[n - 1]);
	free(chain);
	return 0;
}

static int chain_of(const char *storage, const char *digest, char out[IMAGE_DIGEST_SIZE],
		    struct berth_error *err)
{
	struct image_store *s = NULL;
	struct loaded l = {0};
	int r = image_store_open(storage, false, &s, err);
	if (r < 0)
		return r;
	r = store_lock(s, LOCK_SH, err);
	if (r == 0) {
		r = load(s, digest, &l, err);
		if (r == 0)
			r = top_chain_id(&l, out, err);
		loaded_free(&l);
		store_lock(s, LOCK_UN, NULL);
	}
	image_store_close(s);
	return r;
}

int image_container_upper(const char *id, const struct oci_kv *annotations, size_t n_annotations,
			  char **ret_upper, char ret_digest[IMAGE_DIGEST_SIZE],
			  char ret_chain_id[IMAGE_DIGEST_SIZE], struct berth_error *err)
{
	const char *rootfs = find_annotation(annotations, n_annotations, IMAGE_ANNOTATION_ROOTFS);
	const char *storage = find_annotation(annotations, n_annotations, IMAGE_ANNOTATION_STORAGE);
	_cleanup_free_ char *dir = NULL, *expect = NULL, *upper = NULL;
	_cleanup_close_ int dir_fd = -EBADF;
	struct statfs sf;
	int r;

	if (!rootfs || !storage || storage[0] != '/' || container_id_validate(id, NULL) < 0)
		return berth_error_set(err, -ENOENT,
				       "container \"%s\" was not made from an image (run --image)", id);
	if (asprintf(&dir, "%s/" STORE_CONTAINERS_DIR "/%s", storage, id) < 0 ||
	    asprintf(&expect, "%s/" ROOTFS_DIR, dir) < 0 || asprintf(&upper, "%s/upper", dir) < 0)
		return berth_error_set(err, -ENOMEM, "out of memory");
	if (strcmp(expect, rootfs) != 0)
		return berth_error_set(
		    err, -ENOENT,
		    "container \"%s\": its berth.image annotations do not name its image rootfs", id);
	if (statfs(rootfs, &sf) < 0)
		return berth_error_setf_errno(err, -errno, "statfs %s", rootfs);
	if (sf.f_type != OVERLAYFS_SUPER_MAGIC)
		return berth_error_set(
		    err, -ENOTSUP, "container \"%s\": its rootfs is a copy of the image, not an overlay", id);
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir_fd < 0)
		return berth_error_setf_errno(err, -errno, "open %s", dir);
	r = read_marker(dir_fd, dir, ret_digest, err);
	if (r == 0)
		r = chain_of(storage, ret_digest, ret_chain_id, err);
	if (r < 0)
		return berth_error_prefix(err, "container \"%s\": its image", id);
	*ret_upper = TAKE_PTR(upper);
	return 0;
}

/* The store lacks the image an archive needs: say which and how to get it. */
static int missing_image(struct image_store *s, const char *ref, const char *digest, struct berth_error *err)
{
	struct loaded other = {0};
	struct berth_error ignored = {0};
	char have[IMAGE_DIGEST_SIZE + 64] = "";

	if (ref && load(s, ref, &other, &ignored) == 0)
		snprintf(have, sizeof(have), " (its \"%s\" is %s, with other layers)", ref,
			 other.desc->digest);
	loaded_free(&other);
	return berth_error_set(
	    err, -ENOENT,
	    "image \"%s\" (%s, or the same layers) is not in the image store \"%s\"%s: "
	    "import it there first "
	    "(berth --storage %s image import FILE, with FILE from `berth image export %s FILE` "
	    "on the checkpointing host)",
	    ref ? ref : "?", digest, s->path, have, s->path, ref ? ref : digest);
}

/* The image an archive needs: by its manifest digest, else the image named @ref when its layers
 * are the same (@chain_id: the same rootfs imported separately gets another config, so another
 * digest). */
static int load_for_import(struct image_store *s, const char *ref, const char *digest, const char *chain_id,
			   struct loaded *l, struct berth_error *err)
{
	char have[IMAGE_DIGEST_SIZE];
	int r = load(s, digest, l, err);

	if (r != -ENOENT || !ref || !chain_id || !chain_id[0])
		return r == -ENOENT ? missing_image(s, ref, digest, err) : r;
	loaded_free(l);
	berth_error_clear(err);
	r = load(s, ref, l, err);
	if (r == 0)
		r = top_chain_id(l, have, err);
	if (r == 0 && strcmp(have, chain_id) == 0) {
		log_info("image \"%s\": digest %s instead of the checkpoint's %s, with the same layers (%s)",
			 ref, l->desc->digest, digest, chain_id);
		return 0;
	}
	loaded_free(l);
	return missing_image(s, ref, digest, err);
}

int image_container_create_for_import(struct image_store *s, const char *ref, const char *digest,
				      const char *chain_id, const char *id, char **ret_dir,
				      struct berth_error *err)
{
	_cleanup_close_ int dir_fd = -EBADF;
	_cleanup_free_ char *dir = NULL;
	struct loaded l = {0};
	int r;

	r = container_id_validate(id, err);
	if (r < 0)
		return r;
	if (!digest || strncmp(digest, "sha256:", 7) != 0)
		return berth_error_set(err, -EINVAL, "image digest \"%s\" is not a sha256 digest",
				       digest ? digest : "");
	if (asprintf(&dir, "%s/" STORE_CONTAINERS_DIR "/%s", s->path, id) < 0)
		return berth_error_set(err, -ENOMEM, "out of memory");
	r = store_lock(s, LOCK_SH, err);
	if (r < 0)
		return r;
	r = load_for_import(s, ref, digest, chain_id, &l, err);
	if (r == 0)
		r = make_container_dir(s, id, l.desc->digest, &dir_fd, err);
	loaded_free(&l);
	store_lock(s, LOCK_UN, NULL);
	if (r < 0)
		return r;
	*ret_dir = TAKE_PTR(dir);
	return 0;
}

int image_container_mount(struct image_store *s, const char *id, struct berth_error *err)
{
	_cleanup_close_ int dir_fd = -EBADF;
	_cleanup_free_ char *dir = NULL;
	char digest[IMAGE_DIGEST_SIZE];
	struct loaded l = {0};
	int r;

	r = container_id_validate(id, err);
	if (r < 0)
		return r;
	if (asprintf(&dir, "%s/" STORE_CONTAINERS_DIR "/%s", s->path, id) < 0)
		return berth_error_set(err, -ENOMEM, "out of memory");
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir_fd < 0)
		return berth_error_setf_errno(err, -errno, "open %s", dir);
	r = read_marker(dir_fd, dir, digest, err);
	if (r < 0)
		return r;
	r = store_lock(s, LOCK_SH, err);
	if (r < 0)
		return r;
	r = load(s, digest, &l, err);
	if (r == 0) {
		r = mount_rootfs(s, &l, dir, err);
		if (r == -ENODEV || r == -EOPNOTSUPP)
			berth_error_prefix(
			    err, "overlayfs is needed to put the container's upper dir onto its image");
	}
	loaded_free(&l);
	store_lock(s, LOCK_UN, NULL);
	return r;
}
