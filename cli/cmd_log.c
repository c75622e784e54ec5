#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "render.h"
#include "timefmt.h"

static const char usage[] =
    "usage: secretwatch log [NAME] [--since WHEN] [--json]\n"
    "\n"
    "The audit trail: every registration, test, warning, switch and\n"
    "removal, oldest first. Details never contain a secret or a token.\n"
    "  --since WHEN  only events at or after WHEN (YYYY-MM-DD, RFC 3339)\n";

struct log_ctx {
	struct app *app;
	int first;
};

/* {"id","at","credential"|null,"secret_id"|null,"kind","detail":{...}};
 * detail is stored as JSON object text and goes out as it is. */
static cJSON *event_json(const struct event_row *ev)
{
	cJSON *o = cJSON_CreateObject();
	char t[TIMEFMT_RFC3339_LEN];

	render_add_int(o, "id", ev->id);
	timefmt_rfc3339(ev->at, t);
	cJSON_AddStringToObject(o, "at", t);
	if (ev->credential != NULL)
		cJSON_AddStringToObject(o, "credential", ev->credential);
	else
		cJSON_AddNullToObject(o, "credential");
	if (ev->secret_id)
		render_add_int(o, "secret_id", ev->secret_id);
	else
		cJSON_AddNullToObject(o, "secret_id");
	cJSON_AddStringToObject(o, "kind", ev->kind);
	cJSON_AddRawToObject(o, "detail", ev->detail);
	return o;
}

static int print_event(void *p, const struct event_row *ev)
{
	struct log_ctx *l = p;
	char t[TIMEFMT_RFC3339_LEN], sid[24];
	size_t size = 4 * strlen(ev->detail) + 1;
	char *detail;

	if (l->app->json) {
		render_stream_item(event_json(ev), l->first);
		l->first = 0;
		return 0;
	}
	/* Details quote servers and Graph (JSON escapes only controls):
	 * shown escaped for the terminal, whole. */
	if ((detail = malloc(size)) == NULL)
		return 1;
	timefmt_rfc3339(ev->at, t);
	snprintf(sid, sizeof(sid), "#%lld", (long long)ev->secret_id);
	printf("%s  %-20s %-6s %-20s %s\n", t,
	       ev->credential ? ev->credential : "-", ev->secret_id ? sid : "-",
	       ev->kind, render_esc(ev->detail, 0, detail, size));
	free(detail);
	return 0;
}

static int count_event(void *p, const struct event_row *ev)
{
	(void)ev;
	++*(int *)p;
	return 1; /* one is enough */
}

/* A name that is neither a credential nor in the trail (of a credential
 * removed since) is a typo: say so, as status does. Returns 0, or -1
 * with e. */
static int known_name(struct app *app, const char *name, struct err *e)
{
	struct cred c;
	struct err none;
	int n = 0;

	if (store_cred_get(app->store, name, &c, e) == 0)
		return 0;
	if (store_event_each(app->store, name, 0, count_event, &n, &none) ==
		0 &&
	    n > 0)
		return 0;
	return -1;
}

int cmd_log(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"since", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"json", no_argument, NULL, OPT_JSON},
	    {0}};
	struct log_ctx l = {.app = app, .first = 1};
	const char *name = NULL;
	int64_t since = 0;
	struct err e;
	int opt, rc;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1) {
		if (opt == 's') {
			if (timefmt_parse_when(optarg, app->now, &since, &e))
				return app_fail(app, "--since: %s", e.msg);
		} else if (app_common_opt(app, opt, usage) != 1) {
			return 1;
		}
	}
	if (optind < argc - 1)
		return app_bad_args(app);
	if (optind == argc - 1)
		name = argv[optind];
	if (app_open(app, APP_READ))
		return 1;
	if (name != NULL && known_name(app, name, &e)) {
		app_close(app);
		return app_fail_err(app, &e);
	}
	if (app->json)
		fputs("{\"events\":[", stdout);
	rc = store_event_each(app->store, name, since, print_event, &l, &e);
	if (app->json)
		fputs("]}\n", stdout);
	app_close(app);
	return rc ? app_fail_err(app, &e) : 0;
}
