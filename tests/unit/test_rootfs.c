/* The root filesystem phase (runtime/rootfs.c, mounts.c, devices.c), for real: as root, each
 * scenario forks a child into new mount/pid/net/ipc (and user) namespaces, builds a config by hand,
 * runs rootfs_prepare/pivot/finalize on a temporary rootfs and checks from inside what the
 * container would see. The child reports failures through a pipe and its exit code. The parent
 * checks that nothing leaked into the host: no mount, no file outside the rootfs.
 * Not root: exit 77 (skipped). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/error.h"
#include "berth/oci.h"
#include "../../runtime/internal.h"

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

/* ---- the fixture: a temporary directory with a rootfs and bind sources ---- */

struct fixture {
	char base[64];       /* /tmp/berth-rootfs-XXXXXX */
	char rootfs[128];    /* <base>/rootfs */
	char hostfile[128];  /* a host file bound into the container */
	char rro_src[128];   /* a host directory with a tmpfs below it (in the child) */
	char idmap_src[128]; /* a host directory with a file owned by 0 */
	char ro_src[128];    /* a host directory made a read-only mount (in the child) */
	char outside[64];    /* names the symlink attacks aim at, in the host's "/" */
	char outside2[64];
	bool has_kcore; /* the host kernel has /proc/kcore (for /dev/core) */
};

static void put_file(const char *dir, const char *name, const char *content)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static void put_dir(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void put_link(const char *dir, const char *name, const char *target)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(symlink(target, path), 0);
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char target[PATH_MAX];

	assert_non_null(f);
	strcpy(f->base, "/tmp/berth-rootfs-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(f->rootfs, sizeof(f->rootfs), "%s/rootfs", f->base);
	snprintf(f->hostfile, sizeof(f->hostfile), "%s/hostfile", f->base);
	snprintf(f->rro_src, sizeof(f->rro_src), "%s/rro_src", f->base);
	snprintf(f->idmap_src, sizeof(f->idmap_src), "%s/idmap_src", f->base);
	snprintf(f->ro_src, sizeof(f->ro_src), "%s/ro_src", f->base);
	snprintf(f->outside, sizeof(f->outside), "berth-outside-%d", (int)getpid());
	snprintf(f->outside2, sizeof(f->outside2), "berth-outside2-%d", (int)getpid());
	put_dir(f->base, "rootfs");
	put_file(f->base, "hostfile", "hello from the host");
	put_dir(f->base, "rro_src");
	put_dir(f->rro_src, "sub");
	put_dir(f->base, "idmap_src");
	put_dir(f->base, "ro_src");
	put_file(f->idmap_src, "file", "idmapped");
	for (const char *const *d =
		 (const char *const[]){"proc", "dev", "sys", "tmp", "etc", "masked_dir", "ro_dir", NULL};
	     *d; d++)
		put_dir(f->rootfs, *d);
	put_file(f->rootfs, "masked_file", "secret");
	put_file(f->rootfs, "marker", "rootfs marker");
	snprintf(target, sizeof(target), "%s/masked_dir", f->rootfs);
	put_file(target, "secret", "secret");
	snprintf(target, sizeof(target), "%s/ro_dir", f->rootfs);
	put_file(target, "f", "x");
	snprintf(target, sizeof(target), "/../../../../%s", f->outside);
	put_link(f->rootfs, "evil", target);
	snprintf(target, sizeof(target), "../../../../%s", f->outside2);
	put_link(f->rootfs, "evil2", target);
	put_link(f->rootfs, "procsys", "/proc/sys");
	f->has_kcore = access("/proc/kcore", F_OK) == 0;
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	free(f);
	return 0;
}

/* ---- running a scenario in namespaces ---- */

typedef int (*scenario_fn)(const struct fixture *f, int msgfd);

static void report(int msgfd, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(int msgfd, int line, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n = snprintf(buf, sizeof(buf), "line %d: ", line);

	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	dprintf(msgfd, "%s\n", buf);
}

#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			report(msgfd, __LINE__, __VA_ARGS__);                                                \
			return 1;                                                                            \
		}                                                                                            \
	} while (0)

/* In the first child: enter the namespaces (the user namespace first, once the parent wrote its
 * maps), then fork the scenario (pid 1 of the new pid namespace). */
static _Noreturn void scenario_parent(const struct fixture *f, scenario_fn fn, int flags, bool userns,
				      int msgfd, int syncfd[2])
{
	pid_t pid;
	int status;
	char c;

	if (userns) {
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(90);
		if (write(syncfd[1], "u", 1) != 1 || read(syncfd[0], &c, 1) != 1)
			_exit(91);
	}
	if (unshare(flags) < 0) {
		dprintf(msgfd, "unshare: %s\n", strerror(errno));
		_exit(92);
	}
	pid = fork();
	if (pid == 0)
		_exit(fn(f, msgfd));
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		_exit(93);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static void write_map(pid_t pid, const char *file)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(write(fd, "0 0 4294967295", 14) == 14);
	close(fd);
}

