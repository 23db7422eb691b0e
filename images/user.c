/* The image's User ("", "uid", "name", "uid:gid", "name:group") resolved through the image's
 * own /etc/passwd and /etc/group, read inside its root filesystem (never the host's). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/util.h"
#include "internal.h"

#define DB_MAX (4u << 20)
#define GROUPS_MAX 64

/* A regular file inside the rootfs (a device node or fifo planted as /etc/passwd is never
 * opened), at most DB_MAX bytes. */
static int read_db(int rootfs_fd, const char *path, char **ret)
{
	_cleanup_close_ int pfd = inroot_open(rootfs_fd, path, O_PATH, true, false), fd = -EBADF;
	char proc[64];
	struct stat st;
	size_t len;

	if (pfd < 0)
		return pfd;
	if (fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)DB_MAX)
		return -EINVAL;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return read_fd_all(fd, DB_MAX, ret, &len);
}

static bool parse_id(const char *s, uint32_t *ret)
{
	int64_t v;

	if (!s[0] || parse_int64(s, 0, UINT32_MAX - 1, &v) < 0)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* Field @n (0-based) of a ':'-separated line, copied into @out. */
static bool field(const char *line, int n, char *out, size_t size)
{
	size_t end = strcspn(line, "\n");

	for (int i = 0; i < n; i++) {
		const char *colon = memchr(line, ':', end);
		if (!colon)
			return false;
		end -= (size_t)(colon + 1 - line);
		line = colon + 1;
	}
	size_t len = strcspn(line, ":\n");
	if (len >= size)
		return false;
	memcpy(out, line, len);
	out[len] = '\0';
	return true;
}

/* The line of @db whose field @key_field equals @key (a name or a decimal id). */
static const char *find_line(const char *db, int key_field, const char *key)
{
	char value[256];

	for (const char *line = db; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (field(line, key_field, value, sizeof(value)) && strcmp(value, key) == 0)
			return line;
	}
	return NULL;
}

/* Every group listing @user as a member (field 3), except @primary. */
static int member_groups(const char *db, const char *user, uint32_t primary, uint32_t **ret, size_t *ret_n)
{
	uint32_t *gids = NULL;
	size_t n = 0;
	char members[4096], gid_s[32];

	for (const char *line = db; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		uint32_t gid;
		bool member = false;

		if (!field(line, 3, members, sizeof(members)) || !field(line, 2, gid_s, sizeof(gid_s)) ||
		    !parse_id(gid_s, &gid) || gid == primary)
			continue;
		for (char *tok = strtok(members, ","); tok && !member; tok = strtok(NULL, ","))
			member = strcmp(tok, user) == 0;
		if (!member || n >= GROUPS_MAX)
			continue;
		uint32_t *g = realloc(gids, (n + 1) * sizeof(*g));
		if (!g) {
			free(gids);
			return -ENOMEM;
		}
		gids = g;
		gids[n++] = gid;
	}
	*ret = gids;
	*ret_n = n;
	return 0;
}

static int resolve_group(const char *group_db, const char *group, uint32_t *ret, struct berth_error *err)
{
	const char *line;
	char gid_s[32];

	if (parse_id(group, ret))
		return 0;
	line = group_db ? find_line(group_db, 0, group) : NULL;
	if (!line || !field(line, 2, gid_s, sizeof(gid_s)) || !parse_id(gid_s, ret))
		return berth_error_set(err, -ENOENT, "group \"%s\" is not in the image's /etc/group", group);
	return 0;
}

int image_user_resolve(int rootfs_fd, const char *user, uint32_t *ret_uid, uint32_t *ret_gid,
		       uint32_t **ret_gids, size_t *ret_n_gids, struct berth_error *err)
{
	_cleanup_free_ char *passwd = NULL, *group_db = NULL, *spec = NULL;
	const char *line = NULL, *group;
	char name[256] = "", id_s[32];
	uint32_t uid = 0, gid = 0;
	char *colon;
	int r;

	*ret_gids = NULL;
	*ret_n_gids = 0;
	spec = strdup(user ? user : "");
	if (!spec)
		return berth_error_set(err, -ENOMEM, "out of memory");
	colon = strchr(spec, ':');
	if (colon)
		*colon = '\0';
	group = colon ? colon + 1 : NULL;
	(void)read_db(rootfs_fd, "etc/passwd", &passwd);
	(void)read_db(rootfs_fd, "etc/group", &group_db);
	if (!spec[0] || parse_id(spec, &uid)) {
		/* A numeric user takes its primary group from passwd when it is listed there. */
		snprintf(id_s, sizeof(id_s), "%u", uid);
		line = passwd ? find_line(passwd, 2, id_s) : NULL;
		if (line && field(line, 3, id_s, sizeof(id_s)))
			(void)parse_id(id_s, &gid);
		if (line)
			field(line, 0, name, sizeof(name));
	} else {
		line = passwd ? find_line(passwd, 0, spec) : NULL;
		if (!line || !field(line, 2, id_s, sizeof(id_s)) || !parse_id(id_s, &uid) ||
		    !field(line, 3, id_s, sizeof(id_s)) || !parse_id(id_s, &gid))
			return berth_error_set(err, -ENOENT, "user \"%s\" is not in the image's /etc/passwd",
					       spec);
		snprintf(name, sizeof(name), "%s", spec);
	}
	if (group && group[0]) {
		r = resolve_group(group_db, group, &gid, err);
		if (r < 0)
			return r;
	} else if (name[0] && group_db) {
		r = member_groups(group_db, name, gid, ret_gids, ret_n_gids);
		if (r < 0)
			return berth_error_set(err, r, "out of memory");
	}
	*ret_uid = uid;
	*ret_gid = gid;
	return 0;
}
