/* From an image config to the runtime config.json of a container, as image-spec's conversion.md
 * describes it (Entrypoint + Cmd, Env, WorkingDir, User, Labels -> annotations) on top of the
 * defaults `berth spec` writes. The caller resolves the user (it needs the image's /etc/passwd),
 * so this stays a pure function of its inputs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/error.h"
#include "berth/oci.h"
#include "berth/version.h"
#include "json_internal.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Docker's and podman's default set: what images expect (package managers chown, servers bind
 * low ports), and far less than a privileged container. */
static const char *const image_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

/* ---- the environment ---- */

static size_t env_key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Index of the entry with @kv's key in @list[0..n), or n. */
static size_t env_find(char **list, size_t n, const char *kv)
{
	size_t klen = env_key_len(kv);

	for (size_t i = 0; i < n; i++) {
		if (env_key_len(list[i]) == klen && strncmp(list[i], kv, klen) == 0)
			return i;
	}
	return n;
}

/* The image's Env, then PATH and TERM when missing, then the overrides (replacing by key).
 * The result borrows every string; only the array is allocated. */
static char **merge_env(const struct oci_image_config *img, const struct oci_image_run_opts *o)
{
	size_t cap = 3, n = 0;
	char **out;

	for (char *const *e = img->env; e && *e; e++)
		cap++;
	for (char *const *e = o->env; e && *e; e++)
		cap++;
	out = calloc(cap, sizeof(char *));
	if (!out)
		return NULL;
	for (char *const *e = img->env; e && *e; e++) {
		size_t i = env_find(out, n, *e);
		out[i] = *e;
		n += i == n;
	}
	if (env_find(out, n, "PATH=") == n)
		out[n++] = (char *)DEFAULT_PATH;
	if (o->terminal && env_find(out, n, "TERM=") == n)
		out[n++] = (char *)"TERM=xterm";
	for (char *const *e = o->env; e && *e; e++) {
		size_t i = env_find(out, n, *e);
		out[i] = *e;
		n += i == n;
	}
	out[n] = NULL;
	return out;
}

/* ---- the document ---- */

static void gen_args(struct jgen *j, const struct oci_image_config *img, const struct oci_image_run_opts *o)
{
	char *const *cmd = o->args && o->args[0] ? o->args : img->cmd;
	bool none = !(cmd && cmd[0]) && !(img->entrypoint && img->entrypoint[0]);

	if (none)
		cmd = o->fallback_args;

	jg_key(j, "args");
	jg_aopen(j);
	for (char *const *a = img->entrypoint; a && *a; a++)
		jg_str(j, *a);
	for (char *const *a = cmd; a && *a; a++)
		jg_str(j, *a);
	jg_aclose(j);
}

static void gen_user(struct jgen *j, const struct oci_image_run_opts *o)
{
	jg_key(j, "user");
	jg_open(j);
	jg_kuint(j, "uid", o->uid);
	jg_kuint(j, "gid", o->gid);
	if (o->n_additional_gids) {
		jg_key(j, "additionalGids");
		jg_aopen(j);
		for (size_t i = 0; i < o->n_additional_gids; i++)
			jg_uint(j, o->additional_gids[i]);
		jg_aclose(j);
	}
	jg_close(j);
}

static void gen_process(struct jgen *j, const struct oci_image_config *img,
			const struct oci_image_run_opts *o, char *const *env)
{
	const char *cwd = o->cwd ? o->cwd : img->working_dir && img->working_dir[0] ? img->working_dir : "/";

	jg_key(j, "process");
	jg_open(j);
	jg_kbool(j, "terminal", o->terminal);
	gen_user(j, o);
	gen_args(j, img, o);
	jg_kstrv(j, "env", env);
	jg_kstr(j, "cwd", cwd);
	jg_process_limits(j, image_caps, ARRAY_SIZE(image_caps));
	jg_close(j);
}

