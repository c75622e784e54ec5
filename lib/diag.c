#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cloud.h"

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
	K_UNKNOWN_SMTP,
};

static void add(struct diag *d, const char *f, ...)
    __attribute__((format(printf, 2, 3)));

/* Append to the remedy. */
static void add(struct diag *d, const char *f, ...)
{
	size_t n = strlen(d->remedy);
	va_list ap;

	if (n + 1 >= sizeof(d->remedy))
		return;
	va_start(ap, f);
	vsnprintf(d->remedy + n, sizeof(d->remedy) - n, f, ap);
	va_end(ap);
}

static const char *or_unknown(const char *s, const char *placeholder)
{
	return s != NULL && s[0] != '\0' ? s : placeholder;
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
	err_fmt(buf, size,
	    "<Object ID from Entra admin center > Enterprise applications > "
	    "app %s > Overview>",
	    in->cred->client_id);
	return buf;
}

static const char *cloud_name(const struct cred *c)
{
	return c->cloud[0] != '\0' ? c->cloud : "global";
}

static const char *hint_of(const struct diag_input *in)
{
	return or_unknown(in->hint, "?");
}

/* The remedy shared by 535 5.7.3 and 430 4.2.0. */
static void exchange_remedy(struct diag *d, const struct diag_input *in)
{
	const struct cred *c = in->cred;
	char ph[256];
	const char *oid = sp_object_id(in, ph, sizeof(ph));

	add(d,
	    "In Exchange Online PowerShell (Connect-ExchangeOnline "
	    "-Organization %s):\n"
	    "1. Register the app's service principal in Exchange:\n"
	    "     New-ServicePrincipal -AppId %s -ObjectId %s\n"
	    "   The ObjectId is the Object ID shown under Enterprise "
	    "applications\n"
	    "   (the service principal), not the one under App "
	    "registrations;\n"
	    "   the wrong one makes authentication fail exactly like "
	    "this.\n"
	    "   Check with: Get-ServicePrincipal | fl\n"
	    "2. Give it access to the mailbox:\n"
	    "     Add-MailboxPermission -Identity %s -User %s "
	    "-AccessRights FullAccess\n"
	    "   (-User takes the service principal: its Object ID, or the "
	    "Identity\n"
	    "   that Get-ServicePrincipal shows.)\n"
	    "3. Make sure Authenticated SMTP is on for the mailbox:\n"
	    "     Get-CASMailbox -Identity %s | fl "
	    "SmtpClientAuthenticationDisabled\n"
	    "     Set-CASMailbox -Identity %s "
	    "-SmtpClientAuthenticationDisabled $false\n"
	    "Changes in Exchange can take up to an hour to apply. Then run: "
	    "secretwatch test %s",
	    c->tenant, c->client_id, oid, c->sender, oid, c->sender, c->sender,
	    c->name);
}

static void consent_remedy(struct diag *d, const struct cred *c)
{
	add(d,
	    "In the Entra admin center > App registrations > app %s > API "
	    "permissions:\n"
	    "  Add a permission > APIs my organization uses > Office 365 "
	    "Exchange Online\n"
	    "  > Application permissions > SMTP.SendAsApp, then \"Grant admin "
	    "consent\"\n"
	    "  for the tenant %s. A new token carries the role once consent "
	    "is granted.\n"
	    "Then run: secretwatch test %s",
	    c->client_id, c->tenant, c->name);
}

