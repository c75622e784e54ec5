#include "diag.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cloud.h"
#include "timefmt.h"

static const char *const step_names[DIAG_STEP_COUNT] = {
    [DIAG_STEP_UNKNOWN] = "unknown",
    [DIAG_STEP_TENANT] = "tenant",
    [DIAG_STEP_CLIENT_ID] = "client-id",
    [DIAG_STEP_APP_DISABLED] = "app-disabled",
    [DIAG_STEP_SECRET_VALUE] = "secret-value",
    [DIAG_STEP_SECRET_EXPIRED] = "secret-expired",
    [DIAG_STEP_SECRET_MISSING] = "secret-missing",
    [DIAG_STEP_SCOPE] = "scope",
    [DIAG_STEP_CONDITIONAL_ACCESS] = "conditional-access",
    [DIAG_STEP_NETWORK] = "network",
    [DIAG_STEP_TOKEN_ENDPOINT] = "token-endpoint",
    [DIAG_STEP_TRANSPORT] = "transport",
    [DIAG_STEP_API_PERMISSION] = "api-permission",
    [DIAG_STEP_EXCHANGE_PERMISSION] = "exchange-permission",
    [DIAG_STEP_SMTP_AUTH_MAILBOX] = "smtp-auth-mailbox",
    [DIAG_STEP_SMTP_AUTH_TENANT] = "smtp-auth-tenant",
    [DIAG_STEP_SECURITY_DEFAULTS] = "security-defaults",
    [DIAG_STEP_SMTP_AUTH] = "smtp-auth",
    [DIAG_STEP_SMTP_NOT_AUTHENTICATED] = "smtp-not-authenticated",
    [DIAG_STEP_SEND_AS] = "send-as",
    [DIAG_STEP_SMTP_CONCURRENCY] = "smtp-concurrency",
    [DIAG_STEP_SENDER_RESTRICTED] = "sender-restricted",
    [DIAG_STEP_SENDING_LIMIT] = "sending-limit",
    [DIAG_STEP_SMTP_CONFIG] = "smtp-config",
    [DIAG_STEP_SMTP_TEMPORARY] = "smtp-temporary",
    [DIAG_STEP_GRAPH_PERMISSION] = "graph-permission",
    [DIAG_STEP_GRAPH_APP] = "graph-app",
    [DIAG_STEP_SECRET_POLICY] = "secret-lifetime-policy",
    [DIAG_STEP_CERT_UNKNOWN] = "certificate-unknown",
    [DIAG_STEP_CLOCK_SKEW] = "clock-skew",
    [DIAG_STEP_CERT_EXPIRED] = "certificate-expired",
    [DIAG_STEP_CLIENT_AUTH] = "client-authentication",
    [DIAG_STEP_SMTP_TOKEN_REFUSED] = "smtp-token-refused",
    [DIAG_STEP_GRAPH_READ] = "graph-read-permission",
    [DIAG_STEP_SECRET_REVOKED] = "secret-revoked",
};

const char *diag_step_name(enum diag_step s)
{
	if ((unsigned)s >= DIAG_STEP_COUNT || step_names[s] == NULL)
		return "unknown";
	return step_names[s];
}

/* ------------------------------------------------------------------ */
/* The diagnoses */

enum kind {
	K_TENANT,
	K_CLIENT_ID,
	K_APP_DISABLED,
	K_SECRET_VALUE,
	K_SECRET_EXPIRED,
	K_SECRET_MISSING,
	K_SCOPE,
	K_CA_TOKEN,
	K_NETWORK_TOKEN,
	K_TOKEN_ENDPOINT,
	K_TLS_TOKEN,
	K_UNKNOWN_TOKEN,
	K_NO_ROLE,
	K_535_UNDECODED,
	K_EXCHANGE_PERMISSION,
	K_LOGON_FAILURE,
	K_SMTP_AUTH_MAILBOX,
	K_SMTP_AUTH_TENANT,
	K_CA_SMTP,
	K_SECURITY_DEFAULTS,
	K_SMTP_AUTH,
	K_NOT_AUTHENTICATED,
	K_NO_XOAUTH2,
	K_SEND_AS,
	K_CONCURRENCY,
	K_OLD_TLS,
	K_NO_STARTTLS,
	K_TLS_SMTP,
	K_NETWORK_SMTP,
	K_RESTRICTED,
	K_QUOTA,
	K_SMTP_CONFIG,
	K_SMTP_TEMPORARY,
	K_DEADLINE,
	K_UNKNOWN_SMTP,
	K_GRAPH_DENIED,
	K_GRAPH_NOT_FOUND,
	K_GRAPH_POLICY,
	K_GRAPH_NETWORK,
	K_GRAPH_UNKNOWN,
	K_CERT_UNKNOWN,
	K_CLOCK_SKEW,
	K_CERT_EXPIRED,
	K_OAUTH_CLIENT,
	K_OAUTH_SCOPE,
	K_OAUTH_ERROR,
	K_TOKEN_REFUSED,
	K_READER_ROLE,
	K_SECRET_REVOKED,
	K_COUNT,
};

/* The values a row's texts name as {placeholder}. */
enum var {
	V_NAME,		 /* the credential's name */
	V_TENANT,	 /* its tenant */
	V_CLIENT_ID,	 /* its application (client) ID */
	V_SENDER,	 /* its sender mailbox */
	V_CLOUD,	 /* its cloud, "global" when not set */
	V_AUTHORITY,	 /* the authority URL it uses */
	V_SMTP_URL,	 /* the SMTP URL it uses */
	V_SCOPE,	 /* the Exchange Online scope of its cloud */
	V_HINT,		 /* the secret's hint, "?" when unknown */
	V_OBJECT_ID,	 /* the service principal's Object ID, or where to
			  * find it */
	V_ROLES,	 /* the token's roles, "none" when it has none */
	V_EXTRA,	 /* the failure's own words: the caller's text, else
			  * the row's no_extra */
	V_PS_SENDER,	 /* the sender as a PowerShell single-quoted string (an
			  * addr-spec may hold a quote; tenants cannot) */
	V_APP_OBJECT_ID, /* the app registration's Object ID, or where to
			  * find it */
	V_GRAPH_URL,	 /* the Graph URL it uses */
	V_GRAPH_BASE,	 /* its cloud's Graph base, for directoryObjects */
	V_MAX_LIFETIME,	 /* the longest lifetime a policy allows */
	V_AUD,		 /* the token's aud claim, or "not decoded" */
	V_PASSED,	 /* when the material last passed a test */
	V_SYNC,		 /* how to ask Entra about it: sync where Graph is
			  * allowed, else the portal */
	V_COUNT,
};

static const char *const var_names[V_COUNT] = {
    [V_NAME] = "name",
    [V_TENANT] = "tenant",
    [V_CLIENT_ID] = "client_id",
    [V_SENDER] = "sender",
    [V_CLOUD] = "cloud",
    [V_AUTHORITY] = "authority",
    [V_SMTP_URL] = "smtp_url",
    [V_SCOPE] = "scope",
    [V_HINT] = "hint",
    [V_OBJECT_ID] = "object_id",
    [V_ROLES] = "roles",
    [V_EXTRA] = "extra",
    [V_PS_SENDER] = "ps_sender",
    [V_APP_OBJECT_ID] = "app_object_id",
    [V_GRAPH_URL] = "graph_url",
    [V_GRAPH_BASE] = "graph_base",
    [V_MAX_LIFETIME] = "max_lifetime",
    [V_AUD] = "aud",
    [V_PASSED] = "passed",
    [V_SYNC] = "sync",
};

struct row {
	enum diag_step step;
	bool transient;	      /* may pass by itself later */
	const char *title;    /* for people */
	const char *summary;  /* one line, with {placeholders} */
	const char *remedy;   /* with {placeholders} */
	const char *no_extra; /* {extra} when the caller has no words */
};

/* Texts that several rows share. */
#define CONSENT                                                                \
	"In the Entra admin center > App registrations > app {client_id} > "   \
	"API permissions:\n"                                                   \
	"  Add a permission > APIs my organization uses > Office 365 "         \
	"Exchange Online\n"                                                    \
	"  > Application permissions > SMTP.SendAsApp, then \"Grant admin "    \
	"consent\"\n"                                                          \
	"  for the tenant {tenant}. A new token carries the role once "        \
	"consent is granted.\n"                                                \
	"Then run: secretwatch test {name}"

