/* systemd driver, the pure part: cgroupsPath parsing, slice expansion and linux.resources as
 * unit properties. No D-Bus here (systemd.c), so the unit tests need neither systemd nor root. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cgroups_systemd.h"
#include "berth/error.h"
#include "berth/oci.h"

#define SLICE_SUFFIX ".slice"

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cgroup_systemd_expand_slice(const char *slice, char *buf, size_t size)
{
	size_t len = strlen(slice), slen = strlen(SLICE_SUFFIX);
	if (!ends_with(slice, SLICE_SUFFIX) || len == slen || strchr(slice, '/'))
		return -EINVAL;
	if (strcmp(slice, "-" SLICE_SUFFIX) == 0) {
		if (size < 1)
			return -ENAMETOOLONG;
		buf[0] = '\0';
		return 0;
	}
	size_t stem = len - slen, out = 0;
	if (slice[0] == '-' || slice[stem - 1] == '-')
		return -EINVAL;
	/* One directory per dash-separated prefix: "a-b-c" gives a.slice, a-b.slice, a-b-c.slice. */
	for (size_t i = 0; i <= stem; i++) {
		if (i < stem && slice[i] != '-')
			continue;
		if (i < stem && slice[i + 1] == '-')
			return -EINVAL;
		int n = snprintf(buf + out, size - out, "/%.*s%s", (int)i, slice, SLICE_SUFFIX);
		if (n < 0 || (size_t)n >= size - out)
			return -ENAMETOOLONG;
		out += (size_t)n;
	}
	return 0;
}

