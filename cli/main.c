/* The berth binary: everything lives in the cli library so it can be unit tested. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
