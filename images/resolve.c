/* Paths inside a root directory: what keeps every write of the unpacker (and every read of an
 * image's /etc/passwd) below its target, whatever symlinks a layer planted.
 *
 * openat2(RESOLVE_IN_ROOT) does it in the kernel: ".." stops at the root and absolute symlinks
 * restart from it. Where openat2 is missing (before 5.6, or filtered by seccomp) the component
 * walk below does the same in user space: one O_PATH|O_NOFOLLOW step per component, symlinks
 * read and spliced into the remaining path, ".." popping a stack of names that never goes above
 * the root. Both refuse to cross into another mount. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "internal.h"

#define MAX_SYMLINKS 40

static int resolve_openat2(int root_fd, const char *path, int flags, bool follow)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};

	for (int tries = 0; tries < 16; tries++) {
		long fd = syscall(SYS_openat2, root_fd, path[0] ? path : ".", &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		/* EAGAIN: a rename raced with ".." resolution; try again. */
		if (errno != EAGAIN)
			return -errno;
	}
	return -EAGAIN;
}

/* ---- the component walk ---- */

struct walk {
	int root_fd;
	dev_t dev;
	int cur;              /* the directory reached so far */
	char stack[PATH_MAX]; /* its path below the root, components separated by '/' */
	size_t depth_len;
};

/* Re-open the directory named by w->stack from the root (after ".."): every component there was
 * a directory when it was pushed; O_NOFOLLOW|O_DIRECTORY fails if one was swapped meanwhile. */
