/* images-internal: rootless image containers (rootless.c, rootless_ids.c). A non-root user's
 * `run --image` copies the layers into the container's directory inside a user namespace that
 * maps uid/gid 0 to the user and 1..N to the user's subordinate range, so an image file owned by
 * uid U lands on disk as (U == 0 ? the user : subuid_start + U - 1), as podman's rootless storage
 * keeps it; the container's config maps the same way. The map is recorded beside the container
 * (CONTAINER_IDMAP_FILE) so that `delete`, in the static berth, can remove what it owns without
 * the passwd database. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct berth_error;
struct oci_id_mapping;

#define CONTAINER_IDMAP_FILE "idmap"

struct image_idmap {
	uint32_t uid, gid;             /* the user's own ids: container root */
	uint32_t uid_start, uid_count; /* subordinate uids: container ids 1..uid_count */
	uint32_t gid_start, gid_count;
};

/* The caller's map from /etc/subuid and /etc/subgid (rootless_ids.c, needs getpwuid). -EPERM with
 * a sentence saying how to add a range when the user has none. */
int image_idmap_lookup(struct image_idmap *ret, struct berth_error *err);

/* The map as config.json's linux.uidMappings / gidMappings (two entries each). */
void image_idmap_to_oci(const struct image_idmap *m, struct oci_id_mapping *uids,
			struct oci_id_mapping *gids);

/* Record / read the map in the container directory @dir_fd. Read: 0 when there is none. */
int image_idmap_save(int dir_fd, const struct image_idmap *m, struct berth_error *err);
int image_idmap_load(int dir_fd, struct image_idmap *ret);

/* Run @fn(@arg) in a child that is root of a new user namespace mapped by @m (written with
 * newuidmap/newgidmap); its error comes back in @err. Returns @fn's result or -errno. */
int image_userns_run(const struct image_idmap *m, int (*fn)(void *arg, struct berth_error *err), void *arg,
		     struct berth_error *err);
