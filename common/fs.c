/* File and descriptor helpers. Every open uses O_CLOEXEC; paths are relative to a dirfd. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/util.h"

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return read_fd_all(fd, max, ret_buf, ret_len);
}

int read_fd_all(int fd, size_t max, char **ret_buf, size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max)
				return -EFBIG;
			char *nbuf = realloc(buf, cap * 2);
			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int write_file_at(int dirfd, const char *path, const void *buf, size_t len, bool create, mode_t mode)
{
	int flags = O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY | (create ? O_CREAT : 0);
	_cleanup_close_ int fd = openat(dirfd, path, flags, mode);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, buf, len);
	if (r < 0)
		return r;
	if (close(TAKE_FD(fd)) < 0)
		return -errno;
	return 0;
}

int write_file_atomic_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int r = write_file_at(dirfd, tmp, buf, len, true, mode);
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	if (renameat(dirfd, tmp, dirfd, path) < 0) {
		r = -errno;
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	return 0;
}

int mkdir_p_at(int dirfd, const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdirat(dirfd, buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdirat(dirfd, buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int rm_children(int dfd, dev_t dev)
{
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		int r = -errno;
		close(dfd);
		return r;
	}
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (st.st_dev != dev) /* a mount point: never descend into it */
				return -EBUSY;
			int sub =
			    openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				return -errno;
			int r = rm_children(sub, dev);
			if (r < 0)
				return r;
			if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
				ret = -errno;
		} else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
			ret = -errno;
		}
	}
	return ret;
}

int rm_rf_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = rm_children(fd, st.st_dev);
	if (r < 0)
		return r;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int fds_cloexec_from(int from)
{
	if (syscall(SYS_close_range, (unsigned)from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	/* Older kernels: walk /proc/self/fd. */
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd < from || fd == dirfd(d))
			continue;
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0)
			fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	}
	return 0;
}

int unix_send_fd(int sock, int fd, const void *data, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	const char *msg = data;
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	while ((size_t)n < len) {
		ssize_t m = send(sock, msg + n, len - (size_t)n, MSG_NOSIGNAL);
		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0)
			return m < 0 ? -errno : -EPIPE;
		n += m;
	}
	return 0;
}

int stat_check_trusted(const struct stat *st, const char *what, const char *path, const char *name,
		       struct berth_error *err)
{
	const char *sep = name ? "/" : "";
	if (!name)
		name = "";
	uid_t me = geteuid();
	if (st->st_uid != me)
		return berth_error_set(err, -EPERM, "%s '%s%s%s': owned by uid %u, not by uid %u", what, path,
				       sep, name, (unsigned)st->st_uid, (unsigned)me);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return berth_error_set(err, -EPERM, "%s '%s%s%s': writable by %s (mode %04o)", what, path,
				       sep, name, (st->st_mode & S_IWOTH) ? "others" : "its group",
				       (unsigned)(st->st_mode & 07777));
	return 0;
}

int fd_check_trusted(int fd, const char *what, const char *path, const char *name, struct berth_error *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berth_error_setf_errno(err, -errno, "%s '%s%s%s'", what, path, name ? "/" : "",
					      name ? name : "");
	return stat_check_trusted(&st, what, path, name, err);
}
