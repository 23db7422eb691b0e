/* memfill: a process with MB megabytes of dirty anonymous memory, for the checkpoint VM test
 * (tests/vm/test_vm_checkpoint_extra.sh: image size and dump/restore time with real memory).
 * Built static, so it can be copied into a busybox rootfs.
 *
 *   memfill MB FILE
 *
 * Fills MB MiB of anonymous memory with a pattern that differs page to page (nothing for a
 * zero-page or same-page shortcut), then every ~100 ms checks one word of every page against the
 * pattern and writes "<n> ok" (n = 1, 2, ...) to FILE through FILE.tmp and rename, or
 * "<n> bad <page>" and exits 1 if the memory changed. Exit status 2: usage or no memory. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "put_line.h"

#define PAGE 4096u

static uint64_t word(size_t i, size_t page)
{
	return 0x9e3779b97f4a7c15ull * (page + 1) + i;
}

int main(int argc, char **argv)
{
	char *end;
	if (argc != 3) {
		fprintf(stderr, "usage: memfill MB FILE\n");
		return 2;
	}
	unsigned long mb = strtoul(argv[1], &end, 10);
	if (*end || mb == 0 || mb > 4096) {
		fprintf(stderr, "memfill: bad size '%s'\n", argv[1]);
		return 2;
	}
	size_t size = (size_t)mb << 20, pages = size / PAGE;
	uint64_t *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		fprintf(stderr, "memfill: mmap %lu MiB: %s\n", mb, strerror(errno));
		return 2;
	}
	for (size_t p = 0; p < pages; p++)
		for (size_t i = 0; i < PAGE / sizeof(*mem); i++)
			mem[p * (PAGE / sizeof(*mem)) + i] = word(i, p);
	for (unsigned long n = 1;; n++) {
		char line[64];
		for (size_t p = 0; p < pages; p++) {
			size_t i = (p + n) % (PAGE / sizeof(*mem));
			if (mem[p * (PAGE / sizeof(*mem)) + i] != word(i, p)) {
				snprintf(line, sizeof(line), "%lu bad %zu\n", n, p);
				put_line(argv[2], line);
				return 1;
			}
		}
		snprintf(line, sizeof(line), "%lu ok\n", n);
		put_line(argv[2], line);
		struct timespec ts = {0, 100 * 1000 * 1000};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}