/* Lines of /proc/self/mountinfo, and how many mention @needle. */
static int mountinfo_count(const char *needle, int *ret_matching)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int n = 0, m = 0;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		n++;
		if (strstr(line, needle))
			m++;
	}
	fclose(fp);
	*ret_matching = m;
	return n;
}

static void run_scenario(const struct fixture *f, scenario_fn fn, int flags, bool userns)
{
	int msg[2], sync_up[2], sync_down[2], status, mine_before, mine_after, before, after;
	char out[8192];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	before = mountinfo_count(f->base, &mine_before);
	assert_int_equal(pipe2(msg, O_CLOEXEC), 0);
	assert_int_equal(pipe2(sync_up, O_CLOEXEC), 0);
	assert_int_equal(pipe2(sync_down, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(msg[0]);
		scenario_parent(f, fn, flags, userns, msg[1], (int[]){sync_down[0], sync_up[1]});
	}
	close(msg[1]);
	close(sync_up[1]);
	close(sync_down[0]);
	if (userns) {
		char c;

		assert_int_equal(read(sync_up[0], &c, 1), 1);
		write_map(pid, "uid_map");
		write_map(pid, "gid_map");
		assert_int_equal(write(sync_down[1], "g", 1), 1);
	}
	while ((n = read(msg[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(msg[0]);
	close(sync_up[0]);
	close(sync_down[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("scenario failed (status 0x%x): %s", status, out);
	after = mountinfo_count(f->base, &mine_after);
	assert_int_equal(mine_before, 0);
	assert_int_equal(mine_after, 0);
	if (after != before)
		print_message("note: host mount count %d -> %d, none of them ours (shared VM)\n", before,
			      after);
}

/* ---- hand-made configs ---- */

#define MAX_MOUNTS 20

struct test_config {
	struct oci_config c;
	struct oci_mount mounts[MAX_MOUNTS];
	struct oci_kv sysctl[4];
	struct oci_device devices[4];
	struct oci_id_mapping idmap;
	char *masked[8], *readonly[8];
};

static char *opts_proc[] = {"nosuid", "noexec", "nodev", NULL};
static char *opts_dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
static char *opts_pts[] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL};
static char *opts_shm[] = {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL};
static char *opts_mqueue[] = {"nosuid", "noexec", "nodev", NULL};
static char *opts_sys[] = {"nosuid", "noexec", "nodev", "ro", NULL};
static char *opts_cgroup[] = {"nosuid", "noexec", "nodev", "relatime", "ro", NULL};
static char *opts_tmp[] = {"nosuid", "nodev", "mode=1777", NULL};
static char *opts_rbind_ro[] = {"rbind", "ro", NULL};
static char *opts_rbind_rw[] = {"rbind", "rw", "nosuid", NULL};
static char *opts_rro[] = {"rbind", "rro", "rprivate", NULL};
static char *opts_idmap[] = {"bind", "idmap", NULL};
static char *opts_shared[] = {"shared", NULL};
static char *opts_none[] = {NULL};

static void add_mount(struct test_config *t, const char *dest, const char *type, const char *source,
		      char **options)
{
	struct oci_mount *m = &t->mounts[t->c.n_mounts++];

	assert_true(t->c.n_mounts <= MAX_MOUNTS);
	m->destination = (char *)dest;
	m->type = (char *)type;
	m->source = (char *)source;
	m->options = options;
}

/* The mounts of `runc spec`, plus /tmp. */
static void add_default_mounts(struct test_config *t)
{
	add_mount(t, "/proc", "proc", "proc", opts_proc);
	add_mount(t, "/dev", "tmpfs", "tmpfs", opts_dev);
	add_mount(t, "/dev/pts", "devpts", "devpts", opts_pts);
	add_mount(t, "/dev/shm", "tmpfs", "shm", opts_shm);
	add_mount(t, "/dev/mqueue", "mqueue", "mqueue", opts_mqueue);
	add_mount(t, "/sys", "sysfs", "sysfs", opts_sys);
	add_mount(t, "/sys/fs/cgroup", "cgroup", "cgroup", opts_cgroup);
	add_mount(t, "/tmp", "tmpfs", "tmpfs", opts_tmp);
}

static void config_init(struct test_config *t)
{
	memset(t, 0, sizeof(*t));
	t->c.oci_version = (char *)"1.2.0";
	t->c.has_linux = true;
	t->c.mounts = t->mounts;
	t->c.linux_.sysctl = t->sysctl;
	t->c.linux_.devices = t->devices;
	t->c.linux_.masked_paths = t->masked;
	t->c.linux_.readonly_paths = t->readonly;
}

/* The full scenario's config: every kind of mount, sysctl, devices, masked and read-only paths. */
static void full_config(struct test_config *t, const struct fixture *f, bool legacy)
{
	config_init(t);
	add_default_mounts(t);
	add_mount(t, "/etc/hostfile", "bind", f->hostfile, opts_rbind_ro);
	add_mount(t, "/evil", "tmpfs", "tmpfs", opts_none);
	add_mount(t, "/evil2/sub", "tmpfs", "tmpfs", opts_none);
	add_mount(t, "/propagated", "tmpfs", "tmpfs", opts_shared);
	add_mount(t, "/rw_of_ro", "bind", f->ro_src, opts_rbind_rw);
	if (!legacy) {
		add_mount(t, "/rro", "bind", f->rro_src, opts_rro);
		add_mount(t, "/idmapped", "none", f->idmap_src, opts_idmap);
		t->idmap = (struct oci_id_mapping){.container_id = 0, .host_id = 1000, .size = 1};
		t->mounts[t->c.n_mounts - 1].uid_mappings = &t->idmap;
		t->mounts[t->c.n_mounts - 1].gid_mappings = &t->idmap;
		t->mounts[t->c.n_mounts - 1].n_uid_mappings = 1;
		t->mounts[t->c.n_mounts - 1].n_gid_mappings = 1;
		/* not recursive: "rslave" would turn /propagated into a slave too (as in runc) */
		t->c.linux_.rootfs_propagation = (char *)"slave";
	}
	t->sysctl[0] = (struct oci_kv){.key = (char *)"net.ipv4.ip_forward", .value = (char *)"1"};
	t->sysctl[1] = (struct oci_kv){.key = (char *)"kernel.shm_rmid_forced", .value = (char *)"1"};
	t->sysctl[2] = (struct oci_kv){.key = (char *)"net/ipv4/conf/lo/forwarding", .value = (char *)"1"};
	t->c.linux_.n_sysctl = 3;
	t->devices[0] = (struct oci_device){.path = (char *)"/dev/berth-null",
					    .type = 'c',
					    .major = 1,
					    .minor = 3,
					    .has_file_mode = true,
					    .file_mode = 0600,
					    .has_uid = true,
					    .uid = 1,
					    .has_gid = true,
					    .gid = 2};
	t->devices[1] = (struct oci_device){
	    .path = (char *)"/dev/sub/fifo0", .type = 'p', .has_file_mode = true, .file_mode = 0640};
	t->c.linux_.n_devices = 2;
	memcpy(t->masked,
	       (char *[]){"/proc/kcore", "/proc/keys", "/proc/acpi", "/masked_dir", "/masked_file",
			  "/does/not/exist", NULL},
	       7 * sizeof(char *));
	memcpy(t->readonly, (char *[]){"/proc/sys", "/ro_dir", "/missing", NULL}, 4 * sizeof(char *));
	t->c.root_readonly = true;
}

/* ---- checks used from inside ---- */

static bool fs_is(const char *path, long magic)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == magic;
}

static bool is_chardev(const char *path, unsigned int major, unsigned int minor)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(major, minor);
}

static int create_errno(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno;
}

static bool file_is(const char *path, const char *content)
{
	char buf[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, content) == 0;
}

static bool link_is(const char *path, const char *target)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, target) == 0;
}

static bool mount_line_has(const char *mount_point, const char *what)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	char line[4096], mp[PATH_MAX];
	bool found = false;

	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "%*u %*u %*s %*s %4095s", mp) == 1 && strcmp(mp, mount_point) == 0)
			found = strstr(line, what) != NULL;
	fclose(fp);
	return found;
}

