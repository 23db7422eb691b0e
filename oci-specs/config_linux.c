/* The linux object of config.json, except resources (config_resources.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "berth/error.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "json_internal.h"

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i], s) == 0)
			return true;
	}
	return false;
}

/* Fail for entry @i of the string list @key when it is not absolute. */
static int check_absolute_list(struct jctx *c, const char *key, char **list)
{
	size_t mark;
	int r;

	for (size_t i = 0; list && list[i]; i++) {
		if (list[i][0] == '/')
			continue;
		mark = jpath_key(c, key);
		jpath_index(c, i);
		r = jfail(c, "must be an absolute path");
		jpath_pop(c, mark);
		return r;
	}
	return 0;
}

/* ---- namespaces ---- */

static int parse_namespace(struct jctx *c, yajl_val v, void *out)
{
	struct oci_namespace *ns = out;
	_cleanup_free_ char *type = NULL;
	char q[JQUOTE_MAX];
	int t, r;

	r = jget_string(c, v, "type", &type);
	if (r == 0)
		r = jget_string(c, v, "path", &ns->path);
	if (r < 0)
		return r;
	if (!type)
		return jfail_at(c, "type", "required");
	t = oci_ns_type_from_name(type);
	if (t < 0)
		return jfail_at(c, "type", "unknown namespace type %s", jquote(q, sizeof(q), type));
	ns->type = (enum oci_ns_type)t;
	if (ns->path && !*ns->path) {
		free(ns->path);
		ns->path = NULL;
	}
	if (ns->path && ns->path[0] != '/')
		return jfail_at(c, "path", "must be an absolute path");
	return 0;
}

static int parse_namespaces(struct jctx *c, yajl_val obj, struct oci_linux *l)
{
	bool seen[OCI_NS_MAX] = {false};
	int r;

	r = JGET_ARRAY_OF(c, obj, "namespaces", parse_namespace, &l->namespaces, &l->n_namespaces);
	if (r < 0)
		return r;
	size_t n = 0;
	for (size_t i = 0; i < l->n_namespaces; i++) {
		struct oci_namespace *ns = &l->namespaces[i];
		enum oci_ns_type t = ns->type;

		if (!seen[t]) {
			seen[t] = true;
			l->namespaces[n++] = *ns;
			continue;
		}
		/* The same request twice (a runc spec user adds a cgroup namespace that `berth spec`
		 * already lists): one namespace, with a warning. runc refuses any repeat; berth only
		 * refuses repeats that ask for different things. */
		const struct oci_namespace *first = l->namespaces;
		while (first->type != t)
			first++;
		bool same = (!first->path && !ns->path) ||
			    (first->path && ns->path && !strcmp(first->path, ns->path));
		if (!same)
			return jfail_at(c, "namespaces", "duplicate namespace \"%s\" with a different path",
					oci_ns_type_name(t));
		log_warn("linux.namespaces[%zu]: \"%s\" is listed twice; ignoring the repeat", i,
			 oci_ns_type_name(t));
		free(ns->path);
	}
	l->n_namespaces = n;
	return 0;
}

/* ---- timeOffsets ---- */

static int parse_time_offset(struct jctx *c, const char *key, yajl_val v, void *out)
{
	struct oci_time_offset *t = out;
	int r;

	if (!YAJL_IS_OBJECT(v))
		return jfail(c, "expected an object");
	t->clock = strdup(key);
	if (!t->clock)
		return berth_error_set(c->err, -ENOMEM, "%s: out of memory", c->doc);
	r = jget_i64(c, v, "secs", &t->secs, NULL);
	if (r == 0)
		r = jget_u32(c, v, "nanosecs", &t->nanosecs, NULL);
	if (r == 0 && t->nanosecs >= 1000000000u)
		return jfail_at(c, "nanosecs", "must be less than 1000000000");
	return r;
}

static int parse_time_offsets(struct jctx *c, yajl_val obj, struct oci_linux *l)
{
	static const char *const clocks[] = {"monotonic", "boottime"};
	char q[JQUOTE_MAX];
	yajl_val v;
	int r;

	r = jget_object(c, obj, "timeOffsets", &v);
	if (r < 0 || !v)
		return r;
	/* Checked up front so the message names the map rather than a path inside the bad key. */
	for (size_t i = 0; i < v->u.object.len; i++) {
		if (!in_list(clocks, ARRAY_SIZE(clocks), v->u.object.keys[i]))
			return jfail_at(c, "timeOffsets", "unknown clock %s",
					jquote(q, sizeof(q), v->u.object.keys[i]));
	}
	return JGET_MAP_OF(c, obj, "timeOffsets", parse_time_offset, &l->time_offsets, &l->n_time_offsets);
}

