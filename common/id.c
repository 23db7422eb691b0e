/* Container id validation. The id becomes a directory name under the state root, so it must
 * not be able to name anything else: no '/', no "." or "..", nothing a shell or a log line would
 * misread. The rule matches runc's so ids containerd generates are always accepted. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "berth/error.h"
#include "berth/util.h"

#define ID_MAX 1024
/* How much of a rejected id goes into the message: enough to recognise it, short enough that
 * the reason still fits in the fixed-size error buffer. */
#define ID_SHOWN 64

static bool id_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '.' || c == '+' || c == '-';
}

/* Copy @id for a message: non-printable bytes become '?' so a hostile id cannot corrupt the
 * terminal or the log, and long ids are cut with "...". */
static void id_for_message(const char *id, char *buf, size_t size)
{
	size_t i, n = 0;

	for (i = 0; id[i] && n + 4 < size; i++)
		buf[n++] = (id[i] >= 0x20 && id[i] < 0x7f) ? id[i] : '?';
	if (id[i]) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
}

int container_id_validate(const char *id, struct berth_error *err)
{
	char shown[ID_SHOWN + 4];
	size_t len, i;

	if (!id || !id[0])
		return berth_error_set(err, -EINVAL, "invalid container id \"\": must be 1-%d characters",
				       ID_MAX);
	id_for_message(id, shown, sizeof(shown));
	len = strnlen(id, ID_MAX + 1);
	if (len > ID_MAX)
		return berth_error_set(err, -EINVAL, "invalid container id \"%s\": must be 1-%d characters",
				       shown, ID_MAX);
	if (id[0] == '.')
		return berth_error_set(err, -EINVAL, "invalid container id \"%s\": must not start with '.'",
				       shown);
	for (i = 0; i < len; i++) {
		if (!id_char_ok(id[i]))
			return berth_error_set(
			    err, -EINVAL, "invalid container id \"%s\": only [A-Za-z0-9_.+-] allowed", shown);
	}
	return 0;
}
