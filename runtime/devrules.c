/* The device cgroup rules a container really gets: its linux.resources.devices in the config's
 * order, then the devices every container needs, appended after them as runc appends its
 * AllowedDevices (mknod of any node, null, zero, full, random, urandom, tty, ptmx, /dev/pts/N,
 * /dev/net/tun). The rules are an allowlist where the last match wins, so a profile that starts
 * with "deny all" still leaves /dev/null and friends usable.
 * linux.devices only creates nodes: it grants no access. A node listed there is usable only when
 * resources.devices (or the default list) allows it, as with runc; adding "rwm" for each listed
 * node after the config's rules let a container open a node its config explicitly denied. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "devrules.h"

#define ANY (-1)

static const struct {
	char type;
	int64_t major, minor;
	const char *access;
} defaults[] = {
    {'c', ANY, ANY, "m"},  {'b', ANY, ANY, "m"},   /* mknod of any node; opening it is another matter */
    {'c', 1, 3, "rwm"},    {'c', 1, 5, "rwm"},     /* null, zero */
    {'c', 1, 7, "rwm"},    {'c', 1, 8, "rwm"},     /* full, random */
    {'c', 1, 9, "rwm"},    {'c', 5, 0, "rwm"},     /* urandom, tty */
    {'c', 5, 2, "rwm"},    {'c', 136, ANY, "rwm"}, /* ptmx, /dev/pts/N */
    {'c', 10, 200, "rwm"},                         /* /dev/net/tun */
};

static void set_rule(struct oci_device_cgroup *r, char type, int64_t major, int64_t minor, const char *access)
{
	memset(r, 0, sizeof(*r));
	r->allow = true;
	r->type = type;
	r->has_major = major != ANY;
	r->major = major;
	r->has_minor = minor != ANY;
	r->minor = minor;
	r->access = (char *)access;
}

int device_rules_build(const struct oci_config *config, const struct oci_resources *res, bool at_create,
		       struct oci_resources *ret, struct oci_device_cgroup **ret_owned,
		       struct berth_error *err)
{
	*ret = *res;
	*ret_owned = NULL;
	if (res->n_devices == 0 && !at_create)
		return 0; /* update without device rules: the container's stay */
	(void)config;     /* linux.devices grants nothing (see above) */
	/* No device rule in the config at create: runc's policy, deny all but the defaults. */
	bool deny_all = res->n_devices == 0;
	size_t n = res->n_devices + ARRAY_SIZE(defaults) + deny_all;
	struct oci_device_cgroup *rules = calloc(n, sizeof(*rules));
	if (!rules)
		return berth_error_set(err, -ENOMEM, "out of memory");
	if (res->n_devices)
		memcpy(rules, res->devices, res->n_devices * sizeof(*rules));
	size_t i = res->n_devices;
	if (deny_all) {
		set_rule(&rules[i], 'a', ANY, ANY, "rwm");
		rules[i++].allow = false;
	}
	for (size_t d = 0; d < ARRAY_SIZE(defaults); d++, i++)
		set_rule(&rules[i], defaults[d].type, defaults[d].major, defaults[d].minor,
			 defaults[d].access);
	ret->devices = rules;
	ret->n_devices = i;
	*ret_owned = rules;
	return 0;
}
