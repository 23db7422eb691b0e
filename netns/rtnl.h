/* netns module internals: rtnetlink requests as values (msg.c builds them, with no I/O, so tests
 * can parse them back) and the operations that send them over an nl_sock (link.c, addr.c).
 * libmnl stays in the .c files; this header only needs the kernel's message layouts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "berth/netns.h"

/* Bytes of an address of @family (AF_INET or AF_INET6). */
static inline size_t nl_addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

struct berth_error;
struct nl_sock;
struct nlmsghdr;

/* Every request fits this (names are at most 15 bytes, an alias at most LINK_ALIAS_MAX). */
#define NL_MSG_SIZE 2048
#define NL_MSG_BUF(name) _Alignas(8) char name[NL_MSG_SIZE]

#define LINK_KEEP (-1)
#define LINK_ALIAS_MAX 128

/* One RTM_NEWLINK "set" request: which link, and what to change. */
struct link_change {
	int index;            /* the link; 0: look it up by @name */
	const char *name;     /* with index 0 */
	int up;               /* LINK_KEEP, 0 (down) or 1 (up) */
	uint32_t mtu;         /* 0: keep */
	const uint8_t *mac;   /* 6 bytes; NULL: keep */
	const char *new_name; /* rename (needs @index); NULL: keep */
	int master;           /* LINK_KEEP, 0 (no master) or the master's index */
	int netns_fd;         /* move to this namespace; negative: stay */
	const char *alias;    /* IFLA_IFALIAS; NULL: keep */
};
#define LINK_CHANGE_INIT                                                                                     \
	{                                                                                                    \
		.up = LINK_KEEP, .master = LINK_KEEP, .netns_fd = -1                                         \
	}

/* An interface address as the kernel reports it (and takes it back). */
struct addr_entry {
	struct netns_addr address; /* IFA_ADDRESS */
	struct netns_addr local;   /* IFA_LOCAL; family 0 when absent */
	unsigned prefix;
	uint32_t flags; /* IFA_F_* */
	uint8_t scope;
	int ifindex;
};

/* What RTM_GETLINK tells about one link. */
struct link_info {
	int index;
	unsigned flags; /* IFF_* */
	uint32_t mtu;
	int master; /* 0: none */
	char name[NETNS_IFNAME_MAX + 1];
	char kind[32]; /* IFLA_INFO_KIND: "veth", "bridge", "" for physical */
	char alias[LINK_ALIAS_MAX];
};

/* ---- builders (msg.c): each fills @buf (NL_MSG_SIZE bytes) and returns the request ---- */

struct nlmsghdr *msg_link_get(char *buf, const char *name);
struct nlmsghdr *msg_link_dump(char *buf);
struct nlmsghdr *msg_link_new_veth(char *buf, const char *name, const char *peer, int peer_netns_fd,
				   uint32_t mtu);
struct nlmsghdr *msg_link_new_bridge(char *buf, const char *name, uint32_t mtu);
struct nlmsghdr *msg_link_set(char *buf, const struct link_change *c);
struct nlmsghdr *msg_link_del(char *buf, const char *name);
/* RTM_NEWADDR (create or replace) or RTM_DELADDR. */
struct nlmsghdr *msg_addr(char *buf, uint16_t type, const struct addr_entry *a);
struct nlmsghdr *msg_addr_dump(char *buf, int family);
/* RTM_NEWROUTE (exclusive) or RTM_DELROUTE in the main table: to @dst/@dst_len (NULL: default)
 * via @gateway (NULL: on-link) out of @oif (0: any). */
struct nlmsghdr *msg_route(char *buf, uint16_t type, int family, const struct netns_addr *dst,
			   unsigned dst_len, const struct netns_addr *gateway, int oif);
struct nlmsghdr *msg_route_dump(char *buf, int family);

/* ---- reply parsers (link.c, addr.c): one kernel message each, no I/O ---- */

/* An RTM_NEWLINK message into *ret: 0, or -EBADMSG for another type or a truncated header
 * (attributes that do not validate are left out). */
int link_parse_msg(const struct nlmsghdr *nlh, struct link_info *ret);
/* An RTM_NEWADDR message into *ret: 1 for an IPv4/IPv6 address, 0 for anything else (another
 * type or family, a truncated header, no address attribute: *ret then unspecified). */
int addr_parse_msg(const struct nlmsghdr *nlh, struct addr_entry *ret);

/* ---- operations (link.c, addr.c): one request each over @nl; @err names the object ---- */

/* -ENODEV ("... does not exist") when there is no such link. */
int link_get(struct nl_sock *nl, const char *name, struct link_info *ret, struct berth_error *err);
int link_list(struct nl_sock *nl, struct link_info **ret, size_t *ret_n, struct berth_error *err);
int link_create_veth(struct nl_sock *nl, const char *name, const char *peer, int peer_netns_fd, uint32_t mtu,
		     struct berth_error *err);
int link_create_bridge(struct nl_sock *nl, const char *name, uint32_t mtu, struct berth_error *err);
int link_set(struct nl_sock *nl, const struct link_change *c, struct berth_error *err);
int link_del(struct nl_sock *nl, const char *name, struct berth_error *err);

int addr_add(struct nl_sock *nl, const struct addr_entry *a, struct berth_error *err);
int addr_del(struct nl_sock *nl, const struct addr_entry *a, struct berth_error *err);
/* The addresses of @ifindex (0: every link), any family. *ret malloc'd. */
int addr_list(struct nl_sock *nl, int ifindex, struct addr_entry **ret, size_t *ret_n,
	      struct berth_error *err);

/* A route as a dump reports it (main table only). */
struct route_entry {
	int family;
	unsigned dst_len;
	struct netns_addr dst;     /* family 0 for the default route */
	struct netns_addr gateway; /* family 0 when on-link */
	int oif;
};
int route_add(struct nl_sock *nl, int family, const struct netns_addr *dst, unsigned dst_len,
	      const struct netns_addr *gateway, int oif, struct berth_error *err);
int route_list(struct nl_sock *nl, int family, struct route_entry **ret, size_t *ret_n,
	       struct berth_error *err);
