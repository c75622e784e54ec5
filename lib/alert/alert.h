/* alert.h - the alert channels (docs/ARCHITECTURE.md §2): log, email, webhook,
 * exec.
 *
 * A channel is a row of a table (one file each: alert_log.c,
 * alert_email.c, alert_webhook.c, alert_exec.c), so a new channel is a new
 * file and a new row. The watchdog decides what to say and to whom; a
 * channel only delivers one alert once and says whether it got through.
 * No channel ever sees a secret value: alerts carry the hint and key ID.
 */
#ifndef SW_ALERT_H
#define SW_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "cred.h"
#include "err.h"
#include "log.h"
#include "net.h"

#define ALERT_EXEC_TIMEOUT_S		30L
#define ALERT_WEBHOOK_CONNECT_TIMEOUT_S 10L
#define ALERT_WEBHOOK_TIMEOUT_S		20L
#define ALERT_SUMMARY_MAX		256

/* What an alert is about. */
enum alert_event {
	ALERT_EXPIRY_WARNING,
	ALERT_EXPIRED,
	ALERT_SWITCHED,
	ALERT_SWITCH_FAILED,
	ALERT_HEALTH_FAILED,
	ALERT_TOKEN_FILE_FAILED,
	ALERT_SECRET_REMOVED,
	ALERT_ROTATION_FAILED,
	ALERT_DEPLOY_FAILED,
	ALERT_APP_EXPIRING, /* a tenant's app has credentials in a warning
			       step (the sweep) */
};

/* Its name, as written to the outbox, JSON, the environment and people:
 * "expiry-warning", "expired", "switched", "switch-failed",
 * "health-failed", "token-file-failed", "secret-removed",
 * "rotation-failed", "deploy-failed", "app-credential-expiring"
 * ("unknown" for a
 * value out of range). */
const char *alert_event_name(enum alert_event ev);

/* The event called name into *ret. Returns 0, or -1 when there is none. */
int alert_event_parse(const char *name, enum alert_event *ret);

struct alert {
	enum alert_event event;
	const char *credential; /* name */
	const char *hint;	/* 3 chars */
	const char *key_id;	/* "" when unknown */
	int64_t expires_at;	/* UTC seconds */
	int64_t days_left;
	const char *level;   /* "ok", "warning", "critical", "expired" */
	const char *message; /* one paragraph for people, already written by the
				caller; includes the exact command */
	bool certificate;    /* about a certificate, not a client secret */
	/* ALERT_APP_EXPIRING: the tenant's application it is about (the
	 * credential is the reader that found it); hint, key_id and
	 * expires_at are of its soonest credential of count. NULL else. */
	const char *app;    /* display name */
	const char *app_id; /* application (client) ID */
	const char *link;   /* its "Certificates & secrets" in the portal */
	int count;	    /* its credentials in a warning step */
	/* The email channel's recipients instead of [alerts] email_to (the
	 * app's owners); NULL or "": email_to. */
	const char *to;
};

/* What a channel may need besides the alert. */
struct alert_ctx {
	const struct config *cfg;
	const struct cred *cred;  /* the credential the alert is about */
	const char *access_token; /* an Outlook token for cred, or NULL: the
				     email channel then fails with "no working
				     secret to send mail with" */
	const struct net_opts *net;
	int64_t now;
	log_fn *log; /* where the log channel writes; NULL: nowhere */
	void *log_arg;
	int instance; /* which of the channel's deliveries (from 0): the
			 webhook's index in cfg->webhooks */
};

struct alert_channel {
	const char *name; /* "log", "email", "webhook", "exec" */
	bool needs_token; /* sends through the credential's own mailbox: the
			     caller passes an Outlook token (email) */
	bool (*configured)(const struct config *cfg); /* log: always */
	int (*send)(const struct alert *a, const struct alert_ctx *ctx,
		    struct err *e); /* 0 delivered, -1 with e */
	/* How many deliveries one alert is (one per webhook); NULL: one
	 * when configured. */
	int (*count)(const struct config *cfg);
};

/* The channels in a fixed order: log, email, webhook, exec. Static
 * storage; *ret_n is set to their number. */
