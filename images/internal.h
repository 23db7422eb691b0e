/* Private to images/: the store handle, path resolution inside a root, the string set the
 * unpacker tracks a layer's entries with, blob helpers and the layer cache. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "berth/images.h"
#include "berth/resolve.h"
#include "berth/sha256.h"

struct berth_error;
struct oci_image_index;
struct oci_image_manifest;
struct oci_image_config;
struct oci_descriptor;

#define STORE_LOCK_FILE "berth.lock"
#define STORE_INDEX_FILE "index.json"
#define STORE_BLOBS_DIR "blobs/sha256"
#define STORE_LAYERS_DIR "layers"
#define STORE_CONTAINERS_DIR "containers"
#define STORE_TMP_DIR "tmp"
/* In containers/<id>/: the manifest digest of the container's image (also the marker that the
 * directory is berth's to remove). */
#define CONTAINER_IMAGE_FILE "image"

struct image_store {
	int fd;      /* the storage directory */
	int lock_fd; /* berth.lock */
	char *path;  /* absolute */
};

/* ---- store.c ---- */

/* flock the store (LOCK_SH / LOCK_EX); unlock with LOCK_UN. */
int store_lock(struct image_store *s, int how, struct berth_error *err);
/* Unmount and remove <store>/containers/@id (only when berth's marker is in it); the caller holds
 * the store lock. A missing directory is not an error. */
int image_container_dir_remove(struct image_store *s, const char *id, struct berth_error *err);
/* index.json (an empty index when the file does not exist). */
int store_read_index(struct image_store *s, struct oci_image_index **ret, struct berth_error *err);
int store_write_index(struct image_store *s, const struct oci_image_index *index, struct berth_error *err);
/* The name a descriptor of the store index carries (its ref.name annotation), or NULL. */
const char *store_desc_name(const struct oci_descriptor *d);

/* Open blobs/sha256/<hex> of @digest below @layout_fd read-only. -ENOENT when missing. */
int blob_open(int layout_fd, const char *digest);
/* Read the blob @d names (at most OCI_IMAGE_DOC_MAX bytes) and check its size and digest. */
int blob_read_verified(int layout_fd, const struct oci_descriptor *d, char **ret, size_t *ret_len,
		       struct berth_error *err);
/* Store @len bytes as a blob below @layout_fd; *ret_digest gets its digest. */
int blob_write(int layout_fd, const void *data, size_t len, char ret_digest[IMAGE_DIGEST_SIZE],
	       struct berth_error *err);

/* A blob written as a stream: bytes go to a temporary file in blobs/sha256 below @layout_fd and
 * are hashed; commit renames it to its digest. */
struct blob_writer {
	int dir_fd;
	int fd;
	char tmp[64];
	struct berth_sha256 sha;
	uint64_t size;
};
int blob_writer_open(struct blob_writer *w, int layout_fd, struct berth_error *err);
int blob_writer_write(struct blob_writer *w, const void *buf, size_t len, struct berth_error *err);
/* Rename to the digest (fsync'd first); *ret_digest gets it. */
int blob_writer_commit(struct blob_writer *w, char ret_digest[IMAGE_DIGEST_SIZE], struct berth_error *err);
void blob_writer_abort(struct blob_writer *w);

/* "sha256:<hex>" of a finished hash. */
void digest_format(const uint8_t d[BERTH_SHA256_SIZE], char out[IMAGE_DIGEST_SIZE]);
/* ChainID(n) = sha256(ChainID(n-1) + " " + DiffID(n)); ChainID(0) = DiffID(0). */
void chain_id_next(const char *prev, const char *diff_id, char out[IMAGE_DIGEST_SIZE]);

/* Make a private temporary directory tmp/<random> below the store, locked with flock so that
 * stale ones (whose owner died) can be told apart and removed: store_tmp_sweep(). */
int store_tmp_create(struct image_store *s, char *ret_name, size_t size, int *ret_fd,
		     struct berth_error *err);
void store_tmp_remove(struct image_store *s, const char *name, int fd);
void store_tmp_sweep(struct image_store *s);

/* The manifest and config of the image a store index descriptor names, verified. */
int store_load_image(int layout_fd, const struct oci_descriptor *d, struct oci_image_manifest **ret_manifest,
		     struct oci_image_config **ret_config, struct berth_error *err);
/* The chain ids of @config's layers, into a calloc'd array of n_diff_ids strings. */
int image_chain_ids(const struct oci_image_config *config, char (**ret)[IMAGE_DIGEST_SIZE],
		    struct berth_error *err);
/* Delete blobs and cached layers no image of the index and no container needs. Store locked
 * exclusively by the caller. */
