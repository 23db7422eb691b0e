/* cgroup_stats_read() and cgroup_oom_count(): the counters `events --stats` and OOM detection
 * report, from whichever hierarchy carries each controller. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "resources.h"

/* ---- parsing ---- */

/* A decimal counter; "max" is UINT64_MAX. The end of the number must be the end of the token. */
static int parse_u64(const char *s, size_t len, uint64_t *ret)
{
	char buf[32];

	if (len == 0 || len >= sizeof(buf))
		return -EBADMSG;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strcmp(buf, "max") == 0) {
		*ret = UINT64_MAX;
		return 0;
	}
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || *end || buf[0] == '-')
		return -EBADMSG;
	*ret = v;
	return 0;
}

/* The value of @key in a flat keyed file ("key value" per line). -ENOENT when absent. */
static int kv_get(const char *text, const char *key, uint64_t *ret)
{
	size_t klen = strlen(key);

	for (const char *line = text; line && *line;) {
		const char *end = strchrnul(line, '\n');
		if ((size_t)(end - line) > klen && strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			const char *v = line + klen + 1;
			return parse_u64(v, (size_t)(end - v), ret);
		}
		line = *end ? end + 1 : NULL;
	}
	return -ENOENT;
}

/* Read @name; *ret_text NULL (and 0 returned) when the file does not exist. */
static int read_opt(int fd, const char *name, char **ret_text, struct berth_error *err)
{
	*ret_text = NULL;
	int r = cg_read_alloc(fd, name, ret_text);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return berth_error_setf_errno(err, r, "read %s", name);
	return 0;
}

/* A single-value file into *ret; missing leaves *ret untouched. */
static int read_value(int fd, const char *name, uint64_t *ret, struct berth_error *err)
{
	int r = cg_read_u64(fd, name, ret);
	if (r == -ENOENT)
		return 0;
	if (r == -EBADMSG)
		return berth_error_set(err, r, "%s: not a number", name);
	if (r < 0)
		return berth_error_setf_errno(err, r, "read %s", name);
	return 0;
}

/* kv_get for an optional key: absent leaves *ret untouched. */
static int kv_opt(const char *text, const char *file, const char *key, uint64_t *ret, struct berth_error *err)
{
	int r = kv_get(text, key, ret);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return berth_error_set(err, r, "%s: the value of '%s' is not a number", file, key);
	return 0;
}

/* Every "key value" line of memory.stat into st->memory.raw. */
static int raw_stats(const char *text, struct cgroup_stats *st, struct berth_error *err)
{
	for (const char *line = text; line && *line;) {
		const char *end = strchrnul(line, '\n');
		const char *sp = memchr(line, ' ', (size_t)(end - line));
		if (sp && st->memory.n_raw < CGROUP_STATS_MAX_RAW &&
		    (size_t)(sp - line) < sizeof(st->memory.raw[0].key)) {
			struct cgroup_stat_kv *kv = &st->memory.raw[st->memory.n_raw];
			if (parse_u64(sp + 1, (size_t)(end - sp - 1), &kv->value) < 0)
				return berth_error_set(err, -EBADMSG,
						       "memory.stat: the value of '%.*s' is not a number",
						       (int)(sp - line), line);
			snprintf(kv->key, sizeof(kv->key), "%.*s", (int)(sp - line), line);
			st->memory.n_raw++;
		}
		line = *end ? end + 1 : NULL;
	}
	return 0;
}

/* ---- memory ---- */

static int memory_stat(int fd, const char *cache_key, const char *rss_key, struct cgroup_stats *st,
		       struct berth_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = read_opt(fd, "memory.stat", &text, err);

	if (r < 0 || !text)
		return r;
	r = raw_stats(text, st, err);
	if (r >= 0)
		r = kv_opt(text, "memory.stat", cache_key, &st->memory.cache, err);
	if (r >= 0)
		r = kv_opt(text, "memory.stat", rss_key, &st->memory.rss, err);
	return r;
}

