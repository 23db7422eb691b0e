/* berth events [--stats] [--interval DURATION] ID
 * Prints runc-shaped JSON events: {"type":"stats","id":ID,"data":{...}} once with --stats, else
 * a stats event every interval plus {"type":"oom","id":ID} whenever the kernel OOM-kills inside
 * the container, until the container stops. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "cli/cli.h"

static const struct cli_option events_options[] = {
    {.name = "stats",
     .type = CLI_FLAG,
     .offset = offsetof(struct events_cli, stats),
     .help = "print one statistics event and exit"},
    {.name = "interval",
     .type = CLI_STRING,
     .offset = offsetof(struct events_cli, interval),
     .metavar = "DURATION",
     .help = "time between statistics events (default 5s; e.g. 500ms, 2s, 1m)"},
};

const struct cli_spec cmd_events_spec = {
    .command = "events",
    .synopsis = "[OPTIONS] ID",
    .summary = "Print a container's statistics and OOM events as JSON.",
    .options = events_options,
    .n_options = ARRAY_SIZE(events_options),
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
};

/* "5s", "500ms", "1m", "2h" (Go duration subset) -> milliseconds. */
int cli_parse_duration_ms(const char *s, uint64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	uint64_t mult;
	if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "m") == 0)
		mult = 60000;
	else if (strcmp(end, "h") == 0)
		mult = 3600000;
	else
		return -EINVAL;
	if (v == 0 || v > UINT64_MAX / mult)
		return -EINVAL;
	*ret = v * mult;
	return 0;
}

int cmd_events_parse(int argc, char **argv, struct events_cli *out, struct berth_error *err)
{
	struct cli_parsed parsed;
	memset(out, 0, sizeof(*out));
	out->interval_ms = 5000;
	int r = cli_parse(&cmd_events_spec, argc, argv, out, &parsed, err);
	if (r < 0 || (out->help = parsed.help))
		return r;
	out->id = parsed.args[0];
	if (out->interval && cli_parse_duration_ms(out->interval, &out->interval_ms) < 0)
		return berth_error_set(err, -EINVAL, "events: --interval: invalid duration \"%s\"",
				       out->interval);
	return cli_check_id(out->id, err);
}

static void usage_obj(struct oci_json *j, const char *key, const struct cgroup_usage *u)
{
	oci_json_key(j, key);
	oci_json_open(j);
	oci_json_key(j, "limit");
	oci_json_uint(j, u->limit);
	oci_json_key(j, "usage");
	oci_json_uint(j, u->usage);
	oci_json_key(j, "max");
	oci_json_uint(j, u->max_usage);
	oci_json_key(j, "failcnt");
	oci_json_uint(j, u->failcnt);
	oci_json_close(j);
}

static void kv_uint(struct oci_json *j, const char *key, uint64_t v)
{
	oci_json_key(j, key);
	oci_json_uint(j, v);
}

static void cpu_obj(struct oci_json *j, const struct cgroup_stats *s)
{
	oci_json_key(j, "cpu");
	oci_json_open(j);
	oci_json_key(j, "usage");
	oci_json_open(j);
	kv_uint(j, "total", s->cpu.usage_total);
	kv_uint(j, "kernel", s->cpu.usage_system);
	kv_uint(j, "user", s->cpu.usage_user);
	oci_json_close(j);
	oci_json_key(j, "throttling");
	oci_json_open(j);
	kv_uint(j, "periods", s->cpu.nr_periods);
	kv_uint(j, "throttled_periods", s->cpu.nr_throttled);
	kv_uint(j, "throttled_time", s->cpu.throttled_time);
	oci_json_close(j);
	oci_json_close(j);
}

static void memory_obj(struct oci_json *j, const struct cgroup_stats *s)
{
	oci_json_key(j, "memory");
	oci_json_open(j);
	kv_uint(j, "cache", s->memory.cache);
	usage_obj(j, "usage", &s->memory.usage);
	usage_obj(j, "swap", &s->memory.swap);
	usage_obj(j, "kernel", &s->memory.kernel);
	oci_json_key(j, "raw");
	oci_json_open(j);
	for (size_t i = 0; i < s->memory.n_raw; i++)
		kv_uint(j, s->memory.raw[i].key, s->memory.raw[i].value);
	oci_json_close(j);
	oci_json_close(j);
}

