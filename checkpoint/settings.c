/* The pure part of the checkpoint module: option translation, CRIU log reading, CPU flags.
 * Nothing here talks to CRIU, so unit tests cover it on any kernel. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/checkpoint.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/util.h"

int checkpoint_cg_mode_parse(const char *s, enum ckpt_cg_mode *ret)
{
	static const char *const names[] = {"soft", "full", "strict", "ignore"};
	for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0) {
			*ret = (enum ckpt_cg_mode)(CKPT_CG_SOFT + i);
			return 0;
		}
	return -EINVAL;
}

const char *checkpoint_log_name(enum ckpt_action action)
{
	switch (action) {
	case CKPT_PRE_DUMP:
		return "pre-dump.log";
	case CKPT_RESTORE:
		return "restore.log";
	default:
		return "dump.log";
	}
}

int checkpoint_settings(const struct ckpt_opts *o, struct ckpt_settings *ret, struct berth_error *err)
{
	struct ckpt_settings s = {
	    .log_file = checkpoint_log_name(o->action),
	    .log_level = 4, /* everything: the log is what explains a failure */
	    .tcp_established = o->tcp_established,
	    .ext_unix_sk = o->ext_unix_sk,
	    .shell_job = o->shell_job,
	    .file_locks = o->file_locks,
	    /* A terminal: its master (the --console-socket side) is outside the container; CRIU
	     * dumps the slave alone only with this, and on restore makes a new pair. */
	    .orphan_pts_master = o->orphan_pts_master,
	    .manage_cgroups = true,
	    /* CRIU enforces tracking for a pre-dump itself, but a dump on top of one stores only
	     * the pages dirtied since when it tracks memory too: without it, a full dump again. */
	    .track_mem = o->action == CKPT_PRE_DUMP || (o->action == CKPT_DUMP && o->parent_path),
	    .cg_mode = o->cg_mode,
	    .parent_images = o->parent_path,
	};

	if (!o->images_dir || !*o->images_dir)
		return berth_error_set(err, -EINVAL, "--image-path: required");
	if (o->action == CKPT_RESTORE) {
		if (!o->root)
			return berth_error_set(err, -EINVAL, "restore: no root filesystem to restore into");
		if (o->leave_running || o->parent_path)
			return berth_error_set(
			    err, -EINVAL,
			    "--leave-running and --parent-path apply to checkpoint, not restore");
		s.root = o->root;
		/* CRIU hands the new master of an orphan pty over only as an RPC notification. */
		s.notify_scripts = s.orphan_pts_master;
		if (o->has_console && !o->orphan_pts_master)
			return berth_error_set(err, -EINVAL,
					       "--console-socket: the container has no terminal");
	} else {
		if (o->pid <= 0)
			return berth_error_set(err, -EINVAL,
					       "checkpoint: the container has no running process");
		/* A pre-dump never stops the tasks for good: CRIU needs leave_running for it. */
		s.leave_running = o->leave_running || o->action == CKPT_PRE_DUMP;
		s.freeze_cgroup = o->freeze_cgroup;
	}
	if (o->parent_path && o->parent_path[0] == '/')
		return berth_error_set(
		    err, -EINVAL, "--parent-path: '%s' must be relative to --image-path (as CRIU wants it)",
		    o->parent_path);
	if (o->n_ext_mounts > CKPT_MAX_MAPS || o->n_externals > CKPT_MAX_MAPS ||
	    o->n_inherit_fds > CKPT_MAX_MAPS)
		return berth_error_set(err, -E2BIG, "checkpoint: too many external mounts or namespaces");
	*ret = s;
	return 0;
}

/* Advance over one line; *ret_len is its length without the newline. */
static const char *next_line(const char *p, const char *end, size_t *ret_len)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	*ret_len = (size_t)((nl ? nl : end) - p);
	return nl ? nl + 1 : end;
}

static void append(char *buf, size_t size, size_t *pos, const char *s, size_t n)
{
	if (*pos + 1 >= size)
		return;
	if (n > size - 1 - *pos)
		n = size - 1 - *pos;
	memcpy(buf + *pos, s, n);
	*pos += n;
	buf[*pos] = '\0';
}

size_t checkpoint_log_errors(const char *log, size_t len, char *buf, size_t size)
{
	const char *end = log + len, *lines[3] = {0}, *last = NULL;
	size_t lens[3] = {0}, last_len = 0, n = 0, pos = 0;

	if (!size)
		return 0;
	buf[0] = '\0';
	for (const char *p = log; p < end;) {
		size_t l;
		const char *line = p;
		p = next_line(p, end, &l);
		if (!l)
			continue;
		last = line;
		last_len = l;
		if (!memmem(line, l, "Error", 5))
			continue;
		/* Keep the last three. */
		memmove(&lines[0], &lines[1], 2 * sizeof(lines[0]));
		memmove(&lens[0], &lens[1], 2 * sizeof(lens[0]));
		lines[2] = line;
		lens[2] = l;
		n++;
	}
	if (n == 0 && last) {
		append(buf, size, &pos, last, last_len);
		return pos;
	}
	for (size_t i = n >= 3 ? 0 : 3 - n; i < 3; i++) {
		if (pos)
			append(buf, size, &pos, " | ", 3);
		append(buf, size, &pos, lines[i], lens[i]);
	}
	return pos;
}

void checkpoint_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int checkpoint_cpu_flags(char ***ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_file_at(AT_FDCWD, "/proc/cpuinfo", 4u << 20, &buf, &len);
	if (r < 0)
		return r;
	char *line = strstr(buf, "\nflags");
	if (!line)
		return -ENOENT;
	line = strchr(line, ':');
	if (!line)
		return -ENOENT;
	char *eol = strchr(line, '\n');
	if (eol)
		*eol = '\0';
	size_t cap = 16, n = 0;
	char **v = calloc(cap, sizeof(*v));
	char *save = NULL;
	for (char *tok = strtok_r(line + 1, " \t", &save); v && tok; tok = strtok_r(NULL, " \t", &save)) {
		if (n + 1 >= cap) {
			char **nv = realloc(v, 2 * cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
			cap *= 2;
		}
		v[n] = strdup(tok);
		if (!v[n])
			break;
		v[++n] = NULL;
	}
	if (!v)
		return -ENOMEM;
	*ret = v;
	return 0;
}

size_t checkpoint_cpu_missing(char *const *need, char *const *have, char *buf, size_t size)
{
	size_t missing = 0, pos = 0;
	if (size)
		buf[0] = '\0';
	for (; need && *need; need++) {
		bool found = false;
		for (char *const *h = have; h && *h && !found; h++)
			found = strcmp(*h, *need) == 0;
		if (found)
			continue;
		if (missing++)
			append(buf, size, &pos, " ", 1);
		append(buf, size, &pos, *need, strlen(*need));
	}
	return missing;
}