int cg_stats_v2_memory(int fd, struct cgroup_stats *st, struct berth_error *err)
{
	typeof(st->memory) *m = &st->memory;
	_cleanup_free_ char *events = NULL;
	uint64_t swap = 0, swap_max = UINT64_MAX;
	int r = cg_read_u64(fd, "memory.current", &m->usage.usage);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return berth_error_setf_errno(err, r, "read memory.current");
	st->has_memory = true;
	m->usage.limit = UINT64_MAX;
	r = read_value(fd, "memory.max", &m->usage.limit, err);
	if (r >= 0)
		r = read_value(fd, "memory.peak", &m->usage.max_usage, err);
	if (r >= 0)
		r = read_value(fd, "memory.swap.current", &swap, err);
	if (r >= 0)
		r = read_value(fd, "memory.swap.max", &swap_max, err);
	if (r >= 0)
		r = read_opt(fd, "memory.events", &events, err);
	if (r >= 0 && events) {
		r = kv_opt(events, "memory.events", "max", &m->usage.failcnt, err);
		if (r >= 0)
			r = kv_opt(events, "memory.events", "oom", &m->oom, err);
		if (r >= 0)
			r = kv_opt(events, "memory.events", "oom_kill", &m->oom_kill, err);
	}
	if (r < 0)
		return r;
	/* runc's convention: "swap" is memory+swap, as on v1. */
	m->swap_only = swap;
	m->swap.usage = m->usage.usage + swap;
	m->swap.limit =
	    (m->usage.limit == UINT64_MAX || swap_max == UINT64_MAX) ? UINT64_MAX : m->usage.limit + swap_max;
	return memory_stat(fd, "file", "anon", st, err);
}

/* "<prefix>usage_in_bytes" and friends into @u; false when the usage file does not exist. */
static int v1_usage(int fd, const char *prefix, struct cgroup_usage *u, bool *ret_found,
		    struct berth_error *err)
{
	static const char *const names[] = {"usage_in_bytes", "max_usage_in_bytes", "limit_in_bytes",
					    "failcnt"};
	uint64_t *vals[] = {&u->usage, &u->max_usage, &u->limit, &u->failcnt};
	char file[64];

	*ret_found = false;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(file, sizeof(file), "%s%s", prefix, names[i]);
		int r = cg_read_u64(fd, file, vals[i]);
		if (r == -ENOENT && i == 0)
			return 0;
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return berth_error_setf_errno(err, r, "read %s", file);
		*ret_found = true;
	}
	return 0;
}

int cg_stats_v1_memory(int fd, struct cgroup_stats *st, struct berth_error *err)
{
	typeof(st->memory) *m = &st->memory;
	_cleanup_free_ char *oom = NULL;
	bool found = false, memsw = false, kmem = false;
	uint64_t under = 0;
	int r = v1_usage(fd, "memory.", &m->usage, &found, err);

	if (r < 0 || !found)
		return r;
	st->has_memory = true;
	r = v1_usage(fd, "memory.memsw.", &m->swap, &memsw, err);
	if (r >= 0)
		r = v1_usage(fd, "memory.kmem.", &m->kernel, &kmem, err);
	if (r >= 0)
		r = read_opt(fd, "memory.oom_control", &oom, err);
	if (r >= 0 && oom) {
		r = kv_opt(oom, "memory.oom_control", "oom_kill", &m->oom_kill, err);
		if (r >= 0)
			r = kv_opt(oom, "memory.oom_control", "under_oom", &under, err);
		m->under_oom = under != 0;
	}
	if (r < 0)
		return r;
	if (memsw && m->swap.usage > m->usage.usage)
		m->swap_only = m->swap.usage - m->usage.usage;
	return memory_stat(fd, "cache", "rss", st, err);
}

/* ---- cpu ---- */

