/* A container's network: berth networks joined through annotations (a veth pair on the
 * network's bridge, an address leased from the network store) and linux.netDevices (host
 * interfaces moved in, and back on delete). The netlink work is in netns/; this file decides
 * when, and undoes it on failure and on delete. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/netns.h"
#include "berth/runtime.h"
#include "create.h"
#include "lifecycle.h"
#include "network.h"

/* berth_error_prefix() returns 0 for a NULL @err: keep the failure. */
#define PREFIX(r, err, ...) (berth_error_prefix((err), __VA_ARGS__), (r))

void network_plan_init(struct net_plan *n)
{
	memset(n, 0, sizeof(*n));
	n->netns_fd = -EBADF;
}

void network_plan_free(struct net_plan *n)
{
	closep(&n->netns_fd);
	netns_network_free(n->net);
	n->net = NULL;
	free(n->annotations);
	n->annotations = NULL;
	n->n_annotations = 0;
}

/* ---- validate ---- */

static const char *annotation(const struct oci_config *c, const char *key)
{
	const char *v = oci_config_annotation(c, key);
	return v && *v ? v : NULL;
}

static int validate_devices(const struct oci_config *c, bool veth, struct berth_error *err)
{
	const struct oci_linux *l = &c->linux_;
	for (size_t i = 0; i < l->n_net_devices; i++) {
		const struct oci_net_device *d = &l->net_devices[i];
		const char *name = d->name ? d->name : d->host_name;
		bool exists = false;
		if (veth && strcmp(name, NETWORK_IFNAME) == 0)
			return berth_error_set(err, -EINVAL,
					       "linux.netDevices: '%s' would be named '%s', the name of the "
					       "interface of network '%s'",
					       d->host_name, name, annotation(c, NETWORK_ANNOTATION));
		for (size_t j = 0; j < i; j++) {
			const struct oci_net_device *o = &l->net_devices[j];
			if (strcmp(name, o->name ? o->name : o->host_name) == 0)
				return berth_error_set(
				    err, -EINVAL, "linux.netDevices: two devices would be named '%s'", name);
		}
		int r = netns_link_exists(d->host_name, &exists, err);
		if (r < 0)
			return PREFIX(r, err, "linux.netDevices");
		if (!exists)
			return berth_error_set(err, -ENODEV,
					       "linux.netDevices: host interface '%s' does not exist",
					       d->host_name);
	}
	return 0;
}

bool network_joins_berth(const struct oci_config *c)
{
	const struct oci_namespace *net = oci_config_namespace(c, OCI_NS_NETWORK);
	return annotation(c, NETWORK_ANNOTATION) && net && !net->path;
}

/* berth.network (n->network): a network namespace of its own, the network defined, the fixed
 * address (n->fixed_ip, @ip_what in errors) free. */
static int validate_berth(struct create_plan *p, const char *ip_what, struct berth_error *err)
{
	struct net_plan *n = &p->net;
	if (!network_joins_berth(p->config))
		return berth_error_set(
		    err, -EINVAL,
		    "annotation %s: the container needs a new network namespace (a 'network' "
		    "entry without a path in linux.namespaces)",
		    NETWORK_ANNOTATION);
	int r = netns_lease_check(p->root_fd, n->network, n->fixed_ip, err);
	if (r < 0 && n->fixed_ip && r != -ENOENT)
		return PREFIX(r, err, "%s", ip_what);
	if (r < 0)
		return PREFIX(r, err, "annotation %s", NETWORK_ANNOTATION);
	return 0;
}

int network_validate(struct create_plan *p, struct berth_error *err)
{
	struct net_plan *n = &p->net;
	const struct oci_config *c = p->config;
	const struct oci_namespace *net = oci_config_namespace(c, OCI_NS_NETWORK);
	const struct oci_namespace *user = oci_config_namespace(c, OCI_NS_USER);
	n->network = annotation(c, NETWORK_ANNOTATION);
	n->fixed_ip = annotation(c, NETWORK_IP_ANNOTATION);
	if (n->fixed_ip && !n->network)
		return berth_error_set(err, -EINVAL,
				       "annotation %s: needs the annotation %s naming the network",
				       NETWORK_IP_ANNOTATION, NETWORK_ANNOTATION);
	if (!n->network && !c->linux_.n_net_devices)
		return 0;
	/* Set up from here before the init goes on, so the namespace must exist by then: made by
	 * clone3 or joined by path, not unshared later under a joined user namespace. */
	if (net && !net->path && user && user->path)
		return berth_error_set(
		    err, -EINVAL,
		    "%s: a new network namespace inside a joined user namespace is not supported",
		    n->network ? "annotation " NETWORK_ANNOTATION : "linux.netDevices");
	if (n->network) {
		int r = validate_berth(p, "annotation " NETWORK_IP_ANNOTATION, err);
		if (r < 0)
			return r;
	}
	return validate_devices(c, n->network != NULL, err);
}