static void fill(enum kind k, const struct diag_input *in, struct diag *d,
		 const char *extra)
{
	const struct cred *c = in->cred;
	const char *authority = cloud_authority_url(c);
	const char *smtp_url = cloud_smtp_url(c);
	char roles[512];

	d->transient = false;
	switch (k) {
	case K_TENANT:
		d->step = "tenant";
		d->title = "Tenant ID and cloud";
		err_fmt(d->summary, sizeof(d->summary),
		    "Microsoft Entra ID does not know the tenant '%s' in the "
		    "%s cloud",
		    c->tenant, cloud_name(c));
		add(d,
		    "Check the tenant of credential %s: it is the Directory "
		    "(tenant) ID on the\n"
		    "app registration's Overview page (a GUID), or a verified "
		    "domain such as\n"
		    "contoso.onmicrosoft.com. It is now '%s'.\n"
		    "A tenant in a national cloud also gives this error when "
		    "asked of the wrong\n"
		    "cloud: the credential uses '%s' (%s); choose the cloud "
		    "with --cloud\n"
		    "global|usgov|dod|china when adding it:\n"
		    "  secretwatch cred add %s --tenant <tenant ID> "
		    "--client-id "
		    "%s --sender %s --cloud <cloud>",
		    c->name, c->tenant, cloud_name(c), authority, c->name,
		    c->client_id, c->sender);
		break;
	case K_CLIENT_ID:
		d->step = "client-id";
		d->title = "Application (client) ID";
		err_fmt(d->summary, sizeof(d->summary),
		    "No application with client ID %s exists in the tenant %s",
		    c->client_id, c->tenant);
		add(d,
		    "Copy the Application (client) ID from the Entra admin "
		    "center > App\n"
		    "registrations > your app > Overview; credential %s has "
		    "%s.\n"
		    "If that ID is right, the app is registered in another "
		    "tenant: check the\n"
		    "tenant ID (now %s). An app of another organisation must "
		    "first be consented\n"
		    "to by an administrator of %s.",
		    c->name, c->client_id, c->tenant, c->tenant);
		break;
	case K_APP_DISABLED:
		d->step = "app-disabled";
		d->title = "Enterprise application enabled for sign-in";
		err_fmt(d->summary, sizeof(d->summary),
		    "The application %s is disabled in the tenant %s",
		    c->client_id, c->tenant);
		add(d,
		    "Enable sign-in for the app's service principal: Entra "
		    "admin center >\n"
		    "Enterprise applications > app %s > Properties > "
		    "\"Enabled for users to\n"
		    "sign-in?\" = Yes, and save. Then run: secretwatch test %s",
		    c->client_id, c->name);
		break;
	case K_SECRET_VALUE:
		d->step = "secret-value";
		d->title = "Client secret value";
		err_fmt(d->summary, sizeof(d->summary),
		    "Entra ID rejected the client secret (hint %s) of app %s "
		    "as invalid",
		    hint_of(in), c->client_id);
		add(d,
		    "Use the secret's Value, not its Secret ID: in the Entra "
		    "admin center > App\n"
		    "registrations > app %s > Certificates & secrets, the "
		    "Value is shown only\n"
		    "once, right after the secret is created. If it is lost, "
		    "create a new secret\n"
		    "and register it (the value is read from standard input):\n"
		    "  secretwatch secret add %s --expires YYYY-MM-DD\n"
		    "  secretwatch rotate %s\n"
		    "A secret created minutes ago may not have propagated yet; "
		    "a pending secret\n"
		    "is retried for the switch window before it is marked "
		    "failed.",
		    c->client_id, c->name, c->name);
		break;
	case K_SECRET_EXPIRED:
		d->step = "secret-expired";
		d->title = "Client secret expiry";
		err_fmt(d->summary, sizeof(d->summary),
		    "The client secret (hint %s) of app %s has expired",
		    hint_of(in), c->client_id);
		add(d,
		    "Create a new client secret: Entra admin center > App "
		    "registrations > app\n"
		    "%s > Certificates & secrets > New client secret, and "
		    "copy its Value at\n"
		    "once. Register it (the value is read from standard input; "
		    "use the Expires\n"
		    "date Entra shows) and switch to it:\n"
		    "  secretwatch secret add %s --expires YYYY-MM-DD\n"
		    "  secretwatch rotate %s",
		    c->client_id, c->name, c->name);
		break;
	case K_SECRET_MISSING:
		d->step = "secret-missing";
		d->title = "Client secret value";
		err_fmt(d->summary, sizeof(d->summary),
		    "No client secret was sent with the token request");
		add(d,
		    "Register the secret's value (read from standard input):\n"
		    "  secretwatch secret add %s --expires YYYY-MM-DD",
		    c->name);
		break;
	case K_SCOPE:
		d->step = "scope";
		d->title = "Token scope (cloud)";
		err_fmt(d->summary, sizeof(d->summary),
		    "Entra ID refused the scope %s", cloud_outlook_scope(c));
		add(d,
		    "For SMTP the scope must be the Exchange Online resource "
		    "with /.default:\n"
		    "%s for the %s cloud. secretwatch takes it from the "
		    "credential's\n"
		    "cloud, so check that the tenant %s really is in the %s "
		    "cloud (--cloud\n"
		    "global|usgov|dod|china), and that Office 365 Exchange "
		    "Online exists in it.",
		    cloud_outlook_scope(c), cloud_name(c), c->tenant,
		    cloud_name(c));
		break;
	case K_CA_TOKEN:
	case K_CA_SMTP:
		d->step = "conditional-access";
		d->title = "Conditional Access";
		err_fmt(d->summary, sizeof(d->summary),
		    "A Conditional Access policy blocked app %s%s",
		    c->client_id,
		    k == K_CA_SMTP ? " at SMTP authentication" : "");
		add(d,
		    "Exclude the workload identity (the service principal of "
		    "app %s) from the\n"
		    "blocking Conditional Access policy, or adjust the policy "
		    "(for example its\n"
		    "locations). Entra admin center > Protection > Conditional "
		    "Access; the\n"
		    "service principal sign-in logs show which policy applied.",
		    c->client_id);
		break;
	case K_NETWORK_TOKEN:
	case K_NETWORK_SMTP:
		d->step = "network";
		d->title = "Microsoft or the network";
		d->transient = true;
		if (k == K_NETWORK_TOKEN)
			err_fmt(d->summary, sizeof(d->summary),
			    "The token endpoint %s is throttling, failing or "
			    "out of reach",
			    authority);
		else
			err_fmt(d->summary, sizeof(d->summary),
			    "The SMTP server %s is out of reach or did not "
			    "answer in time",
			    smtp_url);
		add(d,
		    "Nothing to change if it passes later: requests are "
		    "retried with backoff\n"
		    "and reported only when the failure persists. If it "
		    "persists, check DNS,\n"
		    "firewall and proxy on the path to %s, and the Microsoft "
		    "365 service\n"
		    "health. HTTP 429 means too many token requests for this "
		    "app: tokens are\n"
		    "cached until shortly before they expire, so look for "
		    "other programs using\n"
		    "app %s.",
		    k == K_NETWORK_TOKEN ? authority : smtp_url, c->client_id);
		break;
	case K_TOKEN_ENDPOINT:
		d->step = "token-endpoint";
		d->title = "Token endpoint (authority URL)";
		err_fmt(d->summary, sizeof(d->summary),
		    "%s did not answer like a Microsoft token endpoint",
		    authority);
		add(d,
		    "Check the authority URL of credential %s (now %s): it "
		    "is the base only,\n"
		    "such as https://login.microsoftonline.com, without the "
		    "tenant or\n"
		    "/oauth2/v2.0/token. A proxy or captive portal that "
		    "answers HTTPS itself\n"
		    "causes this too.",
		    c->name, authority);
		break;
	case K_TLS_TOKEN:
	case K_TLS_SMTP:
		d->step = "transport";
		d->title = "TLS and transport";
		err_fmt(d->summary, sizeof(d->summary), "TLS with %s failed: %s",
		    k == K_TLS_TOKEN ? authority : smtp_url,
		    or_unknown(extra, "handshake or certificate error"));
		add(d,
		    "TLS is always verified. Check that the host name in %s is "
		    "the one on\n"
		    "the server's certificate and that the system clock is "
		    "right. If a proxy or a\n"
		    "private relay re-signs the traffic, put its CA "
		    "certificate in a PEM file\n"
		    "and set ca_file = PATH in the [tls] section of the config "
		    "(that file then\n"
		    "replaces the system CA bundle).",
		    k == K_TLS_TOKEN ? authority : smtp_url);
		if (k == K_TLS_SMTP)
			add(d, "\nExchange Online takes STARTTLS on port 587 "
			       "(smtp://smtp.office365.com:587)\n"
			       "with TLS 1.2 or newer; port 465 is not "
			       "supported.");
		break;
	case K_OLD_TLS:
	case K_NO_STARTTLS:
		d->step = "transport";
		d->title = "TLS and transport";
		if (k == K_OLD_TLS)
			err_fmt(d->summary, sizeof(d->summary),
			    "The SMTP server %s refused the TLS version",
			    smtp_url);
		else
			err_fmt(d->summary, sizeof(d->summary),
			    "The SMTP server %s did not offer STARTTLS; the "
			    "token is never sent without TLS",
			    smtp_url);
		add(d,
		    "Exchange Online needs STARTTLS with TLS 1.2 or newer on "
		    "port 587\n"
		    "(smtp://smtp.office365.com:587; port 465 is not "
		    "supported). secretwatch\n"
		    "always requires TLS 1.2 or newer, so check that "
		    "--smtp-url "
		    "(now %s)\n"
		    "reaches Exchange Online directly, not a relay or a "
		    "middlebox that strips\n"
		    "STARTTLS.",
		    smtp_url);
		break;
	case K_UNKNOWN_TOKEN:
		d->step = "unknown";
		d->title = "Token request";
		err_fmt(d->summary, sizeof(d->summary),
		    "The token request failed: %s",
		    or_unknown(extra, "no detail"));
		add(d, "Look the AADSTS code up at "
		       "https://login.microsoftonline.com/error?code=<code>\n"
		       "and find the request in the Entra admin center > "
		       "Sign-in logs > Service\n"
		       "principal sign-ins by its correlation ID (see the "
		       "evidence).");
		break;
	case K_NO_ROLE:
		d->step = "api-permission";
		d->title = "API permission and admin consent";
		jwt_roles_str(in->claims, roles, sizeof(roles));
		err_fmt(d->summary, sizeof(d->summary),
		    "The access token of app %s has no SMTP.SendAsApp role "
		    "(roles: %s)",
		    c->client_id, roles[0] ? roles : "none");
		consent_remedy(d, c);
		break;
	case K_535_UNDECODED:
		d->step = "exchange-permission";
		d->title = "Exchange service principal and mailbox permission";
		err_fmt(d->summary, sizeof(d->summary),
		    "Exchange rejected the token for %s; the token could not "
		    "be decoded to tell missing consent from Exchange setup",
		    c->sender);
		add(d, "First check the consent:\n");
		consent_remedy(d, c);
		add(d, "\nThen the Exchange side:\n");
		exchange_remedy(d, in);
		break;
	case K_EXCHANGE_PERMISSION:
		d->step = "exchange-permission";
		d->title = "Exchange service principal and mailbox permission";
		err_fmt(d->summary, sizeof(d->summary),
		    "Exchange rejected a token that has SMTP.SendAsApp: the "
		    "service principal is not registered in Exchange or has "
		    "no access to %s",
		    c->sender);
		exchange_remedy(d, in);
		break;
	case K_LOGON_FAILURE:
		d->step = "exchange-permission";
		d->title = "Exchange service principal and mailbox permission";
		err_fmt(d->summary, sizeof(d->summary),
		    "Exchange could not open the mailbox %s for app %s "
		    "(mailbox logon failure)",
		    c->sender, c->client_id);
		exchange_remedy(d, in);
		break;
	case K_SMTP_AUTH_MAILBOX:
		d->step = "smtp-auth-mailbox";
		d->title = "Authenticated SMTP (mailbox)";
		err_fmt(d->summary, sizeof(d->summary),
		    "Authenticated SMTP is disabled for the mailbox %s",
		    c->sender);
		add(d,
		    "Enable it for the mailbox (Exchange Online PowerShell):\n"
		    "  Set-CASMailbox -Identity %s "
		    "-SmtpClientAuthenticationDisabled $false\n"
		    "  Get-CASMailbox -Identity %s | fl "
		    "SmtpClientAuthenticationDisabled\n"
		    "or in the Microsoft 365 admin center > Users > Active "
		    "users > %s > Mail >\n"
		    "Manage email apps > Authenticated SMTP.",
		    c->sender, c->sender, c->sender);
		break;
	case K_SMTP_AUTH_TENANT:
		d->step = "smtp-auth-tenant";
		d->title = "Authenticated SMTP (organization)";
		err_fmt(d->summary, sizeof(d->summary),
		    "Authenticated SMTP is disabled for the organization, and "
		    "%s has no override",
		    c->sender);
		add(d,
		    "Enable it for this mailbox only (the mailbox setting "
		    "wins):\n"
		    "  Set-CASMailbox -Identity %s "
		    "-SmtpClientAuthenticationDisabled $false\n"
		    "or for the whole organization:\n"
		    "  Set-TransportConfig -SmtpClientAuthenticationDisabled "
		    "$false\n"
		    "Security defaults also turn SMTP AUTH off.",
		    c->sender);
		break;
	case K_SECURITY_DEFAULTS:
		d->step = "security-defaults";
		d->title = "Security defaults";
		err_fmt(d->summary, sizeof(d->summary),
		    "The organization's security defaults block SMTP AUTH for "
		    "%s",
		    c->sender);
		add(d,
		    "Security defaults turn SMTP AUTH off. Either turn them "
		    "off (Entra admin\n"
		    "center > Overview > Properties > Manage security "
		    "defaults) in favour of\n"
		    "Conditional Access policies, or keep them and send "
		    "another "
		    "way. Then enable\n"
		    "Authenticated SMTP for the mailbox:\n"
		    "  Set-CASMailbox -Identity %s "
		    "-SmtpClientAuthenticationDisabled $false",
		    c->sender);
		break;
	case K_SMTP_AUTH:
		d->step = "smtp-auth";
		d->title = "Authenticated SMTP";
		err_fmt(d->summary, sizeof(d->summary),
		    "Exchange refused SMTP authentication for %s by policy",
		    c->sender);
		add(d,
		    "Check that Authenticated SMTP is enabled for the mailbox "
		    "and the\n"
		    "organization, and that no Conditional Access policy or "
		    "security defaults\n"
		    "block it:\n"
		    "  Get-CASMailbox -Identity %s | fl "
		    "SmtpClientAuthenticationDisabled\n"
		    "  Get-TransportConfig | fl "
		    "SmtpClientAuthenticationDisabled\n"
		    "  Set-CASMailbox -Identity %s "
		    "-SmtpClientAuthenticationDisabled $false",
		    c->sender, c->sender);
		break;
	case K_NOT_AUTHENTICATED:
	case K_NO_XOAUTH2:
		d->step = "smtp-not-authenticated";
		d->title = "SMTP authentication (XOAUTH2)";
		if (k == K_NOT_AUTHENTICATED)
			err_fmt(d->summary, sizeof(d->summary),
			    "The server took no XOAUTH2 authentication, so "
			    "the send was refused as unauthenticated");
		else
			err_fmt(d->summary, sizeof(d->summary),
			    "The server did not accept AUTH XOAUTH2 after "
			    "STARTTLS%s%s",
			    extra != NULL ? ": " : "",
			    extra != NULL ? extra : "");
		add(d,
		    "The server must offer AUTH XOAUTH2 after STARTTLS, as "
		    "Exchange Online does\n"
		    "on smtp://smtp.office365.com:587. Check --smtp-url (now "
		    "%s): a relay or\n"
		    "another provider does not take Microsoft tokens. The "
		    "XOAUTH2 user is the\n"
		    "sender mailbox (now %s).",
		    smtp_url, c->sender);
		break;
	case K_SEND_AS:
		d->step = "send-as";
		d->title = "Sender address (Send As)";
		err_fmt(d->summary, sizeof(d->summary),
		    "Exchange refused to send as the address used: it is not "
		    "the mailbox %s the app authenticated as, and no Send As "
		    "permission covers it",
		    c->sender);
		{
			char ph[256];
			const char *oid = sp_object_id(in, ph, sizeof(ph));

			add(d,
			    "Send as the mailbox the app authenticates as "
			    "(%s), in both MAIL FROM\n"
			    "and the From: header, or grant Send As on the "
			    "address used:\n"
			    "  Add-RecipientPermission -Identity <address "
			    "sent as> -Trustee %s -AccessRights SendAs\n"
			    "(-Trustee is the app's service principal; the "
			    "mailbox %s also needs\n"
			    "  Add-MailboxPermission -Identity %s -User %s "
			    "-AccessRights FullAccess)",
			    c->sender, oid, c->sender, c->sender, oid);
		}
		break;
	case K_CONCURRENCY:
		d->step = "smtp-concurrency";
		d->title = "Connections per mailbox";
		d->transient = true;
		err_fmt(d->summary, sizeof(d->summary),
		    "More than 3 connections were sending as %s at once",
		    c->sender);
		add(d,
		    "Exchange Online allows at most 3 concurrent connections "
		    "per mailbox. The\n"
		    "test is retried later; if this persists, other programs "
		    "are sending as\n"
		    "%s at the same time.",
		    c->sender);
		break;
	case K_RESTRICTED:
		d->step = "sender-restricted";
		d->title = "Sender restrictions";
		err_fmt(d->summary, sizeof(d->summary),
		    "%s is blocked from sending (restricted senders)",
		    c->sender);
		add(d,
		    "The mailbox is on the restricted entities list, usually "
		    "after outbound\n"
		    "spam. Microsoft Defender portal > Email & collaboration > "
		    "Review >\n"
		    "Restricted entities: release %s, and find out why it was "
		    "blocked.",
		    c->sender);
		break;
	case K_QUOTA:
		d->step = "sending-limit";
		d->title = "Sending limits";
		d->transient = true;
		err_fmt(d->summary, sizeof(d->summary),
		    "%s has reached an Exchange Online sending limit",
		    c->sender);
		add(d,
		    "Exchange Online limits a mailbox to 30 messages a minute "
		    "and 10,000\n"
		    "recipients a day. Wait for the limit to reset, and look "
		    "for other programs\n"
		    "sending as %s.",
		    c->sender);
		break;
	case K_SMTP_CONFIG:
		d->step = "smtp-config";
		d->title = "SMTP settings";
		if (extra != NULL && strncmp(extra, "not sent: ", 10) == 0)
			extra += 10;
		err_fmt(d->summary, sizeof(d->summary),
		    "The test send was not made: %s",
		    or_unknown(extra, "bad settings"));
		add(d,
		    "Check the credential's sender (now '%s'), test address "
		    "and --smtp-url (now\n"
		    "%s).",
		    c->sender, smtp_url);
		break;
	case K_UNKNOWN_SMTP:
		d->step = "unknown";
		d->title = "Test send";
		err_fmt(d->summary, sizeof(d->summary), "The test send failed: %s",
		    or_unknown(extra, "no detail"));
		add(d, "No known cause matches this failure. The evidence has "
		       "the server's reply;\n"
		       "look its code and enhanced status up in Microsoft's "
		       "\"Fix issues with printers,\n"
		       "scanners, and LOB applications that send email using "
		       "Microsoft 365\".");
		break;
	}
}