int cg_stats_v2_cpu(int fd, struct cgroup_stats *st, struct berth_error *err)
{
	static const char *const keys[] = {"usage_usec", "user_usec",    "system_usec",
					   "nr_periods", "nr_throttled", "throttled_usec"};
	uint64_t *vals[] = {&st->cpu.usage_total, &st->cpu.usage_user,   &st->cpu.usage_system,
			    &st->cpu.nr_periods,  &st->cpu.nr_throttled, &st->cpu.throttled_time};
	_cleanup_free_ char *text = NULL;
	int r = read_opt(fd, "cpu.stat", &text, err);

	if (r < 0 || !text)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		r = kv_opt(text, "cpu.stat", keys[i], vals[i], err);
		if (r < 0)
			return r;
	}
	/* microseconds -> nanoseconds, the unit runc reports */
	st->cpu.usage_total *= 1000;
	st->cpu.usage_user *= 1000;
	st->cpu.usage_system *= 1000;
	st->cpu.throttled_time *= 1000;
	st->has_cpu = true;
	return 0;
}

/* User and system time: cpuacct.usage_user/usage_sys in ns where the kernel has them, else
 * cpuacct.stat in clock ticks. */
static int v1_cpu_split(int fd, struct cgroup_stats *st, struct berth_error *err)
{
	_cleanup_free_ char *text = NULL;
	uint64_t user = 0, sys = 0;

	if (cg_has_file(fd, "cpuacct.usage_user") && cg_has_file(fd, "cpuacct.usage_sys")) {
		int r = read_value(fd, "cpuacct.usage_user", &st->cpu.usage_user, err);
		return r < 0 ? r : read_value(fd, "cpuacct.usage_sys", &st->cpu.usage_system, err);
	}
	int r = read_opt(fd, "cpuacct.stat", &text, err);
	if (r < 0 || !text)
		return r;
	r = kv_opt(text, "cpuacct.stat", "user", &user, err);
	if (r >= 0)
		r = kv_opt(text, "cpuacct.stat", "system", &sys, err);
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t ns_per_tick = hz > 0 ? 1000000000ull / (uint64_t)hz : 10000000ull;
	st->cpu.usage_user = user * ns_per_tick;
	st->cpu.usage_system = sys * ns_per_tick;
	return r;
}

int cg_stats_v1_cpu(int cpu_fd, int cpuacct_fd, struct cgroup_stats *st, struct berth_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = 0;

	if (cpuacct_fd >= 0) {
		r = cg_read_u64(cpuacct_fd, "cpuacct.usage", &st->cpu.usage_total);
		if (r < 0 && r != -ENOENT)
			return berth_error_setf_errno(err, r, "read cpuacct.usage");
		st->has_cpu = r == 0;
		r = v1_cpu_split(cpuacct_fd, st, err);
		if (r < 0)
			return r;
	}
	if (cpu_fd < 0)
		return 0;
	r = read_opt(cpu_fd, "cpu.stat", &text, err);
	if (r < 0 || !text)
		return r;
	r = kv_opt(text, "cpu.stat", "nr_periods", &st->cpu.nr_periods, err);
	if (r >= 0)
		r = kv_opt(text, "cpu.stat", "nr_throttled", &st->cpu.nr_throttled, err);
	if (r >= 0)
		r = kv_opt(text, "cpu.stat", "throttled_time", &st->cpu.throttled_time, err);
	return r;
}

/* ---- io ---- */

static struct cgroup_io_device *io_device(struct cgroup_stats *st, uint32_t major, uint32_t minor)
{
	for (size_t i = 0; i < st->io.n; i++)
		if (st->io.dev[i].major == major && st->io.dev[i].minor == minor)
			return &st->io.dev[i];
	if (st->io.n == CGROUP_STATS_MAX_DEVICES)
		return NULL; /* the rest is dropped: the struct has a fixed size */
	st->io.dev[st->io.n] = (struct cgroup_io_device){.major = major, .minor = minor};
	return &st->io.dev[st->io.n++];
}

