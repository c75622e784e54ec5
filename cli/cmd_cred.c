#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cloud.h"
#include "registry.h"
#include "render.h"
#include "timefmt.h"
#include "validate.h"

static const char usage[] =
    "usage: secretwatch cred add NAME --tenant T --client-id ID --sender "
    "MAILBOX\n"
    "       secretwatch cred add NAME --tenant T --client-id ID --sweep "
    "[--sender MAILBOX]\n"
    "                            [--object-id ID] [--test-to ADDR]\n"
    "                            [--cloud global|usgov|dod|china]\n"
    "                            [--authority-url URL] [--smtp-url "
    "smtp://HOST:PORT]\n"
    "                            [--graph-url URL] [--token-file]\n"
    "                            [--rotate auto|manual] [--app-object-id ID]\n"
    "       secretwatch cred set NAME [--token-file|--no-token-file]\n"
    "                            [--rotate auto|manual] "
    "[--sweep|--no-sweep]\n"
    "                            [any option of cred add]\n"
    "       secretwatch cred list [--names]\n"
    "       secretwatch cred show NAME\n"
    "       secretwatch cred rm NAME [--force]\n"
    "\n"
    "A credential is one app registration sending as one mailbox, or the\n"
    "reader of its tenant (--sweep), or both.\n"
    "  --tenant      Directory (tenant) ID, or a verified domain\n"
    "  --client-id   Application (client) ID\n"
    "  --sender      the mailbox the app sends as (Authenticated SMTP on)\n"
    "  --object-id   Enterprise application (service principal) Object ID,"
    "\n"
    "                used in diagnosis commands\n"
    "  --test-to     recipient of test messages (default: the sender)\n"
    "  --cloud       endpoints of a national cloud (default global)\n"
    "  --authority-url, --smtp-url, --graph-url  override one endpoint\n"
    "  --token-file  keep its current access token in a file of [tokens]\n"
    "                dir, for Postfix (see 'secretwatch postfix NAME')\n"
    "  --rotate      auto: make its new secrets through Microsoft Graph\n"
    "                ([rotate] before its expiry), test, switch, deploy,\n"
    "                then remove the old one after [rotate] grace;\n"
    "                manual (default): a person registers them\n"
    "  --app-object-id  the app registration's Object ID (its Overview\n"
    "                page): a certificate uploaded in the portal rolls\n"
    "                itself with it (learned from Graph where it may read)\n"
    "  --sweep       the reader of its tenant: sweeps every app's and\n"
    "                enterprise app's credentials into the inventory and\n"
    "                warns before they expire ([sweep]; needs the Graph\n"
    "                application permission Application.Read.All, and\n"
    "                User.Read.All to mail owners); --sender optional\n"
    "  set           change the options given, in one step; an empty\n"
    "                value clears an optional one\n"
    "  --force       with rm: also remove its secrets and history links\n";

