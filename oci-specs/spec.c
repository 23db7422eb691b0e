/* `berth spec`: the starting config.json a user edits, shaped like `runc spec` so that
 * instructions written for runc work unchanged. */
#include <errno.h>
#include <string.h>

#include "berth/oci.h"
#include "berth/version.h"
#include "json_internal.h"

static const char *const default_caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};

static const char *const default_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "TERM=xterm",
};

const struct spec_mount default_mounts[] = {
    {"/proc", "proc", "proc", {NULL}},
    {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k", NULL}},
    {"/dev/pts",
     "devpts",
     "devpts",
     {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL}},
    {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL}},
    {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev", NULL}},
    {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro", NULL}},
    {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro", NULL}},
};

/* An unprivileged user cannot mount a fresh sysfs outside a network namespace it owns, so the
 * rootless spec borrows the host's /sys (as runc's). The "cgroup" mount stays, as in runc's: in
 * the container's own user and cgroup namespaces a cgroup2 mount is allowed. */
static const struct spec_mount rootless_sys = {
    "/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro", NULL}};

const char *const masked_paths[] = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
    "/sys/devices/virtual/powercap",
};

const char *const readonly_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
				      "/proc/sysrq-trigger"};
const size_t n_default_mounts = ARRAY_SIZE(default_mounts);
const size_t n_masked_paths = ARRAY_SIZE(masked_paths);
const size_t n_readonly_paths = ARRAY_SIZE(readonly_paths);

static void spec_process(struct jgen *j)
{
	jg_key(j, "process");
	jg_open(j);
	jg_kbool(j, "terminal", true);
	jg_key(j, "user");
	jg_open(j);
	jg_kint(j, "uid", 0);
	jg_kint(j, "gid", 0);
	jg_close(j);
	jg_kstrs(j, "args", (const char *const[]){"sh"}, 1);
	jg_kstrs(j, "env", default_env, ARRAY_SIZE(default_env));
	jg_kstr(j, "cwd", "/");
	jg_process_limits(j, default_caps, ARRAY_SIZE(default_caps));
	jg_close(j);
}

static void spec_mount(struct jgen *j, const struct spec_mount *m, bool rootless)
{
	jg_open(j);
	jg_kstr(j, "destination", m->destination);
	jg_kstr(j, "type", m->type);
	jg_kstr(j, "source", m->source);
	if (m->options[0]) {
		jg_key(j, "options");
		jg_aopen(j);
		for (size_t i = 0; m->options[i]; i++) {
			/* uid=/gid= name ids that do not exist in a one-id user namespace. */
			if (rootless && (strncmp(m->options[i], "uid=", 4) == 0 ||
					 strncmp(m->options[i], "gid=", 4) == 0))
				continue;
			jg_str(j, m->options[i]);
		}
		jg_aclose(j);
	}
	jg_close(j);
}

static void spec_mounts(struct jgen *j, bool rootless)
{
	jg_key(j, "mounts");
	jg_aopen(j);
	for (size_t i = 0; i < ARRAY_SIZE(default_mounts); i++) {
		const struct spec_mount *m = &default_mounts[i];

		if (rootless && strcmp(m->destination, "/sys") == 0)
			m = &rootless_sys;
		spec_mount(j, m, rootless);
	}
	jg_aclose(j);
}

static void spec_mapping(struct jgen *j, const char *key, unsigned long host_id)
{
	jg_key(j, key);
	jg_aopen(j);
	jg_open(j);
	jg_kint(j, "containerID", 0);
	jg_kint(j, "hostID", (long long)host_id);
	jg_kint(j, "size", 1);
	jg_close(j);
	jg_aclose(j);
}

static void spec_namespaces(struct jgen *j, bool rootless)
{
	static const char *const types[] = {"pid", "network", "ipc", "uts", "mount", "cgroup"};

	jg_key(j, "namespaces");
	jg_aopen(j);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		/* Without privileges a new network namespace would have no way out. */
		if (rootless && strcmp(types[i], "network") == 0)
			continue;
		jg_open(j);
		jg_kstr(j, "type", types[i]);
		jg_close(j);
	}
	if (rootless) {
		jg_open(j);
		jg_kstr(j, "type", "user");
		jg_close(j);
	}
	jg_aclose(j);
}

static void spec_linux(struct jgen *j, bool rootless, uid_t uid, gid_t gid)
{
	jg_key(j, "linux");
	jg_open(j);
	if (rootless) {
		spec_mapping(j, "uidMappings", uid);
		spec_mapping(j, "gidMappings", gid);
	} else {
		/* Deny every device by default; rootless containers cannot rely on a cgroup. */
		jg_key(j, "resources");
		jg_open(j);
		jg_key(j, "devices");
		jg_aopen(j);
		jg_open(j);
		jg_kbool(j, "allow", false);
		jg_kstr(j, "access", "rwm");
		jg_close(j);
		jg_aclose(j);
		jg_close(j);
	}
	spec_namespaces(j, rootless);
	jg_kstrs(j, "maskedPaths", masked_paths, ARRAY_SIZE(masked_paths));
	jg_kstrs(j, "readonlyPaths", readonly_paths, ARRAY_SIZE(readonly_paths));
	jg_close(j);
}

int oci_spec_default(bool rootless, uid_t uid, gid_t gid, char **ret_json, size_t *ret_len)
{
	struct jgen j;
	int r;

	if (!ret_json)
		return -EINVAL;
	r = jgen_init(&j);
	if (r < 0)
		return r;
	jg_open(&j);
	jg_kstr(&j, "ociVersion", BERTH_OCI_VERSION);
	spec_process(&j);
	jg_key(&j, "root");
	jg_open(&j);
	jg_kstr(&j, "path", "rootfs");
	jg_kbool(&j, "readonly", true);
	jg_close(&j);
	jg_kstr(&j, "hostname", "berth");
	spec_mounts(&j, rootless);
	spec_linux(&j, rootless, uid, gid);
	jg_close(&j);
	/* Tabs, as runc spec writes it. */
	return jgen_finish(&j, "\t", ret_json, ret_len);
}
