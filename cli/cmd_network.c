/* berth network create|ls|inspect|rm: berth's container networks (a bridge, a subnet, leases). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/netns.h"
#include "berth/oci.h"
#include "cli/cli.h"
#include "cli/output.h"

static const char *const network_formats[] = {"table", "json", NULL}; /* enum network_format */

const struct cli_spec cmd_network_spec = {
    .command = "network",
    .synopsis = "COMMAND [OPTIONS] [NAME]",
    .summary = "Manage container networks (bridge, subnet, address leases).",
    .description = "Commands:\n"
		   "  create NAME --subnet CIDR [--gateway IP] [--bridge IFNAME] [--mtu N]\n"
		   "  ls [--format table|json] [--quiet]\n"
		   "  inspect NAME\n"
		   "  rm NAME\n"
		   "A container joins a network with the annotation berth.network=NAME in its\n"
		   "config.json, and optionally berth.network.ip=ADDRESS for a fixed address.",
    .arg_names = (const char *const[]){"COMMAND"},
    .min_args = 1,
    .max_args = 1,
    .stop_after = 1,
};

static const struct cli_option create_options[] = {
    {.name = "subnet",
     .type = CLI_STRING,
     .offset = offsetof(struct network_cli, subnet),
     .metavar = "CIDR",
     .help = "the network's subnet, IPv4 or IPv6 (10.88.0.0/16, fd00:b::/64); required"},
    {.name = "gateway",
     .type = CLI_STRING,
     .offset = offsetof(struct network_cli, gateway),
     .metavar = "IP",
     .help = "the bridge's address and the containers' default route (default: the first address)"},
    {.name = "bridge",
     .type = CLI_STRING,
     .offset = offsetof(struct network_cli, bridge),
     .metavar = "IFNAME",
     .help = "the host bridge, made when the first container joins (default: berth-NAME)"},
    {.name = "mtu",
     .type = CLI_INT,
     .offset = offsetof(struct network_cli, mtu),
     .metavar = "N",
     .help = "MTU of the bridge and the veth pairs (default: the kernel's)",
     .min = 68,
     .max = 65535},
};

static const struct cli_option ls_options[] = {
    {.name = "format",
     .short_name = 'f',
     .type = CLI_CHOICE,
     .offset = offsetof(struct network_cli, format),
     .choices = network_formats,
     .help = "output format (default: table)"},
    {.name = "quiet",
     .short_name = 'q',
     .type = CLI_FLAG,
     .offset = offsetof(struct network_cli, quiet),
     .help = "print only the network names"},
};

static const struct cli_spec network_create_spec = {
    .command = "network create",
    .synopsis = "NAME --subnet CIDR [OPTIONS]",
    .summary = "Define a network; its bridge is made when the first container joins.",
    .options = create_options,
    .n_options = ARRAY_SIZE(create_options),
    .arg_names = (const char *const[]){"NAME"},
    .min_args = 1,
    .max_args = 1,
};

static const struct cli_spec network_ls_spec = {
    .command = "network ls",
    .synopsis = "[OPTIONS]",
    .summary = "List the networks under the state root.",
    .options = ls_options,
    .n_options = ARRAY_SIZE(ls_options),
};

static const struct cli_spec network_inspect_spec = {
    .command = "network inspect",
    .synopsis = "NAME",
    .summary = "Print a network and its address leases as JSON.",
    .arg_names = (const char *const[]){"NAME"},
    .min_args = 1,
    .max_args = 1,
};

static const struct cli_spec network_rm_spec = {
    .command = "network rm",
    .synopsis = "NAME",
    .summary = "Remove a network no container uses, and the bridge berth made for it.",
    .arg_names = (const char *const[]){"NAME"},
    .min_args = 1,
    .max_args = 1,
};

static const struct {
	const char *name, *alias;
	enum network_action action;
	const struct cli_spec *spec;
} network_actions[] = {
    {"create", NULL, NETWORK_CREATE, &network_create_spec},
    {"ls", "list", NETWORK_LS, &network_ls_spec},
    {"inspect", NULL, NETWORK_INSPECT, &network_inspect_spec},
    {"rm", "remove", NETWORK_RM, &network_rm_spec},
};

int cmd_network_parse(int argc, char **argv, struct network_cli *out, struct berth_error *err)
{
	struct network_cli cli = {.format = NETWORK_FORMAT_TABLE};
	struct cli_parsed parsed;
	int r = cli_parse(&cmd_network_spec, argc, argv, &cli, &parsed, err);
	if (r < 0)
		return r;
	if (parsed.help) {
		cli.help = true;
		cli.spec = &cmd_network_spec;
		*out = cli;
		return 0;
	}
	const char *sub = parsed.args[0];
	size_t i;
	for (i = 0; i < ARRAY_SIZE(network_actions); i++)
		if (strcmp(sub, network_actions[i].name) == 0 ||
		    (network_actions[i].alias && strcmp(sub, network_actions[i].alias) == 0))
			break;
	if (i == ARRAY_SIZE(network_actions))
		return berth_error_set(err, -EINVAL,
				       "network: unknown command \"%s\" (create, ls, inspect, rm)", sub);
	cli.action = network_actions[i].action;
	cli.spec = network_actions[i].spec;
	/* The subcommand's words, its name first as a command's argv[0]. */
	r = cli_parse(cli.spec, argc - parsed.rest + 1, argv + parsed.rest - 1, &cli, &parsed, err);
	if (r < 0)
		return r;
	cli.help = parsed.help;
	if (!cli.help && parsed.n_args)
		cli.name = parsed.args[0];
	if (!cli.help && cli.action == NETWORK_CREATE && !cli.subnet)
		return berth_error_set(err, -EINVAL, "network create: --subnet is required");
	*out = cli;
	return 0;
}

