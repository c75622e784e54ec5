/* Every row of DESIGN.md §9: token errors from the exact reply bodies
 * (PROTOCOL.md §1.4, §7(a)), SMTP failures from reply transcripts
 * (PROTOCOL.md §3.4, §7(b)), each to its step, remedy and evidence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "diag.h"

#define TENANT "11111111-2222-3333-4444-555555555555"
#define CLIENT "aaaaaaaa-0000-0000-0000-000000000001"
#define SP_OID "bbbbbbbb-0000-0000-0000-000000000001"
#define TR     "00000000-0000-0000-0000-0000000000aa"
#define CO     "00000000-0000-0000-0000-0000000000bb"
#define TS     "2026-01-01 00:00:00Z"
#define D                                                                      \
	"[FAKE01CA0001.namprd00.prod.outlook.com 2026-01-01T00:00:00.000Z "    \
	"08DE000000000001]"

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

static void contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" not found in:\n%s", needle, hay);
}

/* ------------------------------------------------------------------ */
/* Token errors */

/* The fake's body of §7(a) for error e, code n, text t. */
static void token_diag(long status, const char *e, long n, const char *t,
		       struct diag *d)
{
	char body[2048];
	struct entra_result r;
	struct entra_token tok;
	struct diag_input in = {&cred, "Ab~", NULL};

	snprintf(body, sizeof(body),
		 "{\"error\":\"%s\",\"error_description\":\"AADSTS%ld: %s "
		 "Trace ID: " TR " Correlation ID: " CO " Timestamp: " TS
		 "\",\"error_codes\":[%ld],\"timestamp\":\"" TS
		 "\",\"trace_id\":\"" TR "\",\"correlation_id\":\"" CO
		 "\",\"error_uri\":\"https://login.microsoftonline.com/"
		 "error?code=%ld\"}",
		 e, n, t, n, n);
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    entra_parse_response(status, body, strlen(body), 0, &r, &tok), -1);
	diag_token(&in, &r, d);
}

static void token_evidence_ok(const struct diag *d, long code)
{
	char want[32];

	snprintf(want, sizeof(want), "AADSTS%ld", code);
	contains(d->evidence, want);
	contains(d->evidence, "Trace ID: " TR);
	contains(d->evidence, "Correlation ID: " CO);
	contains(d->evidence, "Timestamp: " TS);
}

static void test_tenant(void **state)
{
	struct diag d;

	(void)state;
	token_diag(400, "invalid_request", 900023,
		   "Specified tenant identifier 'undefined' is neither a valid "
		   "DNS name, nor a valid external domain.",
		   &d);
	assert_string_equal(d.step, "tenant");
	assert_false(d.transient);
	token_evidence_ok(&d, 900023);
	contains(d.remedy, "--cloud");
	contains(d.remedy, TENANT);
	contains(d.remedy, "Directory (tenant) ID");

	token_diag(400, "invalid_tenant", 90002, "Tenant 'x' not found.", &d);
	assert_string_equal(d.step, "tenant");
	token_evidence_ok(&d, 90002);
	/* The older error class for the same code. */
	token_diag(400, "invalid_request", 90002, "Tenant 'x' not found.", &d);
	assert_string_equal(d.step, "tenant");
}

static void test_client_id(void **state)
{
	struct diag d;

	(void)state;
	token_diag(400, "unauthorized_client", 700016,
		   "Application with identifier 'x' was not found in the "
		   "directory 'contoso'.",
		   &d);
	assert_string_equal(d.step, "client-id");
	assert_false(d.transient);
	contains(d.remedy, "Application (client) ID");
	contains(d.remedy, CLIENT);
	contains(d.summary, CLIENT);
	token_evidence_ok(&d, 700016);
}

static void test_secret_value(void **state)
{
	struct diag d;

	(void)state;
	token_diag(401, "invalid_client", 7000215,
		   "Invalid client secret provided. Ensure the secret being "
		   "sent in the request is the client secret value, not the "
		   "client secret ID, for a secret added to app 'x'.",
		   &d);
	assert_string_equal(d.step, "secret-value");
	assert_false(d.transient);
	contains(d.summary, "hint Ab~");
	contains(d.remedy, "not its Secret ID");
	contains(d.remedy, "secretwatch secret add mail-prod --expires");
	contains(d.remedy, "propagated");
	token_evidence_ok(&d, 7000215);
}

