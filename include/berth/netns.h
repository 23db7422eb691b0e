/* netns: netlink (libmnl) operations on network namespaces. */
#pragma once

struct berth_error;

/* Bring the interface @ifname up in the network namespace the caller is in. */
int netns_link_up(const char *ifname, struct berth_error *err);
