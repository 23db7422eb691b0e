/* The init's standard streams across a checkpoint (see ckpt_internal.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "berth/checkpoint.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "berth/util.h"

#include "ckpt_internal.h"
#include "stdio_log.h"

static const char *const kind_names[] = {
    [STDIO_KIND_CALLER] = "caller", [STDIO_KIND_NULL] = "null", [STDIO_KIND_LOG] = "log",
    [STDIO_KIND_PIPE] = "pipe",     [STDIO_KIND_FILE] = "file",
};

static const char *const stream_names[STDIO_MAX] = {"stdin", "stdout", "stderr"};

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

/* What an external file among the init's stdio is: this host's null device, the container's log
 * (the same inode as <state dir>/container.log), or any other file. */
static enum stdio_kind file_kind(const struct stat *st, int state_dir_fd)
{
	struct stat log;
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3))
		return STDIO_KIND_NULL;
	if (state_dir_fd >= 0 && fstatat(state_dir_fd, STDIO_LOG_FILE, &log, AT_SYMLINK_NOFOLLOW) == 0 &&
	    log.st_dev == st->st_dev && log.st_ino == st->st_ino)
		return STDIO_KIND_LOG;
	return STDIO_KIND_FILE;
}

/* Declare @key external once (fds 1 and 2 often share one file). */
static void add_external(struct ckpt_opts *o, const char *key)
{
	for (size_t i = 0; i < o->n_externals; i++)
		if (strcmp(o->externals[i], key) == 0)
			return;
	if (o->n_externals < CKPT_MAX_MAPS)
		o->externals[o->n_externals++] = key;
}

void ckpt_stdio_collect(pid_t pid, int state_dir_fd, struct stdio_keys *k, struct ckpt_opts *o)
{
	for (int fd = 0; fd < STDIO_MAX; fd++) {
		char path[64], target[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0 || stat(path, &st) < 0)
			continue;
		target[n] = '\0';
		k->mode[fd] = st.st_mode;
		if (str_has_prefix(target, "pipe:")) {
			snprintf(k->key[fd], sizeof(k->key[fd]), "%.90s", target);
			k->kind[fd] = STDIO_KIND_PIPE;
			k->has[fd] = true;
		} else if (target[0] == '/') {
			unsigned long mnt = fd_mnt_id(pid, fd);
			if (!mnt || mount_visible(pid, mnt) || o->n_externals >= CKPT_MAX_MAPS)
				continue; /* the container's own (its terminal): CRIU's */
			snprintf(k->key[fd], sizeof(k->key[fd]), "file[%lx:%lx]", mnt,
				 (unsigned long)st.st_ino);
			k->kind[fd] = file_kind(&st, state_dir_fd);
			k->has[fd] = true;
			add_external(o, k->key[fd]);
		}
	}
}

/* The container's log into the images, for the restore to go on from (the process is stopped
 * after a final dump: the copy is complete; with --leave-running it is the log so far). */
static int carry_log(const char *images, int state_dir_fd, struct berth_error *err)
{
	_cleanup_close_ int dfd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berth_error_setf_errno(err, -errno, "open '%s'", images);
	_cleanup_close_ int out =
	    openat(dfd, STDIO_LOG_COPY, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return berth_error_setf_errno(err, -errno, "create " STDIO_LOG_COPY " in '%s'", images);
	int r = stdio_log_copy(state_dir_fd, STDIO_LOG_FILE, out, err);
	return r < 0 ? berth_error_prefix(err, "carry the container's log into the checkpoint") : 0;
}

int ckpt_stdio_save(const char *images, int state_dir_fd, const struct stdio_keys *k, bool carry,
		    struct berth_error *err)
{
	char buf[STDIO_MAX * 128] = "";
	size_t len = 0;
	bool has_log = false;
	for (int fd = 0; fd < STDIO_MAX; fd++) {
		if (!k->has[fd])
			continue;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%d %s %s 0%o\n", fd, k->key[fd],
					kind_names[k->kind[fd]], k->mode[fd]);
		has_log |= k->kind[fd] == STDIO_KIND_LOG;
	}
	_cleanup_close_ int dfd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dfd < 0 ? -errno : write_file_at(dfd, STDIO_FILE, buf, len, true, 0600);
	if (r < 0)
		return berth_error_setf_errno(err, r, "save the stdio keys in '%s'", images);
	return has_log && carry ? carry_log(images, state_dir_fd, err) : 0;
}

/* ---- restore ---- */

static enum stdio_kind kind_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++)
		if (strcmp(s, kind_names[i]) == 0)
			return (enum stdio_kind)i;
	return STDIO_KIND_CALLER;
}

/* Parse the record into @k; false when there is none. */
static bool record_load(const char *images, struct stdio_keys *k)
{
	_cleanup_close_ int dfd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (dfd < 0 || read_file_at(dfd, STDIO_FILE, 4096, &buf, &len) < 0)
		return false;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int fd;
		char key[96], kind[16] = "caller";
		unsigned int mode = 0;
		if (sscanf(line, "%d %95s %15s %o", &fd, key, kind, &mode) < 2 || fd < 0 || fd >= STDIO_MAX)
			continue;
		snprintf(k->key[fd], sizeof(k->key[fd]), "%s", key);
		k->kind[fd] = kind_parse(kind);
		k->mode[fd] = mode;
		k->has[fd] = true;
	}
	return true;
}

