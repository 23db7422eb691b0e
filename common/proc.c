/* /proc readers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/util.h"

int proc_start_time(pid_t pid, uint64_t *ret_start)
{
	return proc_stat_info(pid, ret_start, NULL);
}

int proc_stat_info(pid_t pid, uint64_t *ret_start, char *ret_state)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	/* procfs hands out the whole record in one read (seq_file): no second read to see EOF. */
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf) - 1)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	/* comm may contain spaces and ')': fields restart after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p++;
	if (ret_state && p[0] == ' ')
		*ret_state = p[1];
	/* after ')' come fields 3..; starttime is field 22, i.e. the 20th token here */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EIO;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -EIO;
	if (ret_start)
		*ret_start = v;
	return 0;
}
