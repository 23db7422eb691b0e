/* Removing a container's directory from the store: the one part of the images module that
 * `delete` needs, kept apart from unpacking so the runtime's binary does not pull in libarchive. */
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
#include "rootless.h"

#define ROOTFS_DIR "rootfs"

struct userns_rm {
	int cfd;
	const char *id;
};

static int userns_rm(void *arg, struct berth_error *err)
{
	struct userns_rm *a = arg;
	int r = rm_rf_at(a->cfd, a->id);
	return r < 0 ? berth_error_setf_errno(err, r, "remove the container's files") : 0;
}

/* A rootless container's files belong to the user's subordinate ids (rootless.h): removed as root
 * of a user namespace with the map recorded beside them. */
static int remove_dir(int cfd, const char *id, struct berth_error *err)
{
	_cleanup_close_ int fd = openat(cfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct image_idmap map;
	struct userns_rm a = {cfd, id};

	if (geteuid() == 0 || fd < 0 || image_idmap_load(fd, &map) <= 0)
		return rm_rf_at(cfd, id);
	return image_userns_run(&map, userns_rm, &a, err);
}

int image_container_dir_remove(struct image_store *s, const char *id, struct berth_error *err)
{
	_cleanup_close_ int cfd = openat(s->fd, STORE_CONTAINERS_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char marker[PATH_MAX], target[PATH_MAX];
	int r;

	if (cfd < 0)
		return errno == ENOENT ? 0
				       : berth_error_setf_errno(err, -errno, "open %s/containers", s->path);
	if (faccessat(cfd, id, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	snprintf(marker, sizeof(marker), "%s/" CONTAINER_IMAGE_FILE, id);
	if (faccessat(cfd, marker, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return berth_error_set(err, -EPERM, "%s/containers/%s was not made by berth: not removing it",
				       s->path, id);
	snprintf(target, sizeof(target), "%s/" STORE_CONTAINERS_DIR "/%s/" ROOTFS_DIR, s->path, id);
	if (umount2(target, UMOUNT_NOFOLLOW) < 0 && errno == EBUSY)
		(void)umount2(target, UMOUNT_NOFOLLOW | MNT_DETACH);
	r = remove_dir(cfd, id, err);
	if (r < 0 && err && err->code)
		return r;
	if (r < 0)
		return berth_error_setf_errno(err, r, "remove %s/containers/%s", s->path, id);
	return 0;
}

int image_container_remove(struct image_store *s, const char *id, struct berth_error *err)
{
	int r;

	if (container_id_validate(id, NULL) < 0)
		return berth_error_set(err, -EINVAL, "invalid container id \"%s\"", id);
	r = store_lock(s, LOCK_SH, err);
	if (r < 0)
		return r;
	r = image_container_dir_remove(s, id, err);
	store_lock(s, LOCK_UN, NULL);
	return r;
}

static const char *annotation(const struct oci_kv *kv, size_t n, const char *key)
{
	for (size_t i = n; i-- > 0;) {
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	}
	return NULL;
}

int image_container_release(const char *id, const struct oci_kv *annotations, size_t n_annotations,
			    struct berth_error *err)
{
	const char *rootfs = annotation(annotations, n_annotations, IMAGE_ANNOTATION_ROOTFS);
	const char *storage = annotation(annotations, n_annotations, IMAGE_ANNOTATION_STORAGE);
	_cleanup_free_ char *expect = NULL;
	struct image_store *s = NULL;
	int r;

	if (!rootfs && !storage)
		return 0;
	/* The annotations come from a config.json anyone can write: act only on exactly the
	 * directory `run --image` makes for this id. */
	if (!rootfs || !storage || storage[0] != '/' || container_id_validate(id, NULL) < 0 ||
	    asprintf(&expect, "%s/" STORE_CONTAINERS_DIR "/%s/" ROOTFS_DIR, storage, id) < 0 ||
	    strcmp(expect, rootfs) != 0) {
		log_warn(
		    "container \"%s\": ignoring berth.image annotations that do not name its image rootfs",
		    id);
		return 0;
	}
	r = image_store_open(storage, false, &s, err);
	if (r == -ENOENT) {
		berth_error_clear(err);
		return 0;
	}
	if (r == 0)
		r = image_container_remove(s, id, err);
	image_store_close(s);
	return r;
}
