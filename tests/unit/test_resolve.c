/* The in-root path resolver (common/resolve.c, include/berth/resolve.h): every escape class, each
 * run against BOTH the openat2 path and the user-space walk (INROOT_FALLBACK):
 *   - ".." beyond the root, absolute symlinks, relative symlinks climbing out,
 *   - symlink loops and the 40-link limit (ELOOP),
 *   - procfs magic links (/proc/self/root, /proc/self/fd/N), also from a /proc inside the tree,
 *   - a component swapped for a symlink during the walk: deterministically through the walk's
 *     before_step hook, and by a thread exchanging a directory and a symlink (RENAME_EXCHANGE)
 *     while both resolvers run.
 * The layout: <T>/outside holds what an escape would reach (files saying OUTSIDE); <T>/root is
 * the root, with decoys (files saying INSIDE) exactly where the in-root reading of each attack
 * lands, so a success is checked to be the decoy, never the outside file. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/resolve.h"

#define SWAP_ROUNDS 1000

static struct {
	char base[64];     /* <T> */
	char root[96];     /* <T>/root */
	char outside[96];  /* <T>/outside */
	int root_fd;       /* O_PATH of the root */
	bool have_openat2; /* the kernel has openat2 */
	bool proc_in_tree; /* <T>/root/proc is a bind of /proc (a private mount namespace) */
} F;

/* The two resolvers every case runs against. */
static const unsigned int modes[] = {0, INROOT_FALLBACK};
#define FOR_EACH_MODE(m)                                                                                     \
	for (size_t mi_ = 0; mi_ < 2; mi_++)                                                                 \
		for (unsigned int m = modes[mi_], once_ = 1; once_ && (mi_ == 1 || F.have_openat2); once_ = 0)

/* ---- fixture ---- */

