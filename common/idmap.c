/* Id maps written by an unprivileged caller: subordinate ranges and the newuidmap/newgidmap
 * helpers (include/berth/idmap.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/idmap.h"
#include "berth/util.h"

extern char **environ;

static bool parse_u32(const char *s, size_t len, uint32_t *ret)
{
	uint64_t v = 0;
	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

int idmap_subid_find(const char *text, const char *name, uint32_t id, uint32_t *ret_start,
		     uint32_t *ret_count)
{
	char idbuf[16];
	snprintf(idbuf, sizeof(idbuf), "%" PRIu32, id);
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n'), *next = end ? end + 1 : NULL;
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *c1 = memchr(line, ':', len),
			   *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 - line) - 1) : NULL;
		uint32_t start, count;
		size_t owner = c1 ? (size_t)(c1 - line) : 0;

		line = next;
		if (!c2 || owner == 0)
			continue;
		if (!((name && strlen(name) == owner && memcmp(c1 - owner, name, owner) == 0) ||
		      (strlen(idbuf) == owner && memcmp(c1 - owner, idbuf, owner) == 0)))
			continue;
		if (!parse_u32(c1 + 1, (size_t)(c2 - c1 - 1), &start) ||
		    !parse_u32(c2 + 1, len - (size_t)(c2 + 1 - (c1 - owner)), &count) || count == 0)
			continue;
		*ret_start = start;
		*ret_count = count;
		return 1;
	}
	return 0;
}

bool idmap_is_self(const struct idmap_range *m, size_t n, uint32_t own)
{
	return n == 1 && m[0].inner == 0 && m[0].outer == own && m[0].count == 1;
}

static int write_map_file(pid_t pid, const char *file, const struct idmap_range *m, size_t n)
{
	char buf[4096], path[64];
	size_t len = 0;
	for (size_t i = 0; i < n && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n",
					m[i].inner, m[i].outer, m[i].count);
	if (len >= sizeof(buf))
		return -E2BIG;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	return write_file_at(AT_FDCWD, path, buf, len, false, 0);
}

/* Run @helper (newuidmap/newgidmap) for @pid and @m; its stderr goes into @out. */
static int run_helper(const char *helper, pid_t pid, const struct idmap_range *m, size_t n, char *out,
		      size_t size)
{
	char *argv[2 + 3 * 340 + 1], nums[3 * 340 + 1][12];
	size_t k = 0, w = 0;
	int pfd[2], status = 0, r;
	pid_t child;
	posix_spawn_file_actions_t fa;

	if (n > 340)
		return -E2BIG;
	argv[k++] = (char *)helper;
	snprintf(nums[w], sizeof(nums[0]), "%d", (int)pid);
	argv[k++] = nums[w++];
	for (size_t i = 0; i < n; i++) {
		uint32_t v[3] = {m[i].inner, m[i].outer, m[i].count};
		for (int j = 0; j < 3; j++) {
			snprintf(nums[w], sizeof(nums[0]), "%" PRIu32, v[j]);
			argv[k++] = nums[w++];
		}
	}
	argv[k] = NULL;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	r = -posix_spawnp(&child, helper, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	out[0] = '\0';
	if (r == 0) {
		ssize_t got = read_full(pfd[0], out, size - 1);
		out[got > 0 ? got : 0] = '\0';
		out[strcspn(out, "\n")] = '\0';
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			r = -EPERM;
	}
	close(pfd[0]);
	return r;
}

static int write_one(pid_t pid, bool direct, const char *file, const char *helper,
		     const struct idmap_range *m, size_t n, const char *field, struct berth_error *err)
{
	char words[256];
	int r;

	if (direct) {
		r = write_map_file(pid, file, m, n);
		return r < 0 ? berth_error_setf_errno(err, r, "%s: write /proc/%d/%s", field, (int)pid, file)
			     : 0;
	}
	r = run_helper(helper, pid, m, n, words, sizeof(words));
	if (r == -ENOENT)
		return berth_error_set(err, r,
				       "%s: mapping more than the caller's own id needs %s (Debian package "
				       "uidmap), which is not installed",
				       field, helper);
	if (r == -EPERM)
		return berth_error_set(err, r,
				       "%s: these ids are not allowed for this user (%s refused them: %s); "
				       "the ranges must lie in the user's lines of %s",
				       field, helper, words[0] ? words : "no reason given",
				       strcmp(file, "uid_map") == 0 ? IDMAP_SUBID_UID : IDMAP_SUBID_GID);
	return r < 0 ? berth_error_setf_errno(err, r, "%s: run %s", field, helper) : 0;
}

int idmap_write(pid_t pid, const struct idmap_range *uids, size_t n_uids, const struct idmap_range *gids,
		size_t n_gids, const char *uid_field, const char *gid_field, struct berth_error *err)
{
	bool root = geteuid() == 0;
	bool self = idmap_is_self(uids, n_uids, geteuid()) && idmap_is_self(gids, n_gids, getegid());
	int r;

	if (!root && self) {
		/* An unprivileged gid_map is only accepted once setgroups is denied. */
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
		r = write_file_at(AT_FDCWD, path, "deny", 4, false, 0);
		if (r < 0)
			return berth_error_setf_errno(err, r, "%s: write %s", gid_field, path);
	}
	r = write_one(pid, root || self, "uid_map", "newuidmap", uids, n_uids, uid_field, err);
	if (r == 0)
		r = write_one(pid, root || self, "gid_map", "newgidmap", gids, n_gids, gid_field, err);
	return r;
}