static void test_secret_expired(void **state)
{
	struct diag d;

	(void)state;
	token_diag(401, "invalid_client", 7000222,
		   "The provided client secret keys for app 'x' are expired.",
		   &d);
	assert_string_equal(d.step, "secret-expired");
	assert_false(d.transient);
	contains(d.summary, "expired");
	contains(d.remedy, "New client secret");
	contains(d.remedy, "secretwatch secret add mail-prod --expires");
	contains(d.remedy, "secretwatch rotate mail-prod");
	contains(d.remedy, CLIENT);
	token_evidence_ok(&d, 7000222);
}

/* By error and code, never by the description. */
static void test_not_by_description(void **state)
{
	struct diag d;

	(void)state;
	token_diag(401, "invalid_client", 7000222,
		   "Invalid client secret provided. Tenant 'x' not found.", &d);
	assert_string_equal(d.step, "secret-expired");
	token_diag(401, "invalid_client", 7000215,
		   "The provided client secret keys are expired.", &d);
	assert_string_equal(d.step, "secret-value");
	/* A code whose rule wants another error class is not matched. */
	token_diag(400, "invalid_request", 7000215,
		   "Invalid client secret provided.", &d);
	assert_string_equal(d.step, "unknown");
}

static void test_other_token_rows(void **state)
{
	struct diag d;

	(void)state;
	token_diag(401, "invalid_client", 7000218,
		   "The request body must contain the following parameter: "
		   "'client_assertion' or 'client_secret'.",
		   &d);
	assert_string_equal(d.step, "secret-missing");
	contains(d.remedy, "secretwatch secret add mail-prod");

	token_diag(400, "invalid_scope", 70011,
		   "The provided value for the input parameter 'scope' isn't "
		   "valid.",
		   &d);
	assert_string_equal(d.step, "scope");
	contains(d.remedy, "https://outlook.office365.com/.default");
	token_diag(400, "invalid_scope", 1002012,
		   "The provided value for scope x is not valid.", &d);
	assert_string_equal(d.step, "scope");
	token_evidence_ok(&d, 1002012);

	token_diag(400, "unauthorized_client", 7000112,
		   "Application 'x'(mailer) is disabled.", &d);
	assert_string_equal(d.step, "app-disabled");
	contains(d.remedy, "Enterprise applications");
	contains(d.remedy, "Enabled for users to");

	token_diag(400, "invalid_grant", 53003, "Blocked by CA.", &d);
	assert_string_equal(d.step, "conditional-access");

	token_diag(400, "invalid_request", 12345, "Something new.", &d);
	assert_string_equal(d.step, "unknown");
	assert_false(d.transient);
	contains(d.remedy, "error?code=");
	token_evidence_ok(&d, 12345);
}

/* Sovereign clouds get their own scope in the remedy. */
static void test_scope_per_cloud(void **state)
{
	struct diag d;

	(void)state;
	snprintf(cred.cloud, sizeof(cred.cloud), "usgov");
	token_diag(400, "invalid_scope", 70011, "x", &d);
	contains(d.remedy, "https://outlook.office365.us/.default");
	snprintf(cred.cloud, sizeof(cred.cloud), "global");
}

static void test_throttling_and_transport(void **state)
{
	struct diag_input in = {&cred, "Ab~", NULL};
	struct entra_result r;
	struct entra_token tok;
	struct diag d;

	(void)state;
	/* 429, non-JSON, Retry-After. */
	memset(&r, 0, sizeof(r));
	r.retry_after_s = 60;
	r.attempts = 4;
	entra_parse_response(429, "Too Many Requests", 17, 0, &r, &tok);
	diag_token(&in, &r, &d);
	assert_string_equal(d.step, "network");
	assert_true(d.transient);
	contains(d.evidence, "429");
	contains(d.evidence, "Retry-After 60");
	contains(d.remedy, "backoff");

	memset(&r, 0, sizeof(r));
	entra_parse_response(503, "<html>", 6, 0, &r, &tok);
	diag_token(&in, &r, &d);
	assert_string_equal(d.step, "network");
	assert_true(d.transient);

	/* A timeout: no HTTP reply. */
	memset(&r, 0, sizeof(r));
	r.curl_code = CURLE_OPERATION_TIMEDOUT;
	r.transient = true;
	snprintf(r.curl_error, sizeof(r.curl_error),
		 "Operation timed out after 60000 milliseconds");
	diag_token(&in, &r, &d);
	assert_string_equal(d.step, "network");
	assert_true(d.transient);
	contains(d.evidence, "curl 28: Operation timed out");

	/* A certificate the CA file does not vouch for. */
	memset(&r, 0, sizeof(r));
	r.curl_code = CURLE_PEER_FAILED_VERIFICATION;
	snprintf(r.curl_error, sizeof(r.curl_error),
		 "SSL certificate problem: unable to get local issuer "
		 "certificate");
	diag_token(&in, &r, &d);
	assert_string_equal(d.step, "transport");
	assert_false(d.transient);
	contains(d.summary, "unable to get local issuer");
	contains(d.remedy, "ca_file");

	/* A 200 that is not a token reply. */
	memset(&r, 0, sizeof(r));
	entra_parse_response(200, "<html>portal</html>", 19, 0, &r, &tok);
	diag_token(&in, &r, &d);
	assert_string_equal(d.step, "token-endpoint");
	assert_false(d.transient);
	contains(d.remedy, "authority URL");

	memset(&r, 0, sizeof(r));
	entra_parse_response(404, "<html>Not Found</html>", 22, 0, &r, &tok);
	diag_token(&in, &r, &d);
	assert_string_equal(d.step, "token-endpoint");
}

