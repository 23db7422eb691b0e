/* bench-seccomp [PROFILE.json] [ITERATIONS]: what linux.seccomp costs `create`.
 * Compiles a profile (default: tests/data/seccomp/default.json, ~370 names, shaped like
 * containerd's default) with libseccomp again and again, then measures the cached path
 * (hash the profile + read and verify the cache file) against a temporary state root.
 * Prints min / median / mean in microseconds. No root needed; nothing is loaded. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "berth/sha256.h"
#include "berth/util.h"
#include "runtime/seccomp.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int n)
{
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += t[i];
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	printf("%-34s min %8.1f  median %8.1f  mean %8.1f us  (n=%d)\n", what, t[0], t[n / 2], sum / n, n);
}

/* The profile file is the linux.seccomp object; wrap it into a minimal config to parse it. */
static struct oci_config *load_profile(const char *path)
{
	_cleanup_free_ char *body = NULL;
	size_t len = 0;
	if (read_file_at(AT_FDCWD, path, 1 << 20, &body, &len) < 0) {
		fprintf(stderr, "bench-seccomp: cannot read %s\n", path);
		return NULL;
	}
	_cleanup_free_ char *doc = NULL;
	int n = asprintf(
	    &doc, "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},\"linux\":{\"seccomp\":%s}}",
	    body);
	struct oci_config *c = NULL;
	struct berth_error err = {0};
	if (n < 0 || oci_config_parse(doc, (size_t)n, &c, &err) < 0) {
		fprintf(stderr, "bench-seccomp: %s: %s\n", path, err.msg);
		return NULL;
	}
	return c;
}

static int bench_compile(const struct oci_seccomp *s, double *t, int n)
{
	for (int i = 0; i < n; i++) {
		struct seccomp_filter_prog *p = NULL;
		struct berth_error err = {0};
		double t0 = now_us();
		if (seccomp_compile(s, &p, &err) < 0) {
			fprintf(stderr, "bench-seccomp: %s\n", err.msg);
			return -1;
		}
		t[i] = now_us() - t0;
		if (i == 0)
			printf("program: %zu instructions\n", p->len);
		seccomp_filter_prog_free(p);
	}
	return 0;
}

static int bench_cached(const struct oci_seccomp *s, int root_fd, double *t, int n)
{
	for (int i = 0; i < n; i++) {
		struct seccomp_filter_prog *p = NULL;
		struct berth_error err = {0};
		double t0 = now_us();
		if (seccomp_prepare(s, root_fd, &p, &err) < 0) {
			fprintf(stderr, "bench-seccomp: %s\n", err.msg);
			return -1;
		}
		t[i] = now_us() - t0;
		seccomp_filter_prog_free(p);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char def[4096];
	const char *data = getenv("BERTH_TEST_DATA");
	snprintf(def, sizeof(def), "%s/seccomp/default.json", data ? data : "tests/data");
	const char *path = argc > 1 ? argv[1] : def;
	int n = argc > 2 ? atoi(argv[2]) : 200;
	if (n < 1)
		n = 1;
	struct oci_config *c = load_profile(path);
	if (!c)
		return 1;
	const struct oci_seccomp *s = &c->linux_.seccomp;
	double *t = calloc((size_t)n, sizeof(*t));
	char root[] = "/tmp/bench-seccomp.XXXXXX";
	if (!t || !mkdtemp(root))
		return 1;
	_cleanup_close_ int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	printf("profile: %s (%zu rule entries)\n", path, s->n_syscalls);

	double t0 = now_us();
	uint8_t key[BERTH_SHA256_SIZE];
	for (int i = 0; i < n; i++)
		seccomp_profile_hash(s, key);
	printf("%-34s mean %8.1f us\n", "hash the profile", (now_us() - t0) / n);
	int r = bench_compile(s, t, 1);
	if (r == 0)
		printf("%-34s %8.1f us (libseccomp's first use probes the kernel)\n", "first compile", t[0]);
	if (r == 0 && (r = bench_compile(s, t, n)) == 0)
		report("compile (libseccomp, no cache)", t, n);
	/* The first prepare misses and fills the cache; the rest hit it. */
	if (r == 0 && (r = bench_cached(s, root_fd, t, 1)) == 0)
		printf("%-34s %8.1f us\n", "prepare, cache miss + store", t[0]);
	if (r == 0 && (r = bench_cached(s, root_fd, t, n)) == 0)
		report("prepare, cache hit", t, n);
	rm_rf_at(AT_FDCWD, root);
	free(t);
	oci_config_free(c);
	return r == 0 ? 0 : 1;
}
