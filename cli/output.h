/* Output formatting for the CLI. Pure functions writing to a FILE *, so the layouts are unit
 * tested against memory streams; none of them prints errors (cli.c does that). */
#pragma once

#include <stddef.h>
#include <stdio.h>

struct oci_list_entry;

/* Write @n_rows rows of @n_cols cells (row-major, NULL cells print as "") aligned like Go's
 * tabwriter with runc's settings (minimum width 12, padding 3): every column but the last is
 * padded to max(12, widest cell + 3). Returns 0 or -EIO when @out reports a write error. */
int output_table(FILE *out, const char *const *cells, size_t n_rows, size_t n_cols);

/* `berth list`: the header "ID PID STATUS BUNDLE CREATED OWNER" and one row per entry. */
int output_list_table(FILE *out, const struct oci_list_entry *entries, size_t n);

/* `berth list -q`: the ids, one per line. */
int output_list_ids(FILE *out, const struct oci_list_entry *entries, size_t n);

/* @text followed by a newline unless it already ends in one (JSON documents). */
int output_text(FILE *out, const char *text);