static int run_phases(const struct oci_config *c, const struct rootfs_opts *o, struct berth_error *err)
{
	int r = rootfs_prepare(c, o, err);

	if (r == 0)
		r = rootfs_pivot(c, o, err);
	if (r == 0)
		r = rootfs_finalize(c, o, err);
	return r;
}

/* Private from here on: mounts made for the test (rro_src/sub) must not reach the host. */
static int private_root(int msgfd)
{
	CHECK(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == 0, "rslave /: %s", strerror(errno));
	return 0;
}

/* ---- the full scenario (as root, new mount/pid/net/ipc namespaces) ---- */

static int check_filesystems(int msgfd)
{
	CHECK(fs_is("/proc", PROC_SUPER_MAGIC), "/proc is not procfs");
	CHECK(link_is("/proc/self", "1"), "/proc is not the container's pid namespace");
	CHECK(fs_is("/dev", TMPFS_MAGIC), "/dev is not tmpfs");
	CHECK(fs_is("/dev/pts", DEVPTS_SUPER_MAGIC), "/dev/pts is not devpts");
	CHECK(fs_is("/dev/shm", TMPFS_MAGIC), "/dev/shm is not tmpfs");
	CHECK(fs_is("/dev/mqueue", MQUEUE_MAGIC), "/dev/mqueue is not mqueue");
	CHECK(fs_is("/sys", SYSFS_MAGIC), "/sys is not sysfs");
	CHECK(fs_is("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC), "/sys/fs/cgroup is not cgroup2");
	CHECK(fs_is("/tmp", TMPFS_MAGIC), "/tmp is not tmpfs");
	CHECK(create_errno("/sys/berth-x") == EROFS, "/sys is writable");
	return 0;
}

static int check_devices(const struct fixture *f, int msgfd)
{
	struct stat st;
	int fd;

	CHECK(is_chardev("/dev/null", 1, 3), "/dev/null is not char 1:3");
	CHECK(stat("/dev/null", &st) == 0 && (st.st_mode & 07777) == 0666, "/dev/null mode %o", st.st_mode);
	CHECK(is_chardev("/dev/zero", 1, 5) && is_chardev("/dev/full", 1, 7), "zero/full");
	CHECK(is_chardev("/dev/random", 1, 8) && is_chardev("/dev/urandom", 1, 9), "random/urandom");
	CHECK(is_chardev("/dev/tty", 5, 0), "/dev/tty");
	CHECK(link_is("/dev/ptmx", "pts/ptmx"), "/dev/ptmx is not a link to pts/ptmx");
	CHECK(link_is("/dev/fd", "/proc/self/fd") && link_is("/dev/stdin", "/proc/self/fd/0") &&
		  link_is("/dev/stdout", "/proc/self/fd/1") && link_is("/dev/stderr", "/proc/self/fd/2"),
	      "/dev/fd and stdio links");
	CHECK(link_is("/dev/core", "/proc/kcore") == f->has_kcore, "/dev/core");
	fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	CHECK(fd >= 0, "open /dev/ptmx: %s", strerror(errno));
	close(fd);
	CHECK(stat("/dev/berth-null", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3) &&
		  (st.st_mode & 07777) == 0600 && st.st_uid == 1 && st.st_gid == 2,
	      "linux.devices /dev/berth-null");
	CHECK(stat("/dev/sub/fifo0", &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0640,
	      "linux.devices /dev/sub/fifo0");
	return 0;
}

static int check_binds(const struct fixture *f, bool legacy, int msgfd)
{
	char path[PATH_MAX];
	struct stat st;

	CHECK(file_is("/etc/hostfile", "hello from the host"), "bind of a host file not visible");
	CHECK(create_errno("/etc/hostfile") == EROFS, "ro bind is writable");
	CHECK(fs_is("/evil", TMPFS_MAGIC), "mount through /evil missing");
	snprintf(path, sizeof(path), "/%s", f->outside);
	CHECK(fs_is(path, TMPFS_MAGIC), "/evil's mount is not at %s inside the rootfs", path);
	snprintf(path, sizeof(path), "/%s/sub", f->outside2);
	CHECK(fs_is(path, TMPFS_MAGIC), "/evil2/sub's mount is not at %s inside the rootfs", path);
	CHECK(mount_line_has("/propagated", " shared:"), "/propagated is not shared");
	CHECK(create_errno("/rw_of_ro/x") == EROFS, "\"rw\" lifted the read-only flag of the bind's source");
	CHECK(mount_line_has("/rw_of_ro", "nosuid"), "nosuid not applied to /rw_of_ro");
	if (legacy)
		return 0;
	CHECK(create_errno("/rro/x") == EROFS, "rro: top is writable");
	CHECK(fs_is("/rro/sub", TMPFS_MAGIC), "rro: submount missing");
	CHECK(create_errno("/rro/sub/x") == EROFS, "rro: submount is writable");
	CHECK(stat("/idmapped/file", &st) == 0 && st.st_uid == 1000 && st.st_gid == 1000,
	      "idmapped file owned by %u:%u", st.st_uid, st.st_gid);
	return 0;
}

static int check_finalize(int msgfd)
{
	DIR *d;
	int entries = 0;

	CHECK(file_is("/proc/sys/net/ipv4/ip_forward", "1\n"), "sysctl net.ipv4.ip_forward not set");
	CHECK(file_is("/proc/sys/kernel/shm_rmid_forced", "1\n"), "sysctl kernel.shm_rmid_forced not set");
	CHECK(file_is("/proc/sys/net/ipv4/conf/lo/forwarding", "1\n"),
	      "sysctl net/ipv4/conf/lo/forwarding not set");
	CHECK(create_errno("/proc/sys/net/ipv4/ip_forward") == EROFS, "/proc/sys is writable");
	CHECK(create_errno("/ro_dir/f") == EROFS && file_is("/ro_dir/f", "x"), "readonlyPaths /ro_dir");
	CHECK(file_is("/masked_file", ""), "masked file is readable");
	CHECK(access("/proc/kcore", F_OK) < 0 || is_chardev("/proc/kcore", 1, 3),
	      "/proc/kcore is not masked");
	CHECK(is_chardev("/proc/keys", 1, 3) && file_is("/proc/keys", ""), "/proc/keys is not masked");
	CHECK(fs_is("/proc/acpi", TMPFS_MAGIC), "/proc/acpi is not masked");
	CHECK(fs_is("/masked_dir", TMPFS_MAGIC), "masked dir is not a tmpfs");
	CHECK(create_errno("/masked_dir/x") == EROFS, "masked dir is writable");
	d = opendir("/masked_dir");
	CHECK(d, "opendir /masked_dir");
	while (readdir(d))
		entries++;
	closedir(d);
	CHECK(entries == 2, "masked dir shows %d entries", entries);
	CHECK(create_errno("/newfile") == EROFS, "root.readonly: / is writable");
	CHECK(create_errno("/tmp/newfile") == 0, "/tmp is not writable");
	return 0;
}

static int full_scenario(const struct fixture *f, int msgfd, bool legacy)
{
	struct test_config *t = calloc(1, sizeof(*t));
	int devnull = -EBADF;
	struct rootfs_opts o = {.rootfs = f->rootfs, .legacy_api = legacy, .host_devnull_fd = &devnull};
	struct berth_error err = {0};
	char sub[PATH_MAX];

	CHECK(t, "calloc");
	if (private_root(msgfd))
		return 1;
	snprintf(sub, sizeof(sub), "%s/sub", f->rro_src);
	CHECK(mount("tmpfs", sub, "tmpfs", 0, NULL) == 0, "tmpfs on rro_src/sub: %s", strerror(errno));
	CHECK(mount(f->ro_src, f->ro_src, NULL, MS_BIND, NULL) == 0 &&
		  mount(NULL, f->ro_src, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) == 0,
	      "read-only bind of ro_src: %s", strerror(errno));
	full_config(t, f, legacy);
	CHECK(run_phases(&t->c, &o, &err) == 0, "rootfs setup failed: %s", err.msg);
	CHECK(devnull == -EBADF, "rootfs_finalize left the /dev/null clone open");
	if (check_filesystems(msgfd) || check_devices(f, msgfd) || check_binds(f, legacy, msgfd) ||
	    check_finalize(msgfd))
		return 1;
	return 0;
}

static int full_modern(const struct fixture *f, int msgfd)
{
	return full_scenario(f, msgfd, false);
}

static int full_legacy(const struct fixture *f, int msgfd)
{
	return full_scenario(f, msgfd, true);
}

#define FULL_NS (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC)

static void check_host_untouched(const struct fixture *f)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "/%s", f->outside);
	assert_int_not_equal(lstat(path, &st), 0);
	snprintf(path, sizeof(path), "/%s", f->outside2);
	assert_int_not_equal(lstat(path, &st), 0);
	/* the attacks' directories were created inside the rootfs instead */
	snprintf(path, sizeof(path), "%s/%s", f->rootfs, f->outside);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/%s/sub", f->rootfs, f->outside2);
	assert_int_equal(stat(path, &st), 0);
}

static void test_full_modern(void **state)
{
	const struct fixture *f = *state;

	run_scenario(f, full_modern, FULL_NS, false);
	check_host_untouched(f);
}

static void test_full_legacy(void **state)
{
	const struct fixture *f = *state;

	run_scenario(f, full_legacy, FULL_NS, false);
	check_host_untouched(f);
}

/* ---- in a user namespace: host devices bound, sysfs and cgroup2 bound from the host ---- */

static int userns_scenario(const struct fixture *f, int msgfd)
{
	struct test_config *t = calloc(1, sizeof(*t));
	int devnull = -EBADF;
	struct rootfs_opts o = {.rootfs = f->rootfs, .userns = true, .host_devnull_fd = &devnull};
	struct berth_error err = {0};
	char buf[4] = {1};
	int fd, r;

	CHECK(t, "calloc");
	if (private_root(msgfd))
		return 1;
	config_init(t);
	add_default_mounts(t);
	/* bound from the host's node of the same path, which must exist */
	t->devices[0] =
	    (struct oci_device){.path = (char *)"/dev/net/tun", .type = 'c', .major = 10, .minor = 200};
	t->c.linux_.n_devices = 1;
	t->masked[0] = (char *)"/proc/keys";
	t->masked[1] = (char *)"/masked_file";
	t->readonly[0] = (char *)"/proc/sys";
	CHECK(mknod("/tmp/berth-userns-probe", S_IFCHR | 0600, makedev(1, 3)) < 0,
	      "mknod works in a userns?");
	CHECK(run_phases(&t->c, &o, &err) == 0, "rootfs setup failed: %s", err.msg);
	if (check_filesystems(msgfd))
		return 1;
	CHECK(is_chardev("/dev/null", 1, 3) && is_chardev("/dev/urandom", 1, 9),
	      "bound /dev/null, /dev/urandom");
	CHECK(is_chardev("/dev/net/tun", 10, 200), "bound linux.devices /dev/net/tun");
	fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) && buf[0] == 0, "read /dev/zero");
	close(fd);
	CHECK(is_chardev("/proc/keys", 1, 3) && file_is("/masked_file", ""), "masking in a userns");
	r = create_errno("/proc/sys/kernel/shm_rmid_forced");
	CHECK(r == EROFS, "/proc/sys is writable: %s", strerror(r));
	return 0;
}

