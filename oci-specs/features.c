/* `berth features`: the runtime-spec features document. It must describe what berth really
 * does, not what the spec allows: containerd and others use it to decide what to ask for. */
#include <errno.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth/oci.h"
#include "berth/version.h"
#include "json_internal.h"

/* The mount(2) flags and propagation options the runtime's mount code understands. */
static const char *const mount_options[] = {
    "ro",           "rw",
    "suid",         "nosuid",
    "dev",          "nodev",
    "exec",         "noexec",
    "sync",         "async",
    "dirsync",      "remount",
    "mand",         "nomand",
    "atime",        "noatime",
    "diratime",     "nodiratime",
    "relatime",     "norelatime",
    "strictatime",  "nostrictatime",
    "bind",         "rbind",
    "shared",       "rshared",
    "private",      "rprivate",
    "slave",        "rslave",
    "unbindable",   "runbindable",
    "rro",          "rrw",
    "rnosuid",      "rsuid",
    "rnodev",       "rdev",
    "rnoexec",      "rexec",
    "rnoatime",     "ratime",
    "rrelatime",    "rnorelatime",
    "rstrictatime", "rnostrictatime",
    "idmap",        "ridmap",
    "lazytime",     "nolazytime",
    "silent",       "loud",
};

static const char *const namespaces[] = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"};

static void enabled(struct jgen *j, const char *key, bool on)
{
	jg_key(j, key);
	jg_open(j);
	jg_kbool(j, "enabled", on);
	jg_close(j);
}

#ifdef BERTH_FEATURES_SECCOMP
/* Architectures libseccomp learned in 2.6; the runtime refuses them on an older build. */
static bool seccomp_arch_supported(const char *name)
{
#ifndef BERTH_SECCOMP_ARCHS_2_6
	static const char *const newer[] = {"SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH",
					    "SCMP_ARCH_SHEB"};
	for (size_t i = 0; i < ARRAY_SIZE(newer); i++)
		if (strcmp(name, newer[i]) == 0)
			return false;
#else
	(void)name;
#endif
	return true;
}

/* The runtime hands the flags to seccomp(2) itself, so what counts is the running kernel: with no
 * program, a flag it knows fails on the copy (EFAULT), an unknown one with EINVAL. Nothing loads. */
static bool seccomp_flag_supported(const char *name)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} flags[] = {
	    {"SECCOMP_FILTER_FLAG_TSYNC", 1UL << 0},
	    {"SECCOMP_FILTER_FLAG_LOG", 1UL << 1},
	    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", 1UL << 2},
	    /* only valid with NEW_LISTENER (1 << 3) */
	    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 1UL << 5 | 1UL << 3},
	};
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (strcmp(name, flags[i].name) == 0)
			return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags[i].flag, NULL) < 0 &&
			       errno == EFAULT;
	return false;
}

/* The subset of @all that @ok accepts. */
static void kstrs_if(struct jgen *j, const char *key, const char *const *all, size_t n,
		     bool (*ok)(const char *))
{
	jg_key(j, key);
	jg_aopen(j);
	for (size_t i = 0; i < n; i++)
		if (ok(all[i]))
			jg_str(j, all[i]);
	jg_aclose(j);
}
#endif

static void features_seccomp(struct jgen *j)
{
#ifdef BERTH_FEATURES_SECCOMP
	/* runtime/seccomp.c implements every action and operator of the spec. */
	jg_key(j, "seccomp");
	jg_open(j);
	jg_kbool(j, "enabled", true);
	jg_kstrs(j, "actions", oci_seccomp_actions, oci_seccomp_n_actions);
	jg_kstrs(j, "operators", oci_seccomp_ops, oci_seccomp_n_ops);
	kstrs_if(j, "archs", oci_seccomp_archs, oci_seccomp_n_archs, seccomp_arch_supported);
	jg_kstrs(j, "knownFlags", oci_seccomp_flags, oci_seccomp_n_flags);
	kstrs_if(j, "supportedFlags", oci_seccomp_flags, oci_seccomp_n_flags, seccomp_flag_supported);
	jg_close(j);
#else
	/* The runtime parses and validates linux.seccomp but does not load filters yet. Claiming
	 * support would let callers believe a profile protects the container when nothing does.
	 * Build with -DBERTH_FEATURES_SECCOMP once the runtime applies them. */
	enabled(j, "seccomp", false);
#endif
}

static void features_linux(struct jgen *j)
{
	jg_key(j, "linux");
	jg_open(j);
	jg_kstrs(j, "namespaces", namespaces, ARRAY_SIZE(namespaces));
	jg_key(j, "capabilities");
	jg_aopen(j);
	for (int cap = 0; cap <= OCI_CAP_LAST; cap++)
		jg_str(j, oci_capability_name(cap));
	jg_aclose(j);
	jg_key(j, "cgroup");
	jg_open(j);
	jg_kbool(j, "v1", true);
	jg_kbool(j, "v2", true);
	jg_kbool(j, "systemd", true); /* --systemd-cgroup (cgroups/systemd.c) */
	jg_kbool(j, "systemdUser", false);
	jg_kbool(j, "rdma", true);
	jg_close(j);
	features_seccomp(j);
	/* runtime/lsm.c applies process.apparmorProfile, process.selinuxLabel and linux.mountLabel.
	 * The spec: "irrelevant to the availability of AppArmor on the host" (runc says true too);
	 * what the host has goes into the annotations. */
	enabled(j, "apparmor", true);
	enabled(j, "selinux", true);
	enabled(j, "intelRdt", false);
	enabled(j, "netDevices", true); /* runtime/network.c moves them in and back */
	jg_key(j, "mountExtensions");
	jg_open(j);
	enabled(j, "idmap", true);
	jg_close(j);
	jg_close(j);
}

int oci_features_json(char **ret_json, size_t *ret_len)
{
	return oci_features_json_host(NULL, ret_json, ret_len);
}

int oci_features_json_host(const struct oci_features_host *host, char **ret_json, size_t *ret_len)
{
	struct jgen j;
	int r;

	if (!ret_json)
		return -EINVAL;
	r = jgen_init(&j);
	if (r < 0)
		return r;
	jg_open(&j);
	jg_kstr(&j, "ociVersionMin", "1.0.0");
	jg_kstr(&j, "ociVersionMax", BERTH_OCI_VERSION);
	jg_key(&j, "hooks");
	jg_aopen(&j);
	for (int k = 0; k < OCI_HOOK_KIND_MAX; k++)
		jg_str(&j, oci_hook_kind_name((enum oci_hook_kind)k));
	jg_aclose(&j);
	jg_kstrs(&j, "mountOptions", mount_options, ARRAY_SIZE(mount_options));
	features_linux(&j);
	jg_key(&j, "annotations");
	jg_open(&j);
	jg_kstr(&j, "io.github.berth.version", BERTH_VERSION);
	if (host) {
		jg_kstr(&j, "io.github.berth.host.apparmor", host->apparmor ? "true" : "false");
		jg_kstr(&j, "io.github.berth.host.selinux", host->selinux ? "true" : "false");
	}
	jg_close(&j);
	jg_close(&j);
	/* Four spaces, as runc features prints it. */
	return jgen_finish(&j, "    ", ret_json, ret_len);
}
