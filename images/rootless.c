/* Rootless image containers: the user namespace an unprivileged unpack (and removal) runs in
 * (rootless.h). Part of release.c's world: linked into the static berth, so no passwd lookups
 * here (rootless_ids.c has them). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/idmap.h"
#include "berth/oci.h"
#include "berth/util.h"
#include "rootless.h"

void image_idmap_to_oci(const struct image_idmap *m, struct oci_id_mapping *uids, struct oci_id_mapping *gids)
{
	uids[0] = (struct oci_id_mapping){0, m->uid, 1};
	uids[1] = (struct oci_id_mapping){1, m->uid_start, m->uid_count};
	gids[0] = (struct oci_id_mapping){0, m->gid, 1};
	gids[1] = (struct oci_id_mapping){1, m->gid_start, m->gid_count};
}

int image_idmap_save(int dir_fd, const struct image_idmap *m, struct berth_error *err)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf),
			 "%" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32 "\n", m->uid,
			 m->gid, m->uid_start, m->uid_count, m->gid_start, m->gid_count);
	int r = write_file_at(dir_fd, CONTAINER_IDMAP_FILE, buf, (size_t)n, true, 0644);
	return r < 0 ? berth_error_setf_errno(err, r, "write the container's id map") : 0;
}

int image_idmap_load(int dir_fd, struct image_idmap *ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct image_idmap m;
	int r = read_file_at(dir_fd, CONTAINER_IDMAP_FILE, 256, &buf, &len);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (sscanf(buf, "%" SCNu32 " %" SCNu32 " %" SCNu32 " %" SCNu32 " %" SCNu32 " %" SCNu32, &m.uid,
		   &m.gid, &m.uid_start, &m.uid_count, &m.gid_start, &m.gid_count) != 6 ||
	    m.uid_count == 0 || m.gid_count == 0)
		return -EBADMSG;
	*ret = m;
	return 1;
}

static _Noreturn void child(int ready_w, int go_r, int result_w, int (*fn)(void *, struct berth_error *),
			    void *arg)
{
	struct berth_error e = {0};
	char b = 0;
	int r;

	if (unshare(CLONE_NEWUSER) < 0) {
		berth_error_setf_errno(&e, -errno, "create a user namespace for the unpack");
		goto out;
	}
	if (write(ready_w, "", 1) != 1 || read(go_r, &b, 1) != 1 || b != 'G') {
		berth_error_set(&e, -EIO, "the user namespace was not mapped");
		goto out;
	}
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		berth_error_setf_errno(&e, -errno, "become root in the user namespace");
		goto out;
	}
	r = fn(arg, &e);
	if (r < 0 && e.code == 0)
		berth_error_setf_errno(&e, r, "in the user namespace");
out:
	(void)!write(result_w, &e, sizeof(e));
	_exit(e.code ? 1 : 0);
}

int image_userns_run(const struct image_idmap *m, int (*fn)(void *arg, struct berth_error *err), void *arg,
		     struct berth_error *err)
{
	const struct idmap_range uids[] = {{0, m->uid, 1}, {1, m->uid_start, m->uid_count}};
	const struct idmap_range gids[] = {{0, m->gid, 1}, {1, m->gid_start, m->gid_count}};
	int ready[2], go[2], result[2], status = 0, r;
	struct berth_error e = {0};
	char b;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return berth_error_setf_errno(err, -errno, "pipe");
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(result, O_CLOEXEC) < 0)
		return berth_error_setf_errno(err, -errno, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		r = berth_error_setf_errno(err, -errno, "fork");
	if (pid == 0)
		child(ready[1], go[0], result[1], fn, arg);
	close(ready[1]);
	close(go[0]);
	close(result[1]);
	r = pid < 0 ? r : 0;
	if (r == 0 && read(ready[0], &b, 1) != 1)
		r = berth_error_set(err, -EIO, "the user namespace helper died");
	if (r == 0)
		r = idmap_write(pid, uids, 2, gids, 2, "subordinate uids (" IDMAP_SUBID_UID ")",
				"subordinate gids (" IDMAP_SUBID_GID ")", err);
	if (pid > 0)
		(void)!write(go[1], r == 0 ? "G" : "X", 1);
	if (pid > 0 && read_full(result[0], &e, sizeof(e)) == (ssize_t)sizeof(e) && r == 0 && e.code) {
		e.msg[sizeof(e.msg) - 1] = '\0';
		if (err)
			*err = e;
		r = e.code;
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && pid > 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		r = berth_error_set(err, -EIO, "the user namespace helper failed");
	close(ready[0]);
	close(go[1]);
	close(result[0]);
	return r;
}
