/* The per-container state directory: creation, locking, the record, status derivation. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "lifecycle.h"

/* The record carries config.json's annotations: room for the largest config, escaped again. */
#define RECORD_MAX (4 * BERTH_CONFIG_MAX)

/* berth acts on what the state root holds (pids it signals, hooks it runs, seccomp programs it
 * loads), so only the caller may have written any of it: another owner, or write access for the
 * group or others, could have planted a record or a program. One fstat on a descriptor already open. */

int state_root_open(const char *root, bool create, int *ret_fd, struct berth_error *err)
{
	if (!root)
		root = BERTH_DEFAULT_ROOT;
	if (create) {
		int r = mkdir_p_at(AT_FDCWD, root, 0711);
		if (r < 0)
			return berth_error_setf_errno(err, r, "create state root '%s'", root);
	}
	_cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "open state root '%s'", root);
	int r = fd_check_trusted(fd, "state root", root, NULL, err);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int container_dir_create(int root_fd, const char *id, int *ret_dir_fd, struct berth_error *err)
{
	if (mkdirat(root_fd, id, 0711) < 0) {
		if (errno == EEXIST)
			return berth_error_set(err, -EEXIST, "container \"%s\" already exists", id);
		return berth_error_setf_errno(err, -errno, "create state directory for \"%s\"", id);
	}
	int fd = openat(root_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		int r = -errno;
		if (fd >= 0)
			close(fd);
		unlinkat(root_fd, id, AT_REMOVEDIR);
		return berth_error_setf_errno(err, r, "open state directory for \"%s\"", id);
	}
	*ret_dir_fd = fd;
	return 0;
}

/* Open (and lock) the directory; a directory unlinked while we waited counts as absent. */
static int open_dir(int root_fd, const char *root, const char *id, bool lock, int *ret_fd,
		    struct berth_error *err)
{
	_cleanup_close_ int fd = openat(root_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return berth_error_set(err, -ENOENT, "container \"%s\" does not exist", id);
		return berth_error_setf_errno(err, -errno, "open state of \"%s\"", id);
	}
	if (lock) {
		/* bounded: another berth may hold it for long (an exec waiting on a paused
		 * container, a checkpoint) and a caller must get an answer, not a hang */
		unsigned int limit = berth_wait_limit_ms();
		int r = flock_bounded(fd, limit);
		if (r == -ETIMEDOUT)
			return berth_error_set(
			    err, -ETIMEDOUT,
			    "container \"%s\" is busy: another berth command held its lock "
			    "(flock on the state directory) for %u s",
			    id, limit / 1000);
		if (r < 0)
			return berth_error_setf_errno(err, r, "lock state of \"%s\"", id);
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || (lock && st.st_nlink == 0))
		return berth_error_set(err, -ENOENT, "container \"%s\" does not exist", id);
	int r = stat_check_trusted(&st, "state directory", root, id, err);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static void record_freep(struct berth_record **p)
{
	berth_record_free(*p);
}

static bool abs_or_null(const char *p)
{
	return !p || p[0] == '/';
}

/* A record must describe the directory it was read from: a record copied from elsewhere (or
 * written by hand) must not make berth act on another container's or the host's processes. */
static int record_check(const struct berth_record *rec, const char *id, struct berth_error *err)
{
	if (!rec->id || strcmp(rec->id, id) != 0)
		return berth_error_set(err, -EBADMSG, "state.json: id \"%s\" does not match its directory",
				       rec->id ? rec->id : "");
	if (!rec->bundle || rec->bundle[0] != '/')
		return berth_error_set(err, -EBADMSG, "state.json: bundle is not an absolute path");
	if (!abs_or_null(rec->rootfs))
		return berth_error_set(err, -EBADMSG, "state.json: rootfs is not an absolute path");
	for (int t = 0; t < OCI_NS_MAX; t++)
		if (!abs_or_null(rec->ns_paths[t]))
			return berth_error_set(err, -EBADMSG, "state.json: a namespace path is not absolute");
	return 0;
}

/* Read state.json of the open directory @dir_fd, which only the caller may have written. */
static int read_record(int dir_fd, const char *root, const char *id, char **ret_json, size_t *ret_len,
		       struct berth_error *err)
{
	_cleanup_close_ int fd = openat(dir_fd, STATE_FILE, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) /* a create still in progress, or one that died before persisting */
		return berth_error_set(err, -ENOENT, "container \"%s\" does not exist", id);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "read state of \"%s\"", id);
	int r = fd_check_trusted(fd, "state file of", root, id, err);
	if (r < 0)
		return r;
	r = read_fd_all(fd, RECORD_MAX, ret_json, ret_len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "read state of \"%s\"", id);
	return 0;
}

/* Read the record of @id below the state root @root_fd into @ret (dir_fd and rec; not root_fd). */
static int load_at(int root_fd, const char *root, const char *id, bool lock, struct container *ret,
		   struct berth_error *err)
{
	_cleanup_close_ int dir_fd = -EBADF;
	int r = open_dir(root_fd, root, id, lock, &dir_fd, err);
	if (r < 0)
		return r;

