#include "probe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cloud.h"
#include "graph_list.h"
#include "mail.h"
#include "material.h"

static const struct {
	const char *name;
	const char *title;
} step_info[PROBE_NSTEPS] = {
    [PROBE_TENANT] = {"tenant", "Tenant reachable"},
    [PROBE_APP] = {"app", "App known and enabled"},
    [PROBE_SECRET] = {"secret", "Secret valid and unexpired"},
    [PROBE_ROLE] = {"role", "Token for Exchange Online with SMTP.SendAsApp"},
    [PROBE_SMTP] = {"smtp", "SMTP server reachable"},
    [PROBE_STARTTLS] = {"starttls", "STARTTLS with a verified certificate"},
    [PROBE_XOAUTH2] = {"xoauth2", "AUTH XOAUTH2 accepted"},
    [PROBE_SEND_AS] = {"send-as", "Sending as the sender allowed"},
    [PROBE_ACCEPTED] = {"accepted", "Test message accepted"},
};

const char *probe_step_name(enum probe_step_id id)
{
	if ((unsigned)id >= PROBE_NSTEPS)
		return "unknown";
	return step_info[id].name;
}

const char *probe_status_name(enum probe_status s)
{
	switch (s) {
	case PROBE_SKIPPED:
		return "skipped";
	case PROBE_PASSED:
		return "passed";
	case PROBE_FAILED:
		return "failed";
	}
	return "unknown";
}

static void step_set(struct probe_result *r, enum probe_step_id id,
		     enum probe_status st, const char *f, ...)
    __attribute__((format(printf, 4, 5)));

static void step_set(struct probe_result *r, enum probe_step_id id,
		     enum probe_status st, const char *f, ...)
{
	struct probe_step *s = &r->steps[id];
	va_list ap;

	s->status = st;
	va_start(ap, f);
	vsnprintf(s->detail, sizeof(s->detail), f, ap);
	va_end(ap);
}

/* Mark step id failed with the diagnosis, the steps before it that have
 * not been decided passed, and the rest skipped. */
static void fail_at(struct probe_result *r, enum probe_step_id id)
{
	r->ok = false;
	r->failed = id;
	r->has_diag = true;
	for (int i = 0; i < (int)id; i++)
		if (r->steps[i].status == PROBE_SKIPPED &&
		    r->steps[i].detail[0] == '\0')
			step_set(r, (enum probe_step_id)i, PROBE_PASSED, "ok");
	step_set(r, id, PROBE_FAILED, "%s", r->diag.summary);
	for (int i = (int)id + 1; i < PROBE_NSTEPS; i++)
		step_set(r, (enum probe_step_id)i, PROBE_SKIPPED,
			 "not run: an earlier step failed");
}

/* The step a token failure belongs to, by its diagnosis. */
static enum probe_step_id token_step(struct probe_result *r)
{
	switch (r->diag.step) {
	case DIAG_STEP_CLIENT_ID:
	case DIAG_STEP_APP_DISABLED:
		return PROBE_APP;
	case DIAG_STEP_SCOPE:
	case DIAG_STEP_CONDITIONAL_ACCESS:
		step_set(r, PROBE_SECRET, PROBE_SKIPPED,
			 "not known: the token was refused before");
		return PROBE_ROLE;
	case DIAG_STEP_SECRET_VALUE:
	case DIAG_STEP_SECRET_REVOKED:
	case DIAG_STEP_SECRET_EXPIRED:
	case DIAG_STEP_SECRET_MISSING:
	case DIAG_STEP_CLIENT_AUTH:
	case DIAG_STEP_CERT_UNKNOWN:
	case DIAG_STEP_CLOCK_SKEW:
	case DIAG_STEP_CERT_EXPIRED:
	case DIAG_STEP_UNKNOWN:
		return PROBE_SECRET;
	default: /* tenant, network, token-endpoint, transport */
		return PROBE_TENANT;
	}
}

