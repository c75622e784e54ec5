/* Every diagnosis (docs/ARCHITECTURE.md §7): token errors from the exact
 * reply bodies (docs/PROTOCOL.md §1.3, §7), SMTP failures from reply
 * transcripts (docs/PROTOCOL.md §3.2, §7), each to its step, remedy and
 * evidence. One table of cases per side, run by one loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "diag.h"

#define TENANT	 "11111111-2222-3333-4444-555555555555"
#define CLIENT	 "aaaaaaaa-0000-0000-0000-000000000001"
#define SP_OID	 "bbbbbbbb-0000-0000-0000-000000000001"
#define CRED_OID "cccccccc-0000-0000-0000-000000000001"
#define TR	 "00000000-0000-0000-0000-0000000000aa"
#define CO	 "00000000-0000-0000-0000-0000000000bb"
#define TS	 "2026-01-01 00:00:00Z"
#define D                                                                      \
	"[FAKE01CA0001.namprd00.prod.outlook.com 2026-01-01T00:00:00.000Z "    \
	"08DE000000000001]"

/* libcurl's numbers for the failures below, as the evidence shows them. */
#define CURL_TIMEDOUT	  28
#define CURL_PEER_VERIFY  60
#define CURL_SEND_ERROR	  55
#define CURL_CONNECT	  7
#define CURL_LOGIN_DENIED 67
#define CURL_USE_SSL	  64
#define CURL_WEIRD_REPLY  8

#define MAX_CHECKS 8

static struct cred cred;
static struct jwt_claims with_role, without_role;

static int setup(void **state)
{
	(void)state;
	memset(&cred, 0, sizeof(cred));
	snprintf(cred.name, sizeof(cred.name), "mail-prod");
	snprintf(cred.tenant, sizeof(cred.tenant), TENANT);
	snprintf(cred.client_id, sizeof(cred.client_id), CLIENT);
	snprintf(cred.sender, sizeof(cred.sender), "alerts@contoso.com");
	snprintf(cred.cloud, sizeof(cred.cloud), "global");

	memset(&with_role, 0, sizeof(with_role));
	snprintf(with_role.aud, sizeof(with_role.aud),
		 "https://outlook.office365.com");
	snprintf(with_role.appid, sizeof(with_role.appid), CLIENT);
	snprintf(with_role.oid, sizeof(with_role.oid), SP_OID);
	with_role.has_roles = true;
	with_role.n_roles = 1;
	snprintf(with_role.roles[0], sizeof(with_role.roles[0]),
		 "SMTP.SendAsApp");
	without_role = with_role;
	without_role.has_roles = false;
	without_role.n_roles = 0;
	return 0;
}

static void contains(const char *name, const char *what, const char *hay,
		     const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("%s: \"%s\" not found in the %s:\n%s", name, needle,
			 what, hay);
}

/* What a case expects of the diagnosis. */
struct expect {
	const char *step;
	bool transient;
	const char *summary_is; /* NULL: not checked */
	const char *summary[MAX_CHECKS];
	const char *remedy[MAX_CHECKS];
	const char *not_remedy[MAX_CHECKS];
	const char *evidence[MAX_CHECKS];
};

static void check(const char *name, const struct expect *x,
		  const struct diag *d)
{
	if (strcmp(diag_step_name(d->step), x->step) != 0)
		fail_msg("%s: step %s, expected %s", name,
			 diag_step_name(d->step), x->step);
	if (d->transient != x->transient)
		fail_msg("%s: transient %d, expected %d", name, d->transient,
			 x->transient);
	if (x->summary_is != NULL)
		assert_string_equal(d->summary, x->summary_is);
	for (int i = 0; i < MAX_CHECKS && x->summary[i]; i++)
		contains(name, "summary", d->summary, x->summary[i]);
	for (int i = 0; i < MAX_CHECKS && x->remedy[i]; i++)
		contains(name, "remedy", d->remedy, x->remedy[i]);
	for (int i = 0; i < MAX_CHECKS && x->not_remedy[i]; i++)
		if (strstr(d->remedy, x->not_remedy[i]) != NULL)
			fail_msg("%s: \"%s\" in the remedy:\n%s", name,
				 x->not_remedy[i], d->remedy);
	for (int i = 0; i < MAX_CHECKS && x->evidence[i]; i++)
		contains(name, "evidence", d->evidence, x->evidence[i]);
}

/* ------------------------------------------------------------------ */
/* Token errors */

struct token_case {
	const char *name;
	/* An AADSTS reply (error set): the fake's body (docs/PROTOCOL.md §7)
	 * for error, code and text, with its trace, correlation ID and
	 * timestamp, which the evidence must show. */
	long status;
	const char *error;
	long code;
	const char *text;
	/* Else a reply that is no AADSTS error (status set, body), or no
	 * reply at all (status 0): a transport failure. */
	const char *body;
	long retry_after_s;
	enum net_fail fail;
	int curl_code;
	bool transient;
	const char *curl_error;
	const char *cloud; /* NULL: global */
	struct expect x;
};