#define EXCHANGE                                                               \
	"In Exchange Online PowerShell (Connect-ExchangeOnline "               \
	"-Organization {tenant}):\n"                                           \
	"1. Register the app's service principal in Exchange:\n"               \
	"     New-ServicePrincipal -AppId {client_id} -ObjectId {object_id}\n" \
	"   The ObjectId is the Object ID shown under Enterprise "             \
	"applications\n"                                                       \
	"   (the service principal), not the one under App registrations;\n"   \
	"   the wrong one makes authentication fail exactly like this.\n"      \
	"   Check with: Get-ServicePrincipal | fl\n"                           \
	"2. Give it access to the mailbox:\n"                                  \
	"     Add-MailboxPermission -Identity {ps_sender} -User {object_id} "  \
	"-AccessRights FullAccess\n"                                           \
	"   (-User takes the service principal: its Object ID, or the "        \
	"Identity\n"                                                           \
	"   that Get-ServicePrincipal shows.)\n"                               \
	"3. Make sure Authenticated SMTP is on for the mailbox:\n"             \
	"     Get-CASMailbox -Identity {ps_sender} | fl "                      \
	"SmtpClientAuthenticationDisabled\n"                                   \
	"     Set-CASMailbox -Identity {ps_sender} "                           \
	"-SmtpClientAuthenticationDisabled $false\n"                           \
	"Changes in Exchange can take up to an hour to apply. Then run: "      \
	"secretwatch test {name}"

#define CA_REMEDY                                                              \
	"Exclude the workload identity (the service principal of app "         \
	"{client_id}) from the\n"                                              \
	"blocking Conditional Access policy, or adjust the policy (for "       \
	"example its\n"                                                        \
	"locations). Entra admin center > Protection > Conditional Access; "   \
	"the\n"                                                                \
	"service principal sign-in logs show which policy applied."

/* server: the placeholder of the endpoint that failed. */
#define NETWORK_REMEDY(server)                                                 \
	"Nothing to change if it passes later: requests are retried with "     \
	"backoff\n"                                                            \
	"and reported only when the failure persists. If it persists, check "  \
	"DNS,\n"                                                               \
	"firewall and proxy on the path to " server ", and the Microsoft "     \
	"365 service\n"                                                        \
	"health. HTTP 429 means too many token requests for this app: "        \
	"tokens are\n"                                                         \
	"cached until shortly before they expire, so look for other "          \
	"programs using\n"                                                     \
	"app {client_id}."

#define TLS_REMEDY(server)                                                     \
	"TLS is always verified. Check that the host name in " server " is "   \
	"the one on\n"                                                         \
	"the server's certificate and that the system clock is right. If a "   \
	"proxy or a\n"                                                         \
	"private relay re-signs the traffic, put its CA certificate in a "     \
	"PEM file\n"                                                           \
	"and set ca_file = PATH in the [tls] section of the config (that "     \
	"file then\n"                                                          \
	"replaces the system CA bundle)."

#define STARTTLS_REMEDY                                                        \
	"Exchange Online needs STARTTLS with TLS 1.2 or newer on port 587\n"   \
	"(smtp://smtp.office365.com:587; port 465 is not supported). "         \
	"secretwatch\n"                                                        \
	"always requires TLS 1.2 or newer, so check that --smtp-url (now "     \
	"{smtp_url})\n"                                                        \
	"reaches Exchange Online directly, not a relay or a middlebox that "   \
	"strips\n"                                                             \
	"STARTTLS."

#define XOAUTH2_REMEDY                                                         \
	"The server must offer AUTH XOAUTH2 after STARTTLS, as Exchange "      \
	"Online does\n"                                                        \
	"on smtp://smtp.office365.com:587. Check --smtp-url (now "             \
	"{smtp_url}): a relay or\n"                                            \
	"another provider does not take Microsoft tokens. The XOAUTH2 user "   \
	"is the\n"                                                             \
	"sender mailbox (now {sender})."

#define EXCHANGE_TITLE "Exchange service principal and mailbox permission"

/* What a reply without an AADSTS code means for where it came from. */
#define NOT_ENTRA                                                              \
	"The reply has no AADSTS code, trace or correlation ID, so the "       \
	"server said\n"                                                        \
	"no more than that. Microsoft Entra ID always sends an AADSTS code: "  \
	"a reply\n"                                                            \
	"without one comes from another OAuth server, a proxy, or a wrong "    \
	"authority\n"                                                          \
	"URL (now {authority})."

/* One row per kind of failure. Adding a diagnosis is adding a kind, its
 * row here and the rule that picks it (token_rules, smtp_rules). */
