/* The D-Bus operations of include/berth/cgroups_systemd.h for the statically linked berth.
 *
 * Debian ships libsystemd only as a shared library, and berth is linked statically so that every
 * short command skips the dynamic loader. So with --systemd-cgroup the unit calls run in
 * berth-ext, exec'd as `berth-ext __systemd start|update|stop ...` (cli/systemd_helper.c), which
 * answers on its stdout with "ok" or "err CODE MESSAGE". Containers without --systemd-cgroup
 * never get here. berth-ext and the unit tests link the real functions (cgroups/systemd.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/cgroups_systemd.h"
#include "berth/error.h"
#include "berth/util.h"
#include "cli/cli.h"

#define WORD_MAX 320

/* `berth-ext __systemd OP FIXED... PROP...` */
static int call(const char *op, const char *const *fixed, const struct cgroup_systemd_prop *props, size_t n,
		struct berth_error *err)
{
	char path[PATH_MAX];
	char words[CGROUP_SYSTEMD_PROPS_MAX][WORD_MAX];
	char *args[CGROUP_SYSTEMD_PROPS_MAX + 8];
	size_t k = 0;
	int r = cli_ext_path(path, sizeof(path), err);
	if (r < 0)
		return r;
	if (n > CGROUP_SYSTEMD_PROPS_MAX)
		return berth_error_set(err, -E2BIG, "linux.resources: too many unit properties");
	args[k++] = path;
	args[k++] = "__systemd";
	args[k++] = (char *)op;
	for (size_t i = 0; fixed[i]; i++)
		args[k++] = (char *)fixed[i];
	for (size_t i = 0; i < n; i++) {
		if (cgroup_systemd_prop_format(&props[i], words[i], WORD_MAX) < 0)
			return berth_error_set(err, -ENAMETOOLONG, "unit property %s: too long",
					       props[i].name);
		args[k++] = words[i];
	}
	args[k] = NULL;
	return cli_ext_run(args, -1, "--systemd-cgroup", NULL, 0, err);
}

int cgroup_systemd_start(const struct cgroup_systemd_unit *u, pid_t pid,
			 const struct cgroup_systemd_prop *props, size_t n, struct berth_error *err)
{
	char pidbuf[24];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	const char *fixed[] = {u->unit, u->slice, u->path, pidbuf, NULL};
	return call("start", fixed, props, n, err);
}

int cgroup_systemd_update(const char *unit, const struct cgroup_systemd_prop *props, size_t n,
			  struct berth_error *err)
{
	const char *fixed[] = {unit, NULL};
	return call("update", fixed, props, n, err);
}

int cgroup_systemd_stop(const char *unit, struct berth_error *err)
{
	const char *fixed[] = {unit, NULL};
	return call("stop", fixed, NULL, 0, err);
}
