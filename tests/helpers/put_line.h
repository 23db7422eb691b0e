/* put_line, shared by the static helpers memfill and tcpcount (each includes it once). */
#pragma once

#include <stdio.h>

/* Writes line to path through path.tmp and rename, so a reader never sees half a line; best
 * effort: an error leaves path as it was. */
static void put_line(const char *path, const char *line)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return;
	FILE *f = fopen(tmp, "we");
	if (!f)
		return;
	fputs(line, f);
	if (fclose(f) == 0)
		(void)rename(tmp, path);
}