static void blkio_entry(struct oci_json *j, const struct cgroup_io_device *d, const char *op, uint64_t v)
{
	oci_json_open(j);
	kv_uint(j, "major", d->major);
	kv_uint(j, "minor", d->minor);
	oci_json_key(j, "op");
	oci_json_str(j, op);
	kv_uint(j, "value", v);
	oci_json_close(j);
}

static void blkio_obj(struct oci_json *j, const struct cgroup_stats *s)
{
	oci_json_key(j, "blkio");
	oci_json_open(j);
	oci_json_key(j, "ioServiceBytesRecursive");
	oci_json_array_open(j);
	for (size_t i = 0; i < s->io.n; i++) {
		blkio_entry(j, &s->io.dev[i], "Read", s->io.dev[i].read_bytes);
		blkio_entry(j, &s->io.dev[i], "Write", s->io.dev[i].write_bytes);
	}
	oci_json_array_close(j);
	oci_json_key(j, "ioServicedRecursive");
	oci_json_array_open(j);
	for (size_t i = 0; i < s->io.n; i++) {
		blkio_entry(j, &s->io.dev[i], "Read", s->io.dev[i].read_ios);
		blkio_entry(j, &s->io.dev[i], "Write", s->io.dev[i].write_ios);
	}
	oci_json_array_close(j);
	oci_json_close(j);
}

static void rest_obj(struct oci_json *j, const struct cgroup_stats *s)
{
	oci_json_key(j, "pids");
	oci_json_open(j);
	kv_uint(j, "current", s->pids.current);
	kv_uint(j, "limit", s->pids.limit);
	oci_json_close(j);
	oci_json_key(j, "hugetlb");
	oci_json_open(j);
	for (size_t i = 0; i < s->hugetlb.n; i++) {
		oci_json_key(j, s->hugetlb.page[i].page_size);
		oci_json_open(j);
		kv_uint(j, "usage", s->hugetlb.page[i].usage.usage);
		kv_uint(j, "max", s->hugetlb.page[i].usage.max_usage);
		kv_uint(j, "failcnt", s->hugetlb.page[i].usage.failcnt);
		oci_json_close(j);
	}
	oci_json_close(j);
}

/* One event line: type "stats" with @s, or any other type without data. */
static int print_event(FILE *out, const char *type, const char *id, const struct cgroup_stats *s)
{
	struct oci_json *j = oci_json_new();
	if (!j)
		return -ENOMEM;
	oci_json_open(j);
	oci_json_key(j, "type");
	oci_json_str(j, type);
	oci_json_key(j, "id");
	oci_json_str(j, id);
	if (s) {
		oci_json_key(j, "data");
		oci_json_open(j);
		cpu_obj(j, s);
		memory_obj(j, s);
		blkio_obj(j, s);
		rest_obj(j, s);
		oci_json_close(j);
	}
	oci_json_close(j);
	_cleanup_free_ char *json = NULL;
	size_t len;
	int r = oci_json_finish(j, &json, &len);
	if (r == 0) {
		fprintf(out, "%s\n", json);
		fflush(out);
	}
	return r;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int cmd_events(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	struct events_cli cli;
	if (cmd_events_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_events_spec, env->out);
		return CLI_EXIT_OK;
	}
	uint64_t last_oom = 0;
	for (bool first = true;; first = false) {
		struct cgroup_stats st;
		int r = berth_container_stats(&env->ctx, cli.id, &st, err);
		if (r < 0)
			return first || r != -ESRCH ? cli_fail(r, err) : CLI_EXIT_OK;
		if (!first && st.memory.oom_kill > last_oom)
			print_event(env->out, "oom", cli.id, NULL);
		last_oom = st.memory.oom_kill;
		r = print_event(env->out, "stats", cli.id, &st);
		if (r < 0)
			return cli_fail(berth_error_setf_errno(err, r, "events: serialise"), err);
		if (cli.stats)
			return CLI_EXIT_OK;
		sleep_ms(cli.interval_ms);
	}
}