	_cleanup_free_ char *json = NULL;
	size_t len;
	r = read_record(dir_fd, root, id, &json, &len, err);
	if (r < 0)
		return r;
	_cleanup_(record_freep) struct berth_record *rec = NULL;
	r = berth_record_parse(json, len, &rec, err);
	if (r == 0)
		r = record_check(rec, id, err);
	if (r < 0)
		return berth_error_prefix(err, "state of \"%s\" is corrupt", id);
	ret->dir_fd = TAKE_FD(dir_fd);
	ret->rec = TAKE_PTR(rec);
	return 0;
}

static int load(const struct berth_context *ctx, const char *id, bool lock, struct container *ret,
		struct berth_error *err)
{
	int r = container_id_validate(id, err);
	if (r < 0)
		return r;
	_cleanup_close_ int root_fd = -EBADF;
	r = state_root_open(ctx->root, false, &root_fd, err);
	if (r == -ENOENT)
		return berth_error_set(err, -ENOENT, "container \"%s\" does not exist", id);
	if (r < 0)
		return r;
	r = load_at(root_fd, ctx->root ? ctx->root : BERTH_DEFAULT_ROOT, id, lock, ret, err);
	if (r == 0)
		ret->root_fd = TAKE_FD(root_fd);
	return r;
}

int container_load(const struct berth_context *ctx, const char *id, struct container *ret,
		   struct berth_error *err)
{
	return load(ctx, id, true, ret, err);
}

int container_peek(const struct berth_context *ctx, const char *id, struct container *ret,
		   struct berth_error *err)
{
	return load(ctx, id, false, ret, err);
}

int container_peek_at(int root_fd, const char *root, const char *id, struct container *ret,
		      struct berth_error *err)
{
	int r = container_id_validate(id, err);
	return r < 0 ? r : load_at(root_fd, root, id, false, ret, err);
}

void container_release(struct container *c)
{
	if (!c)
		return;
	berth_record_free(c->rec);
	c->rec = NULL;
	closep(&c->dir_fd);
	closep(&c->root_fd);
}

int container_save(int dir_fd, const struct berth_record *rec, struct berth_error *err)
{
	_cleanup_free_ char *json = NULL;
	size_t len;
	int r = berth_record_to_json(rec, &json, &len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "serialise state");
	r = write_file_atomic_at(dir_fd, STATE_FILE, json, len, 0600);
	if (r < 0)
		return berth_error_setf_errno(err, r, "write %s", STATE_FILE);
	return 0;
}

bool container_init_alive(const struct berth_record *rec)
{
	uint64_t start;
	char st = 0;
	if (rec->pid <= 0 || proc_stat_info(rec->pid, &start, &st) < 0)
		return false;
	return start == rec->pid_start_time && st != 'Z' && st != 'X';
}

/* The init holds exec.fifo open until it execs (close-on-exec). A fifo nobody holds is left over
 * from a `start` that died between releasing the init and removing the fifo: not created. */
static bool init_waits_on_fifo(const struct container *c)
{
	int fd = openat(c->dir_fd, FIFO_FILE, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		close(fd);
		return true;
	}
	return errno != ENXIO && faccessat(c->dir_fd, FIFO_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

enum oci_status container_status(const struct berth_context *ctx, const struct container *c)
{
	if (!container_init_alive(c->rec))
		return OCI_STATUS_STOPPED;
	if (init_waits_on_fifo(c))
		return OCI_STATUS_CREATED;
	if (c->rec->cgroup_path) {
		struct cgroup cg = {0};
		_cleanup_close_ int cg_root = -EBADF;
		bool frozen = false;
		if (container_cgroup(ctx, c->rec, &cg, &cg_root, NULL) == 0) {
			if (cgroup_is_frozen(&cg, &frozen) < 0)
				frozen = false;
			cgroup_free(&cg);
		}
		if (frozen)
			return OCI_STATUS_PAUSED;
	}
	return OCI_STATUS_RUNNING;
}

int container_dir_remove(int root_fd, const char *id)
{
	return rm_rf_at(root_fd, id);
}

int container_config(const struct container *c, struct oci_config **ret, struct berth_error *err)
{
	_cleanup_free_ char *json = NULL;
	size_t len;
	int r = read_file_at(c->dir_fd, CONFIG_FILE, BERTH_CONFIG_MAX, &json, &len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "read saved config of \"%s\"", c->rec->id);
	return oci_config_parse(json, len, ret, err);
}

int container_cgroup(const struct berth_context *ctx, const struct berth_record *rec, struct cgroup *cg,
		     int *ret_root_fd, struct berth_error *err)
{
	const char *root = ctx->cgroup_root ? ctx->cgroup_root : BERTH_DEFAULT_CGROUP_ROOT;
	_cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "open cgroup root '%s'", root);
	int r = cgroup_resolve(fd, rec->cgroup_path, rec->id, cg, err);
	if (r < 0)
		return r;
	/* Rootless (rootless.c): a delegated subtree, where only what a limit needs is enabled; the
	 * levels above it are not the caller's to write. */
	cg->only_needed = geteuid() != 0;
	*ret_root_fd = TAKE_FD(fd);
	return 0;
}

int container_state_json(const struct berth_record *rec, enum oci_status status, bool pretty, char **ret_json,
			 size_t *ret_len)
{
	struct oci_state st = {
	    .id = rec->id,
	    .status = status,
	    .pid = status == OCI_STATUS_STOPPED ? 0 : rec->pid,
	    .bundle = rec->bundle,
	    .annotations = rec->annotations,
	    .n_annotations = rec->n_annotations,
	};
	return oci_state_to_json(&st, pretty, ret_json, ret_len);
}