static const struct token_case token_cases[] = {
    {"tenant", 400, "invalid_request", 900023,
     "Specified tenant identifier 'undefined' is neither a valid DNS "
     "name, nor a valid external domain.",
     .x = {"tenant", false,
	   .remedy = {"--cloud", TENANT, "Directory (tenant) ID",
		      "secretwatch cred set mail-prod --tenant"},
	   .not_remedy = {"cred add"}}},
    {"tenant 90002", 400, "invalid_tenant", 90002, "Tenant 'x' not found.",
     .x = {"tenant"}},
    /* The older error class for the same code. */
    {"tenant 90002 invalid_request", 400, "invalid_request", 90002,
     "Tenant 'x' not found.", .x = {"tenant"}},
    {"client id", 400, "unauthorized_client", 700016,
     "Application with identifier 'x' was not found in the directory "
     "'contoso'.",
     .x = {"client-id", false, .summary = {CLIENT},
	   .remedy = {"Application (client) ID", CLIENT}}},
    {"secret value", 401, "invalid_client", 7000215,
     "Invalid client secret provided. Ensure the secret being sent in the "
     "request is the client secret value, not the client secret ID, for a "
     "secret added to app 'x'.",
     .x = {"secret-value", false, .summary = {"hint Ab~"},
	   .remedy = {"not its Secret ID",
		      "secretwatch secret add mail-prod --expires",
		      "propagated"}}},
    {"secret expired", 401, "invalid_client", 7000222,
     "The provided client secret keys for app 'x' are expired.",
     .x = {"secret-expired", false, .summary = {"expired"},
	   .remedy = {"New client secret",
		      "secretwatch secret add mail-prod --expires",
		      "secretwatch rotate mail-prod", CLIENT}}},
    /* By error and code, never by the description. */
    {"expired by code", 401, "invalid_client", 7000222,
     "Invalid client secret provided. Tenant 'x' not found.",
     .x = {"secret-expired"}},
    {"value by code", 401, "invalid_client", 7000215,
     "The provided client secret keys are expired.", .x = {"secret-value"}},
    /* A code whose rule wants another error class is not matched. */
    {"code of another class", 400, "invalid_request", 7000215,
     "Invalid client secret provided.", .x = {"unknown"}},
    {"secret missing", 401, "invalid_client", 7000218,
     "The request body must contain the following parameter: "
     "'client_assertion' or 'client_secret'.",
     .x = {"secret-missing", .remedy = {"secretwatch secret add mail-prod"}}},
    {"scope", 400, "invalid_scope", 70011,
     "The provided value for the input parameter 'scope' isn't valid.",
     .x = {"scope", .remedy = {"https://outlook.office365.com/.default"}}},
    {"scope 1002012", 400, "invalid_scope", 1002012,
     "The provided value for scope x is not valid.", .x = {"scope"}},
    /* Sovereign clouds get their own scope in the remedy. */
    {"scope usgov", 400, "invalid_scope", 70011, "x", .cloud = "usgov",
     .x = {"scope", .remedy = {"https://outlook.office365.us/.default"}}},
    {"app disabled", 400, "unauthorized_client", 7000112,
     "Application 'x'(mailer) is disabled.",
     .x = {"app-disabled",
	   .remedy = {"Enterprise applications", "Enabled for users to"}}},
    {"conditional access", 400, "invalid_grant", 53003, "Blocked by CA.",
     .x = {"conditional-access"}},
    {"unknown code", 400, "invalid_request", 12345, "Something new.",
     .x = {"unknown", false, .remedy = {"error?code="}}},
    /* A standard OAuth 2.0 server (RFC 6749 5.2): no AADSTS code, so the
     * diagnosis says what the server said and asks for nothing the reply
     * does not have. */
    {"rfc invalid_client", 401, .body = "{\"error\":\"invalid_client\"}",
     .x = {"client-authentication", false,
	   .summary = {"invalid_client (HTTP 401): no description",
		       "client authentication failed"},
	   .remedy = {"did not say which", CLIENT, "hint Ab~",
		      "secretwatch secret add mail-prod", "no AADSTS code"},
	   .not_remedy = {"error?code=", "Sign-in logs", "see the evidence"},
	   .evidence = {"invalid_client (HTTP 401): no description"}}},
    {"rfc invalid_scope", 400,
     .body = "{\"error\":\"invalid_scope\",\"error_description\":"
	     "\"unknown scope\"}",
     .x = {"scope", false, .summary = {"unknown scope"},
	   .remedy = {"https://outlook.office365.com/.default"},
	   .not_remedy = {"error?code=", "Sign-in logs"}}},
    {"rfc invalid_grant", 400, .body = "{\"error\":\"invalid_grant\"}",
     .x = {"unknown", false,
	   .summary = {"invalid_grant", "RFC 6749: the grant is invalid"},
	   .not_remedy = {"error?code=", "Sign-in logs"}}},
    {"rfc other error", 400, .body = "{\"error\":\"slow_down\"}",
     .x = {"unknown", false, .summary = {"slow_down (HTTP 400)"},
	   .not_remedy = {"error?code="}}},
    /* 429, non-JSON, Retry-After. */
    {"throttled", 429, .body = "Too Many Requests", .retry_after_s = 60,
     .x = {"network", true, .remedy = {"backoff"},
	   .evidence = {"429", "Retry-After 60"}}},
    {"503", 503, .body = "<html>", .x = {"network", true}},
    /* A timeout: no HTTP reply. */
    {"timeout", .fail = NET_TIMEOUT, .curl_code = CURL_TIMEDOUT,
     .transient = true,
     .curl_error = "Operation timed out after 60000 milliseconds",
     .x = {"network", true, .evidence = {"curl 28: Operation timed out"}}},
    /* A certificate the CA file does not vouch for. */
    {"certificate", .fail = NET_TLS_VERIFY, .curl_code = CURL_PEER_VERIFY,
     .curl_error = "SSL certificate problem: unable to get local issuer "
		   "certificate",
     .x = {"transport", false, .summary = {"unable to get local issuer"},
	   .remedy = {"ca_file"}}},
    /* A 200 that is not a token reply. */
    {"portal", 200, .body = "<html>portal</html>",
     .x = {"token-endpoint", false, .remedy = {"authority URL"}}},
    {"404", 404, .body = "<html>Not Found</html>", .x = {"token-endpoint"}},
};

