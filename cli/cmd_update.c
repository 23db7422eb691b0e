/* berth update [--resources FILE|-] [runc's resource flags] ID */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/util.h"
#include "cli/cli.h"

#define RESOURCES_JSON_MAX (1u << 20)

#define UPDATE_OPT(n, field, mv, h)                                                                          \
	{                                                                                                    \
		.name = n, .type = CLI_STRING, .offset = offsetof(struct update_cli, field), .metavar = mv,  \
		.help = h                                                                                    \
	}

static const struct cli_option update_options[] = {
    {.name = "resources",
     .short_name = 'r',
     .type = CLI_STRING,
     .offset = offsetof(struct update_cli, resources),
     .metavar = "FILE",
     .help = "a linux.resources JSON document; - reads it from stdin"},
    UPDATE_OPT("memory", memory, "BYTES", "memory limit (suffixes k, m, g, t; -1: unlimited)"),
    UPDATE_OPT("memory-reservation", memory_reservation, "BYTES", "memory soft limit"),
    UPDATE_OPT("memory-swap", memory_swap, "BYTES", "memory plus swap limit (-1: unlimited)"),
    UPDATE_OPT("pids-limit", pids_limit, "N", "maximum number of processes (-1 or 0: unlimited)"),
    UPDATE_OPT("cpu-quota", cpu_quota, "US", "CPU CFS quota in microseconds per period (-1: none)"),
    UPDATE_OPT("cpu-period", cpu_period, "US", "CPU CFS period in microseconds"),
    UPDATE_OPT("cpu-share", cpu_shares, "N", "CPU shares (relative weight; runc's spelling)"),
    UPDATE_OPT("cpu-shares", cpu_shares, "N", "the same as --cpu-share"),
    UPDATE_OPT("cpu-rt-period", cpu_rt_period, "US", "CPU real-time period in microseconds"),
    UPDATE_OPT("cpu-rt-runtime", cpu_rt_runtime, "US", "CPU real-time runtime in microseconds"),
    UPDATE_OPT("cpuset-cpus", cpuset_cpus, "LIST", "CPUs the container may use (0-3,5)"),
    UPDATE_OPT("cpuset-mems", cpuset_mems, "LIST", "memory nodes the container may use"),
    UPDATE_OPT("blkio-weight", blkio_weight, "N", "block IO weight (10-1000)"),
};

const struct cli_spec cmd_update_spec = {
    .command = "update",
    .synopsis = "[OPTIONS] ID",
    .summary = "Change the resource limits of a running container.",
    .description = "Either --resources with a runtime-spec linux.resources document, or the flags.",
    .options = update_options,
    .n_options = ARRAY_SIZE(update_options),
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
};

/* "64m", "1G", "512k", "100", "-1" (byte sizes as runc's flags take them). */
int cli_parse_bytes(const char *s, int64_t *ret)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	int64_t mult = 1;
	switch (tolower((unsigned char)*end)) {
	case 'k':
		mult = 1LL << 10;
		break;
	case 'm':
		mult = 1LL << 20;
		break;
	case 'g':
		mult = 1LL << 30;
		break;
	case 't':
		mult = 1LL << 40;
		break;
	case '\0':
		break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		if (tolower((unsigned char)*end) == 'b')
			end++;
	}
	if (*end || (v < 0 && (v != -1 || mult != 1)) || (v > 0 && v > INT64_MAX / mult))
		return -EINVAL;
	*ret = v * mult;
	return 0;
}

static int flag_i64(const char *name, const char *value, bool bytes, int64_t *dst, bool *has,
		    struct berth_error *err)
{
	if (!value)
		return 0;
	int r = bytes ? cli_parse_bytes(value, dst) : parse_int64(value, INT64_MIN, INT64_MAX, dst);
	if (r < 0)
		return berth_error_set(err, -EINVAL, "update: --%s: invalid value \"%s\"", name, value);
	if (has)
		*has = true;
	return 0;
}

static int flag_u64(const char *name, const char *value, uint64_t *dst, bool *has, struct berth_error *err)
{
	int64_t v = 0;
	bool set = false;
	int r = flag_i64(name, value, false, &v, &set, err);
	if (r < 0 || !set)
		return r;
	if (v < 0)
		return berth_error_set(err, -EINVAL, "update: --%s: must not be negative", name);
	*dst = (uint64_t)v;
	*has = true;
	return 0;
}

