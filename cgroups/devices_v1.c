/* Device rules for the v1 devices controller (devices.allow / devices.deny), and the rule checks
 * shared with the eBPF translation. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "resources.h"

#define ACC_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)

int cg_device_rule_check(const struct oci_device_cgroup *rule, size_t i, struct berth_error *err)
{
	if (rule->type != 'a' && rule->type != 'c' && rule->type != 'b')
		return berth_error_set(err, -EINVAL,
				       "linux.resources.devices[%zu].type: '%c' is not a, c or b", i,
				       rule->type ? rule->type : '?');
	if (rule->has_major && (rule->major < 0 || rule->major > UINT32_MAX))
		return berth_error_set(err, -EINVAL,
				       "linux.resources.devices[%zu].major: %" PRId64 " is out of range", i,
				       rule->major);
	if (rule->has_minor && (rule->minor < 0 || rule->minor > UINT32_MAX))
		return berth_error_set(err, -EINVAL,
				       "linux.resources.devices[%zu].minor: %" PRId64 " is out of range", i,
				       rule->minor);
	if (rule->access && strspn(rule->access, "rwm") != strlen(rule->access))
		return berth_error_set(
		    err, -EINVAL, "linux.resources.devices[%zu].access: '%s' is not a combination of r, w, m",
		    i, rule->access);
	return 0;
}

unsigned cg_device_access_bits(const char *access)
{
	unsigned bits = 0;

	if (!access || !*access)
		return ACC_ALL;
	for (const char *p = access; *p; p++) {
		if (*p == 'r')
			bits |= BPF_DEVCG_ACC_READ;
		else if (*p == 'w')
			bits |= BPF_DEVCG_ACC_WRITE;
		else if (*p == 'm')
			bits |= BPF_DEVCG_ACC_MKNOD;
	}
	return bits;
}

/* The rule matches every device and every access: the kernel's "a". */
static bool whole_wildcard(const struct oci_device_cgroup *rule)
{
	return rule->type == 'a' && !rule->has_major && !rule->has_minor &&
	       cg_device_access_bits(rule->access) == ACC_ALL;
}

static void format_line(struct cg_dev_line *out, size_t i, char type, const struct oci_device_cgroup *rule)
{
	char major[24] = "*", minor[24] = "*", access[4];
	unsigned bits = cg_device_access_bits(rule->access);
	size_t n = 0;

	if (rule->has_major)
		snprintf(major, sizeof(major), "%" PRId64, rule->major);
	if (rule->has_minor)
		snprintf(minor, sizeof(minor), "%" PRId64, rule->minor);
	if (bits & BPF_DEVCG_ACC_READ)
		access[n++] = 'r';
	if (bits & BPF_DEVCG_ACC_WRITE)
		access[n++] = 'w';
	if (bits & BPF_DEVCG_ACC_MKNOD)
		access[n++] = 'm';
	access[n] = '\0';
	out->allow = rule->allow;
	out->rule = i;
	snprintf(out->line, sizeof(out->line), "%c %s:%s %s", type, major, minor, access);
}

int cg_v1_device_lines(const struct oci_device_cgroup *rules, size_t n, struct cg_dev_line *out,
		       size_t *ret_n, struct berth_error *err)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		int r = cg_device_rule_check(&rules[i], i, err);
		if (r < 0)
			return r;
	}
	/* An allowlist: start from "deny everything" unless the first rule resets the state itself. */
	if (n > 0 && !whole_wildcard(&rules[0]))
		out[k++] = (struct cg_dev_line){.allow = false, .rule = SIZE_MAX, .line = "a"};
	for (size_t i = 0; i < n; i++) {
		const struct oci_device_cgroup *rule = &rules[i];
		if (whole_wildcard(rule)) {
			out[k++] = (struct cg_dev_line){.allow = rule->allow, .rule = i, .line = "a"};
		} else if (rule->type == 'a') {
			/* The kernel's "a" ignores major, minor and access: spell both types out. */
			format_line(&out[k++], i, 'c', rule);
			format_line(&out[k++], i, 'b', rule);
		} else {
			format_line(&out[k++], i, rule->type, rule);
		}
	}
	*ret_n = k;
	return 0;
}

int cg_v1_devices(int fd, const struct oci_device_cgroup *rules, size_t n, struct berth_error *err)
{
	_cleanup_free_ struct cg_dev_line *lines = NULL;
	size_t k = 0;
	char field[64];

	if (n == 0)
		return 0;
	if (n > CGROUP_DEVICES_BPF_MAX_RULES)
		return berth_error_set(err, -E2BIG, "linux.resources.devices: more than %d rules",
				       CGROUP_DEVICES_BPF_MAX_RULES);
	lines = calloc(2 * n + 1, sizeof(*lines));
	if (!lines)
		return berth_error_set(err, -ENOMEM, "out of memory");
	int r = cg_v1_device_lines(rules, n, lines, &k, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < k; i++) {
		if (lines[i].rule == SIZE_MAX)
			snprintf(field, sizeof(field), "linux.resources.devices");
		else
			snprintf(field, sizeof(field), "linux.resources.devices[%zu]", lines[i].rule);
		r = cg_put(fd, lines[i].allow ? "devices.allow" : "devices.deny", lines[i].line, field, err);
		if (r < 0)
			return r;
	}
	return 0;
}
