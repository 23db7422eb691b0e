/* Signal names and numbers, for `kill` and for messages. Accepts what kill(1), runc and crun
 * accept: a number, a name with or without "SIG" in any case, and real-time signals relative to
 * RTMIN/RTMAX. Only libc; no allocation, so it is usable anywhere. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "berth/cleanup.h"
#include "berth/util.h"

/* The kernel's signal numbers run 1.._NSIG-1 (64 on Linux); anything above cannot be sent. */
#define SIGNAL_MAX (_NSIG - 1)

struct signal_entry {
	const char *name; /* "SIGHUP"; matched with or without the prefix */
	int sig;
};

/* The first entry for a number is its canonical name; later ones are accepted aliases. */
static const struct signal_entry signal_table[] = {
    {"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},       {"SIGQUIT", SIGQUIT}, {"SIGILL", SIGILL},
    {"SIGTRAP", SIGTRAP}, {"SIGABRT", SIGABRT},     {"SIGBUS", SIGBUS},   {"SIGFPE", SIGFPE},
    {"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1},     {"SIGSEGV", SIGSEGV}, {"SIGUSR2", SIGUSR2},
    {"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM},     {"SIGTERM", SIGTERM}, {"SIGSTKFLT", SIGSTKFLT},
    {"SIGCHLD", SIGCHLD}, {"SIGCONT", SIGCONT},     {"SIGSTOP", SIGSTOP}, {"SIGTSTP", SIGTSTP},
    {"SIGTTIN", SIGTTIN}, {"SIGTTOU", SIGTTOU},     {"SIGURG", SIGURG},   {"SIGXCPU", SIGXCPU},
    {"SIGXFSZ", SIGXFSZ}, {"SIGVTALRM", SIGVTALRM}, {"SIGPROF", SIGPROF}, {"SIGWINCH", SIGWINCH},
    {"SIGIO", SIGIO},     {"SIGPWR", SIGPWR},       {"SIGSYS", SIGSYS},   {"SIGIOT", SIGIOT},
    {"SIGCLD", SIGCHLD},  {"SIGPOLL", SIGPOLL},
};

/* Real-time signal names as bash's `kill -l` prints them: the lower half counts up from RTMIN,
 * the upper half down from RTMAX. String literals, so signal_name() needs no buffer. */
static const char *const rtmin_names[] = {
    "SIGRTMIN",    "SIGRTMIN+1",  "SIGRTMIN+2",  "SIGRTMIN+3",  "SIGRTMIN+4",  "SIGRTMIN+5",
    "SIGRTMIN+6",  "SIGRTMIN+7",  "SIGRTMIN+8",  "SIGRTMIN+9",  "SIGRTMIN+10", "SIGRTMIN+11",
    "SIGRTMIN+12", "SIGRTMIN+13", "SIGRTMIN+14", "SIGRTMIN+15", "SIGRTMIN+16",
};
static const char *const rtmax_names[] = {
    "SIGRTMAX",    "SIGRTMAX-1",  "SIGRTMAX-2",  "SIGRTMAX-3",  "SIGRTMAX-4",  "SIGRTMAX-5",
    "SIGRTMAX-6",  "SIGRTMAX-7",  "SIGRTMAX-8",  "SIGRTMAX-9",  "SIGRTMAX-10", "SIGRTMAX-11",
    "SIGRTMAX-12", "SIGRTMAX-13", "SIGRTMAX-14", "SIGRTMAX-15", "SIGRTMAX-16",
};

/* A decimal number of at most 4 digits (no sign, no spaces): enough for any signal and small
 * enough that overflow cannot happen. -EINVAL otherwise. */
static int parse_small_uint(const char *s, int *ret)
{
	int v = 0;
	size_t i;

	if (!s[0] || strlen(s) > 4)
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return 0;
}

/* "RTMIN", "RTMIN+3", "RTMAX", "RTMAX-2" (prefix already stripped of "SIG", any case). */
static int parse_realtime(const char *name, int *ret_sig)
{
	int base, sign, offset = 0, sig;

	if (strncasecmp(name, "RTMIN", 5) == 0) {
		base = SIGRTMIN;
		sign = 1;
	} else if (strncasecmp(name, "RTMAX", 5) == 0) {
		base = SIGRTMAX;
		sign = -1;
	} else {
		return -EINVAL;
	}
	name += 5;
	if (name[0]) {
		if (name[0] != (sign > 0 ? '+' : '-'))
			return -EINVAL;
		if (parse_small_uint(name + 1, &offset) < 0)
			return -EINVAL;
	}
	sig = base + sign * offset;
	if (sig < SIGRTMIN || sig > SIGRTMAX)
		return -EINVAL;
	*ret_sig = sig;
	return 0;
}

int signal_parse(const char *s, int *ret_sig)
{
	const char *name;
	int sig;
	size_t i;

	if (!s || !s[0])
		return -EINVAL;
	if (isdigit((unsigned char)s[0])) {
		if (parse_small_uint(s, &sig) < 0 || sig < 1 || sig > SIGNAL_MAX)
			return -EINVAL;
		*ret_sig = sig;
		return 0;
	}
	name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (i = 0; i < ARRAY_SIZE(signal_table); i++) {
		if (strcasecmp(name, signal_table[i].name + 3) == 0) {
			*ret_sig = signal_table[i].sig;
			return 0;
		}
	}
	return parse_realtime(name, ret_sig);
}

const char *signal_name(int sig)
{
	int offset, span;
	size_t i;

	if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
		offset = sig - SIGRTMIN;
		span = SIGRTMAX - SIGRTMIN;
		if (offset <= span / 2 && (size_t)offset < ARRAY_SIZE(rtmin_names))
			return rtmin_names[offset];
		if ((size_t)(SIGRTMAX - sig) < ARRAY_SIZE(rtmax_names))
			return rtmax_names[SIGRTMAX - sig];
		return NULL;
	}
	for (i = 0; i < ARRAY_SIZE(signal_table); i++) {
		if (signal_table[i].sig == sig)
			return signal_table[i].name;
	}
	return NULL;
}
