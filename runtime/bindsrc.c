/* Bind mount sources of a user-namespace container, opened by `create` as the runtime. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "bindsrc.h"

static bool has_option(char *const *options, const char *name)
{
	for (size_t i = 0; options && options[i]; i++)
		if (strcmp(options[i], name) == 0)
			return true;
	return false;
}

/* The binds the init makes from a source: not remounts (no source is used) nor idmapped binds
 * (an idmapped mount is made from a copy the init clones itself). */
static bool wants_tree(const struct oci_mount *m, bool *ret_recursive)
{
	bool bind = (m->type && strcmp(m->type, "bind") == 0) || has_option(m->options, "bind") ||
		    has_option(m->options, "rbind");

	*ret_recursive = has_option(m->options, "rbind");
	return bind && m->source && *m->source && !has_option(m->options, "remount") &&
	       !has_option(m->options, "idmap") && !has_option(m->options, "ridmap");
}

static int open_one(const struct oci_mount *m, size_t index, const char *bundle, int *ret_fd,
		    struct berth_error *err)
{
	char path[PATH_MAX];
	bool recursive;
	int fd;

	*ret_fd = -EBADF;
	if (!wants_tree(m, &recursive))
		return 0;
	if (snprintf(path, sizeof(path), "%s%s%s", m->source[0] == '/' ? "" : bundle,
		     m->source[0] == '/' ? "" : "/", m->source) >= (int)sizeof(path))
		return berth_error_set(err, -ENAMETOOLONG, "mounts[%zu]: mount source is too long", index);
	fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
	if (fd < 0 && errno == ENOENT)
		return berth_error_set(err, -ENOENT, "mounts[%zu]: mount source '%s' does not exist", index,
				       m->source);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "mounts[%zu] (%s): open mount source '%s'", index,
					      m->destination ? m->destination : "", m->source);
	*ret_fd = fd;
	return 0;
}

int bindsrc_open(const struct oci_config *config, const char *bundle, int **ret_fds, struct berth_error *err)
{
	int *fds;

	*ret_fds = NULL;
	/* A rootless runtime has no more rights than the init (open_tree's clone needs CAP_SYS_ADMIN
	 * over the caller's mount namespace): the init binds its sources itself. */
	if (config->n_mounts == 0 || geteuid() != 0)
		return 0;
	fds = calloc(config->n_mounts, sizeof(*fds));
	if (!fds)
		return berth_error_set(err, -ENOMEM, "mounts: out of memory");
	for (size_t i = 0; i < config->n_mounts; i++)
		fds[i] = -EBADF;
	for (size_t i = 0; i < config->n_mounts; i++) {
		int r = open_one(&config->mounts[i], i, bundle, &fds[i], err);

		if (r < 0) {
			bindsrc_close(&fds, config->n_mounts);
			return r;
		}
	}
	*ret_fds = fds;
	return 0;
}

void bindsrc_close(int **fds, size_t n)
{
	if (!*fds)
		return;
	for (size_t i = 0; i < n; i++)
		closep(&(*fds)[i]);
	free(*fds);
	*fds = NULL;
}
