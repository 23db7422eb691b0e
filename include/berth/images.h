/* images: berth's image store and everything that turns an image into a root filesystem.
 *
 *   store     <storage>/ is an OCI image layout (oci-layout, index.json, blobs/sha256/...) whose
 *             index.json doubles as the name index (each manifest descriptor carries its
 *             "name:tag" in org.opencontainers.image.ref.name), plus berth's own directories:
 *             layers/<chain id>/ (each layer unpacked once as an overlayfs lower dir, shared by
 *             every image that has it), containers/<id>/ (a container's bundle: rootfs, upper,
 *             work, config.json) and tmp/ (imports in progress). berth.lock serialises writers.
 *   import    OCI image-layout tarballs, `docker save` archives and plain rootfs tarballs; every
 *             blob's digest and size is verified and the image appears only once complete.
 *   unpack    layer tars through libarchive, every path resolved inside the target root.
 *
 * The module sits below runtime: it takes plain values and directory descriptors and never
 * prints. Every entry point fills a struct berth_error and returns 0 or -errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "berth/oci.h"

struct berth_error;

#define IMAGE_DEFAULT_STORAGE "/var/lib/berth"
/* "sha256:" + 64 hex digits + NUL */
#define IMAGE_DIGEST_SIZE 72

/* The annotations `berth run --image` puts in a container's config.json; runtime delete hands
 * them to image_container_release(). */
#define IMAGE_ANNOTATION_ROOTFS "berth.image.rootfs"
#define IMAGE_ANNOTATION_STORAGE "berth.image.storage"
#define IMAGE_ANNOTATION_NAME "berth.image.name"

/* ---- unpacking one layer ---- */

enum image_unpack_mode {
	/* Apply the layer onto the tree below the root: whiteouts remove what lower layers put
	 * there (a plain rootfs: `image unpack`, the copy fallback). */
	IMAGE_UNPACK_APPLY = 0,
	/* The root is one overlayfs lower directory holding only this layer: whiteouts become 0/0
	 * character devices and opaque directories get trusted.overlay.opaque=y. */
	IMAGE_UNPACK_OVERLAY,
};

#define IMAGE_MAX_ENTRIES_DEFAULT (1u << 20)  /* entries per layer */
#define IMAGE_MAX_BYTES_DEFAULT (64ull << 30) /* file data per layer */
#define IMAGE_MAX_NAME_DEFAULT 4095           /* bytes of an entry or link name */

struct image_unpack_opts {
	enum image_unpack_mode mode;
	bool no_chown;        /* keep the caller's ownership and skip device nodes it may not create */
	bool no_openat2;      /* resolve paths with the component walk instead of openat2 (tests) */
	bool skip_devices;    /* skip device nodes (an unpack in a user namespace may not make them) */
	uint64_t max_entries; /* 0: the defaults above */
	uint64_t max_bytes;
	size_t max_name;
	/* OVERLAY: the layers below, topmost first: where a hardlink to an earlier layer's file
	 * and the attributes of implicitly created parent directories are found. */
	const int *lower_fds;
	size_t n_lower;
	/* Checked after the whole blob was read: the blob's digest and size, and the digest of the
	 * uncompressed tar (the diff_id). NULL / -1: not checked. */
	const char *expect_digest;
	int64_t expect_size;
	const char *expect_diff_id;
	/* Compute the digest and diff_id for the result even when nothing is expected. Without
	 * this or an expectation nothing is hashed (blobs already verified by the store). */
	bool want_digests;
	/* The blob's digest, already verified by the caller (as it was copied in): an uncompressed
	 * blob is then not hashed again, its diff_id being this digest. */
	const char *verified_digest;
	/* Called as blob bytes are read. */
	void (*progress)(void *data, uint64_t bytes);
	void *progress_data;
};