static void put(const char *rel_to, const char *path, const char *content)
{
	char full[PATH_MAX];
	int fd;

	snprintf(full, sizeof(full), "%s/%s", rel_to, path);
	fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static void mkdirs(const char *rel_to, const char *path)
{
	char full[PATH_MAX];

	assert_true((size_t)snprintf(full, sizeof(full), "%s/%s", rel_to, path) < sizeof(full));
	for (char *p = full + strlen(rel_to) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		(void)mkdir(full, 0755);
		*p = '/';
	}
	(void)mkdir(full, 0755);
}

static void link_at(const char *rel_to, const char *path, const char *target)
{
	char full[PATH_MAX];

	snprintf(full, sizeof(full), "%s/%s", rel_to, path);
	(void)unlink(full);
	assert_int_equal(symlink(target, full), 0);
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* A private mount namespace (root, or an unprivileged user namespace) so that /proc can be bound
 * inside the tree. Done before any thread exists (unshare(CLONE_NEWNS) needs that). */
static void bind_proc_in_tree(void)
{
	char dir[PATH_MAX];

	if (unshare(CLONE_NEWNS) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return;
	snprintf(dir, sizeof(dir), "%s/proc", F.root);
	F.proc_in_tree = mkdir(dir, 0755) == 0 && mount("/proc", dir, NULL, MS_BIND | MS_REC, NULL) == 0;
}

static int group_setup(void **state)
{
	struct open_how how = {.flags = O_PATH, .resolve = RESOLVE_IN_ROOT};
	long fd;

	(void)state;
	snprintf(F.base, sizeof(F.base), "/tmp/berth-resolve-XXXXXX");
	assert_non_null(mkdtemp(F.base));
	snprintf(F.root, sizeof(F.root), "%s/root", F.base);
	snprintf(F.outside, sizeof(F.outside), "%s/outside", F.base);
	mkdirs(F.base, "outside/c");
	put(F.outside, "c/marker", "OUTSIDE");
	put(F.outside, "marker", "OUTSIDE");
	/* the root, and decoys where the in-root readings of the attacks land */
	mkdirs(F.base, "root/a/b/c");
	put(F.root, "a/b/c/marker", "B-INSIDE");
	mkdirs(F.base, "root/outside/c");
	put(F.root, "outside/c/marker", "INSIDE");
	put(F.root, "outside/marker", "INSIDE");
	mkdirs(F.root, F.outside + 1); /* <root>/<T>/outside: where an absolute link lands */
	char deep[PATH_MAX];
	snprintf(deep, sizeof(deep), "%s/c", F.outside + 1);
	mkdirs(F.root, deep);
	snprintf(deep, sizeof(deep), "%s/c/marker", F.outside + 1);
	put(F.root, deep, "INSIDE");
	snprintf(deep, sizeof(deep), "%s/marker", F.outside + 1);
	put(F.root, deep, "INSIDE");
	bind_proc_in_tree();
	/* opened in the mount namespace that has the /proc bind */
	F.root_fd = open(F.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(F.root_fd >= 0);
	fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
	F.have_openat2 = fd >= 0;
	if (fd >= 0)
		close((int)fd);
	return 0;
}

static int group_teardown(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/proc", F.root);
	if (F.proc_in_tree)
		umount2(dir, MNT_DETACH);
	close(F.root_fd);
	nftw(F.base, rm_cb, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	return 0;
}

/* ---- helpers ---- */

/* Resolve and read: the file's first bytes, or "E<errno>" on failure. */
static const char *read_via(unsigned int flags, const char *path, const struct inroot_opts *opts)
{
	static char buf[64];
	int fd = -EBADF, r = inroot_resolve(F.root_fd, path, flags, O_RDONLY, opts, &fd);
	ssize_t n;

	if (r < 0) {
		snprintf(buf, sizeof(buf), "E%d", -r);
		return buf;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void expect_read(unsigned int flags, const char *path, const char *want)
{
	const char *got = read_via(flags, path, NULL);

	if (strcmp(got, want) != 0)
		fail_msg("%s (%s): got \"%s\", want \"%s\"", path,
			 flags & INROOT_FALLBACK ? "walk" : "openat2", got, want);
}

static void expect_errno(unsigned int flags, int open_flags, const char *path, int want)
{
	int fd = -EBADF, r = inroot_resolve(F.root_fd, path, flags, open_flags, NULL, &fd);

	if (r >= 0)
		close(fd);
	if (r != -want)
		fail_msg("%s (%s): got %d, want %d", path, flags & INROOT_FALLBACK ? "walk" : "openat2", r,
			 -want);
}

/* The directory listing of <T>/outside (names, one string): must never change. */
static void outside_listing(char *buf, size_t size)
{
	char cmd[256];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "cd %s && find . | sort", F.outside);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(buf, 1, size - 1, p);
	buf[n] = '\0';
	pclose(p);
}

static void assert_outside_intact(void)
{
	char now[1024];

	outside_listing(now, sizeof(now));
	assert_string_equal(now, ".\n./c\n./c/marker\n./marker\n");
}

/* ---- ".." ---- */

static void test_dotdot(void **state)
{
	(void)state;
	FOR_EACH_MODE(m)
	{
		expect_read(m, "../outside/c/marker", "INSIDE");
		expect_read(m, "../../../../outside/marker", "INSIDE");
		expect_read(m, "a/../../../outside/c/marker", "INSIDE");
		expect_read(m, "/../a/b/../../../a/b/c/marker", "B-INSIDE");
		expect_read(m, "a/b/c/../../../../outside/c/marker", "INSIDE");
		/* ".." of the root is the root */
		int fd = -EBADF;
		struct stat st, root_st;
		assert_int_equal(inroot_resolve(F.root_fd, "../..", m, O_PATH | O_DIRECTORY, NULL, &fd), 0);
		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(fstat(F.root_fd, &root_st), 0);
		assert_true(st.st_ino == root_st.st_ino && st.st_dev == root_st.st_dev);
		close(fd);
	}
	assert_outside_intact();
}

/* ---- absolute and relative symlinks ---- */

static void test_symlinks(void **state)
{
	(void)state;
	char target[PATH_MAX];

	link_at(F.root, "abs", F.outside); /* "<T>/outside": a host path */
	snprintf(target, sizeof(target), "%s/marker", F.outside);
	link_at(F.root, "absfile", target);
	link_at(F.root, "slash", "/");
	link_at(F.root, "a/up", "../../../../../../..");
	link_at(F.root, "a/rel", "../../outside/c");
	link_at(F.root, "relfile", "../../outside/marker");
	FOR_EACH_MODE(m)
	{
		expect_read(m, "abs/c/marker", "INSIDE");
		expect_read(m, "absfile", "INSIDE");
		snprintf(target, sizeof(target), "slash/slash%s/marker", F.outside);
		expect_read(m, target, "INSIDE");
		expect_read(m, "a/up/outside/c/marker", "INSIDE");
		expect_read(m, "a/up/../../outside/marker", "INSIDE");
		expect_read(m, "a/rel/marker", "INSIDE");
		expect_read(m, "relfile", "INSIDE");
		/* NO_SYMLINKS refuses any of them */
		expect_errno(m | INROOT_NO_SYMLINKS, O_RDONLY, "abs/c/marker", ELOOP);
		expect_errno(m | INROOT_NO_SYMLINKS, O_RDONLY, "relfile", ELOOP);
		/* O_NOFOLLOW keeps a trailing link: O_PATH gives the link, an open ELOOP */
		int fd = -EBADF;
		struct stat st;
		assert_int_equal(inroot_resolve(F.root_fd, "absfile", m, O_PATH | O_NOFOLLOW, NULL, &fd), 0);
		assert_int_equal(fstat(fd, &st), 0);
		assert_true(S_ISLNK(st.st_mode));
		close(fd);
		expect_errno(m, O_RDONLY | O_NOFOLLOW, "absfile", ELOOP);
		/* a trailing '/' demands a directory */
		expect_errno(m, O_PATH, "a/b/c/marker/", ENOTDIR);
	}
	assert_outside_intact();
}

/* Creating through symlinks: MKDIR makes the target inside the root; MK_LITERAL (the unpacker)
 * refuses to make a dangling link's target. */
static void test_create(void **state)
{
	(void)state;
	char path[PATH_MAX];
	struct stat st;

	link_at(F.root, "dangling", "/made/by/link");
	link_at(F.root, "up2", "../../../../outside/new");
	FOR_EACH_MODE(m)
	{
		int fd = -EBADF;

		expect_errno(m | INROOT_MKDIR | INROOT_MK_LITERAL, O_PATH, "dangling/x", ENOENT);
		assert_int_equal(inroot_resolve(F.root_fd, "dangling/x", m | INROOT_MKDIR, O_PATH, NULL, &fd),
				 0);
		close(fd);
		assert_int_equal(fstatat(F.root_fd, "made/by/link/x", &st, 0), 0);
		assert_int_equal(inroot_resolve(F.root_fd, "up2/d/f", m | INROOT_MKFILE, O_RDONLY, NULL, &fd),
				 0);
		close(fd);
		assert_int_equal(fstatat(F.root_fd, "outside/new/d/f", &st, 0), 0);
		assert_true(S_ISREG(st.st_mode));
		/* a file in the way */
		expect_errno(m | INROOT_MKDIR, O_PATH, "a/b/c/marker/sub", ENOTDIR);
		snprintf(path, sizeof(path), "rm -rf %s/made %s/outside/new", F.root, F.root);
		assert_int_equal(system(path), 0);
	}
	assert_outside_intact();
}

/* The unpacker's directory attributes: the callback sees the path as walked. */
static void record_attrs(void *data, const char *path, struct inroot_dir_attrs *ret)
{
	snprintf(data, PATH_MAX, "%s", path);
	ret->mode = 01777;
	ret->uid = getuid();
	ret->gid = getgid();
	ret->mtime = (struct timespec){.tv_sec = 1000000000};
	ret->set = true;
}

static void test_dir_attrs(void **state)
{
	(void)state;
	char seen[PATH_MAX] = "";
	const struct inroot_opts opts = {.dir_attrs = record_attrs, .data = seen, .chown_ok = true};
	struct stat st;

	link_at(F.root, "via", "a/b");
	FOR_EACH_MODE(m)
	{
		int fd = -EBADF;

		assert_int_equal(inroot_resolve(F.root_fd, "via/t", m | INROOT_MKDIR, O_PATH, &opts, &fd), 0);
		close(fd);
		assert_string_equal(seen, "a/b/t");
		assert_int_equal(fstatat(F.root_fd, "a/b/t", &st, AT_SYMLINK_NOFOLLOW), 0);
		assert_int_equal(st.st_mode & 07777, 01777);
		assert_int_equal(st.st_mtim.tv_sec, 1000000000);
		assert_int_equal(unlinkat(F.root_fd, "a/b/t", AT_REMOVEDIR), 0);
	}
}

/* ---- loops ---- */

static void test_loops(void **state)
{
	(void)state;
	char name[32], next[32];

	link_at(F.root, "loop1", "loop2");
	link_at(F.root, "loop2", "/loop1");
	link_at(F.root, "self", "self");
	link_at(F.root, "deep", "deep/x");
	/* chain0 -> chain1 -> ... -> chain40 -> a/b/c/marker: 41 links, one too many */
	for (int i = 0; i <= 40; i++) {
		snprintf(name, sizeof(name), "chain%d", i);
		snprintf(next, sizeof(next), "chain%d", i + 1);
		link_at(F.root, name, i == 40 ? "a/b/c/marker" : next);
	}
	FOR_EACH_MODE(m)
	{
		expect_errno(m, O_PATH, "loop1", ELOOP);
		expect_errno(m, O_PATH, "self/x", ELOOP);
		expect_errno(m, O_PATH, "deep", ELOOP);
		expect_errno(m | INROOT_MKDIR, O_PATH, "loop1/x", ELOOP);
		expect_read(m, "chain1", "B-INSIDE"); /* 40 links: the kernel's limit, still fine */
		expect_errno(m, O_RDONLY, "chain0", ELOOP);
	}
}

/* ---- magic links ---- */

static void test_magic_links(void **state)
{
	(void)state;
	int procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int outfd = open(F.outside, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char path[PATH_MAX];

	assert_true(procfd >= 0 && outfd >= 0);
	FOR_EACH_MODE(m)
	{
		int fd = -EBADF;
		struct stat st;

		/* /proc as the root: plain links (self) work, magic ones do not */
		assert_int_equal(inroot_resolve(procfd, "self/status", m, O_RDONLY, NULL, &fd), 0);
		close(fd);
		snprintf(path, sizeof(path), "self/fd/%d/marker", outfd);
		assert_int_equal(inroot_resolve(procfd, path, m, O_RDONLY, NULL, &fd), -ELOOP);
		snprintf(path, sizeof(path), "self/root%s/marker", F.outside);
		assert_int_equal(inroot_resolve(procfd, path, m, O_RDONLY, NULL, &fd), -ELOOP);
		assert_int_equal(inroot_resolve(procfd, "thread-self/cwd", m, O_PATH, NULL, &fd), -ELOOP);
		/* not following the last one gives the link itself */
		assert_int_equal(inroot_resolve(procfd, "self/root", m, O_PATH | O_NOFOLLOW, NULL, &fd), 0);
		assert_int_equal(fstat(fd, &st), 0);
		assert_true(S_ISLNK(st.st_mode));
		close(fd);
		if (!F.proc_in_tree)
			continue;
		/* a /proc inside the tree, reached directly and through the tree's own symlinks */
		snprintf(path, sizeof(path), "proc/self/root%s/marker", F.outside);
		expect_errno(m, O_RDONLY, path, ELOOP);
		snprintf(path, sizeof(path), "proc/self/fd/%d/marker", outfd);
		expect_errno(m, O_RDONLY, path, ELOOP);
		link_at(F.root, "sneaky", "/proc/self/root");
		snprintf(path, sizeof(path), "sneaky%s/marker", F.outside);
		expect_errno(m, O_RDONLY, path, ELOOP);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", outfd);
		link_at(F.root, "fdlink", path);
		expect_errno(m, O_RDONLY, "fdlink/marker", ELOOP);
		expect_errno(m | INROOT_MKDIR, O_PATH, "fdlink/newdir", ELOOP);
		expect_errno(m | INROOT_NO_XDEV, O_PATH, "proc/self", EXDEV);
		expect_read(m, "proc/self/comm", "test_resolve\n");
	}
	if (!F.proc_in_tree)
		print_message("no private mount namespace: /proc inside the tree not tested\n");
	close(procfd);
	close(outfd);
	assert_outside_intact();
}

/* ---- a component swapped during the walk: the walk's hook ---- */

struct swap {
	const char *walked, *name; /* swap when the walk is about to open @name in @walked */
	int skip;                  /* ... after letting this many such calls pass */
	const char *victim;        /* path below the root replaced ... */
	const char *link;          /* ... by a symlink to this */
	int done;
};

#define SWAP(w, n, k, v, l)                                                                                  \
	((struct swap){.walked = (w), .name = (n), .skip = (k), .victim = (v), .link = (l)})

static void swap_hook(void *data, const char *walked, const char *name)
{
	struct swap *s = data;
	char path[PATH_MAX], aside[PATH_MAX + 8];

	if (s->done || strcmp(walked, s->walked) != 0 || strcmp(name, s->name) != 0 || s->skip-- > 0)
		return;
	snprintf(path, sizeof(path), "%s/%s", F.root, s->victim);
	snprintf(aside, sizeof(aside), "%s.aside", path);
	if (rename(path, aside) < 0 && errno != ENOENT)
		return;
	if (symlink(s->link, path) == 0)
		s->done = 1;
}

static void unswap(const struct swap *s)
{
	char path[PATH_MAX], aside[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/%s", F.root, s->victim);
	snprintf(aside, sizeof(aside), "%s.aside", path);
	assert_int_equal(unlink(path), 0);
	(void)rename(aside, path);
}

/* Run @path through the walk with @s swapped in; the answer is an error or inside the root. */
static void swap_case(struct swap s, unsigned int flags, const char *path, const char *const *allowed)
{
	const struct inroot_opts opts = {.before_step = swap_hook, .data = &s};
	const char *got = read_via(INROOT_FALLBACK | flags, path, &opts);
	bool ok = got[0] == 'E';

	if (!s.done)
		fail_msg("%s: the hook never swapped %s", path, s.victim);
	for (size_t i = 0; allowed[i]; i++)
		ok = ok || strcmp(got, allowed[i]) == 0;
	if (!ok)
		fail_msg("%s with %s -> %s swapped in: got \"%s\"", path, s.victim, s.link, got);
	unswap(&s);
	assert_outside_intact();
}

static void test_swap_hook(void **state)
{
	(void)state;
	static const char *const inside[] = {"INSIDE", "B-INSIDE", NULL};
	char abs_target[PATH_MAX];

	snprintf(abs_target, sizeof(abs_target), "%s/c/marker", F.outside);
	/* a directory replaced by an absolute link to the host just before it is opened */
	swap_case(SWAP("a", "b", 0, "a/b", F.outside), 0, "a/b/c/marker", inside);
	/* ... by a relative link climbing out */
	swap_case(SWAP("a", "b", 0, "a/b", "../../../../outside"), 0, "a/b/c/marker", inside);
	/* ... while ".." re-opens the walked names from the root (the second time "b" is opened) */
	swap_case(SWAP("a", "b", 1, "a/b", F.outside), 0, "a/b/c/../c/marker", inside);
	/* the file itself swapped between the walk and the final open */
	swap_case(SWAP("a/b/c", "marker", 0, "a/b/c/marker", abs_target), 0, "a/b/c/marker", inside);
	swap_case(SWAP("a/b/c", "marker", 1, "a/b/c/marker", "/../../../outside/marker"), 0, "a/b/c/marker",
		  inside);
	/* a directory MKDIR just made, swapped before it is opened: what follows is made inside */
	{
		struct swap s = SWAP("a/b", "fresh", 1, "a/b/fresh", F.outside);
		const struct inroot_opts opts = {.before_step = swap_hook, .data = &s};
		int fd = -EBADF;
		struct stat st;

		assert_int_equal(inroot_resolve(F.root_fd, "a/b/fresh/newdir", INROOT_FALLBACK | INROOT_MKDIR,
						O_PATH, &opts, &fd),
				 0);
		assert_true(s.done);
		close(fd);
		snprintf(abs_target, sizeof(abs_target), "%s/newdir", F.outside + 1);
		assert_int_equal(fstatat(F.root_fd, abs_target, &st, AT_SYMLINK_NOFOLLOW), 0);
		assert_int_equal(unlinkat(F.root_fd, abs_target, AT_REMOVEDIR), 0);
		unswap(&s);
		assert_int_equal(unlinkat(F.root_fd, "a/b/fresh", AT_REMOVEDIR), 0);
	}
	assert_outside_intact();
}

/* ---- a component swapped during the walk: a racing thread, both resolvers ---- */

static atomic_bool stop_swapping;
static atomic_long swaps;

/* Exchange <root>/a/b (a directory) with a symlink out of the root, again and again. */
static void *swapper(void *arg)
{
	const char *link = arg;
	char dir[PATH_MAX], lnk[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/a/b", F.root);
	snprintf(lnk, sizeof(lnk), "%s/a/swap", F.root);
	(void)unlink(lnk);
	if (symlink(link, lnk) < 0)
		return NULL;
	while (!atomic_load(&stop_swapping)) {
		if (syscall(SYS_renameat2, AT_FDCWD, dir, AT_FDCWD, lnk, RENAME_EXCHANGE) == 0)
			atomic_fetch_add(&swaps, 1);
		sched_yield(); /* on a busy machine, let the resolving thread run too */
	}
	/* leave a/b the directory */
	struct stat st;
	if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
		(void)syscall(SYS_renameat2, AT_FDCWD, dir, AT_FDCWD, lnk, RENAME_EXCHANGE);
	(void)unlink(lnk);
	return NULL;
}

static void race(const char *link)
{
	pthread_t t;
	long inside = 0, errors = 0, escaped = 0;
	char made[PATH_MAX], first_bad[128] = "";

	atomic_store(&stop_swapping, false);
	atomic_store(&swaps, 0);
	assert_int_equal(pthread_create(&t, NULL, swapper, (void *)link), 0);
	/* no cmocka assertion until the swapper is joined: a failure must not leave it running */
	for (int i = 0; i < SWAP_ROUNDS; i++) {
		unsigned int m = modes[i % 2];
		const char *got;
		int fd = -EBADF;

		if (m == 0 && !F.have_openat2)
			m = INROOT_FALLBACK;
		got = read_via(m, "a/b/c/marker", NULL);
		if (got[0] == 'E') {
			errors++;
		} else if (strcmp(got, "B-INSIDE") == 0 || strcmp(got, "INSIDE") == 0) {
			inside++;
		} else if (escaped++ == 0) {
			snprintf(first_bad, sizeof(first_bad), "%s read \"%s\"", m ? "walk" : "openat2", got);
		}
		/* creating below the swapped component */
		snprintf(made, sizeof(made), "a/b/made%d/c", i);
		if (inroot_resolve(F.root_fd, made, m | INROOT_MKDIR, O_PATH, NULL, &fd) == 0)
			close(fd);
	}
	atomic_store(&stop_swapping, true);
	pthread_join(t, NULL);
	print_message("race with %s: %ld swaps, %ld reads inside, %ld errors\n", link,
		      (long)atomic_load(&swaps), inside, errors);
	if (escaped)
		fail_msg("race with %s: %ld reads outside the root, first: %s", link, escaped, first_bad);
	assert_true(atomic_load(&swaps) > 0);
	assert_outside_intact();
}

static void test_swap_race(void **state)
{
	(void)state;
	race(F.outside);
	race("../../outside");
	race("../../../../../../../..");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dotdot),    cmocka_unit_test(test_symlinks),
	    cmocka_unit_test(test_create),    cmocka_unit_test(test_dir_attrs),
	    cmocka_unit_test(test_loops),     cmocka_unit_test(test_magic_links),
	    cmocka_unit_test(test_swap_hook), cmocka_unit_test(test_swap_race),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
