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
    "  --since WHEN  only events at or after WHEN: YYYY-MM-DD, RFC 3339,\n"
    "                or a time ago such as -1h or -7d\n";

struct log_ctx {
	struct app *app;
	int first;
};

/* The detail with its times as RFC 3339: events written by earlier
 * releases hold "expires_at" (and any "*_at") as epoch seconds. Returns
 * a string to free, or NULL when there was nothing to turn. */
static char *detail_times(const char *detail)
{
	cJSON *d = cJSON_Parse(detail), *f, *next;
	char t[TIMEFMT_RFC3339_LEN], *out = NULL;
	int turned = 0;

	/* next is read first: the replaced item is freed. */
	for (f = cJSON_IsObject(d) ? d->child : NULL; f != NULL; f = next) {
		size_t n = f->string != NULL ? strlen(f->string) : 0;
		next = f->next;
		if (!cJSON_IsNumber(f) || n < 3 ||
		    strcmp(f->string + n - 3, "_at") != 0)
			continue;
		timefmt_rfc3339((int64_t)f->valuedouble, t);
		cJSON_ReplaceItemInObjectCaseSensitive(d, f->string,
						       cJSON_CreateString(t));
		turned = 1;
	}
	if (turned)
		out = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	return out;
}

/* {"id","at","credential"|null,"secret_id"|null,"kind","detail":{...}};
 * detail is stored as JSON object text and goes out as it is. */
static cJSON *event_json(const struct event_row *ev)
{
	cJSON *o = cJSON_CreateObject();
	char t[TIMEFMT_RFC3339_LEN], *turned;

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
	turned = detail_times(ev->detail);
	cJSON_AddRawToObject(o, "detail", turned ? turned : ev->detail);
	cJSON_free(turned);
	return o;
}

#define LOG_ROW "%-20s  %-20s %-6s %-20s %s\n"

static int print_event(void *p, const struct event_row *ev)
{
	struct log_ctx *l = p;
	char t[TIMEFMT_RFC3339_LEN], sid[24];
	char *turned, *detail;
	const char *text;
	size_t size;

	if (l->app->json) {
		render_stream_item(event_json(ev), l->first);
		l->first = 0;
		return 0;
	}
	/* The header with the first row: none before an error. */
	if (l->first)
		printf(LOG_ROW, "TIME", "CREDENTIAL", "SECRET", "EVENT",
		       "DETAIL");
	l->first = 0;
	turned = detail_times(ev->detail);
	text = turned ? turned : ev->detail;
	/* Details quote servers and Graph (JSON escapes only controls):
	 * shown escaped for the terminal, whole. */
	size = 4 * strlen(text) + 1;
	if ((detail = malloc(size)) == NULL) {
		cJSON_free(turned);
		return 1;
	}
	timefmt_rfc3339(ev->at, t);
	snprintf(sid, sizeof(sid), "#%lld", (long long)ev->secret_id);
	printf(LOG_ROW, t, ev->credential ? ev->credential : "-",
	       ev->secret_id ? sid : "-", ev->kind,
	       render_esc(text, 0, detail, size));
	free(detail);
	cJSON_free(turned);
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
			/* Only the past makes sense here: the error says so. */
			if (timefmt_parse_when(optarg, app->now, &since, &e))
				return app_fail(
				    app,
				    "--since: '%.40s' is not a time: use "
				    "YYYY-MM-DD, an RFC 3339 time such as "
				    "2027-06-01T12:00:00Z, or a time ago such "
				    "as -1h or -7d",
				    optarg);
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