static const struct row rows[K_COUNT] = {
    [K_TENANT] =
	{DIAG_STEP_TENANT, false, "Tenant ID and cloud",
	 "Microsoft Entra ID does not know the tenant '{tenant}' in the "
	 "{cloud} cloud",
	 "Check the tenant of credential {name}: it is the Directory (tenant) "
	 "ID on the\n"
	 "app registration's Overview page (a GUID), or a verified domain "
	 "such as\n"
	 "contoso.onmicrosoft.com. It is now '{tenant}'.\n"
	 "A tenant in a national cloud also gives this error when asked of "
	 "the wrong\n"
	 "cloud: the credential uses '{cloud}' ({authority}). Correct the "
	 "credential\n"
	 "(--cloud global|usgov|dod|china only when the cloud is wrong):\n"
	 "  secretwatch cred set {name} --tenant <tenant ID> [--cloud "
	 "<cloud>]\n"
	 "Then run: secretwatch test {name}",
	 NULL},
    [K_CLIENT_ID] =
	{DIAG_STEP_CLIENT_ID, false, "Application (client) ID",
	 "No application with client ID {client_id} exists in the tenant "
	 "{tenant}",
	 "Copy the Application (client) ID from the Entra admin center > "
	 "App\n"
	 "registrations > your app > Overview; credential {name} has "
	 "{client_id}.\n"
	 "If that ID is right, the app is registered in another tenant: "
	 "check the\n"
	 "tenant ID (now {tenant}). An app of another organisation must "
	 "first be consented\n"
	 "to by an administrator of {tenant}.",
	 NULL},
    [K_APP_DISABLED] =
	{DIAG_STEP_APP_DISABLED, false,
	 "Enterprise application enabled for sign-in",
	 "The application {client_id} is disabled in the tenant {tenant}",
	 "Enable sign-in for the app's service principal: Entra admin "
	 "center >\n"
	 "Enterprise applications > app {client_id} > Properties > "
	 "\"Enabled for users to\n"
	 "sign-in?\" = Yes, and save. Then run: secretwatch test {name}",
	 NULL},
    [K_SECRET_VALUE] =
	{DIAG_STEP_SECRET_VALUE, false, "Client secret value",
	 "Entra ID rejected the client secret (hint {hint}) of app "
	 "{client_id} as invalid",
	 "Use the secret's Value, not its Secret ID: in the Entra admin "
	 "center > App\n"
	 "registrations > app {client_id} > Certificates & secrets, the Value "
	 "is shown only\n"
	 "once, right after the secret is created. If it is lost, create a "
	 "new secret\n"
	 "and register it (the value is read from standard input):\n"
	 "  secretwatch secret add {name} --expires YYYY-MM-DD\n"
	 "  secretwatch rotate {name}\n"
	 "A secret created minutes ago may not have propagated yet; a "
	 "pending secret\n"
	 "is retried for the switch window before it is marked failed.",
	 NULL},
    [K_SECRET_REVOKED] =
	{DIAG_STEP_SECRET_REVOKED, false, "Client secret deleted or revoked",
	 "Entra ID refused the client secret (hint {hint}) of app {client_id} "
	 "as invalid, which passed a test at {passed}: it was deleted or "
	 "revoked in Entra",
	 "A secret that worked before was not pasted wrong: someone deleted "
	 "it under\n"
	 "App registrations > app {client_id} > Certificates & secrets, or it "
	 "was\n"
	 "revoked. {sync}\n"
	 "Create a new client secret there, copy its Value at once, and "
	 "register it\n"
	 "(the value is read from standard input):\n"
	 "  secretwatch secret add {name} --expires YYYY-MM-DD --activate",
	 NULL},
    [K_SECRET_EXPIRED] =
	{DIAG_STEP_SECRET_EXPIRED, false, "Client secret expiry",
	 "The client secret (hint {hint}) of app {client_id} has expired",
	 "Create a new client secret: Entra admin center > App registrations "
	 "> app\n"
	 "{client_id} > Certificates & secrets > New client secret, and copy "
	 "its Value at\n"
	 "once. Register it (the value is read from standard input; use the "
	 "Expires\n"
	 "date Entra shows) and switch to it:\n"
	 "  secretwatch secret add {name} --expires YYYY-MM-DD\n"
	 "  secretwatch rotate {name}",
	 NULL},
    [K_CERT_UNKNOWN] =
	{DIAG_STEP_CERT_UNKNOWN, false, "Certificate uploaded to the app",
	 "Entra ID does not know the certificate (thumbprint {hint}...) of app "
	 "{client_id}, or refused its signature",
	 "Upload the certificate to the app: Entra admin center > App "
	 "registrations >\n"
	 "app {client_id} > Certificates & secrets > Certificates > Upload "
	 "certificate,\n"
	 "and pick the PEM that 'secretwatch cert new {name}' printed (or "
	 "wrote "
	 "with --out).\n"
	 "The Thumbprint column must show the SHA-1 thumbprint it printed. A "
	 "certificate\n"
	 "uploaded minutes ago may not have propagated yet; a pending one is "
	 "retried for\n"
	 "the switch window before it is marked failed. Then run: secretwatch "
	 "test {name}",
	 NULL},
    [K_CLOCK_SKEW] =
	{DIAG_STEP_CLOCK_SKEW, false, "This host's clock",
	 "Entra ID refused the client assertion as outside its valid time "
	 "range: this host's clock is off",
	 "A client assertion is valid from now for 5 minutes by this host's "
	 "clock. Set\n"
	 "the clock right and keep it synchronised (timedatectl "
	 "set-ntp true; chrony or\n"
	 "systemd-timesyncd), then run: secretwatch test {name}",
	 NULL},
    [K_CERT_EXPIRED] =
	{DIAG_STEP_CERT_EXPIRED, false, "Certificate expiry",
	 "The certificate (thumbprint {hint}...) of app {client_id} has "
	 "expired",
	 "Make a new certificate, upload it to the app (Entra admin center > "
	 "App\n"
	 "registrations > app {client_id} > Certificates & secrets > "
	 "Certificates >\n"
	 "Upload certificate) and switch to it:\n"
	 "  secretwatch cert new {name}\n"
	 "  secretwatch rotate {name}",
	 NULL},
    [K_OAUTH_CLIENT] =
	{DIAG_STEP_CLIENT_AUTH, false, "Client ID and secret",
	 "The token endpoint refused the client (invalid_client) without "
	 "saying why: {extra}",
	 "invalid_client means client authentication failed: the server does "
	 "not know\n"
	 "the client ID {client_id}, or the secret (hint {hint}) is wrong or "
	 "expired; it\n"
	 "did not say which. Check both: the Application (client) ID on the "
	 "app's\n"
	 "Overview page, and that the secret registered is its Value (not "
	 "its Secret\n"
	 "ID) and has not expired; register a new one with\n"
	 "  secretwatch secret add {name} --expires YYYY-MM-DD\n" NOT_ENTRA,
	 NULL},
    [K_OAUTH_SCOPE] =
	{DIAG_STEP_SCOPE, false, "Token scope",
	 "The token endpoint refused the scope {scope} (invalid_scope): "
	 "{extra}",
	 "invalid_scope means the scope asked for is unknown to the server "
	 "or not\n"
	 "allowed for this client. secretwatch asks for {scope} (the\n"
	 "{cloud} cloud's Exchange Online); a server that does not know it "
	 "is not the\n"
	 "one for this credential.\n" NOT_ENTRA,
	 NULL},
    [K_OAUTH_ERROR] =
	{DIAG_STEP_UNKNOWN, false, "Token request",
	 "The token endpoint refused the request: {extra}",
	 "This is an OAuth error (RFC 6749) as the server sent it; its "
	 "meaning is in\n"
	 "the summary.\n" NOT_ENTRA,
	 "no detail"},
    [K_SECRET_MISSING] =
	{DIAG_STEP_SECRET_MISSING, false, "Client secret value",
	 "No client secret was sent with the token request",
	 "Register the secret's value (read from standard input):\n"
	 "  secretwatch secret add {name} --expires YYYY-MM-DD",
	 NULL},
    [K_SCOPE] =
	{DIAG_STEP_SCOPE, false, "Token scope (cloud)",
	 "Entra ID refused the scope {scope}",
	 "For SMTP the scope must be the Exchange Online resource with "
	 "/.default:\n"
	 "{scope} for the {cloud} cloud. secretwatch takes it from the "
	 "credential's\n"
	 "cloud, so check that the tenant {tenant} really is in the {cloud} "
	 "cloud (--cloud\n"
	 "global|usgov|dod|china), and that Office 365 Exchange Online "
	 "exists in it.",
	 NULL},
    [K_CA_TOKEN] = {DIAG_STEP_CONDITIONAL_ACCESS, false, "Conditional Access",
		    "A Conditional Access policy blocked app {client_id}",
		    CA_REMEDY, NULL},
    [K_NETWORK_TOKEN] =
	{DIAG_STEP_NETWORK, true, "Microsoft or the network",
	 "The token endpoint {authority} is throttling, failing or out of "
	 "reach",
	 NETWORK_REMEDY("{authority}"), NULL},
    [K_TOKEN_ENDPOINT] =
	{DIAG_STEP_TOKEN_ENDPOINT, false, "Token endpoint (authority URL)",
	 "{authority} did not answer like a Microsoft token endpoint",
	 "Check the authority URL of credential {name} (now {authority}): it "
	 "is the base only,\n"
	 "such as https://login.microsoftonline.com, without the tenant or\n"
	 "/oauth2/v2.0/token. A proxy or captive portal that answers HTTPS "
	 "itself\n"
	 "causes this too.",
	 NULL},
    [K_TLS_TOKEN] = {DIAG_STEP_TRANSPORT, false, "TLS and transport",
		     "TLS with {authority} failed: {extra}",
		     TLS_REMEDY("{authority}"),
		     "handshake or certificate error"},
    [K_UNKNOWN_TOKEN] =
	{DIAG_STEP_UNKNOWN, false, "Token request",
	 "The token request failed: {extra}",
	 "Look the AADSTS code up at "
	 "https://login.microsoftonline.com/error?code=<code>\n"
	 "and find the request in the Entra admin center > Sign-in logs > "
	 "Service\n"
	 "principal sign-ins by its correlation ID (see the evidence).",
	 "no detail"},
    [K_NO_ROLE] =
	{DIAG_STEP_API_PERMISSION, false, "API permission and admin consent",
	 "The access token of app {client_id} has no SMTP.SendAsApp role "
	 "(roles: {roles})",
	 CONSENT, NULL},
    [K_535_UNDECODED] =
	{DIAG_STEP_EXCHANGE_PERMISSION, false, EXCHANGE_TITLE,
	 "Exchange rejected the token for {sender}; the token could not be "
	 "decoded to tell missing consent from Exchange setup",
	 "First check the consent:\n" CONSENT
	 "\nThen the Exchange side:\n" EXCHANGE,
	 NULL},
    [K_EXCHANGE_PERMISSION] =
	{DIAG_STEP_EXCHANGE_PERMISSION, false, EXCHANGE_TITLE,
	 "Exchange rejected a token that has SMTP.SendAsApp: the service "
	 "principal is not registered in Exchange or has no access to "
	 "{sender}",
	 EXCHANGE, NULL},
    [K_LOGON_FAILURE] =
	{DIAG_STEP_EXCHANGE_PERMISSION, false, EXCHANGE_TITLE,
	 "Exchange could not open the mailbox {sender} for app {client_id} "
	 "(mailbox logon failure)",
	 EXCHANGE, NULL},
    [K_SMTP_AUTH_MAILBOX] =
	{DIAG_STEP_SMTP_AUTH_MAILBOX, false, "Authenticated SMTP (mailbox)",
	 "Authenticated SMTP is disabled for the mailbox {sender}",
	 "Enable it for the mailbox (Exchange Online PowerShell):\n"
	 "  Set-CASMailbox -Identity {ps_sender} "
	 "-SmtpClientAuthenticationDisabled $false\n"
	 "  Get-CASMailbox -Identity {ps_sender} | fl "
	 "SmtpClientAuthenticationDisabled\n"
	 "or in the Microsoft 365 admin center > Users > Active users > "
	 "{sender} > Mail >\n"
	 "Manage email apps > Authenticated SMTP.",
	 NULL},
    [K_SMTP_AUTH_TENANT] =
	{DIAG_STEP_SMTP_AUTH_TENANT, false, "Authenticated SMTP (organization)",
	 "Authenticated SMTP is disabled for the organization, and {sender} "
	 "has no override",
	 "Enable it for this mailbox only (the mailbox setting wins):\n"
	 "  Set-CASMailbox -Identity {ps_sender} "
	 "-SmtpClientAuthenticationDisabled $false\n"
	 "or for the whole organization:\n"
	 "  Set-TransportConfig -SmtpClientAuthenticationDisabled $false\n"
	 "Security defaults also turn SMTP AUTH off.",
	 NULL},
    [K_CA_SMTP] =
	{DIAG_STEP_CONDITIONAL_ACCESS, false, "Conditional Access",
	 "A Conditional Access policy blocked app {client_id} at SMTP "
	 "authentication",
	 CA_REMEDY, NULL},
    [K_SECURITY_DEFAULTS] =
	{DIAG_STEP_SECURITY_DEFAULTS, false, "Security defaults",
	 "The organization's security defaults block SMTP AUTH for {sender}",
	 "Security defaults turn SMTP AUTH off. Either turn them off (Entra "
	 "admin\n"
	 "center > Overview > Properties > Manage security defaults) in "
	 "favour of\n"
	 "Conditional Access policies, or keep them and send another way. "
	 "Then enable\n"
	 "Authenticated SMTP for the mailbox:\n"
	 "  Set-CASMailbox -Identity {ps_sender} "
	 "-SmtpClientAuthenticationDisabled $false",
	 NULL},
    [K_SMTP_AUTH] =
	{DIAG_STEP_SMTP_AUTH, false, "Authenticated SMTP",
	 "Exchange refused SMTP authentication for {sender} by policy",
	 "Check that Authenticated SMTP is enabled for the mailbox and the\n"
	 "organization, and that no Conditional Access policy or security "
	 "defaults\n"
	 "block it:\n"
	 "  Get-CASMailbox -Identity {ps_sender} | fl "
	 "SmtpClientAuthenticationDisabled\n"
	 "  Get-TransportConfig | fl SmtpClientAuthenticationDisabled\n"
	 "  Set-CASMailbox -Identity {ps_sender} "
	 "-SmtpClientAuthenticationDisabled $false",
	 NULL},
    [K_NOT_AUTHENTICATED] =
	{DIAG_STEP_SMTP_NOT_AUTHENTICATED, false,
	 "SMTP authentication (XOAUTH2)",
	 "The server took no XOAUTH2 authentication, so the send was refused "
	 "as unauthenticated",
	 XOAUTH2_REMEDY, NULL},
    [K_NO_XOAUTH2] =
	{DIAG_STEP_SMTP_NOT_AUTHENTICATED, false,
	 "SMTP authentication (XOAUTH2)",
	 "The server did not offer AUTH XOAUTH2 after STARTTLS: {extra}",
	 XOAUTH2_REMEDY, ""},
    [K_TOKEN_REFUSED] =
	{DIAG_STEP_SMTP_TOKEN_REFUSED, false, "Access token accepted for SMTP",
	 "The server offered XOAUTH2 and refused the token for {sender}: "
	 "{extra}",
	 "XOAUTH2 is offered, so this is not the server's setup but the "
	 "token, which it\n"
	 "refused. A bearer token is refused when:\n"
	 "- its audience or scope is not this server's: the token's aud is "
	 "{aud}, asked\n"
	 "  for with {scope}; the server names the scope it wants in its "
	 "refusal. A\n"
	 "  server other than Exchange Online does not take Microsoft's "
	 "tokens: check\n"
	 "  --smtp-url (now {smtp_url}).\n"
	 "- it lacks the role the server needs (roles: {roles}): Exchange "
	 "Online needs\n"
	 "  SMTP.SendAsApp with admin consent for app {client_id}.\n"
	 "- the app may not use the mailbox {sender}: its service principal "
	 "needs\n"
	 "  Add-MailboxPermission -Identity {ps_sender} -User {object_id} "
	 "-AccessRights FullAccess\n"
	 "- it has expired or is not yet valid by the server's clock: check "
	 "the clocks\n"
	 "  of this host and the server (timedatectl).\n"
	 "Then run: secretwatch test {name}",
	 "no reason given"},
    [K_SEND_AS] =
	{DIAG_STEP_SEND_AS, false, "Sender address (Send As)",
	 "Exchange refused to send as the address used: it is not the "
	 "mailbox {sender} the app authenticated as, and no Send As "
	 "permission covers it",
	 "Send as the mailbox the app authenticates as ({sender}), in both "
	 "MAIL FROM\n"
	 "and the From: header, or grant Send As on the address used:\n"
	 "  Add-RecipientPermission -Identity <address sent as> -Trustee "
	 "{object_id} -AccessRights SendAs\n"
	 "(-Trustee is the app's service principal; the mailbox {sender} "
	 "also needs\n"
	 "  Add-MailboxPermission -Identity {ps_sender} -User {object_id} "
	 "-AccessRights FullAccess)",
	 NULL},
    [K_CONCURRENCY] =
	{DIAG_STEP_SMTP_CONCURRENCY, true, "Connections per mailbox",
	 "More than 3 connections were sending as {sender} at once",
	 "Exchange Online allows at most 3 concurrent connections per "
	 "mailbox. The\n"
	 "test is retried later; if this persists, other programs are "
	 "sending as\n"
	 "{sender} at the same time.",
	 NULL},
    [K_OLD_TLS] = {DIAG_STEP_TRANSPORT, false, "TLS and transport",
		   "The SMTP server {smtp_url} refused the TLS version",
		   STARTTLS_REMEDY, NULL},
    [K_NO_STARTTLS] =
	{DIAG_STEP_TRANSPORT, false, "TLS and transport",
	 "The SMTP server {smtp_url} did not offer STARTTLS; the token is "
	 "never sent without TLS",
	 STARTTLS_REMEDY, NULL},
    [K_TLS_SMTP] =
	{DIAG_STEP_TRANSPORT, false, "TLS and transport",
	 "TLS with {smtp_url} failed: {extra}",
	 TLS_REMEDY(
	     "{smtp_url}") "\nExchange Online takes STARTTLS on port 587 "
			   "(smtp://smtp.office365.com:587)\n"
			   "with TLS 1.2 or newer; port 465 is not supported.",
	 "handshake or certificate error"},
    [K_NETWORK_SMTP] =
	{DIAG_STEP_NETWORK, true, "Microsoft or the network",
	 "The SMTP server {smtp_url} is out of reach or did not answer in "
	 "time",
	 NETWORK_REMEDY("{smtp_url}"), NULL},
    [K_RESTRICTED] =
	{DIAG_STEP_SENDER_RESTRICTED, false, "Sender restrictions",
	 "{sender} is blocked from sending (restricted senders)",
	 "The mailbox is on the restricted entities list, usually after "
	 "outbound\n"
	 "spam. Microsoft Defender portal > Email & collaboration > Review "
	 ">\n"
	 "Restricted entities: release {sender}, and find out why it was "
	 "blocked.",
	 NULL},
    [K_QUOTA] =
	{DIAG_STEP_SENDING_LIMIT, true, "Sending limits",
	 "{sender} has reached an Exchange Online sending limit",
	 "Exchange Online limits a mailbox to 30 messages a minute and "
	 "10,000\n"
	 "recipients a day. Wait for the limit to reset, and look for other "
	 "programs\n"
	 "sending as {sender}.",
	 NULL},
    [K_SMTP_CONFIG] =
	{DIAG_STEP_SMTP_CONFIG, false, "SMTP settings",
	 "The test send was not made: {extra}",
	 "Check the credential's sender (now '{sender}'), test address and "
	 "--smtp-url (now\n"
	 "{smtp_url}).",
	 "bad settings"},
    [K_SMTP_TEMPORARY] =
	{DIAG_STEP_SMTP_TEMPORARY, true, "Exchange Online busy (temporary)",
	 "The SMTP server {smtp_url} refused the send for now: {extra}",
	 "Exchange Online answered with a temporary failure (a 4xx reply): it "
	 "is busy,\n"
	 "being updated, or holding back this mailbox for a moment. Nothing "
	 "to change:\n"
	 "the send was retried with backoff, and the daemon tests again "
	 "later; this is\n"
	 "reported only when it persists. If it persists for hours, check "
	 "the Microsoft\n"
	 "365 service health for Exchange Online, and look for other "
	 "programs sending\n"
	 "as {sender}.",
	 "a temporary failure"},
    [K_DEADLINE] =
	{DIAG_STEP_NETWORK, true, "Microsoft or the network",
	 "Out of time: {extra}",
	 "The test stopped at its deadline ([watch] test_deadline in the "
	 "config), with\n"
	 "the time of every attempt and wait counted. Nothing to change if it "
	 "passes\n"
	 "later. If it persists, check DNS, firewall and proxy on the path to "
	 "{authority}\n"
	 "and {smtp_url}, and the Microsoft 365 service health; on a slow "
	 "path, raise\n"
	 "test_deadline.",
	 "no answer in time"},
    [K_UNKNOWN_SMTP] =
	{DIAG_STEP_UNKNOWN, false, "Test send", "The test send failed: {extra}",
	 "No known cause matches this failure. The evidence has the server's "
	 "reply;\n"
	 "look its code and enhanced status up in Microsoft's \"Fix issues "
	 "with printers,\n"
	 "scanners, and LOB applications that send email using Microsoft "
	 "365\".",
	 "no detail"},
    [K_GRAPH_DENIED] =
	{DIAG_STEP_GRAPH_PERMISSION, false,
	 "Graph permission and app ownership",
	 "Microsoft Graph refused app {client_id} access to its own client "
	 "secrets: {extra}",
	 "secretwatch reads and rotates the client secrets of app {client_id} "
	 "through\n"
	 "Microsoft Graph. That needs the application permission\n"
	 "Application.ReadWrite.OwnedBy with admin consent, and the app as an "
	 "owner of itself:\n"
	 "1. Entra admin center > App registrations > app {client_id} > API "
	 "permissions >\n"
	 "   Add a permission > Microsoft Graph > Application permissions >\n"
	 "   Application.ReadWrite.OwnedBy, then \"Grant admin consent\" for "
	 "the tenant {tenant}.\n"
	 "2. Make the app an owner of itself (as an administrator), in Graph "
	 "PowerShell:\n"
	 "     New-MgApplicationOwnerByRef -ApplicationId {app_object_id} "
	 "-BodyParameter @{\"@odata.id\"=\"{graph_base}/v1.0/"
	 "directoryObjects/{object_id}\"}\n"
	 "   or with the Azure CLI:\n"
	 "     az ad app owner add --id {client_id} --owner-object-id "
	 "{object_id}\n"
	 "   -ApplicationId is the Object ID of the app registration; the "
	 "owner is the\n"
	 "   Object ID of its service principal (Enterprise applications).\n"
	 "A new token carries the permission once consent is granted. Then "
	 "run: secretwatch sync {name}",
	 NULL},
    [K_GRAPH_NOT_FOUND] =
	{DIAG_STEP_GRAPH_APP, false, "Application (client) ID or cloud",
	 "Microsoft Graph has no application with client ID {client_id}: "
	 "{extra}",
	 "Check the Application (client) ID of credential {name} (now "
	 "{client_id}) on the\n"
	 "app registration's Overview page, and that the tenant {tenant} is "
	 "in the {cloud}\n"
	 "cloud: Graph is asked at {graph_url}. Choose the cloud with --cloud\n"
	 "global|usgov|dod|china (secretwatch cred set {name} --cloud "
	 "<cloud>).",
	 NULL},
    [K_GRAPH_POLICY] =
	{DIAG_STEP_SECRET_POLICY, false, "Client secret lifetime policy",
	 "An app management policy refused the new client secret of app "
	 "{client_id}: {extra}",
	 "An app management policy of the tenant {tenant} (or one assigned to "
	 "app {client_id})\n"
	 "limits client secrets: restrictionType passwordLifetime caps their "
	 "lifetime,\n"
	 "passwordAddition forbids new ones. The longest lifetime it allows: "
	 "{max_lifetime}.\n"
	 "Ask for an end date within it ([rotate] lifetime in the config), or "
	 "have an\n"
	 "administrator change the policy: GET {graph_base}/v1.0/policies/"
	 "defaultAppManagementPolicy\n"
	 "shows the tenant's (reading it needs Policy.Read.All); Entra admin "
	 "center >\n"
	 "Applications > App management policies.",
	 "the policy's limit"},
    [K_GRAPH_NETWORK] =
	{DIAG_STEP_NETWORK, true, "Microsoft or the network",
	 "Microsoft Graph at {graph_url} is throttling, failing or out of "
	 "reach: {extra}",
	 "Nothing to change if it passes later: Graph calls are retried, "
	 "after the wait\n"
	 "Graph asks for (Retry-After) when it throttles, and reported only "
	 "when the\n"
	 "failure persists. If it persists, check DNS, firewall and proxy on "
	 "the path to\n"
	 "{graph_url}, the Microsoft 365 service health, and other programs "
	 "calling Graph\n"
	 "as app {client_id}.",
	 NULL},
    [K_READER_ROLE] =
	{DIAG_STEP_GRAPH_READ, false, "Graph permission to read the tenant",
	 "App {client_id} may not read the tenant's applications: {extra}",
	 "secretwatch sweeps the tenant {tenant} as app {client_id}: it lists "
	 "every app\n"
	 "registration and enterprise application with its credentials "
	 "(never a value).\n"
	 "That needs the application permission Application.Read.All with "
	 "admin consent:\n"
	 "  Entra admin center > App registrations > app {client_id} > API "
	 "permissions >\n"
	 "  Add a permission > Microsoft Graph > Application permissions >\n"
	 "  Application.Read.All, then \"Grant admin consent\" for the "
	 "tenant {tenant}.\n"
	 "Add User.Read.All the same way to mail the apps' owners (without it "
	 "owners have\n"
	 "no address). A new token carries the permission once consent is "
	 "granted.\n"
	 "Then run: secretwatch doctor {name}",
	 "its token has no Application.Read.All role"},
    [K_GRAPH_UNKNOWN] =
	{DIAG_STEP_UNKNOWN, false, "Graph request",
	 "The Graph request failed: {extra}",
	 "No known cause matches this failure. The evidence has Graph's error "
	 "code and\n"
	 "request ID; Microsoft support asks for both.",
	 NULL},
};