/* ---- lease ---- */

/* "bv" + 48 bits of a hash of the state root's identity and the container id: stable for the
 * container, distinct across state roots, and within the 15 bytes of an interface name. */
static int host_ifname(int root_fd, const char *id, char *buf, size_t size)
{
	struct stat st;
	if (fstat(root_fd, &st) < 0)
		return -errno;
	uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
	uint64_t parts[2] = {(uint64_t)st.st_dev, (uint64_t)st.st_ino};
	const unsigned char *b = (const unsigned char *)parts;
	for (size_t i = 0; i < sizeof(parts); i++)
		h = (h ^ b[i]) * UINT64_C(1099511628211);
	for (const char *s = id; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	snprintf(buf, size, "bv%012" PRIx64, h & UINT64_C(0xffffffffffff));
	return 0;
}

/* The config's annotations with berth.network.ip set to the leased address. */
static int build_annotations(struct create_plan *p)
{
	struct net_plan *n = &p->net;
	const struct oci_config *c = p->config;
	n->annotations = calloc(c->n_annotations + 1, sizeof(*n->annotations));
	if (!n->annotations)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < c->n_annotations; i++)
		if (strcmp(c->annotations[i].key, NETWORK_IP_ANNOTATION) != 0)
			n->annotations[k++] = c->annotations[i];
	n->annotations[k].key = (char *)NETWORK_IP_ANNOTATION;
	n->annotations[k++].value = n->addr_text;
	n->n_annotations = k;
	return 0;
}

int network_lease(struct create_plan *p, const char *id, struct berth_error *err)
{
	struct net_plan *n = &p->net;
	if (!n->network)
		return 0;
	int r = host_ifname(p->root_fd, id, n->host_ifname, sizeof(n->host_ifname));
	if (r < 0)
		return berth_error_setf_errno(err, r, "stat the state root");
	r = netns_lease_acquire(p->root_fd, n->network, id, n->fixed_ip, n->host_ifname, &n->net, &n->addr,
				err);
	if (r < 0)
		return PREFIX(r, err, "join network '%s'", n->network);
	n->leased = true;
	netns_addr_format(&n->addr, n->addr_text, sizeof(n->addr_text));
	if (build_annotations(p) < 0)
		return berth_error_set(err, -ENOMEM, "out of memory");
	return 0;
}

const struct oci_kv *network_annotations(const struct create_plan *p, size_t *ret_n)
{
	if (p->net.annotations) {
		*ret_n = p->net.n_annotations;
		return p->net.annotations;
	}
	*ret_n = p->config->n_annotations;
	return p->config->annotations;
}

/* ---- configure ---- */

/* The container's network namespace: the joined one, or the one clone3 made. */
static int open_container_netns(struct create_plan *p, struct berth_error *err)
{
	int fd;
	if (p->ns_fds[OCI_NS_NETWORK] >= 0) {
		fd = fcntl(p->ns_fds[OCI_NS_NETWORK], F_DUPFD_CLOEXEC, 3);
	} else {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)p->pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "open the container's network namespace");
	p->net.netns_fd = fd;
	/* Configuring our own namespace by mistake would change the host's interfaces. */
	struct stat mine, theirs;
	if (stat("/proc/self/ns/net", &mine) < 0 || fstat(fd, &theirs) < 0)
		return berth_error_setf_errno(err, -errno, "stat network namespaces");
	if (mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev)
		return berth_error_set(err, -EINVAL, "the container has no network namespace of its own");
	return 0;
}