/* Whether a refused token request proves that Entra found the app: an
 * AADSTS code about its secret or certificate, or a policy that applied
 * to it. A plain OAuth error (invalid_client from a server without AADSTS
 * codes) proves nothing about the app. */
static bool app_found(const struct probe_result *r)
{
	if (r->entra.n_error_codes == 0)
		return false;
	switch (r->diag.step) {
	case DIAG_STEP_SECRET_VALUE:
	case DIAG_STEP_SECRET_REVOKED:
	case DIAG_STEP_SECRET_EXPIRED:
	case DIAG_STEP_CERT_UNKNOWN:
	case DIAG_STEP_CERT_EXPIRED:
	case DIAG_STEP_CONDITIONAL_ACCESS:
		return true;
	default:
		return false;
	}
}

/* A token request refused at step at: the steps before it pass only on
 * evidence, with what the server said; the rest stay for fail_at. */
static void token_steps_before(struct probe_result *r, enum probe_step_id at,
			       const char *authority, const char *client_id)
{
	const struct entra_result *en = &r->entra;
	char said[ENTRA_ERROR_MAX + 32];

	if (at <= PROBE_TENANT || en->http_status == 0)
		return;
	if (en->n_error_codes > 0)
		snprintf(said, sizeof(said), "AADSTS%ld", en->error_codes[0]);
	else
		snprintf(said, sizeof(said), "%s",
			 en->error[0] ? en->error : "an error");
	step_set(r, PROBE_TENANT, PROBE_PASSED, "%s answered (HTTP %ld, %s)",
		 authority, en->http_status, said);
	if (at <= PROBE_APP || app_found(r))
		return;
	step_set(r, PROBE_APP, PROBE_SKIPPED,
		 "not known: the server answered %s, which does not say "
		 "whether it knows app %s",
		 said, client_id);
}

/* The step a send failure belongs to, by its stage and diagnosis. */
static enum probe_step_id smtp_step(const struct probe_result *r)
{
	const struct smtp_result *s = &r->smtp;

	if (r->diag.step == DIAG_STEP_SEND_AS)
		return PROBE_SEND_AS;
	if (r->diag.step == DIAG_STEP_SMTP_NOT_AUTHENTICATED)
		return PROBE_XOAUTH2;
	switch (s->stage) {
	case SMTP_STAGE_CONNECT:
	case SMTP_STAGE_GREETING:
	case SMTP_STAGE_EHLO:
		return PROBE_SMTP;
	case SMTP_STAGE_STARTTLS:
	case SMTP_STAGE_TLS:
		return PROBE_STARTTLS;
	case SMTP_STAGE_AUTH:
		return PROBE_XOAUTH2;
	default:
		return PROBE_ACCEPTED;
	}
}

/* A send failed at step at: the send steps before it passed. */
static void passed_before(struct probe_result *r, enum probe_step_id at,
			  const char *url, const char *sender)
{
	if (at > PROBE_SMTP)
		step_set(r, PROBE_SMTP, PROBE_PASSED, "%s answered", url);
	if (at > PROBE_STARTTLS)
		step_set(r, PROBE_STARTTLS, PROBE_PASSED,
			 "TLS established after STARTTLS");
	if (at > PROBE_XOAUTH2)
		step_set(r, PROBE_XOAUTH2, PROBE_PASSED, "%s as %s",
			 r->smtp.authenticated ? "authenticated"
					       : "not refused",
			 sender);
	if (at > PROBE_SEND_AS)
		step_set(r, PROBE_SEND_AS, PROBE_PASSED, "not refused for %s",
			 sender);
}

/* What the probe's deadline is measured with. */
struct probe_clock {
	struct entra_retry rp; /* o's policy, with the probe's deadline */
	int64_t start;	       /* entra_mono_ms() when the probe began */
};