static const char *or_unknown(const char *s, const char *placeholder)
{
	return s != NULL && s[0] != '\0' ? s : placeholder;
}

/* The Graph base of c's cloud (not its --graph-url): what directory
 * object references name. */
static const char *graph_base(const struct cred *c)
{
	const struct cloud *cl = cloud_find(c->cloud[0] ? c->cloud : "global");

	return cl != NULL ? cl->graph_url : "https://graph.microsoft.com";
}

/* The Enterprise applications (service principal) Object ID: the
 * credential's, else the token's oid claim, else where to find it. */
static const char *sp_object_id(const struct diag_input *in, char *buf,
				size_t size)
{
	if (in->cred->object_id[0] != '\0')
		return in->cred->object_id;
	if (in->claims != NULL && in->claims->oid[0] != '\0')
		return in->claims->oid;
	err_fmt(
	    buf, size,
	    "<Object ID from Entra admin center > Enterprise applications > "
	    "app %s > Overview>",
	    in->cred->client_id);
	return buf;
}

/* The placeholder named by the len bytes at p, or -1. */
static int var_find(const char *p, size_t len)
{
	for (int v = 0; v < V_COUNT; v++)
		if (strlen(var_names[v]) == len &&
		    strncmp(var_names[v], p, len) == 0)
			return v;
	return -1;
}

