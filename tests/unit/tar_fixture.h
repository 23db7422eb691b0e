/* Shared by the checkpoint archive and migration unit tests (each test program includes it once):
 * a hand-made ustar writer, so hostile archives need no library, and a fixture of a temporary
 * directory with an extraction root and, next to it, a directory "outside" that must stay empty. */
#pragma once

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/archive.h"
#include "berth/util.h"

static const struct archive_limits lim = {1u << 20, 1u << 16, 100};

struct tar_entry {
	const char *name;
	char type; /* '0' file, '1' hard link, '2' symlink, '3' char dev, '4' block dev, '5' dir, '6' fifo */
	const char *link;
	const char *data;
	unsigned major, minor;
	unsigned long long size; /* declared; data length when 0 and data given */
};

static inline void tar_write(const char *path, const struct tar_entry *e, size_t n)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		unsigned char h[512] = {0};
		size_t len = e[i].data ? strlen(e[i].data) : 0;
		unsigned long long size = e[i].size ? e[i].size : len;
		memcpy(h, e[i].name, strnlen(e[i].name, 100)); /* 100 bytes, NUL only if shorter */
		snprintf((char *)h + 100, 8, "%07o", e[i].type == '5' ? 0755 : 0644);
		snprintf((char *)h + 108, 8, "%07o", 0);
		snprintf((char *)h + 116, 8, "%07o", 0);
		snprintf((char *)h + 124, 12, "%011llo", e[i].type == '0' ? size : 0ull);
		snprintf((char *)h + 136, 12, "%011o", 0);
		h[156] = (unsigned char)e[i].type;
		if (e[i].link)
			memcpy(h + 157, e[i].link, strnlen(e[i].link, 100));
		memcpy(h + 257, "ustar", 6);
		memcpy(h + 263, "00", 2);
		snprintf((char *)h + 329, 8, "%07o", e[i].major);
		snprintf((char *)h + 337, 8, "%07o", e[i].minor);
		memset(h + 148, ' ', 8);
		unsigned sum = 0;
		for (int j = 0; j < 512; j++)
			sum += h[j];
		snprintf((char *)h + 148, 8, "%06o", sum);
		fwrite(h, 1, 512, f);
		if (e[i].type == '0' && len) {
			unsigned char pad[512] = {0};
			fwrite(e[i].data, 1, len, f);
			fwrite(pad, 1, (512 - len % 512) % 512, f);
		}
	}
	unsigned char end[1024] = {0};
	fwrite(end, 1, sizeof(end), f);
	fclose(f);
}

struct fixture {
	char dir[64];
	char out[128]; /* a directory next to the extraction root that must stay empty */
	char root[128];
	int rootfd;
};

/* The fixture in a new directory made from the mkdtemp template tmpl ("/tmp/NAME.XXXXXX"). */
static inline int fixture_setup(void **state, const char *tmpl)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "%s", tmpl);
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->out, sizeof(fx->out), "%s/outside", fx->dir);
	snprintf(fx->root, sizeof(fx->root), "%s/root", fx->dir);
	mkdir(fx->out, 0755);
	mkdir(fx->root, 0755);
	fx->rootfd = open(fx->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = fx;
	return fx->rootfd < 0 ? -1 : 0;
}

static inline int teardown(void **state)
{
	struct fixture *fx = *state;
	close(fx->rootfd);
	rm_rf_at(AT_FDCWD, fx->dir);
	free(fx);
	return 0;
}

static inline bool dir_empty(const char *path)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", path);
	return system(cmd) == 0;
}

/* Writes e[0..n) as fx->dir/t.tar; returns its path in tar. */
static inline void fixture_tar(struct fixture *fx, char *tar, size_t size, const struct tar_entry *e,
			       size_t n)
{
	snprintf(tar, size, "%s/t.tar", fx->dir);
	tar_write(tar, e, n);
}
