/*
 * bench/list_floor.c: list_floor ROOT
 *
 * The least any `list` must do for each container under a berth state root ROOT, and nothing
 * more: read its state.json (no JSON parsing: the pid is picked out with strstr), read
 * /proc/<pid>/stat (is the init alive, is it the same process), and probe exec.fifo (created or
 * started). Prints how many containers it read. bench/list-floor.sh times it beside `berth list`
 * to show how far below its own floor a target for `list` lies on a given machine.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[4096], path[512];
	struct dirent *de;
	int n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: list_floor ROOT\n");
		return 2;
	}
	DIR *d = opendir(argv[1]);
	if (!d) {
		perror(argv[1]);
		return 1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/state.json", de->d_name);
		int fd = openat(dirfd(d), path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[len > 0 ? len : 0] = '\0';
		const char *p = strstr(buf, "\"pid\":");
		snprintf(path, sizeof(path), "/proc/%d/stat", p ? atoi(p + 6) : 0);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			len = read(fd, buf, sizeof(buf));
			close(fd);
		}
		snprintf(path, sizeof(path), "%s/exec.fifo", de->d_name);
		fd = openat(dirfd(d), path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		n++;
	}
	closedir(d);
	printf("%d\n", n);
	return 0;
}