static void token_result(const struct token_case *tc, struct entra_result *r)
{
	char body[2048];
	struct entra_token tok;

	memset(r, 0, sizeof(*r));
	if (tc->error != NULL) {
		snprintf(body, sizeof(body),
			 "{\"error\":\"%s\",\"error_description\":\"AADSTS%ld: "
			 "%s Trace ID: " TR " Correlation ID: " CO
			 " Timestamp: " TS "\",\"error_codes\":[%ld],"
			 "\"timestamp\":\"" TS "\",\"trace_id\":\"" TR
			 "\",\"correlation_id\":\"" CO "\",\"error_uri\":"
			 "\"https://login.microsoftonline.com/error?code="
			 "%ld\"}",
			 tc->error, tc->code, tc->text, tc->code, tc->code);
		assert_int_equal(entra_parse_response(tc->status, body,
						      strlen(body), 0, r, &tok),
				 -1);
	} else if (tc->status != 0) {
		r->retry_after_s = tc->retry_after_s;
		r->attempts = 4;
		assert_int_equal(entra_parse_response(tc->status, tc->body,
						      strlen(tc->body), 0, r,
						      &tok),
				 -1);
	} else {
		r->fail = tc->fail;
		r->curl_code = tc->curl_code;
		r->transient = tc->transient;
		snprintf(r->curl_error, sizeof(r->curl_error), "%s",
			 tc->curl_error);
	}
}

static void test_token_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(token_cases) / sizeof(token_cases[0]);
	     i++) {
		const struct token_case *tc = &token_cases[i];
		struct diag_input in = {&cred, "Ab~", NULL};
		struct entra_result r;
		struct diag d;
		char want[32];

		snprintf(cred.cloud, sizeof(cred.cloud), "%s",
			 tc->cloud != NULL ? tc->cloud : "global");
		token_result(tc, &r);
		diag_token(&in, &r, &d);
		check(tc->name, &tc->x, &d);
		if (tc->error != NULL) {
			snprintf(want, sizeof(want), "AADSTS%ld", tc->code);
			contains(tc->name, "evidence", d.evidence, want);
			contains(tc->name, "evidence", d.evidence,
				 "Trace ID: " TR);
			contains(tc->name, "evidence", d.evidence,
				 "Correlation ID: " CO);
			contains(tc->name, "evidence", d.evidence,
				 "Timestamp: " TS);
		}
	}
	snprintf(cred.cloud, sizeof(cred.cloud), "global");
}

static void test_claims_without_role(void **state)
{
	static const struct expect x = {
	    "api-permission",
	    false,
	    .summary = {"roles: none"},
	    .remedy = {"Office 365 Exchange Online", "SMTP.SendAsApp",
		       "Grant admin", TENANT},
	    .evidence = {"roles []", SP_OID},
	};
	struct diag_input in = {&cred, "Ab~", &without_role};
	struct diag d;

	(void)state;
	diag_claims(&in, &d);
	check("claims without role", &x, &d);
}

/* 7000215 for a secret that passed a test before: deleted or revoked in
 * Entra, not the Secret ID pasted; without that history, the paste. */
