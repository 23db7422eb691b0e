/* The network store: definitions and address leases under <root>/.networks.
 *
 * One text file per network, "<name>.net", a line per field and per lease:
 *
 *   berth-network 1
 *   name n1
 *   subnet 10.231.1.0/24
 *   gateway 10.231.1.1
 *   bridge berth-n1
 *   mtu 0
 *   created 2025-01-01T00:00:00.000000000Z
 *   lease 10.231.1.2 bv0123456789ab container-id
 *
 * No value can hold a space (names, addresses and container ids exclude it), so a line splits on
 * spaces. Lines of unknown kinds are skipped, so a newer berth may add some. Every change rewrites
 * the file atomically while holding an exclusive flock on "lock"; readers hold it shared. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/netns.h"
#include "berth/util.h"

#define STORE_DIR ".networks"
#define LOCK_FILE "lock"
#define NET_SUFFIX ".net"
#define NET_FILE_MAX (16u << 20)
#define NET_MAGIC "berth-network 1"

/* An open, locked store. */
struct store {
	int dir_fd;
	int lock_fd;
};

static void store_close(struct store *s)
{
	closep(&s->lock_fd); /* drops the flock */
	closep(&s->dir_fd);
}
#define _cleanup_store_ __attribute__((cleanup(store_close)))

/* Open (with @create, make) the store and lock it. -ENOENT when absent and !@create. */
static int store_open(int root_fd, bool create, int lock_op, struct store *s, struct berth_error *err)
{
	s->dir_fd = s->lock_fd = -EBADF;
	if (create && mkdirat(root_fd, STORE_DIR, 0700) < 0 && errno != EEXIST)
		return berth_error_setf_errno(err, -errno, "create the network store");
	s->dir_fd = openat(root_fd, STORE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dir_fd < 0) {
		int r = -errno;
		if (r == -ENOENT)
			return r;
		return berth_error_setf_errno(err, r, "open the network store");
	}
	s->lock_fd = openat(s->dir_fd, LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		int r = -errno;
		store_close(s);
		return berth_error_setf_errno(err, r, "open the network store lock");
	}
	while (flock(s->lock_fd, lock_op) < 0) {
		if (errno == EINTR)
			continue;
		int r = -errno;
		store_close(s);
		return berth_error_setf_errno(err, r, "lock the network store");
	}
	return 0;
}

static int validate_name(const char *name, struct berth_error *err)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > NETNS_NAME_MAX)
		return berth_error_set(err, -EINVAL, "network name '%s' must be 1 to %d characters long",
				       name ? name : "", NETNS_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return berth_error_set(
			    err, -EINVAL,
			    "network name '%s' may only hold letters, digits, '_', '.' and '-', "
			    "and must start with a letter or digit",
			    name);
	}
	return 0;
}

static int file_name(const char *name, char *buf, size_t size)
{
	return snprintf(buf, size, "%s%s", name, NET_SUFFIX) >= (int)size ? -ENAMETOOLONG : 0;
}

void netns_network_free(struct netns_network *net)
{
	if (!net)
		return;
	for (size_t i = 0; i < net->n_leases; i++)
		free(net->leases[i].container);
	free(net->leases);
	free(net);
}

static void netns_network_freep(struct netns_network **p)
{
	netns_network_free(*p);
	*p = NULL;
}
#define _cleanup_network_ __attribute__((cleanup(netns_network_freep)))

void netns_network_list_free(struct netns_network **nets, size_t n)
{
	for (size_t i = 0; nets && i < n; i++)
		netns_network_free(nets[i]);
	free(nets);
}

/* ---- the text format ---- */

