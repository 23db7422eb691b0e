/* The image store (images/store.c, import.c, manage.c, layers.c, export.c, container.c) on a
 * temporary directory: OCI, docker-save and plain rootfs archives built here with libarchive
 * (digests computed here too), the name index (tag, lookups by name, digest and id prefix, rm,
 * garbage collection, rm refused while a container uses the image), export and re-import,
 * every kind of broken archive refused with nothing left behind, stale imports swept, and
 * containers prepared as a copy (and, as root, as an overlay in a private mount namespace). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../images/internal.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/images.h"
#include "berth/oci.h"
#include "berth/util.h"
#include "berth/sha256.h"

static bool is_root;

/* ---- bytes, digests, tars ---- */

struct buf {
	char *data;
	size_t len;
	char digest[IMAGE_DIGEST_SIZE];
};

static void buf_set(struct buf *b, const void *data, size_t len)
{
	uint8_t d[BERTH_SHA256_SIZE];
	char hex[BERTH_SHA256_HEX_SIZE];

	b->data = malloc(len + 1);
	assert_non_null(b->data);
	memcpy(b->data, data, len);
	b->data[len] = '\0';
	b->len = len;
	berth_sha256(data, len, d);
	berth_sha256_hex(d, hex);
	snprintf(b->digest, sizeof(b->digest), "sha256:%s", hex);
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	buf_set(b, s, (size_t)n);
	free(s);
}

static void buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

struct file {
	const char *name;
	const char *data; /* regular file */
	size_t len;
	const char *symlink;
	bool dir;
};