static void test_secret_history(void **state)
{
	static const struct token_case tc = {
	    .name = "revoked",
	    .status = 401,
	    .error = "invalid_client",
	    .code = 7000215,
	    .text = "Invalid client secret provided. Ensure the secret being "
		    "sent in the request is the client secret value, not the "
		    "client secret ID, for a secret added to app 'x'."};
	static const struct expect revoked = {
	    "secret-revoked",
	    false,
	    .summary = {"passed a test at 2026-03-01T09:30:00Z",
			"deleted or revoked"},
	    .remedy = {"Certificates & secrets", "--activate",
		       "key ID is still listed"},
	    .not_remedy = {"Secret ID", "sync"},
	    .evidence = {"AADSTS7000215", "Trace ID: " TR},
	};
	struct diag_input in = {&cred, "Ab~", NULL};
	struct entra_result r;
	struct diag d;

	(void)state;
	token_result(&tc, &r);
	diag_token(&in, &r, &d);
	diag_secret_history(&in, 0, &d);
	assert_string_equal(diag_step_name(d.step), "secret-value");
	diag_secret_history(&in, 1772357400, &d); /* 2026-03-01T09:30:00Z */
	check("revoked", &revoked, &d);
	/* Where Graph is allowed, sync is the way to ask Entra. */
	snprintf(cred.graph_url, sizeof(cred.graph_url), "https://g.example");
	diag_token(&in, &r, &d);
	diag_secret_history(&in, 1772357400, &d);
	contains("revoked", "remedy", d.remedy, "secretwatch sync mail-prod");
	cred.graph_url[0] = '\0';
}

/* ------------------------------------------------------------------ */
/* SMTP failures */

/* Where the transcript stops before the case's reply. */
enum at {
	AT_NONE,	/* nothing answered */
	AT_REFUSED,	/* refused before connecting; the reply is why */
	AT_NO_STARTTLS, /* the EHLO offered no STARTTLS */
	AT_STARTTLS,	/* the EHLO offered STARTTLS */
	AT_NO_XOAUTH2,	/* after TLS, the EHLO offered AUTH LOGIN only */
	AT_AUTH,	/* after TLS, AUTH XOAUTH2 sent */
	AT_MAIL,	/* authenticated */
	AT_EOD,		/* the data sent */
};

enum claims { WITH_ROLE, WITHOUT_ROLE, NO_CLAIMS };

struct smtp_case {
	const char *name;
	enum at at;
	const char *reply; /* NULL: none */
	enum net_fail fail;
	int curl_code;
	const char *curl_error;
	enum claims claims;
	const char *object_id; /* the credential's; NULL: none */
	const char *sender;    /* NULL: alerts@contoso.com */
	struct expect x;
};