static int add_lease(struct netns_network *net, const struct netns_addr *addr, const char *host_ifname,
		     const char *container)
{
	struct netns_lease *v = realloc(net->leases, (net->n_leases + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	net->leases = v;
	struct netns_lease *l = &v[net->n_leases];
	memset(l, 0, sizeof(*l));
	l->container = strdup(container);
	if (!l->container)
		return -ENOMEM;
	l->addr = *addr;
	snprintf(l->host_ifname, sizeof(l->host_ifname), "%s", host_ifname);
	net->n_leases++;
	return 0;
}

static int parse_lease(struct netns_network *net, char *value)
{
	char *save = NULL;
	char *ip = strtok_r(value, " ", &save);
	char *ifname = strtok_r(NULL, " ", &save);
	char *id = strtok_r(NULL, " ", &save);
	struct netns_addr a;
	if (!id || netns_addr_parse(ip, &a) < 0 || netns_ifname_validate("", ifname, NULL) < 0 ||
	    container_id_validate(id, NULL) < 0)
		return -EINVAL;
	return add_lease(net, &a, ifname, id);
}

static int parse_uint(const char *s, uint32_t max, uint32_t *ret)
{
	int64_t v;
	if (parse_int64(s, 0, max, &v) < 0)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

static int parse_line(struct netns_network *net, char *line)
{
	char *sp = strchr(line, ' ');
	if (!sp)
		return -EINVAL;
	*sp = '\0';
	const char *key = line;
	char *value = sp + 1;
	if (strcmp(key, "name") == 0) {
		if (validate_name(value, NULL) < 0)
			return -EINVAL;
		snprintf(net->name, sizeof(net->name), "%s", value);
	} else if (strcmp(key, "subnet") == 0) {
		return netns_cidr_parse(value, &net->subnet, NULL);
	} else if (strcmp(key, "gateway") == 0) {
		return netns_addr_parse(value, &net->gateway);
	} else if (strcmp(key, "bridge") == 0) {
		if (netns_ifname_validate("", value, NULL) < 0)
			return -EINVAL;
		snprintf(net->bridge, sizeof(net->bridge), "%s", value);
	} else if (strcmp(key, "mtu") == 0) {
		return parse_uint(value, 65535, &net->mtu);
	} else if (strcmp(key, "created") == 0) {
		if (strlen(value) >= sizeof(net->created))
			return -EINVAL;
		snprintf(net->created, sizeof(net->created), "%s", value);
	} else if (strcmp(key, "lease") == 0) {
		return parse_lease(net, value);
	}
	return 0;
}

static int parse_network(char *text, const char *file, struct netns_network **ret, struct berth_error *err)
{
	_cleanup_network_ struct netns_network *net = calloc(1, sizeof(*net));
	if (!net)
		return berth_error_set(err, -ENOMEM, "out of memory");
	char *save = NULL;
	unsigned lineno = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (lineno == 1 && strcmp(line, NET_MAGIC) != 0)
			return berth_error_set(err, -EINVAL, "network file '%s' is not a berth network",
					       file);
		int r = lineno == 1 ? 0 : parse_line(net, line);
		if (r == -ENOMEM)
			return berth_error_set(err, r, "out of memory");
		if (r < 0)
			return berth_error_set(err, -EINVAL, "network file '%s' line %u is corrupt", file,
					       lineno);
	}
	if (!net->name[0] || !net->subnet.addr.family || !net->bridge[0] ||
	    !netns_cidr_host_ok(&net->subnet, &net->gateway))
		return berth_error_set(err, -EINVAL, "network file '%s' is incomplete", file);
	*ret = TAKE_PTR(net);
	return 0;
}

static int read_network(int dir_fd, const char *name, struct netns_network **ret, struct berth_error *err)
{
	char file[NETNS_NAME_MAX + 8];
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = validate_name(name, err);
	if (r < 0)
		return r;
	file_name(name, file, sizeof(file));
	r = read_file_at(dir_fd, file, NET_FILE_MAX, &text, &len);
	if (r == -ENOENT)
		return berth_error_set(err, r, "network '%s' does not exist", name);
	if (r < 0)
		return berth_error_setf_errno(err, r, "read network '%s'", name);
	if (strlen(text) != len)
		return berth_error_set(err, -EINVAL, "network file '%s' is corrupt", file);
	r = parse_network(text, file, ret, err);
	if (r == 0 && strcmp((*ret)->name, name) != 0) {
		netns_network_freep(ret);
		return berth_error_set(err, -EINVAL, "network file '%s' names another network", file);
	}
	return r;
}

static int write_network(int dir_fd, const struct netns_network *net, struct berth_error *err)
{
	char subnet[NETNS_CIDR_STRLEN], gw[NETNS_ADDR_STRLEN], a[NETNS_ADDR_STRLEN], file[NETNS_NAME_MAX + 8];
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return berth_error_set(err, -ENOMEM, "out of memory");
	netns_cidr_format(&net->subnet, subnet, sizeof(subnet));
	netns_addr_format(&net->gateway, gw, sizeof(gw));
	fprintf(f, "%s\nname %s\nsubnet %s\ngateway %s\nbridge %s\nmtu %u\ncreated %s\n", NET_MAGIC,
		net->name, subnet, gw, net->bridge, net->mtu, net->created[0] ? net->created : "-");
	for (size_t i = 0; i < net->n_leases; i++) {
		netns_addr_format(&net->leases[i].addr, a, sizeof(a));
		fprintf(f, "lease %s %s %s\n", a, net->leases[i].host_ifname, net->leases[i].container);
	}
	if (fclose(f) != 0 || !text)
		return berth_error_set(err, -ENOMEM, "out of memory");
	file_name(net->name, file, sizeof(file));
	int r = write_file_atomic_at(dir_fd, file, text, len, 0600);
	if (r < 0)
		return berth_error_setf_errno(err, r, "save network '%s'", net->name);
	return 0;
}

/* Every network in the store, sorted by name. */
static int cmp_network(const void *a, const void *b)
{
	return strcmp((*(struct netns_network *const *)a)->name, (*(struct netns_network *const *)b)->name);
}

static int read_all(int dir_fd, struct netns_network ***ret, size_t *ret_n, struct berth_error *err)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "open the network store");
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return berth_error_setf_errno(err, -errno, "open the network store");
	}
	struct netns_network **v = NULL;
	size_t n = 0;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len <= strlen(NET_SUFFIX) ||
		    strcmp(de->d_name + len - strlen(NET_SUFFIX), NET_SUFFIX) != 0)
			continue;
		char name[NETNS_NAME_MAX + 8];
		snprintf(name, sizeof(name), "%.*s", (int)(len - strlen(NET_SUFFIX)), de->d_name);
		struct netns_network **nv = realloc(v, (n + 1) * sizeof(*nv));
		if (!nv) {
			r = berth_error_set(err, -ENOMEM, "out of memory");
			break;
		}
		v = nv;
		r = read_network(dir_fd, name, &v[n], err);
		if (r == 0)
			n++;
	}
	if (r < 0) {
		netns_network_list_free(v, n);
		return r;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_network);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* ---- networks ---- */