/* ---- devices ---- */

static int check_device(struct jctx *c, const struct oci_device *d, const char *type, bool has_major,
			bool has_minor)
{
	if (!d->path || !*d->path)
		return jfail_at(c, "path", "required");
	if (d->path[0] != '/')
		return jfail_at(c, "path", "must be an absolute path");
	if (!type)
		return jfail_at(c, "type", "required");
	if (strlen(type) != 1 || !strchr("cbup", type[0]))
		return jfail_at(c, "type", "must be one of c, b, u, p");
	/* A fifo has no device number; everything else needs both. */
	if (d->type != 'p' && !has_major)
		return jfail_at(c, "major", "required");
	if (d->type != 'p' && !has_minor)
		return jfail_at(c, "minor", "required");
	if (d->major < 0)
		return jfail_at(c, "major", "must not be negative");
	if (d->minor < 0)
		return jfail_at(c, "minor", "must not be negative");
	/* makedev() takes 32-bit numbers: a larger one would silently make a different device. */
	if (d->major > UINT32_MAX)
		return jfail_at(c, "major", "must be at most %u", UINT32_MAX);
	if (d->minor > UINT32_MAX)
		return jfail_at(c, "minor", "must be at most %u", UINT32_MAX);
	return 0;
}

static int parse_device(struct jctx *c, yajl_val v, void *out)
{
	struct oci_device *d = out;
	_cleanup_free_ char *type = NULL;
	bool has_major = false, has_minor = false;
	int r;

	r = jget_string(c, v, "path", &d->path);
	if (r == 0)
		r = jget_string(c, v, "type", &type);
	if (r == 0)
		r = jget_i64(c, v, "major", &d->major, &has_major);
	if (r == 0)
		r = jget_i64(c, v, "minor", &d->minor, &has_minor);
	if (r == 0)
		r = jget_u32(c, v, "fileMode", &d->file_mode, &d->has_file_mode);
	if (r == 0)
		r = jget_u32(c, v, "uid", &d->uid, &d->has_uid);
	if (r == 0)
		r = jget_u32(c, v, "gid", &d->gid, &d->has_gid);
	if (r < 0)
		return r;
	d->type = type ? type[0] : '\0';
	return check_device(c, d, type, has_major, has_minor);
}

/* ---- sysctl ---- */

static int parse_sysctl(struct jctx *c, yajl_val obj, struct oci_linux *l)
{
	char q[JQUOTE_MAX];
	int r;

	r = jget_kv_map(c, obj, "sysctl", &l->sysctl, &l->n_sysctl);
	if (r < 0)
		return r;
	/* The runtime turns the name into a path below /proc/sys; keep it there. */
	for (size_t i = 0; i < l->n_sysctl; i++) {
		const char *k = l->sysctl[i].key;

		if (!*k || k[0] == '/' || k[0] == '.' || strstr(k, ".."))
			return jfail_at(c, "sysctl", "invalid sysctl name %s", jquote(q, sizeof(q), k));
	}
	return 0;
}

/* ---- seccomp ---- */

const char *const oci_seccomp_actions[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",   "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",        "SCMP_ACT_LOG",         "SCMP_ACT_NOTIFY",
};

const char *const oci_seccomp_ops[] = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};

const char *const oci_seccomp_archs[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
};

const char *const oci_seccomp_flags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

const size_t oci_seccomp_n_actions = ARRAY_SIZE(oci_seccomp_actions);
const size_t oci_seccomp_n_ops = ARRAY_SIZE(oci_seccomp_ops);
const size_t oci_seccomp_n_archs = ARRAY_SIZE(oci_seccomp_archs);
const size_t oci_seccomp_n_flags = ARRAY_SIZE(oci_seccomp_flags);

/* Every entry of the list @key must be one of @known. */
static int check_names(struct jctx *c, const char *key, char **list, const char *const *known, size_t n,
		       const char *what)
{
	char q[JQUOTE_MAX];
	size_t mark;
	int r;

	for (size_t i = 0; list && list[i]; i++) {
		if (in_list(known, n, list[i]))
			continue;
		mark = jpath_key(c, key);
		jpath_index(c, i);
		r = jfail(c, "unknown %s %s", what, jquote(q, sizeof(q), list[i]));
		jpath_pop(c, mark);
		return r;
	}
	return 0;
}

