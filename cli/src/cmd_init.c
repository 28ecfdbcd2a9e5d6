/* cmd_init.c - `fugue init`: writes ./fugue.yaml, the conductor block of
 * DESIGN §5, commented so that an operator can edit it by hand.
 *
 * Values given on the command line are written as JSON strings, which are
 * YAML double-quoted scalars: any text round-trips, whatever it contains. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#define INIT_FILE "fugue.yaml"
#define MAX_LIST 32

struct init_opts {
	int force;
	const char *socket;
	const char *region;
	const char *ami;
	const char *instance_type;
	const char *ssh_key_name;
	const char *buckets[MAX_LIST];
	size_t nbuckets;
	const char *zones[MAX_LIST];
	size_t nzones;
};

enum {
	OPT_SOCKET = 256,
	OPT_REGION,
	OPT_AMI,
	OPT_INSTANCE_TYPE,
	OPT_SSH_KEY_NAME,
	OPT_BUCKET,
	OPT_ZONE,
};

/* Nonzero when S reads back as the same string when written plain: a
 * letter or '/' first, then letters, digits and "._/-", and no word YAML
 * (or a YAML 1.1 reader) takes for a null or a boolean. */
static int plain_ok(const char *s)
{
	static const char *const words[] = { "null", "true", "false", "yes", "no",
		                             "on",   "off",  "y",     "n" };
	size_t i;

	if (!isalpha((unsigned char)s[0]) && s[0] != '/')
		return 0;
	for (i = 0; s[i]; i++) {
		if (!isalnum((unsigned char)s[i]) && !strchr("._/-", s[i]))
			return 0;
	}
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcasecmp(s, words[i]) == 0)
			return 0;
	}
	return 1;
}

/* S as a YAML scalar: plain when that is safe, else double-quoted (JSON
 * string syntax); "null" for NULL. */
static void put_scalar(FILE *f, const char *s)
{
	struct json_object *j;

	if (!s) {
		fputs("null", f);
		return;
	}
	if (plain_ok(s)) {
		fputs(s, f);
		return;
	}
	j = json_object_new_string(s);
	fputs(j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_NOSLASHESCAPE) : "null", f);
	json_object_put(j);
}

static void put_list(FILE *f, const char *const *items, size_t n)
{
	size_t i;

	if (n == 0) {
		fputs(" []\n", f);
		return;
	}
	fputc('\n', f);
	for (i = 0; i < n; i++) {
		fputs("    - ", f);
		put_scalar(f, items[i]);
		fputc('\n', f);
	}
}

static void write_yaml(FILE *f, const struct init_opts *o, const char *region)
{
	char zone_a[128];
	char zone_b[128];
	const char *default_zones[2] = { zone_a, zone_b };

	fprintf(f, "# fugue.yaml - written by `fugue init` (fugue %s).\n"
	           "#\n"
	           "# `fugue` reads conductor.socket from this file when it runs in this\n"
	           "# directory (--conductor PATH and FUGUE_CONDUCTOR take precedence). The\n"
	           "# other settings describe the Conductor's home in AWS.\n"
	           "conductor:\n"
	           "  # The Conductor's local socket (conductord --socket, or `socket:` in\n"
	           "  # /etc/fugue/conductor.yaml).\n"
	           "  socket: ",
	        FUGUE_VERSION);
	put_scalar(f, o->socket ? o->socket : FUGUE_CLI_DEFAULT_SOCKET);
	fputs("\n  # The AWS region the Conductor works in by default.\n  region: ", f);
	put_scalar(f, region);
	fputs("\n  # The image (AMI id) of the Conductor's EC2 instance.\n  ami: ", f);
	put_scalar(f, o->ami);
	fputs("\n  # The Conductor instance's type.\n  instanceType: ", f);
	put_scalar(f, o->instance_type ? o->instance_type : "t3.small");
	fputs("\n  # The EC2 key pair that may log in to the Conductor instance over SSH.\n"
	      "  sshKeyName: ",
	      f);
	put_scalar(f, o->ssh_key_name);
	fputs("\n  # The S3 buckets the Conductor keeps its state backups and logs in.\n"
	      "  buckets:",
	      f);
	put_list(f, o->buckets, o->nbuckets);
	fputs("  # The availability zones the Conductor may run in.\n  availabilityZones:", f);
	if (o->nzones > 0) {
		put_list(f, o->zones, o->nzones);
	} else {
		snprintf(zone_a, sizeof(zone_a), "%sa", region);
		snprintf(zone_b, sizeof(zone_b), "%sb", region);
		put_list(f, default_zones, 2);
	}
}

