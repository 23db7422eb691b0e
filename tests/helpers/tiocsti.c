/* tiocsti: the terminal-injection attack, for the integration tests (static: it is copied into
 * a container's rootfs).
 *
 *   tiocsti PREFIX
 *
 * For each of stdin, stdout, stderr and /dev/tty, pushes "PREFIX-<target>\n" into that terminal's
 * input queue with TIOCSTI, one byte at a time, as if typed (target: fd0, fd1, fd2, tty). If the
 * terminal is the caller's, the caller's shell reads the line once the runtime returns: with a
 * PREFIX like "touch /tmp/x" it runs a command of the container's choosing.
 * Prints one word per target (ok, or the errno name of the first failure: EPERM, ENOTTY,
 * ENXIO...) and its own tty_nr (from /proc/self/stat) on one line, e.g.
 *   fd0=EPERM fd1=EPERM fd2=EPERM tty=ENXIO tty_nr=0
 * Always exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case EPERM:
		return "EPERM";
	case ENOTTY:
		return "ENOTTY";
	case ENXIO:
		return "ENXIO";
	case EBADF:
		return "EBADF";
	case EIO:
		return "EIO";
	case ENOENT:
		return "ENOENT";
	case EACCES:
		return "EACCES";
	default:
		return "EOTHER";
	}
}

static const char *inject(int fd, const char *line)
{
	if (fd < 0)
		return errname(errno);
	for (const char *c = line; *c; c++)
		if (ioctl(fd, TIOCSTI, c) < 0)
			return errname(errno);
	return "ok";
}

/* Field 7 of /proc/self/stat: the controlling terminal's device number (0: none). */
static long tty_nr(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	long nr = -1;
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f)) {
		char *p = strrchr(buf, ')');
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %ld", &nr) != 1)
			nr = -1;
	}
	fclose(f);
	return nr;
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"fd0", "fd1", "fd2", "tty"};
	char line[4096], out[256] = "";
	if (argc != 2) {
		fprintf(stderr, "usage: tiocsti PREFIX\n");
		return 2;
	}
	for (int i = 0; i < 4; i++) {
		int fd = i < 3 ? i : open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
		snprintf(line, sizeof(line), "%s-%s\n", argv[1], names[i]);
		const char *res = inject(fd, line);
		if (i == 3 && fd >= 0)
			close(fd);
		size_t len = strlen(out);
		snprintf(out + len, sizeof(out) - len, "%s=%s ", names[i], res);
	}
	/* All on one write, so it is not interleaved with what the injection echoes. */
	printf("%stty_nr=%ld\n", out, tty_nr());
	return 0;
}