static int check_action(struct jctx *c, const char *key, const char *action)
{
	char q[JQUOTE_MAX];

	if (!action)
		return jfail_at(c, key, "required");
	if (!in_list(oci_seccomp_actions, oci_seccomp_n_actions, action))
		return jfail_at(c, key, "unknown seccomp action %s", jquote(q, sizeof(q), action));
	return 0;
}

static int parse_seccomp_arg(struct jctx *c, yajl_val v, void *out)
{
	struct oci_seccomp_arg *a = out;
	bool has_index = false, has_value = false;
	char q[JQUOTE_MAX];
	int r;

	r = jget_u32(c, v, "index", &a->index, &has_index);
	if (r == 0)
		r = jget_u64(c, v, "value", &a->value, &has_value);
	if (r == 0)
		r = jget_u64(c, v, "valueTwo", &a->value_two, NULL);
	if (r == 0)
		r = jget_string(c, v, "op", &a->op);
	if (r < 0)
		return r;
	if (!has_index)
		return jfail_at(c, "index", "required");
	if (a->index > 5)
		return jfail_at(c, "index", "must be between 0 and 5 (a syscall has at most 6 arguments)");
	if (!has_value)
		return jfail_at(c, "value", "required");
	if (!a->op)
		return jfail_at(c, "op", "required");
	if (!in_list(oci_seccomp_ops, oci_seccomp_n_ops, a->op))
		return jfail_at(c, "op", "unknown operator %s", jquote(q, sizeof(q), a->op));
	return 0;
}

static int parse_seccomp_syscall(struct jctx *c, yajl_val v, void *out)
{
	struct oci_seccomp_syscall *s = out;
	int r;

	r = jget_strv(c, v, "names", &s->names);
	if (r == 0)
		r = jget_string(c, v, "action", &s->action);
	if (r == 0)
		r = jget_u32(c, v, "errnoRet", &s->errno_ret, &s->has_errno_ret);
	if (r == 0)
		r = JGET_ARRAY_OF(c, v, "args", parse_seccomp_arg, &s->args, &s->n_args);
	if (r < 0)
		return r;
	if (!s->names)
		return jfail_at(c, "names", "required");
	if (!s->names[0])
		return jfail_at(c, "names", "must not be empty");
	return check_action(c, "action", s->action);
}

static int parse_seccomp(struct jctx *c, yajl_val v, void *out)
{
	struct oci_seccomp *s = out;
	int r;

	r = jget_string(c, v, "defaultAction", &s->default_action);
	if (r == 0)
		r = jget_u32(c, v, "defaultErrnoRet", &s->default_errno_ret, &s->has_default_errno_ret);
	if (r == 0)
		r = jget_strv(c, v, "architectures", &s->architectures);
	if (r == 0)
		r = jget_strv(c, v, "flags", &s->flags);
	if (r == 0)
		r = jget_string(c, v, "listenerPath", &s->listener_path);
	if (r == 0)
		r = jget_string(c, v, "listenerMetadata", &s->listener_metadata);
	if (r == 0)
		r = JGET_ARRAY_OF(c, v, "syscalls", parse_seccomp_syscall, &s->syscalls, &s->n_syscalls);
	if (r == 0)
		r = check_action(c, "defaultAction", s->default_action);
	if (r == 0)
		r = check_names(c, "architectures", s->architectures, oci_seccomp_archs, oci_seccomp_n_archs,
				"architecture");
	if (r == 0)
		r = check_names(c, "flags", s->flags, oci_seccomp_flags, oci_seccomp_n_flags, "seccomp flag");
	return r;
}

/* ---- personality, intelRdt, netDevices ---- */

static int parse_personality(struct jctx *c, yajl_val v, void *out)
{
	struct oci_linux *l = out;
	int r;

	r = jget_string(c, v, "domain", &l->personality_domain);
	if (r == 0)
		r = jget_strv(c, v, "flags", &l->personality_flags);
	if (r < 0)
		return r;
	if (!l->personality_domain)
		return jfail_at(c, "domain", "required");
	if (strcmp(l->personality_domain, "LINUX") != 0 && strcmp(l->personality_domain, "LINUX32") != 0)
		return jfail_at(c, "domain", "must be LINUX or LINUX32");
	return 0;
}