static const char *default_region(const struct init_opts *o)
{
	const char *r = o->region;

	if (!r || !*r)
		r = getenv("AWS_REGION");
	if (!r || !*r)
		r = getenv("AWS_DEFAULT_REGION");
	if (!r || !*r)
		r = "us-east-1";
	return r;
}

static int add_item(const fugue_cli *cli, const char **list, size_t *n, const char *item,
                    const char *what)
{
	if (!*item)
		return fugue_cli_usage_error(cli, "init", "%s may not be empty", what);
	if (*n >= MAX_LIST)
		return fugue_cli_usage_error(cli, "init", "at most %d %ss", MAX_LIST, what);
	list[(*n)++] = item;
	return 0;
}

static int parse_opts(struct init_opts *o, const fugue_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "ami", required_argument, NULL, OPT_AMI },
		{ "instance-type", required_argument, NULL, OPT_INSTANCE_TYPE },
		{ "ssh-key-name", required_argument, NULL, OPT_SSH_KEY_NAME },
		{ "bucket", required_argument, NULL, OPT_BUCKET },
		{ "availability-zone", required_argument, NULL, OPT_ZONE },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	int rc = 0;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	optind = 0;
	while (rc == 0 && (opt = getopt_long(argc, argv, ":f", options, NULL)) != -1) {
		switch (opt) {
		case 'f':
			o->force = 1;
			break;
		case OPT_SOCKET:
			o->socket = optarg;
			break;
		case OPT_REGION:
			o->region = optarg;
			break;
		case OPT_AMI:
			o->ami = optarg;
			break;
		case OPT_INSTANCE_TYPE:
			o->instance_type = optarg;
			break;
		case OPT_SSH_KEY_NAME:
			o->ssh_key_name = optarg;
			break;
		case OPT_BUCKET:
			rc = add_item(cli, o->buckets, &o->nbuckets, optarg, "bucket");
			break;
		case OPT_ZONE:
			rc = add_item(cli, o->zones, &o->nzones, optarg, "availability zone");
			break;
		default:
			return fugue_cli_bad_option(cli, "init", opt, argc, argv);
		}
	}
	if (rc != 0)
		return rc;
	if (optind < argc)
		return fugue_cli_usage_error(cli, "init", "unexpected argument '%s'", argv[optind]);
	if (o->socket && !*o->socket)
		return fugue_cli_usage_error(cli, "init", "--socket may not be empty");
	return 0;
}

static void print_json(const fugue_cli *cli, int written)
{
	struct json_object *doc = json_object_new_object();

	json_object_object_add(doc, "file", json_object_new_string(INIT_FILE));
	json_object_object_add(doc, "written", json_object_new_boolean(written));
	fugue_cli_print_json(cli, doc);
	json_object_put(doc);
}

/* Opens INIT_FILE for writing: a new file only, unless FORCE. */
static FILE *open_target(int force, int *err)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
	int fd = open(INIT_FILE, flags, 0644);
	FILE *f;

	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		*err = errno;
		close(fd);
	}
	return f;
}

int fugue_cmd_init(const fugue_cli *cli, int argc, char **argv)
{
	struct init_opts o;
	int err = 0;
	FILE *f;
	int rc;

	rc = parse_opts(&o, cli, argc, argv);
	if (rc != 0)
		return rc;
	f = open_target(o.force, &err);
	if (!f) {
		if (err == EEXIST) {
			fugue_cli_error(cli, "%s already exists", INIT_FILE);
			fugue_cli_hint(cli, "`fugue init --force` overwrites it");
		} else {
			fugue_cli_error(cli, "cannot write %s: %s", INIT_FILE, fugue_cli_strerror(err));
		}
		if (cli->json)
			print_json(cli, 0);
		return FUGUE_EXIT_FAILED;
	}
	write_yaml(f, &o, default_region(&o));
	if (ferror(f) | fclose(f)) {
		fugue_cli_error(cli, "cannot write %s: %s", INIT_FILE, fugue_cli_strerror(errno));
		if (cli->json)
			print_json(cli, 0);
		return FUGUE_EXIT_FAILED;
	}
	if (cli->json)
		print_json(cli, 1);
	else
		printf("wrote %s: edit it, then `fugue status` connects to the conductor it names\n",
		       INIT_FILE);
	return FUGUE_EXIT_OK;
}