static void clock_start(const struct probe_opts *o, struct probe_clock *pc)
{
	static const struct entra_retry defaults = ENTRA_RETRY_DEFAULT;

	pc->rp = o->retry != NULL ? *o->retry : defaults;
	pc->rp.deadline_ms =
	    o->deadline_ms > 0 ? o->deadline_ms : PROBE_DEADLINE_DEFAULT_MS;
	pc->start = entra_mono_ms();
}

/* Milliseconds left before the deadline; <= 0 when it has passed. */
static int64_t time_left(const struct probe_clock *pc)
{
	return pc->rp.deadline_ms - (entra_mono_ms() - pc->start);
}

/* The sends ended at the deadline after n of them: say so. */
static void send_out_of_time(const struct probe_clock *pc, const char *url,
			     int n, struct smtp_result *sr)
{
	char last[SMTP_SUMMARY_MAX];

	snprintf(last, sizeof(last), "%s",
		 n > 0 && sr->summary[0] ? sr->summary : "no send made");
	sr->deadline = true;
	sr->transient = true;
	if (sr->fail == NET_OK)
		sr->fail = NET_TIMEOUT;
	err_fmt(sr->summary, sizeof(sr->summary),
		"no answer from %s within %ld s (%d attempt%s; last: %s)", url,
		(pc->rp.deadline_ms + 999) / 1000, n, n == 1 ? "" : "s", last);
}

/* Send s, and again while the failure is transient and the policy and
 * the deadline allow. Returns 0 when accepted, else -1 with r->smtp and
 * r->diag saying why. */
static int send_retry(struct smtp_send *s, const struct probe_opts *o,
		      const struct probe_clock *pc,
		      const struct diag_input *din, struct probe_result *r)
{
	const struct entra_retry *rp = &pc->rp;
	int max = rp->max_attempts > 0 ? rp->max_attempts : 1, n = 0;
	char last[SMTP_SUMMARY_MAX];
	long wait, waited = 0;
	bool late = false;

	for (;;) {
		s->timeout_ms = entra_retry_timeout_ms(o->net, rp, pc->start);
		if ((late = s->timeout_ms == 0))
			break;
		n++;
		if (smtp_send_message(s, o->net, &r->smtp) == 0) {
			r->smtp.attempts = n;
			return 0;
		}
		if ((late = r->smtp.fail == NET_TIMEOUT &&
			    time_left(pc) <= ENTRA_DEADLINE_SLACK_MS))
			break;
		diag_smtp(din, &r->smtp, &r->diag);
		if (!r->smtp.transient || !r->diag.transient || n >= max)
			break;
		wait = entra_retry_wait_ms(rp, n, 0);
		if (waited + wait > rp->max_total_ms ||
		    wait + ENTRA_DEADLINE_SLACK_MS >= time_left(pc) ||
		    entra_retry_sleep(rp, wait) != 0)
			break;
		waited += wait;
	}
	r->smtp.attempts = n;
	if (late) {
		send_out_of_time(pc, s->url, n, &r->smtp);
	} else if (n > 1) {
		snprintf(last, sizeof(last), "%s", r->smtp.summary);
		err_fmt(r->smtp.summary, sizeof(r->smtp.summary),
			"after %d attempts: %s", n, last);
	}
	diag_smtp(din, &r->smtp, &r->diag);
	return -1;
}

static int run_send(const struct cred *c, const struct probe_opts *o,
		    const struct probe_clock *pc, const struct diag_input *din,
		    struct probe_result *r)
{
	struct smtp_message m = {0};
	struct smtp_send s = {0};
	struct err e = {{0}};
	char host[256] = "";
	const char *to;
	char *msg = NULL;
	size_t msg_len = 0;
	int ret = -1;

	to = o->to != NULL && o->to[0] != '\0' ? o->to
	     : c->test_to[0] != '\0'	       ? c->test_to
					       : c->sender;
	mail_host_name(o->ehlo_name, host, sizeof(host));

	m.from = c->sender;
	m.to = to;
	m.cred_name = c->name;
	m.hint = o->hint != NULL ? o->hint : "";
	m.key_id = o->key_id;
	m.host = host;
	m.now = o->now;