/* "MAJ:MIN" at the start of @s; the rest after it in *ret_rest. */
static int parse_devno(const char *s, uint32_t *major, uint32_t *minor, const char **ret_rest)
{
	unsigned a, b;
	int used = 0;

	if (sscanf(s, "%u:%u%n", &a, &b, &used) != 2 || used == 0)
		return -EBADMSG;
	*major = a;
	*minor = b;
	*ret_rest = s + used;
	return 0;
}

/* io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device. */
static int io_stat_line(const char *line, const char *end, struct cgroup_stats *st)
{
	uint32_t major, minor;
	const char *p;
	char buf[512];

	snprintf(buf, sizeof(buf), "%.*s", (int)(end - line), line);
	if (parse_devno(buf, &major, &minor, &p) < 0)
		return -EBADMSG;
	struct cgroup_io_device *d = io_device(st, major, minor);
	while (d && *p) {
		p += strspn(p, " ");
		size_t len = strcspn(p, " ");
		const char *eq = memchr(p, '=', len);
		uint64_t v;
		if (!eq || parse_u64(eq + 1, len - (size_t)(eq + 1 - p), &v) < 0)
			return -EBADMSG;
		size_t klen = (size_t)(eq - p);
		if (klen == 6 && strncmp(p, "rbytes", 6) == 0)
			d->read_bytes = v;
		else if (klen == 6 && strncmp(p, "wbytes", 6) == 0)
			d->write_bytes = v;
		else if (klen == 4 && strncmp(p, "rios", 4) == 0)
			d->read_ios = v;
		else if (klen == 4 && strncmp(p, "wios", 4) == 0)
			d->write_ios = v;
		p += len;
	}
	return 0;
}

int cg_stats_v2_io(int fd, struct cgroup_stats *st, struct berth_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = read_opt(fd, "io.stat", &text, err);

	if (r < 0 || !text)
		return r;
	st->has_io = true;
	for (const char *line = text; *line;) {
		const char *end = strchrnul(line, '\n');
		if (end > line && io_stat_line(line, end, st) < 0)
			return berth_error_set(err, -EBADMSG, "io.stat: cannot parse '%.*s'",
					       (int)(end - line), line);
		line = *end ? end + 1 : end;
	}
	return 0;
}

/* blkio "8:0 Read 4096" lines (and a final "Total N") into read/write fields at @rd/@wr. */
static int blkio_file(const char *text, const char *file, struct cgroup_stats *st, size_t rd, size_t wr,
		      struct berth_error *err)
{
	for (const char *line = text; *line;) {
		const char *end = strchrnul(line, '\n');
		char buf[256], op[16];
		uint32_t major, minor;
		unsigned long long v;
		const char *rest;
		snprintf(buf, sizeof(buf), "%.*s", (int)(end - line), line);
		line = *end ? end + 1 : end;
		if (strncmp(buf, "Total", 5) == 0 || !buf[0])
			continue;
		if (parse_devno(buf, &major, &minor, &rest) < 0 || sscanf(rest, " %15s %llu", op, &v) != 2)
			return berth_error_set(err, -EBADMSG, "%s: cannot parse '%s'", file, buf);
		struct cgroup_io_device *d = io_device(st, major, minor);
		if (!d)
			continue;
		if (strcmp(op, "Read") == 0)
			*(uint64_t *)((char *)d + rd) = v;
		else if (strcmp(op, "Write") == 0)
			*(uint64_t *)((char *)d + wr) = v;
	}
	return 0;
}

