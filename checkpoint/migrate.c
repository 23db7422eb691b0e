/* The single-file migration archive: CRIU images + config.json + manifest.json (+ the rootfs, or
 * the overlay upper dir of an image-based container), written and read through images/archive.c,
 * validated before anything is used. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "berth/archive.h"
#include "berth/checkpoint.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "berth/resolve.h"
#include "berth/util.h"
#include "berth/version.h"

/* Bounds for an archive read from elsewhere. */
#define IMPORT_MAX_TOTAL (64ull << 30)
#define IMPORT_MAX_MEMBER (32ull << 30)
#define IMPORT_MAX_MEMBERS 1000000ull
#define MANIFEST_MAX (1u << 20)

static void strvp_free(char ***v)
{
	checkpoint_strv_free(*v);
}

/* A private staging directory next to @path ("<path>.stage-XXXXXX"). */
static int make_stage(const char *path, char *buf, size_t size, struct berth_error *err)
{
	if (snprintf(buf, size, "%s.stage-XXXXXX", path) >= (int)size)
		return berth_error_set(err, -ENAMETOOLONG, "'%s': path too long", path);
	if (!mkdtemp(buf))
		return berth_error_setf_errno(err, -errno, "create a staging directory next to '%s'", path);
	return 0;
}

static int write_manifest(int dfd, const struct ckpt_export *x, struct berth_error *err)
{
	struct utsname u;
	char created[48];
	_cleanup_(strvp_free) char **flags = NULL;
	_cleanup_free_ char *json = NULL;
	size_t len;

	uname(&u);
	rfc3339_now(created, sizeof(created));
	(void)checkpoint_cpu_flags(&flags); /* no flags: nothing to compare later */
	struct oci_ckpt_manifest m = {
	    .format_version = OCI_CKPT_FORMAT_VERSION,
	    .berth_version = (char *)BERTH_VERSION,
	    .container_id = (char *)x->container_id,
	    .kernel = u.release,
	    .arch = u.machine,
	    .cpu_flags = flags,
	    .image = (char *)x->image_ref,
	    .image_digest = (char *)x->image_digest,
	    .image_chain_id = (char *)(x->image_chain_id && *x->image_chain_id ? x->image_chain_id : NULL),
	    .network = (char *)x->network,
	    .has_rootfs = x->rootfs != NULL,
	    .has_upper = x->upper != NULL,
	    .created = created,
	};
	int r = oci_ckpt_manifest_to_json(&m, &json, &len);
	if (r == 0)
		r = write_file_at(dfd, CKPT_ARCHIVE_MANIFEST, json, len, true, 0644);
	if (r == 0)
		r = write_file_at(dfd, CKPT_ARCHIVE_CONFIG, x->config_json, x->config_len, true, 0644);
	if (r < 0)
		return berth_error_setf_errno(err, r, "--export: write the manifest");
	return 0;
}

int checkpoint_export(const struct ckpt_export *x, struct berth_error *err)
{
	char stage[PATH_MAX];
	int r = make_stage(x->out_path, stage, sizeof(stage), err);
	if (r < 0)
		return r;
	_cleanup_close_ int dfd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = dfd < 0 ? berth_error_setf_errno(err, -errno, "open '%s'", stage) : write_manifest(dfd, x, err);
	if (r == 0 && x->rootfs && x->upper)
		r = berth_error_set(err, -EINVAL, "--export: either the rootfs or the upper dir, not both");
	if (r == 0) {
		/* The manifest first: an importer reads it before unpacking the rest. */
		struct archive_dir_member dirs[3] = {
		    {stage, ""},
		    {x->images_dir, CKPT_ARCHIVE_IMAGES},
		    {x->rootfs ? x->rootfs : x->upper, x->rootfs ? CKPT_ARCHIVE_ROOTFS : CKPT_ARCHIVE_UPPER},
		};
		r = archive_write_dirs(x->out_path, dirs, x->rootfs || x->upper ? 3 : 2, err);
	}
	(void)rm_rf_at(AT_FDCWD, stage);
	if (r < 0)
		return berth_error_prefix(err, "--export '%s'", x->out_path);
	return 0;
}

int checkpoint_manifest_check_host(const struct oci_ckpt_manifest *m, struct berth_error *err)
{
	struct utsname u;
	_cleanup_(strvp_free) char **have = NULL;
	char missing[400];

	uname(&u);
	if (strcmp(u.machine, m->arch) != 0)
		return berth_error_set(err, -EINVAL,
				       "the checkpoint was made on a %s machine; this one is %s", m->arch,
				       u.machine);
	if (!m->cpu_flags || checkpoint_cpu_flags(&have) < 0)
		return 0;
	size_t n = checkpoint_cpu_missing(m->cpu_flags, have, missing, sizeof(missing));
	if (n)
		return berth_error_set(err, -ENOTSUP,
				       "this CPU lacks %zu feature(s) the checkpointed process may use: %s",
				       n, missing);
	return 0;
}

static int check_dir(int dfd, const char *name, struct berth_error *err)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return berth_error_set(err, -EINVAL,
				       "the manifest says the archive has a %s/, but it has none", name);
	return 0;
}

/* Read the regular file @name of the extracted archive @dfd, opened with the in-root resolver and
 * no symlink at all: an archive's symlink member cannot make the importer read a host file. */
static int read_member(int dfd, const char *name, size_t max, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r = inroot_resolve(dfd, name, INROOT_NO_SYMLINKS, O_RDONLY | O_NOCTTY, NULL, &fd);

	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	return read_fd_all(fd, max, ret_buf, ret_len);
}

/* @upper: the caller expects an archive with an upper dir (and extracted it with upper/ as an
 * overlay tree); anything else must not have one. */