/* ---- output ---- */

static void json_kstr(struct oci_json *j, const char *key, const char *value)
{
	oci_json_key(j, key);
	oci_json_str(j, value);
}

static void network_json(struct oci_json *j, const struct netns_network *net)
{
	char subnet[NETNS_CIDR_STRLEN], gw[NETNS_ADDR_STRLEN], ip[NETNS_ADDR_STRLEN];
	netns_cidr_format(&net->subnet, subnet, sizeof(subnet));
	netns_addr_format(&net->gateway, gw, sizeof(gw));
	oci_json_open(j);
	json_kstr(j, "name", net->name);
	json_kstr(j, "subnet", subnet);
	json_kstr(j, "gateway", gw);
	json_kstr(j, "bridge", net->bridge);
	oci_json_key(j, "mtu");
	oci_json_uint(j, net->mtu);
	json_kstr(j, "created", net->created);
	oci_json_key(j, "containers");
	oci_json_array_open(j);
	for (size_t i = 0; i < net->n_leases; i++) {
		netns_addr_format(&net->leases[i].addr, ip, sizeof(ip));
		oci_json_open(j);
		json_kstr(j, "id", net->leases[i].container);
		json_kstr(j, "ip", ip);
		json_kstr(j, "hostInterface", net->leases[i].host_ifname);
		oci_json_close(j);
	}
	oci_json_array_close(j);
	oci_json_close(j);
}

/* One network as an object, or (@array) every one in an array. */
static int print_json(FILE *out, struct netns_network *const *nets, size_t n, bool array)
{
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	struct oci_json *j = oci_json_new();
	if (!j)
		return -ENOMEM;
	if (array)
		oci_json_array_open(j);
	for (size_t i = 0; i < n; i++)
		network_json(j, nets[i]);
	if (array)
		oci_json_array_close(j);
	int r = oci_json_finish(j, &json, &len);
	return r < 0 ? r : output_text(out, json);
}

static int print_table(FILE *out, struct netns_network *const *nets, size_t n)
{
	enum { COLS = 6 };
	char(*text)[4][NETNS_CIDR_STRLEN] = calloc(n ? n : 1, sizeof(*text));
	const char **cells = calloc((n + 1) * COLS, sizeof(*cells));
	int r = -ENOMEM;
	if (text && cells) {
		static const char *const header[COLS] = {"NAME",   "SUBNET", "GATEWAY",
							 "BRIDGE", "MTU",    "CONTAINERS"};
		memcpy(cells, header, sizeof(header));
		for (size_t i = 0; i < n; i++) {
			const char **row = cells + (i + 1) * COLS;
			netns_cidr_format(&nets[i]->subnet, text[i][0], sizeof(text[i][0]));
			netns_addr_format(&nets[i]->gateway, text[i][1], sizeof(text[i][1]));
			snprintf(text[i][2], sizeof(text[i][2]), "%u", nets[i]->mtu);
			snprintf(text[i][3], sizeof(text[i][3]), "%zu", nets[i]->n_leases);
			row[0] = nets[i]->name;
			row[1] = text[i][0];
			row[2] = text[i][1];
			row[3] = nets[i]->bridge;
			row[4] = nets[i]->mtu ? text[i][2] : "default";
			row[5] = text[i][3];
		}
		r = output_table(out, cells, n + 1, COLS);
	}
	free(text);
	free(cells);
	return r;
}

static int print_list(const struct network_cli *cli, FILE *out, struct netns_network *const *nets, size_t n)
{
	if (cli->quiet) {
		for (size_t i = 0; i < n; i++)
			fprintf(out, "%s\n", nets[i]->name);
		return ferror(out) ? -EIO : 0;
	}
	if (cli->format == NETWORK_FORMAT_JSON)
		return print_json(out, nets, n, true);
	return print_table(out, nets, n);
}

/* ---- run ---- */

static int run_action(const struct cli_env *env, const struct network_cli *cli, struct berth_error *err)
{
	struct netns_network **nets = NULL;
	struct netns_network *net = NULL;
	size_t n = 0;
	int r;

	switch (cli->action) {
	case NETWORK_CREATE: {
		struct netns_network_opts o = {.name = cli->name,
					       .subnet = cli->subnet,
					       .gateway = cli->gateway,
					       .bridge = cli->bridge,
					       .mtu = (uint32_t)cli->mtu};
		r = berth_network_create(&env->ctx, &o, err);
		if (r == 0)
			fprintf(env->out, "%s\n", cli->name);
		return r;
	}
	case NETWORK_LS:
		r = berth_network_list(&env->ctx, &nets, &n, err);
		if (r == 0)
			r = print_list(cli, env->out, nets, n);
		netns_network_list_free(nets, n);
		return r;
	case NETWORK_INSPECT:
		r = berth_network_inspect(&env->ctx, cli->name, &net, err);
		if (r == 0)
			r = print_json(env->out, &net, 1, false);
		netns_network_free(net);
		return r;
	case NETWORK_RM:
		r = berth_network_remove(&env->ctx, cli->name, err);
		if (r == 0)
			fprintf(env->out, "%s\n", cli->name);
		return r;
	}
	return -EINVAL;
}

int cmd_network(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	struct network_cli cli;

	if (cmd_network_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(cli.spec, env->out);
		return CLI_EXIT_OK;
	}
	int r = run_action(env, &cli, err);
	if (r < 0)
		return cli_fail(r, err);
	return CLI_EXIT_OK;
}
