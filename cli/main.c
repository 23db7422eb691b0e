/* The berth binary: everything lives in the cli library so it can be unit tested. */
#include <signal.h>
#include <string.h>

#include "berth/cgroups.h"
#include "cli/cli.h"

int main(int argc, char **argv)
{
	/* A hook that does not read its stdin, or a closed console, must produce EPIPE, not kill
	 * berth half-way. Every child berth execs resets SIGPIPE to the default first. */
	signal(SIGPIPE, SIG_IGN);
	/* One command runs for milliseconds: scan the cgroup hierarchies once, not per lookup. */
	cgroup_layout_cache(true);
	if (netlink_helper_main && argc > 1 && strcmp(argv[1], "__netlink") == 0)
		return netlink_helper_main(argc - 1, argv + 1);
	if (systemd_helper_main && argc > 1 && strcmp(argv[1], "__systemd") == 0)
		return systemd_helper_main(argc - 1, argv + 1);
	return cli_main(argc, argv);
}