	r->smtp_ran = true;
	smtp_result_init(&r->smtp);
	if (smtp_build_message(&m, &msg, &msg_len, &e) != 0) {
		e.msg[500] = '\0'; /* what the summary line takes */
		smtp_result_refuse(&r->smtp, e.msg);
		diag_smtp(din, &r->smtp, &r->diag);
		fail_at(r, PROBE_SMTP);
		return -1;
	}

	s.url = cloud_smtp_url(c);
	s.ehlo_name = host[0] != '\0' ? host : NULL;
	s.sender = c->sender;
	s.rcpt = to;
	s.token = r->token.value;
	s.message = msg;
	s.message_len = msg_len;
	s.response_timeout_s = o->smtp_response_timeout_s;

	if (send_retry(&s, o, pc, din, r) != 0) {
		enum probe_step_id at = smtp_step(r);

		passed_before(r, at, s.url, c->sender);
		fail_at(r, at);
		goto out;
	}
	step_set(r, PROBE_SMTP, PROBE_PASSED, "%s answered", s.url);
	step_set(r, PROBE_STARTTLS, PROBE_PASSED,
		 "TLS established after STARTTLS");
	step_set(r, PROBE_XOAUTH2, PROBE_PASSED, "authenticated as %s",
		 c->sender);
	step_set(r, PROBE_SEND_AS, PROBE_PASSED, "sent as %s to %s", c->sender,
		 to);
	step_set(r, PROBE_ACCEPTED, PROBE_PASSED, "%s", r->smtp.last.line);
	ret = 0;
out:
	free(msg);
	return ret;
}

/* The role step: decode the token's claims and look for the role c
 * needs: SMTP.SendAsApp, or for a reader without a mailbox one that
 * lists the tenant's applications. A token that cannot be decoded leaves
 * the question to the server. Returns -1 when the role is missing
 * (diagnosed), else 0. */
static int check_role(const struct cred *c, struct probe_result *r,
		      struct diag_input *din)
{
	struct err e = {{0}};
	bool reader = cred_reads_only(c);
	char roles[256];

	if (jwt_decode(r->token.value, r->token.len, &r->claims, &e) != 0) {
		step_set(r, PROBE_ROLE, PROBE_SKIPPED,
			 "not checked: %s (%s decides)", e.msg,
			 reader ? "Graph" : "Exchange");
		return 0;
	}
	r->claims_ok = true;
	din->claims = &r->claims;
	jwt_roles_str(&r->claims, roles, sizeof(roles));
	if (reader ? !graph_reads_tenant(&r->claims)
		   : !jwt_has_role(&r->claims, "SMTP.SendAsApp")) {
		if (reader)
			diag_reader(din, NULL, &r->diag);
		else
			diag_claims(din, &r->diag);
		fail_at(r, PROBE_ROLE);
		return -1;
	}
	step_set(r, PROBE_ROLE, PROBE_PASSED, "aud %s, roles %s",
		 r->claims.aud[0] ? r->claims.aud : "-", roles);
	return 0;
}

/* The token steps: request a token with the secret or the certificate
 * of o. Returns -1 when it failed (diagnosed), else 0. */
static int request(const struct cred *c, const struct probe_opts *o,
		   const struct probe_clock *pc, struct diag_input *din,
		   struct entra_request *rq, struct probe_result *ret)
{
	struct entra_retry trp = pc->rp;
	const struct material *m = o->material;
	bool cert = m != NULL && m->kind == SECRET_KIND_CERTIFICATE;
	int rc;

