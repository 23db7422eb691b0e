/* Image names: NAME[:TAG] as Docker spells them, checked and given a default tag. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "berth/error.h"
#include "internal.h"

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A repository path component: lower-case letters and digits, separated by '.', '_' or '-'. */
static bool path_component_ok(const char *s, size_t n)
{
	if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!lower_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	}
	return true;
}

/* A registry host: letters, digits, '.', '-', and an optional ":port". */
static bool host_component_ok(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t hn = colon ? (size_t)(colon - s) : n;

	if (hn == 0)
		return false;
	for (size_t i = 0; i < hn; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-'))
			return false;
	}
	if (colon) {
		if (colon + 1 == s + n)
			return false;
		for (const char *p = colon + 1; p < s + n; p++) {
			if (*p < '0' || *p > '9')
				return false;
		}
	}
	return true;
}

static bool tag_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > TAG_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || (i > 0 && (c == '.' || c == '-'));
		if (!ok)
			return false;
	}
	return true;
}

static int check_name(const char *name, size_t len, struct berth_error *err, const char *ref)
{
	size_t off = 0;
	bool first = true;

	if (len == 0)
		return berth_error_set(err, -EINVAL, "invalid image name \"%s\": the name is empty", ref);
	if (len > NAME_MAX_LEN)
		return berth_error_set(err, -EINVAL, "invalid image name \"%.64s...\": longer than %d bytes",
				       ref, NAME_MAX_LEN);
	while (off <= len) {
		const char *c = name + off;
		const char *slash = memchr(c, '/', len - off);
		size_t n = slash ? (size_t)(slash - c) : len - off;
		/* The first of several components is a registry when it looks like a host. */
		bool host =
		    first && slash &&
		    (memchr(c, '.', n) || memchr(c, ':', n) || (n == 9 && !memcmp(c, "localhost", 9)));

		if (!(host ? host_component_ok(c, n) : path_component_ok(c, n)))
			return berth_error_set(
			    err, -EINVAL,
			    "invalid image name \"%s\": \"%.*s\" must be lower-case letters and digits "
			    "separated by '.', '_' or '-'",
			    ref, (int)(n > 64 ? 64 : n), c);
		first = false;
		off += n + 1;
		if (!slash)
			break;
	}
	return 0;
}

int image_ref_normalize(const char *ref, char *out, size_t size, struct berth_error *err)
{
	const char *slash, *colon;
	size_t name_len;
	const char *tag = "latest";

	if (!ref)
		return berth_error_set(err, -EINVAL, "no image name given");
	if (strchr(ref, '@'))
		return berth_error_set(err, -EINVAL,
				       "invalid image name \"%s\": digest references are not names", ref);
	slash = strrchr(ref, '/');
	colon = strrchr(slash ? slash : ref, ':');
	name_len = colon ? (size_t)(colon - ref) : strlen(ref);
	if (colon) {
		tag = colon + 1;
		if (!tag_ok(tag))
			return berth_error_set(
			    err, -EINVAL,
			    "invalid image tag \"%s\": expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag);
	}
	int r = check_name(ref, name_len, err, ref);
	if (r < 0)
		return r;
	if (snprintf(out, size, "%.*s:%s", (int)name_len, ref, tag) >= (int)size)
		return berth_error_set(err, -ENAMETOOLONG, "image name \"%s\" is too long", ref);
	return 0;
}
