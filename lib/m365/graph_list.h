/* graph_list.h - a tenant's applications and service principals, read
 * page by page through Microsoft Graph (docs/PROTOCOL.md §4.6), and each
 * object's credentials as the inventory keeps them: metadata only (never
 * a value), a SAML token-signing certificate (a Sign and a Verify
 * keyCredential and the PFX's passwordCredential) as one item.
 *
 * A page is read whole (it carries no secret) and its objects are parsed
 * one at a time, so memory holds one page and one object, however large
 * the tenant.
 */
#ifndef SW_GRAPH_LIST_H
#define SW_GRAPH_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cred.h"
#include "graph.h"
#include "jwt.h"

/* Microsoft's own service principals (appOwnerOrganizationId). */
#define GRAPH_MICROSOFT_TENANT "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
/* The page size asked for: Graph's largest. */
#define GRAPH_LIST_TOP 999
/* A page larger than this is not a page asked for. */
#define GRAPH_LIST_PAGE_MAX (32 * 1024 * 1024)
#define GRAPH_ITEMS_MAX	    64
#define GRAPH_OWNERS_MAX    16

enum graph_collection {
	GRAPH_APPLICATIONS,
	GRAPH_SERVICE_PRINCIPALS,
};

/* "application", "servicePrincipal". */
const char *graph_collection_name(enum graph_collection c);

/* One credential of an object, as the inventory keeps it. */
struct graph_item {
	char key_id[CRED_GUID_LEN + 1];
	enum secret_kind kind;
	char usage[8];		       /* "Verify", "Sign"; "" for a secret */
	char name[GRAPH_NAME_MAX + 1]; /* its display name; "" */
	char hint[4];		       /* a secret's hint; "" */
	char thumbprint[41];	       /* a certificate's SHA-1; "" */
	int64_t start;
	int64_t end;
	bool saml; /* a SAML token-signing certificate */
};

/* An application or a service principal and its credentials. */
struct graph_object {
	enum graph_collection kind;
	char id[CRED_GUID_LEN + 1]; /* object ID */
	char app_id[CRED_GUID_LEN + 1];
	char display_name[GRAPH_NAME_MAX + 1];
	bool microsoft; /* a service principal of Microsoft's own */
	size_t n_items;
	struct graph_item items[GRAPH_ITEMS_MAX];
	bool truncated; /* it had more than GRAPH_ITEMS_MAX */
};

/* Called for each object of a page, then with o NULL when the page's
 * objects are all told (graph_list: before the next page is asked for);
 * a non-zero return stops the listing (returned as it is). */
typedef int (*graph_object_fn)(void *arg, const struct graph_object *o);

/* One object (the JSON text of an element of a page's "value") into
 * *ret, its SAML rows folded into one item. Returns 0, or -1 when it is
 * not an object with an id (skipped). */
int graph_parse_object(const char *json, size_t len, enum graph_collection c,
		       struct graph_object *ret);

/* Parse the len bytes of a page: fn for each object of its "value", in
 * order, and its "@odata.nextLink" into *ret_next (malloc'd; NULL on the
 * last page). Returns 0, fn's non-zero return, or -1 with e when the
 * page is not a Graph collection. */
int graph_parse_page(const char *body, size_t len, enum graph_collection c,
		     graph_object_fn fn, void *arg, char **ret_next,
		     struct err *e);

/* How a listing went. */
struct graph_list_stats {
	int pages;
	int requests;
	long waited_ms; /* throttled, or slowed down near the limit */
	int objects;
};

/* Page through collection c with $select of what the inventory keeps and
 * $top=GRAPH_LIST_TOP, following @odata.nextLink (only on g's own Graph
 * endpoint) to the end (or max_pages of them; 0: all), fn for each
 * object. 429 and 503 are retried as
 * graph_http retries; Graph's "concurrent requests" refusal
 * (Directory_ConcurrencyViolation) is waited out and asked again; above
 * 80% of the throttle limit the next page waits. Returns 0 when every
 * page was read, fn's non-zero return, or -1 with res saying why (the
 * listing is then incomplete: nothing may be concluded from what it did
 * not list). st may be NULL. */
int graph_list(const struct graph_ctx *g, enum graph_collection c,
	       int max_pages, graph_object_fn fn, void *arg,
	       struct graph_list_stats *st, struct graph_result *res);

/* Whether a token with claims c may list the tenant's applications and
 * service principals: Application.Read.All, or a role that includes it
 * (Application.ReadWrite.All, Directory.Read.All,
 * Directory.ReadWrite.All). */
bool graph_reads_tenant(const struct jwt_claims *c);

/* Whether it may read owners' mail addresses too (User.Read.All, or a
 * role that includes it). */
bool graph_reads_users(const struct jwt_claims *c);

/* One owner of an object. */
struct graph_owner {
	char id[CRED_GUID_LEN + 1];
	char name[GRAPH_NAME_MAX + 1];
	char mail[CRED_MAILBOX_MAX + 1]; /* "" when Graph gave none: no
					    User.Read.All, or no mailbox */
	bool user;			 /* a user (not an application) */
};

/* GET .../{id}/owners of object id of collection c, at most max into
 * ret, their number in *ret_n. Returns 0, or -1 with res. */
int graph_owners(const struct graph_ctx *g, enum graph_collection c,
		 const char *id, struct graph_owner *ret, size_t max,
		 size_t *ret_n, struct graph_result *res);

#endif
