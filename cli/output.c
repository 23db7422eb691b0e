/* Output formatting for the CLI (see output.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/oci.h"
#include "cli/output.h"

/* runc builds its list with tabwriter.NewWriter(out, 12, 1, 3, ' ', 0); matching the layout lets
 * scripts written against runc's table keep working. */
#define TABLE_MIN_WIDTH 12
#define TABLE_PADDING 3
#define LIST_COLUMNS 6

static int check(FILE *out)
{
	return ferror(out) ? -EIO : 0;
}

static const char *cell_at(const char *const *cells, size_t n_cols, size_t row, size_t col)
{
	const char *c = cells[row * n_cols + col];
	return c ? c : "";
}

int output_table(FILE *out, const char *const *cells, size_t n_rows, size_t n_cols)
{
	_cleanup_free_ size_t *widths = NULL;
	size_t row, col, len;

	if (n_cols == 0)
		return 0;
	widths = calloc(n_cols, sizeof(*widths));
	if (!widths)
		return -ENOMEM;
	for (col = 0; col < n_cols; col++) {
		widths[col] = TABLE_MIN_WIDTH;
		for (row = 0; row < n_rows; row++) {
			len = strlen(cell_at(cells, n_cols, row, col)) + TABLE_PADDING;
			widths[col] = len > widths[col] ? len : widths[col];
		}
	}
	for (row = 0; row < n_rows; row++) {
		/* The last cell is not padded: tabwriter only pads cells that a tab terminates. */
		for (col = 0; col + 1 < n_cols; col++)
			fprintf(out, "%-*s", (int)widths[col], cell_at(cells, n_cols, row, col));
		fprintf(out, "%s\n", cell_at(cells, n_cols, row, n_cols - 1));
	}
	return check(out);
}

int output_list_table(FILE *out, const struct oci_list_entry *entries, size_t n)
{
	static const char *const header[LIST_COLUMNS] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
	_cleanup_free_ const char **cells = NULL;
	_cleanup_free_ char *pids = NULL;
	size_t i;

	cells = calloc((n + 1) * LIST_COLUMNS, sizeof(*cells));
	pids = calloc(n + 1, 24);
	if (!cells || !pids)
		return -ENOMEM;
	memcpy(cells, header, sizeof(header));
	for (i = 0; i < n; i++) {
		const char **row = cells + (i + 1) * LIST_COLUMNS;
		char *pid = pids + i * 24;

		snprintf(pid, 24, "%d", (int)entries[i].pid);
		row[0] = entries[i].id;
		row[1] = pid;
		row[2] = oci_status_name(entries[i].status);
		row[3] = entries[i].bundle;
		row[4] = entries[i].created;
		row[5] = entries[i].owner;
	}
	return output_table(out, cells, n + 1, LIST_COLUMNS);
}

int output_list_ids(FILE *out, const struct oci_list_entry *entries, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(out, "%s\n", entries[i].id ? entries[i].id : "");
	return check(out);
}

int output_text(FILE *out, const char *text)
{
	size_t len = strlen(text);

	fputs(text, out);
	if (len == 0 || text[len - 1] != '\n')
		fputc('\n', out);
	return check(out);
}