/* Keep the namespace alive past the init (bind it over <state>/netns), so that delete can still
 * hand the devices back: a namespace that dies destroys virtual devices and sends physical ones to
 * the initial namespace, not necessarily ours. */
static int pin_netns(struct create_plan *p, struct berth_error *err)
{
	char src[64], dst[64];
	_cleanup_close_ int fd =
	    openat(p->dir_fd, NETWORK_PIN_FILE, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "create the network namespace pin");
	snprintf(src, sizeof(src), "/proc/self/fd/%d", p->net.netns_fd);
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d", fd);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
		int r = -errno;
		unlinkat(p->dir_fd, NETWORK_PIN_FILE, 0);
		return berth_error_setf_errno(err, r, "pin the container's network namespace");
	}
	p->net.pinned = true;
	return 0;
}

static void unpin_netns(int dir_fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dir_fd, NETWORK_PIN_FILE);
	if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
		log_warn("unmount the network namespace pin: %s", strerror(errno));
	unlinkat(dir_fd, NETWORK_PIN_FILE, 0);
}

static struct netns_device *device_list(const struct oci_linux *l)
{
	struct netns_device *d = calloc(l->n_net_devices ? l->n_net_devices : 1, sizeof(*d));
	for (size_t i = 0; d && i < l->n_net_devices; i++)
		d[i] = (struct netns_device){.host_name = l->net_devices[i].host_name,
					     .name = l->net_devices[i].name};
	return d;
}

static int move_devices(struct create_plan *p, struct berth_error *err)
{
	const struct oci_linux *l = &p->config->linux_;
	_cleanup_free_ struct netns_device *devs = device_list(l);
	if (!devs)
		return berth_error_set(err, -ENOMEM, "out of memory");
	int r = pin_netns(p, err);
	if (r < 0)
		return r;
	r = netns_devices_move_in(p->net.netns_fd, devs, l->n_net_devices, err);
	if (r == 0)
		p->net.devices_moved = true;
	return r;
}