struct image_unpack_result {
	uint64_t entries;
	uint64_t bytes; /* file data written */
	uint64_t blob_size;
	char digest[IMAGE_DIGEST_SIZE];  /* of the blob as read ("" when not computed) */
	char diff_id[IMAGE_DIGEST_SIZE]; /* of the uncompressed tar stream ("" when not computed) */
};

/* Unpack the layer blob read from @blob_fd (a tar, plain or gzip/zstd/xz/bzip2-compressed) into
 * the directory @root_fd. With @root_fd < 0 nothing is written: the blob is only read and hashed.
 * Absolute names are taken relative to the root; "..", names or sizes over the bounds, a
 * non-directory at the root, and whiteouts naming "." or ".." are refused with an @err that
 * names the entry; symlinks are followed only inside the root. Xattrs trusted.overlay.* and
 * user.overlay.* are never taken from a layer. On failure the root may hold a part of the layer:
 * unpack into a fresh directory and remove it. *ret (may be NULL) is filled on success. */
int image_layer_unpack(int root_fd, int blob_fd, const struct image_unpack_opts *opts,
		       struct image_unpack_result *ret, struct berth_error *err);

/* ---- the store ---- */

struct image_store;

/* Open the store at @path (absolute), creating its layout when @create. *ret owned by the caller. */
int image_store_open(const char *path, bool create, struct image_store **ret, struct berth_error *err);
void image_store_close(struct image_store *s);

/* "alpine" -> "alpine:latest"; "localhost:5000/a/b" -> "localhost:5000/a/b:latest". A name is
 * lower-case [a-z0-9._/-] components (a first component may be a host[:port]), a tag
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. -EINVAL with @err naming the reason otherwise. */
int image_ref_normalize(const char *ref, char *out, size_t size, struct berth_error *err);

struct image_import_opts {
	const char *name; /* --name NAME[:TAG]: the name of the (single) image imported */
	void (*progress)(void *data, uint64_t bytes, uint64_t total); /* archive bytes read */
	void *progress_data;
	uint64_t max_entries, max_bytes; /* per layer; 0: the defaults */
};

struct image_import_result {
	char **names;   /* "name:tag" of each image imported (NULL-terminated) */
	char **digests; /* their manifest digests, in the same order */
};
void image_import_result_free(struct image_import_result *r);

/* Import @file: an OCI image-layout tarball, a `docker save` archive, or a plain rootfs tarball
 * (gzip, zstd, xz, bzip2 or none; a one-layer image with a default config, named by @opts->name
 * or after the file). Blobs are verified (digest and size), layers unpacked into the layer cache
 * (diff_ids verified), and only then are the names committed: an import that fails or is
 * interrupted leaves no image behind. Names already in use are moved to the new image. */
int image_import(struct image_store *s, const char *file, const struct image_import_opts *opts,
		 struct image_import_result *ret, struct berth_error *err);

struct image_info {
	char **names; /* NULL-terminated */
	char *digest; /* manifest digest */
	uint64_t size;
	struct oci_image_manifest *manifest;
	struct oci_image_config *config;
};
/* Every image in the store (one entry per manifest), sorted by first name. */
int image_list(struct image_store *s, struct image_info **ret_infos, size_t *ret_n, struct berth_error *err);
void image_info_free(struct image_info *infos, size_t n);
void image_info_clear(struct image_info *info);
/* One image, by name, name without tag (":latest"), full manifest digest, or a prefix of at
 * least 12 hex digits of its id (config digest) or manifest digest. -ENOENT "image ... does not exist". */
int image_get(struct image_store *s, const char *ref, struct image_info *ret, struct berth_error *err);

/* Add the name @dst to the image @src. */
int image_tag(struct image_store *s, const char *src, const char *dst, struct berth_error *err);
/* Remove the name @ref; when no name is left the image, and every blob and cached layer no other
 * image needs, are deleted. -EBUSY naming the container while one uses the image. */