/* Build linux.resources from the flags; only what was given is set. */
static int resources_from_flags(struct update_cli *u, struct berth_error *err)
{
	struct oci_resources *res = &u->flags_res;
	int r = flag_i64("memory", u->memory, true, &res->memory.limit, &res->memory.has_limit, err);
	if (r == 0)
		r = flag_i64("memory-reservation", u->memory_reservation, true, &res->memory.reservation,
			     &res->memory.has_reservation, err);
	if (r == 0)
		r = flag_i64("memory-swap", u->memory_swap, true, &res->memory.swap, &res->memory.has_swap,
			     err);
	res->has_memory = res->memory.has_limit || res->memory.has_reservation || res->memory.has_swap;
	if (r == 0)
		r = flag_i64("pids-limit", u->pids_limit, false, &res->pids_limit, &res->has_pids, err);
	if (r == 0)
		r = flag_i64("cpu-quota", u->cpu_quota, false, &res->cpu.quota, &res->cpu.has_quota, err);
	if (r == 0)
		r = flag_u64("cpu-period", u->cpu_period, &res->cpu.period, &res->cpu.has_period, err);
	if (r == 0)
		r = flag_u64("cpu-shares", u->cpu_shares, &res->cpu.shares, &res->cpu.has_shares, err);
	if (r == 0)
		r = flag_u64("cpu-rt-period", u->cpu_rt_period, &res->cpu.realtime_period,
			     &res->cpu.has_realtime_period, err);
	if (r == 0)
		r = flag_i64("cpu-rt-runtime", u->cpu_rt_runtime, false, &res->cpu.realtime_runtime,
			     &res->cpu.has_realtime_runtime, err);
	res->cpu.cpus = (char *)u->cpuset_cpus;
	res->cpu.mems = (char *)u->cpuset_mems;
	res->has_cpu = res->cpu.has_quota || res->cpu.has_period || res->cpu.has_shares ||
		       res->cpu.has_realtime_period || res->cpu.has_realtime_runtime || res->cpu.cpus ||
		       res->cpu.mems;
	uint64_t w = 0;
	bool has_w = false;
	if (r == 0)
		r = flag_u64("blkio-weight", u->blkio_weight, &w, &has_w, err);
	if (r == 0 && has_w && (w < 10 || w > 1000))
		r = berth_error_set(err, -EINVAL, "update: --blkio-weight: must be between 10 and 1000");
	res->block_io.weight = (uint16_t)w;
	res->block_io.has_weight = res->has_block_io = has_w;
	return r;
}

int cmd_update_parse(int argc, char **argv, struct update_cli *out, struct berth_error *err)
{
	struct cli_parsed parsed;
	memset(out, 0, sizeof(*out));
	int r = cli_parse(&cmd_update_spec, argc, argv, out, &parsed, err);
	if (r < 0 || (out->help = parsed.help))
		return r;
	out->id = parsed.args[0];
	r = cli_check_id(out->id, err);
	if (r == 0)
		r = resources_from_flags(out, err);
	return r;
}

static int read_resources(const char *path, struct oci_resources **ret, struct berth_error *err)
{
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	int r = strcmp(path, "-") == 0
		    ? read_file_at(STDIN_FILENO, "/proc/self/fd/0", RESOURCES_JSON_MAX, &json, &len)
		    : read_file_at(AT_FDCWD, path, RESOURCES_JSON_MAX, &json, &len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "update: --resources: read '%s'", path);
	return oci_resources_parse(json, len, ret, err);
}

int cmd_update(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	struct update_cli cli;
	if (cmd_update_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_update_spec, env->out);
		return CLI_EXIT_OK;
	}
	struct oci_resources *from_file = NULL;
	if (cli.resources && read_resources(cli.resources, &from_file, err) < 0)
		return cli_fail(err->code, err);
	int r = berth_container_update(&env->ctx, cli.id, from_file ? from_file : &cli.flags_res, err);
	oci_resources_free(from_file);
	return r < 0 ? cli_fail(r, err) : CLI_EXIT_OK;
}
