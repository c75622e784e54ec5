/* graph_list.c - a tenant's applications and service principals, page by
 * page (graph_list.h). */
#include "graph_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "graph_impl.h"
#include "net.h"
#include "secmem.h"

/* Waits above this share of the throttle limit (1.0 = at it). */
#define THROTTLE_SLOW	 0.8
#define THROTTLE_WAIT_MS 1000L
/* How often a "concurrent requests" refusal is asked again. */
#define CONCURRENCY_TRIES   5
#define CONCURRENCY_WAIT_MS 2000L

const char *graph_collection_name(enum graph_collection c)
{
	return c == GRAPH_APPLICATIONS ? "application" : "servicePrincipal";
}

/* ------------------------------------------------------------------ */
/* Scanning a page: the elements of its "value", one at a time */

static const char *ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* The end of the string at p (after its closing quote), or NULL. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* The end of the JSON value at p, or NULL when it does not end or is
 * empty (a stray closer or comma where a value belongs). */
static const char *skip_value(const char *p, const char *end)
{
	const char *start = p;
	int depth = 0;

	if (p < end && *p == '"')
		return skip_string(p, end);
	if (p < end && *p != '{' && *p != '[') {
		while (p < end && strchr(",}] \t\r\n", *p) == NULL)
			p++;
		return p > start ? p : NULL;
	}
	while (p < end) {
		if (*p == '"') {
			if ((p = skip_string(p, end)) == NULL)
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

struct page_scan {
	enum graph_collection c;
	graph_object_fn fn;
	void *arg;
	struct graph_object *obj;
	char *next;
	int rc;
};

/* Each element of the array at p; the end of the array, or NULL. */
static const char *each_element(struct page_scan *ps, const char *p,
				const char *end)
{
	const char *q;

	for (p = ws(p + 1, end); p < end && *p != ']';) {
		if ((q = skip_value(p, end)) == NULL)
			return NULL;
		if (ps->rc == 0 &&
		    graph_parse_object(p, (size_t)(q - p), ps->c, ps->obj) == 0)
			ps->rc = ps->fn(ps->arg, ps->obj);
		p = ws(q, end);
		if (p < end && *p == ',')
			p = ws(p + 1, end);
		else if (p < end && *p != ']')
			return NULL;
	}
	return p < end ? p + 1 : NULL;
}

/* The nextLink's string (the JSON token at p..q), unescaped, malloc'd. */
static char *json_string(const char *p, const char *q)
{
	cJSON *s = cJSON_ParseWithLength(p, (size_t)(q - p));
	char *out = cJSON_IsString(s) ? strdup(s->valuestring) : NULL;

	cJSON_Delete(s);
	return out;
}

static bool key_is(const char *k, const char *kend, const char *name)
{
	size_t n = strlen(name);

	return (size_t)(kend - k) == n + 2 && memcmp(k + 1, name, n) == 0;
}

/* One member of the page object at p; its end, or NULL. */
static const char *member(struct page_scan *ps, const char *p, const char *end,
			  bool *ret_value)
{
	const char *k = p, *kend = skip_string(p, end), *q;

	if (kend == NULL || (p = ws(kend, end)) >= end || *p != ':')
		return NULL;
	p = ws(p + 1, end);
	if (key_is(k, kend, "value") && p < end && *p == '[') {
		*ret_value = true;
		return each_element(ps, p, end);
	}
	if ((q = skip_value(p, end)) != NULL &&
	    key_is(k, kend, "@odata.nextLink") && ps->next == NULL)
		ps->next = json_string(p, q);
	return q;
}

int graph_parse_page(const char *body, size_t len, enum graph_collection c,
		     graph_object_fn fn, void *arg, char **ret_next,
		     struct err *e)
{
	struct page_scan ps = {c, fn, arg, calloc(1, sizeof(*ps.obj)), NULL, 0};
	const char *p = ws(body, body + len), *end = body + len;
	bool value = false;

	*ret_next = NULL;
	if (ps.obj == NULL || p >= end || *p != '{')
		goto bad;
	for (p = ws(p + 1, end); p < end && *p == '"';) {
		if ((p = member(&ps, p, end, &value)) == NULL)
			goto bad;
		p = ws(p, end);
		if (p < end && *p == ',')
			p = ws(p + 1, end);
	}
	if (p >= end || *p != '}' || !value)
		goto bad;
	free(ps.obj);
	*ret_next = ps.next;
	return ps.rc;
bad:
	free(ps.obj);
	free(ps.next);
	err_set(e, "the page is not a Graph collection (no \"value\" array)");
	return -1;
}

/* ------------------------------------------------------------------ */
/* One object */

static void add_secret(struct graph_object *o, const struct graph_password *p)
{
	struct graph_item *it = &o->items[o->n_items++];

	memset(it, 0, sizeof(*it));
	it->kind = SECRET_KIND_SECRET;
	memcpy(it->key_id, p->key_id, sizeof(it->key_id));
	snprintf(it->name, sizeof(it->name), "%s", p->display_name);
	memcpy(it->hint, p->hint, sizeof(it->hint));
	it->start = p->start;
	it->end = p->end;
}

static void add_key(struct graph_object *o, const struct graph_key *k)
{
	struct graph_item *it = &o->items[o->n_items++];

	memset(it, 0, sizeof(*it));
	it->kind = SECRET_KIND_CERTIFICATE;
	memcpy(it->key_id, k->key_id, sizeof(it->key_id));
	snprintf(it->name, sizeof(it->name), "%s", k->display_name);
	snprintf(it->usage, sizeof(it->usage), "%s", k->usage);
	memcpy(it->thumbprint, k->thumbprint, sizeof(it->thumbprint));
	it->start = k->start;
	it->end = k->end;
}

/* The SAML item (a Sign key) of o with thumbprint t, or NULL. */
static struct graph_item *saml_by(struct graph_object *o, const char *t,
				  int64_t end)
{
	for (size_t i = 0; i < o->n_items; i++) {
		struct graph_item *it = &o->items[i];
		if (!it->saml)
			continue;
		if ((t != NULL && t[0] && strcmp(it->thumbprint, t) == 0) ||
		    (t == NULL && it->end == end))
			return it;
	}
	return NULL;
}

/* keyCredentials: a Sign key is a SAML token-signing certificate, and
 * the Verify key with its thumbprint is the same certificate. */
static void keys_of(const cJSON *list, struct graph_object *o)
{
	const cJSON *it;
	struct graph_key k;

	for (int sign = 1; sign >= 0; sign--)
		cJSON_ArrayForEach(it, list)
		{
			if (graph_parse_key(it, &k) != 0 ||
			    (strcmp(k.usage, "Sign") == 0) != sign ||
			    (!sign && o->kind == GRAPH_SERVICE_PRINCIPALS &&
			     saml_by(o, k.thumbprint, 0) != NULL))
				continue;
			if (o->n_items == GRAPH_ITEMS_MAX) {
				o->truncated = true;
				return;
			}
			add_key(o, &k);
			o->items[o->n_items - 1].saml =
			    sign && o->kind == GRAPH_SERVICE_PRINCIPALS;
		}
}

/* passwordCredentials: on a service principal, one that ends with a
 * SAML certificate is its PFX's password: the same item. */
static void secrets_of(const cJSON *list, struct graph_object *o)
{
	const cJSON *it;
	struct graph_password p;

	cJSON_ArrayForEach(it, list)
	{
		if (graph_parse_password(it, &p) != 0 ||
		    (o->kind == GRAPH_SERVICE_PRINCIPALS && p.end != 0 &&
		     saml_by(o, NULL, p.end) != NULL))
			continue;
		if (o->n_items == GRAPH_ITEMS_MAX) {
			o->truncated = true;
			return;
		}
		add_secret(o, &p);
	}
}

int graph_parse_object(const char *json, size_t len, enum graph_collection c,
		       struct graph_object *ret)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const char *id = graph_json_str(root, "id"),
		   *owner = graph_json_str(root, "appOwnerOrganizationId");
	int rc = -1;

	memset(ret, 0, offsetof(struct graph_object, items));
	ret->kind = c;
	if (cJSON_IsObject(root) && graph_guid_ok(id)) {
		graph_copy_str(ret->id, sizeof(ret->id), id);
		graph_copy_str(ret->app_id, sizeof(ret->app_id),
			       graph_json_str(root, "appId"));
		graph_copy_str(ret->display_name, sizeof(ret->display_name),
			       graph_json_str(root, "displayName"));
		ret->microsoft = owner != NULL &&
				 strcasecmp(owner, GRAPH_MICROSOFT_TENANT) == 0;
		keys_of(
		    cJSON_GetObjectItemCaseSensitive(root, "keyCredentials"),
		    ret);
		secrets_of(cJSON_GetObjectItemCaseSensitive(
			       root, "passwordCredentials"),
			   ret);
		rc = 0;
	}
	cJSON_Delete(root);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Paging */

static const char *const selects[] = {
    [GRAPH_APPLICATIONS] = "/applications?$select=id,appId,displayName,"
			   "passwordCredentials,keyCredentials&$top=999",
    [GRAPH_SERVICE_PRINCIPALS] =
	"/servicePrincipals?$select=id,appId,displayName,"
	"appOwnerOrganizationId,passwordCredentials,keyCredentials&$top=999",
};

/* A nextLink is followed only on g's own Graph endpoint: the token goes
 * nowhere else. */
static bool ours(const struct graph_ctx *g, const char *url)
{
	char *base = graph_v1_url(g->cred, "/");
	bool ok = base != NULL && strncmp(url, base, strlen(base)) == 0;

	free(base);
	return ok;
}

static bool concurrency(const struct graph_result *res)
{
	return (res->http_status == 400 || res->http_status == 409) &&
	       strcasecmp(res->code, "Directory_ConcurrencyViolation") == 0;
}

static void wait_ms(const struct graph_ctx *g, long ms,
		    struct graph_list_stats *st)
{
	static const struct entra_retry defaults = ENTRA_RETRY_DEFAULT;

	entra_retry_sleep(g->retry != NULL ? g->retry : &defaults, ms);
	st->waited_ms += ms;
}

/* GET one page, a "concurrent requests" refusal asked again. */
static long get_page(const struct graph_ctx *g, const char *url,
		     struct graph_list_stats *st, struct graph_result *res,
		     struct secbuf *body)
{
	long status = 0;

	for (int i = 0; i < CONCURRENCY_TRIES; i++) {
		status = graph_get(g, "listing the tenant", url,
				   GRAPH_LIST_PAGE_MAX, res, body);
		st->requests += res->attempts > 0 ? res->attempts : 1;
		st->waited_ms += res->waited_ms;
		if (!concurrency(res))
			break;
		secbuf_free(body);
		wait_ms(g, CONCURRENCY_WAIT_MS * (i + 1), st);
	}
	return status;
}

struct counting {
	graph_object_fn fn;
	void *arg;
	int *objects;
};

static int count_one(void *arg, const struct graph_object *o)
{
	struct counting *c = arg;

	(*c->objects)++;
	return c->fn(c->arg, o);
}

/* One page at url: objects to fn, its nextLink into *next. */
static int one_page(const struct graph_ctx *g, enum graph_collection c,
		    const char *url, struct counting *cn, char **next,
		    struct graph_list_stats *st, struct graph_result *res)
{
	struct secbuf body = {0};
	struct err e;
	long status = get_page(g, url, st, res, &body);
	int rc = -1;

	if (status == 200) {
		st->pages++;
		rc = graph_parse_page(body.p, body.len, c, count_one, cn, next,
				      &e);
		if (rc < 0)
			err_fmt(res->summary, sizeof(res->summary),
				"listing the tenant: %s", e.msg);
	}
	secbuf_free(&body);
	if (rc == 0)
		rc = cn->fn(cn->arg, NULL); /* the page is done */
	if (rc == 0 && *next != NULL && !ours(g, *next)) {
		err_fmt(res->summary, sizeof(res->summary),
			"listing the tenant: Graph's next page is not on its "
			"own endpoint; not followed");
		rc = -1;
	}
	return rc;
}

int graph_list(const struct graph_ctx *g, enum graph_collection c,
	       int max_pages, graph_object_fn fn, void *arg,
	       struct graph_list_stats *st, struct graph_result *res)
{
	struct graph_list_stats local = {0};
	struct counting cn = {fn, arg, NULL};
	char *url = graph_v1_url(g->cred, selects[c]), *next = NULL;
	int rc = 0;

	st = st != NULL ? st : &local;
	cn.objects = &st->objects;
	memset(res, 0, sizeof(*res));
	while (rc == 0 && url != NULL) {
		rc = one_page(g, c, url, &cn, &next, st, res);
		free(url);
		url = next;
		next = NULL;
		if (max_pages > 0 && st->pages >= max_pages)
			break;
		if (rc == 0 && url != NULL && res->throttle_pct > THROTTLE_SLOW)
			wait_ms(g, THROTTLE_WAIT_MS, st);
	}
	free(url);
	if (rc == 0)
		res->ok = true;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Owners */

static void parse_owner(const cJSON *o, struct graph_owner *ret)
{
	const char *type = graph_json_str(o, "@odata.type");

	memset(ret, 0, sizeof(*ret));
	graph_copy_str(ret->id, sizeof(ret->id), graph_json_str(o, "id"));
	graph_copy_str(ret->name, sizeof(ret->name),
		       graph_json_str(o, "displayName"));
	graph_copy_str(ret->mail, sizeof(ret->mail), graph_json_str(o, "mail"));
	ret->user = type != NULL && strcmp(type, "#microsoft.graph.user") == 0;
}

int graph_owners(const struct graph_ctx *g, enum graph_collection c,
		 const char *id, struct graph_owner *ret, size_t max,
		 size_t *ret_n, struct graph_result *res)
{
	char path[160], *url;
	struct secbuf body = {0};
	cJSON *root = NULL;
	const cJSON *it;
	long status;

	*ret_n = 0;
	snprintf(path, sizeof(path),
		 "/%s/%s/owners?$select=id,displayName,mail,"
		 "userPrincipalName",
		 c == GRAPH_APPLICATIONS ? "applications" : "servicePrincipals",
		 graph_guid_ok(id) ? id : "-");
	url = graph_v1_url(g->cred, path);
	status = graph_get(g, "reading the owners", url, 0, res, &body);
	free(url);
	if (status == 200)
		root = cJSON_ParseWithLength(body.p, body.len);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "value"))
	{
		if (*ret_n < max)
			parse_owner(it, &ret[(*ret_n)++]);
	}
	secbuf_free(&body);
	if (status == 200 && root == NULL)
		err_fmt(res->summary, sizeof(res->summary),
			"reading the owners: HTTP 200 without a JSON object");
	res->ok = root != NULL;
	cJSON_Delete(root);
	return res->ok ? 0 : -1;
}

static bool has_any(const struct jwt_claims *c, const char *const *roles)
{
	for (; *roles != NULL; roles++)
		if (jwt_has_role(c, *roles))
			return true;
	return false;
}

bool graph_reads_tenant(const struct jwt_claims *c)
{
	static const char *const roles[] = {
	    "Application.Read.All", "Application.ReadWrite.All",
	    "Directory.Read.All", "Directory.ReadWrite.All", NULL};

	return has_any(c, roles);
}

bool graph_reads_users(const struct jwt_claims *c)
{
	static const char *const roles[] = {
	    "User.Read.All", "User.ReadWrite.All", "Directory.Read.All",
	    "Directory.ReadWrite.All", NULL};

	return has_any(c, roles);
}