/* "berth-<name>", or "berth-<hash>" when that would be longer than an interface name. */
static void default_bridge(const char *name, char *buf, size_t size)
{
	if (strlen("berth-") + strlen(name) <= NETNS_IFNAME_MAX) {
		snprintf(buf, size, "berth-%s", name);
		return;
	}
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(buf, size, "berth-%08x", h);
}

static int build_network(const struct netns_network_opts *o, struct netns_network *net,
			 struct berth_error *err)
{
	int r = validate_name(o->name, err);
	if (r < 0)
		return r;
	snprintf(net->name, sizeof(net->name), "%s", o->name);
	if (!o->subnet)
		return berth_error_set(err, -EINVAL, "network '%s': a subnet is required", o->name);
	r = netns_cidr_parse(o->subnet, &net->subnet, err);
	if (r < 0)
		return r;
	if (o->gateway) {
		if (netns_addr_parse(o->gateway, &net->gateway) < 0)
			return berth_error_set(err, -EINVAL, "gateway '%s' is not an IP address", o->gateway);
		if (!netns_cidr_host_ok(&net->subnet, &net->gateway))
			return berth_error_set(err, -EINVAL, "gateway %s is not a host address of subnet %s",
					       o->gateway, o->subnet);
	} else {
		netns_cidr_nth(&net->subnet, 1, &net->gateway);
	}
	if (o->bridge) {
		r = netns_ifname_validate("bridge name", o->bridge, err);
		if (r < 0)
			return r;
		snprintf(net->bridge, sizeof(net->bridge), "%s", o->bridge);
	} else {
		default_bridge(o->name, net->bridge, sizeof(net->bridge));
	}
	if (o->mtu && (o->mtu < 68 || o->mtu > 65535))
		return berth_error_set(err, -EINVAL, "MTU %u is out of range (68 to 65535)", o->mtu);
	if (o->mtu && o->mtu < 1280 && net->subnet.addr.family == AF_INET6)
		return berth_error_set(err, -EINVAL, "MTU %u is too small for IPv6 (at least 1280)", o->mtu);
	net->mtu = o->mtu;
	rfc3339_now(net->created, sizeof(net->created));
	return 0;
}

