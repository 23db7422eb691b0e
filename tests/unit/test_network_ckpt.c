/* A container on a berth network across checkpoint/restore (runtime/network.c): which configs
 * have their network namespace declared external, the record of the network and address kept
 * beside the images, the address a restore asks for, and the restore's validation and lease in a
 * temporary state root (a missing network named with how to create it, a taken address refused,
 * the recorded address leased and carried into the record's annotations, the lease released on
 * unwind). No root needed: nothing here touches a network namespace. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/error.h"
#include "berth/netns.h"
#include "berth/oci.h"
#include "berth/util.h"
#include "../../runtime/create.h"
#include "../../runtime/network.h"

/* A config.json with @annotations (JSON members, may be empty) and @namespaces (JSON array
 * members). */
static struct oci_config *config(const char *annotations, const char *namespaces)
{
	char json[1024];
	struct oci_config *c = NULL;
	struct berth_error err = {0};
	snprintf(json, sizeof(json),
		 "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},"
		 "\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"]},"
		 "\"annotations\":{%s},\"linux\":{\"namespaces\":[%s]}}",
		 annotations, namespaces);
	if (oci_config_parse(json, strlen(json), &c, &err) < 0)
		fail_msg("config: %s", err.msg);
	return c;
}

#define ON_N1 "\"berth.network\":\"n1\""
#define NEW_NET "{\"type\":\"mount\"},{\"type\":\"network\"}"

/* ---- which containers have their network namespace made external at the dump ---- */

static void test_joins_berth(void **state)
{
	(void)state;
	struct oci_config *c = config(ON_N1, NEW_NET);
	assert_true(network_joins_berth(c));
	oci_config_free(c);
	/* joined by path: the existing external case, not a berth network's */
	c = config(ON_N1, "{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"}");
	assert_false(network_joins_berth(c));
	oci_config_free(c);
	/* the host's network namespace */
	c = config(ON_N1, "{\"type\":\"mount\"}");
	assert_false(network_joins_berth(c));
	oci_config_free(c);
	/* no network, or an empty name */
	c = config("", NEW_NET);
	assert_false(network_joins_berth(c));
	oci_config_free(c);
	c = config("\"berth.network\":\"\"", NEW_NET);
	assert_false(network_joins_berth(c));
	oci_config_free(c);
}

/* ---- the record beside the images ---- */

static void test_record_roundtrip(void **state)
{
	(void)state;
	char buf[2 * NETWORK_CKPT_MAX + 2], net[NETWORK_CKPT_MAX], ip[NETWORK_CKPT_MAX];
	int n = network_ckpt_format("n1", "10.88.0.2", buf, sizeof(buf));
	assert_int_equal(n, (int)strlen("n1 10.88.0.2\n"));
	assert_string_equal(buf, "n1 10.88.0.2\n");
	assert_int_equal(network_ckpt_parse(buf, (size_t)n, net, ip), 0);
	assert_string_equal(net, "n1");
	assert_string_equal(ip, "10.88.0.2");
	/* without the newline; IPv6 */
	assert_int_equal(network_ckpt_parse("v6 fd00::5", 10, net, ip), 0);
	assert_string_equal(net, "v6");
	assert_string_equal(ip, "fd00::5");
}

