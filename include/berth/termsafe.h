/* Text from a container made safe for the admin's terminal (`berth logs` on a tty).
 *
 * A container's output is the container's to choose, and a terminal acts on what it is sent:
 * escape sequences set titles, write the clipboard (OSC 52), redefine keys, move the cursor to
 * hide lines, answer queries into the terminal's input. term_filter passes text and makes every
 * control visible instead:
 *   - printable ASCII, newline and tab pass; well-formed UTF-8 passes, except the C1 controls
 *     U+0080..U+009F (a UTF-8 terminal may act on U+009B as on ESC [);
 *   - colour is kept: an SGR sequence ESC [ <digits and ;> m passes whole;
 *   - any other C0 control and DEL print as ^X (ESC as ^[, CR as ^M, DEL as ^?), then what
 *     followed prints as text;
 *   - bytes that are not UTF-8 (a stray continuation byte, an overlong form, a surrogate, a
 *     truncated sequence) and the C1 controls print as \xHH per byte.
 * A sequence may span calls (a log is read in pieces); term_filter_end flushes what is pending. */
#ifndef BERTH_TERMSAFE_H
#define BERTH_TERMSAFE_H

#include <stddef.h>

#define TERM_FILTER_SEQ_MAX 32 /* longest SGR sequence kept whole; longer ones are escaped */

struct term_filter {
	unsigned char seq[TERM_FILTER_SEQ_MAX]; /* a pending ESC sequence or UTF-8 character */
	size_t seq_len;
	unsigned char utf8_need; /* continuation bytes still expected (0: not in a character) */
	unsigned char lo, hi;    /* the range of the next continuation byte (RFC 3629) */
};

/* The most term_filter_feed writes for @n bytes in (every byte escaped as \xHH, and the pending
 * bytes of an earlier call). */
#define TERM_FILTER_OUT_MAX(n) (4 * ((n) + TERM_FILTER_SEQ_MAX))

/* Filter @n bytes of @in into @out (room for TERM_FILTER_OUT_MAX(n) bytes); returns the bytes
 * written. */
size_t term_filter_feed(struct term_filter *f, const char *in, size_t n, char *out);

/* The end of the text: what is pending (an unfinished sequence or character) goes out escaped.
 * @out has room for TERM_FILTER_OUT_MAX(0) bytes; returns the bytes written. */
size_t term_filter_end(struct term_filter *f, char *out);

#endif