int cg_stats_v1_blkio(int fd, struct cgroup_stats *st, struct berth_error *err)
{
	/* The throttle layer accounts every bio on v1, whatever the scheduler; BFQ's files only count
	 * I/O on devices that use BFQ. */
	static const char *const bytes[] = {"blkio.throttle.io_service_bytes_recursive",
					    "blkio.throttle.io_service_bytes",
					    "blkio.bfq.io_service_bytes_recursive"};
	static const char *const ios[] = {"blkio.throttle.io_serviced_recursive",
					  "blkio.throttle.io_serviced", "blkio.bfq.io_serviced_recursive"};

	for (size_t i = 0; i < ARRAY_SIZE(bytes); i++) {
		_cleanup_free_ char *b = NULL, *o = NULL;
		int r = read_opt(fd, bytes[i], &b, err);
		if (r < 0)
			return r;
		if (!b)
			continue;
		r = read_opt(fd, ios[i], &o, err);
		if (r < 0)
			return r;
		st->has_io = true;
		r = blkio_file(b, bytes[i], st, offsetof(struct cgroup_io_device, read_bytes),
			       offsetof(struct cgroup_io_device, write_bytes), err);
		if (r >= 0 && o)
			r = blkio_file(o, ios[i], st, offsetof(struct cgroup_io_device, read_ios),
				       offsetof(struct cgroup_io_device, write_ios), err);
		return r;
	}
	return 0;
}

/* ---- pids, hugetlb ---- */

int cg_stats_pids(int fd, struct cgroup_stats *st, struct berth_error *err)
{
	int r = cg_read_u64(fd, "pids.current", &st->pids.current);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return berth_error_setf_errno(err, r, "read pids.current");
	st->has_pids = true;
	r = read_value(fd, "pids.max", &st->pids.limit, err);
	if (st->pids.limit == UINT64_MAX)
		st->pids.limit = 0; /* runc reports no limit as 0 */
	return r;
}

/* The page size in a limit file name ("hugetlb.2MB.max" -> "2MB"), or false. */
static bool hugetlb_size(const char *name, bool v2, char *size, size_t len)
{
	const char *suffix = v2 ? ".max" : ".limit_in_bytes";
	size_t n = strlen(name), sl = strlen(suffix);

	if (strncmp(name, "hugetlb.", 8) != 0 || n <= 8 + sl || strcmp(name + n - sl, suffix) != 0)
		return false;
	size_t k = n - 8 - sl;
	if (k >= len || memchr(name + 8, '.', k)) /* "hugetlb.2MB.rsvd.max" */
		return false;
	snprintf(size, len, "%.*s", (int)k, name + 8);
	return true;
}

static int hugetlb_one(int fd, bool v2, const char *size, struct cgroup_usage *u, struct berth_error *err)
{
	/* v2: current, max, and failures in events; v1: the usual four counters. */
	static const char *const v2_names[] = {"current", "max", NULL, NULL};
	static const char *const v1_names[] = {"usage_in_bytes", "limit_in_bytes", "max_usage_in_bytes",
					       "failcnt"};
	uint64_t *vals[] = {&u->usage, &u->limit, &u->max_usage, &u->failcnt};
	const char *const *names = v2 ? v2_names : v1_names;
	_cleanup_free_ char *events = NULL;
	char file[64];
	int r = 0;

	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(vals); i++) {
		if (!names[i])
			continue;
		snprintf(file, sizeof(file), "hugetlb.%s.%s", size, names[i]);
		r = read_value(fd, file, vals[i], err);
	}
	if (r < 0 || !v2)
		return r;
	snprintf(file, sizeof(file), "hugetlb.%s.events", size);
	r = read_opt(fd, file, &events, err);
	if (r >= 0 && events)
		r = kv_opt(events, file, "max", &u->failcnt, err);
	return r;
}

int cg_stats_hugetlb(int fd, bool v2, struct cgroup_stats *st, struct berth_error *err)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berth_error_setf_errno(err, -errno, "list the hugetlb files");
	_cleanup_closedir_ DIR *dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return berth_error_setf_errno(err, -errno, "list the hugetlb files");
	}
	struct dirent *de;
	char size[16];
	while ((de = readdir(dir)) && st->hugetlb.n < CGROUP_STATS_MAX_HUGEPAGES) {
		if (!hugetlb_size(de->d_name, v2, size, sizeof(size)))
			continue;
		struct cgroup_hugetlb_stat *h = &st->hugetlb.page[st->hugetlb.n++];
		snprintf(h->page_size, sizeof(h->page_size), "%s", size);
		int r = hugetlb_one(fd, v2, size, &h->usage, err);
		if (r < 0)
			return r;
		st->has_hugetlb = true;
	}
	return 0;
}

