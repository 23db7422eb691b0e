/* tests/vm/migrate_dirty.c: the workload of test_vm_migrate_live.sh, built static by the test's
 * host part into the container's rootfs. `dirty MB RATE_KB_S` fills MB MiB of anonymous memory
 * with pseudo-random bytes (nothing compresses), then dirties RATE_KB_S KiB of it per second,
 * page by page in a cycle, and writes "<id> <n>" to /tmp/counter every 100 ms: n counts the
 * passes in memory, so a restore continues it, a restart would not (new id). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(int argc, char **argv)
{
	size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 64,
	       rate = argc > 2 ? strtoul(argv[2], NULL, 10) : 256;
	size_t pages = mb * 256, per_tick = (rate / 4 + 9) / 10, at = 0;
	unsigned char *mem = malloc(pages * 4096);
	char id[40] = "";
	FILE *f = fopen("/proc/sys/kernel/random/uuid", "r");
	if (!mem || !f || !fgets(id, sizeof(id), f))
		return 1;
	fclose(f);
	id[strcspn(id, "\n")] = '\0';
	rng ^= (uint64_t)time(NULL);
	for (size_t i = 0; i < pages * 4096 / 8; i++)
		((uint64_t *)mem)[i] = next();
	for (unsigned long n = 1;; n++) {
		for (size_t k = 0; k < per_tick; k++, at = (at + 1) % pages)
			((uint64_t *)(mem + at * 4096))[next() % 512] = next();
		FILE *c = fopen("/tmp/counter.tmp", "w");
		if (c) {
			fprintf(c, "%s %lu\n", id, n);
			fclose(c);
			rename("/tmp/counter.tmp", "/tmp/counter");
		}
		usleep(100000);
	}
}
