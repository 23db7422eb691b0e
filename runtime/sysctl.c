/* linux.sysctl: which keys a container may set. A sysctl is written through the container's
 * /proc/sys, which shows the values of the namespaces the container is in: a key of a namespace
 * the container shares with the host (or with berth itself) would change the host's value. So
 * only keys of an ipc or network namespace the container owns are allowed, as runc does. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "berth/error.h"
#include "berth/oci.h"
#include "create.h"

/* The ipc namespace's sysctls besides fs.mqueue.* (ipc_sysctls.c in the kernel). */
static const char *const ipc_keys[] = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
};

/* @key starts with @prefix, where '/' in @key stands for '.' (both spellings are accepted). */
static bool key_has_prefix(const char *key, const char *prefix)
{
	for (; *prefix; key++, prefix++)
		if (*key != *prefix && !(*key == '/' && *prefix == '.'))
			return false;
	return true;
}

static bool key_is(const char *key, const char *name)
{
	return key_has_prefix(key, name) && key[strlen(name)] == '\0';
}

static bool is_ipc_key(const char *key)
{
	for (size_t i = 0; i < sizeof(ipc_keys) / sizeof(ipc_keys[0]); i++)
		if (key_is(key, ipc_keys[i]))
			return true;
	return key_has_prefix(key, "fs.mqueue.");
}

/* A namespace of @type the container owns: a new one, or one joined by path that is not the one
 * berth runs in (runc's rule: joining the host's by its path is sharing it). -errno when the path
 * cannot be looked at. */
static int owns_namespace(const struct oci_config *c, enum oci_ns_type type, bool *ret)
{
	const struct oci_namespace *ns = oci_config_namespace(c, type);
	*ret = false;
	if (!ns)
		return 0;
	if (!ns->path) {
		*ret = true;
		return 0;
	}
	char self[64];
	struct stat a, b;
	snprintf(self, sizeof(self), "/proc/self/ns/%s", type == OCI_NS_NETWORK ? "net" : "ipc");
	if (stat(ns->path, &a) < 0 || stat(self, &b) < 0)
		return -errno;
	*ret = a.st_dev != b.st_dev || a.st_ino != b.st_ino;
	return 0;
}

static int check_key(const struct oci_config *c, const char *key, struct berth_error *err)
{
	bool owned = false;
	int r;
	if (key_is(key, "kernel.hostname") || key_is(key, "kernel.domainname"))
		return berth_error_set(
		    err, -EINVAL, "linux.sysctl: \"%s\" is refused: set the %s field of config.json instead",
		    key, key_is(key, "kernel.hostname") ? "hostname" : "domainname");
	if (is_ipc_key(key) || key_has_prefix(key, "net.")) {
		bool net = key_has_prefix(key, "net.");
		if ((r = owns_namespace(c, net ? OCI_NS_NETWORK : OCI_NS_IPC, &owned)) < 0)
			return berth_error_setf_errno(err, r,
						      "linux.sysctl: \"%s\": look at the %s namespace path",
						      key, net ? "network" : "ipc");
		if (!owned)
			return berth_error_set(err, -EPERM,
					       "linux.sysctl: \"%s\" needs a new %s namespace (the container "
					       "would change the host's)",
					       key, net ? "network" : "ipc");
		return 0;
	}
	return berth_error_set(err, -EPERM,
			       "linux.sysctl: \"%s\" is not in a namespace the container owns (only ipc "
			       "sysctls with a new ipc namespace and net.* with a new network namespace)",
			       key);
}

int sysctl_validate(const struct oci_config *c, struct berth_error *err)
{
	for (size_t i = 0; i < c->linux_.n_sysctl; i++) {
		int r = check_key(c, c->linux_.sysctl[i].key, err);
		if (r < 0)
			return r;
	}
	return 0;
}