static void test_record_refused(void **state)
{
	(void)state;
	char buf[2 * NETWORK_CKPT_MAX + 2], net[NETWORK_CKPT_MAX] = "x", ip[NETWORK_CKPT_MAX] = "y";
	char big[NETWORK_CKPT_MAX + 8];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(network_ckpt_format("", "10.88.0.2", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(network_ckpt_format("n1", NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(network_ckpt_format("n 1", "10.88.0.2", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(network_ckpt_format("n1", "10.88.0.2\n", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(network_ckpt_format(big, "10.88.0.2", buf, sizeof(buf)), -ENAMETOOLONG);
	assert_int_equal(network_ckpt_format("n1", "10.88.0.2", buf, 8), -ENAMETOOLONG);

	const char *bad[] = {"",
			     "\n",
			     "n1",
			     "n1\n",
			     "n1 ",
			     " 10.88.0.2",
			     "n1  10.88.0.2",
			     "n1 10.88.0.2 x",
			     "n1 10.88.0.2\n\n",
			     "n1\t10.88.0.2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (network_ckpt_parse(bad[i], strlen(bad[i]), net, ip) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
	}
	assert_int_equal(network_ckpt_parse("n1\0 10.88.0.2", 13, net, ip), -EINVAL);
	char line[sizeof(big) + 16];
	snprintf(line, sizeof(line), "%s 10.88.0.2", big);
	assert_int_equal(network_ckpt_parse(line, strlen(line), net, ip), -EINVAL);
	snprintf(line, sizeof(line), "n1 %s", big);
	assert_int_equal(network_ckpt_parse(line, strlen(line), net, ip), -EINVAL);
}

/* ---- the address a restore asks for ---- */

static void test_restore_ip(void **state)
{
	(void)state;
	struct oci_config *c = config(ON_N1, NEW_NET);
	assert_string_equal(network_restore_ip(c, "10.88.0.7"), "10.88.0.7");
	assert_null(network_restore_ip(c, NULL));
	assert_null(network_restore_ip(c, ""));
	oci_config_free(c);
	/* the config's (an exported config.json carries the address) wins */
	c = config(ON_N1 ",\"berth.network.ip\":\"10.88.0.9\"", NEW_NET);
	assert_string_equal(network_restore_ip(c, "10.88.0.7"), "10.88.0.9");
	assert_string_equal(network_restore_ip(c, NULL), "10.88.0.9");
	oci_config_free(c);
}

/* ---- validation and lease in a state root ---- */

struct fixture {
	char dir[64];
	int root_fd;
	struct create_plan p;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/berth-netckpt.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->root_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	network_plan_init(&f->p.net);
	f->p.root_fd = f->root_fd;
	f->p.dir_fd = -EBADF;
	*state = f;
	return f->root_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	network_plan_free(&f->p.net);
	oci_config_free(f->p.config);
	close(f->root_fd);
	(void)rm_rf_at(AT_FDCWD, f->dir);
	free(f);
	return 0;
}

static void create_network(struct fixture *f, const char *name, const char *subnet)
{
	struct berth_error err = {0};
	struct netns_network_opts o = {.name = name, .subnet = subnet};
	if (netns_network_create(f->root_fd, &o, NULL, &err) < 0)
		fail_msg("create %s: %s", name, err.msg);
}

/* The lease of @id on n1 as text, or "" when there is none. */
static void lease_of(struct fixture *f, const char *id, char *buf, size_t size)
{
	struct berth_error err = {0};
	struct netns_network *net = NULL;
	buf[0] = '\0';
	assert_int_equal(netns_network_get(f->root_fd, "n1", &net, &err), 0);
	for (size_t i = 0; i < net->n_leases; i++)
		if (strcmp(net->leases[i].container, id) == 0)
			netns_addr_format(&net->leases[i].addr, buf, size);
	netns_network_free(net);
}

static void test_missing_network(void **state)
{
	struct fixture *f = *state;
	struct berth_error err = {0};
	f->p.config = config(ON_N1, NEW_NET);
	assert_int_equal(network_validate_restore(&f->p, "10.88.0.2", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "network 'n1' does not exist on this host"));
	assert_non_null(strstr(err.msg, "berth network create n1 --subnet CIDR, a subnet holding 10.88.0.2"));
	/* the early check of --import: a state root without the network, or none at all */
	err = (struct berth_error){0};
	assert_int_equal(network_check_exists(f->root_fd, "n1", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "berth network create n1 --subnet CIDR"));
	err = (struct berth_error){0};
	assert_int_equal(network_check_exists(-1, "n1", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "network 'n1' does not exist"));
	create_network(f, "n1", "10.88.0.0/24");
	err = (struct berth_error){0};
	assert_int_equal(network_check_exists(f->root_fd, "n1", &err), 0);
	assert_int_equal(network_validate_restore(&f->p, "10.88.0.2", &err), 0);
}

static void test_not_own_netns(void **state)
{
	struct fixture *f = *state;
	struct berth_error err = {0};
	create_network(f, "n1", "10.88.0.0/24");
	f->p.config = config(ON_N1, "{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"}");
	assert_int_equal(network_validate_restore(&f->p, "10.88.0.2", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "needs a new network namespace"));
}

static void test_address_taken(void **state)
{
	struct fixture *f = *state;
	struct berth_error err = {0};
	create_network(f, "n1", "10.88.0.0/24");
	assert_int_equal(mkdirat(f->root_fd, "other", 0700), 0); /* a live lease: its state dir exists */
	assert_int_equal(
	    netns_lease_acquire(f->root_fd, "n1", "other", "10.88.0.2", "bvother", NULL, NULL, &err), 0);
	f->p.config = config(ON_N1, NEW_NET);
	assert_int_equal(network_validate_restore(&f->p, "10.88.0.2", &err), -EADDRINUSE);
	assert_non_null(strstr(err.msg, "the container's address at the checkpoint: address 10.88.0.2 of "
					"network 'n1' is already leased to container \"other\""));
	/* an address outside the network (the config names another network than the dump's) */
	err = (struct berth_error){0};
	assert_int_equal(network_validate_restore(&f->p, "10.99.0.2", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "outside subnet 10.88.0.0/24"));
}

static void test_lease_recorded_address(void **state)
{
	struct fixture *f = *state;
	struct berth_error err = {0};
	char addr[NETNS_ADDR_STRLEN];
	create_network(f, "n1", "10.88.0.0/24");
	assert_int_equal(mkdirat(f->root_fd, "ck2", 0700), 0);
	f->p.config = config(ON_N1 ",\"other\":\"kept\"", NEW_NET);
	/* not the lowest free address (10.88.0.2): the recorded one */
	assert_int_equal(network_validate_restore(&f->p, "10.88.0.5", &err), 0);
	assert_int_equal(network_lease(&f->p, "ck2", &err), 0);
	assert_true(f->p.net.leased);
	assert_string_equal(f->p.net.addr_text, "10.88.0.5");
	lease_of(f, "ck2", addr, sizeof(addr));
	assert_string_equal(addr, "10.88.0.5");
	/* the record's annotations: the config's with the address, as for a created container */
	size_t n = 0;
	const struct oci_kv *kv = network_annotations(&f->p, &n);
	const char *net = NULL, *ip = NULL, *other = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(kv[i].key, "berth.network") == 0)
			net = kv[i].value;
		else if (strcmp(kv[i].key, "berth.network.ip") == 0)
			ip = kv[i].value;
		else if (strcmp(kv[i].key, "other") == 0)
			other = kv[i].value;
	}
	assert_string_equal(net, "n1");
	assert_string_equal(ip, "10.88.0.5");
	assert_string_equal(other, "kept");
	/* a failed restore gives the address back */
	network_unwind(&f->p, "ck2");
	assert_false(f->p.net.leased);
	lease_of(f, "ck2", addr, sizeof(addr));
	assert_string_equal(addr, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_joins_berth),
	    cmocka_unit_test(test_record_roundtrip),
	    cmocka_unit_test(test_record_refused),
	    cmocka_unit_test(test_restore_ip),
	    cmocka_unit_test_setup_teardown(test_missing_network, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_own_netns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_address_taken, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_recorded_address, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