static const struct smtp_case smtp_cases[] = {
    /* 535 5.7.3 with the role: the Exchange side, with the oid from the
     * token. */
    {"535 5.7.3", AT_AUTH, "535 5.7.3 Authentication unsuccessful " D "\r\n",
     NET_LOGIN_DENIED, CURL_LOGIN_DENIED,
     .x = {"exchange-permission", false,
	   .remedy = {"New-ServicePrincipal -AppId " CLIENT
		      " -ObjectId " SP_OID,
		      "Enterprise applications",
		      "not the one under App registrations",
		      "Add-MailboxPermission -Identity 'alerts@contoso.com' "
		      "-User " SP_OID " -AccessRights FullAccess",
		      "Set-CASMailbox -Identity 'alerts@contoso.com'",
		      "Connect-ExchangeOnline -Organization " TENANT},
	   .evidence = {"535 5.7.3 Authentication unsuccessful", "(at auth)"}}},
    /* Without the role: consent. */
    {"535 5.7.3 without role", AT_AUTH,
     "535 5.7.3 Authentication unsuccessful " D "\r\n", NET_LOGIN_DENIED,
     CURL_LOGIN_DENIED, .claims = WITHOUT_ROLE,
     .x = {"api-permission", .remedy = {"SMTP.SendAsApp"},
	   .not_remedy = {"New-ServicePrincipal"}}},
    /* Claims unknown: both, and a placeholder for the object id. */
    {"535 5.7.3 no claims", AT_AUTH,
     "535 5.7.3 Authentication unsuccessful " D "\r\n", NET_LOGIN_DENIED,
     CURL_LOGIN_DENIED, .claims = NO_CLAIMS,
     .x = {"exchange-permission",
	   .remedy = {"SMTP.SendAsApp",
		      "New-ServicePrincipal -AppId " CLIENT
		      " -ObjectId <Object ID from Entra admin center > "
		      "Enterprise applications"}}},
    /* The credential's own object id wins over the token's. */
    {"535 5.7.3 credential oid", AT_AUTH,
     "535 5.7.3 Authentication unsuccessful " D "\r\n", NET_LOGIN_DENIED,
     CURL_LOGIN_DENIED, .object_id = CRED_OID,
     .x = {"exchange-permission", .remedy = {"-ObjectId " CRED_OID},
	   .not_remedy = {SP_OID}}},
    /* Code and enhanced status decide, not the words. */
    {"535 5.7.3 with other words", AT_AUTH,
     "535 5.7.3 the request did not meet the criteria for the Mailbox\r\n",
     NET_LOGIN_DENIED, CURL_LOGIN_DENIED, .x = {"exchange-permission"}},
    {"535 5.7.139 mailbox", AT_AUTH,
     "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is "
     "disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled "
     "for more information. " D "\r\n",
     NET_LOGIN_DENIED, CURL_LOGIN_DENIED,
     .x = {"smtp-auth-mailbox",
	   .remedy = {"Set-CASMailbox -Identity 'alerts@contoso.com' "
		      "-SmtpClientAuthenticationDisabled $false"},
	   .evidence = {"535 5.7.139"}}},
    {"535 5.7.139 tenant", AT_AUTH,
     "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is "
     "disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled "
     "for more information. " D "\r\n",
     NET_LOGIN_DENIED, CURL_LOGIN_DENIED,
     .x = {"smtp-auth-tenant",
	   .remedy = {"Set-TransportConfig -SmtpClientAuthenticationDisabled "
		      "$false",
		      "Set-CASMailbox -Identity 'alerts@contoso.com'"}}},
    {"535 5.7.139 conditional access", AT_AUTH,
     "535 5.7.139 Authentication unsuccessful, the request did not meet "
     "the criteria to be authenticated successfully. Contact your "
     "administrator. " D "\r\n",
     NET_LOGIN_DENIED, CURL_LOGIN_DENIED,
     .x = {"conditional-access", .remedy = {"workload identity"}}},
    {"535 5.7.139 security defaults", AT_AUTH,
     "535 5.7.139 Authentication unsuccessful, user is locked by your "
     "organization's security defaults policy. Contact your "
     "administrator.\r\n",
     NET_LOGIN_DENIED, CURL_LOGIN_DENIED, .x = {"security-defaults"}},
    {"535 5.7.139", AT_AUTH, "535 5.7.139 Authentication unsuccessful\r\n",
     NET_LOGIN_DENIED, CURL_LOGIN_DENIED,
     .x = {"smtp-auth", .remedy = {"Get-TransportConfig"}}},
    {"530 5.7.57", AT_MAIL,
     "530 5.7.57 Client not authenticated to send mail. " D "\r\n", NET_BROKEN,
     CURL_SEND_ERROR,
     .x = {"smtp-not-authenticated", false,
	   .remedy = {"AUTH XOAUTH2", "smtp://smtp.office365.com:587"},
	   .evidence = {"530 5.7.57", "(at mail)"}}},
    {"504 5.7.4", AT_AUTH, "504 5.7.4 Unrecognized authentication type\r\n",
     NET_LOGIN_DENIED, CURL_LOGIN_DENIED, .x = {"smtp-not-authenticated"}},
    {"501 5.5.124", AT_AUTH, "501 5.5.124 Invalid XOAUTH2 auth data\r\n",
     NET_LOGIN_DENIED, CURL_LOGIN_DENIED, .x = {"smtp-not-authenticated"}},
    /* XOAUTH2 not offered: libcurl gives up without a reply. */
    {"XOAUTH2 not offered", AT_NO_XOAUTH2, NULL, NET_LOGIN_DENIED,
     CURL_LOGIN_DENIED,
     .x = {"smtp-not-authenticated",
	   .summary = {"did not offer AUTH XOAUTH2", "its EHLO listed LOGIN"},
	   .evidence = {"curl 67"}}},
    /* Offered, and the token refused with XOAUTH2's error challenge
     * (Dovecot, Gmail): libcurl 7.88 stops at the 334. Not "not
     * offered"; the remedy is about the token. */
    {"XOAUTH2 error challenge", AT_AUTH,
     "334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwc"
     "zovL291dGxvb2sub2ZmaWNlMzY1LmNvbS8uZGVmYXVsdCJ9\r\n",
     NET_LOGIN_DENIED, CURL_LOGIN_DENIED,
     .x = {"smtp-token-refused", false,
	   .summary = {"offered XOAUTH2 and refused the token for "
		       "alerts@contoso.com: status 401, schemes bearer, scope "
		       "https://outlook.office365.com/.default"},
	   .remedy = {"aud is https://outlook.office365.com",
		      "roles: SMTP.SendAsApp", "Add-MailboxPermission",
		      "clocks", "--smtp-url"},
	   .not_remedy = {"must offer AUTH XOAUTH2"},
	   .evidence = {"(at auth)", "XOAUTH2 error challenge: status 401"}}},
    /* Offered, and refused without a challenge or a reply of its own. */
    {"XOAUTH2 refused silently", AT_AUTH, NULL, NET_LOGIN_DENIED,
     CURL_LOGIN_DENIED,
     .x = {"smtp-token-refused", .summary = {"it gave no reason"}}},
    {"554 5.2.252", AT_EOD,
     "554 5.2.252 SendAsDenied; alerts@contoso.com not allowed to send as "
     "ceo@contoso.com; STOREDRV.Submission.Exception:SendAsDenied"
     "Exception.MapiExceptionSendAsDenied; Failed to process message due "
     "to a permanent exception with message [BeginDiagnosticData]Cannot "
     "submit message. " D "\r\n",
     NET_BAD_REPLY, CURL_WEIRD_REPLY,
     .x = {"send-as", false,
	   .remedy = {"Add-RecipientPermission -Identity",
		      "-Trustee " SP_OID " -AccessRights SendAs"},
	   .evidence = {"not allowed to send as ceo@contoso.com",
			"(at end-of-data)"}}},
    {"554 5.2.0 send as", AT_EOD,
     "554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException."
     "MapiExceptionSendAsDenied; Failed\r\n",
     NET_BAD_REPLY, CURL_WEIRD_REPLY, .x = {"send-as"}},
    {"550 5.7.60", AT_MAIL,
     "550 5.7.60 SMTP; Client does not have permissions to send as this "
     "sender\r\n",
     NET_BROKEN, CURL_SEND_ERROR, .x = {"send-as", .evidence = {"(at mail)"}}},
    /* 5.2.0 with another cause is not send-as. */
    {"554 5.2.0 quota", AT_EOD,
     "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceeded"
     "Exception; Failed\r\n",
     NET_BAD_REPLY, CURL_WEIRD_REPLY, .x = {"sending-limit", true}},
    {"554 5.2.0 other", AT_EOD, "554 5.2.0 something else\r\n", NET_BAD_REPLY,
     CURL_WEIRD_REPLY, .x = {"unknown"}},
    {"430 4.2.0", AT_EOD,
     "430 4.2.0 STOREDRV; mailbox logon failure; STOREDRV.Submission."
     "Exception:ConnectionFailedTransientException.MapiExceptionLogon"
     "Failed; Failed to process message due to a transient exception with "
     "message [BeginDiagnosticData]Cannot open mailbox. " D "\r\n",
     NET_BAD_REPLY, CURL_WEIRD_REPLY,
     .x = {"exchange-permission", false, .summary = {"logon failure"},
	   .remedy = {"New-ServicePrincipal -AppId " CLIENT, "FullAccess"}}},
    {"432 4.3.2", AT_MAIL,
     "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded\r\n",
     NET_BROKEN, CURL_SEND_ERROR,
     .x = {"smtp-concurrency", true, .remedy = {"3 concurrent"}}},
    {"421 4.7.66", AT_STARTTLS,
     "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update "
     "your client to support TLS 1.2. Visit https://aka.ms/smtp_auth_tls. " D
     "\r\n",
     NET_STARTTLS_REFUSED, CURL_USE_SSL,
     .x = {"transport", false, .remedy = {"TLS 1.2", "587"},
	   .evidence = {"(at starttls)"}}},
    /* Exchange Online's "try again later": temporary, and said so. */
    {"421 4.3.2", AT_NONE,
     "421 4.3.2 Service not available, closing transmission channel\r\n",
     NET_BAD_REPLY, CURL_WEIRD_REPLY,
     .x = {"smtp-temporary", true,
	   .summary = {"smtp://smtp.office365.com:587", "for now"},
	   .remedy = {"retried", "service health"},
	   .evidence = {"421 4.3.2 Service not available", "(at greeting)"}}},
    {"451 4.7.0", AT_EOD,
     "451 4.7.0 Temporary server error. Please try again later. "
     "PRX4 " D "\r\n",
     NET_BAD_REPLY, CURL_WEIRD_REPLY,
     .x = {"smtp-temporary", true,
	   .evidence = {"451 4.7.0 Temporary server error",
			"(at end-of-data)"}}},
    {"454 4.7.0", AT_AUTH,
     "454 4.7.0 Temporary authentication failure " D "\r\n", NET_LOGIN_DENIED,
     CURL_LOGIN_DENIED,
     .x = {"smtp-temporary", true,
	   .evidence = {"454 4.7.0 Temporary authentication failure",
			"(at auth)"}}},
    /* Any other 4xx is temporary too. */
    {"451 4.3.0", AT_MAIL, "451 4.3.0 Temporary server error\r\n", NET_BROKEN,
     CURL_SEND_ERROR,
     .x = {"smtp-temporary", true,
	   .evidence = {"451 4.3.0 Temporary server error"}}},
    /* A 5xx never is. */
    {"550 5.7.1 other", AT_MAIL, "550 5.7.1 Something permanent\r\n",
     NET_BROKEN, CURL_SEND_ERROR, .x = {"unknown", false}},
    {"550 5.1.8", AT_EOD, "550 5.1.8 Access denied, bad outbound sender\r\n",
     NET_BAD_REPLY, CURL_WEIRD_REPLY, .x = {"sender-restricted"}},
    /* Certificate refused in the STARTTLS handshake. */
    {"certificate", AT_STARTTLS, "220 2.0.0 SMTP server ready\r\n",
     NET_TLS_VERIFY, CURL_PEER_VERIFY,
     "SSL certificate problem: unable to get local issuer certificate",
     .x = {"transport", false,
	   .summary = {"unable to get local issuer certificate"},
	   .remedy = {"ca_file"}, .evidence = {"curl 60"}}},
    {"no STARTTLS", AT_NO_STARTTLS, NULL, NET_STARTTLS_REFUSED, CURL_USE_SSL,
     .x = {"transport", .summary = {"did not offer STARTTLS"}}},
    /* Nothing answers in time. */
    {"timeout", AT_NONE, NULL, NET_TIMEOUT, CURL_TIMEDOUT,
     .x = {"network", true}},
    {"no connection", AT_NONE, NULL, NET_CONNECT, CURL_CONNECT,
     .x = {"network", true, .summary = {"smtp://smtp.office365.com:587"}}},
    {"refused before connecting", AT_REFUSED, "no sender mailbox",
     .x = {"smtp-config",
	   .summary_is = "The test send was not made: no sender mailbox"}},
    /* Fill-ins come from the credential. */
    {"other sender", AT_AUTH,
     "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is "
     "disabled for the Mailbox.\r\n",
     NET_LOGIN_DENIED, CURL_LOGIN_DENIED, .sender = "robot@fabrikam.example",
     .x = {"smtp-auth-mailbox",
	   .remedy = {"Set-CASMailbox -Identity 'robot@fabrikam.example'"},
	   .not_remedy = {"alerts@contoso.com"}}},
    /* A quote in an address stays inside the PowerShell string. */
    {"quoted sender", AT_AUTH,
     "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is "
     "disabled for the Mailbox.\r\n",
     NET_LOGIN_DENIED, CURL_LOGIN_DENIED, .sender = "o'brien@fabrikam.example",
     .x = {"smtp-auth-mailbox",
	   .remedy = {"Set-CASMailbox -Identity 'o''brien@fabrikam.example'"},
	   .not_remedy = {"Identity o'brien"}}},
};

