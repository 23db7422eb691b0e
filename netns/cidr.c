/* Addresses and subnets as plain values: parsing, formatting, containment, the n-th address of a
 * subnet, and interface name rules. No I/O, so the lease arithmetic is testable anywhere. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "berth/error.h"
#include "berth/netns.h"
#include "rtnl.h"

int netns_addr_parse(const char *s, struct netns_addr *ret)
{
	struct netns_addr a = {0};

	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, a.bytes) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, a.bytes) == 1)
		a.family = AF_INET6;
	else
		return -EINVAL;
	*ret = a;
	return 0;
}

void netns_addr_format(const struct netns_addr *a, char *buf, size_t size)
{
	if (!inet_ntop(a->family, a->bytes, buf, (socklen_t)size) && size)
		buf[0] = '\0';
}

bool netns_addr_equal(const struct netns_addr *a, const struct netns_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, nl_addr_len(a->family)) == 0;
}

/* Whether the bits of @bytes past @prefix are all zero. */
static bool host_bits_zero(const uint8_t *bytes, size_t len, unsigned prefix)
{
	for (size_t i = 0; i < len; i++) {
		unsigned bit = (unsigned)i * 8;
		uint8_t mask =
		    bit >= prefix ? 0xff : (prefix - bit >= 8 ? 0 : (uint8_t)(0xff >> (prefix - bit)));
		if (bytes[i] & mask)
			return false;
	}
	return true;
}

int netns_cidr_parse(const char *s, struct netns_cidr *ret, struct berth_error *err)
{
	char buf[NETNS_CIDR_STRLEN];
	struct netns_cidr c = {0};
	const char *slash = s ? strchr(s, '/') : NULL;

	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return berth_error_set(
		    err, -EINVAL, "subnet '%s' is not in CIDR form (10.1.2.0/24, fd00::/64)", s ? s : "");
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (netns_addr_parse(buf, &c.addr) < 0)
		return berth_error_set(err, -EINVAL, "subnet '%s': '%s' is not an IP address", s, buf);
	unsigned max = c.addr.family == AF_INET ? 30 : 126;
	char *end = NULL;
	errno = 0;
	unsigned long p = strtoul(slash + 1, &end, 10);
	if (!slash[1] || *end || errno || slash[1] == '-' || slash[1] == '+' || p == 0 || p > max)
		return berth_error_set(err, -EINVAL, "subnet '%s': the prefix length must be 1 to %u", s,
				       max);
	c.prefix = (unsigned)p;
	if (!host_bits_zero(c.addr.bytes, nl_addr_len(c.addr.family), c.prefix))
		return berth_error_set(
		    err, -EINVAL, "subnet '%s' has host bits set (the network address ends in zeros)", s);
	*ret = c;
	return 0;
}

void netns_cidr_format(const struct netns_cidr *c, char *buf, size_t size)
{
	char a[NETNS_ADDR_STRLEN];
	netns_addr_format(&c->addr, a, sizeof(a));
	snprintf(buf, size, "%s/%u", a, c->prefix);
}

/* Whether the first @prefix bits of @a and @b agree. */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;
	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

bool netns_cidr_contains(const struct netns_cidr *c, const struct netns_addr *a)
{
	return c->addr.family == a->family && prefix_equal(c->addr.bytes, a->bytes, c->prefix);
}

bool netns_cidr_overlap(const struct netns_cidr *a, const struct netns_cidr *b)
{
	if (a->addr.family != b->addr.family)
		return false;
	unsigned shorter = a->prefix < b->prefix ? a->prefix : b->prefix;
	return prefix_equal(a->addr.bytes, b->addr.bytes, shorter);
}

/* The number of host bits; subnets with 64 or more are "unbounded" for a uint64_t index. */
static unsigned host_bits(const struct netns_cidr *c)
{
	return (unsigned)nl_addr_len(c->addr.family) * 8 - c->prefix;
}

int netns_cidr_nth(const struct netns_cidr *c, uint64_t index, struct netns_addr *ret)
{
	unsigned hb = host_bits(c);
	if (hb < 64 && index >> hb)
		return -ERANGE;
	struct netns_addr a = c->addr;
	/* Add @index to the big-endian number, from the last byte; the host bits are zero, so
	 * nothing carries into the prefix. */
	uint64_t carry = index;
	for (size_t i = nl_addr_len(a.family); i-- > 0 && carry;) {
		uint64_t sum = (uint64_t)a.bytes[i] + (carry & 0xff);
		a.bytes[i] = (uint8_t)sum;
		carry = (carry >> 8) + (sum >> 8);
	}
	*ret = a;
	return 0;
}

bool netns_cidr_host_ok(const struct netns_cidr *c, const struct netns_addr *a)
{
	if (!netns_cidr_contains(c, a) || netns_addr_equal(&c->addr, a))
		return false;
	if (c->addr.family != AF_INET)
		return true;
	struct netns_addr bcast;
	if (netns_cidr_nth(c, (UINT64_C(1) << host_bits(c)) - 1, &bcast) < 0)
		return false;
	return !netns_addr_equal(&bcast, a);
}

int netns_ifname_validate(const char *what, const char *name, struct berth_error *err)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > NETNS_IFNAME_MAX)
		return berth_error_set(err, -EINVAL, "%s '%s' must be 1 to %d bytes long (it is %zu)", what,
				       name ? name : "", NETNS_IFNAME_MAX, len);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strcspn(name, "/: \t\n\r\v\f") != len)
		return berth_error_set(err, -EINVAL, "%s '%s' is not a valid interface name", what, name);
	return 0;
}