/* The log in the new state dir, filled with the copy carried in the images (if any). */
static int open_log(const char *images, int state_dir_fd, int *ret_fd, struct berth_error *err)
{
	int fd = -EBADF;
	int r = stdio_log_open_append(state_dir_fd, &fd, err);
	if (r < 0)
		return r;
	_cleanup_close_ int dfd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0 && faccessat(dfd, STDIO_LOG_COPY, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		r = stdio_log_copy(dfd, STDIO_LOG_COPY, fd, err);
	if (r < 0) {
		close(fd);
		return berth_error_prefix(err, "restore the container's log");
	}
	*ret_fd = fd;
	return 0;
}

/* Restore's own descriptor @own stands in for stream @fd, a file that was @mode at the dump: CRIU
 * reopens it and refuses another mode ("bad mode"), so say which stream and what it needs first. */
static int check_caller_fd(int own, int fd, unsigned int mode, struct berth_error *err)
{
	struct stat st;
	if (fstat(own, &st) < 0)
		return berth_error_set(
		    err, -EBADF,
		    "the container's %s was a file outside it (mode 0%o) and restore's own "
		    "%s, which stands in for it, is closed",
		    stream_names[fd], mode, stream_names[fd]);
	if (mode && st.st_mode != mode)
		return berth_error_set(err, -EINVAL,
				       "the container's %s was a file outside it of mode 0%o; restore's own "
				       "%s, which stands in for it, has mode 0%o: CRIU needs the same kind "
				       "of file (redirect restore's %s accordingly)",
				       stream_names[fd], mode, stream_names[fd], (unsigned int)st.st_mode,
				       stream_names[fd]);
	return 0;
}

/* A pipe at the dump gets restore's own descriptor (containerd's shim passes pipes; an admin's
 * restore often /dev/null), but never a terminal: a container that had put a pipe of its own on
 * its stdio must not be handed the terminal of the admin who runs restore (it could read
 * keystrokes and write escapes there). */
static int check_caller_pipe(int own, int fd, struct berth_error *err)
{
	struct stat st;
	if (fstat(own, &st) < 0)
		return berth_error_set(err, -EBADF,
				       "the container's %s was a pipe and restore's own %s, which stands in "
				       "for it, is closed",
				       stream_names[fd], stream_names[fd]);
	if (isatty(own))
		return berth_error_set(
		    err, -EINVAL,
		    "the container's %s was a pipe; restore's own %s, which stands in for "
		    "it, is a terminal: refused, so that the container gets no terminal of "
		    "the caller (redirect restore's %s from a pipe or /dev/null)",
		    stream_names[fd], stream_names[fd], stream_names[fd]);
	return 0;
}

/* The descriptor for stream @fd: one opened for it, or restore's own (@caller_fds[fd]). */
static int stream_fd(const char *images, int state_dir_fd, const int *caller_fds, struct stdio_keys *k,
		     int fd, struct berth_error *err)
{
	int own = caller_fds ? caller_fds[fd] : fd;
	int r = 0;
	switch (k->kind[fd]) {
	case STDIO_KIND_NULL:
		k->opened[fd] = open("/dev/null", O_RDWR | O_NOCTTY);
		r = k->opened[fd] < 0
			? berth_error_setf_errno(err, -errno, "open /dev/null for the container's %s",
						 stream_names[fd])
			: 0;
		break;
	case STDIO_KIND_LOG:
		r = open_log(images, state_dir_fd, &k->opened[fd], err);
		/* CRIU (our child) must inherit it */
		if (r == 0 && fcntl(k->opened[fd], F_SETFD, 0) < 0)
			r = berth_error_setf_errno(err, -errno, "pass the log to CRIU");
		break;
	case STDIO_KIND_FILE:
		r = check_caller_fd(own, fd, k->mode[fd], err);
		return r < 0 ? r : own;
	case STDIO_KIND_PIPE:
		r = check_caller_pipe(own, fd, err);
		return r < 0 ? r : own;
	default:
		return own;
	}
	if (r < 0)
		return r;
	k->is_open[fd] = true;
	return k->opened[fd];
}

int ckpt_stdio_restore(const char *images, int state_dir_fd, const int *caller_fds, struct stdio_keys *k,
		       struct ckpt_opts *o, struct berth_error *err)
{
	if (!record_load(images, k))
		return 0; /* a checkpoint made elsewhere: CRIU says what it misses */
	for (int fd = 0; fd < STDIO_MAX; fd++) {
		bool seen = false;
		for (int prev = 0; prev < fd; prev++)
			seen |= k->has[prev] && strcmp(k->key[prev], k->key[fd]) == 0;
		if (!k->has[fd] || seen)
			continue; /* one descriptor per key: stdout and stderr often share one file */
		if (o->n_inherit_fds >= CKPT_MAX_MAPS)
			return berth_error_set(err, -E2BIG, "too many descriptors to hand to CRIU");
		int use = stream_fd(images, state_dir_fd, caller_fds, k, fd, err);
		if (use < 0)
			return use;
		o->inherit_fds[o->n_inherit_fds++] = (struct ckpt_inherit_fd){use, k->key[fd]};
	}
	return 0;
}

void ckpt_stdio_release(struct stdio_keys *k)
{
	for (int fd = 0; fd < STDIO_MAX; fd++)
		if (k->is_open[fd]) {
			close(k->opened[fd]);
			k->is_open[fd] = false;
		}
}