/* A unit name systemd accepts: 1..255 characters of [A-Za-z0-9:_.\-] (no escaping here). */
static bool unit_name_ok(const char *s)
{
	if (!*s || strlen(s) >= CGROUP_SYSTEMD_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_.-", *s))
			return false;
	return true;
}

int cgroup_systemd_parse(const char *cgroups_path, const char *id, struct cgroup_systemd_unit *ret,
			 struct berth_error *err)
{
	static const char form[] = "expected \"slice:prefix:name\" for --systemd-cgroup "
				   "(e.g. \"system.slice:berth:ID\")";
	char buf[CGROUP_SYSTEMD_PATH_MAX];
	if (!cgroups_path || !*cgroups_path)
		snprintf(buf, sizeof(buf), "system.slice:berth:%s", id);
	else if (strlen(cgroups_path) >= sizeof(buf))
		return berth_error_set(err, -EINVAL, "linux.cgroupsPath: too long");
	else
		strcpy(buf, cgroups_path);

	char *c1 = strchr(buf, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c1 || !c2 || strchr(c2 + 1, ':'))
		return berth_error_set(err, -EINVAL, "linux.cgroupsPath: \"%s\": %s", cgroups_path, form);
	*c1 = *c2 = '\0';
	const char *slice = buf, *prefix = c1 + 1, *name = c2 + 1;
	if (!*name)
		return berth_error_set(err, -EINVAL,
				       "linux.cgroupsPath: \"%s\": the name (after the last ':') is empty",
				       cgroups_path);
	if (ends_with(name, SLICE_SUFFIX))
		return berth_error_set(
		    err, -EINVAL,
		    "linux.cgroupsPath: \"%s\": a slice as the container's own unit is not "
		    "supported; name a scope (\"slice:prefix:name\")",
		    cgroups_path);

	struct cgroup_systemd_unit u = {0};
	if (!*slice || strcmp(slice, "-") == 0)
		snprintf(u.slice, sizeof(u.slice), "%s", *slice ? "-.slice" : "system.slice");
	else if (strlen(slice) >= sizeof(u.slice))
		return berth_error_set(err, -EINVAL, "linux.cgroupsPath: slice \"%s\" is too long", slice);
	else
		strcpy(u.slice, slice);
	int n = snprintf(u.unit, sizeof(u.unit), "%s%s%s.scope", prefix, *prefix ? "-" : "", name);
	if (n < 0 || (size_t)n >= sizeof(u.unit) || !unit_name_ok(u.unit))
		return berth_error_set(err, -EINVAL,
				       "linux.cgroupsPath: not a valid unit name (1 to 255 characters of "
				       "[A-Za-z0-9:_.-]): \"%s%s%s.scope\"",
				       prefix, *prefix ? "-" : "", name);

	char dir[CGROUP_SYSTEMD_PATH_MAX];
	int r = cgroup_systemd_expand_slice(u.slice, dir, sizeof(dir));
	if (r < 0 || !unit_name_ok(u.slice))
		return berth_error_set(err, -EINVAL,
				       "linux.cgroupsPath: \"%s\": slice \"%s\" is not a valid slice name "
				       "(\"a-b.slice\", no '/' and no empty part between dashes)",
				       cgroups_path, u.slice);
	n = snprintf(u.path, sizeof(u.path), "%s/%s", dir, u.unit);
	if (n < 0 || (size_t)n >= sizeof(u.path))
		return berth_error_set(err, -EINVAL, "linux.cgroupsPath: \"%s\": too long", cgroups_path);
	*ret = u;
	return 0;
}

const char *cgroup_systemd_unit_of_path(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	const char *name = slash ? slash + 1 : path;
	return name && *name ? name : NULL;
}

uint64_t cgroup_systemd_quota_per_sec(int64_t quota, uint64_t period)
{
	if (quota <= 0)
		return UINT64_MAX;
	if (period == 0)
		period = 100000; /* the kernel's default CFS period */
	/* systemd keeps the quota in 10 ms steps and would round a smaller one down (even to 0, no
	 * CPU at all): round up, so the container gets at least what it asked for. */
	uint64_t q = (uint64_t)quota;
	uint64_t per_sec = q > UINT64_MAX / 1000000 ? UINT64_MAX / period : q * 1000000 / period;
	if (per_sec % 10000)
		per_sec = (per_sec / 10000 + 1) * 10000;
	return per_sec;
}

int cgroup_systemd_cpuset_mask(const char *list, unsigned char *bits, size_t *ret_n)
{
	size_t n = 0;
	const char *s = list;
	memset(bits, 0, CGROUP_SYSTEMD_BITS_MAX);
	while (*s) {
		char *end;
		errno = 0;
		unsigned long lo = strtoul(s, &end, 10), hi = lo;
		if (end == s || errno || *s == '-' || *s == '+' || *s == ' ')
			return -EINVAL;
		if (*end == '-') {
			s = end + 1;
			hi = strtoul(s, &end, 10);
			if (end == s || errno || *s == '-' || *s == '+' || *s == ' ' || hi < lo)
				return -EINVAL;
		}
		if (hi >= CGROUP_SYSTEMD_BITS_MAX * 8)
			return -ERANGE;
		for (unsigned long b = lo; b <= hi; b++)
			bits[b / 8] |= (unsigned char)(1u << (b % 8));
		if (hi / 8 + 1 > n)
			n = hi / 8 + 1;
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			return -EINVAL;
		s = end;
	}
	*ret_n = n;
	return 0;
}

static struct cgroup_systemd_prop *add(struct cgroup_systemd_prop *props, size_t max, size_t *n,
				       const char *name, uint64_t v)
{
	if (*n >= max)
		return NULL;
	struct cgroup_systemd_prop *p = &props[(*n)++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->type = CGSD_U64;
	p->u64 = v;
	return p;
}

static int add_mask(struct cgroup_systemd_prop *props, size_t max, size_t *n, const char *name,
		    const char *list, const char *field, struct berth_error *err)
{
	struct cgroup_systemd_prop *p = add(props, max, n, name, 0);
	if (!p)
		return berth_error_set(err, -E2BIG, "%s: too many unit properties", field);
	p->type = CGSD_BITS;
	int r = cgroup_systemd_cpuset_mask(list, p->bits, &p->n_bits);
	if (r < 0)
		return berth_error_set(err, r, "%s: \"%s\" is not a list of numbers and ranges below %d",
				       field, list, CGROUP_SYSTEMD_BITS_MAX * 8);
	return 0;
}

static int memory_props(const struct oci_resources *res, struct cgroup_systemd_prop *props, size_t max,
			size_t *n, struct berth_error *err)
{
	const typeof(res->memory) *m = &res->memory;
	if (m->has_limit && m->limit != 0)
		add(props, max, n, "MemoryMax", m->limit < 0 ? UINT64_MAX : (uint64_t)m->limit);
	if (m->has_reservation && m->reservation != 0)
		add(props, max, n, "MemoryLow", m->reservation < 0 ? UINT64_MAX : (uint64_t)m->reservation);
	if (m->has_swap) {
		int64_t swap = 0;
		int r = cgroup_memory_swap_to_v2(m->swap, m->has_limit ? m->limit : 0, &swap, err);
		if (r < 0)
			return r;
		if (r > 0)
			add(props, max, n, "MemorySwapMax", swap < 0 ? UINT64_MAX : (uint64_t)swap);
	}
	return 0;
}

int cgroup_systemd_properties(const struct oci_resources *res, struct cgroup_systemd_prop *props, size_t max,
			      size_t *ret_n, struct berth_error *err)
{
	size_t n = 0;
	int r = 0;
	if (res && res->has_memory)
		r = memory_props(res, props, max, &n, err);
	if (r < 0)
		return r;
	if (res && res->has_cpu) {
		const typeof(res->cpu) *c = &res->cpu;
		if (c->has_shares && c->shares)
			add(props, max, &n, "CPUWeight", cgroup_cpu_shares_to_weight(c->shares));
		if (c->has_period && c->period)
			add(props, max, &n, "CPUQuotaPeriodUSec", c->period);
		if ((c->has_quota && c->quota != 0) || (c->has_period && c->period))
			add(props, max, &n, "CPUQuotaPerSecUSec",
			    cgroup_systemd_quota_per_sec(c->has_quota ? c->quota : -1, c->period));
		if (c->cpus && *c->cpus)
			r = add_mask(props, max, &n, "AllowedCPUs", c->cpus, "linux.resources.cpu.cpus", err);
		if (r == 0 && c->mems && *c->mems)
			r = add_mask(props, max, &n, "AllowedMemoryNodes", c->mems,
				     "linux.resources.cpu.mems", err);
		if (r < 0)
			return r;
	}
	if (res && res->has_pids && res->pids_limit != 0)
		add(props, max, &n, "TasksMax", res->pids_limit < 0 ? UINT64_MAX : (uint64_t)res->pids_limit);
	if (res && res->has_block_io && res->block_io.has_weight && res->block_io.weight)
		add(props, max, &n, "IOWeight", cgroup_blkio_weight_to_io_weight(res->block_io.weight));
	*ret_n = n; /* at most 9 properties: the callers' CGROUP_SYSTEMD_PROPS_MAX always holds them */
	return 0;
}

bool cgroup_systemd_booted(void)
{
	return access("/run/systemd/system", F_OK) == 0;
}

static const char *known_props[] = {"MemoryMax",          "MemoryLow",          "MemorySwapMax",
				    "CPUWeight",          "CPUQuotaPeriodUSec", "CPUQuotaPerSecUSec",
				    "TasksMax",           "IOWeight",           "AllowedCPUs",
				    "AllowedMemoryNodes", "DevicePolicy",       "DeviceAllow"};

int cgroup_systemd_prop_format(const struct cgroup_systemd_prop *p, char *buf, size_t size)
{
	int n;
	if (p->type == CGSD_STR || p->type == CGSD_DEVICE_ALLOW) {
		if (p->type == CGSD_STR)
			n = snprintf(buf, size, "%s=s:%s", p->name, p->str);
		else if (p->str[0])
			n = snprintf(buf, size, "%s=a(ss):%s:%s", p->name, p->access, p->str);
		else
			n = snprintf(buf, size, "%s=a(ss):", p->name);
		return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
	}
	n = snprintf(buf, size, "%s=%s:", p->name, p->type == CGSD_U64 ? "t" : "ay");
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	size_t off = (size_t)n;
	if (p->type == CGSD_U64) {
		n = snprintf(buf + off, size - off, "%llu", (unsigned long long)p->u64);
		return n < 0 || (size_t)n >= size - off ? -ENAMETOOLONG : 0;
	}
	for (size_t i = 0; i < p->n_bits; i++, off += 2)
		if (off + 3 > size)
			return -ENAMETOOLONG;
		else
			snprintf(buf + off, 3, "%02x", p->bits[i]);
	return 0;
}

/* Only the properties berth itself sets cross to berth-ext: the helper is no general setter. */
int cgroup_systemd_prop_parse(const char *word, struct cgroup_systemd_prop *ret)
{
	struct cgroup_systemd_prop p = {0};
	const char *eq = strchr(word, '=');
	if (!eq || (size_t)(eq - word) >= sizeof(p.name))
		return -EINVAL;
	memcpy(p.name, word, (size_t)(eq - word));
	bool known = false;
	for (size_t i = 0; i < sizeof(known_props) / sizeof(known_props[0]); i++)
		known = known || strcmp(p.name, known_props[i]) == 0;
	if (!known)
		return -EINVAL;
	const char *v = eq + 1;
	if (strncmp(v, "t:", 2) == 0) {
		char *end;
		errno = 0;
		p.type = CGSD_U64;
		p.u64 = strtoull(v + 2, &end, 10);
		if (end == v + 2 || *end || errno || v[2] == '-')
			return -EINVAL;
	} else if (strncmp(v, "ay:", 3) == 0) {
		size_t len = strlen(v + 3);
		p.type = CGSD_BITS;
		if (len % 2 || len / 2 > CGROUP_SYSTEMD_BITS_MAX)
			return -EINVAL;
		for (size_t i = 0; i < len / 2; i++) {
			unsigned int b;
			if (!isxdigit((unsigned char)v[3 + 2 * i]) ||
			    !isxdigit((unsigned char)v[4 + 2 * i]) || sscanf(v + 3 + 2 * i, "%2x", &b) != 1)
				return -EINVAL;
			p.bits[i] = (unsigned char)b;
		}
		p.n_bits = len / 2;
	} else if (strncmp(v, "s:", 2) == 0 && strcmp(p.name, "DevicePolicy") == 0) {
		p.type = CGSD_STR;
		if (strcmp(v + 2, "strict") && strcmp(v + 2, "closed") && strcmp(v + 2, "auto"))
			return -EINVAL;
		snprintf(p.str, sizeof(p.str), "%s", v + 2);
	} else if (strncmp(v, "a(ss):", 6) == 0 && strcmp(p.name, "DeviceAllow") == 0) {
		const char *acc = v + 6, *colon = strchr(acc, ':');
		p.type = CGSD_DEVICE_ALLOW;
		if (!*acc)
			; /* the reset */
		else if (!colon || colon == acc || (size_t)(colon - acc) >= sizeof(p.access) ||
			 strspn(acc, "rwm") != (size_t)(colon - acc) || !colon[1] ||
			 strlen(colon + 1) >= sizeof(p.str))
			return -EINVAL;
		else {
			memcpy(p.access, acc, (size_t)(colon - acc));
			snprintf(p.str, sizeof(p.str), "%s", colon + 1);
		}
	} else {
		return -EINVAL;
	}
	*ret = p;
	return 0;
}

/* ---- device rules as DevicePolicy / DeviceAllow ---- */

#define DEV_R 1u
#define DEV_W 2u
#define DEV_M 4u

struct dev_entry {
	char type;            /* 'c' or 'b' */
	int64_t major, minor; /* -1: any */
	unsigned int access;
};

static unsigned int access_bits(const char *a)
{
	unsigned int bits = 0;
	for (; a && *a; a++)
		bits |= *a == 'r' ? DEV_R : *a == 'w' ? DEV_W : *a == 'm' ? DEV_M : 0;
	return a ? bits : DEV_R | DEV_W | DEV_M;
}

/* The name /proc/devices gives char (@type 'c') or block major @major, into @buf. */
static bool major_name(const char *proc_devices, char type, int64_t major, char *buf, size_t size)
{
	const char *want = type == 'c' ? "Character devices:" : "Block devices:";
	const char *sec = proc_devices ? strstr(proc_devices, want) : NULL;
	if (!sec)
		return false;
	for (const char *l = strchr(sec, '\n'); l && l[1] && l[1] != '\n'; l = strchr(l + 1, '\n')) {
		long long m;
		char name[64];
		if (sscanf(l + 1, "%lld %63s", &m, name) == 2 && m == major) {
			snprintf(buf, size, "%s", name);
			return true;
		}
	}
	return false;
}

/* Apply one rule to the allowlist @e (*n entries); false when systemd cannot express the result. */
static bool dev_apply(struct dev_entry *e, size_t *n, bool *allow_all, const struct oci_device_cgroup *r)
{
	int64_t major = r->has_major ? r->major : -1, minor = r->has_minor ? r->minor : -1;
	unsigned int acc = access_bits(r->access);
	if (r->type == 'a' && major < 0 && minor < 0 && acc == (DEV_R | DEV_W | DEV_M)) {
		*allow_all = r->allow; /* a fresh start: everything, or nothing */
		*n = 0;
		return true;
	}
	if (*allow_all || r->type == 'a' || (major < 0 && minor >= 0))
		return false; /* "all but ..." and these shapes have no DeviceAllow form */
	struct dev_entry *same = NULL;
	for (size_t i = 0; i < *n; i++) {
		bool overlap = e[i].type == r->type && (e[i].major < 0 || major < 0 || e[i].major == major) &&
			       (e[i].minor < 0 || minor < 0 || e[i].minor == minor);
		if (e[i].type == r->type && e[i].major == major && e[i].minor == minor)
			same = &e[i];
		else if (!r->allow && overlap && (e[i].access & acc))
			return false; /* a deny cutting into another allow (wider or narrower) */
	}
	if (same) {
		same->access = r->allow ? same->access | acc : same->access & ~acc;
		return true;
	}
	if (!r->allow)
		return true; /* denying what is not allowed: nothing changes */
	if (*n >= CGROUP_SYSTEMD_DEVICES_MAX)
		return false;
	e[(*n)++] = (struct dev_entry){.type = r->type, .major = major, .minor = minor, .access = acc};
	return true;
}

static bool dev_prop(const struct dev_entry *e, const char *proc_devices, struct cgroup_systemd_prop *p)
{
	const char *kind = e->type == 'c' ? "char" : "block";
	char name[64];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "DeviceAllow");
	p->type = CGSD_DEVICE_ALLOW;
	snprintf(p->access, sizeof(p->access), "%s%s%s", e->access & DEV_R ? "r" : "",
		 e->access & DEV_W ? "w" : "", e->access & DEV_M ? "m" : "");
	if (e->major < 0) {
		snprintf(p->str, sizeof(p->str), "%s-*", kind);
		return true;
	}
	if (e->minor >= 0) {
		snprintf(p->str, sizeof(p->str), "/dev/%s/%lld:%lld", kind, (long long)e->major,
			 (long long)e->minor);
		return true;
	}
	/* A whole major: systemd knows it by its name in /proc/devices. */
	if (!major_name(proc_devices, e->type, e->major, name, sizeof(name)))
		return false;
	return (size_t)snprintf(p->str, sizeof(p->str), "%s-%s", kind, name) < sizeof(p->str);
}

int cgroup_systemd_device_props(const struct oci_device_cgroup *rules, size_t n_rules,
				const char *proc_devices, struct cgroup_systemd_prop *props, size_t max,
				size_t *n)
{
	struct dev_entry e[CGROUP_SYSTEMD_DEVICES_MAX];
	size_t ne = 0, k = 0;
	bool allow_all = false;
	if (n_rules == 0)
		return 0;
	for (size_t i = 0; i < n_rules; i++)
		if (!dev_apply(e, &ne, &allow_all, &rules[i]))
			return 0;
	if (allow_all || *n + ne + 2 > max)
		return 0;
	struct cgroup_systemd_prop *p = &props[*n];
	memset(p, 0, 2 * sizeof(*p));
	snprintf(p[0].name, sizeof(p[0].name), "DevicePolicy");
	p[0].type = CGSD_STR;
	snprintf(p[0].str, sizeof(p[0].str), "strict");
	snprintf(p[1].name, sizeof(p[1].name), "DeviceAllow"); /* empty: reset the list */
	p[1].type = CGSD_DEVICE_ALLOW;
	k = 2;
	for (size_t i = 0; i < ne; i++) {
		if (!e[i].access)
			continue;
		if (!dev_prop(&e[i], proc_devices, &p[k]))
			return 0;
		k++;
	}
	*n += k;
	return 0;
}
