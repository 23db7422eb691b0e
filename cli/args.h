/* A small table-driven command-line parser, shaped after what runc's callers send.
 *
 * Every option is accepted with one or two dashes (`--bundle B`, `-bundle B`, `--bundle=B`,
 * `-bundle=B`), as Go's flag package does: containerd's shim sends `-no-subreaper`. A one-letter
 * name is the short form (`-b B`, `-d`). Options and positional arguments may be mixed, `--` ends
 * the options, and `-h`/`--help` is understood by every table. A value option takes the next word
 * whatever it looks like (`--resources -`), as Go does. Short flags are not grouped (`-df` is an
 * unknown option): with single-dash long names grouping would be ambiguous.
 *
 * Values are stored through offsets into a caller's struct, so a command's options are one
 * table plus one struct. Strings point into argv; nothing is copied except list arrays. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct berth_error;

enum cli_opt_type {
	CLI_FLAG,   /* bool; also "--name=true|false" */
	CLI_STRING, /* const char *, pointing into argv; the last occurrence wins */
	CLI_INT,    /* int in [min, max] */
	CLI_CHOICE, /* int: the index of the value in choices */
	CLI_LIST,   /* struct cli_list: every occurrence is appended (`-e A -e B`) */
};

struct cli_option {
	const char *name; /* long name without dashes ("bundle"); NULL for short-only */
	char short_name;  /* 'b', or 0 */
	enum cli_opt_type type;
	size_t offset;              /* of the destination field in the caller's struct */
	const char *metavar;        /* "DIR" for usage; CLI_CHOICE defaults to "a|b" */
	const char *help;           /* one line for usage */
	const char *const *choices; /* CLI_CHOICE: NULL-terminated */
	int min, max;               /* CLI_INT bounds */
};

/* The destination of a CLI_LIST option. Must start zeroed; free with cli_list_free(). */
struct cli_list {
	const char **items; /* point into argv */
	size_t n;
};

void cli_list_free(struct cli_list *list);

/* Positional arguments a table can take before the rest is handed over unparsed. */
#define CLI_MAX_ARGS 8

struct cli_spec {
	const char *command;     /* "create" (prefixes messages); NULL for the global options */
	const char *synopsis;    /* "[OPTIONS] ID", printed after "Usage: berth create " */
	const char *summary;     /* one line, for `berth --help` and the top of the usage text */
	const char *description; /* optional further text, may span lines */
	const struct cli_option *options;
	size_t n_options;
	const char *const *arg_names; /* names of the positionals, for messages ("ID", "SIGNAL") */
	size_t min_args, max_args;    /* max_args <= CLI_MAX_ARGS */
	/* When non-zero, parsing stops right after this many positionals: what follows belongs to
	 * someone else (the command after the global options; later the process args of exec). */
	size_t stop_after;
};

struct cli_parsed {
	bool help;                /* -h/--help was given; arguments were not checked */
	char *args[CLI_MAX_ARGS]; /* positionals in order, pointing into argv */
	size_t n_args;
	int rest; /* argv index of the first word not parsed (argc if none) */
};

/* Parse argv[1..argc-1] (argv[0] is the program or command name) against @spec, storing option
 * values at their offsets in @opts and the positionals in *ret. Unknown options, missing or bad
 * values, and too few or too many positionals fail with -EINVAL and an @err message naming the
 * word. On failure any CLI_LIST arrays this call allocated are freed again. */
int cli_parse(const struct cli_spec *spec, int argc, char **argv, void *opts, struct cli_parsed *ret,
	      struct berth_error *err);

/* Write the usage text of @spec ("Usage: berth ...", summary, description, options) to @out. */
void cli_usage(const struct cli_spec *spec, FILE *out);