static void feed(struct smtp_result *r, const char *const *lines)
{
	for (; *lines != NULL; lines++)
		smtp_result_feed(r, *lines, strlen(*lines));
}

/* A transcript up to the case's stage, then its reply, with the curl
 * result 7.88 gives for it (docs/PROTOCOL.md §3.4). */
static void smtp_fail(const struct smtp_case *sc, struct smtp_result *r)
{
	static const char *const pre[] = {
	    "220 FAKE01CA0001.outlook.office365.com Microsoft ESMTP\r\n",
	    "250-FAKE01CA0001.outlook.office365.com Hello\r\n",
	    "250-STARTTLS\r\n", "250 SMTPUTF8\r\n", NULL};
	static const char *const tls[] = {"220 2.0.0 SMTP server ready\r\n",
					  "250-x Hello\r\n",
					  "250-AUTH LOGIN XOAUTH2\r\n",
					  "250 SMTPUTF8\r\n",
					  "334 \r\n",
					  NULL};
	static const char *const authed[] = {
	    "235 2.7.0 Authentication successful\r\n", NULL};
	static const char *const data[] = {
	    "250 2.1.0 Sender OK\r\n", "250 2.1.5 Recipient OK\r\n",
	    "354 Start mail input; end with <CRLF>.<CRLF>\r\n", NULL};
	static const char *const no_starttls[] = {"220 x\r\n",
						  "250 SMTPUTF8\r\n", NULL};
	static const char *const no_xoauth2[] = {
	    "220 x\r\n", "250 STARTTLS\r\n", "220 go\r\n", "250 AUTH LOGIN\r\n",
	    NULL};

	smtp_result_init(r);
	if (sc->at == AT_REFUSED) {
		smtp_result_refuse(r, sc->reply);
		return;
	}
	if (sc->at == AT_NO_STARTTLS)
		feed(r, no_starttls);
	if (sc->at == AT_NO_XOAUTH2)
		feed(r, no_xoauth2);
	if (sc->at >= AT_STARTTLS && sc->at != AT_NO_XOAUTH2)
		feed(r, pre);
	if (sc->at >= AT_AUTH)
		feed(r, tls);
	if (sc->at >= AT_MAIL)
		feed(r, authed);
	if (sc->at >= AT_EOD)
		feed(r, data);
	if (sc->reply != NULL)
		smtp_result_feed(r, sc->reply, strlen(sc->reply));
	r->fail = sc->fail;
	r->curl_code = sc->curl_code;
	if (sc->curl_error != NULL)
		snprintf(r->curl_error, sizeof(r->curl_error), "%s",
			 sc->curl_error);
}