static void test_userns(void **state)
{
	run_scenario(*state, userns_scenario, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC, true);
}

/* ---- errors, /dev/null replaced by the image, --no-pivot, rshared ---- */

static int expect_prepare_error(const struct fixture *f, int msgfd, struct test_config *t, const char *msg)
{
	struct rootfs_opts o = {.rootfs = f->rootfs};
	struct berth_error err = {0};

	if (private_root(msgfd))
		return 1;
	CHECK(rootfs_prepare(&t->c, &o, &err) < 0, "rootfs_prepare succeeded");
	CHECK(strcmp(err.msg, msg) == 0, "message \"%s\", expected \"%s\"", err.msg, msg);
	return 0;
}

static int bad_source(const struct fixture *f, int msgfd)
{
	struct test_config t;

	config_init(&t);
	add_mount(&t, "/proc", "proc", "proc", opts_proc);
	add_mount(&t, "/tmp", "tmpfs", "tmpfs", opts_tmp);
	add_mount(&t, "/etc", "tmpfs", "tmpfs", opts_none);
	add_mount(&t, "/x", "bind", "/nonexistent-berth-source", opts_rbind_ro);
	return expect_prepare_error(f, msgfd, &t,
				    "mounts[3]: mount source '/nonexistent-berth-source' does not exist");
}

