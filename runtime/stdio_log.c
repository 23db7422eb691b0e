/* The log of a detached container, and `berth logs` (stdio_log.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/runtime.h"
#include "berth/termsafe.h"
#include "berth/util.h"
#include "lifecycle.h"
#include "stdio_log.h"

/* Move @fd to a number >= 3 (stdio of the init is made with dup2 onto 0..2: none of the sources
 * may be one of those). */
static int above_stdio(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int saved = errno;
	close(fd);
	errno = saved;
	return moved;
}

/* Reopen @fd (a regular file checked by the caller) without the O_NOFOLLOW it was opened with: the
 * open flags stay with the file, and CRIU reopens an external file at restore through its
 * /proc/<pid>/fd magic link with those flags, which O_NOFOLLOW refuses (ELOOP). */
static int reopen_append(int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int r = above_stdio(open(path, O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC));
	return r < 0 ? -errno : r;
}

int stdio_log_open_append(int dir_fd, int *ret_fd, struct berth_error *err)
{
	struct stat st;
	/* never through a symlink, though only the state root's owner may write there */
	_cleanup_close_ int fd = openat(
	    dir_fd, STDIO_LOG_FILE, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "open the container's log " STDIO_LOG_FILE);
	int r = fstat(fd, &st) < 0 ? -errno : !S_ISREG(st.st_mode) ? -EINVAL : 0;
	if (r == 0 && fchmod(fd, 0600) < 0)
		r = -errno;
	if (r < 0)
		return berth_error_setf_errno(err, r,
					      "the container's log " STDIO_LOG_FILE " is not a usable file");
	r = reopen_append(fd);
	if (r < 0)
		return berth_error_setf_errno(err, r, "reopen the container's log " STDIO_LOG_FILE);
	*ret_fd = r;
	return 0;
}

int stdio_log_open(int dir_fd, int ret_fds[3], struct berth_error *err)
{
	int in = above_stdio(open("/dev/null", O_RDONLY | O_NOCTTY | O_CLOEXEC));
	if (in < 0)
		return berth_error_setf_errno(err, -errno, "open /dev/null for the container's stdin");
	int out = -EBADF;
	int r = stdio_log_open_append(dir_fd, &out, err);
	if (r < 0) {
		close(in);
		return r;
	}
	ret_fds[0] = in;
	ret_fds[1] = ret_fds[2] = out;
	return 0;
}

void stdio_log_close(int fds[3])
{
	if (fds[2] != fds[1])
		closep(&fds[2]);
	closep(&fds[1]);
	closep(&fds[0]);
	fds[2] = -EBADF;
}

/* The start of the next data at or after @pos below @end, or @end when there is none: holes are
 * skipped. O_APPEND writes never make a hole; only the container can, by an ftruncate of its fd
 * 1 beyond the end (a sparse file of any size that costs it nothing and that a plain copy would
 * write out in full, as NUL bytes to the admin's terminal or into a checkpoint). */
static off_t next_data(int in, off_t pos, off_t end)
{
	off_t data = lseek(in, pos, SEEK_DATA);
	if (data < 0)
		return errno == ENXIO ? end : pos; /* ENXIO: only a hole up to the end */
	return data < end ? data : end;
}

/* Copy the data of @in from its offset up to @end (not beyond, so that a writer faster than the
 * copy cannot keep it going) into @out, skipping holes; @in is left at @end (or at its end if it
 * shrank meanwhile). The count, or -errno. */