static void test_smtp_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(smtp_cases) / sizeof(smtp_cases[0]);
	     i++) {
		const struct smtp_case *sc = &smtp_cases[i];
		const struct jwt_claims *claims[] = {
		    [WITH_ROLE] = &with_role,
		    [WITHOUT_ROLE] = &without_role,
		    [NO_CLAIMS] = NULL,
		};
		struct diag_input in = {&cred, "Ab~", claims[sc->claims]};
		struct smtp_result r;
		struct diag d;

		snprintf(cred.object_id, sizeof(cred.object_id), "%s",
			 sc->object_id != NULL ? sc->object_id : "");
		snprintf(cred.sender, sizeof(cred.sender), "%s",
			 sc->sender != NULL ? sc->sender
					    : "alerts@contoso.com");
		smtp_fail(sc, &r);
		diag_smtp(&in, &r, &d);
		check(sc->name, &sc->x, &d);
	}
	cred.object_id[0] = '\0';
	snprintf(cred.sender, sizeof(cred.sender), "alerts@contoso.com");
}

/* A token request or a send that ran out of the probe's deadline: the
 * network, transient, with the caller's words "no answer within". */
static void test_deadline(void **state)
{
	static const struct expect tx = {
	    "network",
	    true,
	    .summary = {"Out of time: no answer from the token endpoint "
			"within 90 s"},
	    .remedy = {"test_deadline", "https://login.microsoftonline.com"},
	    .evidence = {"curl 28"},
	};
	static const struct expect sx = {
	    "network",
	    true,
	    .summary = {"Out of time: no answer from "
			"smtp://smtp.office365.com:587 within 90 s"},
	    .remedy = {"test_deadline"},
	    .evidence = {"curl 28 at greeting"},
	};
	struct diag_input in = {&cred, "Ab~", &with_role};
	struct entra_result er = {0};
	struct smtp_result sr;
	struct diag d;

	(void)state;
	er.deadline = true;
	er.transient = true;
	er.fail = NET_TIMEOUT;
	er.curl_code = CURL_TIMEDOUT;
	er.attempts = 2;
	snprintf(er.curl_error, sizeof(er.curl_error), "Operation timed out");
	snprintf(er.summary, sizeof(er.summary),
		 "no answer from the token endpoint within 90 s (2 attempts; "
		 "last: ...)");
	diag_token(&in, &er, &d);
	check("token deadline", &tx, &d);

	smtp_result_init(&sr);
	smtp_result_feed(&sr, "220 x\r\n", 7);
	sr.deadline = true;
	sr.fail = NET_TIMEOUT;
	sr.curl_code = CURL_TIMEDOUT;
	sr.stage = SMTP_STAGE_GREETING;
	snprintf(sr.summary, sizeof(sr.summary),
		 "no answer from smtp://smtp.office365.com:587 within 90 s "
		 "(1 attempt; last: ...)");
	diag_smtp(&in, &sr, &d);
	check("send deadline", &sx, &d);
}

