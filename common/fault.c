/* Fault injection for the tests: BERTH_FAULT=<phase> makes berth die at that named phase, as a
 * crash or a SIGKILL would, so the tests can check that `delete --force` cleans up after it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/util.h"

void fault_point(const char *phase)
{
	/* Read once: the environment does not change under us, and the common case (unset) then
	 * costs one branch. Process-wide by nature, like the log settings. */
	static const char *want;
	static bool loaded;
	if (!loaded) {
		want = getenv("BERTH_FAULT");
		loaded = true;
	}
	if (want && *want && strcmp(want, phase) == 0)
		_exit(99);
}
