/* JSON reading for oci-specs: strict document parsing, the path builder behind every error
 * message, and the typed getters the config, process and record parsers are built from. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "berth/error.h"
#include "berth/oci.h"
#include "json_internal.h"

/* ---- documents ---- */

/* Documents are parsed in one pass of yajl's event parser whose callbacks build the yajl_tree
 * nodes themselves (yajl_tree_free() releases them), so that parsing can enforce what
 * yajl_tree_parse() cannot: a depth bound (yajl_tree_free() recurses, so a document of a million
 * '[' would overflow the stack), no NUL inside strings (the tree hands out C strings, which would
 * silently cut "/bin/sh\u0000x" short), no comments (not JSON), and the byte offset of a syntax
 * error. It also avoids yajl_tree_parse()'s copy of the document, its second pass and its
 * realloc for every member: arrays and objects grow by doubling. */
/* Every node, string and member array of one document comes from one arena: a chain of chunks
 * whose first holds the root node at its start, so json_doc_free() finds the chain from the root
 * and frees it in a few calls instead of one free() per value. */
struct chunk {
	struct chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

struct builder {
	struct chunk *first, *cur;
	size_t hint; /* size of the first chunk */
	yajl_val root;
	yajl_val open[JSON_DEPTH_MAX]; /* the arrays and objects not closed yet */
	size_t cap[JSON_DEPTH_MAX];    /* their allocated member slots */
	int depth;
	char *key; /* an object member's key until its value arrives */
	const char *fail;
};

static void chunks_free(struct chunk *c)
{
	while (c) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
}

void json_doc_free(yajl_val root)
{
	if (root)
		chunks_free((struct chunk *)((unsigned char *)root - offsetof(struct chunk, data)));
}

static void *arena_alloc(struct builder *b, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (!b->cur || b->cur->size - b->cur->used < size) {
		size_t n = b->cur ? b->cur->size * 2 : b->hint;
		if (n < size)
			n = size;
		struct chunk *c = malloc(sizeof(*c) + n);
		if (!c) {
			b->fail = "out of memory";
			return NULL;
		}
		*c = (struct chunk){.size = n};
		if (b->cur)
			b->cur->next = c;
		else
			b->first = c;
		b->cur = c;
	}
	void *p = b->cur->data + b->cur->used;
	b->cur->used += size;
	return p;
}

static yajl_val node_new(struct builder *b, yajl_type type)
{
	yajl_val v = arena_alloc(b, sizeof(*v));
	if (v) {
		memset(v, 0, sizeof(*v));
		v->type = type;
	}
	return v;
}

/* Make room for one more member in @*arr (@len used of @*cap slots of @size bytes). */
static bool grow(struct builder *b, void **arr, size_t *cap, size_t len, size_t size)
{
	if (len < *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 8;
	void *p = arena_alloc(b, n * size);
	if (!p)
		return false;
	if (len)
		memcpy(p, *arr, len * size);
	*arr = p;
	*cap = n;
	return true;
}

/* Attach @v to the innermost open container (or make it the root). */
static int attach(struct builder *b, yajl_val v)
{
	if (!v)
		return 0;
	if (b->depth == 0) {
		b->root = v;
		return 1;
	}
	yajl_val parent = b->open[b->depth - 1];
	size_t *cap = &b->cap[b->depth - 1];
	if (parent->type == yajl_t_array) {
		if (!grow(b, (void **)&parent->u.array.values, cap, parent->u.array.len, sizeof(yajl_val)))
			return 0;
		parent->u.array.values[parent->u.array.len++] = v;
		return 1;
	}
	/* keys and values grow together: both arrays always have *cap slots */
	size_t kcap = *cap;
	if (!grow(b, (void **)&parent->u.object.keys, &kcap, parent->u.object.len, sizeof(char *)) ||
	    !grow(b, (void **)&parent->u.object.values, cap, parent->u.object.len, sizeof(yajl_val)))
		return 0;
	parent->u.object.keys[parent->u.object.len] = b->key;
	parent->u.object.values[parent->u.object.len++] = v;
	b->key = NULL;
	return 1;
}

static int b_null(void *ctx)
{
	struct builder *b = ctx;
	return attach(b, node_new(b, yajl_t_null));
}

static int b_bool(void *ctx, int value)
{
	struct builder *b = ctx;
	return attach(b, node_new(b, value ? yajl_t_true : yajl_t_false));
}

static char *copy_text(struct builder *b, const unsigned char *s, size_t len)
{
	char *t = arena_alloc(b, len + 1);
	if (!t)
		return NULL;
	memcpy(t, s, len);
	t[len] = '\0';
	return t;
}

/* As yajl_tree: the text is kept; an integer or a double where it parses as one. */
static int b_number(void *ctx, const char *s, size_t len)
{
	struct builder *b = ctx;
	yajl_val v = node_new(b, yajl_t_number);
	if (!v || !(v->u.number.r = copy_text(b, (const unsigned char *)s, len)))
		return 0;
	char *end;
	errno = 0;
	v->u.number.i = strtoll(v->u.number.r, &end, 10);
	if (errno == 0 && end != v->u.number.r && *end == '\0') {
		/* An integer: its double is the same value rounded, as strtod would give it. */
		v->u.number.d = (double)v->u.number.i;
		v->u.number.flags = YAJL_NUMBER_INT_VALID | YAJL_NUMBER_DOUBLE_VALID;
		return attach(b, v);
	}
	errno = 0;
	v->u.number.d = strtod(v->u.number.r, &end);
	if (errno == 0 && *end == '\0')
		v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
	return attach(b, v);
}

static int b_string(void *ctx, const unsigned char *s, size_t len)
{
	struct builder *b = ctx;
	if (memchr(s, '\0', len)) {
		b->fail = "strings must not contain \\u0000";
		return 0;
	}
	yajl_val v = node_new(b, yajl_t_string);
	if (!v || !(v->u.string = copy_text(b, s, len)))
		return 0;
	return attach(b, v);
}

static int b_key(void *ctx, const unsigned char *s, size_t len)
{
	struct builder *b = ctx;
	if (memchr(s, '\0', len)) {
		b->fail = "strings must not contain \\u0000";
		return 0;
	}
	b->key = copy_text(b, s, len);
	return b->key != NULL;
}

static int b_open(struct builder *b, yajl_type type)
{
	if (b->depth >= JSON_DEPTH_MAX) {
		b->fail = "nested too deeply";
		return 0;
	}
	yajl_val v = node_new(b, type);
	if (!attach(b, v))
		return 0;
	b->open[b->depth] = v;
	b->cap[b->depth++] = 0;
	return 1;
}

static int b_start_map(void *ctx)
{
	return b_open(ctx, yajl_t_object);
}

static int b_start_array(void *ctx)
{
	return b_open(ctx, yajl_t_array);
}

static int b_close(void *ctx)
{
	struct builder *b = ctx;
	b->depth--;
	return 1;
}

static const yajl_callbacks build_callbacks = {
    .yajl_null = b_null,
    .yajl_boolean = b_bool,
    .yajl_number = b_number,
    .yajl_string = b_string,
    .yajl_start_map = b_start_map,
    .yajl_map_key = b_key,
    .yajl_end_map = b_close,
    .yajl_start_array = b_start_array,
    .yajl_end_array = b_close,
};

/* Copy yajl's message up to its first line break; yajl ends it with "\n". */
static void first_line(char *buf, size_t size, const char *msg)
{
	size_t n = strcspn(msg, "\r\n");

	if (n >= size)
		n = size - 1;
	memcpy(buf, msg, n);
	buf[n] = '\0';
}

static int syntax_error(const char *doc, const char *json, size_t off, const char *reason,
			struct berth_error *err)
{
	size_t line = 1, col = 1;

	for (size_t i = 0; i < off; i++) {
		if (json[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return berth_error_set(err, -EINVAL, "%s: invalid JSON: %s (line %zu, column %zu)", doc, reason, line,
			       col);
}

int json_parse_doc(const char *doc, const char *json, size_t len, yajl_val *ret_tree, struct berth_error *err)
{
	/* A document's tree takes a few times its text; more chunks follow when it does not fit. */
	struct builder b = {.hint = len < 1024 ? 4096 : 4 * len};
	char reason[160];
	size_t off = len;

	yajl_handle h = yajl_alloc(&build_callbacks, NULL, &b);
	if (!h)
		return berth_error_set(err, -ENOMEM, "%s: out of memory", doc);
	yajl_status st = yajl_parse(h, (const unsigned char *)json, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	else
		off = yajl_get_bytes_consumed(h);
	if (st == yajl_status_ok && b.root) {
		yajl_free(h);
		*ret_tree = b.root;
		return 0;
	}
	if (b.fail) {
		snprintf(reason, sizeof(reason), "%s", b.fail);
	} else {
		unsigned char *msg = yajl_get_error(h, 0, NULL, 0);

		first_line(reason, sizeof(reason), msg ? (const char *)msg : "parse error");
		if (msg)
			yajl_free_error(h, msg);
	}
	yajl_free(h);
	chunks_free(b.first);
	if (b.fail && strcmp(b.fail, "out of memory") == 0)
		return berth_error_set(err, -ENOMEM, "%s: out of memory", doc);
	return syntax_error(doc, json, off, reason, err);
}

/* ---- paths ---- */

void jctx_init(struct jctx *c, const char *doc, struct berth_error *err)
{
	memset(c, 0, sizeof(*c));
	c->err = err;
	c->doc = doc;
}

static void path_append(struct jctx *c, const char *s)
{
	size_t n = strlen(s);

	if (c->truncated)
		return;
	if (c->len + n + 4 > JSON_PATH_MAX) {
		c->cut = c->len;
		memcpy(c->path + c->len, "...", 4);
		c->len += 3;
		c->truncated = true;
		return;
	}
	memcpy(c->path + c->len, s, n + 1);
	c->len += n;
}

static bool plain_key(const char *key)
{
	if (!*key)
		return false;
	for (const char *p = key; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-'))
			return false;
	}
	return true;
}

size_t jpath_key(struct jctx *c, const char *key)
{
	size_t mark = c->len;
	char buf[JSON_PATH_MAX];

	if (plain_key(key)) {
		if (c->len)
			path_append(c, ".");
		path_append(c, key);
		return mark;
	}
	/* Map keys such as sysctl names contain dots; bracket them so the path stays readable. */
	path_append(c, "[");
	path_append(c, jquote(buf, sizeof(buf), key));
	path_append(c, "]");
	return mark;
}

size_t jpath_index(struct jctx *c, size_t index)
{
	size_t mark = c->len;
	char buf[32];

	snprintf(buf, sizeof(buf), "[%zu]", index);
	path_append(c, buf);
	return mark;
}

void jpath_pop(struct jctx *c, size_t mark)
{
	c->len = mark;
	c->path[mark] = '\0';
	if (mark <= c->cut)
		c->truncated = false;
}

static int vfail(struct jctx *c, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static int vfail(struct jctx *c, const char *fmt, va_list ap)
{
	char msg[BERTH_ERROR_MSG_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	return berth_error_set(c->err, -EINVAL, "%s: %s", c->len ? c->path : c->doc, msg);
}

int jfail(struct jctx *c, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(c, fmt, ap);
	va_end(ap);
	return r;
}

int jfail_at(struct jctx *c, const char *key, const char *fmt, ...)
{
	size_t mark = jpath_key(c, key);
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(c, fmt, ap);
	va_end(ap);
	jpath_pop(c, mark);
	return r;
}

int jfail_in(struct jctx *c, const char *subpath, const char *fmt, ...)
{
	size_t mark = c->len;
	va_list ap;
	int r;

	if (c->len)
		path_append(c, ".");
	path_append(c, subpath);
	va_start(ap, fmt);
	r = vfail(c, fmt, ap);
	va_end(ap);
	jpath_pop(c, mark);
	return r;
}

const char *jquote(char *buf, size_t size, const char *s)
{
	size_t o = 0, limit = size < JQUOTE_MAX ? size : JQUOTE_MAX;
	size_t i;

	buf[o++] = '"';
	for (i = 0; s[i] && o + 8 < limit; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			buf[o++] = '\\';
		buf[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (s[i]) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static int nomem(struct jctx *c)
{
	return berth_error_set(c->err, -ENOMEM, "%s: out of memory", c->doc);
}

/* ---- scalar values ---- */

yajl_val jfield(yajl_val obj, const char *key)
{
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	for (size_t i = obj->u.object.len; i-- > 0;) {
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return YAJL_IS_NULL(obj->u.object.values[i]) ? NULL : obj->u.object.values[i];
	}
	return NULL;
}

int jval_string(struct jctx *c, yajl_val v, char **ret)
{
	char *s;

	if (!YAJL_IS_STRING(v))
		return jfail(c, "expected a string");
	s = strdup(v->u.string);
	if (!s)
		return nomem(c);
	*ret = s;
	return 0;
}

static bool integer_text(const char *s, bool allow_minus)
{
	if (allow_minus && *s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

int jval_u64(struct jctx *c, yajl_val v, uint64_t max, const char *what, uint64_t *ret)
{
	unsigned long long x;

	if (!YAJL_IS_NUMBER(v))
		return jfail(c, "expected %s", what);
	if (YAJL_IS_INTEGER(v)) {
		if (v->u.number.i < 0)
			return jfail(c, "expected %s", what);
		x = (unsigned long long)v->u.number.i;
	} else {
		/* yajl keeps only integers that fit a long long; larger ones, such as RLIM_INFINITY
		 * (18446744073709551615), are read back from the number's text. */
		if (!integer_text(v->u.number.r, false))
			return jfail(c, "expected %s", what);
		errno = 0;
		x = strtoull(v->u.number.r, NULL, 10);
		if (errno)
			return jfail(c, "expected %s", what);
	}
	if (x > max)
		return jfail(c, "expected %s", what);
	*ret = x;
	return 0;
}

int jval_i64(struct jctx *c, yajl_val v, int64_t min, int64_t max, const char *what, int64_t *ret)
{
	long long x;

	if (!YAJL_IS_NUMBER(v))
		return jfail(c, "expected %s", what);
	if (YAJL_IS_INTEGER(v)) {
		x = v->u.number.i;
	} else {
		/* yajl's own parser refuses LLONG_MIN; strtoll takes it. */
		if (!integer_text(v->u.number.r, true))
			return jfail(c, "expected %s", what);
		errno = 0;
		x = strtoll(v->u.number.r, NULL, 10);
		if (errno)
			return jfail(c, "expected %s", what);
	}
	if (x < min || x > max)
		return jfail(c, "expected %s", what);
	*ret = x;
	return 0;
}

/* ---- typed fields ---- */

int jget_string(struct jctx *c, yajl_val obj, const char *key, char **ret)
{
	yajl_val v = jfield(obj, key);
	size_t mark;
	char *s = NULL;
	int r;

	if (!v)
		return 0;
	mark = jpath_key(c, key);
	r = jval_string(c, v, &s);
	jpath_pop(c, mark);
	if (r < 0)
		return r;
	free(*ret);
	*ret = s;
	return 0;
}

int jget_bool(struct jctx *c, yajl_val obj, const char *key, bool *ret, bool *ret_has)
{
	yajl_val v = jfield(obj, key);

	if (!v)
		return 0;
	if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
		return jfail_at(c, key, "expected true or false");
	*ret = YAJL_IS_TRUE(v);
	if (ret_has)
		*ret_has = true;
	return 0;
}

static int get_uint(struct jctx *c, yajl_val obj, const char *key, uint64_t max, const char *what,
		    uint64_t *ret, bool *ret_has)
{
	yajl_val v = jfield(obj, key);
	size_t mark;
	int r;

	if (!v)
		return 0;
	mark = jpath_key(c, key);
	r = jval_u64(c, v, max, what, ret);
	jpath_pop(c, mark);
	if (r == 0 && ret_has)
		*ret_has = true;
	return r;
}

int jget_int_range(struct jctx *c, yajl_val obj, const char *key, int64_t min, int64_t max, const char *what,
		   int64_t *ret, bool *ret_has)
{
	yajl_val v = jfield(obj, key);
	size_t mark;
	int r;

	if (!v)
		return 0;
	mark = jpath_key(c, key);
	r = jval_i64(c, v, min, max, what, ret);
	jpath_pop(c, mark);
	if (r == 0 && ret_has)
		*ret_has = true;
	return r;
}

int jget_u64(struct jctx *c, yajl_val obj, const char *key, uint64_t *ret, bool *ret_has)
{
	return get_uint(c, obj, key, UINT64_MAX, "an unsigned 64-bit integer", ret, ret_has);
}

int jget_i64(struct jctx *c, yajl_val obj, const char *key, int64_t *ret, bool *ret_has)
{
	return jget_int_range(c, obj, key, INT64_MIN, INT64_MAX, "a 64-bit integer", ret, ret_has);
}

int jget_u32(struct jctx *c, yajl_val obj, const char *key, uint32_t *ret, bool *ret_has)
{
	uint64_t x = 0;
	bool has = false;
	int r = get_uint(c, obj, key, UINT32_MAX, "an unsigned 32-bit integer", &x, &has);

	if (r == 0 && has) {
		*ret = (uint32_t)x;
		if (ret_has)
			*ret_has = true;
	}
	return r;
}

int jget_i32(struct jctx *c, yajl_val obj, const char *key, int32_t *ret, bool *ret_has)
{
	int64_t x = 0;
	bool has = false;
	int r = jget_int_range(c, obj, key, INT32_MIN, INT32_MAX, "a 32-bit integer", &x, &has);

	if (r == 0 && has) {
		*ret = (int32_t)x;
		if (ret_has)
			*ret_has = true;
	}
	return r;
}

int jget_u16(struct jctx *c, yajl_val obj, const char *key, uint16_t *ret, bool *ret_has)
{
	uint64_t x = 0;
	bool has = false;
	int r = get_uint(c, obj, key, UINT16_MAX, "an unsigned 16-bit integer", &x, &has);

	if (r == 0 && has) {
		*ret = (uint16_t)x;
		if (ret_has)
			*ret_has = true;
	}
	return r;
}

/* ---- containers ---- */

int jget_object(struct jctx *c, yajl_val obj, const char *key, yajl_val *ret)
{
	yajl_val v = jfield(obj, key);

	if (v && !YAJL_IS_OBJECT(v))
		return jfail_at(c, key, "expected an object");
	*ret = v;
	return 0;
}

int jget_array(struct jctx *c, yajl_val obj, const char *key, yajl_val *ret)
{
	yajl_val v = jfield(obj, key);

	if (v && !YAJL_IS_ARRAY(v))
		return jfail_at(c, key, "expected an array");
	if (v && v->u.array.len > JSON_ENTRIES_MAX)
		return jfail_at(c, key, "too many entries (at most %d)", JSON_ENTRIES_MAX);
	*ret = v;
	return 0;
}

static int strv_from_array(struct jctx *c, yajl_val v, char ***ret)
{
	size_t n = v->u.array.len;
	char **strv;
	int r = 0;

	strv = calloc(n + 1, sizeof(char *));
	if (!strv)
		return nomem(c);
	for (size_t i = 0; i < n && r == 0; i++) {
		size_t mark = jpath_index(c, i);

		r = jval_string(c, v->u.array.values[i], &strv[i]);
		jpath_pop(c, mark);
	}
	if (r < 0) {
		strv_free(strv);
		return r;
	}
	*ret = strv;
	return 0;
}

int jget_strv(struct jctx *c, yajl_val obj, const char *key, char ***ret)
{
	yajl_val v = jfield(obj, key);
	char **strv = NULL;
	size_t mark;
	int r;

	if (!v)
		return 0;
	if (!YAJL_IS_ARRAY(v))
		return jfail_at(c, key, "expected an array of strings");
	if (v->u.array.len > JSON_ENTRIES_MAX)
		return jfail_at(c, key, "too many entries (at most %d)", JSON_ENTRIES_MAX);
	mark = jpath_key(c, key);
	r = strv_from_array(c, v, &strv);
	jpath_pop(c, mark);
	if (r < 0)
		return r;
	strv_free(*ret);
	*ret = strv;
	return 0;
}

int jget_with(struct jctx *c, yajl_val obj, const char *key, jparse_fn fn, void *out, bool *ret_has)
{
	yajl_val v;
	size_t mark;
	int r;

	r = jget_object(c, obj, key, &v);
	if (r < 0 || !v)
		return r;
	mark = jpath_key(c, key);
	r = fn(c, v, out);
	jpath_pop(c, mark);
	if (r == 0 && ret_has)
		*ret_has = true;
	return r;
}

int jget_array_of(struct jctx *c, yajl_val obj, const char *key, size_t elem_size, jparse_fn fn, void **ret,
		  size_t *ret_n)
{
	yajl_val v;
	char *arr;
	size_t n, mark;
	int r;

	r = jget_array(c, obj, key, &v);
	if (r < 0 || !v || v->u.array.len == 0)
		return r;
	n = v->u.array.len;
	arr = calloc(n, elem_size);
	if (!arr)
		return nomem(c);
	*ret = arr;
	*ret_n = n;
	mark = jpath_key(c, key);
	for (size_t i = 0; i < n && r == 0; i++) {
		size_t imark = jpath_index(c, i);
		yajl_val e = v->u.array.values[i];

		r = YAJL_IS_OBJECT(e) ? fn(c, e, arr + i * elem_size) : jfail(c, "expected an object");
		jpath_pop(c, imark);
	}
	jpath_pop(c, mark);
	return r;
}

struct member_key {
	const char *key;
	size_t index;
};

static int member_key_cmp(const void *a, const void *b)
{
	const struct member_key *x = a, *y = b;
	int r = strcmp(x->key, y->key);
	return r ? r : (x->index > y->index) - (x->index < y->index);
}

/* The members of object @v to read as a map: the last of each key, as Go's encoding/json keeps
 * (a repeated sysctl or annotation is one entry, not two), in document order. *ret_keep
 * malloc'd (NULL when out of memory); returns how many. O(n log n): maps may be large. */
static size_t last_of_each_key(yajl_val v, size_t **ret_keep)
{
	size_t n = v->u.object.len, k = 0;
	struct member_key *m = malloc(n * sizeof(*m));
	bool *last = calloc(n, sizeof(*last));
	size_t *keep = malloc(n * sizeof(*keep));
	*ret_keep = NULL;
	if (m && last && keep) {
		for (size_t i = 0; i < n; i++)
			m[i] = (struct member_key){v->u.object.keys[i], i};
		qsort(m, n, sizeof(*m), member_key_cmp);
		for (size_t i = 0; i < n; i++)
			if (i + 1 == n || strcmp(m[i].key, m[i + 1].key) != 0)
				last[m[i].index] = true;
		for (size_t i = 0; i < n; i++)
			if (last[i])
				keep[k++] = i;
		*ret_keep = keep;
		keep = NULL;
	}
	free(m);
	free(last);
	free(keep);
	return k;
}

int jget_map_of(struct jctx *c, yajl_val obj, const char *key, size_t elem_size, jmap_fn fn, void **ret,
		size_t *ret_n)
{
	yajl_val v;
	char *arr;
	size_t n, mark;
	int r;

	r = jget_object(c, obj, key, &v);
	if (r < 0 || !v || v->u.object.len == 0)
		return r;
	if (v->u.object.len > JSON_ENTRIES_MAX)
		return jfail_at(c, key, "too many entries (at most %d)", JSON_ENTRIES_MAX);
	_cleanup_free_ size_t *keep = NULL;
	n = last_of_each_key(v, &keep);
	if (!keep)
		return nomem(c);
	arr = calloc(n, elem_size);
	if (!arr)
		return nomem(c);
	*ret = arr;
	*ret_n = n;
	mark = jpath_key(c, key);
	for (size_t k = 0; k < n && r == 0; k++) {
		size_t i = keep[k], kmark = jpath_key(c, v->u.object.keys[i]);

		r = fn(c, v->u.object.keys[i], v->u.object.values[i], arr + k * elem_size);
		jpath_pop(c, kmark);
	}
	jpath_pop(c, mark);
	return r;
}

static int parse_kv(struct jctx *c, const char *key, yajl_val v, void *out)
{
	struct oci_kv *kv = out;

	kv->key = strdup(key);
	if (!kv->key)
		return nomem(c);
	return jval_string(c, v, &kv->value);
}

int jget_kv_map(struct jctx *c, yajl_val obj, const char *key, struct oci_kv **ret, size_t *ret_n)
{
	return JGET_MAP_OF(c, obj, key, parse_kv, ret, ret_n);
}
