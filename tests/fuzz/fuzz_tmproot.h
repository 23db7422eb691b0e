/* Shared by the tar-reading fuzz targets: a fresh temporary directory per input, holding only
 * "root/" (the target of the extraction), and the check that nothing landed beside it. */
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/util.h"
#include "fuzz_common.h"

struct tmproot {
	char dir[64];
	int root_fd;
};

static inline void tmproot_make(struct tmproot *t, const char *tag)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/berth-fuzz-%s.XXXXXX", tag);
	FUZZ_CHECK(mkdtemp(t->dir) != NULL, "mkdtemp");
	char root[96];
	snprintf(root, sizeof(root), "%s/root", t->dir);
	FUZZ_CHECK(mkdir(root, 0755) == 0, "mkdir root");
	t->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(t->root_fd >= 0, "open root");
}

/* Nothing may be written outside root/: the parent directory holds root/ alone. Then remove it all. */
static inline void tmproot_check_and_remove(struct tmproot *t)
{
	close(t->root_fd);
	DIR *d = opendir(t->dir);
	FUZZ_CHECK(d != NULL, "opendir");
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "root")) {
			fprintf(stderr, "escaped the root: %s/%s\n", t->dir, de->d_name);
			FUZZ_CHECK(0, "nothing is written outside the target root");
		}
	}
	closedir(d);
	FUZZ_CHECK(rm_rf_at(AT_FDCWD, t->dir) == 0, "remove the temporary directory");
}

/* The input as an in-memory file (memfd), positioned at 0. */
static inline int memfd_of(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0, "memfd_create");
	FUZZ_CHECK(write_all(fd, data, size) == 0, "write the input to the memfd");
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0, "rewind the memfd");
	return fd;
}