/* A new network must not share its subnet's addresses or its bridge with another. */
static int check_conflicts(int dir_fd, const struct netns_network *net, struct berth_error *err)
{
	struct netns_network **all = NULL;
	size_t n = 0;
	char a[NETNS_CIDR_STRLEN], b[NETNS_CIDR_STRLEN];
	int r = read_all(dir_fd, &all, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (netns_cidr_overlap(&net->subnet, &all[i]->subnet)) {
			netns_cidr_format(&net->subnet, a, sizeof(a));
			netns_cidr_format(&all[i]->subnet, b, sizeof(b));
			r = berth_error_set(err, -EEXIST, "subnet %s overlaps subnet %s of network '%s'", a,
					    b, all[i]->name);
		} else if (strcmp(net->bridge, all[i]->bridge) == 0) {
			r = berth_error_set(err, -EEXIST, "bridge '%s' is already used by network '%s'",
					    net->bridge, all[i]->name);
		}
	}
	netns_network_list_free(all, n);
	return r;
}

static int copy_network(const struct netns_network *net, struct netns_network **ret)
{
	struct netns_network *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = *net;
	c->leases = NULL;
	c->n_leases = 0;
	for (size_t i = 0; i < net->n_leases; i++) {
		if (add_lease(c, &net->leases[i].addr, net->leases[i].host_ifname, net->leases[i].container) <
		    0) {
			netns_network_free(c);
			return -ENOMEM;
		}
	}
	*ret = c;
	return 0;
}

