/* The list table and the small print helpers, written into memory streams. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "berth/oci.h"
#include "cli/output.h"

struct capture {
	FILE *f;
	char *buf;
	size_t len;
};

static void capture_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
}

/* Close the stream and hand back its text (owned by @c). */
static const char *capture_text(struct capture *c)
{
	assert_int_equal(fclose(c->f), 0);
	c->f = NULL;
	return c->buf;
}

static void capture_free(struct capture *c)
{
	free(c->buf);
	c->buf = NULL;
}

static void test_table_min_width(void **state)
{
	const char *cells[] = {"A", "B", "C", "x", "y", "z"};
	struct capture c;

	(void)state;
	capture_open(&c);
	assert_int_equal(output_table(c.f, cells, 2, 3), 0);
	/* Columns are at least 12 wide; the last one is not padded. */
	assert_string_equal(capture_text(&c), "A           B           C\n"
					      "x           y           z\n");
	capture_free(&c);
}

static void test_table_widest_cell_plus_padding(void **state)
{
	const char *cells[] = {"ID", "NAME", "X", "a-rather-long-id", NULL, "last"};
	struct capture c;

	(void)state;
	capture_open(&c);
	assert_int_equal(output_table(c.f, cells, 2, 3), 0);
	/* 16 characters + 3 of padding = 19; a NULL cell prints as empty. */
	assert_string_equal(capture_text(&c), "ID                 NAME        X\n"
					      "a-rather-long-id               last\n");
	capture_free(&c);
}

static void test_table_empty(void **state)
{
	struct capture c;

	(void)state;
	capture_open(&c);
	assert_int_equal(output_table(c.f, NULL, 0, 0), 0);
	assert_string_equal(capture_text(&c), "");
	capture_free(&c);
}

static const struct oci_list_entry entries[] = {
    {.id = "c1",
     .pid = 4242,
     .status = OCI_STATUS_RUNNING,
     .bundle = "/srv/bundles/c1",
     .created = "2024-05-01T10:00:00.123456789Z",
     .owner = "root"},
    {.id = "web-frontend-1",
     .pid = 0,
     .status = OCI_STATUS_STOPPED,
     .bundle = "/b",
     .created = "2024-05-01T10:00:01Z",
     .owner = "root"},
};

static void test_list_table_layout(void **state)
{
	struct capture c;

	(void)state;
	capture_open(&c);
	assert_int_equal(output_list_table(c.f, entries, 2), 0);
	/* ID: 14+3=17; PID, STATUS: 12 (minimum); BUNDLE: 15+3=18; CREATED: 30+3=33. */
	assert_string_equal(capture_text(&c), "ID               PID         STATUS      BUNDLE            "
					      "CREATED                          OWNER\n"
					      "c1               4242        running     /srv/bundles/c1   "
					      "2024-05-01T10:00:00.123456789Z   root\n"
					      "web-frontend-1   0           stopped     /b                "
					      "2024-05-01T10:00:01Z             root\n");
	capture_free(&c);
}

static void test_list_table_header_only(void **state)
{
	struct capture c;

	(void)state;
	capture_open(&c);
	assert_int_equal(output_list_table(c.f, NULL, 0), 0);
	assert_string_equal(capture_text(&c),
			    "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n");
	capture_free(&c);
}

static void test_list_ids(void **state)
{
	struct capture c;

	(void)state;
	capture_open(&c);
	assert_int_equal(output_list_ids(c.f, entries, 2), 0);
	assert_string_equal(capture_text(&c), "c1\nweb-frontend-1\n");
	capture_free(&c);
}

static void test_text_newline(void **state)
{
	struct capture c;

	(void)state;
	capture_open(&c);
	assert_int_equal(output_text(c.f, "{\"a\":1}"), 0);
	assert_int_equal(output_text(c.f, "{}\n"), 0);
	assert_int_equal(output_text(c.f, ""), 0);
	assert_string_equal(capture_text(&c), "{\"a\":1}\n{}\n\n");
	capture_free(&c);
}

/* A stream that cannot be written is reported, not ignored. */
static void test_write_error(void **state)
{
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	if (!f)
		skip();
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(output_text(f, "x"), -EIO);
	assert_int_equal(output_list_ids(f, entries, 2), -EIO);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_min_width),
	    cmocka_unit_test(test_table_widest_cell_plus_padding),
	    cmocka_unit_test(test_table_empty),
	    cmocka_unit_test(test_list_table_layout),
	    cmocka_unit_test(test_list_table_header_only),
	    cmocka_unit_test(test_list_ids),
	    cmocka_unit_test(test_text_newline),
	    cmocka_unit_test(test_write_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
