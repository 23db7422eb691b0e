/* JSON writing for oci-specs: a thin layer over yajl_gen with a sticky error, and an indenter
 * that lays compact output out like Go's json.MarshalIndent, which is what runc's users and
 * scripts are used to reading. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/oci.h"
#include "json_internal.h"

int jgen_init(struct jgen *j)
{
	j->r = 0;
	j->g = yajl_gen_alloc(NULL);
	if (!j->g)
		return -ENOMEM;
	/* A string that is not UTF-8 cannot be represented in JSON; failing here beats writing a
	 * state file that cannot be read back. */
	yajl_gen_config(j->g, yajl_gen_validate_utf8, 1);
	return 0;
}

void jgen_done(struct jgen *j)
{
	if (j->g)
		yajl_gen_free(j->g);
	j->g = NULL;
}

static void check(struct jgen *j, yajl_gen_status st)
{
	if (st == yajl_gen_status_ok || j->r < 0)
		return;
	j->r = st == yajl_gen_invalid_string ? -EILSEQ : -EINVAL;
}

void jg_open(struct jgen *j)
{
	if (j->r == 0)
		check(j, yajl_gen_map_open(j->g));
}

void jg_close(struct jgen *j)
{
	if (j->r == 0)
		check(j, yajl_gen_map_close(j->g));
}

void jg_aopen(struct jgen *j)
{
	if (j->r == 0)
		check(j, yajl_gen_array_open(j->g));
}

void jg_aclose(struct jgen *j)
{
	if (j->r == 0)
		check(j, yajl_gen_array_close(j->g));
}

void jg_str(struct jgen *j, const char *s)
{
	if (!s)
		s = "";
	if (j->r == 0)
		check(j, yajl_gen_string(j->g, (const unsigned char *)s, strlen(s)));
}

void jg_key(struct jgen *j, const char *key)
{
	jg_str(j, key);
}

void jg_int(struct jgen *j, long long v)
{
	if (j->r == 0)
		check(j, yajl_gen_integer(j->g, v));
}

void jg_uint(struct jgen *j, uint64_t v)
{
	char buf[32];
	int n;

	/* yajl_gen_integer() takes a long long; RLIM_INFINITY and friends do not fit. */
	n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	if (j->r == 0)
		check(j, yajl_gen_number(j->g, buf, (size_t)n));
}

void jg_bool(struct jgen *j, bool v)
{
	if (j->r == 0)
		check(j, yajl_gen_bool(j->g, v));
}

void jg_kstr(struct jgen *j, const char *key, const char *s)
{
	jg_key(j, key);
	jg_str(j, s);
}

void jg_kint(struct jgen *j, const char *key, long long v)
{
	jg_key(j, key);
	jg_int(j, v);
}

void jg_kuint(struct jgen *j, const char *key, uint64_t v)
{
	jg_key(j, key);
	jg_uint(j, v);
}

void jg_kbool(struct jgen *j, const char *key, bool v)
{
	jg_key(j, key);
	jg_bool(j, v);
}

void jg_kstrv(struct jgen *j, const char *key, char *const *strv)
{
	jg_key(j, key);
	jg_aopen(j);
	for (; strv && *strv; strv++)
		jg_str(j, *strv);
	jg_aclose(j);
}

void jg_kstrs(struct jgen *j, const char *key, const char *const *strs, size_t n)
{
	jg_key(j, key);
	jg_aopen(j);
	for (size_t i = 0; i < n; i++)
		jg_str(j, strs[i]);
	jg_aclose(j);
}

void jg_kkv(struct jgen *j, const char *key, const struct oci_kv *kv, size_t n)
{
	jg_key(j, key);
	jg_open(j);
	for (size_t i = 0; i < n; i++)
		jg_kstr(j, kv[i].key, kv[i].value);
	jg_close(j);
}

static void newline(FILE *f, const char *indent, int depth)
{
	fputc('\n', f);
	for (int i = 0; i < depth; i++)
		fputs(indent, f);
}

/* Compact yajl output has no whitespace outside strings, so layout only has to watch for
 * string boundaries (and escaped quotes inside them). */
static void indent_into(FILE *f, const char *in, size_t len, const char *indent)
{
	bool in_str = false, esc = false;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = in[i];

		if (in_str) {
			fputc(ch, f);
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		switch (ch) {
		case '"':
			in_str = true;
			fputc(ch, f);
			break;
		case '{':
		case '[':
			fputc(ch, f);
			if (i + 1 < len && (in[i + 1] == '}' || in[i + 1] == ']')) {
				fputc(in[++i], f);
				break;
			}
			newline(f, indent, ++depth);
			break;
		case '}':
		case ']':
			newline(f, indent, --depth);
			fputc(ch, f);
			break;
		case ',':
			fputc(ch, f);
			newline(f, indent, depth);
			break;
		case ':':
			fputs(": ", f);
			break;
		default:
			fputc(ch, f);
		}
	}
}

static int reindent(const char *in, size_t len, const char *indent, char **ret, size_t *ret_len)
{
	char *out = NULL;
	size_t out_len = 0;
	FILE *f;

	f = open_memstream(&out, &out_len);
	if (!f)
		return -ENOMEM;
	indent_into(f, in, len, indent);
	if (fclose(f) != 0) {
		free(out);
		return -ENOMEM;
	}
	*ret = out;
	*ret_len = out_len;
	return 0;
}

int jgen_finish(struct jgen *j, const char *indent, char **ret_json, size_t *ret_len)
{
	const unsigned char *buf;
	size_t len = 0, out_len = 0;
	char *out = NULL;
	int r = j->r;

	if (r == 0 && yajl_gen_get_buf(j->g, &buf, &len) != yajl_gen_status_ok)
		r = -EINVAL;
	if (r == 0 && indent) {
		r = reindent((const char *)buf, len, indent, &out, &out_len);
	} else if (r == 0) {
		out = strndup((const char *)buf, len);
		out_len = len;
		if (!out)
			r = -ENOMEM;
	}
	jgen_done(j);
	if (r < 0)
		return r;
	*ret_json = out;
	if (ret_len)
		*ret_len = out_len;
	return 0;
}

void jg_process_limits(struct jgen *j, const char *const *caps, size_t n)
{
	jg_key(j, "capabilities");
	jg_open(j);
	jg_kstrs(j, "bounding", caps, n);
	jg_kstrs(j, "effective", caps, n);
	jg_kstrs(j, "permitted", caps, n);
	jg_close(j);
	jg_key(j, "rlimits");
	jg_aopen(j);
	jg_open(j);
	jg_kstr(j, "type", "RLIMIT_NOFILE");
	jg_kint(j, "hard", 1024);
	jg_kint(j, "soft", 1024);
	jg_close(j);
	jg_aclose(j);
	jg_kbool(j, "noNewPrivileges", true);
}
