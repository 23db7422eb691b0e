/* list: every container under the state root, read without taking their locks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "lifecycle.h"

static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct berth_container_info *)a)->id,
		      ((const struct berth_container_info *)b)->id);
}

/* Move the fields of @c's record into @info (the record is left without them). */
static void take_info(const struct berth_context *ctx, struct container *c, struct berth_container_info *info)
{
	struct berth_record *rec = c->rec;
	info->status = container_status(ctx, c);
	info->pid = info->status == OCI_STATUS_STOPPED ? 0 : rec->pid;
	info->id = TAKE_PTR(rec->id);
	info->bundle = TAKE_PTR(rec->bundle);
	info->rootfs = TAKE_PTR(rec->rootfs);
	info->created = TAKE_PTR(rec->created);
	info->owner = TAKE_PTR(rec->owner);
	info->annotations = TAKE_PTR(rec->annotations);
	info->n_annotations = rec->n_annotations;
	rec->n_annotations = 0;
}

int berth_container_list(const struct berth_context *ctx, struct berth_container_info **ret_infos,
			 size_t *ret_n, struct berth_error *err)
{
	*ret_infos = NULL;
	*ret_n = 0;
	const char *root = ctx->root ? ctx->root : BERTH_DEFAULT_ROOT;
	_cleanup_closedir_ DIR *d = opendir(root);
	if (!d)
		return errno == ENOENT ? 0
				       : berth_error_setf_errno(err, -errno, "open state root '%s'", root);
	int r = fd_check_trusted(dirfd(d), "state root", root, NULL, err);
	if (r < 0)
		return r;

	struct berth_container_info *infos = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || container_id_validate(de->d_name, NULL) < 0)
			continue;
		struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
		struct berth_error e = {0};
		r = container_peek_at(dirfd(d), root, de->d_name, &c, &e);
		/* Planted or damaged: never shown as a container, but said. */
		if (r == -EPERM || r == -EBADMSG)
			log_warn("list: skipped: %s", e.msg);
		if (r < 0)
			continue; /* being created or deleted right now */
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct berth_container_info *ni = realloc(infos, cap * sizeof(*infos));
			if (!ni) {
				container_release(&c);
				berth_container_info_free(infos, n);
				return berth_error_set(err, -ENOMEM, "out of memory");
			}
			infos = ni;
		}
		memset(&infos[n], 0, sizeof(infos[n]));
		take_info(ctx, &c, &infos[n++]);
		container_release(&c);
	}
	if (n > 1)
		qsort(infos, n, sizeof(*infos), cmp_info);
	*ret_infos = infos;
	*ret_n = n;
	return 0;
}

void berth_container_info_free(struct berth_container_info *infos, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(infos[i].id);
		free(infos[i].bundle);
		free(infos[i].rootfs);
		free(infos[i].created);
		free(infos[i].owner);
		for (size_t j = 0; j < infos[i].n_annotations; j++) {
			free(infos[i].annotations[j].key);
			free(infos[i].annotations[j].value);
		}
		free(infos[i].annotations);
	}
	free(infos);
}
