/* swapexch A B STOPFILE: exchange the paths A and B (renameat2 RENAME_EXCHANGE, atomic: both
 * names always exist) again and again until STOPFILE exists, or 120 s at most. The integration
 * tests use it to race the runtime's mount set-up with a directory/symlink swap. Prints the
 * number of exchanges on exit. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int main(int argc, char **argv)
{
	unsigned long n = 0;
	time_t end = time(NULL) + 120;

	if (argc != 4) {
		fprintf(stderr, "usage: swapexch A B STOPFILE\n");
		return 2;
	}
	for (unsigned long i = 0;; i++) {
		if (syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) < 0) {
			perror("renameat2");
			return 1;
		}
		n++;
		if (i % 64 == 0) {
			if (access(argv[3], F_OK) == 0 || time(NULL) > end)
				break;
			sched_yield();
		}
	}
	printf("%lu\n", n);
	return 0;
}