/* Data options on a bind ("mode=755", as podman and hand-written configs have) are ignored like
 * runc and crun do: the bind is made, read-only as asked (issue 13 #10). */
static int bind_data_option(const struct fixture *f, int msgfd)
{
	static char *opts[] = {"rbind", "ro", "mode=755", "berth-unknown-option", NULL};
	struct rootfs_opts o = {.rootfs = f->rootfs};
	struct berth_error err = {0};
	struct test_config t;

	if (private_root(msgfd))
		return 1;
	config_init(&t);
	add_mount(&t, "/tmp", "tmpfs", "tmpfs", opts_tmp);
	add_mount(&t, "/etc/x", "bind", f->hostfile, opts);
	CHECK(run_phases(&t.c, &o, &err) == 0, "rootfs setup failed: %s", err.msg);
	CHECK(file_is("/etc/x", "hello from the host"), "the bind with data options is not there");
	CHECK(create_errno("/etc/x") == EROFS, "the bind with data options is not read-only");
	return 0;
}

static int bad_fs_type(const struct fixture *f, int msgfd)
{
	struct test_config t;

	config_init(&t);
	add_mount(&t, "/tmp", "tmpfs", "tmpfs", opts_tmp);
	add_mount(&t, "/mnt", "berthnosuchfs", "x", opts_none);
	return expect_prepare_error(f, msgfd, &t, "mounts[1] (/mnt): mount berthnosuchfs: No such device");
}

