/* The migration channel's framing (see migrate_proto.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "migrate_proto.h"

volatile sig_atomic_t mig_interrupted;

void mig_chan_init(struct mig_chan *ch, int in, int out)
{
	ch->in = in;
	ch->out = out;
	ch->pos = ch->len = 0;
	ch->sent = ch->received = 0;
}

uint64_t mig_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int write_all(struct mig_chan *ch, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(ch->out, c, n);
		if (w < 0 && errno == EINTR && !mig_interrupted)
			continue;
		if (w < 0 && errno == EINTR)
			return -ECANCELED;
		if (w <= 0)
			return errno == EPIPE || w == 0 ? -EPIPE : -errno;
		c += w;
		n -= (size_t)w;
		ch->sent += (uint64_t)w;
	}
	return 0;
}

int mig_send(struct mig_chan *ch, const char *fmt, ...)
{
	char line[MIG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 1)
		return -EPROTO;
	line[n++] = '\n';
	return write_all(ch, line, (size_t)n);
}

/* Refill the buffer; -EPIPE at the end of the stream. */
static int fill(struct mig_chan *ch)
{
	ssize_t r;
	do
		r = read(ch->in, ch->buf, sizeof(ch->buf));
	while (r < 0 && errno == EINTR && !mig_interrupted);
	if (r < 0)
		return errno == EINTR ? -ECANCELED : -errno;
	if (r == 0)
		return -EPIPE;
	ch->pos = 0;
	ch->len = (size_t)r;
	ch->received += (uint64_t)r;
	return 0;
}

int mig_recv(struct mig_chan *ch, char *line, size_t size)
{
	size_t n = 0;
	for (;;) {
		if (ch->pos == ch->len) {
			int r = fill(ch);
			if (r < 0)
				return r;
		}
		char c = ch->buf[ch->pos++];
		if (c == '\n')
			break;
		if (n + 1 >= size)
			return -EPROTO;
		line[n++] = c;
	}
	line[n] = '\0';
	return 0;
}

int mig_send_payload(struct mig_chan *ch, int fd, uint64_t size)
{
	char buf[65536];
	while (size) {
		ssize_t r = read(fd, buf, size < sizeof(buf) ? (size_t)size : sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO; /* the file shrank */
		int w = write_all(ch, buf, (size_t)r);
		if (w < 0)
			return w;
		size -= (uint64_t)r;
	}
	return 0;
}

/* Bytes go to @fd while it works; after a failed write the rest is still read (and dropped) so
 * that the stream stays in step and the error is reported at the next SYNC. */
int mig_recv_payload(struct mig_chan *ch, int fd, uint64_t size)
{
	int ret = 0;
	while (size) {
		if (ch->pos == ch->len) {
			int r = fill(ch);
			if (r < 0)
				return r;
		}
		size_t n = ch->len - ch->pos;
		if (n > size)
			n = (size_t)size;
		for (size_t off = 0; ret == 0 && off < n;) {
			ssize_t w = write(fd, ch->buf + ch->pos + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				ret = w < 0 ? -errno : -EIO;
			else
				off += (size_t)w;
		}
		ch->pos += n;
		size -= n;
	}
	return ret == 0 ? 0 : ret == -EPIPE ? -EIO : ret;
}

bool mig_rel_ok(const char *rel)
{
	int comps = 1;
	size_t len = 0;
	if (!rel || !*rel || rel[0] == '/')
		return false;
	for (const char *p = rel; *p; p++) {
		if (*p == '/') {
			if (len == 0 || ++comps > 2)
				return false;
			len = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-'))
			return false;
		len++;
		/* No component starts with a dot: not "." or "..", and not the receiver's own markers
		 * (".image", ".restoring", ".plain"), which the source must never write. */
		if (len == 1 && *p == '.')
			return false;
	}
	return len > 0;
}

int mig_send_file(struct mig_chan *ch, const char *path, const char *rel, struct berth_error *err)
{
	struct stat st;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return berth_error_setf_errno(err, -errno, "migrate: open '%s'", path);
	if (!S_ISREG(st.st_mode))
		return berth_error_set(err, -EINVAL, "migrate: '%s' is not a regular file", path);
	int r = mig_send(ch, "FILE %o %llu %s", (unsigned)(st.st_mode & 07777),
			 (unsigned long long)st.st_size, rel);
	if (r == 0)
		r = mig_send_payload(ch, fd, (uint64_t)st.st_size);
	if (r < 0)
		return berth_error_setf_errno(err, r, "migrate: send '%s'", path);
	return 0;
}

int mig_send_dir(struct mig_chan *ch, const char *dir, const char *rel, uint64_t *ret_bytes,
		 uint64_t *ret_pages, struct berth_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	uint64_t bytes = 0, pages = 0;
	struct dirent *e;
	int r = 0;
	if (!d)
		return berth_error_setf_errno(err, -errno, "migrate: open '%s'", dir);
	while (r == 0 && (e = readdir(d))) {
		char path[PATH_MAX], sub[PATH_MAX], target[PATH_MAX];
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name);
		if (lstat(path, &st) < 0)
			return berth_error_setf_errno(err, -errno, "migrate: stat '%s'", path);
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(path, target, sizeof(target) - 1);
			if (n <= 0)
				return berth_error_setf_errno(err, -errno, "migrate: readlink '%s'", path);
			target[n] = '\0';
			r = mig_send(ch, "LINK %s %s", sub, target);
			if (r < 0)
				return berth_error_setf_errno(err, r, "migrate: send '%s'", path);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		r = mig_send_file(ch, path, sub, err);
		bytes += (uint64_t)st.st_size;
		if (strncmp(e->d_name, "pages-", 6) == 0)
			pages += (uint64_t)st.st_size / 4096;
	}
	if (r == 0) {
		*ret_bytes = bytes;
		*ret_pages = pages;
	}
	return r;
}

int mig_expect_ok(struct mig_chan *ch, char *rest, size_t size, struct berth_error *err)
{
	char line[MIG_LINE_MAX];
	int r = mig_recv(ch, line, sizeof(line));
	if (r == -EPIPE)
		return berth_error_set(err, -EPIPE,
				       "migrate: the target closed the channel (the receiver or "
				       "ssh ended; see ssh's messages above)");
	if (r < 0)
		return berth_error_setf_errno(err, r, "migrate: read from the target");
	if (strncmp(line, "ERR ", 4) == 0)
		return berth_error_set(err, -EIO, "target: %s", line + 4);
	if (strcmp(line, "OK") != 0 && strncmp(line, "OK ", 3) != 0)
		return berth_error_set(err, -EPROTO, "migrate: unexpected answer from the target: '%.80s'",
				       line);
	if (rest)
		snprintf(rest, size, "%s", line[2] ? line + 3 : "");
	return 0;
}