static int attach_veth(struct create_plan *p, struct berth_error *err)
{
	struct net_plan *n = &p->net;
	struct netns_veth_config vc = {
	    .bridge = n->net->bridge,
	    .network = n->net->name,
	    .mtu = n->net->mtu,
	    .subnet = n->net->subnet,
	    .gateway = n->net->gateway,
	    .host_ifname = n->host_ifname,
	    .netns_fd = n->netns_fd,
	    .ifname = NETWORK_IFNAME,
	    .addr = n->addr,
	};
	n->attached = true;
	int r = netns_veth_attach(&vc, err);
	if (r < 0)
		return PREFIX(r, err, "attach to network '%s'", n->network);
	return 0;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

int network_configure(struct create_plan *p, struct berth_error *err)
{
	if (!p->net.network && !p->config->linux_.n_net_devices)
		return 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = open_container_netns(p, err);
	if (r == 0 && p->config->linux_.n_net_devices)
		r = move_devices(p, err);
	if (r == 0 && p->net.network)
		r = attach_veth(p, err);
	if (r == 0)
		log_debug("network set up in %.3f ms (%s%s%s)", ms_since(&t0),
			  p->net.network ? p->net.addr_text : "",
			  p->net.network && p->net.devices_moved ? ", " : "",
			  p->net.devices_moved ? "netDevices" : "");
	return r;
}

/* ---- checkpoint and restore ---- */

static bool is_token(const char *s)
{
	return s && *s && !strpbrk(s, " \t\n\r");
}

int network_ckpt_format(const char *network, const char *ip, char *buf, size_t size)
{
	if (!is_token(network) || !is_token(ip))
		return -EINVAL;
	if (strlen(network) >= NETWORK_CKPT_MAX || strlen(ip) >= NETWORK_CKPT_MAX)
		return -ENAMETOOLONG;
	int n = snprintf(buf, size, "%s %s\n", network, ip);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return n;
}

int network_ckpt_parse(const char *buf, size_t len, char network[NETWORK_CKPT_MAX], char ip[NETWORK_CKPT_MAX])
{
	char line[2 * NETWORK_CKPT_MAX + 2];
	if (len && buf[len - 1] == '\n')
		len--;
	if (len >= sizeof(line) || memchr(buf, '\0', len))
		return -EINVAL;
	memcpy(line, buf, len);
	line[len] = '\0';
	char *sp = strchr(line, ' ');
	if (!sp)
		return -EINVAL;
	*sp = '\0';
	size_t nl = strlen(line), il = strlen(sp + 1);
	if (!is_token(line) || !is_token(sp + 1) || nl >= NETWORK_CKPT_MAX || il >= NETWORK_CKPT_MAX)
		return -EINVAL;
	/* lengths checked above: copies that cannot truncate (snprintf here warns under -O0) */
	memcpy(network, line, nl + 1);
	memcpy(ip, sp + 1, il + 1);
	return 0;
}

const char *network_restore_ip(const struct oci_config *c, const char *recorded)
{
	const char *ip = annotation(c, NETWORK_IP_ANNOTATION);
	if (ip)
		return ip;
	return recorded && *recorded ? recorded : NULL;
}

static int missing_network(const char *network, const char *ip, struct berth_error *err)
{
	return berth_error_set(err, -ENOENT,
			       "annotation %s: network '%s' does not exist on this host: create it first "
			       "(berth network create %s --subnet CIDR%s%s)",
			       NETWORK_ANNOTATION, network, network, ip ? ", a subnet holding " : "",
			       ip ? ip : "");
}

int network_check_exists(int root_fd, const char *network, struct berth_error *err)
{
	struct netns_network *net = NULL;
	if (root_fd < 0 || netns_network_get(root_fd, network, &net, err) == -ENOENT)
		return missing_network(network, NULL, err);
	netns_network_free(net);
	berth_error_clear(err); /* anything else: the full validation says it */
	return 0;
}

int network_validate_restore(struct create_plan *p, const char *ip, struct berth_error *err)
{
	struct net_plan *n = &p->net;
	n->network = annotation(p->config, NETWORK_ANNOTATION);
	n->fixed_ip = ip;
	if (!n->network)
		return 0;
	int r = validate_berth(p, "the container's address at the checkpoint", err);
	if (r == -ENOENT)
		return missing_network(n->network, ip, err);
	return r;
}

int network_attach_new_netns(struct create_plan *p, struct berth_error *err)
{
	struct net_plan *n = &p->net;
	if (!n->leased)
		return 0;
	_cleanup_close_ int ours = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ours < 0)
		return berth_error_setf_errno(err, -errno, "open our network namespace");
	if (unshare(CLONE_NEWNET) < 0)
		return berth_error_setf_errno(err, -errno, "make a network namespace for the container");
	/* Not close-on-exec: CRIU inherits it. */
	n->netns_fd = open("/proc/thread-self/ns/net", O_RDONLY);
	int r = n->netns_fd < 0 ? -errno : 0;
	if (setns(ours, CLONE_NEWNET) < 0)
		return berth_error_setf_errno(err, -errno, "go back to our network namespace");
	if (r < 0)
		return berth_error_setf_errno(err, r, "open the container's new network namespace");
	return attach_veth(p, err);
}

/* ---- unwind and destroy ---- */

void network_unwind(struct create_plan *p, const char *id)
{
	struct net_plan *n = &p->net;
	struct berth_error e = {0};
	if (n->devices_moved) {
		_cleanup_free_ struct netns_device *devs = device_list(&p->config->linux_);
		if (devs &&
		    netns_devices_move_out(n->netns_fd, devs, p->config->linux_.n_net_devices, &e) < 0)
			log_warn("%s", e.msg);
		n->devices_moved = false;
	}
	if (n->pinned)
		unpin_netns(p->dir_fd);
	n->pinned = false;
	if (n->attached && netns_veth_detach(n->host_ifname, &e) < 0)
		log_warn("%s", e.msg);
	n->attached = false;
	if (n->leased && netns_lease_release(p->root_fd, n->network, id, NULL, &e) < 0)
		log_warn("%s", e.msg);
	n->leased = false;
}

static const char *record_annotation(const struct berth_record *rec, const char *key)
{
	for (size_t i = rec->n_annotations; i-- > 0;)
		if (strcmp(rec->annotations[i].key, key) == 0)
			return rec->annotations[i].value;
	return NULL;
}