const struct alert_channel *alert_channels(size_t *ret_n);

/* True when the only channels besides the log send through the watched
 * credentials' own mailboxes (email_to without a webhook or exec): an
 * expired or revoked secret then silences the alert about itself. */
bool alert_only_through_secrets(const struct config *cfg);
/* What the front ends say when it is (one line). */
#define ALERT_ONLY_THROUGH_SECRETS                                             \
	"email is the only alert channel besides this log: alert mail goes "   \
	"out through the secrets being watched, so one that expires or is "    \
	"revoked silences the alert about itself; add a webhook_url or exec "  \
	"to [alerts]"

/* The channel called name, or NULL when there is none. */
const struct alert_channel *alert_channel_find(const char *name);

/* How many deliveries of one alert ch owes under cfg: 0 when it is not
 * configured, one per webhook for "webhook", else 1. */
int alert_channel_count(const struct alert_channel *ch,
			const struct config *cfg);

/* The outbox name of delivery i (from 0) of ch: its name for the first,
 * then NAME.2, NAME.3 ... ("webhook.2" is the second webhook), so that
 * each is retried on its own. out is always NUL-terminated. */
void alert_channel_label(const struct alert_channel *ch, int i, char *out,
			 size_t size);

/* The channel and delivery index (into *ret_i) of an outbox name, or
 * NULL when there is none. */
const struct alert_channel *alert_channel_parse(const char *label, int *ret_i);

/* The webhook JSON body (pure, for tests): {"event","credential","hint",
 * "key_id","expires_at" (RFC 3339 UTC),"days_left","level","message",
 * "text"} where "text" is one line Slack and Teams incoming webhooks
 * display ("[secretwatch] " + alert_summary + ". " + the message on one
 * line). NULL strings in a count as "". Returns a malloc'd string the
 * caller frees with free(), or NULL when out of memory. */
char *alert_webhook_body(const struct alert *a);

/* The body of a for a receiver of the given format: WEBHOOK_JSON is
 * alert_webhook_body; WEBHOOK_SLACK {"text": the same "text"};
 * WEBHOOK_TEAMS an Adaptive Card message as Teams Workflows take it:
 * {"type":"message","attachments":[{"contentType":
 * "application/vnd.microsoft.card.adaptive","contentUrl":null,
 * "content":{"$schema","type":"AdaptiveCard","version":"1.4","body":[a
 * TextBlock with the summary, one with the message, a FactSet of
 * credential, hint, key ID, expiry, days left and level]}}]}. Returns a
 * malloc'd string (free()), or NULL when out of memory. */
char *alert_webhook_payload(const struct alert *a, enum webhook_format f);

/* The webhook channel's send: a POST of the payload to the webhook the
 * alert is for (in the network module, netmod.h). */
int alert_webhook_send(const struct alert *a, const struct alert_ctx *ctx,
		       struct err *e);

/* s on one line: every run of control characters and blanks becomes one
 * blank, and leading and trailing blanks go. NULL counts as "". Returns a
 * malloc'd string (free() it), or NULL when out of memory. */
char *alert_oneline(const char *s);

/* The heartbeat of a completed cycle: a GET of url, or of url + "/fail"
 * (before any query) when failed, for a dead man's switch such as
 * healthchecks.io, an Uptime Kuma push monitor or Better Stack. Short
 * time limits; TLS verified against net->ca_file. Messages name only the
 * URL's scheme and host. Returns 0 when answered 2xx, -1 with e. */
int alert_heartbeat_send(const char *url, bool failed,
			 const struct net_opts *net, struct err *e);

/* The one-line gist of a, as in the email subject after "[secretwatch] ":
 * "mail-alerts: client secret abc~ expires in 7 days". days_left counts
 * as timefmt_days_left does, rounded up: 1 reads "expires within a day",
 * 0 or less "has expired". Control characters become blanks; out is
 * always NUL-terminated (truncated to size). Shared by the channels so
 * that every channel words an alert alike. */
void alert_summary(const struct alert *a, char *out, size_t size);

#endif
