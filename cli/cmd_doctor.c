/* cmd_doctor.c - secretwatch doctor: the Microsoft 365 setup steps of a
 * credential in order (the probe of 'test', every step shown), then the
 * parts of the setup its options add: Microsoft Graph for --rotate auto,
 * the tenant sweep for a reader, Postfix for a token file. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "alert.h"
#include "cli.h"

static const char usage[] =
    "usage: secretwatch doctor NAME [--secret ID] [--to ADDR] [--json]\n"
    "\n"
    "Walk the Microsoft 365 setup steps in order - tenant reachable, app\n"
    "known, secret valid and unexpired, token carries SMTP.SendAsApp, SMTP\n"
    "reachable, STARTTLS, XOAUTH2 accepted, send-as allowed, message\n"
    "accepted - printing each as passed or failed, and stop at the first\n"
    "failure with its remedy, filled in with the credential's values.\n"
    "With --rotate auto, also the Microsoft Graph steps: token for Graph,\n"
    "read permission, write permission (the token's roles), the app as\n"
    "its own owner, the lifetime policy (JSON: \"graph\"); nothing is made.\n"
    "For a reader of its tenant (--sweep), the sweep's steps: token for\n"
    "Graph, Application.Read.All, one page of the tenant, owners readable\n"
    "(JSON: \"sweep\"). With a token file, the Postfix steps (\"postfix\").\n"
    "Exit 0 when every step passed, 2 otherwise.\n";

/* One part of the setup: a heading, or its JSON array. */
static struct cJSON *part(struct app *app, struct cli_probe *p,
			  const char *heading, const char *key)
{
	if (!app->json) {
		printf("\n%s:\n", heading);
		return NULL;
	}
	return cJSON_AddArrayToObject(p->json, key);
}

int cmd_doctor(struct app *app, int argc, char **argv)
{
	struct cli_probe p;
	const struct cred *c = &p.c;

	if (cli_probe(app, argc, argv, usage, true, &p))
		return 1;
	/* With automatic rotation, Microsoft Graph is part of the setup. */
	if (c->rotate_auto &&
	    cli_graph_checks(
		app, c,
		part(app, &p, "Microsoft Graph (--rotate auto)", "graph")))
		p.rc = p.rc ? p.rc : 1;
	/* A reader sweeps its tenant through Graph. */
	if (c->sweep &&
	    cli_sweep_checks(app, c,
			     part(app, &p, "Tenant sweep (--sweep)", "sweep")))
		p.rc = p.rc ? p.rc : 1;
	/* Alerts that can reach nobody once this secret fails. */
	if (!app->json && alert_only_through_secrets(&app->cfg))
		printf("\nwarning: %s\n", ALERT_ONLY_THROUGH_SECRETS);
	/* With a token file, Postfix is part of the setup. */
	if (c->token_file &&
	    cli_postfix_checks(
		app, c,
		app->json ? cJSON_AddArrayToObject(p.json, "postfix") : NULL))
		p.rc = p.rc ? p.rc : 1;
	return cli_probe_end(&p);
}
