/* tmpcopyup_copy (runtime/tmpcopyup.c): a temporary tree copied into an empty directory keeps
 * content, modes, owners, xattrs (security.capability too), times and symlinks as links (one
 * pointing out of the tree must not be followed); the limits fail with a clear message. As root
 * (ownership); skipped otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/error.h"
#include "../../runtime/tmpcopyup.h"

struct tree {
	char base[64];
	char src[96], dst[96];
	int srcfd, dstfd;
	bool user_xattr; /* the test's filesystem takes user.* attributes */
};

/* A v2 security.capability value granting CAP_NET_BIND_SERVICE (bit 10) permitted, effective. */
static const unsigned char cap_value[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
					    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

static void put(const char *dir, const char *name, const char *content, mode_t mode)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void make_tree(struct tree *t)
{
	char p[PATH_MAX];
	struct timespec ts[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};

	put(t->base, "outside-secret", "host secret", 0600);
	assert_int_equal(mkdir(t->src, 0755), 0);
	assert_int_equal(mkdir(t->dst, 0755), 0);
	put(t->src, "file", "hello", 0640);
	put(t->src, "owned", "owned by 1000", 0644);
	snprintf(p, sizeof(p), "%s/owned", t->src);
	assert_int_equal(chown(p, 1000, 1001), 0);
	put(t->src, "setuid", "s", 04755);
	snprintf(p, sizeof(p), "%s/setuid", t->src);
	assert_int_equal(chown(p, 1000, 1000), 0);
	assert_int_equal(chmod(p, 04755), 0);
	put(t->src, "capfile", "c", 0755);
	snprintf(p, sizeof(p), "%s/capfile", t->src);
	assert_int_equal(setxattr(p, "security.capability", cap_value, sizeof(cap_value), 0), 0);
	put(t->src, "xattr", "x", 0644);
	snprintf(p, sizeof(p), "%s/xattr", t->src);
	t->user_xattr = setxattr(p, "user.berth", "value", 5, 0) == 0;
	snprintf(p, sizeof(p), "%s/dir", t->src);
	assert_int_equal(mkdir(p, 0750), 0);
	put(p, "nested", "deep", 0600);
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	snprintf(p, sizeof(p), "%s/file", t->src);
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	/* links out of the tree: copied as links, never followed */
	snprintf(p, sizeof(p), "%s/abs", t->src);
	assert_int_equal(symlink(t->base, p), 0);
	snprintf(p, sizeof(p), "%s/rel", t->src);
	assert_int_equal(symlink("../outside-secret", p), 0);
	snprintf(p, sizeof(p), "%s/fifo", t->src);
	assert_int_equal(mkfifo(p, 0620), 0);
	assert_int_equal(chmod(p, 0620), 0); /* not the umask's */
}

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (geteuid() != 0) {
		free(t);
		return 0;
	}
	snprintf(t->base, sizeof(t->base), "/tmp/berth-tmpcopyup.XXXXXX");
	assert_non_null(mkdtemp(t->base));
	snprintf(t->src, sizeof(t->src), "%s/src", t->base);
	snprintf(t->dst, sizeof(t->dst), "%s/dst", t->base);
	make_tree(t);
	t->srcfd = open(t->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	t->dstfd = open(t->dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->srcfd >= 0 && t->dstfd >= 0);
	*state = t;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;

	if (!t)
		return 0;
	close(t->srcfd);
	close(t->dstfd);
	nftw(t->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

static void check_file(const struct tree *t, const char *name, const char *content, mode_t mode, uid_t uid,
		       gid_t gid)
{
	char p[PATH_MAX], buf[64] = {0};
	struct stat st;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", t->dst, name);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) >= 0);
	close(fd);
	assert_string_equal(buf, content);
}

static void check_link(const struct tree *t, const char *name, const char *target)
{
	char p[PATH_MAX], buf[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(p, sizeof(p), "%s/%s", t->dst, name);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	n = readlink(p, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, target);
}

static void test_copy(void **state)
{
	struct tree *t = *state;
	struct berth_error err = {0};
	char p[PATH_MAX], v[64];
	struct stat st;

	if (!t)
		skip();
	assert_int_equal(tmpcopyup_copy(t->srcfd, t->dstfd, NULL, &err), 0);
	check_file(t, "file", "hello", 0640, 0, 0);
	check_file(t, "owned", "owned by 1000", 0644, 1000, 1001);
	check_file(t, "setuid", "s", 04755, 1000, 1000); /* set after the chown that clears it */
	check_file(t, "dir/nested", "deep", 0600, 0, 0);
	snprintf(p, sizeof(p), "%s/dir", t->dst);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000); /* after its children were written */
	snprintf(p, sizeof(p), "%s/file", t->dst);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	/* the links out of the tree are links, with the same text; nothing outside was copied */
	check_link(t, "abs", t->base);
	check_link(t, "rel", "../outside-secret");
	snprintf(p, sizeof(p), "%s/outside-secret", t->dst);
	assert_int_not_equal(lstat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/fifo", t->dst);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0620);
	/* security.capability survives the chown (written after it) */
	snprintf(p, sizeof(p), "%s/capfile", t->dst);
	assert_int_equal(getxattr(p, "security.capability", v, sizeof(v)), (ssize_t)sizeof(cap_value));
	assert_memory_equal(v, cap_value, sizeof(cap_value));
	if (t->user_xattr) {
		snprintf(p, sizeof(p), "%s/xattr", t->dst);
		assert_int_equal(getxattr(p, "user.berth", v, sizeof(v)), 5);
		assert_memory_equal(v, "value", 5);
	}
	/* the root: mode and owner of the source when asked */
	assert_int_equal(chmod(t->src, 0711), 0);
	assert_int_equal(chown(t->src, 1000, 1000), 0);
	assert_int_equal(tmpcopyup_copy_root_attrs(t->srcfd, t->dstfd, false, false, &err), 0);
	assert_int_equal(stat(t->dst, &st), 0);
	assert_true((st.st_mode & 07777) == 0711 && st.st_uid == 1000 && st.st_gid == 1000);
}

static void expect_limit(struct tree *t, struct tmpcopyup_limits lim, int code, const char *words)
{
	struct berth_error err = {0};
	char p[PATH_MAX];

	/* a fresh target each time */
	nftw(t->dst, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	assert_int_equal(mkdir(t->dst, 0755), 0);
	close(t->dstfd);
	t->dstfd = open(t->dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->dstfd >= 0);
	assert_int_equal(tmpcopyup_copy(t->srcfd, t->dstfd, &lim, &err), code);
	snprintf(p, sizeof(p), "%s", err.msg);
	if (!strstr(p, words))
		fail_msg("message \"%s\" lacks \"%s\"", p, words);
}

static void test_limits(void **state)
{
	struct tree *t = *state;

	if (!t)
		skip();
	expect_limit(t, (struct tmpcopyup_limits){.max_bytes = 1 << 20, .max_entries = 3, .max_depth = 8},
		     -E2BIG, "tmpcopyup: more than 3 entries");
	expect_limit(t, (struct tmpcopyup_limits){.max_bytes = 4, .max_entries = 1000, .max_depth = 8},
		     -EFBIG, "tmpcopyup: more than 4 bytes");
	expect_limit(t, (struct tmpcopyup_limits){.max_bytes = 1 << 20, .max_entries = 1000, .max_depth = 0},
		     -ELOOP, "tmpcopyup: more than 0 directory levels (at 'dir')");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
