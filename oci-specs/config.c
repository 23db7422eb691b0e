/* config.json, top level: ociVersion, root, hostname, domainname, mounts, hooks, annotations,
 * plus the checks that tie sections together (a hostname needs a uts namespace, ...). The
 * process and linux objects live in config_process.c and config_linux.c. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "berth/error.h"
#include "berth/oci.h"
#include "json_internal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080 /* glibc headers before 2.36 lack it */
#endif

/* ---- names ---- */

static const char *const hook_names[OCI_HOOK_KIND_MAX] = {
    [OCI_HOOK_PRESTART] = "prestart",
    [OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
    [OCI_HOOK_CREATE_CONTAINER] = "createContainer",
    [OCI_HOOK_START_CONTAINER] = "startContainer",
    [OCI_HOOK_POSTSTART] = "poststart",
    [OCI_HOOK_POSTSTOP] = "poststop",
};

const char *oci_hook_kind_name(enum oci_hook_kind kind)
{
	if ((unsigned)kind >= OCI_HOOK_KIND_MAX)
		return NULL;
	return hook_names[kind];
}

static const struct {
	const char *name;
	unsigned long flag;
} ns_table[OCI_NS_MAX] = {
    [OCI_NS_PID] = {"pid", CLONE_NEWPID},          [OCI_NS_NETWORK] = {"network", CLONE_NEWNET},
    [OCI_NS_MOUNT] = {"mount", CLONE_NEWNS},       [OCI_NS_IPC] = {"ipc", CLONE_NEWIPC},
    [OCI_NS_UTS] = {"uts", CLONE_NEWUTS},          [OCI_NS_USER] = {"user", CLONE_NEWUSER},
    [OCI_NS_CGROUP] = {"cgroup", CLONE_NEWCGROUP}, [OCI_NS_TIME] = {"time", CLONE_NEWTIME},
};

int oci_ns_type_from_name(const char *name)
{
	for (int i = 0; name && i < OCI_NS_MAX; i++) {
		if (strcmp(ns_table[i].name, name) == 0)
			return i;
	}
	return -1;
}

const char *oci_ns_type_name(enum oci_ns_type type)
{
	if ((unsigned)type >= OCI_NS_MAX)
		return NULL;
	return ns_table[type].name;
}

unsigned long oci_ns_clone_flag(enum oci_ns_type type)
{
	if ((unsigned)type >= OCI_NS_MAX)
		return 0;
	return ns_table[type].flag;
}

/* ---- lookups ---- */

const struct oci_namespace *oci_config_namespace(const struct oci_config *config, enum oci_ns_type type)
{
	if (!config || !config->has_linux)
		return NULL;
	for (size_t i = 0; i < config->linux_.n_namespaces; i++) {
		if (config->linux_.namespaces[i].type == type)
			return &config->linux_.namespaces[i];
	}
	return NULL;
}

const char *oci_config_annotation(const struct oci_config *config, const char *key)
{
	if (!config || !key)
		return NULL;
	/* The last occurrence wins, as it does when Go decodes a repeated key into a map. */
	for (size_t i = config->n_annotations; i-- > 0;) {
		if (strcmp(config->annotations[i].key, key) == 0)
			return config->annotations[i].value;
	}
	return NULL;
}

/* ---- mounts ---- */

int parse_id_mapping(struct jctx *c, yajl_val v, void *out)
{
	struct oci_id_mapping *m = out;
	int r;

	r = jget_u32(c, v, "containerID", &m->container_id, NULL);
	if (r == 0)
		r = jget_u32(c, v, "hostID", &m->host_id, NULL);
	if (r == 0)
		r = jget_u32(c, v, "size", &m->size, NULL);
	if (r < 0)
		return r;
	if (m->size == 0)
		return jfail_at(c, "size", "must be greater than 0");
	if ((uint64_t)m->container_id + m->size - 1 > UINT32_MAX ||
	    (uint64_t)m->host_id + m->size - 1 > UINT32_MAX)
		return jfail_at(c, "size", "range exceeds the 32-bit id space");
	return 0;
}

int parse_id_mappings(struct jctx *c, yajl_val obj, const char *key, struct oci_id_mapping **ret,
		      size_t *ret_n)
{
	/* The kernel takes at most 340 lines in uid_map/gid_map. */
	static const size_t max_lines = 340;
	int r;

	r = JGET_ARRAY_OF(c, obj, key, parse_id_mapping, ret, ret_n);
	if (r == 0 && *ret_n > max_lines)
		return jfail_at(c, key, "too many mappings (at most %zu)", max_lines);
	return r;
}

static int parse_mount(struct jctx *c, yajl_val v, void *out)
{
	struct oci_mount *m = out;
	int r;

	r = jget_string(c, v, "destination", &m->destination);
	if (r == 0)
		r = jget_string(c, v, "type", &m->type);
	if (r == 0)
		r = jget_string(c, v, "source", &m->source);
	if (r == 0)
		r = jget_strv(c, v, "options", &m->options);
	if (r == 0)
		r = parse_id_mappings(c, v, "uidMappings", &m->uid_mappings, &m->n_uid_mappings);
	if (r == 0)
		r = parse_id_mappings(c, v, "gidMappings", &m->gid_mappings, &m->n_gid_mappings);
	if (r < 0)
		return r;
	if (!m->destination || !*m->destination)
		return jfail_at(c, "destination", "required");
	/* runc still accepts relative destinations with a warning; berth resolves every mount
	 * inside the rootfs and wants to know where. */
	if (m->destination[0] != '/')
		return jfail_at(c, "destination", "must be an absolute path");
	return 0;
}

/* ---- hooks ---- */

static int parse_hook(struct jctx *c, yajl_val v, void *out)
{
	struct oci_hook *h = out;
	int64_t timeout;
	int r;

	r = jget_string(c, v, "path", &h->path);
	if (r == 0)
		r = jget_strv(c, v, "args", &h->args);
	if (r == 0)
		r = jget_strv(c, v, "env", &h->env);
	if (r == 0)
		r = jget_i64(c, v, "timeout", &timeout, &h->has_timeout);
	if (r < 0)
		return r;
	if (!h->path || !*h->path)
		return jfail_at(c, "path", "required");
	if (h->path[0] != '/')
		return jfail_at(c, "path", "must be an absolute path");
	if (h->has_timeout && timeout <= 0)
		return jfail_at(c, "timeout", "must be greater than 0");
	if (h->has_timeout && timeout > INT32_MAX)
		return jfail_at(c, "timeout", "must be at most %d seconds", INT32_MAX);
	h->timeout = (int)timeout;
	return 0;
}

static int parse_hooks(struct jctx *c, yajl_val v, void *out)
{
	struct oci_config *cfg = out;
	int r = 0;

	for (int k = 0; k < OCI_HOOK_KIND_MAX && r == 0; k++)
		r = JGET_ARRAY_OF(c, v, hook_names[k], parse_hook, &cfg->hooks[k], &cfg->n_hooks[k]);
	return r;
}

/* ---- root and top level ---- */

static int parse_root(struct jctx *c, yajl_val v, void *out)
{
	struct oci_config *cfg = out;
	int r;

	r = jget_string(c, v, "path", &cfg->root_path);
	if (r == 0)
		r = jget_bool(c, v, "readonly", &cfg->root_readonly, NULL);
	return r;
}

/* An empty string means "not set" for these, as it does for runc (Go's zero value). */
static void empty_to_null(char **s)
{
	if (*s && !**s) {
		free(*s);
		*s = NULL;
	}
}

/* One dot-separated identifier of a pre-release or build suffix: [0-9A-Za-z-]+, and for a
 * pre-release, a numeric one without leading zeros. Returns its length, 0 if invalid. */
static size_t semver_ident(const char *s, bool prerelease)
{
	size_t n = strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-");
	if (n == 0)
		return 0;
	if (prerelease && strspn(s, "0123456789") == n && n > 1 && s[0] == '0')
		return 0;
	return n;
}

/* Semantic Versioning 2.0.0, which the runtime spec requires of ociVersion. */
bool oci_semver_valid(const char *v)
{
	for (int part = 0; part < 3; part++) {
		size_t n = strspn(v, "0123456789");
		if (n == 0 || (n > 1 && v[0] == '0'))
			return false;
		v += n;
		if (part < 2 && *v++ != '.')
			return false;
	}
	/* "-pre.release" then "+build.meta", each optional, in that order. */
	for (int suffix = 0; suffix < 2; suffix++) {
		char sep = suffix == 0 ? '-' : '+';
		if (*v != sep)
			continue;
		do {
			size_t n = semver_ident(++v, sep == '-');
			if (n == 0)
				return false;
			v += n;
		} while (*v == '.');
	}
	return *v == '\0';
}

static int parse_top(struct jctx *c, yajl_val doc, struct oci_config *cfg)
{
	int r;

	r = jget_string(c, doc, "ociVersion", &cfg->oci_version);
	if (r == 0)
		r = jget_with(c, doc, "root", parse_root, cfg, NULL);
	if (r == 0)
		r = jget_string(c, doc, "hostname", &cfg->hostname);
	if (r == 0)
		r = jget_string(c, doc, "domainname", &cfg->domainname);
	if (r == 0)
		r = jget_with(c, doc, "process", parse_process, &cfg->process, &cfg->has_process);
	if (r == 0)
		r = JGET_ARRAY_OF(c, doc, "mounts", parse_mount, &cfg->mounts, &cfg->n_mounts);
	if (r == 0)
		r = jget_with(c, doc, "hooks", parse_hooks, cfg, NULL);
	if (r == 0)
		r = jget_kv_map(c, doc, "annotations", &cfg->annotations, &cfg->n_annotations);
	if (r == 0)
		r = jget_with(c, doc, "linux", parse_linux, &cfg->linux_, &cfg->has_linux);
	if (r < 0)
		return r;
	empty_to_null(&cfg->hostname);
	empty_to_null(&cfg->domainname);
	if (!cfg->oci_version || !*cfg->oci_version)
		return jfail_at(c, "ociVersion", "required");
	if (!oci_semver_valid(cfg->oci_version)) {
		char q[JQUOTE_MAX];
		return jfail_at(c, "ociVersion",
				"%s is not a semantic version (MAJOR.MINOR.PATCH, e.g. \"1.0.2\")",
				jquote(q, sizeof(q), cfg->oci_version));
	}
	if (!cfg->root_path || !*cfg->root_path)
		return jfail_in(c, "root.path", "required");
	return 0;
}

/* Settings that only mean something inside a namespace of their own. runc refuses the same
 * combinations; silently applying them to the host's namespace would be worse. */
static int check_namespaces(struct jctx *c, const struct oci_config *cfg)
{
	const struct oci_linux *l = &cfg->linux_;
	const struct oci_namespace *timens = oci_config_namespace(cfg, OCI_NS_TIME);

	if (cfg->hostname && !oci_config_namespace(cfg, OCI_NS_UTS))
		return jfail_at(c, "hostname", "requires a uts namespace in linux.namespaces");
	if (cfg->domainname && !oci_config_namespace(cfg, OCI_NS_UTS))
		return jfail_at(c, "domainname", "requires a uts namespace in linux.namespaces");
	if (!cfg->has_linux)
		return 0;
	if (l->n_uid_mappings && !oci_config_namespace(cfg, OCI_NS_USER))
		return jfail_in(c, "linux.uidMappings", "requires a user namespace in linux.namespaces");
	if (l->n_gid_mappings && !oci_config_namespace(cfg, OCI_NS_USER))
		return jfail_in(c, "linux.gidMappings", "requires a user namespace in linux.namespaces");
	if (l->n_time_offsets && !timens)
		return jfail_in(c, "linux.timeOffsets", "requires a time namespace in linux.namespaces");
	/* Offsets can only be written before the first process enters a time namespace. */
	if (l->n_time_offsets && timens->path)
		return jfail_in(c, "linux.timeOffsets",
				"cannot be set when joining an existing time namespace");
	if (l->n_net_devices && !oci_config_namespace(cfg, OCI_NS_NETWORK))
		return jfail_in(c, "linux.netDevices", "requires a network namespace in linux.namespaces");
	return 0;
}

static void oci_config_freep(struct oci_config **p)
{
	oci_config_free(*p);
	*p = NULL;
}

int oci_config_parse(const char *json, size_t len, struct oci_config **ret_config, struct berth_error *err)
{
	_cleanup_yajl_ yajl_val doc = NULL;
	_cleanup_(oci_config_freep) struct oci_config *cfg = NULL;
	struct jctx c;
	int r;

	if (!json || !ret_config)
		return berth_error_set(err, -EINVAL, "config.json: no document");
	r = json_parse_doc("config.json", json, len, &doc, err);
	if (r < 0)
		return r;
	jctx_init(&c, "config.json", err);
	if (!YAJL_IS_OBJECT(doc))
		return jfail(&c, "expected a JSON object");
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return berth_error_set(err, -ENOMEM, "config.json: out of memory");
	r = parse_top(&c, doc, cfg);
	if (r == 0)
		r = check_namespaces(&c, cfg);
	if (r < 0)
		return r;
	*ret_config = TAKE_PTR(cfg);
	return 0;
}