/* A tar of @files into @out (or, with @path, into that file); @filter "gzip"/"xz" or NULL. */
static void tar_of(const struct file *files, size_t n, const char *filter, struct buf *out, const char *path)
{
	int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
		      : memfd_create("t", MFD_CLOEXEC);
	struct archive *a = archive_write_new();
	struct stat st;

	assert_true(fd >= 0 && a);
	archive_write_set_format_pax_restricted(a);
	if (filter && strcmp(filter, "gzip") == 0)
		assert_true(archive_write_add_filter_gzip(a) >= ARCHIVE_WARN);
	if (filter && strcmp(filter, "xz") == 0)
		assert_true(archive_write_add_filter_xz(a) >= ARCHIVE_WARN);
	assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t len = files[i].data ? (files[i].len ? files[i].len : strlen(files[i].data)) : 0;

		archive_entry_set_pathname(e, files[i].name);
		archive_entry_set_filetype(e, files[i].dir       ? AE_IFDIR
					      : files[i].symlink ? AE_IFLNK
								 : AE_IFREG);
		archive_entry_set_perm(e, files[i].dir ? 0755 : 0644);
		archive_entry_set_mtime(e, 1000000000, 0);
		if (files[i].symlink)
			archive_entry_set_symlink(e, files[i].symlink);
		archive_entry_set_size(e, (int64_t)len);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (len)
			assert_int_equal(archive_write_data(a, files[i].data, len), (ssize_t)len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	if (out) {
		assert_int_equal(fstat(fd, &st), 0);
		char *data = malloc((size_t)st.st_size + 1);
		assert_non_null(data);
		assert_int_equal(pread(fd, data, (size_t)st.st_size, 0), st.st_size);
		buf_set(out, data, (size_t)st.st_size);
		free(data);
	}
	close(fd);
}

/* ---- the fixture ---- */

static char base[64], storage[128], storage2[128], work[128];
static struct image_store *S;

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int setup(void **state)
{
	struct berth_error err = {0};
	(void)state;
	snprintf(base, sizeof(base), "/tmp/berth-store-XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(storage, sizeof(storage), "%s/store", base);
	snprintf(storage2, sizeof(storage2), "%s/store2", base);
	snprintf(work, sizeof(work), "%s/work", base);
	assert_int_equal(mkdir(work, 0755), 0);
	assert_int_equal(image_store_open(storage, true, &S, &err), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	image_store_close(S);
	S = NULL;
	nftw(base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static size_t count_dir(const char *store, const char *sub)
{
	char path[256];
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", store, sub);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static size_t n_images(void)
{
	struct image_info *infos = NULL;
	struct berth_error err = {0};
	size_t n = 0;

	assert_int_equal(image_list(S, &infos, &n, &err), 0);
	image_info_free(infos, n);
	return n;
}

/* Nothing of a failed import: no image, no blob, no layer, no temporary directory. */
static void assert_store_empty(void)
{
	assert_int_equal(n_images(), 0);
	assert_int_equal(count_dir(storage, "blobs/sha256"), 0);
	assert_int_equal(count_dir(storage, "layers"), 0);
	assert_int_equal(count_dir(storage, "tmp"), 0);
}

/* ---- an OCI image ---- */

struct image {
	struct buf layer, config, manifest, index;
	char diff_id[IMAGE_DIGEST_SIZE];
};

static void image_free(struct image *im)
{
	buf_free(&im->layer);
	buf_free(&im->config);
	buf_free(&im->manifest);
	buf_free(&im->index);
}

static const struct file hello_files[] = {
    {.name = "bin", .dir = true},
    {.name = "bin/hello", .data = "#!/bin/sh\necho hello\n"},
    {.name = "etc", .dir = true},
    {.name = "etc/passwd", .data = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"},
    {.name = "etc/group", .data = "root:x:0:\napp:x:1000:\nstaff:x:50:app\n"},
};

/* A one-layer image; @diff_override and @size_delta break it on purpose. */
static void make_image(struct image *im, const char *name, const char *diff_override, int size_delta,
		       const char *layer_type)
{
	struct buf plain = {0};

	tar_of(hello_files, ARRAY_SIZE(hello_files), NULL, &plain, NULL);
	snprintf(im->diff_id, sizeof(im->diff_id), "%s", plain.digest);
	im->layer = plain;
	buf_printf(&im->config,
		   "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-05-06T07:08:09Z\","
		   "\"config\":{\"Cmd\":[\"/bin/"
		   "hello\"],\"Env\":[\"A=1\"],\"User\":\"app\",\"Labels\":{\"l\":\"v\"}},"
		   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
		   diff_override ? diff_override : im->diff_id);
	buf_printf(&im->manifest,
		   "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MEDIA_TYPE_MANIFEST "\","
		   "\"config\":{\"mediaType\":\"" OCI_MEDIA_TYPE_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},"
		   "\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
		   im->config.digest, im->config.len, layer_type ? layer_type : OCI_MEDIA_TYPE_LAYER,
		   im->layer.digest, (size_t)((long)im->layer.len + size_delta));
	buf_printf(&im->index,
		   "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MEDIA_TYPE_MANIFEST "\","
		   "\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"io.containerd.image.name\":\"%s\","
		   "\"org.opencontainers.image.ref.name\":\"1\"}}]}",
		   im->manifest.digest, im->manifest.len, name);
}

enum tamper { T_NONE, T_DIGEST, T_MISSING_LAYER, T_MISSING_CONFIG };

/* The image-layout tarball of @im at @path. */
static void write_oci(const struct image *im, const char *path, enum tamper t)
{
	char names[3][128];
	const struct buf *blobs[3] = {&im->layer, &im->config, &im->manifest};
	struct file files[8];
	_cleanup_free_ char *tampered = malloc(im->layer.len);
	size_t n = 0;

	assert_non_null(tampered);
	memcpy(tampered, im->layer.data, im->layer.len);
	tampered[im->layer.len - 1] ^= 1; /* the same size, another digest */

	files[n++] = (struct file){.name = "oci-layout", .data = "{\"imageLayoutVersion\":\"1.0.0\"}"};
	files[n++] = (struct file){.name = "index.json", .data = im->index.data, .len = im->index.len};
	files[n++] = (struct file){.name = "blobs", .dir = true};
	files[n++] = (struct file){.name = "blobs/sha256", .dir = true};
	for (size_t i = 0; i < 3; i++) {
		if ((t == T_MISSING_LAYER && i == 0) || (t == T_MISSING_CONFIG && i == 1))
			continue;
		snprintf(names[i], sizeof(names[i]), "blobs/sha256/%s", blobs[i]->digest + 7);
		files[n++] = (struct file){.name = names[i], .data = blobs[i]->data, .len = blobs[i]->len};
		if (t == T_DIGEST && i == 0)
			files[n - 1].data = tampered;
	}
	tar_of(files, n, NULL, NULL, path);
}

static int import(const char *path, const char *name, struct image_import_result *res,
		  struct berth_error *err)
{
	struct image_import_opts o = {.name = name};

	memset(err, 0, sizeof(*err));
	memset(res, 0, sizeof(*res));
	return image_import(S, path, &o, res, err);
}

/* ---- tests ---- */

static void test_import_oci(void **state)
{
	(void)state;
	struct image im = {0};
	struct image_import_result res;
	struct berth_error err;
	struct image_info info;
	char path[256], id[16], layer_file[256];

	make_image(&im, "example.com/hello:1", NULL, 0, NULL);
	snprintf(path, sizeof(path), "%s/oci.tar", work);
	write_oci(&im, path, T_NONE);
	if (import(path, NULL, &res, &err) < 0)
		fail_msg("import: %s", err.msg);
	assert_string_equal(res.names[0], "example.com/hello:1");
	assert_string_equal(res.digests[0], im.manifest.digest);
	assert_null(res.names[1]);
	image_import_result_free(&res);
	assert_int_equal(n_images(), 1);
	assert_int_equal(count_dir(storage, "blobs/sha256"), 3);
	/* the layer, unpacked under its chain id (= diff_id for the first layer) */
	snprintf(layer_file, sizeof(layer_file), "%s/layers/%s/bin/hello", storage, im.diff_id + 7);
	assert_int_equal(access(layer_file, F_OK), 0);
	/* lookups */
	assert_int_equal(image_get(S, "example.com/hello:1", &info, &err), 0);
	assert_string_equal(info.digest, im.manifest.digest);
	assert_string_equal(info.config->user, "app");
	assert_int_equal(info.size, im.layer.len + im.config.len);
	image_info_clear(&info);
	assert_int_equal(image_get(S, im.manifest.digest, &info, &err), 0);
	image_info_clear(&info);
	snprintf(id, sizeof(id), "%.12s", im.config.digest + 7);
	assert_int_equal(image_get(S, id, &info, &err), 0);
	image_info_clear(&info);
	assert_int_equal(image_get(S, "example.com/hello", &info, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "does not exist"));
	/* the same archive again: nothing new */
	assert_int_equal(import(path, NULL, &res, &err), 0);
	image_import_result_free(&res);
	assert_int_equal(n_images(), 1);
	assert_int_equal(count_dir(storage, "blobs/sha256"), 3);
	assert_int_equal(count_dir(storage, "layers"), 1);
	assert_int_equal(count_dir(storage, "tmp"), 0);
	image_free(&im);
}

static void test_names_tag_rm_gc(void **state)
{
	(void)state;
	struct image im = {0};
	struct image_import_result res;
	struct image_info *infos;
	struct berth_error err;
	char path[256], marker[256];
	size_t n;

	make_image(&im, "example.com/hello:1", NULL, 0, NULL);
	snprintf(path, sizeof(path), "%s/oci.tar", work);
	write_oci(&im, path, T_NONE);
	assert_int_equal(import(path, "hello:one", &res, &err), 0);
	assert_string_equal(res.names[0], "hello:one");
	image_import_result_free(&res);
	assert_int_equal(image_tag(S, "hello:one", "other/name", &err), 0);
	assert_int_equal(image_tag(S, "nope", "x", &err), -ENOENT);
	assert_int_equal(image_tag(S, "hello:one", "Bad Name", &err), -EINVAL);
	assert_int_equal(image_list(S, &infos, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(infos[0].names[0], "hello:one");
	assert_string_equal(infos[0].names[1], "other/name:latest");
	image_info_free(infos, n);
	/* one name of two goes, the image stays */
	assert_int_equal(image_remove(S, "other/name", &err), 0);
	assert_int_equal(n_images(), 1);
	/* a container uses it: its last name stays */
	snprintf(marker, sizeof(marker), "%s/containers/c1", storage);
	assert_int_equal(mkdir(marker, 0700), 0);
	strcat(marker, "/image");
	int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, im.manifest.digest, strlen(im.manifest.digest)),
			 (ssize_t)strlen(im.manifest.digest));
	close(fd);
	assert_int_equal(image_remove(S, "hello:one", &err), -EBUSY);
	assert_non_null(strstr(err.msg, "in use by container \"c1\""));
	assert_int_equal(n_images(), 1);
	/* by id: the image with all its names, so refused too while in use */
	char id[16];
	snprintf(id, sizeof(id), "%.12s", im.config.digest + 7);
	assert_int_equal(image_tag(S, "hello:one", "third:x", &err), 0);
	assert_int_equal(image_remove(S, id, &err), -EBUSY);
	unlink(marker);
	*strrchr(marker, '/') = '\0';
	rmdir(marker);
	assert_int_equal(image_remove(S, id, &err), 0);
	assert_store_empty();
	image_free(&im);
}

static void test_import_docker(void **state)
{
	(void)state;
	const struct file l1[] = {{.name = "a", .data = "a1"}, {.name = "keep", .data = "k"}};
	const struct file l2[] = {{.name = "a", .data = "a2"}, {.name = ".wh.keep", .data = ""}};
	struct buf t1 = {0}, t2 = {0}, config = {0};
	struct image_import_result res;
	struct image_info info;
	struct berth_error err;
	char path[256], cfgname[80], layer_file[256];

	tar_of(l1, 2, NULL, &t1, NULL);
	tar_of(l2, 2, NULL, &t2, NULL);
	buf_printf(&config,
		   "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":null,\"Env\":null},"
		   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\",\"%s\"]}}",
		   t1.digest, t2.digest, t1.digest);
	snprintf(cfgname, sizeof(cfgname), "%s.json", config.digest + 7);
	char manifest[512];
	snprintf(manifest, sizeof(manifest),
		 "[{\"Config\":\"%s\",\"RepoTags\":[\"docker.io/library/dock:tag\"],"
		 "\"Layers\":[\"l1/layer.tar\",\"l2/layer.tar\",\"l3/layer.tar\"]}]",
		 cfgname);
	/* l3 links to l1, as docker save writes a repeated layer */
	const struct file outer[] = {
	    {.name = "l1/layer.tar", .data = t1.data, .len = t1.len},
	    {.name = "l2/layer.tar", .data = t2.data, .len = t2.len},
	    {.name = "l3/layer.tar", .symlink = "../l1/layer.tar"},
	    {.name = cfgname, .data = config.data, .len = config.len},
	    {.name = "manifest.json", .data = manifest},
	};
	snprintf(path, sizeof(path), "%s/docker.tar", work);
	tar_of(outer, ARRAY_SIZE(outer), NULL, NULL, path);
	if (import(path, NULL, &res, &err) < 0)
		fail_msg("import: %s", err.msg);
	assert_string_equal(res.names[0], "docker.io/library/dock:tag");
	image_import_result_free(&res);
	assert_int_equal(image_get(S, "dock:tag", &info, &err), 0);
	assert_int_equal(info.manifest->n_layers, 3);
	assert_string_equal(info.manifest->config.digest, config.digest);
	assert_string_equal(info.manifest->layers[0].digest, t1.digest);
	assert_string_equal(info.manifest->layers[2].digest, t1.digest);
	assert_string_equal(info.manifest->layers[0].media_type, OCI_MEDIA_TYPE_LAYER);
	image_info_clear(&info);
	assert_int_equal(count_dir(storage, "layers"), 3);
	/* layer 2, as an overlay lower dir, has the whiteout as a 0/0 device (as root) */
	char chain[IMAGE_DIGEST_SIZE];
	chain_id_next(t1.digest, t2.digest, chain);
	snprintf(layer_file, sizeof(layer_file), "%s/layers/%s/keep", storage, chain + 7);
	if (is_root) {
		struct stat st;
		assert_int_equal(lstat(layer_file, &st), 0);
		assert_true(S_ISCHR(st.st_mode));
	}
	buf_free(&t1);
	buf_free(&t2);
	buf_free(&config);
}

static void test_import_rootfs(void **state)
{
	(void)state;
	struct image_import_result res;
	struct image_info info;
	struct berth_error err;
	struct buf plain = {0};
	char path[256], xzpath[256];

	tar_of(hello_files, ARRAY_SIZE(hello_files), NULL, &plain, NULL);
	snprintf(path, sizeof(path), "%s/My_Rootfs-1.0.tar.gz", work);
	tar_of(hello_files, ARRAY_SIZE(hello_files), "gzip", NULL, path);
	if (import(path, NULL, &res, &err) < 0)
		fail_msg("import: %s", err.msg);
	assert_string_equal(res.names[0], "my_rootfs-1.0:latest");
	image_import_result_free(&res);
	assert_int_equal(image_get(S, "my_rootfs-1.0", &info, &err), 0);
	assert_string_equal(info.config->diff_ids[0], plain.digest);
	assert_string_equal(info.config->env[0],
			    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	assert_string_equal(info.manifest->layers[0].media_type, OCI_MEDIA_TYPE_LAYER_GZIP);
	image_info_clear(&info);
	/* xz has no OCI media type: the layer is stored decompressed */
	snprintf(xzpath, sizeof(xzpath), "%s/rootfs.txz", work);
	tar_of(hello_files, ARRAY_SIZE(hello_files), "xz", NULL, xzpath);
	assert_int_equal(import(xzpath, "xz:1", &res, &err), 0);
	image_import_result_free(&res);
	assert_int_equal(image_get(S, "xz:1", &info, &err), 0);
	assert_string_equal(info.manifest->layers[0].media_type, OCI_MEDIA_TYPE_LAYER);
	assert_string_equal(info.manifest->layers[0].digest, plain.digest);
	image_info_clear(&info);
	/* both share the one cached layer */
	assert_int_equal(count_dir(storage, "layers"), 1);
	buf_free(&plain);
}

static void expect_import_fails(const char *path, const char *name, const char *needle)
{
	struct image_import_result res;
	struct berth_error err;
	int r = import(path, name, &res, &err);

	if (r >= 0)
		fail_msg("importing %s succeeded", path);
	if (!strstr(err.msg, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
	assert_store_empty();
}

static void test_import_failures(void **state)
{
	(void)state;
	struct image im = {0}, bad = {0};
	char path[256], copy[512];
	struct stat st;

	make_image(&im, "x/y:1", NULL, 0, NULL);
	snprintf(path, sizeof(path), "%s/bad.tar", work);
	write_oci(&im, path, T_DIGEST);
	expect_import_fails(path, NULL, "content has digest");
	write_oci(&im, path, T_MISSING_LAYER);
	expect_import_fails(path, NULL, "missing");
	write_oci(&im, path, T_MISSING_CONFIG);
	expect_import_fails(path, NULL, "missing");
	/* truncated */
	write_oci(&im, path, T_NONE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size / 2), 0);
	expect_import_fails(path, NULL, "bad.tar");
	/* the config names another diff_id */
	make_image(&bad, "x/y:1", "sha256:0000000000000000000000000000000000000000000000000000000000000000",
		   0, NULL);
	write_oci(&bad, path, T_NONE);
	expect_import_fails(path, NULL, "the image config says");
	image_free(&bad);
	/* a layer descriptor with the wrong size */
	make_image(&bad, "x/y:1", NULL, 1, NULL);
	write_oci(&bad, path, T_NONE);
	expect_import_fails(path, NULL, "descriptor");
	image_free(&bad);
	/* an unknown layer media type */
	make_image(&bad, "x/y:1", NULL, 0, "application/vnd.example.layer");
	write_oci(&bad, path, T_NONE);
	expect_import_fails(path, NULL, "unsupported media type");
	image_free(&bad);
	/* not an archive */
	snprintf(copy, sizeof(copy), "%s/junk.tar", work);
	int fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_int_equal(write(fd, "junk junk junk", 14), 14);
	close(fd);
	expect_import_fails(copy, NULL, "junk.tar");
	/* an invalid --name */
	write_oci(&im, path, T_NONE);
	expect_import_fails(path, "UPPER:case", "invalid image name");
	image_free(&im);
}

static void test_export_roundtrip(void **state)
{
	(void)state;
	struct image im = {0};
	struct image_import_result res;
	struct image_store *s2 = NULL;
	struct berth_error err = {0};
	char path[256], out[256];

	make_image(&im, "example.com/hello:1", NULL, 0, NULL);
	snprintf(path, sizeof(path), "%s/oci.tar", work);
	write_oci(&im, path, T_NONE);
	assert_int_equal(import(path, NULL, &res, &err), 0);
	image_import_result_free(&res);
	snprintf(out, sizeof(out), "%s/exported.tar", work);
	if (image_export(S, "example.com/hello:1", out, &err) < 0)
		fail_msg("export: %s", err.msg);
	assert_int_equal(image_store_open(storage2, true, &s2, &err), 0);
	struct image_import_opts o = {0};
	assert_int_equal(image_import(s2, out, &o, &res, &err), 0);
	assert_string_equal(res.names[0], "example.com/hello:1");
	assert_string_equal(res.digests[0], im.manifest.digest);
	image_import_result_free(&res);
	image_store_close(s2);
	image_free(&im);
}

static void test_stale_import_swept(void **state)
{
	(void)state;
	struct image im = {0};
	struct image_import_result res;
	struct berth_error err;
	char stale[256], path[256];

	/* What a killed import leaves: a temporary directory nobody holds the lock of. */
	snprintf(stale, sizeof(stale), "%s/tmp/deadbeefdeadbeef", storage);
	assert_int_equal(mkdir(stale, 0700), 0);
	strcat(stale, "/blobs");
	assert_int_equal(mkdir(stale, 0700), 0);
	make_image(&im, "a/b:1", NULL, 0, NULL);
	snprintf(path, sizeof(path), "%s/oci.tar", work);
	write_oci(&im, path, T_NONE);
	assert_int_equal(import(path, NULL, &res, &err), 0);
	image_import_result_free(&res);
	assert_int_equal(count_dir(storage, "tmp"), 0);
	image_free(&im);
}

static void test_ref_normalize(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} ok[] = {
	    {"alpine", "alpine:latest"},
	    {"alpine:3.20", "alpine:3.20"},
	    {"library/alpine:3.20.3", "library/alpine:3.20.3"},
	    {"localhost:5000/a/b", "localhost:5000/a/b:latest"},
	    {"Registry.Example.com/x_y/z-w:V_1.0", "Registry.Example.com/x_y/z-w:V_1.0"},
	};
	static const char *const bad[] = {"",     "UPPER",      "a//b", "a:",     "a:-x", "a@sha256:00",
					  "a/.b", "with space", ":tag", "a/b:t/c"};
	struct berth_error err;
	char out[512];

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		if (image_ref_normalize(ok[i].in, out, sizeof(out), &err) < 0)
			fail_msg("%s: %s", ok[i].in, err.msg);
		assert_string_equal(out, ok[i].out);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (image_ref_normalize(bad[i], out, sizeof(out), &err) == 0)
			fail_msg("\"%s\" was accepted as \"%s\"", bad[i], out);
	}
}

/* ---- containers and bundles ---- */

static struct oci_config *read_config(const char *dir)
{
	struct oci_config *c = NULL;
	struct berth_error err = {0};
	char *json = NULL, path[512];
	size_t len;

	snprintf(path, sizeof(path), "%s/config.json", dir);
	assert_int_equal(read_file_at(AT_FDCWD, path, 1 << 20, &json, &len), 0);
	if (oci_config_parse(json, len, &c, &err) < 0)
		fail_msg("config.json: %s", err.msg);
	free(json);
	return c;
}

static void import_hello(void)
{
	struct image im = {0};
	struct image_import_result res;
	struct berth_error err;
	char path[256];

	make_image(&im, "example.com/hello:1", NULL, 0, NULL);
	snprintf(path, sizeof(path), "%s/oci.tar", work);
	write_oci(&im, path, T_NONE);
	assert_int_equal(import(path, NULL, &res, &err), 0);
	image_import_result_free(&res);
	image_free(&im);
}

static void test_bundle_create(void **state)
{
	(void)state;
	struct image_bundle_opts o = {.run = {.cgroups_path = "/berth-test/unit"}};
	struct berth_error err = {0};
	struct oci_config *c;
	char dir[256], file[300];

	import_hello();
	snprintf(dir, sizeof(dir), "%s/bundle", work);
	if (image_bundle_create(S, "example.com/hello:1", dir, &o, &err) < 0)
		fail_msg("unpack: %s", err.msg);
	snprintf(file, sizeof(file), "%s/rootfs/bin/hello", dir);
	assert_int_equal(access(file, F_OK), 0);
	c = read_config(dir);
	assert_string_equal(c->process.args[0], "/bin/hello");
	assert_int_equal(c->process.user.uid, 1000);
	assert_int_equal(c->process.user.gid, 1000);
	assert_int_equal(c->process.user.n_additional_gids, 1);
	assert_int_equal(c->process.user.additional_gids[0], 50);
	assert_string_equal(c->linux_.cgroups_path, "/berth-test/unit");
	assert_string_equal(oci_config_annotation(c, "l"), "v");
	assert_string_equal(c->root_path, "rootfs");
	oci_config_free(c);
	/* not into a directory with content */
	assert_int_equal(image_bundle_create(S, "example.com/hello:1", dir, &o, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "not empty"));
}

static void test_container_copy(void **state)
{
	(void)state;
	struct image_bundle_opts o = {.copy = true, .run = {.args = (char *[]){"echo", "hi", NULL}}};
	struct berth_error err = {0};
	struct oci_config *c;
	char *bundle = NULL, file[512];

	import_hello();
	if (image_container_prepare(S, "example.com/hello:1", "ctr1", &o, &bundle, &err) < 0)
		fail_msg("prepare: %s", err.msg);
	snprintf(file, sizeof(file), "%s/containers/ctr1", storage);
	assert_string_equal(bundle, file);
	snprintf(file, sizeof(file), "%s/rootfs/bin/hello", bundle);
	assert_int_equal(access(file, F_OK), 0);
	c = read_config(bundle);
	assert_string_equal(c->process.args[0], "echo");
	assert_string_equal(c->hostname, "ctr1");
	const char *rootfs = oci_config_annotation(c, IMAGE_ANNOTATION_ROOTFS);
	snprintf(file, sizeof(file), "%s/rootfs", bundle);
	assert_string_equal(rootfs, file);
	assert_string_equal(oci_config_annotation(c, IMAGE_ANNOTATION_STORAGE), storage);
	/* the same id again */
	char *again = NULL;
	assert_int_equal(image_container_prepare(S, "example.com/hello:1", "ctr1", &o, &again, &err),
			 -EEXIST);
	/* rm is refused while it exists */
	assert_int_equal(image_remove(S, "example.com/hello:1", &err), -EBUSY);
	/* annotations naming anything but exactly its rootfs are ignored */
	struct oci_kv wrong[] = {{(char *)IMAGE_ANNOTATION_ROOTFS, (char *)"/"},
				 {(char *)IMAGE_ANNOTATION_STORAGE, storage}};
	assert_int_equal(image_container_release("ctr1", wrong, 2, &err), 0);
	assert_int_equal(access(bundle, F_OK), 0);
	assert_int_equal(image_container_release("other", c->annotations, c->n_annotations, &err), 0);
	assert_int_equal(access(bundle, F_OK), 0);
	/* the real ones remove it */
	assert_int_equal(image_container_release("ctr1", c->annotations, c->n_annotations, &err), 0);
	assert_int_equal(access(bundle, F_OK), -1);
	assert_int_equal(image_container_release("ctr1", c->annotations, c->n_annotations, &err), 0);
	assert_int_equal(image_remove(S, "example.com/hello:1", &err), 0);
	assert_store_empty();
	oci_config_free(c);
	free(bundle);
}

/* As root, in a private mount namespace: the overlay rootfs is mounted, and released again. */
static void test_container_overlay(void **state)
{
	(void)state;
	int status;
	pid_t pid;

	if (!is_root)
		skip();
	import_hello();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct image_bundle_opts o = {0};
		struct berth_error err = {0};
		char *bundle = NULL, file[512], mounts[8192];
		ssize_t n;
		int fd;

		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(10);
		if (image_container_prepare(S, "example.com/hello:1", "ov1", &o, &bundle, &err) < 0) {
			fprintf(stderr, "prepare: %s\n", err.msg);
			_exit(11);
		}
		fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
		n = read(fd, mounts, sizeof(mounts) - 1);
		close(fd);
		mounts[n > 0 ? n : 0] = '\0';
		snprintf(file, sizeof(file), "%s/rootfs overlay", bundle);
		if (!strstr(mounts, bundle))
			_exit(12);
		snprintf(file, sizeof(file), "%s/rootfs/bin/hello", bundle);
		if (access(file, F_OK) < 0)
			_exit(13);
		if (image_container_remove(S, "ov1", &err) < 0) {
			fprintf(stderr, "remove: %s\n", err.msg);
			_exit(14);
		}
		fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
		n = read(fd, mounts, sizeof(mounts) - 1);
		close(fd);
		mounts[n > 0 ? n : 0] = '\0';
		_exit(strstr(mounts, bundle) || access(bundle, F_OK) == 0 ? 15 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_import_oci, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_names_tag_rm_gc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_docker, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_rootfs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_export_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_import_swept, setup, teardown),
	    cmocka_unit_test(test_ref_normalize),
	    cmocka_unit_test_setup_teardown(test_bundle_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_container_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_container_overlay, setup, teardown),
	};

	is_root = geteuid() == 0;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