int image_remove(struct image_store *s, const char *ref, struct berth_error *err);
/* Write @ref as an OCI image-layout tarball to @file (replaced atomically). */
int image_export(struct image_store *s, const char *ref, const char *file, struct berth_error *err);

/* ---- from an image to a bundle ---- */

struct image_bundle_opts {
	const char *user; /* -u USER[:GROUP]: replaces the image's User */
	/* Overrides for the generated config.json; root_path, uid/gid and additional_gids are
	 * filled in by the images module. */
	struct oci_image_run_opts run;
	bool copy; /* a full copy of the layers instead of an overlay mount */
};

/* `berth image unpack`: a bundle in @dir (created; must not exist or be empty): rootfs/ with
 * every layer applied, and config.json from the image config and @opts. */
int image_bundle_create(struct image_store *s, const char *ref, const char *dir,
			const struct image_bundle_opts *opts, struct berth_error *err);

/* berth's default seccomp profile for `run --image` (images/seccomp-default.json): the JSON text
 * of a linux.seccomp object, static, NUL-terminated; *ret_len (may be NULL) its length. */
const char *image_seccomp_default(size_t *ret_len);

/* `berth run --image`: <storage>/containers/<id>/ with rootfs/ (an overlay of the image's cached
 * layers and the container's own upper/work dirs; a full copy when overlayfs is unavailable or
 * @opts->copy) and config.json carrying the berth.image.* annotations. *ret_bundle (malloc'd) is
 * the bundle path. On failure nothing is left. */
int image_container_prepare(struct image_store *s, const char *ref, const char *id,
			    const struct image_bundle_opts *opts, char **ret_bundle, struct berth_error *err);
/* For `checkpoint --export`: when @annotations name the `run --image` directory of container @id
 * and its rootfs is an overlay, *ret_upper (malloc'd) is the overlay's upper dir, @ret_digest the
 * image's manifest digest and @ret_chain_id the chain id of its top layer ("" without layers).
 * -ENOENT when the container was not made from an image, -ENOTSUP when its rootfs is a copy (no
 * overlay); @err says which. */
int image_container_upper(const char *id, const struct oci_kv *annotations, size_t n_annotations,
			  char **ret_upper, char ret_digest[IMAGE_DIGEST_SIZE],
			  char ret_chain_id[IMAGE_DIGEST_SIZE], struct berth_error *err);
/* For `restore --import` of an archive with an upper dir: <storage>/containers/<id>/ made as
 * image_container_prepare() makes it (the image marker, empty rootfs/, upper/, work/), neither
 * mounted nor with a config.json. The image must be in the store under @digest (its manifest
 * digest), or be the image named @ref with the top layer chain id @chain_id (may be NULL): the
 * same layers imported separately. Else -ENOENT with @err naming @ref, the digest and how to
 * import it, and nothing made.
 * The caller fills upper/ and config.json, then calls image_container_mount(); on any failure
 * image_container_remove(). *ret_dir (malloc'd) is the directory. */
int image_container_create_for_import(struct image_store *s, const char *ref, const char *digest,
				      const char *chain_id, const char *id, char **ret_dir,
				      struct berth_error *err);
/* Mount <storage>/containers/<id>/rootfs: the overlay of the recorded image's cached layers and
 * the directory's upper/ (no copy fallback: the upper dir only makes sense on an overlay). */
int image_container_mount(struct image_store *s, const char *id, struct berth_error *err);
/* Unmount and remove <storage>/containers/<id>. A missing directory is fine. */
int image_container_remove(struct image_store *s, const char *id, struct berth_error *err);
/* For runtime delete: when @annotations carry berth.image.rootfs/storage naming exactly
 * <storage>/containers/<id>/rootfs, remove that container's rootfs and directory as
 * image_container_remove() does. Anything else is left alone (returns 0). */
int image_container_release(const char *id, const struct oci_kv *annotations, size_t n_annotations,
			    struct berth_error *err);
