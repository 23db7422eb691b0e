/* What CRIU must be told about a container's outside: its bind mounts and masked paths, and a
 * network namespace that is not the container's own (joined, emptied, or on a berth network),
 * and the berth network address that travels with the images. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/checkpoint.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "berth/util.h"

#include "ckpt_internal.h"
#include "lifecycle.h"

#define EXT_NET_KEY "berth-net"

static bool mount_is_bind(const struct oci_mount *m)
{
	if (m->type && strcmp(m->type, "bind") == 0)
		return true;
	for (char **o = m->options; o && *o; o++)
		if (strcmp(*o, "bind") == 0 || strcmp(*o, "rbind") == 0)
			return true;
	return false;
}

static int add_ext_mount(struct ckpt_opts *o, const char *key, const char *val, struct berth_error *err)
{
	if (o->n_ext_mounts >= CKPT_MAX_MAPS)
		return berth_error_set(err, -E2BIG, "more than %d bind mounts to declare to CRIU",
				       CKPT_MAX_MAPS);
	o->ext_mounts[o->n_ext_mounts++] = (struct ckpt_map){key, val};
	return 0;
}

/* Bind mounts come from outside the container's root: CRIU must be told they are external. On
 * dump the key is the mount point; on restore the same key maps to the source on this host.
 * Masked files are binds of /dev/null. */
int ckpt_declare_mounts(const struct oci_config *c, pid_t pid, bool restore, struct ckpt_opts *o,
			struct berth_error *err)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < c->n_mounts; i++) {
		const struct oci_mount *m = &c->mounts[i];
		if (mount_is_bind(m) && m->source)
			r = add_ext_mount(o, m->destination, restore ? m->source : m->destination, err);
	}
	for (char **p = c->linux_.masked_paths; r == 0 && p && *p; p++) {
		char path[PATH_MAX];
		struct stat st;
		if (!restore) {
			snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, *p);
			if (stat(path, &st) < 0 || S_ISDIR(st.st_mode))
				continue; /* missing, or a tmpfs CRIU dumps itself */
		}
		r = add_ext_mount(o, *p, restore ? "/dev/null" : *p, err);
	}
	return r;
}

const char *ckpt_annotation(const struct berth_record *rec, const char *key)
{
	for (size_t i = 0; i < rec->n_annotations; i++)
		if (strcmp(rec->annotations[i].key, key) == 0)
			return rec->annotations[i].value;
	return NULL;
}

/* The address leased to a container on a berth network (its record's berth.network.ip), or NULL. */
const char *ckpt_leased_ip(const struct oci_config *cfg, const struct container *c)
{
	const char *ip = ckpt_annotation(c->rec, NETWORK_IP_ANNOTATION);
	return network_joins_berth(cfg) && ckpt_annotation(c->rec, NETWORK_ANNOTATION) && ip && *ip ? ip
												    : NULL;
}

/* Keep the network and address of a container on a berth network beside the images (they travel
 * with an archive): restore leases that address again. */
int ckpt_network_save(const char *images, const struct oci_config *cfg, const struct container *c,
		      struct berth_error *err)
{
	const char *ip = ckpt_leased_ip(cfg, c);
	char buf[2 * NETWORK_CKPT_MAX + 2];
	if (!ip)
		return 0;
	int n = network_ckpt_format(ckpt_annotation(c->rec, NETWORK_ANNOTATION), ip, buf, sizeof(buf));
	if (n < 0)
		return berth_error_setf_errno(err, n, "record the container's network address");
	_cleanup_close_ int dfd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dfd < 0 ? -errno : write_file_at(dfd, NETWORK_CKPT_FILE, buf, (size_t)n, true, 0600);
	if (r < 0)
		return berth_error_setf_errno(err, r, "save the network address in '%s'", images);
	return 0;
}

/* The network and address recorded by network_save (buffers of NETWORK_CKPT_MAX bytes); empty
 * strings when there is none (a container without a berth network, an older checkpoint). */
int ckpt_network_load(const char *images, char *network, char *ip, struct berth_error *err)
{
	_cleanup_close_ int dfd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	network[0] = ip[0] = '\0';
	int r = dfd < 0 ? -errno : read_file_at(dfd, NETWORK_CKPT_FILE, NETWORK_CKPT_MAX * 2 + 2, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r == 0 && network_ckpt_parse(buf, len, network, ip) < 0)
		r = -EINVAL;
	if (r < 0)
		return berth_error_setf_errno(err, r, "read " NETWORK_CKPT_FILE " in '%s'", images);
	return 0;
}

/* A joined network namespace (or with --empty-ns network, any; or one on a berth network, whose
 * veth pair and bridge are this host's) is not dumped: CRIU records it as external and restore
 * gives one back. */
int ckpt_declare_netns_dump(const struct oci_config *cfg, pid_t pid, bool empty_ns, struct ckpt_opts *o,
			    struct berth_error *err)
{
	static char key[96];
	const struct oci_namespace *net = oci_config_namespace(cfg, OCI_NS_NETWORK);
	if (!net || !(net->path || empty_ns || network_joins_berth(cfg)))
		return 0;
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat(path, &st) < 0)
		return berth_error_setf_errno(err, -errno, "stat '%s'", path);
	if (o->n_externals >= CKPT_MAX_MAPS)
		return berth_error_set(err, -E2BIG, "more than %d externals to declare to CRIU",
				       CKPT_MAX_MAPS);
	snprintf(key, sizeof(key), "net[%lu]:" EXT_NET_KEY, (unsigned long)st.st_ino);
	o->externals[o->n_externals++] = key;
	return 0;
}

/* A joined network namespace is given back by path (its fd in *@ret_net_fd, closed by the
 * caller); any other declared-external one (an --empty-ns dump) gets a new empty namespace, and a
 * container on a berth network the namespace network_attach_new_netns made (@berth_netns_fd).
 * CRIU ignores the key when the dump has none. */
int ckpt_declare_netns_restore(const struct oci_config *cfg, int berth_netns_fd, int *ret_net_fd,
			       struct ckpt_opts *o, struct berth_error *err)
{
	const struct oci_namespace *net = oci_config_namespace(cfg, OCI_NS_NETWORK);
	if (net && net->path) {
		*ret_net_fd = open(net->path, O_RDONLY | O_CLOEXEC);
		if (*ret_net_fd < 0)
			return berth_error_setf_errno(err, -errno, "linux.namespaces: open '%s'", net->path);
		o->inherit_fds[o->n_inherit_fds++] = (struct ckpt_inherit_fd){*ret_net_fd, EXT_NET_KEY};
	} else if (berth_netns_fd >= 0) {
		o->inherit_fds[o->n_inherit_fds++] = (struct ckpt_inherit_fd){berth_netns_fd, EXT_NET_KEY};
	}
	return 0;
}