static int bind_into_proc(const struct fixture *f, int msgfd)
{
	static char *opts[] = {"bind", NULL};
	struct test_config t;

	config_init(&t);
	add_mount(&t, "/proc", "proc", "proc", opts_proc);
	/* through a symlink of the image to /proc/sys: still refused */
	add_mount(&t, "/procsys/kernel/hostname", "bind", f->hostfile, opts);
	return expect_prepare_error(f, msgfd, &t,
				    "mounts[1] (/procsys/kernel/hostname): the destination is inside /proc");
}

static int bad_sysctl(const struct fixture *f, int msgfd)
{
	struct test_config t;
	struct rootfs_opts o = {.rootfs = f->rootfs};
	struct berth_error err = {0};

	if (private_root(msgfd))
		return 1;
	config_init(&t);
	add_mount(&t, "/proc", "proc", "proc", opts_proc);
	t.sysctl[0] = (struct oci_kv){.key = (char *)"kernel/../../../etc/x", .value = (char *)"1"};
	t.c.linux_.n_sysctl = 1;
	CHECK(run_phases(&t.c, &o, &err) < 0, "a sysctl key with .. was accepted");
	CHECK(strcmp(err.msg, "linux.sysctl: invalid key 'kernel/../../../etc/x'") == 0, "message: %s",
	      err.msg);
	return 0;
}