static void test_claims_without_role(void **state)
{
	struct diag_input in = {&cred, "Ab~", &without_role};
	struct diag d;

	(void)state;
	diag_claims(&in, &d);
	assert_string_equal(d.step, "api-permission");
	assert_false(d.transient);
	contains(d.summary, "roles: none");
	contains(d.remedy, "Office 365 Exchange Online");
	contains(d.remedy, "SMTP.SendAsApp");
	contains(d.remedy, "Grant admin");
	contains(d.remedy, TENANT);
	contains(d.evidence, "roles []");
	contains(d.evidence, SP_OID);
}

/* ------------------------------------------------------------------ */
/* SMTP failures */

enum at { AT_STARTTLS, AT_AUTH, AT_MAIL, AT_EOD };

/* A transcript up to the stage, then the reply, with the curl result
 * 7.88 gives for it (PROTOCOL.md §4.2). */
static void smtp_fail(enum at at, const char *reply, int curl_code,
		      struct smtp_result *r)
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

	smtp_result_init(r);
	for (const char *const *l = pre; *l; l++)
		smtp_result_feed(r, *l, strlen(*l));
	if (at >= AT_AUTH)
		for (const char *const *l = tls; *l; l++)
			smtp_result_feed(r, *l, strlen(*l));
	if (at >= AT_MAIL)
		for (const char *const *l = authed; *l; l++)
			smtp_result_feed(r, *l, strlen(*l));
	if (at >= AT_EOD)
		for (const char *const *l = data; *l; l++)
			smtp_result_feed(r, *l, strlen(*l));
	if (reply != NULL)
		smtp_result_feed(r, reply, strlen(reply));
	r->curl_code = curl_code;
}

static void smtp_diag(enum at at, const char *reply, int curl_code,
		      const struct jwt_claims *claims, struct diag *d)
{
	struct smtp_result r;
	struct diag_input in = {&cred, "Ab~", claims};

	smtp_fail(at, reply, curl_code, &r);
	diag_smtp(&in, &r, d);
}

static void test_535_573(void **state)
{
	static const char reply[] =
	    "535 5.7.3 Authentication unsuccessful " D "\r\n";
	struct diag d;

	(void)state;
	/* With the role: the Exchange side, with the oid from the token. */
	smtp_diag(AT_AUTH, reply, CURLE_LOGIN_DENIED, &with_role, &d);
	assert_string_equal(d.step, "exchange-permission");
	assert_false(d.transient);
	contains(d.remedy,
		 "New-ServicePrincipal -AppId " CLIENT " -ObjectId " SP_OID);
	contains(d.remedy, "Enterprise applications");
	contains(d.remedy, "not the one under App registrations");
	contains(d.remedy, "Add-MailboxPermission -Identity "
			   "alerts@contoso.com -User " SP_OID
			   " -AccessRights FullAccess");
	contains(d.remedy, "Set-CASMailbox -Identity alerts@contoso.com");
	contains(d.remedy, "Connect-ExchangeOnline -Organization " TENANT);
	contains(d.evidence, "535 5.7.3 Authentication unsuccessful");
	contains(d.evidence, "(at auth)");

	/* Without the role: consent. */
	smtp_diag(AT_AUTH, reply, CURLE_LOGIN_DENIED, &without_role, &d);
	assert_string_equal(d.step, "api-permission");
	contains(d.remedy, "SMTP.SendAsApp");
	assert_null(strstr(d.remedy, "New-ServicePrincipal"));

	/* Claims unknown: both, and a placeholder for the object id. */
	smtp_diag(AT_AUTH, reply, CURLE_LOGIN_DENIED, NULL, &d);
	assert_string_equal(d.step, "exchange-permission");
	contains(d.remedy, "SMTP.SendAsApp");
	contains(d.remedy, "New-ServicePrincipal -AppId " CLIENT
			   " -ObjectId <Object ID from Entra admin center > "
			   "Enterprise applications");

	/* The credential's own object id wins over the token's. */
	snprintf(cred.object_id, sizeof(cred.object_id),
		 "cccccccc-0000-0000-0000-000000000001");
	smtp_diag(AT_AUTH, reply, CURLE_LOGIN_DENIED, &with_role, &d);
	contains(d.remedy, "-ObjectId cccccccc-0000-0000-0000-000000000001");
	cred.object_id[0] = '\0';

	/* Code and enhanced status decide, not the words. */
	smtp_diag(AT_AUTH,
		  "535 5.7.3 the request did not meet the criteria for the "
		  "Mailbox\r\n",
		  CURLE_LOGIN_DENIED, &with_role, &d);
	assert_string_equal(d.step, "exchange-permission");
}