static void gen_mounts(struct jgen *j, const struct oci_image_run_opts *o)
{
	jg_key(j, "mounts");
	jg_aopen(j);
	for (size_t i = 0; i < n_default_mounts; i++) {
		jg_open(j);
		jg_kstr(j, "destination", default_mounts[i].destination);
		jg_kstr(j, "type", default_mounts[i].type);
		jg_kstr(j, "source", default_mounts[i].source);
		if (default_mounts[i].options[0])
			jg_kstrv(j, "options", (char *const *)default_mounts[i].options);
		jg_close(j);
	}
	for (size_t i = 0; i < o->n_binds; i++) {
		const char *opts[] = {"rbind", "rprivate", "ro"};

		jg_open(j);
		jg_kstr(j, "destination", o->binds[i].destination);
		jg_kstr(j, "type", "bind");
		jg_kstr(j, "source", o->binds[i].source);
		jg_kstrs(j, "options", opts, o->binds[i].readonly ? 3 : 2);
		jg_close(j);
	}
	jg_aclose(j);
}

static void gen_resources(struct jgen *j, const struct oci_image_run_opts *o)
{
	jg_key(j, "resources");
	jg_open(j);
	jg_key(j, "devices");
	jg_aopen(j);
	jg_open(j);
	jg_kbool(j, "allow", false);
	jg_kstr(j, "access", "rwm");
	jg_close(j);
	jg_aclose(j);
	if (o->has_memory) {
		jg_key(j, "memory");
		jg_open(j);
		jg_kint(j, "limit", o->memory_limit);
		jg_close(j);
	}
	if (o->has_cpu) {
		jg_key(j, "cpu");
		jg_open(j);
		jg_kint(j, "quota", o->cpu_quota);
		jg_kuint(j, "period", o->cpu_period);
		jg_close(j);
	}
	if (o->has_pids) {
		jg_key(j, "pids");
		jg_open(j);
		jg_kint(j, "limit", o->pids_limit);
		jg_close(j);
	}
	jg_close(j);
}

/* Copy a parsed JSON value into the generator: linux.seccomp is given as a profile's text. */
static void gen_tree(struct jgen *j, yajl_val v)
{
	yajl_gen_status st = yajl_gen_status_ok;

	if (YAJL_IS_OBJECT(v)) {
		jg_open(j);
		for (size_t i = 0; i < v->u.object.len; i++) {
			jg_key(j, v->u.object.keys[i]);
			gen_tree(j, v->u.object.values[i]);
		}
		jg_close(j);
	} else if (YAJL_IS_ARRAY(v)) {
		jg_aopen(j);
		for (size_t i = 0; i < v->u.array.len; i++)
			gen_tree(j, v->u.array.values[i]);
		jg_aclose(j);
	} else if (YAJL_IS_STRING(v)) {
		jg_str(j, v->u.string);
	} else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		jg_bool(j, YAJL_IS_TRUE(v));
	} else if (j->r == 0 && YAJL_IS_NUMBER(v)) {
		st = yajl_gen_number(j->g, v->u.number.r, strlen(v->u.number.r)); /* as written */
	} else if (j->r == 0) {
		st = yajl_gen_null(j->g);
	}
	if (st != yajl_gen_status_ok && j->r == 0)
		j->r = -EINVAL;
}

static void gen_mappings(struct jgen *j, const char *key, const struct oci_id_mapping *m, size_t n)
{
	if (!n)
		return;
	jg_key(j, key);
	jg_aopen(j);
	for (size_t i = 0; i < n; i++) {
		jg_open(j);
		jg_kint(j, "containerID", m[i].container_id);
		jg_kint(j, "hostID", m[i].host_id);
		jg_kint(j, "size", m[i].size);
		jg_close(j);
	}
	jg_aclose(j);
}

static void gen_linux(struct jgen *j, const struct oci_image_run_opts *o, yajl_val seccomp)
{
	static const char *const ns[] = {"pid", "network", "ipc", "uts", "mount", "cgroup"};

	jg_key(j, "linux");
	jg_open(j);
	if (o->cgroups_path)
		jg_kstr(j, "cgroupsPath", o->cgroups_path);
	gen_resources(j, o);
	jg_key(j, "namespaces");
	jg_aopen(j);
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		jg_open(j);
		jg_kstr(j, "type", ns[i]);
		jg_close(j);
	}
	if (o->n_uid_mappings) {
		jg_open(j);
		jg_kstr(j, "type", "user");
		jg_close(j);
	}
	jg_aclose(j);
	gen_mappings(j, "uidMappings", o->uid_mappings, o->n_uid_mappings);
	gen_mappings(j, "gidMappings", o->gid_mappings, o->n_gid_mappings);
	jg_kstrs(j, "maskedPaths", masked_paths, n_masked_paths);
	jg_kstrs(j, "readonlyPaths", readonly_paths, n_readonly_paths);
	if (seccomp) {
		jg_key(j, "seccomp");
		gen_tree(j, seccomp);
	}
	jg_close(j);
}

