/* Rootless cgroups: which part of a pure cgroup v2 tree a non-root caller may use. systemd
 * delegates a subtree to a user by chowning its directory and its cgroup.procs,
 * cgroup.subtree_control and cgroup.threads files (Delegate=yes); ownership is what is checked
 * here, so a test tree of plain directories answers like the real one. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/util.h"
#include "internal.h"

/* @rel: a cgroup path relative to the v2 root ("" for the root itself). */
static bool delegated_to(int root_fd, const char *rel, uid_t uid)
{
	static const char *const files[] = {"cgroup.procs", "cgroup.subtree_control"};
	_cleanup_close_ int fd = openat(root_fd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != uid)
		return false;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (fstatat(fd, files[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_uid != uid)
			return false;
	return true;
}

static bool has_processes(int root_fd, const char *rel)
{
	_cleanup_close_ int fd = openat(root_fd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char buf[16];
	return fd < 0 || cg_read(fd, "cgroup.procs", buf, sizeof(buf)) != 0;
}

/* "/a/b/c" -> "a/b" (in place, as a relative path); false at the root. */
static bool to_parent(char *rel)
{
	char *slash = strrchr(rel, '/');
	if (!*rel)
		return false;
	if (slash)
		*slash = '\0';
	else
		*rel = '\0';
	return true;
}

int cgroup_delegated_parent(int v2_root_fd, const char *self, uid_t uid, char *ret, size_t size, char *why,
			    size_t why_size)
{
	char rel[PATH_MAX];

	while (*self == '/')
		self++;
	if (snprintf(rel, sizeof(rel), "%s", self) >= (int)sizeof(rel))
		return -ENAMETOOLONG;
	for (size_t len = strlen(rel); len > 0 && rel[len - 1] == '/'; len--)
		rel[len - 1] = '\0';
	if (!delegated_to(v2_root_fd, rel, uid)) {
		snprintf(why, why_size, "the caller's cgroup /%s is not delegated to uid %u", rel,
			 (unsigned)uid);
		return 0;
	}
	/* cgroup v2 enables controllers only below a cgroup without processes of its own, and the
	 * caller's cgroup holds at least berth itself: go up to the nearest delegated ancestor that
	 * holds none (a slice systemd made for the user). */
	char cand[PATH_MAX];
	snprintf(cand, sizeof(cand), "%s", rel);
	do {
		if (!delegated_to(v2_root_fd, cand, uid))
			break;
		if (!has_processes(v2_root_fd, cand)) {
			snprintf(ret, size, "/%s", cand);
			return 1;
		}
	} while (to_parent(cand));
	snprintf(ret, size, "/%s", rel);
	return 1;
}

int cgroup_path_delegated(int v2_root_fd, const char *path, uid_t uid, char *why, size_t why_size)
{
	char rel[PATH_MAX];
	struct stat st;

	while (*path == '/')
		path++;
	if (snprintf(rel, sizeof(rel), "%s", path) >= (int)sizeof(rel))
		return -ENAMETOOLONG;
	/* The nearest existing level decides: below it berth makes the directories itself. */
	while (*rel && fstatat(v2_root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		to_parent(rel);
	if (delegated_to(v2_root_fd, rel, uid))
		return 1;
	snprintf(why, why_size, "cgroup /%s is not delegated to uid %u", rel, (unsigned)uid);
	return 0;
}

int cgroup_self_v2(char *ret, size_t size)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file_at(AT_FDCWD, "/proc/self/cgroup", 1u << 16, &text, &len);

	if (r < 0)
		return r;
	for (char *line = text; line && *line;) {
		char *end = strchrnul(line, '\n');
		if (strncmp(line, "0::/", 4) == 0) {
			snprintf(ret, size, "%.*s", (int)(end - line - 3), line + 3);
			return 0;
		}
		line = *end ? end + 1 : NULL;
	}
	return -ENOENT;
}