static void test_errors(void **state)
{
	run_scenario(*state, bad_source, CLONE_NEWNS, false);
	run_scenario(*state, bind_data_option, CLONE_NEWNS, false);
	run_scenario(*state, bad_fs_type, CLONE_NEWNS, false);
	run_scenario(*state, bind_into_proc, CLONE_NEWNS | CLONE_NEWPID, false);
	run_scenario(*state, bad_sysctl, CLONE_NEWNS | CLONE_NEWPID, false);
}

/* The image replaced /dev/null by a regular file (CVE-2025-31133): masking must not bind it. */
static int fake_devnull(const struct fixture *f, int msgfd, bool with_host_clone)
{
	struct test_config t;
	int devnull = -EBADF;
	struct rootfs_opts o = {.rootfs = f->rootfs, .host_devnull_fd = with_host_clone ? &devnull : NULL};
	struct berth_error err = {0};
	char dev[PATH_MAX];

	if (private_root(msgfd))
		return 1;
	int fd;

	/* no cmocka assertion in here: this is a forked child */
	snprintf(dev, sizeof(dev), "%s/dev/null", f->rootfs);
	fd = open(dev, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, "not the null device", 19) == 19, "write %s", dev);
	close(fd);
	config_init(&t);
	add_mount(&t, "/tmp", "tmpfs", "tmpfs", opts_tmp);
	t.masked[0] = (char *)"/masked_file";
	if (!with_host_clone) {
		CHECK(run_phases(&t.c, &o, &err) < 0, "masking with a fake /dev/null succeeded");
		CHECK(strstr(err.msg, "not the null device"), "message: %s", err.msg);
		return 0;
	}
	CHECK(run_phases(&t.c, &o, &err) == 0, "rootfs setup failed: %s", err.msg);
	CHECK(is_chardev("/masked_file", 1, 3) && file_is("/masked_file", ""),
	      "masked with the host's /dev/null");
	CHECK(file_is("/dev/null", "not the null device"), "the image's /dev/null changed");
	return 0;
}

static int fake_devnull_refused(const struct fixture *f, int msgfd)
{
	return fake_devnull(f, msgfd, false);
}

static int fake_devnull_host(const struct fixture *f, int msgfd)
{
	return fake_devnull(f, msgfd, true);
}

static void test_fake_devnull(void **state)
{
	run_scenario(*state, fake_devnull_refused, CLONE_NEWNS, false);
	run_scenario(*state, fake_devnull_host, CLONE_NEWNS, false);
}

static int no_pivot(const struct fixture *f, int msgfd)
{
	struct test_config t;
	struct rootfs_opts o = {.rootfs = f->rootfs, .no_pivot = true};
	struct berth_error err = {0};

	if (private_root(msgfd))
		return 1;
	config_init(&t);
	add_mount(&t, "/tmp", "tmpfs", "tmpfs", opts_tmp);
	CHECK(run_phases(&t.c, &o, &err) == 0, "rootfs setup failed: %s", err.msg);
	CHECK(file_is("/marker", "rootfs marker"), "not in the rootfs after --no-pivot");
	CHECK(fs_is("/tmp", TMPFS_MAGIC), "/tmp");
	return 0;
}

static int rshared(const struct fixture *f, int msgfd)
{
	struct test_config t;
	struct rootfs_opts o = {.rootfs = f->rootfs};
	struct berth_error err = {0};

	if (private_root(msgfd))
		return 1;
	config_init(&t);
	add_mount(&t, "/proc", "proc", "proc", opts_proc);
	add_mount(&t, "/tmp", "tmpfs", "tmpfs", opts_tmp);
	t.c.linux_.rootfs_propagation = (char *)"rshared";
	CHECK(run_phases(&t.c, &o, &err) == 0, "rootfs setup failed: %s", err.msg);
	CHECK(file_is("/marker", "rootfs marker"), "not in the rootfs");
	if (!mount_line_has("/", " shared:")) {
		char mi[4096];
		int fd = open("/proc/self/mountinfo", O_RDONLY);
		ssize_t n = read(fd, mi, sizeof(mi) - 1);
		mi[n > 0 ? n : 0] = 0;
		CHECK(0, "/ is not shared: %s", mi);
	}
	return 0;
}

static void test_pivot_variants(void **state)
{
	run_scenario(*state, no_pivot, CLONE_NEWNS, false);
	run_scenario(*state, rshared, CLONE_NEWNS | CLONE_NEWPID, false);
}

/* ---- path resolution: openat2 and the fallback walk must agree ---- */

