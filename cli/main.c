/* The berth binary: everything lives in the cli library so it can be unit tested. */
#include <signal.h>

#include "cli/cli.h"

int main(int argc, char **argv)
{
	/* A hook that does not read its stdin, or a closed console, must produce EPIPE, not kill
	 * berth half-way. Every child berth execs resets SIGPIPE to the default first. */
	signal(SIGPIPE, SIG_IGN);
	return cli_main(argc, argv);
}
