/* cloud.h - endpoint profiles of the Microsoft clouds (docs/PROTOCOL.md §2). */
#ifndef SW_CLOUD_H
#define SW_CLOUD_H

#include <stdbool.h>
#include <stddef.h>

#include "cred.h"

struct cloud {
	const char *name;	   /* global, usgov, dod, china */
	const char *authority_url; /* token endpoint base, no tenant */
	const char *outlook_scope; /* .default scope for SMTP */
	const char *smtp_url;	   /* smtp://HOST:587, always STARTTLS */
	const char *graph_url;	   /* Graph base, requests go to /v1.0/... */
	const char *graph_scope;
	const char *portal_url; /* the Azure portal, for links to people */
};

/* The profile named name, or NULL when there is none. */
const struct cloud *cloud_find(const char *name);

/* The endpoints a credential uses: its overrides, else its cloud's. */
const char *cloud_authority_url(const struct cred *c);
const char *cloud_smtp_url(const struct cred *c);
const char *cloud_graph_url(const struct cred *c);
const char *cloud_outlook_scope(const struct cred *c);
const char *cloud_graph_scope(const struct cred *c);
/* The scope of the token c's tests get and its cache keeps: Exchange
 * Online's, or Graph's for a reader without a mailbox
 * (cred_reads_only). */
const char *cloud_token_scope(const struct cred *c);

/* A link for people to an application's credentials in the portal of
 * c's cloud: an app registration's "Certificates & secrets", or an
 * enterprise application's (service_principal) single sign-on page with
 * its SAML certificates. out is always NUL-terminated. */
void cloud_credentials_link(const struct cred *c, bool service_principal,
			    const char *object_id, const char *app_id,
			    char *out, size_t size);

#endif
