/* The init's standard streams across a checkpoint (see ckpt_internal.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/checkpoint.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "berth/util.h"

#include "ckpt_internal.h"

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

void ckpt_stdio_collect(pid_t pid, struct stdio_keys *k, struct ckpt_opts *o)
{
	for (int fd = 0; fd < STDIO_MAX; fd++) {
		char path[64], target[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0 || stat(path, &st) < 0)
			continue;
		target[n] = '\0';
		if (str_has_prefix(target, "pipe:")) {
			snprintf(k->key[fd], sizeof(k->key[fd]), "%.90s", target);
			k->has[fd] = true;
		} else if (target[0] == '/') {
			unsigned long mnt = fd_mnt_id(pid, fd);
			if (!mnt || mount_visible(pid, mnt) || o->n_externals >= CKPT_MAX_MAPS)
				continue;
			snprintf(k->key[fd], sizeof(k->key[fd]), "file[%lx:%lx]", mnt,
				 (unsigned long)st.st_ino);
			k->has[fd] = true;
			o->externals[o->n_externals++] = k->key[fd];
		}
	}
}

int ckpt_stdio_save(const char *images, const struct stdio_keys *k, struct berth_error *err)
{
	char buf[STDIO_MAX * 112] = "";
	size_t len = 0;
	for (int fd = 0; fd < STDIO_MAX; fd++)
		if (k->has[fd])
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%d %s\n", fd, k->key[fd]);
	_cleanup_close_ int dfd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dfd < 0 ? -errno : write_file_at(dfd, STDIO_FILE, buf, len, true, 0600);
	if (r < 0)
		return berth_error_setf_errno(err, r, "save the stdio keys in '%s'", images);
	return 0;
}

/* Hand our own stdio to CRIU for each recorded key. */
int ckpt_stdio_restore(const char *images, struct stdio_keys *k, struct ckpt_opts *o)
{
	_cleanup_close_ int dfd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (dfd < 0 || read_file_at(dfd, STDIO_FILE, 4096, &buf, &len) < 0)
		return 0; /* a checkpoint made elsewhere: CRIU says what it misses */
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int fd;
		char key[96];
		if (sscanf(line, "%d %95s", &fd, key) != 2 || fd < 0 || fd >= STDIO_MAX)
			continue;
		snprintf(k->key[fd], sizeof(k->key[fd]), "%s", key);
		o->inherit_fds[o->n_inherit_fds++] = (struct ckpt_inherit_fd){fd, k->key[fd]};
	}
	return 0;
}