static int copy_field(struct app *app, char *dst, size_t size,
		      const char *value, const char *what)
{
	if (strlen(value) >= size)
		return app_fail(app, "%s is too long (at most %zu characters)",
				what, size - 1);
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

enum {
	O_TENANT = 1,
	O_CLIENT,
	O_SENDER,
	O_OBJECT,
	O_TESTTO,
	O_CLOUD,
	O_AUTH,
	O_SMTP,
	O_GRAPH,
	O_TOKENFILE,
	O_NOTOKENFILE,
	O_ROTATE,
	O_APPOBJ,
	O_SWEEP,
	O_NOSWEEP,
};

static int rotate_field(struct app *app, struct cred *c, const char *v)
{
	if (strcmp(v, "auto") != 0 && strcmp(v, "manual") != 0)
		return app_fail(app, "--rotate '%.20s': use auto or manual", v);
	c->rotate_auto = strcmp(v, "auto") == 0;
	return 0;
}

static int cred_field(struct app *app, struct cred *c, int opt, const char *v)
{
	switch (opt) {
	case O_TENANT:
		return copy_field(app, c->tenant, sizeof(c->tenant), v,
				  "--tenant");
	case O_CLIENT:
		return copy_field(app, c->client_id, sizeof(c->client_id), v,
				  "--client-id");
	case O_SENDER:
		return copy_field(app, c->sender, sizeof(c->sender), v,
				  "--sender");
	case O_OBJECT:
		return copy_field(app, c->object_id, sizeof(c->object_id), v,
				  "--object-id");
	case O_TESTTO:
		return copy_field(app, c->test_to, sizeof(c->test_to), v,
				  "--test-to");
	case O_CLOUD:
		return copy_field(app, c->cloud, sizeof(c->cloud), v,
				  "--cloud");
	case O_AUTH:
		return copy_field(app, c->authority_url,
				  sizeof(c->authority_url), v,
				  "--authority-url");
	case O_SMTP:
		return copy_field(app, c->smtp_url, sizeof(c->smtp_url), v,
				  "--smtp-url");
	case O_TOKENFILE:
	case O_NOTOKENFILE:
		c->token_file = opt == O_TOKENFILE;
		return 0;
	case O_ROTATE:
		return rotate_field(app, c, v);
	case O_SWEEP:
	case O_NOSWEEP:
		c->sweep = opt == O_SWEEP;
		return 0;
	case O_APPOBJ:
		return copy_field(app, c->app_object_id,
				  sizeof(c->app_object_id), v,
				  "--app-object-id");
	default:
		return copy_field(app, c->graph_url, sizeof(c->graph_url), v,
				  "--graph-url");
	}
}

static int validate_cred(const struct cred *c, struct err *e)
{
	if (c->tenant[0] == '\0' || c->client_id[0] == '\0' ||
	    (c->sender[0] == '\0' && !c->sweep)) {
		err_set(e, "a credential needs --tenant, --client-id and "
			   "--sender (a reader of its tenant, --sweep, needs "
			   "no sender)");
		return -1;
	}
	if (validate_name(c->name, e) || validate_tenant(c->tenant, e) ||
	    validate_guid(c->client_id, "client ID", e) ||
	    (c->sender[0] && validate_mailbox(c->sender, "sender", e)))
		return -1;
	if (c->sender[0] == '\0' && (c->token_file || c->test_to[0])) {
		err_set(e,
			"%s has no --sender: a reader without a mailbox "
			"has no mail to send or token to keep; give "
			"--sender MAILBOX, or drop --token-file and "
			"--test-to",
			c->name);
		return -1;
	}
	if ((c->object_id[0] && validate_guid(c->object_id, "object ID", e)) ||
	    (c->app_object_id[0] &&
	     validate_guid(c->app_object_id, "application object ID", e)) ||
	    (c->test_to[0] &&
	     validate_mailbox(c->test_to, "test recipient", e)))
		return -1;
	if (cloud_find(c->cloud) == NULL) {
		err_set(e,
			"cloud '%.20s' is unknown: use global, usgov, dod "
			"or china",
			c->cloud);
		return -1;
	}
	if ((c->authority_url[0] &&
	     validate_url(c->authority_url, "https", "--authority-url", e)) ||
	    (c->smtp_url[0] &&
	     validate_url(c->smtp_url, "smtp", "--smtp-url", e)) ||
	    (c->graph_url[0] &&
	     validate_url(c->graph_url, "https", "--graph-url", e)))
		return -1;
	return 0;
}

/* The options of cred add and cred set, and the field names cred set's
 * audit event lists. */
static const struct option cred_opts[] = {
    {"tenant", required_argument, NULL, O_TENANT},
    {"client-id", required_argument, NULL, O_CLIENT},
    {"sender", required_argument, NULL, O_SENDER},
    {"object-id", required_argument, NULL, O_OBJECT},
    {"test-to", required_argument, NULL, O_TESTTO},
    {"cloud", required_argument, NULL, O_CLOUD},
    {"authority-url", required_argument, NULL, O_AUTH},
    {"smtp-url", required_argument, NULL, O_SMTP},
    {"graph-url", required_argument, NULL, O_GRAPH},
    {"token-file", no_argument, NULL, O_TOKENFILE},
    {"no-token-file", no_argument, NULL, O_NOTOKENFILE},
    {"rotate", required_argument, NULL, O_ROTATE},
    {"app-object-id", required_argument, NULL, O_APPOBJ},
    {"sweep", no_argument, NULL, O_SWEEP},
    {"no-sweep", no_argument, NULL, O_NOSWEEP},
    {"help", no_argument, NULL, OPT_HELP},
    {"json", no_argument, NULL, OPT_JSON},
    {0}};

static int cred_add(struct app *app, int argc, char **argv)
{
	struct cred c = {.cloud = "global"};
	struct err e;
	int opt, rc = 1;

	while ((opt = app_getopt(app, argc, argv, cred_opts)) != -1) {
		int common = app_common_opt(app, opt, usage);
		if (common < 0 || opt == '?' ||
		    (common == 0 && cred_field(app, &c, opt, optarg)))
			return 1;
	}
	if (optind != argc - 1)
		return app_bad_args(app);
	if (copy_field(app, c.name, sizeof(c.name), argv[optind], "NAME"))
		return 1;
	if (validate_cred(&c, &e))
		return app_fail_err(app, &e);
	if (app_open(app, APP_WRITE))
		return 1;
	if (registry_cred_add(app->store, app->now, &c, &e)) {
		app_fail_err(app, &e);
		goto out;
	}
	printf("added credential %s%s; register its secret with 'secretwatch "
	       "secret add %s --expires WHEN'%s\n",
	       c.name, c.sweep ? ", the reader of its tenant" : "", c.name,
	       c.sweep ? ", then 'secretwatch sweep' lists the tenant" : "");
	rc = 0;
out:
	app_close(app);
	return rc;
}

static cJSON *cred_json(const struct cred *c)
{
	cJSON *o = cJSON_CreateObject();
	char t[TIMEFMT_RFC3339_LEN];

	cJSON_AddStringToObject(o, "name", c->name);
	cJSON_AddStringToObject(o, "tenant", c->tenant);
	cJSON_AddStringToObject(o, "client_id", c->client_id);
	cJSON_AddStringToObject(o, "sender", c->sender);
	cJSON_AddStringToObject(o, "object_id", c->object_id);
	cJSON_AddStringToObject(o, "app_object_id", c->app_object_id);
	cJSON_AddStringToObject(o, "test_to",
				c->test_to[0] ? c->test_to : c->sender);
	cJSON_AddStringToObject(o, "cloud", c->cloud);
	cJSON_AddStringToObject(o, "authority_url", cloud_authority_url(c));
	cJSON_AddStringToObject(o, "smtp_url", cloud_smtp_url(c));
	cJSON_AddStringToObject(o, "graph_url", cloud_graph_url(c));
	cJSON_AddStringToObject(o, "token_file", c->token_file ? "yes" : "no");
	cJSON_AddStringToObject(o, "rotate",
				c->rotate_auto ? "auto" : "manual");
	cJSON_AddStringToObject(o, "sweep", c->sweep ? "yes" : "no");
	timefmt_rfc3339(c->created_at, t);
	cJSON_AddStringToObject(o, "created_at", t);
	return o;
}

struct list_ctx {
	struct app *app;
	int names;
	int first;
};

static int list_one(void *p, const struct cred *c)
{
	struct list_ctx *ctx = p;

	if (ctx->names) {
		puts(c->name);
	} else if (ctx->app->json) {
		render_stream_item(cred_json(c), ctx->first);
	} else {
		printf("%-24s %-8s %-36s %s%s\n", c->name, c->cloud,
		       c->client_id, c->sender[0] ? c->sender : "-",
		       c->sweep ? " (reads its tenant)" : "");
	}
	ctx->first = 0;
	return 0;
}

static int cred_list(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"names", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"json", no_argument, NULL, OPT_JSON},
	    {0}};
	struct list_ctx ctx = {.app = app, .first = 1};
	struct err e;
	int opt, rc;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1) {
		if (opt == 'n')
			ctx.names = 1;
		else if (app_common_opt(app, opt, usage) != 1)
			return 1;
	}
	if (optind != argc)
		return app_bad_args(app);
	if (app_open(app, APP_READ))
		return 1;
	if (app->json && !ctx.names)
		fputs("{\"credentials\":[", stdout);
	else if (!ctx.names)
		printf("%-24s %-8s %-36s %s\n", "NAME", "CLOUD", "CLIENT ID",
		       "SENDER");
	rc = store_cred_each(app->store, list_one, &ctx, &e);
	if (app->json && !ctx.names)
		fputs("]}\n", stdout);
	app_close(app);
	return rc ? app_fail_err(app, &e) : 0;
}