static void test_535_57139(void **state)
{
	struct diag d;

	(void)state;
	smtp_diag(AT_AUTH,
		  "535 5.7.139 Authentication unsuccessful, "
		  "SmtpClientAuthentication is disabled for the Mailbox. Visit "
		  "https://aka.ms/smtp_auth_disabled for more information. " D
		  "\r\n",
		  CURLE_LOGIN_DENIED, &with_role, &d);
	assert_string_equal(d.step, "smtp-auth-mailbox");
	contains(d.remedy, "Set-CASMailbox -Identity alerts@contoso.com "
			   "-SmtpClientAuthenticationDisabled $false");
	contains(d.evidence, "535 5.7.139");

	smtp_diag(AT_AUTH,
		  "535 5.7.139 Authentication unsuccessful, "
		  "SmtpClientAuthentication is disabled for the Tenant. Visit "
		  "https://aka.ms/smtp_auth_disabled for more information. " D
		  "\r\n",
		  CURLE_LOGIN_DENIED, &with_role, &d);
	assert_string_equal(d.step, "smtp-auth-tenant");
	contains(
	    d.remedy,
	    "Set-TransportConfig -SmtpClientAuthenticationDisabled $false");
	contains(d.remedy, "Set-CASMailbox -Identity alerts@contoso.com");

	smtp_diag(
	    AT_AUTH,
	    "535 5.7.139 Authentication unsuccessful, the request did not "
	    "meet the criteria to be authenticated successfully. Contact "
	    "your administrator. " D "\r\n",
	    CURLE_LOGIN_DENIED, &with_role, &d);
	assert_string_equal(d.step, "conditional-access");
	contains(d.remedy, "workload identity");

	smtp_diag(AT_AUTH,
		  "535 5.7.139 Authentication unsuccessful, user is locked by "
		  "your organization's security defaults policy. Contact your "
		  "administrator.\r\n",
		  CURLE_LOGIN_DENIED, &with_role, &d);
	assert_string_equal(d.step, "security-defaults");

	smtp_diag(AT_AUTH, "535 5.7.139 Authentication unsuccessful\r\n",
		  CURLE_LOGIN_DENIED, &with_role, &d);
	assert_string_equal(d.step, "smtp-auth");
	contains(d.remedy, "Get-TransportConfig");
}

