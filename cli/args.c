/* The table-driven option parser (see args.h for the accepted syntax and why). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/error.h"
#include "berth/util.h"
#include "cli/args.h"

/* Built into every table so no command can forget it. */
static const struct cli_option help_option = {
    .name = "help",
    .short_name = 'h',
    .type = CLI_FLAG,
    .help = "show this help and exit",
};

void cli_list_free(struct cli_list *list)
{
	if (!list)
		return;
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

/* "create: " before messages of a command, nothing for the global options. */
static const char *prefix_of(const struct cli_spec *spec, char *buf, size_t size)
{
	if (!spec->command)
		return "";
	snprintf(buf, size, "%s: ", spec->command);
	return buf;
}

#define FAIL(spec, err, fmt, ...)                                                                            \
	({                                                                                                   \
		char _pfx[64];                                                                               \
		berth_error_set(err, -EINVAL, "%s" fmt, prefix_of(spec, _pfx, sizeof(_pfx)), ##__VA_ARGS__); \
	})

/* Look @name (@len bytes, not NUL-terminated) up as a long name, then as a short one. */
static const struct cli_option *find_option(const struct cli_spec *spec, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < spec->n_options; i++) {
		const struct cli_option *o = &spec->options[i];
		if (o->name && strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	}
	for (i = 0; len == 1 && i < spec->n_options; i++) {
		if (spec->options[i].short_name == name[0])
			return &spec->options[i];
	}
	if ((len == 4 && strncmp(name, "help", 4) == 0) || (len == 1 && name[0] == 'h'))
		return &help_option;
	return NULL;
}

/* Go's strconv.ParseBool, which is what `-detach=false` goes through in runc. */
static int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True", NULL};
	static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False", NULL};
	size_t i;

	for (i = 0; yes[i]; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
	}
	for (i = 0; no[i]; i++) {
		if (strcmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static void join_choices(const char *const *choices, char *buf, size_t size)
{
	size_t n = 0, i;

	buf[0] = '\0';
	for (i = 0; choices[i] && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "|" : "", choices[i]);
}

static int set_choice(const struct cli_spec *spec, const struct cli_option *o, const char *shown,
		      const char *value, int *dest, struct berth_error *err)
{
	char all[128];
	int i;

	for (i = 0; o->choices[i]; i++) {
		if (strcmp(o->choices[i], value) == 0) {
			*dest = i;
			return 0;
		}
	}
	join_choices(o->choices, all, sizeof(all));
	return FAIL(spec, err, "invalid value \"%s\" for option \"%s\": expected %s", value, shown, all);
}

static int append_list(struct cli_list *list, const char *value)
{
	const char **items = realloc(list->items, (list->n + 1) * sizeof(*items));

	if (!items)
		return -ENOMEM;
	items[list->n++] = value;
	list->items = items;
	return 0;
}

/* Store @value (NULL: a flag given without "=value") for @o into @opts. */
static int set_value(const struct cli_spec *spec, const struct cli_option *o, const char *shown,
		     const char *value, void *opts, struct berth_error *err)
{
	char *dest = (char *)opts + o->offset;
	int64_t n;

	switch (o->type) {
	case CLI_FLAG:
		if (!value) {
			*(bool *)dest = true;
			return 0;
		}
		if (parse_bool(value, (bool *)dest) < 0)
			return FAIL(spec, err,
				    "invalid value \"%s\" for option \"%s\": expected true or false", value,
				    shown);
		return 0;
	case CLI_STRING:
		*(const char **)dest = value;
		return 0;
	case CLI_INT:
		if (parse_int64(value, o->min, o->max, &n) < 0)
			return FAIL(
			    spec, err,
			    "invalid value \"%s\" for option \"%s\": expected an integer from %d to %d",
			    value, shown, o->min, o->max);
		*(int *)dest = (int)n;
		return 0;
	case CLI_CHOICE:
		return set_choice(spec, o, shown, value, (int *)dest, err);
	case CLI_LIST:
		if (append_list((struct cli_list *)dest, value) < 0)
			return berth_error_set(err, -ENOMEM, "out of memory");
		return 0;
	}
	return FAIL(spec, err, "option \"%s\" has an unknown type", shown);
}

/* Handle the option word argv[*i] (and its value word, which advances *i). */
static int parse_option(const struct cli_spec *spec, int argc, char **argv, int *i, void *opts,
			struct cli_parsed *parsed, struct berth_error *err)
{
	const char *word = argv[*i], *name = word + (word[1] == '-' ? 2 : 1);
	const char *eq = strchr(name, '='), *value = eq ? eq + 1 : NULL;
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct cli_option *o = name[0] == '-' ? NULL : find_option(spec, name, len);
	char shown[128];

	snprintf(shown, sizeof(shown), "%.*s", (int)(name - word + len), word);
	if (!o || len == 0)
		return FAIL(spec, err, "unknown option \"%s\"", shown);
	if (o == &help_option) {
		parsed->help = true;
		return 0;
	}
	if (o->type != CLI_FLAG && !value) {
		if (*i + 1 >= argc)
			return FAIL(spec, err, "option \"%s\" requires a value", shown);
		value = argv[++*i];
	}
	return set_value(spec, o, shown, value, opts, err);
}

static int add_arg(const struct cli_spec *spec, char *arg, struct cli_parsed *parsed, struct berth_error *err)
{
	if (parsed->n_args >= spec->max_args || parsed->n_args >= CLI_MAX_ARGS)
		return FAIL(spec, err, "unexpected argument \"%s\"", arg);
	parsed->args[parsed->n_args++] = arg;
	return 0;
}

static void free_lists(const struct cli_spec *spec, void *opts)
{
	size_t i;

	for (i = 0; i < spec->n_options; i++) {
		if (spec->options[i].type == CLI_LIST)
			cli_list_free((struct cli_list *)((char *)opts + spec->options[i].offset));
	}
}

static int parse_words(const struct cli_spec *spec, int argc, char **argv, void *opts,
		       struct cli_parsed *parsed, struct berth_error *err)
{
	bool options_done = false;
	int i, r;

	for (i = 1; i < argc && !parsed->help; i++) {
		if (spec->stop_after && parsed->n_args == spec->stop_after)
			break;
		if (!options_done && strcmp(argv[i], "--") == 0) {
			options_done = true;
			continue;
		}
		if (!options_done && argv[i][0] == '-' && argv[i][1] != '\0')
			r = parse_option(spec, argc, argv, &i, opts, parsed, err);
		else
			r = add_arg(spec, argv[i], parsed, err);
		if (r < 0)
			return r;
	}
	parsed->rest = i;
	return 0;
}

int cli_parse(const struct cli_spec *spec, int argc, char **argv, void *opts, struct cli_parsed *ret,
	      struct berth_error *err)
{
	struct cli_parsed parsed = {0};
	const char *missing;
	int r;

	r = parse_words(spec, argc, argv, opts, &parsed, err);
	if (r == 0 && !parsed.help && parsed.n_args < spec->min_args) {
		missing = spec->arg_names ? spec->arg_names[parsed.n_args] : "argument";
		r = FAIL(spec, err, "missing argument %s", missing);
	}
	if (r < 0) {
		free_lists(spec, opts);
		return r;
	}
	*ret = parsed;
	return 0;
}

/* The left column of an option's usage line: "-b, --bundle DIR" or "    --pid-file FILE". */
static void option_label(const struct cli_option *o, char *buf, size_t size)
{
	char choices[128];
	const char *metavar = o->metavar;
	size_t n;

	if (!metavar && o->type == CLI_CHOICE) {
		join_choices(o->choices, choices, sizeof(choices));
		metavar = choices;
	}
	if (o->short_name && o->name)
		n = (size_t)snprintf(buf, size, "-%c, --%s", o->short_name, o->name);
	else if (o->short_name)
		n = (size_t)snprintf(buf, size, "-%c", o->short_name);
	else
		n = (size_t)snprintf(buf, size, "    --%s", o->name);
	if (o->type != CLI_FLAG && n < size)
		snprintf(buf + n, size - n, " %s", metavar ? metavar : "VALUE");
}

static void print_options(const struct cli_spec *spec, FILE *out)
{
	char label[160];
	int width = 0, len;
	size_t i;

	/* Two passes: the help texts start in one column, as in runc's and GNU tools' usage. */
	for (i = 0; i <= spec->n_options; i++) {
		option_label(i < spec->n_options ? &spec->options[i] : &help_option, label, sizeof(label));
		len = (int)strlen(label);
		width = len > width ? len : width;
	}
	fprintf(out, "\n%s:\n", spec->command ? "Options" : "Global options");
	for (i = 0; i <= spec->n_options; i++) {
		const struct cli_option *o = i < spec->n_options ? &spec->options[i] : &help_option;
		option_label(o, label, sizeof(label));
		fprintf(out, "  %-*s  %s\n", width, label, o->help ? o->help : "");
	}
}

void cli_usage(const struct cli_spec *spec, FILE *out)
{
	const char *synopsis = spec->synopsis ? spec->synopsis : "";

	fprintf(out, "Usage: berth%s%s%s%s\n", spec->command ? " " : "", spec->command ? spec->command : "",
		synopsis[0] ? " " : "", synopsis);
	if (spec->summary)
		fprintf(out, "\n%s\n", spec->summary);
	if (spec->description)
		fprintf(out, "\n%s\n", spec->description);
	print_options(spec, out);
}
