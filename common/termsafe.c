/* Container text made safe for a terminal (see termsafe.h). */
#include <stdbool.h>

#include "berth/termsafe.h"

#define ESC 0x1b

static char *put_hex(char *o, unsigned char b)
{
	static const char digits[] = "0123456789abcdef";
	*o++ = '\\';
	*o++ = 'x';
	*o++ = digits[b >> 4];
	*o++ = digits[b & 15];
	return o;
}

/* A pending UTF-8 character that did not complete: each of its bytes as \xHH. */
static char *flush_utf8(struct term_filter *f, char *o)
{
	for (size_t i = 0; i < f->seq_len; i++)
		o = put_hex(o, f->seq[i]);
	f->seq_len = 0;
	f->utf8_need = 0;
	return o;
}

/* A pending ESC sequence that is not SGR: ESC made visible, the rest (ASCII '[', digits, ';')
 * as text. */
static char *flush_esc(struct term_filter *f, char *o)
{
	*o++ = '^';
	*o++ = '[';
	for (size_t i = 1; i < f->seq_len; i++)
		*o++ = (char)f->seq[i];
	f->seq_len = 0;
	return o;
}

/* The first byte of a UTF-8 character: how many continuation bytes follow, and the range of
 * the first of them (which excludes overlong forms, surrogates and code points past U+10FFFF).
 * False for a byte that cannot start a character. */
static bool utf8_lead(struct term_filter *f, unsigned char b)
{
	f->lo = 0x80;
	f->hi = 0xbf;
	if (b >= 0xc2 && b <= 0xdf)
		f->utf8_need = 1;
	else if (b >= 0xe0 && b <= 0xef)
		f->utf8_need = 2;
	else if (b >= 0xf0 && b <= 0xf4)
		f->utf8_need = 3;
	else
		return false;
	if (b == 0xe0)
		f->lo = 0xa0;
	else if (b == 0xed)
		f->hi = 0x9f;
	else if (b == 0xf0)
		f->lo = 0x90;
	else if (b == 0xf4)
		f->hi = 0x8f;
	return true;
}

/* A byte outside any sequence. */
static char *plain(struct term_filter *f, unsigned char b, char *o)
{
	if (b == '\n' || b == '\t' || (b >= 0x20 && b < 0x7f)) {
		*o++ = (char)b;
	} else if (b == ESC) {
		f->seq[0] = b;
		f->seq_len = 1;
	} else if (b < 0x20 || b == 0x7f) {
		*o++ = '^';
		*o++ = (char)(b ^ 0x40);
	} else if (utf8_lead(f, b)) {
		f->seq[0] = b;
		f->seq_len = 1;
	} else {
		o = put_hex(o, b);
	}
	return o;
}

/* The next byte of a UTF-8 character; false when @b breaks it (the caller flushes). */
static bool utf8_more(struct term_filter *f, unsigned char b, char **o)
{
	if (b < f->lo || b > f->hi)
		return false;
	f->seq[f->seq_len++] = b;
	f->lo = 0x80;
	f->hi = 0xbf;
	if (--f->utf8_need > 0)
		return true;
	/* U+0080..U+009F, the C1 controls, are C2 80..C2 9F */
	bool c1 = f->seq_len == 2 && f->seq[0] == 0xc2 && f->seq[1] <= 0x9f;
	if (c1) {
		*o = flush_utf8(f, *o);
		return true;
	}
	for (size_t i = 0; i < f->seq_len; i++)
		*(*o)++ = (char)f->seq[i];
	f->seq_len = 0;
	return true;
}

/* The next byte of an ESC sequence; false when @b ends it as something else than SGR (the
 * caller flushes). */
static bool esc_more(struct term_filter *f, unsigned char b, char **o)
{
	if (f->seq_len == 1)
		return b == '[' ? (f->seq[f->seq_len++] = b, true) : false;
	if (b == 'm') {
		for (size_t i = 0; i < f->seq_len; i++)
			*(*o)++ = (char)f->seq[i];
		*(*o)++ = 'm';
		f->seq_len = 0;
		return true;
	}
	if (((b >= '0' && b <= '9') || b == ';') && f->seq_len < TERM_FILTER_SEQ_MAX) {
		f->seq[f->seq_len++] = b;
		return true;
	}
	return false;
}

size_t term_filter_feed(struct term_filter *f, const char *in, size_t n, char *out)
{
	char *o = out;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)in[i];
		if (f->utf8_need > 0) {
			if (utf8_more(f, b, &o))
				continue;
			o = flush_utf8(f, o);
		} else if (f->seq_len > 0) {
			if (esc_more(f, b, &o))
				continue;
			o = flush_esc(f, o);
		}
		o = plain(f, b, o);
	}
	return (size_t)(o - out);
}

size_t term_filter_end(struct term_filter *f, char *out)
{
	char *o = out;
	if (f->utf8_need > 0)
		o = flush_utf8(f, o);
	else if (f->seq_len > 0)
		o = flush_esc(f, o);
	return (size_t)(o - out);
}
