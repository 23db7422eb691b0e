/* runtime-internal: the effective device cgroup rules of a container. */
#pragma once

#include <stdbool.h>

#include "berth/oci.h"

struct berth_error;

/* *ret = a shallow copy of @res whose devices are @res's rules + the devices every container
 * needs. When @res has no device rules: with @at_create, "deny all" + those devices, as runc
 * (a container whose config says nothing about devices still cannot open the host's disks); for
 * `update`, nothing (the container's rules stay as they are). linux.devices adds no rule: it only
 * creates nodes; @config is for the callers' symmetry.
 * *ret_owned is the array to free() afterwards (NULL when nothing was added). */
int device_rules_build(const struct oci_config *config, const struct oci_resources *res, bool at_create,
		       struct oci_resources *ret, struct oci_device_cgroup **ret_owned,
		       struct berth_error *err);