/* ---- entry points ---- */

static int stats_memory(const struct cgroup *cg, struct cgroup_stats *st, struct berth_error *err)
{
	struct cg_ctl ctl;
	int r = cg_ctl_open(cg, "memory", "memory", &ctl);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return berth_error_setf_errno(err, r, "open the memory cgroup of '%s'", cg->path);
	_cleanup_close_ int fd = ctl.fd;
	return ctl.v2 ? cg_stats_v2_memory(fd, st, err) : cg_stats_v1_memory(fd, st, err);
}

static int open_v1(const struct cgroup *cg, const char *controller)
{
	struct cg_hier h;
	return cg_find_v1(cg, controller, &h) ? cg_open(cg, &h) : -ENOENT;
}

static int stats_cpu(const struct cgroup *cg, struct cgroup_stats *st, struct berth_error *err)
{
	struct cg_hier h;
	_cleanup_close_ int cpu = open_v1(cg, "cpu");
	_cleanup_close_ int acct = open_v1(cg, "cpuacct");

	if (cpu >= 0 || acct >= 0)
		return cg_stats_v1_cpu(cpu, acct, st, err);
	/* cgroup2 keeps usage in cpu.stat even without the cpu controller. */
	if (!cg_find_unified(cg, &h))
		return 0;
	_cleanup_close_ int fd = cg_open(cg, &h);
	if (fd < 0)
		return berth_error_setf_errno(err, fd, "open cgroup '%s'", cg->path);
	return cg_stats_v2_cpu(fd, st, err);
}

static int stats_simple(const struct cgroup *cg, const char *v1, const char *v2, struct cgroup_stats *st,
			struct berth_error *err)
{
	struct cg_ctl ctl;
	int r = cg_ctl_open(cg, v1, v2, &ctl);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return berth_error_setf_errno(err, r, "open the %s cgroup of '%s'", v1, cg->path);
	_cleanup_close_ int fd = ctl.fd;
	if (strcmp(v1, "pids") == 0)
		return cg_stats_pids(fd, st, err);
	if (strcmp(v1, "hugetlb") == 0)
		return cg_stats_hugetlb(fd, ctl.v2, st, err);
	return ctl.v2 ? cg_stats_v2_io(fd, st, err) : cg_stats_v1_blkio(fd, st, err);
}

int cgroup_stats_read(const struct cgroup *cg, struct cgroup_stats *ret, struct berth_error *err)
{
	struct cgroup_stats *st = calloc(1, sizeof(*st));
	int r;

	if (!st)
		return berth_error_set(err, -ENOMEM, "out of memory");
	r = stats_memory(cg, st, err);
	if (r >= 0)
		r = stats_cpu(cg, st, err);
	if (r >= 0)
		r = stats_simple(cg, "pids", "pids", st, err);
	if (r >= 0)
		r = stats_simple(cg, "blkio", "io", st, err);
	if (r >= 0)
		r = stats_simple(cg, "hugetlb", "hugetlb", st, err);
	if (r >= 0)
		*ret = *st;
	else
		berth_error_prefix(err, "statistics of cgroup '%s'", cg->path);
	free(st);
	return r < 0 ? r : 0;
}

int cgroup_oom_count(const struct cgroup *cg, uint64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	struct cg_ctl ctl;
	uint64_t v = 0;
	int r = cg_ctl_open(cg, "memory", "memory", &ctl);

	if (r < 0)
		return r;
	_cleanup_close_ int fd = ctl.fd;
	r = cg_read_alloc(fd, ctl.v2 ? "memory.events" : "memory.oom_control", &text);
	if (r < 0)
		return r;
	r = kv_get(text, "oom_kill", &v);
	if (r == -ENOENT)
		v = 0; /* kernels before 4.13 do not count kills in oom_control */
	else if (r < 0)
		return r;
	*ret = v;
	return 0;
}