static int parse_intel_rdt(struct jctx *c, yajl_val v, void *out)
{
	struct oci_linux *l = out;
	const char *id;
	int r;

	r = jget_string(c, v, "closID", &l->intel_rdt.clos_id);
	if (r == 0)
		r = jget_string(c, v, "l3CacheSchema", &l->intel_rdt.l3_cache_schema);
	if (r == 0)
		r = jget_string(c, v, "memBwSchema", &l->intel_rdt.mem_bw_schema);
	if (r == 0)
		r = jget_bool(c, v, "enableCMT", &l->intel_rdt.enable_cmt, NULL);
	if (r == 0)
		r = jget_bool(c, v, "enableMBM", &l->intel_rdt.enable_mbm, NULL);
	if (r < 0)
		return r;
	/* closID names a directory under /sys/fs/resctrl. */
	id = l->intel_rdt.clos_id;
	if (id && (strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0))
		return jfail_at(c, "closID", "must be a plain resctrl group name");
	return 0;
}

/* IFNAMSIZ - 1 bytes, no '/', ':' or whitespace, not "." or "..": what the kernel accepts. */
static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return strcspn(s, "/: \t\n\r\v\f") == n;
}

static int parse_net_device(struct jctx *c, const char *key, yajl_val v, void *out)
{
	struct oci_net_device *d = out;
	char q[JQUOTE_MAX];
	int r;

	if (!YAJL_IS_OBJECT(v))
		return jfail(c, "expected an object");
	if (!valid_ifname(key))
		return jfail(c, "invalid interface name %s", jquote(q, sizeof(q), key));
	d->host_name = strdup(key);
	if (!d->host_name)
		return berth_error_set(c->err, -ENOMEM, "%s: out of memory", c->doc);
	r = jget_string(c, v, "name", &d->name);
	if (r == 0 && d->name && !valid_ifname(d->name))
		return jfail_at(c, "name", "invalid interface name %s", jquote(q, sizeof(q), d->name));
	return r;
}

/* ---- the linux object ---- */

static int check_propagation(struct jctx *c, struct oci_linux *l)
{
	static const char *const modes[] = {"shared",  "slave",  "private",  "unbindable",
					    "rshared", "rslave", "rprivate", "runbindable"};
	char q[JQUOTE_MAX];

	if (l->rootfs_propagation && !*l->rootfs_propagation) {
		free(l->rootfs_propagation);
		l->rootfs_propagation = NULL;
	}
	if (l->rootfs_propagation && !in_list(modes, ARRAY_SIZE(modes), l->rootfs_propagation))
		return jfail_at(c, "rootfsPropagation", "unknown propagation %s",
				jquote(q, sizeof(q), l->rootfs_propagation));
	return 0;
}

static int parse_linux_security(struct jctx *c, yajl_val v, struct oci_linux *l)
{
	int r;

	r = jget_with(c, v, "seccomp", parse_seccomp, &l->seccomp, &l->has_seccomp);
	if (r == 0)
		r = jget_strv(c, v, "maskedPaths", &l->masked_paths);
	if (r == 0)
		r = jget_strv(c, v, "readonlyPaths", &l->readonly_paths);
	if (r == 0)
		r = jget_string(c, v, "mountLabel", &l->mount_label);
	if (r == 0)
		r = jget_with(c, v, "personality", parse_personality, l, &l->has_personality);
	if (r == 0)
		r = jget_with(c, v, "intelRdt", parse_intel_rdt, l, &l->has_intel_rdt);
	if (r == 0)
		r = JGET_MAP_OF(c, v, "netDevices", parse_net_device, &l->net_devices, &l->n_net_devices);
	if (r == 0)
		r = check_absolute_list(c, "maskedPaths", l->masked_paths);
	if (r == 0)
		r = check_absolute_list(c, "readonlyPaths", l->readonly_paths);
	return r;
}

int parse_linux(struct jctx *c, yajl_val v, void *out)
{
	struct oci_linux *l = out;
	int r;

	r = parse_namespaces(c, v, l);
	if (r == 0)
		r = parse_id_mappings(c, v, "uidMappings", &l->uid_mappings, &l->n_uid_mappings);
	if (r == 0)
		r = parse_id_mappings(c, v, "gidMappings", &l->gid_mappings, &l->n_gid_mappings);
	if (r == 0)
		r = parse_time_offsets(c, v, l);
	if (r == 0)
		r = JGET_ARRAY_OF(c, v, "devices", parse_device, &l->devices, &l->n_devices);
	if (r == 0)
		r = jget_string(c, v, "cgroupsPath", &l->cgroups_path);
	if (r == 0)
		r = jget_with(c, v, "resources", parse_resources, &l->resources, &l->has_resources);
	if (r == 0)
		r = parse_sysctl(c, v, l);
	if (r == 0)
		r = jget_string(c, v, "rootfsPropagation", &l->rootfs_propagation);
	if (r == 0)
		r = check_propagation(c, l);
	if (r == 0)
		r = parse_linux_security(c, v, l);
	return r;
}
