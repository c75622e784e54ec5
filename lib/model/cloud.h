/* cloud.h - endpoint profiles of the Microsoft clouds (docs/PROTOCOL.md §2). */
#ifndef SW_CLOUD_H
#define SW_CLOUD_H

#include "cred.h"

struct cloud {
	const char *name;	   /* global, usgov, dod, china */
	const char *authority_url; /* token endpoint base, no tenant */
	const char *outlook_scope; /* .default scope for SMTP */
	const char *smtp_url;	   /* smtp://HOST:587, always STARTTLS */
	const char *graph_url;	   /* Graph base, requests go to /v1.0/... */
	const char *graph_scope;
};

/* The profile named name, or NULL when there is none. */
const struct cloud *cloud_find(const char *name);

/* The endpoints a credential uses: its overrides, else its cloud's. */
const char *cloud_authority_url(const struct cred *c);
const char *cloud_smtp_url(const struct cred *c);
const char *cloud_graph_url(const struct cred *c);
const char *cloud_outlook_scope(const struct cred *c);

#endif