static void reset(struct diag *d)
{
	memset(d, 0, sizeof(*d));
	d->step = "unknown";
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
};

static void token_evidence(const struct entra_result *r, struct diag *d)
{
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
		    r->error, r->http_status, r->error_description, ids);
	else if (r->error[0] != '\0')
		err_fmt(d->evidence, sizeof(d->evidence), "%s (HTTP %ld): %s%s",
		    r->error, r->http_status, r->error_description, ids);
	else if (r->http_status != 0)
		err_fmt(d->evidence, sizeof(d->evidence), "%s%s%.0ld%s", r->summary,
		    r->retry_after_s > 0 ? " (Retry-After " : "",
		    r->retry_after_s, r->retry_after_s > 0 ? " s)" : "");
	else
		err_fmt(d->evidence, sizeof(d->evidence), "curl %d: %s",
		    r->curl_code, r->curl_error);
}

void diag_token(const struct diag_input *in, const struct entra_result *r,
		struct diag *ret)
{
	enum kind k = K_UNKNOWN_TOKEN;
	bool matched = false;

	reset(ret);
	if (r->n_error_codes > 0) {
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
	if (!matched) {
		if (r->http_status == 0 && net_curl_tls_error(r->curl_code))
			k = K_TLS_TOKEN;
		else if (r->transient || r->http_status == 429 ||
			 r->http_status >= 500)
			k = K_NETWORK_TOKEN;
		else if (r->http_status == 0 &&
			 r->curl_code == CURLE_UNSUPPORTED_PROTOCOL)
			k = K_TOKEN_ENDPOINT;
		else if (r->http_status == 0 && r->curl_code != 0)
			k = K_NETWORK_TOKEN;
		else if (r->error[0] == '\0' && r->http_status != 0)
			k = K_TOKEN_ENDPOINT;
	}
	fill(k, in, ret, k == K_TLS_TOKEN ? r->curl_error : r->summary);
	/* Whatever the class, a reply the server marks as transient is. */
	if (r->transient)
		ret->transient = true;
	token_evidence(r, ret);
}

void diag_claims(const struct diag_input *in, struct diag *ret)
{
	char roles[512];

	reset(ret);
	fill(K_NO_ROLE, in, ret, NULL);
	jwt_roles_str(in->claims, roles, sizeof(roles));
	if (in->claims != NULL)
		err_fmt(ret->evidence, sizeof(ret->evidence),
		    "token claims: aud %s, appid %s, oid %s, roles [%s]",
		    or_unknown(in->claims->aud, "-"),
		    or_unknown(in->claims->appid, "-"),
		    or_unknown(in->claims->oid, "-"), roles);
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

void diag_smtp(const struct diag_input *in, const struct smtp_result *r,
	       struct diag *ret)
{
	const struct smtp_reply *rep = &r->last;
	bool negative = rep->code >= 400;
	enum kind k = K_UNKNOWN_SMTP;
	bool matched = false;

	reset(ret);
	if (negative) {
		for (size_t i = 0;
		     i < sizeof(smtp_rules) / sizeof(smtp_rules[0]); i++) {
			if (rule_matches(&smtp_rules[i], rep)) {
				k = smtp_rules[i].kind;
				matched = true;
				break;
			}
		}
		if (k == K_EXCHANGE_PERMISSION) {
			if (in->claims == NULL)
				k = K_535_UNDECODED;
			else if (!jwt_has_role(in->claims, "SMTP.SendAsApp"))
				k = K_NO_ROLE;
		}
		if (!matched && r->stage == SMTP_STAGE_STARTTLS)
			k = K_NO_STARTTLS; /* STARTTLS refused */
		else if (!matched && rep->code < 500)
			ret->transient = true;
	} else if (r->n_replies == 0 && r->curl_code == 0) {
		k = K_SMTP_CONFIG; /* refused before connecting */
	} else if (r->curl_code == CURLE_USE_SSL_FAILED) {
		k = K_NO_STARTTLS;
	} else if (net_curl_tls_error(r->curl_code)) {
		k = K_TLS_SMTP;
	} else if (r->curl_code == CURLE_LOGIN_DENIED) {
		k = K_NO_XOAUTH2;
	} else if (net_curl_transient(r->curl_code)) {
		k = K_NETWORK_SMTP;
	}

	{
		bool transient = ret->transient;

		fill(k, in, ret,
		     k == K_TLS_SMTP ? r->curl_error
		     : k == K_NO_XOAUTH2 && !negative
			 ? (r->auth_offered ? r->auth_mechs
					    : "it offered no AUTH")
			 : r->summary);
		ret->transient = ret->transient || transient;
	}

	if (negative)
		err_fmt(ret->evidence, sizeof(ret->evidence), "%s (at %s)",
		    rep->line, smtp_stage_name(r->stage));
	else if (r->curl_code != 0)
		err_fmt(ret->evidence, sizeof(ret->evidence),
		    "curl %d at %s: %s%s%s", r->curl_code,
		    smtp_stage_name(r->stage), r->curl_error,
		    rep->line[0] ? "; last reply: " : "", rep->line);
	else
		err_fmt(ret->evidence, sizeof(ret->evidence), "%s", r->summary);
}