/* Append tmpl to out, a string in a buffer of size bytes, with each
 * {placeholder} replaced by its value in val; what does not fit is cut
 * off and out stays a string. Values are copied as they are, never
 * expanded again. */
static void expand(char *out, size_t size, const char *tmpl,
		   const char *const val[V_COUNT])
{
	size_t n = strnlen(out, size);
	const char *p = tmpl;

	if (n >= size)
		return;
	while (*p != '\0' && n + 1 < size) {
		const char *end = *p == '{' ? strchr(p, '}') : NULL;
		int v =
		    end != NULL ? var_find(p + 1, (size_t)(end - p - 1)) : -1;
		const char *s = v >= 0 ? val[v] : p;
		size_t len = v >= 0 ? strlen(s) : 1;

		p = v >= 0 ? end + 1 : p + 1;
		while (len-- > 0 && n + 1 < size)
			out[n++] = *s++;
	}
	out[n] = '\0';
}

/* s as a PowerShell single-quoted string: 'o''brien@contoso.com'. A
 * value that does not fit is cut inside the quotes, which still close. */
static const char *ps_quote(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	buf[n++] = '\'';
	for (; *s != '\0' && n + 3 < size; s++) {
		if (*s == '\'')
			buf[n++] = '\'';
		buf[n++] = *s;
	}
	buf[n++] = '\'';
	buf[n] = '\0';
	return buf;
}