static void test_530_and_mechanisms(void **state)
{
	struct smtp_result r;
	struct diag_input in = {&cred, "Ab~", &with_role};
	struct diag d;

	(void)state;
	smtp_diag(AT_MAIL,
		  "530 5.7.57 Client not authenticated to send mail. " D "\r\n",
		  CURLE_SEND_ERROR, &with_role, &d);
	assert_string_equal(d.step, "smtp-not-authenticated");
	assert_false(d.transient);
	contains(d.remedy, "AUTH XOAUTH2");
	contains(d.remedy, "smtp://smtp.office365.com:587");
	contains(d.evidence, "530 5.7.57");
	contains(d.evidence, "(at mail)");

	smtp_diag(AT_AUTH, "504 5.7.4 Unrecognized authentication type\r\n",
		  CURLE_LOGIN_DENIED, &with_role, &d);
	assert_string_equal(d.step, "smtp-not-authenticated");
	smtp_diag(AT_AUTH, "501 5.5.124 Invalid XOAUTH2 auth data\r\n",
		  CURLE_LOGIN_DENIED, &with_role, &d);
	assert_string_equal(d.step, "smtp-not-authenticated");

	/* XOAUTH2 not offered: libcurl gives up without a reply. */
	smtp_result_init(&r);
	smtp_result_feed(&r, "220 x\r\n", 7);
	smtp_result_feed(&r, "250 STARTTLS\r\n", 14);
	smtp_result_feed(&r, "220 go\r\n", 8);
	smtp_result_feed(&r, "250 AUTH LOGIN\r\n", 16);
	r.curl_code = CURLE_LOGIN_DENIED;
	diag_smtp(&in, &r, &d);
	assert_string_equal(d.step, "smtp-not-authenticated");
	contains(d.summary, "LOGIN");
	contains(d.evidence, "curl 67");
}

static void test_send_as(void **state)
{
	struct diag d;

	(void)state;
	smtp_diag(AT_EOD,
		  "554 5.2.252 SendAsDenied; alerts@contoso.com not allowed to "
		  "send as ceo@contoso.com; STOREDRV.Submission.Exception:"
		  "SendAsDeniedException.MapiExceptionSendAsDenied; Failed to "
		  "process message due to a permanent exception with message "
		  "[BeginDiagnosticData]Cannot submit message. " D "\r\n",
		  CURLE_WEIRD_SERVER_REPLY, &with_role, &d);
	assert_string_equal(d.step, "send-as");
	assert_false(d.transient);
	contains(d.remedy, "Add-RecipientPermission -Identity");
	contains(d.remedy, "-Trustee " SP_OID " -AccessRights SendAs");
	contains(d.evidence, "not allowed to send as ceo@contoso.com");
	contains(d.evidence, "(at end-of-data)");

	smtp_diag(AT_EOD,
		  "554 5.2.0 STOREDRV.Submission.Exception:SendAsDenied"
		  "Exception.MapiExceptionSendAsDenied; Failed\r\n",
		  CURLE_WEIRD_SERVER_REPLY, &with_role, &d);
	assert_string_equal(d.step, "send-as");

	smtp_diag(
	    AT_MAIL,
	    "550 5.7.60 SMTP; Client does not have permissions to send as "
	    "this sender\r\n",
	    CURLE_SEND_ERROR, &with_role, &d);
	assert_string_equal(d.step, "send-as");
	contains(d.evidence, "(at mail)");

	/* 5.2.0 with another cause is not send-as. */
	smtp_diag(AT_EOD,
		  "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuota"
		  "ExceededException; Failed\r\n",
		  CURLE_WEIRD_SERVER_REPLY, &with_role, &d);
	assert_string_equal(d.step, "sending-limit");
	smtp_diag(AT_EOD, "554 5.2.0 something else\r\n",
		  CURLE_WEIRD_SERVER_REPLY, &with_role, &d);
	assert_string_equal(d.step, "unknown");
}

static void test_4xx_rows(void **state)
{
	struct diag d;

	(void)state;
	smtp_diag(
	    AT_EOD,
	    "430 4.2.0 STOREDRV; mailbox logon failure; STOREDRV."
	    "Submission.Exception:ConnectionFailedTransientException."
	    "MapiExceptionLogonFailed; Failed to process message due to a "
	    "transient exception with message [BeginDiagnosticData]Cannot "
	    "open mailbox. " D "\r\n",
	    CURLE_WEIRD_SERVER_REPLY, &with_role, &d);
	assert_string_equal(d.step, "exchange-permission");
	contains(d.summary, "logon failure");
	contains(d.remedy, "New-ServicePrincipal -AppId " CLIENT);
	contains(d.remedy, "FullAccess");

	smtp_diag(AT_MAIL,
		  "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit "
		  "exceeded\r\n",
		  CURLE_SEND_ERROR, &with_role, &d);
	assert_string_equal(d.step, "smtp-concurrency");
	assert_true(d.transient);
	contains(d.remedy, "3 concurrent");

	smtp_diag(AT_STARTTLS,
		  "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please "
		  "upgrade/update your client to support TLS 1.2. Visit "
		  "https://aka.ms/smtp_auth_tls. " D "\r\n",
		  CURLE_USE_SSL_FAILED, &with_role, &d);
	assert_string_equal(d.step, "transport");
	assert_false(d.transient);
	contains(d.remedy, "TLS 1.2");
	contains(d.remedy, "587");
	contains(d.evidence, "(at starttls)");

	/* An unknown 4xx is unknown but transient. */
	smtp_diag(AT_MAIL, "451 4.3.0 Temporary server error\r\n",
		  CURLE_SEND_ERROR, &with_role, &d);
	assert_string_equal(d.step, "unknown");
	assert_true(d.transient);
	contains(d.evidence, "451 4.3.0 Temporary server error");

	smtp_diag(AT_EOD, "550 5.1.8 Access denied, bad outbound sender\r\n",
		  CURLE_WEIRD_SERVER_REPLY, &with_role, &d);
	assert_string_equal(d.step, "sender-restricted");
}