/* ------------------------------------------------------------------ */
/* The tables themselves */

static void test_step_names(void **state)
{
	(void)state;
	for (int i = 0; i < DIAG_STEP_COUNT; i++) {
		const char *a = diag_step_name((enum diag_step)i);

		assert_non_null(a);
		assert_true(a[0] != '\0');
		for (int j = 0; j < i; j++)
			if (strcmp(a, diag_step_name((enum diag_step)j)) == 0)
				fail_msg("steps %d and %d are both %s", j, i,
					 a);
	}
	assert_string_equal(diag_step_name(DIAG_STEP_UNKNOWN), "unknown");
	assert_string_equal(diag_step_name(DIAG_STEP_SEND_AS), "send-as");
	assert_string_equal(diag_step_name((enum diag_step)DIAG_STEP_COUNT),
			    "unknown");
}

/* Every row has a step, a title, a summary and a remedy, and names only
 * placeholders that are filled in. */
static void test_table(void **state)
{
	struct err e = {{0}};

	(void)state;
	if (diag_table_check(&e) != 0)
		fail_msg("%s", e.msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_cases),
	    cmocka_unit_test(test_claims_without_role),
	    cmocka_unit_test(test_secret_history),
	    cmocka_unit_test(test_smtp_cases),
	    cmocka_unit_test(test_deadline),
	    cmocka_unit_test(test_step_names),
	    cmocka_unit_test(test_table),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, NULL);
}