/* Hand linux.netDevices back from the pinned namespace, then drop the pin. */
static void return_devices(struct container *c)
{
	_cleanup_close_ int pin = openat(c->dir_fd, NETWORK_PIN_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct statfs sfs;
	if (pin < 0)
		return;
	if (fstatfs(pin, &sfs) == 0 && sfs.f_type == NSFS_MAGIC) {
		struct berth_error e = {0};
		struct oci_config *config = NULL;
		_cleanup_free_ struct netns_device *devs = NULL;
		if (container_config(c, &config, &e) < 0) {
			log_warn("delete \"%s\": network devices not returned: %s", c->rec->id, e.msg);
		} else if ((devs = device_list(&config->linux_)) &&
			   netns_devices_move_out(pin, devs, config->linux_.n_net_devices, &e) < 0) {
			log_warn("delete \"%s\": %s", c->rec->id, e.msg);
		}
		oci_config_free(config);
	}
	closep(&pin);
	unpin_netns(c->dir_fd);
}

/* Remove the host end of the container's veth pair (recorded with its lease), then the lease. */
static void leave_network(struct container *c, const char *network)
{
	struct berth_error e = {0};
	struct netns_network *net = NULL;
	if (netns_network_get(c->root_fd, network, &net, &e) == 0) {
		for (size_t i = 0; i < net->n_leases; i++)
			if (strcmp(net->leases[i].container, c->rec->id) == 0 &&
			    netns_veth_detach(net->leases[i].host_ifname, &e) < 0)
				log_warn("delete \"%s\": %s", c->rec->id, e.msg);
		netns_network_free(net);
	}
	if (netns_lease_release(c->root_fd, network, c->rec->id, NULL, &e) < 0)
		log_warn("delete \"%s\": release its address on network '%s': %s", c->rec->id, network,
			 e.msg);
}

void network_destroy(struct container *c)
{
	return_devices(c);
	const char *network = record_annotation(c->rec, NETWORK_ANNOTATION);
	if (network && *network)
		leave_network(c, network);
}

/* ---- `berth network ...` ---- */

int berth_network_create(const struct berth_context *ctx, const struct netns_network_opts *opts,
			 struct berth_error *err)
{
	_cleanup_close_ int root_fd = -EBADF;
	/* A definition no container could use: joining makes a bridge and veths on the host. */
	if (geteuid() != 0)
		return berth_error_set(err, -EPERM,
				       "network create: berth networks need root (a bridge and veth pairs in "
				       "the host's network namespace)");
	int r = state_root_open(ctx->root, true, &root_fd, err);
	if (r < 0)
		return r;
	return netns_network_create(root_fd, opts, NULL, err);
}

int berth_network_list(const struct berth_context *ctx, struct netns_network ***ret_nets, size_t *ret_n,
		       struct berth_error *err)
{
	_cleanup_close_ int root_fd = -EBADF;
	int r = state_root_open(ctx->root, false, &root_fd, err);
	if (r == -ENOENT) {
		berth_error_clear(err);
		*ret_nets = NULL;
		*ret_n = 0;
		return 0;
	}
	if (r < 0)
		return r;
	return netns_network_list(root_fd, ret_nets, ret_n, err);
}

int berth_network_inspect(const struct berth_context *ctx, const char *name, struct netns_network **ret_net,
			  struct berth_error *err)
{
	_cleanup_close_ int root_fd = -EBADF;
	int r = state_root_open(ctx->root, false, &root_fd, err);
	if (r == -ENOENT)
		return berth_error_set(err, r, "network '%s' does not exist", name);
	if (r < 0)
		return r;
	return netns_network_get(root_fd, name, ret_net, err);
}

int berth_network_remove(const struct berth_context *ctx, const char *name, struct berth_error *err)
{
	_cleanup_close_ int root_fd = -EBADF;
	struct netns_network *net = NULL;
	int r = state_root_open(ctx->root, false, &root_fd, err);
	if (r == -ENOENT)
		return berth_error_set(err, r, "network '%s' does not exist", name);
	if (r == 0)
		r = netns_network_remove(root_fd, name, &net, err);
	if (r < 0)
		return r;
	/* The definition is gone; a bridge that cannot be removed is only worth a warning. */
	struct berth_error e = {0};
	if (netns_bridge_remove(net->bridge, net->name, &e) < 0)
		log_warn("network '%s' removed, but not its bridge: %s", name, e.msg);
	netns_network_free(net);
	return 0;
}