int netns_network_create(int root_fd, const struct netns_network_opts *o, struct netns_network **ret_net,
			 struct berth_error *err)
{
	struct netns_network net = {0};
	_cleanup_store_ struct store s = {-EBADF, -EBADF};
	char file[NETNS_NAME_MAX + 8];
	int r = build_network(o, &net, err);
	if (r == 0)
		r = store_open(root_fd, true, LOCK_EX, &s, err);
	if (r < 0)
		return r;
	file_name(net.name, file, sizeof(file));
	if (faccessat(s.dir_fd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return berth_error_set(err, -EEXIST, "network '%s' already exists", net.name);
	r = check_conflicts(s.dir_fd, &net, err);
	if (r == 0)
		r = write_network(s.dir_fd, &net, err);
	if (r == 0 && ret_net && copy_network(&net, ret_net) < 0)
		r = berth_error_set(err, -ENOMEM, "out of memory");
	return r;
}

int netns_network_get(int root_fd, const char *name, struct netns_network **ret_net, struct berth_error *err)
{
	_cleanup_store_ struct store s = {-EBADF, -EBADF};
	int r = validate_name(name, err);
	if (r == 0)
		r = store_open(root_fd, false, LOCK_SH, &s, err);
	if (r == -ENOENT)
		return berth_error_set(err, r, "network '%s' does not exist", name);
	if (r < 0)
		return r;
	return read_network(s.dir_fd, name, ret_net, err);
}

int netns_network_list(int root_fd, struct netns_network ***ret_nets, size_t *ret_n, struct berth_error *err)
{
	_cleanup_store_ struct store s = {-EBADF, -EBADF};
	int r = store_open(root_fd, false, LOCK_SH, &s, err);
	if (r == -ENOENT) {
		*ret_nets = NULL;
		*ret_n = 0;
		return 0;
	}
	if (r < 0)
		return r;
	return read_all(s.dir_fd, ret_nets, ret_n, err);
}

/* ---- leases ---- */

/* A lease whose container's state directory is gone belongs to a create or delete that died
 * half-way: nothing can release it any more. */
static bool lease_stale(int root_fd, const struct netns_lease *l)
{
	return faccessat(root_fd, l->container, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

/* Drop stale leases and, when @container is given, that container's own; true if any went. */
static bool prune_leases(int root_fd, struct netns_network *net, const char *container)
{
	size_t keep = 0;
	for (size_t i = 0; i < net->n_leases; i++) {
		struct netns_lease *l = &net->leases[i];
		if ((container && strcmp(l->container, container) == 0) || lease_stale(root_fd, l))
			free(l->container);
		else
			net->leases[keep++] = *l;
	}
	bool changed = keep != net->n_leases;
	net->n_leases = keep;
	return changed;
}

int netns_network_remove(int root_fd, const char *name, struct netns_network **ret_net,
			 struct berth_error *err)
{
	_cleanup_store_ struct store s = {-EBADF, -EBADF};
	_cleanup_network_ struct netns_network *net = NULL;
	char file[NETNS_NAME_MAX + 8];
	int r = validate_name(name, err);
	if (r == 0)
		r = store_open(root_fd, false, LOCK_EX, &s, err);
	if (r == -ENOENT)
		return berth_error_set(err, r, "network '%s' does not exist", name);
	if (r == 0)
		r = read_network(s.dir_fd, name, &net, err);
	if (r < 0)
		return r;
	prune_leases(root_fd, net, NULL);
	if (net->n_leases) {
		char users[256] = "";
		size_t len = 0;
		for (size_t i = 0; i < net->n_leases && len < sizeof(users); i++)
			len += (size_t)snprintf(users + len, sizeof(users) - len, "%s\"%s\"", i ? ", " : "",
						net->leases[i].container);
		return berth_error_set(err, -EBUSY, "network '%s' is in use by %zu container%s: %s", name,
				       net->n_leases, net->n_leases == 1 ? "" : "s", users);
	}
	file_name(name, file, sizeof(file));
	if (unlinkat(s.dir_fd, file, 0) < 0)
		return berth_error_setf_errno(err, -errno, "remove network '%s'", name);
	if (ret_net)
		*ret_net = TAKE_PTR(net);
	return 0;
}

static int cmp_addr(const void *a, const void *b)
{
	return memcmp(((const struct netns_addr *)a)->bytes, ((const struct netns_addr *)b)->bytes, 16);
}

/* The lowest host address that is neither the gateway nor leased. */
static int pick_free(const struct netns_network *net, struct netns_addr *ret, struct berth_error *err)
{
	_cleanup_free_ struct netns_addr *used = calloc(net->n_leases + 1, sizeof(*used));
	if (!used)
		return berth_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < net->n_leases; i++)
		used[i] = net->leases[i].addr;
	used[net->n_leases] = net->gateway;
	size_t n = net->n_leases + 1;
	qsort(used, n, sizeof(*used), cmp_addr);
	/* Among the first n + 1 host addresses one is free unless the subnet is full. */
	for (uint64_t i = 1; i <= n + 1; i++) {
		struct netns_addr a;
		if (netns_cidr_nth(&net->subnet, i, &a) < 0 || !netns_cidr_host_ok(&net->subnet, &a))
			break;
		if (!bsearch(&a, used, n, sizeof(*used), cmp_addr)) {
			*ret = a;
			return 0;
		}
	}
	char subnet[NETNS_CIDR_STRLEN];
	netns_cidr_format(&net->subnet, subnet, sizeof(subnet));
	return berth_error_set(err, -ENOSPC, "network '%s' has no free address left in %s (%zu leased)",
			       net->name, subnet, net->n_leases);
}

/* A fixed address must be a host address of the subnet, not the gateway, and free. */
static int check_fixed(const struct netns_network *net, const char *ip, struct netns_addr *ret,
		       struct berth_error *err)
{
	struct netns_addr a;
	char subnet[NETNS_CIDR_STRLEN];
	netns_cidr_format(&net->subnet, subnet, sizeof(subnet));
	if (netns_addr_parse(ip, &a) < 0)
		return berth_error_set(err, -EINVAL, "address '%s' is not an IP address", ip);
	if (!netns_cidr_contains(&net->subnet, &a))
		return berth_error_set(err, -EINVAL, "address %s is outside subnet %s of network '%s'", ip,
				       subnet, net->name);
	if (!netns_cidr_host_ok(&net->subnet, &a))
		return berth_error_set(err, -EINVAL, "address %s is not a host address of subnet %s", ip,
				       subnet);
	if (netns_addr_equal(&a, &net->gateway))
		return berth_error_set(err, -EINVAL, "address %s is the gateway of network '%s'", ip,
				       net->name);
	for (size_t i = 0; i < net->n_leases; i++)
		if (netns_addr_equal(&net->leases[i].addr, &a))
			return berth_error_set(
			    err, -EADDRINUSE,
			    "address %s of network '%s' is already leased to container \"%s\"", ip, net->name,
			    net->leases[i].container);
	*ret = a;
	return 0;
}

int netns_lease_check(int root_fd, const char *network, const char *ip, struct berth_error *err)
{
	_cleanup_network_ struct netns_network *net = NULL;
	struct netns_addr a;
	int r = netns_network_get(root_fd, network, &net, err);
	if (r < 0)
		return r;
	prune_leases(root_fd, net, NULL);
	return ip ? check_fixed(net, ip, &a, err) : 0;
}

int netns_lease_acquire(int root_fd, const char *network, const char *container, const char *ip,
			const char *host_ifname, struct netns_network **ret_net, struct netns_addr *ret_addr,
			struct berth_error *err)
{
	_cleanup_store_ struct store s = {-EBADF, -EBADF};
	_cleanup_network_ struct netns_network *net = NULL;
	struct netns_addr a;
	int r = validate_name(network, err);
	if (r == 0)
		r = container_id_validate(container, err);
	if (r == 0)
		r = netns_ifname_validate("host interface name", host_ifname, err);
	if (r == 0)
		r = store_open(root_fd, false, LOCK_EX, &s, err);
	if (r == -ENOENT)
		return berth_error_set(err, r, "network '%s' does not exist", network);
	if (r == 0)
		r = read_network(s.dir_fd, network, &net, err);
	if (r < 0)
		return r;
	/* A container id holds one lease per network: an older one of the same id is replaced. */
	prune_leases(root_fd, net, container);
	r = ip ? check_fixed(net, ip, &a, err) : pick_free(net, &a, err);
	if (r < 0)
		return r;
	if (add_lease(net, &a, host_ifname, container) < 0)
		return berth_error_set(err, -ENOMEM, "out of memory");
	r = write_network(s.dir_fd, net, err);
	if (r < 0)
		return r;
	if (ret_addr)
		*ret_addr = a;
	if (ret_net)
		*ret_net = TAKE_PTR(net);
	return 0;
}

int netns_lease_release(int root_fd, const char *network, const char *container, char *ret_host_ifname,
			struct berth_error *err)
{
	_cleanup_store_ struct store s = {-EBADF, -EBADF};
	_cleanup_network_ struct netns_network *net = NULL;
	if (ret_host_ifname)
		ret_host_ifname[0] = '\0';
	int r = validate_name(network, err);
	if (r == 0)
		r = store_open(root_fd, false, LOCK_EX, &s, err);
	if (r == -ENOENT)
		return 0;
	if (r == 0)
		r = read_network(s.dir_fd, network, &net, err);
	if (r == -ENOENT) {
		berth_error_clear(err);
		return 0;
	}
	if (r < 0)
		return r;
	bool mine = false;
	for (size_t i = 0; i < net->n_leases && !mine; i++) {
		if (strcmp(net->leases[i].container, container) != 0)
			continue;
		mine = true;
		if (ret_host_ifname)
			snprintf(ret_host_ifname, NETNS_IFNAME_MAX + 1, "%s", net->leases[i].host_ifname);
	}
	if (!mine)
		return 0;
	prune_leases(root_fd, net, container);
	return write_network(s.dir_fd, net, err);
}
