/* bench-trampoline [PAIRS]: what the CVE-2019-5736 protection costs a container process. A child
 * that execs /bin/true directly vs. one that goes through the exec trampoline (trampoline_open +
 * trampoline_exec), alternating; wall time per child (fork to wait) and the children's CPU time
 * (getrusage). See bench/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "berth/error.h"
#include "runtime/trampoline_exec.h"
static long long now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static long long cpu(void)
{
	struct rusage r;
	getrusage(RUSAGE_CHILDREN, &r);
	return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000000LL +
	       (r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1000LL;
}
static int cmp(const void *a, const void *b)
{
	long long x = *(long long *)a, y = *(long long *)b;
	return x < y ? -1 : x > y;
}
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 400;
	/* A fat parent, as berth is: touch 2 MB so the fork copies real page tables. */
	char *ballast = malloc(2 << 20);
	memset(ballast, 1, 2 << 20);
	long long *w[2] = {calloc(n, 8), calloc(n, 8)}, c[2] = {0, 0};
	char *args[] = {"/bin/true", NULL}, *env[] = {NULL};
	for (int i = 0; i < n; i++)
		for (int m = 0; m < 2; m++) {
			long long c0 = cpu(), t0 = now();
			pid_t p = fork();
			if (p == 0) {
				if (m == 0) {
					execve("/bin/true", args, env);
					_exit(127);
				}
				struct berth_error err = {0};
				int fd;
				if (trampoline_open(&fd, &err) < 0)
					_exit(126);
				struct trampoline_call call = {.memfd = fd,
							       .path = "/bin/true",
							       .argv = args,
							       .envp = env,
							       .report_fd = -1,
							       .hold_fd = -1,
							       .control_fd = -1};
				trampoline_exec(&call, &err);
				_exit(125);
			}
			int st;
			waitpid(p, &st, 0);
			if (!WIFEXITED(st) || WEXITSTATUS(st)) {
				fprintf(stderr, "child failed %d\n", st);
				return 1;
			}
			w[m][i] = now() - t0;
			c[m] += cpu() - c0;
		}
	for (int m = 0; m < 2; m++) {
		qsort(w[m], n, 8, cmp);
		printf("%-12s wall median %.1f us  p10 %.1f  p90 %.1f   cpu mean %.1f us\n",
		       m ? "trampoline" : "direct", w[m][n / 2] / 1e3, w[m][n / 10] / 1e3,
		       w[m][n * 9 / 10] / 1e3, c[m] / 1e3 / n);
	}
	return 0;
}