static int validate_stage(int dfd, bool upper, struct oci_ckpt_manifest **ret, struct berth_error *err)
{
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	struct stat st;
	int r = read_member(dfd, CKPT_ARCHIVE_MANIFEST, MANIFEST_MAX, &json, &len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "no readable " CKPT_ARCHIVE_MANIFEST " in the archive");
	r = oci_ckpt_manifest_parse(json, len, ret, err);
	if (r < 0)
		return r;
	if (fstatat(dfd, CKPT_ARCHIVE_CONFIG, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return berth_error_set(err, -EINVAL, "the archive has no " CKPT_ARCHIVE_CONFIG);
	/* a real directory: a symlink member named "checkpoint" would point CRIU at host files */
	if (fstatat(dfd, CKPT_ARCHIVE_IMAGES, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return berth_error_set(err, -EINVAL,
				       "the archive has no CRIU images (" CKPT_ARCHIVE_IMAGES
				       "/ is not a directory)");
	if (fstatat(dfd, CKPT_ARCHIVE_IMAGES "/inventory.img", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return berth_error_set(err, -EINVAL,
				       "the archive has no CRIU images (checkpoint/inventory.img)");
	if ((*ret)->has_rootfs && (r = check_dir(dfd, CKPT_ARCHIVE_ROOTFS, err)) < 0)
		return r;
	if ((*ret)->has_upper != upper)
		return berth_error_set(err, -EINVAL,
				       CKPT_ARCHIVE_MANIFEST ": hasUpper is %s, which is not what was read "
							     "first (more than one manifest in the archive?)",
				       upper ? "false" : "true");
	if (upper && (r = check_dir(dfd, CKPT_ARCHIVE_UPPER, err)) < 0)
		return r;
	return checkpoint_manifest_check_host(*ret, err);
}

int checkpoint_archive_manifest(const char *in_path, struct oci_ckpt_manifest **ret_manifest,
				struct berth_error *err)
{
	_cleanup_free_ char *json = NULL;
	struct oci_ckpt_manifest *m = NULL;
	size_t len;
	int r = archive_read_member(in_path, CKPT_ARCHIVE_MANIFEST, MANIFEST_MAX, &json, &len, err);
	if (r == -ENOENT)
		r = berth_error_set(err, -EINVAL,
				    "no " CKPT_ARCHIVE_MANIFEST
				    " in the archive (is it a berth checkpoint --export archive?)");
	if (r == 0)
		r = oci_ckpt_manifest_parse(json, len, &m, err);
	if (r == 0)
		r = checkpoint_manifest_check_host(m, err);
	if (r < 0) {
		oci_ckpt_manifest_free(m);
		return berth_error_prefix(err, "--import '%s'", in_path);
	}
	*ret_manifest = m;
	return 0;
}

#define IMPORT_STAGE ".import"

/* Move the members a restore uses from the stage into @dfd; upper/ replaces the empty upper dir. */
static int take_members(int stage_fd, int dfd, struct berth_error *err)
{
	static const char *const keep[] = {CKPT_ARCHIVE_CONFIG, CKPT_ARCHIVE_IMAGES, CKPT_ARCHIVE_UPPER};
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (renameat(stage_fd, keep[i], dfd, keep[i]) < 0)
			return berth_error_setf_errno(err, -errno, "move %s into place", keep[i]);
	return 0;
}

int checkpoint_import_into(const char *in_path, int dfd, struct oci_ckpt_manifest **ret_manifest,
			   struct berth_error *err)
{
	struct oci_ckpt_manifest *m = NULL;
	const struct archive_limits lim = {IMPORT_MAX_TOTAL, IMPORT_MAX_MEMBER, IMPORT_MAX_MEMBERS};
	_cleanup_close_ int stage = -EBADF;
	int r = 0;

	/* A private stage: a member named like another file of @dfd (the image marker, work/) cannot
	 * replace it; only what a restore uses is moved over. */
	if (mkdirat(dfd, IMPORT_STAGE, 0700) < 0 ||
	    (stage = openat(dfd, IMPORT_STAGE, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		r = berth_error_setf_errno(err, -errno, "create the import stage");
	if (r == 0)
		r = archive_extract_confined_overlay(in_path, stage, &lim, CKPT_ARCHIVE_UPPER, err);
	if (r == 0)
		r = validate_stage(stage, true, &m, err);
	if (r == 0)
		r = take_members(stage, dfd, err);
	(void)rm_rf_at(dfd, IMPORT_STAGE);
	if (r < 0) {
		oci_ckpt_manifest_free(m);
		return berth_error_prefix(err, "--import '%s'", in_path);
	}
	*ret_manifest = m;
	return 0;
}

int checkpoint_import(const char *in_path, const char *dest, struct oci_ckpt_manifest **ret_manifest,
		      struct berth_error *err)
{
	struct oci_ckpt_manifest *m = NULL;
	const struct archive_limits lim = {IMPORT_MAX_TOTAL, IMPORT_MAX_MEMBER, IMPORT_MAX_MEMBERS};
	struct stat st;
	int r;

	if (stat(in_path, &st) < 0)
		return berth_error_setf_errno(err, -errno, "--import '%s'", in_path);
	if (mkdir(dest, 0700) < 0)
		return berth_error_setf_errno(err, -errno, "--import: create '%s'", dest);
	_cleanup_close_ int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		r = berth_error_setf_errno(err, -errno, "open '%s'", dest);
	else
		r = archive_extract_confined(in_path, dfd, &lim, err);
	if (r == 0)
		r = validate_stage(dfd, false, &m, err);
	if (r < 0) {
		oci_ckpt_manifest_free(m);
		(void)rm_rf_at(AT_FDCWD, dest);
		return berth_error_prefix(err, "--import '%s'", in_path);
	}
	*ret_manifest = m;
	return 0;
}