static void test_transport_failures(void **state)
{
	struct smtp_result r;
	struct diag_input in = {&cred, "Ab~", &with_role};
	struct diag d;

	(void)state;
	/* Certificate refused in the STARTTLS handshake. */
	smtp_fail(AT_STARTTLS, "220 2.0.0 SMTP server ready\r\n",
		  CURLE_PEER_FAILED_VERIFICATION, &r);
	snprintf(r.curl_error, sizeof(r.curl_error),
		 "SSL certificate problem: unable to get local issuer "
		 "certificate");
	diag_smtp(&in, &r, &d);
	assert_string_equal(d.step, "transport");
	assert_false(d.transient);
	contains(d.summary, "unable to get local issuer certificate");
	contains(d.remedy, "ca_file");
	contains(d.evidence, "curl 60");

	/* No STARTTLS offered. */
	smtp_result_init(&r);
	smtp_result_feed(&r, "220 x\r\n", 7);
	smtp_result_feed(&r, "250 SMTPUTF8\r\n", 14);
	r.curl_code = CURLE_USE_SSL_FAILED;
	diag_smtp(&in, &r, &d);
	assert_string_equal(d.step, "transport");
	contains(d.summary, "did not offer STARTTLS");

	/* Nothing answers in time. */
	smtp_result_init(&r);
	r.curl_code = CURLE_OPERATION_TIMEDOUT;
	diag_smtp(&in, &r, &d);
	assert_string_equal(d.step, "network");
	assert_true(d.transient);
	smtp_result_init(&r);
	r.curl_code = CURLE_COULDNT_CONNECT;
	diag_smtp(&in, &r, &d);
	assert_string_equal(d.step, "network");
	contains(d.summary, "smtp://smtp.office365.com:587");

	/* Refused before connecting. */
	smtp_result_init(&r);
	snprintf(r.summary, sizeof(r.summary), "not sent: no sender mailbox");
	diag_smtp(&in, &r, &d);
	assert_string_equal(d.step, "smtp-config");
	assert_string_equal(d.summary,
			    "The test send was not made: no sender mailbox");
}

/* No remedy or evidence ever holds more than the fixture's values: a
 * smoke check that fill-ins come from the credential. */
static void test_values_filled(void **state)
{
	struct diag d;

	(void)state;
	snprintf(cred.sender, sizeof(cred.sender), "robot@fabrikam.example");
	smtp_diag(AT_AUTH,
		  "535 5.7.139 Authentication unsuccessful, "
		  "SmtpClientAuthentication is disabled for the Mailbox.\r\n",
		  CURLE_LOGIN_DENIED, &with_role, &d);
	contains(d.remedy, "Set-CASMailbox -Identity robot@fabrikam.example");
	assert_null(strstr(d.remedy, "alerts@contoso.com"));
	snprintf(cred.sender, sizeof(cred.sender), "alerts@contoso.com");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tenant),
	    cmocka_unit_test(test_client_id),
	    cmocka_unit_test(test_secret_value),
	    cmocka_unit_test(test_secret_expired),
	    cmocka_unit_test(test_not_by_description),
	    cmocka_unit_test(test_other_token_rows),
	    cmocka_unit_test(test_scope_per_cloud),
	    cmocka_unit_test(test_throttling_and_transport),
	    cmocka_unit_test(test_claims_without_role),
	    cmocka_unit_test(test_535_573),
	    cmocka_unit_test(test_535_57139),
	    cmocka_unit_test(test_530_and_mechanisms),
	    cmocka_unit_test(test_send_as),
	    cmocka_unit_test(test_4xx_rows),
	    cmocka_unit_test(test_transport_failures),
	    cmocka_unit_test(test_values_filled),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, NULL);
}
