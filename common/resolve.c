/* The in-root path resolver (include/berth/resolve.h): openat2(RESOLVE_IN_ROOT) when the kernel
 * has it, and a user-space walk that gives the same answers where it does not, and that creates
 * missing components (openat2 cannot).
 *
 * The walk holds an O_PATH descriptor of the directory reached so far and the names that led
 * there from the root. Each component is opened with O_NOFOLLOW relative to that descriptor and
 * checked through the new descriptor itself (fstat), so swapping a component for a symlink
 * between two steps only changes which in-root object is reached: a symlink is read from the
 * descriptor and resolved again from the root or the current directory. ".." never uses the
 * directory's own "..": it drops the last name and re-opens the remaining names from the root, so
 * a directory moved out of the root meanwhile cannot take the walk with it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/resolve.h"

#define WALK_MAX_LINKS 40 /* as the kernel's MAXSYMLINKS */
#define PROC_ROOT_INO 1
#define OPENAT2_TRIES 32

int inroot_mount_id(int fd, uint64_t *ret_id)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) < 0)
		return -errno;
	if (!(stx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	*ret_id = stx.stx_mnt_id;
	return 0;
}

/* ---- the user-space walk ---- */

struct walk {
	int rootfd;
	unsigned int flags;
	int open_flags;
	const struct inroot_opts *opts;
	int cur;    /* owned: the object reached so far (a directory unless the walk ended) */
	int parent; /* owned: the directory holding cur (-EBADF at the root) */
	unsigned int links;
	uint64_t root_mnt;       /* for INROOT_NO_XDEV; 0: no mount ids (Linux < 5.8) */
	dev_t root_dev;          /* ... then the filesystem is compared instead */
	char path[PATH_MAX];     /* names from the root to cur, '/'-separated ("" at the root) */
	char last[NAME_MAX + 1]; /* cur's name in parent */
	char rest[2 * PATH_MAX]; /* what is left to walk */
	size_t literal_left;     /* the tail of rest that is still the caller's own path */
};

/* One component cut off w->rest. */
struct comp {
	char name[NAME_MAX + 1];
	bool last;       /* nothing follows */
	bool dir_wanted; /* a '/' follows: it must be (or lead to) a directory */
	bool literal;    /* written in the caller's path, not in a symlink's target */
};

static void walk_hook(const struct walk *w, const char *name)
{
	if (w->opts && w->opts->before_step)
		w->opts->before_step(w->opts->data, w->path, name);
}

/* The hook for the final open of cur through its parent: the walked path is the parent's. */
static void walk_hook_last(const struct walk *w)
{
	char parent[PATH_MAX], *slash;

	if (!w->opts || !w->opts->before_step)
		return;
	snprintf(parent, sizeof(parent), "%s", w->path);
	slash = strrchr(parent, '/');
	*(slash ? slash : parent) = '\0';
	w->opts->before_step(w->opts->data, parent, w->last);
}

/* Back to the root, nothing walked. */
static int walk_reset(struct walk *w)
{
	int fd = fcntl(w->rootfd, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		return -errno;
	closep(&w->parent);
	closep(&w->cur);
	w->cur = fd;
	w->path[0] = '\0';
	w->last[0] = '\0';
	return 0;
}

static int walk_check_xdev(const struct walk *w, int fd, const struct stat *st)
{
	uint64_t id = 0;

	if (!(w->flags & INROOT_NO_XDEV))
		return 0;
	if (w->root_mnt ? (inroot_mount_id(fd, &id) < 0 || id != w->root_mnt) : st->st_dev != w->root_dev)
		return -EXDEV;
	return 0;
}

/* Make @fd (named @name inside cur) the new cur. */
static int walk_push(struct walk *w, const char *name, int fd)
{
	size_t len = strlen(w->path);

	if (len + 1 + strlen(name) + 1 > sizeof(w->path)) {
		close(fd);
		return -ENAMETOOLONG;
	}
	snprintf(w->path + len, sizeof(w->path) - len, "%s%s", len ? "/" : "", name);
	snprintf(w->last, sizeof(w->last), "%s", name);
	closep(&w->parent);
	w->parent = w->cur;
	w->cur = fd;
	return 0;
}

/* ".." : drop the last name and re-open what remains from the root, each component a directory
 * reached without following anything (they were directories when the walk passed them). */
static int walk_up(struct walk *w)
{
	char names[PATH_MAX], *slash = strrchr(w->path, '/');
	int r;

	if (!w->path[0])
		return 0; /* ".." at the root stays at the root */
	if (slash)
		*slash = '\0';
	else
		w->path[0] = '\0';
	snprintf(names, sizeof(names), "%s", w->path);
	r = walk_reset(w);
	for (char *p = names, *save = NULL, *name; r == 0 && (name = strtok_r(p, "/", &save)); p = NULL) {
		struct stat st;
		int fd;

		walk_hook(w, name);
		fd = openat(w->cur, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		r = fstat(fd, &st) < 0 ? -errno : walk_check_xdev(w, fd, &st);
		if (r < 0) {
			close(fd);
			return r;
		}
		r = walk_push(w, name, fd);
	}
	return r;
}

/* A symlink inside a procfs directory other than the procfs root is a magic link
 * (/proc/<pid>/fd/N, exe, cwd, root, ns/...): jumping through one could leave the root, so it is
 * refused as RESOLVE_NO_MAGICLINKS does. The procfs root only holds plain ones (self, mounts). */
static bool in_magic_dir(int dirfd)
{
	struct statfs sfs;
	struct stat st;

	if (fstatfs(dirfd, &sfs) < 0 || fstat(dirfd, &st) < 0)
		return true;
	return sfs.f_type == PROC_SUPER_MAGIC && st.st_ino != PROC_ROOT_INO;
}

/* Replace the symlink @fd (just opened in cur) by its target in w->rest. */
static int walk_follow(struct walk *w, int fd)
{
	char target[PATH_MAX];
	size_t rest_len = strlen(w->rest);
	ssize_t n;

	if (w->flags & INROOT_NO_SYMLINKS)
		return -ELOOP;
	if (++w->links > WALK_MAX_LINKS || in_magic_dir(w->cur))
		return -ELOOP;
	n = readlinkat(fd, "", target, sizeof(target));
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENOENT;
	if ((size_t)n >= sizeof(target) || (size_t)n + 1 + rest_len + 1 > sizeof(w->rest))
		return -ENAMETOOLONG;
	/* "<target>/<rest>", or just "<target>" when the link was the last component (a '/' added
	 * there would demand a directory) */
	if (rest_len) {
		memmove(w->rest + n + 1, w->rest, rest_len + 1);
		w->rest[n] = '/';
	} else {
		w->rest[n] = '\0';
	}
	memcpy(w->rest, target, (size_t)n);
	return target[0] == '/' ? walk_reset(w) : 0;
}

/* A missing directory: made 0700 and opened without following, then given its mode (and owner,
 * times) through that descriptor, so it is never reachable with looser permissions. */
static int make_dir(const struct walk *w, const char *name)
{
	struct inroot_dir_attrs a = {.mode = 0755};
	char path[PATH_MAX + NAME_MAX + 2];
	_cleanup_close_ int fd = -EBADF;

	if (!w->opts) /* the runtime's mount points: as mkdir(2) makes them */
		return mkdirat(w->cur, name, 0755) < 0 ? -errno : 0;
	if (w->opts->dir_attrs) {
		snprintf(path, sizeof(path), "%s%s%s", w->path, w->path[0] ? "/" : "", name);
		w->opts->dir_attrs(w->opts->data, path, &a);
	}
	if (mkdirat(w->cur, name, 0700) < 0)
		return -errno;
	fd = openat(w->cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (a.set && w->opts->chown_ok && fchown(fd, a.uid, a.gid) < 0)
		return -errno;
	if (fchmod(fd, a.set ? a.mode & 07777 : 0755) < 0)
		return -errno;
	if (a.set)
		(void)futimens(fd, (const struct timespec[2]){a.mtime, a.mtime});
	return 0;
}

static int walk_create(const struct walk *w, const struct comp *c)
{
	int fd;

	if (c->last && !c->dir_wanted && (w->flags & INROOT_MKFILE)) {
		fd = openat(w->cur, c->name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		close(fd);
		return 0;
	}
	return make_dir(w, c->name);
}

static bool may_create(const struct walk *w, const struct comp *c)
{
	if (!(w->flags & (INROOT_MKDIR | INROOT_MKFILE)))
		return false;
	return c->literal || !(w->flags & INROOT_MK_LITERAL);
}

/* O_PATH|O_NOFOLLOW open of the component in cur, creating it when asked. */
static int walk_open(const struct walk *w, const struct comp *c, int *ret_fd)
{
	for (int tries = 0; tries < 3; tries++) {
		int fd, r;

		walk_hook(w, c->name);
		fd = openat(w->cur, c->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			*ret_fd = fd;
			return 0;
		}
		if (errno != ENOENT || !may_create(w, c))
			return -errno;
		r = walk_create(w, c);
		if (r < 0 && r != -EEXIST) /* EEXIST: made concurrently, open it */
			return r;
	}
	return -ENOENT;
}

static int walk_step(struct walk *w, const struct comp *c)
{
	_cleanup_close_ int fd = -EBADF;
	bool last = c->last, dir_wanted = c->dir_wanted;
	struct stat st;
	int r;

	if (strcmp(c->name, ".") == 0)
		return 0;
	if (strcmp(c->name, "..") == 0)
		return walk_up(w);
	r = walk_open(w, c, &fd);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return -errno;
	r = walk_check_xdev(w, fd, &st);
	if (r < 0)
		return r;
	if (S_ISLNK(st.st_mode) && (!last || dir_wanted || !(w->open_flags & O_NOFOLLOW)))
		return walk_follow(w, fd);
	if ((!last || dir_wanted) && !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return walk_push(w, c->name, TAKE_FD(fd));
}

/* Cut the next component off w->rest. Returns 1 with @c set, 0 at the end. Symlink targets are
 * spliced in front of rest, so the caller's own path is always its tail. */
static int walk_next(struct walk *w, struct comp *c)
{
	char *p = w->rest + strspn(w->rest, "/");
	size_t n = strcspn(p, "/");

	if (n == 0)
		return 0;
	if (n > NAME_MAX)
		return -ENAMETOOLONG;
	c->literal = (size_t)(p - w->rest) + w->literal_left >= strlen(w->rest);
	memcpy(c->name, p, n);
	c->name[n] = '\0';
	p += n;
	c->dir_wanted = *p == '/';
	memmove(w->rest, p, strlen(p) + 1);
	c->last = w->rest[strspn(w->rest, "/")] == '\0';
	if (c->literal)
		w->literal_left = strlen(w->rest);
	return 1;
}

/* The object the walk ended on, with the caller's flags. O_PATH: the walk's own descriptor. A
 * directory is reopened through itself; anything else through its parent by name, checked to be
 * the same inode (a swap in between answers -EAGAIN). */
static int walk_finish(struct walk *w, int *ret_fd)
{
	struct stat st, st2;
	int fd;

	if (fstat(w->cur, &st) < 0)
		return -errno;
	if ((w->open_flags & O_DIRECTORY) && !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (w->open_flags & O_PATH) {
		*ret_fd = TAKE_FD(w->cur);
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		fd = openat(w->cur, ".", w->open_flags | O_CLOEXEC);
	} else {
		walk_hook_last(w);
		fd = openat(w->parent, w->last, w->open_flags | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
		close(fd);
		return -EAGAIN;
	}
	*ret_fd = fd;
	return 0;
}

static int walk_run(struct walk *w, int *ret_fd)
{
	struct comp c;
	struct stat st;
	int r;

	if (fstat(w->rootfd, &st) < 0)
		return -errno;
	w->root_dev = st.st_dev;
	if ((w->flags & INROOT_NO_XDEV) && inroot_mount_id(w->rootfd, &w->root_mnt) < 0)
		w->root_mnt = 0;
	r = walk_reset(w);
	while (r == 0 && (r = walk_next(w, &c)) > 0)
		r = walk_step(w, &c);
	if (r < 0)
		return r;
	return walk_finish(w, ret_fd);
}

static int resolve_walk(int rootfd, const char *path, unsigned int flags, int open_flags,
			const struct inroot_opts *opts, int *ret_fd)
{
	_cleanup_free_ struct walk *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	if (strlen(path) >= sizeof(w->rest))
		return -ENAMETOOLONG;
	*w = (struct walk){.rootfd = rootfd,
			   .flags = flags,
			   .open_flags = open_flags,
			   .opts = opts,
			   .cur = -EBADF,
			   .parent = -EBADF};
	strcpy(w->rest, path);
	w->literal_left = strlen(path);
	r = walk_run(w, ret_fd);
	closep(&w->cur);
	closep(&w->parent);
	return r;
}

/* ---- openat2 ---- */

static int resolve_openat2(int rootfd, const char *path, unsigned int flags, int open_flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(open_flags | O_CLOEXEC),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	if (flags & INROOT_NO_SYMLINKS)
		how.resolve |= RESOLVE_NO_SYMLINKS;
	if (flags & INROOT_NO_XDEV)
		how.resolve |= RESOLVE_NO_XDEV;
	/* RESOLVE_IN_ROOT answers EAGAIN when a rename or mount raced with ".." */
	for (int i = 0; i < OPENAT2_TRIES; i++) {
		long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN)
			return -errno;
	}
	return -EAGAIN;
}

/* Answers of openat2 that say "use the walk": not there (ENOSYS), refused by a seccomp filter
 * (EPERM), an older struct open_how (E2BIG), or a tree that kept changing (EAGAIN, which the
 * walk, re-opening from the root on "..", does not need to give). */
static bool openat2_unusable(int r)
{
	return r == -ENOSYS || r == -EPERM || r == -E2BIG || r == -EAGAIN;
}

int inroot_resolve(int rootfd, const char *path, unsigned int flags, int open_flags,
		   const struct inroot_opts *opts, int *ret_fd)
{
	bool create = flags & (INROOT_MKDIR | INROOT_MKFILE);
	int fd;

	if (!path || (open_flags & O_CREAT))
		return -EINVAL;
	if (!path[strspn(path, "/")])
		path = ".";
	if (!(flags & INROOT_FALLBACK)) {
		fd = resolve_openat2(rootfd, path, flags, open_flags);
		if (fd >= 0) {
			*ret_fd = fd;
			return 0;
		}
		/* the walk is the fallback without openat2, and what creates missing components */
		if (!openat2_unusable(fd) && !(fd == -ENOENT && create))
			return fd;
	}
	return resolve_walk(rootfd, path, flags, open_flags, opts, ret_fd);
}
