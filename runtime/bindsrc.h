/* Bind mount sources of a user-namespace container, opened by `create` as the runtime (issue 13 #5). */
#pragma once

#include <stddef.h>

struct berth_error;
struct oci_config;

/* For a container with a user namespace, the init opens its bind sources with the container's
 * credentials, which cannot read what only host root may (a 0700 directory on the path). runc and
 * crun open them as the runtime: so does this, in `create` before clone3. *ret_fds gets one entry
 * per config mount: a detached copy (open_tree OPEN_TREE_CLONE, recursive for "rbind") of the
 * source's mount, or -EBADF for mounts that are no bind, remounts and idmapped binds (those are
 * made by the init as before). Relative sources are relative to @bundle. The descriptors are
 * close-on-exec and inherited by the init; release with bindsrc_close(). Errors name the mount:
 * "mounts[2]: mount source '/x' does not exist". */
int bindsrc_open(const struct oci_config *config, const char *bundle, int **ret_fds, struct berth_error *err);

/* Close and free what bindsrc_open returned (NULL is fine); *fds becomes NULL. */
void bindsrc_close(int **fds, size_t n);