int store_gc(struct image_store *s, struct berth_error *err);
/* Point @name at a copy of @src (its annotations replaced by the name), replacing the entry that
 * had the name. */
int index_set_name(struct oci_image_index *ix, const struct oci_descriptor *src, const char *name,
		   struct berth_error *err);
/* Find the index entries for @ref (see image_get). *ret_pos the first matching position. */
int store_resolve(struct image_store *s, const struct oci_image_index *index, const char *ref,
		  size_t *ret_pos, struct berth_error *err);

/* ---- paths inside a root: adapters over common's resolver (include/berth/resolve.h) ---- */

/* Open @path inside @root_fd with inroot_resolve() and, as the unpacker has always done, never
 * crossing into another mount (INROOT_NO_XDEV); the component walk when @no_openat2. The last
 * component is followed only when @follow. @flags: O_PATH, or O_RDONLY|O_DIRECTORY ...
 * Returns a descriptor or -errno. */
static inline int inroot_open(int root_fd, const char *path, int flags, bool follow, bool no_openat2)
{
	int fd = -EBADF;
	int r = inroot_resolve(root_fd, path, INROOT_NO_XDEV | (no_openat2 ? INROOT_FALLBACK : 0),
			       flags | (follow ? 0 : O_NOFOLLOW), NULL, &fd);

	return r < 0 ? r : fd;
}

/* Open the directory @path inside the root (O_PATH), creating the missing components @path
 * names (never a dangling symlink's target: INROOT_MK_LITERAL); @attrs (may be NULL) chooses
 * their mode and owner (applied when @chown_ok). Returns a descriptor or -errno. */
static inline int inroot_mkdirs(int root_fd, const char *path, bool no_openat2, bool chown_ok,
				void (*attrs)(void *data, const char *path, struct inroot_dir_attrs *ret),
				void *data)
{
	const struct inroot_opts opts = {.dir_attrs = attrs, .data = data, .chown_ok = chown_ok};
	unsigned int flags =
	    INROOT_MKDIR | INROOT_MK_LITERAL | INROOT_NO_XDEV | (no_openat2 ? INROOT_FALLBACK : 0);
	int fd = -EBADF;
	int r = inroot_resolve(root_fd, path, flags, O_PATH | O_DIRECTORY, &opts, &fd);

	return r < 0 ? r : fd;
}

/* ---- strset.c: a set of strings ---- */

struct strset {
	char **slots;
	size_t cap, n;
};
int strset_add(struct strset *s, const char *str); /* 1 added, 0 present, -ENOMEM */
bool strset_has(const struct strset *s, const char *str);
void strset_free(struct strset *s);

/* ---- unpack ---- */

/* Clean an archive path: leading '/' dropped, "." and empty components dropped, ".." refused
 * (-EINVAL), components over NAME_MAX refused (-ENAMETOOLONG). "" is the root. */
int clean_path(const char *raw, char *out, size_t size);
/* A printable, shortened copy of @s for messages. */
const char *printable(const char *s, char *buf, size_t size);

/* ---- layers.c: the layer cache ---- */

/* Make sure every layer of @m/@c is in the layer cache or about to be: a layer already in
 * layers/<chain id>/ is reused (its blob's diff_id verified unless the store has the blob), one
 * already in @tmp_fd as layer-<chain hex> (another image of the same import, or a rootfs import
 * that learnt its diff_id by unpacking) is taken as is, and any other is unpacked from the blob
 * in @blobs_fd (which must hold every layer blob) into @tmp_fd, verified. layers_commit() then
 * moves the fresh ones in. */
struct layer_plan {
	size_t n;
	char (*chain)[IMAGE_DIGEST_SIZE];
	bool *fresh; /* unpacked by this import, in tmp/<name>/layer-<i> */
};
int layers_prepare(struct image_store *s, int blobs_fd, int tmp_fd, const struct oci_image_manifest *m,
		   const struct oci_image_config *c, const struct image_import_opts *opts,
		   struct layer_plan *ret, struct berth_error *err);
/* With the store locked exclusively: move the fresh layers in; -ESTALE when a reused cached
 * layer disappeared meanwhile. */
int layers_commit(struct image_store *s, int tmp_fd, const struct layer_plan *p, struct berth_error *err);
void layer_plan_free(struct layer_plan *p);

/* ---- user.c ---- */

/* Resolve a User string ("", "uid", "name", "uid:gid", "name:group") against the rootfs's
 * /etc/passwd and /etc/group (read inside @rootfs_fd). *ret_gids (malloc'd or NULL) are the
 * supplementary groups of a named user. */
int image_user_resolve(int rootfs_fd, const char *user, uint32_t *ret_uid, uint32_t *ret_gid,
		       uint32_t **ret_gids, size_t *ret_n_gids, struct berth_error *err);