static int reopen_stack(struct walk *w)
{
	int fd = fcntl(w->root_fd, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		return -errno;
	for (char *p = w->stack; *p;) {
		size_t n = strcspn(p, "/");
		char name[NAME_MAX + 1];
		int next;

		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		next = openat(fd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		if (next < 0)
			return -errno;
		fd = next;
		p += n + (p[n] == '/');
	}
	close(w->cur);
	w->cur = fd;
	return 0;
}

static int pop_component(struct walk *w)
{
	char *slash = strrchr(w->stack, '/');

	if (!w->stack[0])
		return 0; /* ".." at the root stays at the root */
	if (slash)
		*slash = '\0';
	else
		w->stack[0] = '\0';
	return reopen_stack(w);
}

static int push_component(struct walk *w, const char *name, int fd)
{
	size_t len = strlen(w->stack);

	if (len + strlen(name) + 2 > sizeof(w->stack))
		return -ENAMETOOLONG;
	snprintf(w->stack + len, sizeof(w->stack) - len, "%s%s", len ? "/" : "", name);
	close(w->cur);
	w->cur = fd;
	return 0;
}

/* Replace the pending path with "<target>/<rest>" and restart at the root for an absolute target. */
static int splice_link(struct walk *w, int link_fd, char *pending, size_t size, const char *rest)
{
	char target[PATH_MAX], joined[PATH_MAX * 2];
	ssize_t n = readlinkat(link_fd, "", target, sizeof(target) - 1);

	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (snprintf(joined, sizeof(joined), "%s%s%s", target, rest[0] ? "/" : "", rest) >= (int)size)
		return -ENAMETOOLONG;
	memcpy(pending, joined, strlen(joined) + 1);
	if (target[0] == '/') {
		w->stack[0] = '\0';
		return reopen_stack(w);
	}
	return 0;
}

static int walk_step(struct walk *w, char *pending, size_t size, bool follow, int *links)
{
	char name[NAME_MAX + 1], rest[PATH_MAX * 2];
	size_t n = strcspn(pending, "/");
	bool last;
	struct stat st;
	int fd, r;

	if (n > NAME_MAX)
		return -ENAMETOOLONG;
	snprintf(name, sizeof(name), "%.*s", (int)n, pending);
	snprintf(rest, sizeof(rest), "%s", pending + n + (pending[n] == '/'));
	last = rest[strspn(rest, "/")] == '\0';
	memcpy(pending, rest, strlen(rest) + 1);
	if (n == 0 || strcmp(name, ".") == 0)
		return 0;
	if (strcmp(name, "..") == 0)
		return pop_component(w);
	fd = openat(w->cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (st.st_dev != w->dev) {
		close(fd);
		return -EXDEV;
	}
	if (S_ISLNK(st.st_mode) && (!last || follow)) {
		if (++*links > MAX_SYMLINKS) {
			close(fd);
			return -ELOOP;
		}
		r = splice_link(w, fd, pending, size, rest);
		close(fd);
		return r;
	}
	if (!last && !S_ISDIR(st.st_mode)) {
		close(fd);
		return -ENOTDIR;
	}
	return push_component(w, name, fd);
}

/* The final descriptor with the caller's flags: O_PATH as walked, else re-opened through it. */
static int finish_walk(struct walk *w, int flags)
{
	struct stat st;
	int fd;

	if ((flags & O_DIRECTORY) && (fstat(w->cur, &st) < 0 || !S_ISDIR(st.st_mode)))
		return -ENOTDIR;
	if (flags & O_PATH)
		return TAKE_FD(w->cur);
	if (fstat(w->cur, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	/* Re-open the inode itself without a path walk. */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", w->cur);
	if (S_ISDIR(st.st_mode))
		fd = openat(w->cur, ".", (flags & ~O_NOFOLLOW) | O_CLOEXEC);
	else
		fd = open(proc, (flags & ~O_NOFOLLOW) | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int inroot_walk(int root_fd, const char *path, int flags, bool follow)
{
	struct walk w = {.root_fd = root_fd, .cur = -EBADF};
	char pending[PATH_MAX * 2];
	struct stat st;
	int links = 0, r = 0;

	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (fstat(root_fd, &st) < 0)
		return -errno;
	w.dev = st.st_dev;
	w.cur = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
	if (w.cur < 0)
		return -errno;
	snprintf(pending, sizeof(pending), "%s", path);
	while (r == 0 && pending[0])
		r = walk_step(&w, pending, sizeof(pending), follow, &links);
	if (r == 0)
		r = finish_walk(&w, flags);
	if (w.cur >= 0)
		close(w.cur);
	return r;
}

int inroot_open(int root_fd, const char *path, int flags, bool follow, bool no_openat2)
{
	if (!no_openat2) {
		int fd = resolve_openat2(root_fd, path, flags, follow);

		/* ENOSYS: no openat2; EPERM: a seccomp filter refusing it; E2BIG/EINVAL: an older
		 * struct open_how. Everything else is the answer. */
		if (fd >= 0 || (fd != -ENOSYS && fd != -EPERM && fd != -E2BIG))
			return fd;
	}
	return inroot_walk(root_fd, path, flags, follow);
}

/* ---- creating parents ---- */

static int make_dir(int parent_fd, const char *name, const char *path, bool chown_ok, dir_attrs_fn attrs,
		    void *data)
{
	struct dir_attrs a = {.mode = 0755};
	struct timespec times[2];
	int fd;

	if (attrs)
		attrs(data, path, &a);
	if (mkdirat(parent_fd, name, 0700) < 0)
		return errno == EEXIST ? 0 : -errno;
	fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (a.set && chown_ok && fchown(fd, a.uid, a.gid) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	(void)fchmod(fd, a.set ? a.mode & 07777 : 0755);
	if (a.set) {
		times[0] = a.mtime;
		times[1] = a.mtime;
		(void)futimens(fd, times);
	}
	close(fd);
	return 0;
}

int inroot_mkdirs(int root_fd, const char *path, bool no_openat2, bool chown_ok, dir_attrs_fn attrs,
		  void *data)
{
	char prefix[PATH_MAX];
	int fd, parent;
	size_t off = 0;

	fd = inroot_open(root_fd, path, O_PATH | O_DIRECTORY, true, no_openat2);
	if (fd != -ENOENT)
		return fd;
	/* Some component is missing: go down one component at a time, creating what is not there
	 * in the directory its parent resolved to. */
	if (strlen(path) >= sizeof(prefix))
		return -ENAMETOOLONG;
	parent = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
	if (parent < 0)
		return -errno;
	while (path[off]) {
		size_t n = strcspn(path + off, "/");
		char name[NAME_MAX + 1];
		int r;

		if (n > NAME_MAX) {
			close(parent);
			return -ENAMETOOLONG;
		}
		snprintf(name, sizeof(name), "%.*s", (int)n, path + off);
		memcpy(prefix, path, off + n);
		prefix[off + n] = '\0';
		off += n + (path[off + n] == '/');
		if (n == 0)
			continue;
		fd = inroot_open(root_fd, prefix, O_PATH | O_DIRECTORY, true, no_openat2);
		if (fd == -ENOENT) {
			r = make_dir(parent, name, prefix, chown_ok, attrs, data);
			fd = r < 0 ? r : inroot_open(root_fd, prefix, O_PATH | O_DIRECTORY, true, no_openat2);
		}
		close(parent);
		if (fd < 0)
			return fd;
		parent = fd;
	}
	return parent;
}
