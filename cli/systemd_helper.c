/* `berth-ext __systemd OP ARGS...`: one systemd unit operation for the statically linked berth
 * (see cli/systemd_proxy.c). Replies "ok" or "err CODE MESSAGE" on one line of stdout.
 *   start UNIT SLICE CGROUP-PATH PID PROP...
 *   update UNIT PROP...
 *   stop UNIT
 * PROP is a word of cgroup_systemd_prop_format; only the properties berth sets are accepted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cgroups_systemd.h"
#include "berth/error.h"
#include "cli/cli.h"

static int parse_props(int argc, char **argv, struct cgroup_systemd_prop *props, size_t *ret_n,
		       struct berth_error *err)
{
	if (argc > CGROUP_SYSTEMD_PROPS_MAX)
		return berth_error_set(err, -E2BIG, "__systemd: too many properties");
	for (int i = 0; i < argc; i++)
		if (cgroup_systemd_prop_parse(argv[i], &props[i]) < 0)
			return berth_error_set(err, -EINVAL, "__systemd: bad property '%s'", argv[i]);
	*ret_n = (size_t)argc;
	return 0;
}

static int dispatch(int argc, char **argv, struct berth_error *err)
{
	struct cgroup_systemd_prop props[CGROUP_SYSTEMD_PROPS_MAX];
	size_t n = 0;
	const char *op = argv[0];
	if (strcmp(op, "start") == 0 && argc >= 5) {
		struct cgroup_systemd_unit u = {0};
		char *end;
		long pid = strtol(argv[4], &end, 10);
		if (*end || pid <= 0 || strlen(argv[1]) >= sizeof(u.unit) ||
		    strlen(argv[2]) >= sizeof(u.slice) || strlen(argv[3]) >= sizeof(u.path))
			return berth_error_set(err, -EINVAL, "__systemd start: bad arguments");
		strcpy(u.unit, argv[1]);
		strcpy(u.slice, argv[2]);
		strcpy(u.path, argv[3]);
		int r = parse_props(argc - 5, argv + 5, props, &n, err);
		return r < 0 ? r : cgroup_systemd_start(&u, (pid_t)pid, props, n, err);
	}
	if (strcmp(op, "update") == 0 && argc >= 2) {
		int r = parse_props(argc - 2, argv + 2, props, &n, err);
		return r < 0 ? r : cgroup_systemd_update(argv[1], props, n, err);
	}
	if (strcmp(op, "stop") == 0 && argc == 2)
		return cgroup_systemd_stop(argv[1], err);
	return berth_error_set(err, -EINVAL, "__systemd: unknown operation or arguments '%s'", op);
}

int systemd_helper_main(int argc, char **argv)
{
	struct berth_error err = {0};
	int r = argc < 2 ? berth_error_set(&err, -EINVAL, "__systemd: no operation")
			 : dispatch(argc - 1, argv + 1, &err);
	if (r < 0) {
		for (char *p = err.msg; *p; p++)
			if (*p == '\n')
				*p = ' ';
		printf("err %d %s\n", r, err.msg);
		return 1;
	}
	printf("ok\n");
	return 0;
}