static int one_name(struct app *app, int argc, char **argv, int *force)
{
	static const struct option opts[] = {
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"json", no_argument, NULL, OPT_JSON},
	    {0}};
	int opt;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1) {
		if (opt == 'f' && force != NULL)
			*force = 1;
		else if (app_common_opt(app, opt, usage) != 1)
			return opt == 'f' ? app_bad_args(app) : 1;
	}
	if (optind != argc - 1)
		return app_bad_args(app);
	return 0;
}

static int cred_show(struct app *app, int argc, char **argv)
{
	struct cred c;
	struct err e;
	cJSON *o;

	if (one_name(app, argc, argv, NULL) || app_open(app, APP_READ))
		return 1;
	if (store_cred_get(app->store, argv[optind], &c, &e)) {
		app_close(app);
		return app_fail_err(app, &e);
	}
	app_close(app);
	o = cred_json(&c);
	if (app->json) {
		app_print_json(o);
		return 0;
	}
	for (cJSON *f = o->child; f != NULL; f = f->next)
		printf("%-14s %s\n", f->string,
		       f->valuestring[0] ? f->valuestring : "-");
	cJSON_Delete(o);
	return 0;
}

static int cred_rm(struct app *app, int argc, char **argv)
{
	struct cred c;
	struct err e;
	int force = 0;

	if (one_name(app, argc, argv, &force) || app_open(app, APP_WRITE))
		return 1;
	if (registry_cred_rm(app->store, app->now, argv[optind], force, &c,
			     &e)) {
		app_close(app);
		return app_fail_err(app, &e);
	}
	printf("removed credential %s\n", c.name);
	app_close(app);
	return 0;
}

