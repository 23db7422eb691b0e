/* The processes of a cgroup: listing and signalling them. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "internal.h"

/* SIGKILL rounds over cgroup.procs: a process forking while we read the list shows up in the
 * next round. */
#define KILL_ROUNDS 10

uint64_t cg_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void cg_backoff(unsigned *delay_us)
{
	usleep(*delay_us);
	*delay_us = *delay_us >= 25000 ? 50000 : *delay_us * 2;
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int cg_parse_pids(const char *text, pid_t **ret_pids, size_t *ret_n)
{
	size_t cap = 1;
	for (const char *p = text; *p; p++)
		cap += *p == '\n';
	_cleanup_free_ pid_t *pids = calloc(cap, sizeof(pid_t));
	size_t n = 0;

	if (!pids)
		return -ENOMEM;
	for (const char *p = text; *p;) {
		char *end;
		if (*p == '\n') {
			p++;
			continue;
		}
		errno = 0;
		long v = strtol(p, &end, 10);
		if (errno || end == p || v <= 0 || v > INT32_MAX || (*end && *end != '\n') || n >= cap)
			return -EBADMSG;
		pids[n++] = (pid_t)v;
		p = end;
	}
	qsort(pids, n, sizeof(*pids), pid_cmp);
	size_t uniq = 0;
	for (size_t i = 0; i < n; i++)
		if (uniq == 0 || pids[uniq - 1] != pids[i])
			pids[uniq++] = pids[i];
	*ret_pids = TAKE_PTR(pids);
	*ret_n = uniq;
	return 0;
}

static int read_pids(int dirfd, pid_t **ret_pids, size_t *ret_n)
{
	_cleanup_free_ char *text = NULL;
	int r = cg_read_alloc(dirfd, "cgroup.procs", &text);
	if (r < 0)
		return r;
	return cg_parse_pids(text, ret_pids, ret_n);
}

int cg_kill_listed(int dirfd, int sig)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	int r = read_pids(dirfd, &pids, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		/* ESRCH: it exited between the read and the kill, which is what we want anyway. */
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			return -errno;
	}
	return (int)n;
}

/* The hierarchy whose cgroup.procs lists the container: unified, else pids, memory, any v1. */
static bool listing_hierarchy(const struct cgroup *cg, struct cg_hier *ret)
{
	struct cg_hier h[CG_HIER_MAX];

	if (cg_find_unified(cg, ret) || cg_find_v1(cg, "pids", ret) || cg_find_v1(cg, "memory", ret))
		return true;
	if (cg_hierarchies(cg, h) == 0)
		return false;
	*ret = h[0];
	return true;
}

static int open_listing(const struct cgroup *cg, struct cg_hier *h, struct berth_error *err)
{
	if (!listing_hierarchy(cg, h))
		return berth_error_set(err, -ENOENT, "no cgroup hierarchy to list processes of '%s'",
				       cg->path ? cg->path : "");
	int fd = cg_open(cg, h);
	if (fd < 0)
		return berth_error_setf_errno(err, fd, "open cgroup '%s' in hierarchy '%s'", h->path,
					      h->dir ? h->dir : "unified");
	return fd;
}

int cgroup_pids(const struct cgroup *cg, pid_t **ret_pids, size_t *ret_n, struct berth_error *err)
{
	struct cg_hier h;
	_cleanup_close_ int fd = open_listing(cg, &h, err);
	if (fd < 0)
		return fd;
	int r = read_pids(fd, ret_pids, ret_n);
	if (r < 0)
		return berth_error_setf_errno(err, r, "read the processes of cgroup '%s'", h.path);
	return 0;
}

/* SIGKILL through cgroup.kill (Linux 5.14+): the kernel kills every process, including ones
 * forked meanwhile. -ENOENT when the file or the unified cgroup does not exist. */
static int kill_unified(const struct cgroup *cg)
{
	struct cg_hier h;

	if (!cg_find_unified(cg, &h))
		return -ENOENT;
	_cleanup_close_ int fd = cg_open(cg, &h);
	if (fd < 0)
		return fd;
	return cg_write(fd, "cgroup.kill", "1", false);
}

int cgroup_signal_all(const struct cgroup *cg, int sig, struct berth_error *err)
{
	struct cg_hier h;
	int r = sig == SIGKILL ? kill_unified(cg) : -ENOENT;

	if (r < 0 && r != -ENOENT)
		return berth_error_setf_errno(err, r, "kill the processes of cgroup '%s'", cg->path);
	if (r < 0) {
		_cleanup_close_ int fd = open_listing(cg, &h, err);
		if (fd < 0)
			return fd;
		for (int round = 0; round < (sig == SIGKILL ? KILL_ROUNDS : 1); round++) {
			if (round > 0)
				usleep(10000);
			r = cg_kill_listed(fd, sig);
			if (r < 0)
				return berth_error_setf_errno(err, r, "signal the processes of cgroup '%s'",
							      h.path);
			if (r == 0)
				break;
		}
	}
	/* A process frozen by the v1 freezer only acts on SIGKILL once thawed. */
	if (sig == SIGKILL)
		cg_thaw_v1(cg);
	return 0;
}