	trp.deadline_ms = time_left(pc) > 0 ? (long)time_left(pc) : 1;
	rc = material_token(o->material, rq, o->net, &trp, o->now, &ret->entra,
			    &ret->token);
	if (rc != 0) {
		enum probe_step_id at = PROBE_SECRET;

		if (cert && m->expires_at <= o->now &&
		    strcmp(ret->entra.error, "invalid_client") == 0)
			diag_cert_expired(din, &ret->entra, &ret->diag);
		else {
			diag_token(din, &ret->entra, &ret->diag);
			diag_secret_history(din, o->passed_at, &ret->diag);
			at = token_step(ret);
		}
		token_steps_before(ret, at, rq->authority_url, c->client_id);
		fail_at(ret, at);
		return -1;
	}
	step_set(ret, PROBE_TENANT, PROBE_PASSED, "%s answered for %s",
		 rq->authority_url, c->tenant);
	step_set(ret, PROBE_APP, PROBE_PASSED, "app %s", c->client_id);
	step_set(ret, PROBE_SECRET, PROBE_PASSED,
		 "%s %s accepted%s%s; token valid for %lld s",
		 cert ? "certificate" : "secret",
		 o->hint != NULL && o->hint[0] ? o->hint : "(no hint)",
		 cert ? ", assertion " : "", cert ? x509_alg_name(m->alg) : "",
		 (long long)ret->entra.expires_in);
	return 0;
}

/* The send steps of a token-only probe: asked for by nobody, whatever
 * became of the token. */
/* The send's steps, when none is made: token only, or a reader. */
static void not_requested(const struct cred *c, struct probe_result *r)
{
	for (int i = PROBE_SMTP; i < PROBE_NSTEPS; i++)
		step_set(r, (enum probe_step_id)i, PROBE_SKIPPED, "%s",
			 cred_reads_only(c) ? "not run: a reader sends no mail"
					    : "not requested (token only)");
}

int probe_run(const struct cred *c, const struct probe_opts *o,
	      struct probe_result *ret)
{
	struct entra_request rq = {0};
	struct diag_input din = {0};
	struct probe_clock pc;
	struct err e = {{0}};

	memset(ret, 0, sizeof(*ret));
	for (int i = 0; i < PROBE_NSTEPS; i++) {
		ret->steps[i].id = (enum probe_step_id)i;
		ret->steps[i].name = step_info[i].name;
		ret->steps[i].title = step_info[i].title;
		ret->steps[i].status = PROBE_SKIPPED;
	}
	if (c == NULL || o == NULL || o->material == NULL)
		return -1;
	ret->kind = o->material->kind;
	if (cred_reads_only(c))
		ret->steps[PROBE_ROLE].title =
		    "Token for Microsoft Graph with Application.Read.All";
	din.cred = c;
	din.hint = o->hint;
	clock_start(o, &pc);

	if (net_global_init(&e) != 0) {
		snprintf(ret->entra.summary, sizeof(ret->entra.summary),
			 "%.500s", e.msg);
		diag_token(&din, &ret->entra, &ret->diag);
		fail_at(ret, PROBE_TENANT);
		return -1;
	}

	rq.authority_url = cloud_authority_url(c);
	rq.tenant = c->tenant;
	rq.client_id = c->client_id;
	rq.scope = cloud_token_scope(c);
	if (request(c, o, &pc, &din, &rq, ret) != 0 ||
	    check_role(c, ret, &din) != 0) {
		if (o->token_only || cred_reads_only(c))
			not_requested(c, ret);
		return -1;
	}
	if (o->token_only || cred_reads_only(c)) {
		not_requested(c, ret);
		ret->ok = true;
		return 0;
	}
	if (run_send(c, o, &pc, &din, ret) != 0)
		return -1;
	ret->ok = true;
	return 0;
}

bool probe_inconclusive(const struct probe_result *r)
{
	if (r->ok || !r->has_diag)
		return false;
	switch (r->diag.step) {
	case DIAG_STEP_TRANSPORT:
	case DIAG_STEP_NETWORK:
	case DIAG_STEP_TOKEN_ENDPOINT:
		return true;
	default:
		return false;
	}
}

void probe_result_free(struct probe_result *r)
{
	if (r == NULL)
		return;
	entra_token_free(&r->token);
	memset(r, 0, sizeof(*r));
}