#define SET_MAX 32
struct change {
	int opt;
	const char *value;
};

static const char *set_field_name(int opt)
{
	for (const struct option *o = cred_opts; o->name; o++)
		if (o->val == opt)
			return opt == O_NOTOKENFILE ? "token-file"
			       : opt == O_NOSWEEP   ? "sweep"
						    : o->name;
	return "?";
}

/* Apply the changes to c, check the result, store it with its event. */
static int set_apply(struct app *app, const char *name, const struct change *ch,
		     int n, struct err *e)
{
	const char *names[SET_MAX];
	struct cred c;

	if (store_cred_get(app->store, name, &c, e))
		return -1;
	for (int i = 0; i < n; i++) {
		if (cred_field(app, &c, ch[i].opt, ch[i].value))
			return -2; /* already said */
		names[i] = set_field_name(ch[i].opt);
	}
	if (validate_cred(&c, e))
		return -1;
	return registry_cred_update(app->store, app->now, &c, names, (size_t)n,
				    e);
}

static int cred_set(struct app *app, int argc, char **argv)
{
	struct change ch[SET_MAX];
	struct err e;
	int opt, n = 0, rc;

	while ((opt = app_getopt(app, argc, argv, cred_opts)) != -1) {
		int common = app_common_opt(app, opt, usage);
		if (common < 0 || opt == '?')
			return 1;
		if (common == 1)
			continue;
		if (n == SET_MAX)
			return app_fail(app,
					"too many options: give each once");
		ch[n].opt = opt;
		ch[n++].value = optarg;
	}
	if (optind != argc - 1)
		return app_bad_args(app);
	if (n == 0)
		return app_fail(app,
				"nothing to change: give the options to "
				"change, see 'secretwatch cred set --help'");
	if (app_open(app, APP_WRITE))
		return 1;
	rc = set_apply(app, argv[optind], ch, n, &e);
	app_close(app);
	if (rc == -2)
		return 1;
	if (rc != 0)
		return app_fail_err(app, &e);
	printf("changed credential %s\n", argv[optind]);
	return 0;
}

static const struct command cred_commands[] = {
    {"add", cred_add, "add a credential", ""},
    {"set", cred_set, "change a credential", ""},
    {"list", cred_list, "list credentials", ""},
    {"show", cred_show, "show one credential", ""},
    {"rm", cred_rm, "remove a credential", ""},
};

int cmd_cred(struct app *app, int argc, char **argv)
{
	return app_dispatch(app, cred_commands,
			    sizeof(cred_commands) / sizeof(cred_commands[0]),
			    "cred", usage, argc, argv);
}