/* How to ask Entra whether it still holds a secret: sync, where the
 * credential may read the app through Graph, else the portal. */
static const char *sync_text(const struct cred *c, char *buf, size_t size)
{
	if (!c->rotate_auto && c->graph_url[0] == '\0')
		return "Check whether its key ID is still listed there.";
	err_fmt(buf, size,
		"'secretwatch sync %s' compares the store with what Entra "
		"lists\nand marks a removed secret.",
		c->name);
	return buf;
}

/* What only Graph failures (and a secret's history) fill in. */
struct graph_extra {
	const char *app_object_id;
	const char *max_lifetime;
	int64_t passed_at; /* {passed} */
};

/* Fill d from row k, with extra as the failure's own words (NULL or "":
 * none). */
static void fill_x(enum kind k, const struct diag_input *in, struct diag *d,
		   const char *extra, const struct graph_extra *gx)
{
	const struct row *row = &rows[k];
	const struct cred *c = in->cred;
	char oid[256], roles[512], ps_sender[2 * CRED_MAILBOX_MAX + 3];
	char passed[TIMEFMT_RFC3339_LEN], sync[CRED_NAME_MAX + 160];
	const char *val[V_COUNT];

	jwt_roles_str(in->claims, roles, sizeof(roles));
	val[V_NAME] = c->name;
	val[V_TENANT] = c->tenant;
	val[V_CLIENT_ID] = c->client_id;
	val[V_SENDER] = c->sender;
	val[V_CLOUD] = or_unknown(c->cloud, "global");
	val[V_AUTHORITY] = cloud_authority_url(c);
	val[V_SMTP_URL] = cloud_smtp_url(c);
	val[V_SCOPE] = cloud_outlook_scope(c);
	val[V_HINT] = or_unknown(in->hint, "?");
	val[V_OBJECT_ID] = sp_object_id(in, oid, sizeof(oid));
	val[V_ROLES] = or_unknown(roles, "none");
	val[V_EXTRA] = or_unknown(extra, or_unknown(row->no_extra, ""));
	val[V_PS_SENDER] = ps_quote(c->sender, ps_sender, sizeof(ps_sender));
	val[V_APP_OBJECT_ID] =
	    or_unknown(gx != NULL ? gx->app_object_id : NULL,
		       "<Object ID of the app registration>");
	val[V_GRAPH_URL] = cloud_graph_url(c);
	val[V_GRAPH_BASE] = graph_base(c);
	val[V_MAX_LIFETIME] =
	    or_unknown(gx != NULL ? gx->max_lifetime : NULL,
		       "not named by the refusal (see the policy)");
	val[V_AUD] = or_unknown(in->claims != NULL ? in->claims->aud : NULL,
				"not decoded");
	val[V_PASSED] = passed;
	timefmt_rfc3339(gx != NULL ? gx->passed_at : 0, passed);
	val[V_SYNC] = sync_text(c, sync, sizeof(sync));

	d->step = row->step;
	d->title = row->title;
	d->transient = row->transient;
	d->summary[0] = '\0';
	d->remedy[0] = '\0';
	expand(d->summary, sizeof(d->summary), row->summary, val);
	expand(d->remedy, sizeof(d->remedy), row->remedy, val);
}

static void fill(enum kind k, const struct diag_input *in, struct diag *d,
		 const char *extra)
{
	fill_x(k, in, d, extra, NULL);
}

/* 0 when every {name} in t names a placeholder, else -1. A brace not
 * followed by a lower-case letter is text (PowerShell's @{...}). */
static int placeholders_ok(const char *t)
{
	for (const char *p = strchr(t, '{'); p != NULL;
	     p = strchr(p + 1, '{')) {
		const char *end = strchr(p, '}');

		if (p[1] < 'a' || p[1] > 'z')
			continue;

		if (end == NULL || var_find(p + 1, (size_t)(end - p - 1)) < 0)
			return -1;
	}
	return 0;
}

int diag_table_check(struct err *e)
{
	for (int k = 0; k < K_COUNT; k++) {
		const struct row *r = &rows[k];

		if (r->title == NULL || r->title[0] == '\0' ||
		    r->summary == NULL || r->summary[0] == '\0' ||
		    r->remedy == NULL || r->remedy[0] == '\0') {
			err_set(e,
				"diagnosis %d has no title, summary or "
				"remedy",
				k);
			return -1;
		}
		if ((unsigned)r->step >= DIAG_STEP_COUNT) {
			err_set(e, "diagnosis %d (%s) has no step", k,
				r->title);
			return -1;
		}
		if (placeholders_ok(r->summary) != 0 ||
		    placeholders_ok(r->remedy) != 0) {
			err_set(e,
				"diagnosis %d (%s) names an unknown "
				"placeholder",
				k, r->title);
			return -1;
		}
	}
	return 0;
}

static void reset(struct diag *d)
{
	memset(d, 0, sizeof(*d));
	d->step = DIAG_STEP_UNKNOWN;
	d->title = "Unknown";
}

/* ------------------------------------------------------------------ */
/* Token errors */

struct token_rule {
	long code;
	const char *error; /* NULL: any */
	enum kind kind;
};

/* By error_codes[0]; the error field only where the code alone is not
 * the class. */
static const struct token_rule token_rules[] = {
    {900023, NULL, K_TENANT},
    {90002, NULL, K_TENANT},
    {700016, NULL, K_CLIENT_ID},
    {7000112, NULL, K_APP_DISABLED},
    {7000215, "invalid_client", K_SECRET_VALUE},
    {7000222, "invalid_client", K_SECRET_EXPIRED},
    {7000218, NULL, K_SECRET_MISSING},
    {70011, NULL, K_SCOPE},
    {1002012, NULL, K_SCOPE},
    {500011, NULL, K_SCOPE},
    {53003, NULL, K_CA_TOKEN},
    {700027, NULL, K_CERT_UNKNOWN},
    {50012, NULL, K_CERT_UNKNOWN},
    {700024, NULL, K_CLOCK_SKEW},
};