/* Labels, then the annotations conversion.md derives from the config, then the caller's. A
 * later key wins when the runtime reads them back, as in Go's map decoding. */
static void gen_annotations(struct jgen *j, const struct oci_image_config *img,
			    const struct oci_image_run_opts *o)
{
	jg_key(j, "annotations");
	jg_open(j);
	for (size_t i = 0; i < img->n_labels; i++) {
		/* berth.* annotations steer berth itself (the image rootfs to remove on delete):
		 * never from an image. */
		if (strncmp(img->labels[i].key, "berth.", 6) != 0)
			jg_kstr(j, img->labels[i].key, img->labels[i].value);
	}
	if (img->os)
		jg_kstr(j, "org.opencontainers.image.os", img->os);
	if (img->architecture)
		jg_kstr(j, "org.opencontainers.image.architecture", img->architecture);
	if (img->variant)
		jg_kstr(j, "org.opencontainers.image.variant", img->variant);
	if (img->author)
		jg_kstr(j, "org.opencontainers.image.author", img->author);
	if (img->created)
		jg_kstr(j, "org.opencontainers.image.created", img->created);
	if (img->stop_signal)
		jg_kstr(j, "org.opencontainers.image.stopSignal", img->stop_signal);
	if (img->exposed_ports && img->exposed_ports[0]) {
		size_t len = 0;
		char *ports, *p;

		for (char *const *e = img->exposed_ports; *e; e++)
			len += strlen(*e) + 1;
		ports = malloc(len);
		if (ports) {
			p = ports;
			for (char *const *e = img->exposed_ports; *e; e++)
				p += sprintf(p, "%s%s", p == ports ? "" : ",", *e);
			jg_kstr(j, "org.opencontainers.image.exposedPorts", ports);
			free(ports);
		}
	}
	for (size_t i = 0; i < o->n_annotations; i++)
		jg_kstr(j, o->annotations[i].key, o->annotations[i].value);
	jg_close(j);
}

int oci_image_runtime_config(const struct oci_image_config *image, const struct oci_image_run_opts *o,
			     char **ret_json, size_t *ret_len, struct berth_error *err)
{
	_cleanup_free_ char **env = NULL;
	_cleanup_yajl_ yajl_val seccomp = NULL;
	bool has_cmd = (o->args && o->args[0]) || (image->entrypoint && image->entrypoint[0]) ||
		       (image->cmd && image->cmd[0]) || (o->fallback_args && o->fallback_args[0]);
	struct jgen j;
	int r;

	if (!has_cmd)
		return berth_error_set(err, -EINVAL,
				       "the image has no Entrypoint or Cmd: give the command to run");
	if (o->cwd && o->cwd[0] != '/')
		return berth_error_set(err, -EINVAL, "working directory \"%s\" is not absolute", o->cwd);
	if (o->seccomp_json) {
		r = json_parse_doc("seccomp profile", o->seccomp_json, o->seccomp_len, &seccomp, err);
		if (r < 0)
			return r;
		if (!YAJL_IS_OBJECT(seccomp))
			return berth_error_set(err, -EINVAL, "seccomp profile: expected a JSON object");
	}
	env = merge_env(image, o);
	if (!env)
		return berth_error_set(err, -ENOMEM, "out of memory");
	r = jgen_init(&j);
	if (r < 0)
		return berth_error_set(err, r, "out of memory");
	jg_open(&j);
	jg_kstr(&j, "ociVersion", BERTH_OCI_VERSION);
	gen_process(&j, image, o, env);
	jg_key(&j, "root");
	jg_open(&j);
	jg_kstr(&j, "path", o->root_path ? o->root_path : "rootfs");
	jg_kbool(&j, "readonly", false);
	jg_close(&j);
	jg_kstr(&j, "hostname", o->hostname ? o->hostname : "berth");
	gen_mounts(&j, o);
	gen_annotations(&j, image, o);
	gen_linux(&j, o, seccomp);
	jg_close(&j);
	r = jgen_finish(&j, "\t", ret_json, ret_len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "generate config.json");
	return 0;
}