static void test_path_clean(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(rootfs_path_clean("//a/./b/../c/", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/a/c");
	assert_int_equal(rootfs_path_clean("/../..", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/");
	assert_int_equal(rootfs_path_clean("/dev/", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/dev");
	assert_int_equal(rootfs_path_clean("/a/b/../../../c", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/c");
	assert_int_equal(rootfs_path_clean("relative", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rootfs_path_clean("/0123456789", buf, 8), -ENAMETOOLONG);
}

static void same_inode(int fd, int dirfd, const char *path)
{
	struct stat a, b;

	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstatat(dirfd, path, &b, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

static void resolve_mode(const struct fixture *f, int rootfd, unsigned int mode)
{
	char path[PATH_MAX];
	struct stat st;
	int fd = -1;

	/* plain, "..", clamped ".." */
	assert_int_equal(rootfs_resolve(rootfd, "/ro_dir/f", mode, O_RDONLY, &fd), 0);
	same_inode(fd, rootfd, "ro_dir/f");
	close(fd);
	assert_int_equal(rootfs_resolve(rootfd, "../../../ro_dir/../ro_dir/./f", mode, O_PATH, &fd), 0);
	same_inode(fd, rootfd, "ro_dir/f");
	close(fd);
	/* an absolute symlink escaping: confined and created inside */
	assert_int_equal(
	    rootfs_resolve(rootfd, "/evil/a", mode | ROOTFS_RESOLVE_MKDIR, O_PATH | O_DIRECTORY, &fd), 0);
	snprintf(path, sizeof(path), "%s/a", f->outside);
	same_inode(fd, rootfd, path);
	close(fd);
	/* a relative one: the same, with a file as last component */
	assert_int_equal(rootfs_resolve(rootfd, "/evil2/d/file", mode | ROOTFS_RESOLVE_MKFILE, O_RDONLY, &fd),
			 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_size == 0);
	snprintf(path, sizeof(path), "%s/d/file", f->outside2);
	same_inode(fd, rootfd, path);
	close(fd);
	/* errors */
	assert_int_equal(rootfs_resolve(rootfd, "/nonexistent/x", mode, O_PATH, &fd), -ENOENT);
	assert_int_equal(rootfs_resolve(rootfd, "/masked_file/x", mode | ROOTFS_RESOLVE_MKDIR, O_PATH, &fd),
			 -ENOTDIR);
	assert_int_equal(rootfs_resolve(rootfd, "/loop1", mode, O_PATH, &fd), -ELOOP);
	assert_int_equal(rootfs_resolve(rootfd, "/evil", mode | ROOTFS_RESOLVE_NO_SYMLINKS, O_PATH, &fd),
			 -ELOOP);
	assert_int_equal(rootfs_resolve(rootfd, "/masked_file", mode, O_PATH | O_DIRECTORY, &fd), -ENOTDIR);
}

static void resolve_proc(unsigned int mode)
{
	int procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC),
	    rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = -1;

	assert_true(procfd >= 0 && rootfd >= 0);
	/* /proc/self is a plain symlink, /proc/self/fd/N a magic one */
	assert_int_equal(rootfs_resolve(procfd, "self/status", mode, O_RDONLY, &fd), 0);
	close(fd);
	assert_int_equal(rootfs_resolve(procfd, "self/fd/0", mode, O_PATH, &fd), -ELOOP);
	assert_int_equal(rootfs_resolve(procfd, "self/root/etc", mode, O_PATH, &fd), -ELOOP);
	/* crossing into the /proc mount */
	assert_int_equal(rootfs_resolve(rootfd, "proc/sys", mode | ROOTFS_RESOLVE_NO_XDEV, O_PATH, &fd),
			 -EXDEV);
	assert_int_equal(
	    rootfs_resolve(procfd, "sys/kernel/ostype", mode | ROOTFS_RESOLVE_NO_XDEV, O_RDONLY, &fd), 0);
	close(fd);
	close(procfd);
	close(rootfd);
}

static void test_resolve(void **state)
{
	const struct fixture *f = *state;
	int rootfd = open(f->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char path[PATH_MAX];

	assert_true(rootfd >= 0);
	put_link(f->rootfs, "loop1", "loop2");
	put_link(f->rootfs, "loop2", "/loop1");
	resolve_mode(f, rootfd, 0);
	resolve_mode(f, rootfd, ROOTFS_RESOLVE_FALLBACK);
	resolve_proc(0);
	resolve_proc(ROOTFS_RESOLVE_FALLBACK);
	close(rootfd);
	snprintf(path, sizeof(path), "/%s", f->outside);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "/%s", f->outside2);
	assert_int_not_equal(access(path, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_clean),
	    cmocka_unit_test_setup_teardown(test_resolve, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_full_modern, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_full_legacy, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_userns, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_errors, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_fake_devnull, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_pivot_variants, fixture_setup, fixture_teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_rootfs: needs root (mount namespaces, pivot_root): skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