static void token_evidence(const struct entra_result *r, struct diag *d)
{
	const char *desc = or_unknown(r->error_description, "no description");
	char ids[256] = "";

	if (r->trace_id[0] || r->correlation_id[0] || r->timestamp[0])
		err_fmt(ids, sizeof(ids),
			" [Trace ID: %s, Correlation ID: %s, Timestamp: %s]",
			or_unknown(r->trace_id, "-"),
			or_unknown(r->correlation_id, "-"),
			or_unknown(r->timestamp, "-"));

	if (r->n_error_codes > 0)
		err_fmt(d->evidence, sizeof(d->evidence),
			"AADSTS%ld %s (HTTP %ld): %s%s", r->error_codes[0],
			r->error, r->http_status, desc, ids);
	else if (r->error[0] != '\0')
		err_fmt(d->evidence, sizeof(d->evidence), "%s (HTTP %ld): %s%s",
			r->error, r->http_status, desc, ids);
	else if (r->http_status != 0)
		err_fmt(d->evidence, sizeof(d->evidence), "%s%s%.0ld%s",
			r->summary,
			r->retry_after_s > 0 ? " (Retry-After " : "",
			r->retry_after_s, r->retry_after_s > 0 ? " s)" : "");
	else
		err_fmt(d->evidence, sizeof(d->evidence), "curl %d: %s",
			r->curl_code, r->curl_error);
}

/* An OAuth error of RFC 6749 §5.2 and what the RFC says it means. */
static const struct {
	const char *error;
	const char *meaning;
} oauth_errors[] = {
    {"invalid_request", "the request lacks a parameter, repeats one or is "
			"malformed"},
    {"invalid_client", "client authentication failed"},
    {"invalid_grant", "the grant is invalid, expired or revoked"},
    {"unauthorized_client", "this client may not use the "
			    "client-credentials grant"},
    {"unsupported_grant_type", "the server does not support the "
			       "client-credentials grant"},
    {"invalid_scope", "the scope is invalid, unknown or malformed"},
};

/* The kind of an OAuth error reply without AADSTS codes, and the
 * server's words with the RFC's meaning into extra. */
static enum kind oauth_kind(const struct entra_result *r, char *extra,
			    size_t size)
{
	const char *meaning = NULL;

	for (size_t i = 0; i < sizeof(oauth_errors) / sizeof(oauth_errors[0]);
	     i++)
		if (strcmp(r->error, oauth_errors[i].error) == 0)
			meaning = oauth_errors[i].meaning;
	err_fmt(extra, size, "%s%s%s%s", r->summary,
		meaning != NULL ? " (RFC 6749: " : "",
		meaning != NULL ? meaning : "", meaning != NULL ? ")" : "");
	if (strcmp(r->error, "invalid_client") == 0)
		return K_OAUTH_CLIENT;
	if (strcmp(r->error, "invalid_scope") == 0)
		return K_OAUTH_SCOPE;
	return K_OAUTH_ERROR;
}

void diag_token(const struct diag_input *in, const struct entra_result *r,
		struct diag *ret)
{
	char extra[DIAG_SUMMARY_MAX];
	enum kind k = K_UNKNOWN_TOKEN;
	bool matched = false;

	reset(ret);
	if (r->deadline) {
		k = K_DEADLINE;
		matched = true;
	} else if (r->n_error_codes > 0) {
		for (size_t i = 0;
		     i < sizeof(token_rules) / sizeof(token_rules[0]); i++) {
			const struct token_rule *t = &token_rules[i];

			if (t->code != r->error_codes[0])
				continue;
			if (t->error != NULL && strcmp(t->error, r->error) != 0)
				continue;
			k = t->kind;
			matched = true;
			break;
		}
	}
	snprintf(extra, sizeof(extra), "%s", r->summary);
	if (!matched) {
		if (r->http_status == 0 && net_fail_tls(r->fail))
			k = K_TLS_TOKEN;
		else if (r->transient || r->http_status == 429 ||
			 r->http_status >= 500)
			k = K_NETWORK_TOKEN;
		else if (r->http_status == 0 && r->fail == NET_PROTOCOL)
			k = K_TOKEN_ENDPOINT;
		else if (r->http_status == 0 && r->fail != NET_OK)
			k = K_NETWORK_TOKEN;
		else if (r->error[0] == '\0' && r->http_status != 0)
			k = K_TOKEN_ENDPOINT;
		else if (r->n_error_codes == 0)
			k = oauth_kind(r, extra, sizeof(extra));
	}
	if (k == K_TLS_TOKEN)
		snprintf(extra, sizeof(extra), "%s", r->curl_error);

	fill(k, in, ret, extra);
	/* Whatever the class, a reply the server marks as transient is. */
	if (r->transient)
		ret->transient = true;
	token_evidence(r, ret);
}

void diag_secret_history(const struct diag_input *in, int64_t passed_at,
			 struct diag *d)
{
	struct graph_extra gx = {NULL, NULL, passed_at};
	char evidence[DIAG_EVIDENCE_MAX];

	if (d->step != DIAG_STEP_SECRET_VALUE || passed_at <= 0)
		return;
	memcpy(evidence, d->evidence, sizeof(evidence));
	fill_x(K_SECRET_REVOKED, in, d, NULL, &gx);
	memcpy(d->evidence, evidence, sizeof(evidence));
}

void diag_cert_expired(const struct diag_input *in,
		       const struct entra_result *r, struct diag *ret)
{
	reset(ret);
	fill(K_CERT_EXPIRED, in, ret, r->summary);
	token_evidence(r, ret);
}

static void claims_evidence(const struct diag_input *in, struct diag *ret)
{
	char roles[512];

	jwt_roles_str(in->claims, roles, sizeof(roles));
	if (in->claims != NULL)
		err_fmt(ret->evidence, sizeof(ret->evidence),
			"token claims: aud %s, appid %s, oid %s, roles [%s]",
			or_unknown(in->claims->aud, "-"),
			or_unknown(in->claims->appid, "-"),
			or_unknown(in->claims->oid, "-"), roles);
}

void diag_claims(const struct diag_input *in, struct diag *ret)
{
	reset(ret);
	fill(K_NO_ROLE, in, ret, NULL);
	claims_evidence(in, ret);
}

/* ------------------------------------------------------------------ */
/* SMTP replies */

struct smtp_rule {
	int code;
	const char *enhanced; /* NULL: any */
	const char *keyword;  /* NULL: any; else a case-insensitive part of
			       * the text, to tell apart replies that share
			       * code and enhanced status */
	enum kind kind;
};

static const struct smtp_rule smtp_rules[] = {
    {535, "5.7.139", "for the Mailbox", K_SMTP_AUTH_MAILBOX},
    {535, "5.7.139", "for the Tenant", K_SMTP_AUTH_TENANT},
    {535, "5.7.139", "criteria", K_CA_SMTP},
    {535, "5.7.139", "security defaults", K_SECURITY_DEFAULTS},
    {535, "5.7.139", NULL, K_SMTP_AUTH},
    {535, "5.7.3", NULL, K_EXCHANGE_PERMISSION}, /* refined by claims */
    {530, "5.7.57", NULL, K_NOT_AUTHENTICATED},
    {504, "5.7.4", NULL, K_NO_XOAUTH2},
    {501, "5.5.124", NULL, K_NO_XOAUTH2},
    {554, "5.2.252", NULL, K_SEND_AS},
    {554, "5.2.0", "SendAsDenied", K_SEND_AS},
    {554, "5.2.0", "QuotaExceeded", K_QUOTA},
    {550, "5.7.60", NULL, K_SEND_AS},
    {550, "5.1.8", NULL, K_RESTRICTED},
    {430, "4.2.0", NULL, K_LOGON_FAILURE},
    {432, "4.3.2", NULL, K_CONCURRENCY},
    {421, "4.7.66", NULL, K_OLD_TLS},
    /* Exchange Online's "try again later"; any other 4xx without a row
     * is taken the same way (diag_smtp). */
    {421, "4.3.2", NULL, K_SMTP_TEMPORARY}, /* service not available */
    {451, "4.7.0", NULL, K_SMTP_TEMPORARY}, /* temporary server error */
    {454, "4.7.0", NULL, K_SMTP_TEMPORARY}, /* temporary auth failure */
    {451, "4.4.0", NULL, K_SMTP_TEMPORARY}, /* DNS or routing, for now */
};

static bool rule_matches(const struct smtp_rule *ru,
			 const struct smtp_reply *rep)
{
	if (ru->code != rep->code)
		return false;
	if (ru->enhanced != NULL && strcmp(ru->enhanced, rep->enhanced) != 0)
		return false;
	return ru->keyword == NULL || strcasestr(rep->text, ru->keyword);
}