static ssize_t copy_upto(int in, int out, off_t end, struct term_filter *tf)
{
	char buf[65536];
	static char safe[TERM_FILTER_OUT_MAX(sizeof(buf))]; /* off the stack; one copy at a time */
	ssize_t total = 0;
	off_t pos = lseek(in, 0, SEEK_CUR);
	if (pos < 0)
		return -errno;
	while (pos < end) {
		off_t data = next_data(in, pos, end);
		if (data != pos && lseek(in, data, SEEK_SET) < 0)
			return -errno;
		pos = data;
		if (pos >= end)
			break;
		size_t want = end - pos < (off_t)sizeof(buf) ? (size_t)(end - pos) : sizeof(buf);
		ssize_t n = read(in, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* truncated meanwhile */
		int r = tf ? write_all(out, safe, term_filter_feed(tf, buf, (size_t)n, safe))
			   : write_all(out, buf, (size_t)n);
		if (r < 0)
			return r;
		total += n;
		pos += n;
	}
	return total;
}

/* Open the regular file @name below @dfd for reading: never through a symlink, and a FIFO or a
 * device is refused before anything waits on it (O_NONBLOCK; no effect on a regular file). */
static int open_regular(int dfd, const char *name, struct stat *st)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	return TAKE_FD(fd);
}

int stdio_log_copy(int src_dfd, const char *name, int out_fd, struct berth_error *err)
{
	struct stat st;
	_cleanup_close_ int in = open_regular(src_dfd, name, &st);
	if (in == -EINVAL)
		return berth_error_set(err, -EINVAL, "the log '%s' is not a regular file", name);
	if (in < 0)
		return berth_error_setf_errno(err, in, "open the log '%s'", name);
	ssize_t n = copy_upto(in, out_fd, st.st_size, NULL);
	if (n < 0)
		return berth_error_setf_errno(err, (int)n, "copy the log '%s'", name);
	return 0;
}

/* ---- berth logs ---- */

static int open_log_of(const struct berth_context *ctx, const char *id, struct container *c, int *ret_fd,
		       struct berth_error *err)
{
	int r = container_peek(ctx, id, c, err);
	if (r < 0)
		return r;
	struct stat st;
	int fd = open_regular(c->dir_fd, STDIO_LOG_FILE, &st);
	if (fd == -ENOENT)
		return berth_error_set(err, -ENOENT,
				       "container \"%s\" has no log: only a detached run without a terminal "
				       "(run -d) writes one; other containers write to their creator's stdio",
				       id);
	if (fd == -EINVAL)
		return berth_error_set(
		    err, -EINVAL, "the log of container \"%s\" (" STDIO_LOG_FILE ") is not a regular file",
		    id);
	if (fd < 0)
		return berth_error_setf_errno(err, fd, "open the log of container \"%s\"", id);
	*ret_fd = fd;
	return 0;
}

/* Print what was added to the log since the last call, up to its size now (without -f: one call,
 * the log as it is when `logs` starts, even while the container writes on). A log shorter than
 * our offset was truncated (the container may ftruncate its fd 1): start again from its
 * beginning, as tail -f does, instead of waiting, silent, for it to grow past the old offset. */
static ssize_t follow_step(int fd, int out_fd, struct term_filter *tf)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	off_t pos = lseek(fd, 0, SEEK_CUR);
	if (pos < 0)
		return -errno;
	if (st.st_size < pos && lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	return copy_upto(fd, out_fd, st.st_size, tf);
}

int berth_container_logs(const struct berth_context *ctx, const char *id, bool follow, bool term_safe,
			 int out_fd, struct berth_error *err)
{
	struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
	_cleanup_close_ int fd = -EBADF;
	struct term_filter filter = {0}, *tf = term_safe ? &filter : NULL;
	int r = open_log_of(ctx, id, &c, &fd, err);
	while (r == 0) {
		/* The status before the read: output written before the process stopped is read. */
		bool stopped = !follow || container_status(ctx, &c) == OCI_STATUS_STOPPED;
		ssize_t n = follow_step(fd, out_fd, tf);
		if (n < 0)
			r = berth_error_setf_errno(err, (int)n, "logs \"%s\"", id);
		if (r < 0 || stopped)
			break;
		if (n == 0)
			nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
	}
	if (r == 0 && tf) {
		char tail[TERM_FILTER_OUT_MAX(0)];
		int w = write_all(out_fd, tail, term_filter_end(tf, tail));
		if (w < 0)
			r = berth_error_setf_errno(err, w, "logs \"%s\"", id);
	}
	container_release(&c);
	return r;
}