/* The kind of a failed send. */
static enum kind smtp_kind(const struct smtp_result *r)
{
	const struct smtp_reply *rep = &r->last;
	size_t n = sizeof(smtp_rules) / sizeof(smtp_rules[0]);
	enum kind k = K_UNKNOWN_SMTP;

	if (r->deadline)
		return K_DEADLINE;
	if (rep->code < 400) {
		if (r->n_replies == 0 && r->fail == NET_OK)
			return K_SMTP_CONFIG; /* refused before connecting */
		if (r->fail == NET_STARTTLS_REFUSED)
			return K_NO_STARTTLS;
		if (net_fail_tls(r->fail))
			return K_TLS_SMTP;
		if (r->fail == NET_LOGIN_DENIED)
			return r->challenged || r->xoauth2_offered
				   ? K_TOKEN_REFUSED
				   : K_NO_XOAUTH2;
		return net_fail_transient(r->fail) ? K_NETWORK_SMTP : k;
	}
	for (size_t i = 0; i < n; i++)
		if (rule_matches(&smtp_rules[i], rep))
			return smtp_rules[i].kind;
	if (r->stage == SMTP_STAGE_STARTTLS)
		return K_NO_STARTTLS; /* STARTTLS refused */
	return rep->code < 500 ? K_SMTP_TEMPORARY : k;
}

/* The failure's own words for the summary of kind k. */
static const char *smtp_extra(enum kind k, const struct smtp_result *r,
			      bool negative, char *buf, size_t size)
{
	if (k == K_TLS_SMTP)
		return r->curl_error;
	if (k == K_NO_XOAUTH2 && !negative) {
		err_fmt(buf, size, "its EHLO listed %s",
			r->auth_offered ? r->auth_mechs : "no AUTH at all");
		return buf;
	}
	if (k == K_TOKEN_REFUSED && r->challenged) {
		err_fmt(buf, size, "status %s, schemes %s, scope %s",
			r->challenge.status,
			or_unknown(r->challenge.schemes, "-"),
			or_unknown(r->challenge.scope, "-"));
		return buf;
	}
	if (k == K_TOKEN_REFUSED)
		return "it gave no reason";
	if (k == K_SMTP_CONFIG && r->refused[0] != '\0')
		return r->refused;
	return r->summary;
}

void diag_smtp(const struct diag_input *in, const struct smtp_result *r,
	       struct diag *ret)
{
	const struct smtp_reply *rep = &r->last;
	bool negative = rep->code >= 400 && !r->deadline;
	enum kind k = smtp_kind(r);
	char said[SMTP_SUMMARY_MAX];

	reset(ret);
	if (k == K_EXCHANGE_PERMISSION) {
		if (in->claims == NULL)
			k = K_535_UNDECODED;
		else if (!jwt_has_role(in->claims, "SMTP.SendAsApp"))
			k = K_NO_ROLE;
	}
	fill(k, in, ret, smtp_extra(k, r, negative, said, sizeof(said)));

	if (r->challenged)
		err_fmt(ret->evidence, sizeof(ret->evidence),
			"%s (at %s), the XOAUTH2 error challenge: status %s, "
			"schemes %s, scope %s",
			rep->line, smtp_stage_name(r->stage),
			r->challenge.status,
			or_unknown(r->challenge.schemes, "-"),
			or_unknown(r->challenge.scope, "-"));
	else if (negative)
		err_fmt(ret->evidence, sizeof(ret->evidence), "%s (at %s)",
			rep->line, smtp_stage_name(r->stage));
	else if (r->fail != NET_OK)
		err_fmt(ret->evidence, sizeof(ret->evidence),
			"curl %d at %s: %s%s%s", r->curl_code,
			smtp_stage_name(r->stage), r->curl_error,
			rep->line[0] ? "; last reply: " : "", rep->line);
	else
		err_fmt(ret->evidence, sizeof(ret->evidence), "%s", r->summary);
}

/* ------------------------------------------------------------------ */
/* Graph errors */

struct graph_rule {
	long status;	  /* 0: any */
	const char *code; /* NULL: any; else error.code, case-insensitive */
	enum kind kind;
};

static const struct graph_rule graph_rules[] = {
    {0, "CredentialInvalidLifetimeAsPerAppPolicy", K_GRAPH_POLICY},
    {0, "CredentialTypeNotAllowedAsPerAppPolicy", K_GRAPH_POLICY},
    {0, "InvalidKeyEndDate", K_GRAPH_POLICY},
    {403, NULL, K_GRAPH_DENIED},
    {401, "Authorization_RequestDenied", K_GRAPH_DENIED},
    {404, NULL, K_GRAPH_NOT_FOUND},
    {400, "Request_ResourceNotFound", K_GRAPH_NOT_FOUND},
};

static enum kind graph_kind(const struct graph_result *r)
{
	for (size_t i = 0; i < sizeof(graph_rules) / sizeof(graph_rules[0]);
	     i++) {
		const struct graph_rule *g = &graph_rules[i];

		if (g->status != 0 && g->status != r->http_status)
			continue;
		if (g->code != NULL && strcasecmp(g->code, r->code) != 0)
			continue;
		return g->kind;
	}
	if (r->http_status == 400 && strcasestr(r->code, "AppPolicy") != NULL)
		return K_GRAPH_POLICY;
	if (r->transient || r->http_status == 429 || r->http_status >= 500 ||
	    (r->http_status == 0 && r->fail != NET_OK))
		return K_GRAPH_NETWORK;
	return K_GRAPH_UNKNOWN;
}

int diag_graph_max_lifetime(const char *message, char *out, size_t size)
{
	for (const char *p = message; p != NULL && *p != '\0'; p++) {
		size_t n = 1;

		if (*p != 'P' || (p > message && p[-1] >= 'A' && p[-1] <= 'z'))
			continue;
		while (p[n] >= '0' && p[n] <= '9')
			n++;
		if (n == 1 || n > 6 ||
		    (p[n] != 'D' && p[n] != 'M' && p[n] != 'Y' && p[n] != 'W'))
			continue;
		if (n + 2 > size)
			return -1;
		memcpy(out, p, n + 1);
		out[n + 1] = '\0';
		return 0;
	}
	return -1;
}

void diag_graph(const struct diag_input *in, const struct graph_result *r,
		const char *app_object_id, const char *max_lifetime,
		struct diag *ret)
{
	struct graph_extra gx = {app_object_id, max_lifetime, 0};
	char maxl[16];
	enum kind k = graph_kind(r);

	reset(ret);
	if (k == K_GRAPH_POLICY &&
	    (max_lifetime == NULL || max_lifetime[0] == '\0') &&
	    diag_graph_max_lifetime(r->message, maxl, sizeof(maxl)) == 0)
		gx.max_lifetime = maxl;
	fill_x(k, in, ret,
	       r->message[0]	  ? r->message
	       : r->curl_error[0] ? r->curl_error
				  : r->summary,
	       &gx);
	if (r->transient)
		ret->transient = true;
	if (r->http_status != 0)
		err_fmt(ret->evidence, sizeof(ret->evidence),
			"Graph HTTP %ld %s: %s%s%s%s%s", r->http_status,
			or_unknown(r->code, "(no error code)"), r->message,
			r->request_id[0] ? " (request-id " : "", r->request_id,
			r->request_id[0] ? ")" : "",
			r->retry_after_s > 0 ? " (throttled)" : "");
	else
		err_fmt(ret->evidence, sizeof(ret->evidence), "curl %d: %s",
			r->curl_code, r->curl_error);
}

void diag_reader(const struct diag_input *in, const struct graph_result *r,
		 struct diag *ret)
{
	if (r != NULL && r->http_status != 403 &&
	    strcasecmp(r->code, "Authorization_RequestDenied") != 0) {
		diag_graph(in, r, NULL, NULL, ret);
		return;
	}
	reset(ret);
	fill(K_READER_ROLE, in, ret,
	     r != NULL && r->message[0] ? r->message : NULL);
	if (r != NULL)
		err_fmt(ret->evidence, sizeof(ret->evidence),
			"Graph HTTP %ld %s: %s", r->http_status,
			or_unknown(r->code, "(no error code)"), r->message);
	else
		claims_evidence(in, ret);
}
