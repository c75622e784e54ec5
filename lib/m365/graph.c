#include "graph.h"
#include "graph_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cloud.h"
#include "secmem.h"
#include "text.h"
#include "timefmt.h"
#include "validate.h"

/* ------------------------------------------------------------------ */
/* Parsers */

void graph_copy_str(char *dst, size_t dstsz, const char *src)
{
	text_oneline(dst, dstsz, src, src != NULL ? strlen(src) : 0);
}

const char *graph_json_str(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

int graph_parse_time(const char *s, int64_t *ret)
{
	char buf[48];
	const char *p;
	size_t n, frac = 0;
	struct err e;

	if (s == NULL || (n = strlen(s)) < 19 || n >= sizeof(buf) - 1 ||
	    s[0] == '+' || (s[10] != 'T' && s[10] != 't'))
		return -1;
	p = s + 19;
	if (*p == '.') {
		while (p[1 + frac] >= '0' && p[1 + frac] <= '9')
			frac++;
		if (frac == 0 || frac > 7)
			return -1;
		p += 1 + frac;
	}
	memcpy(buf, s, n + 1);
	if (*p == '\0') /* no zone: Graph means UTC */
		memcpy(buf + n, "Z", 2);
	return timefmt_parse_when(buf, 0, ret, &e);
}

static void summarise(const char *what, struct graph_result *res)
{
	if (res->code[0] != '\0')
		err_fmt(res->summary, sizeof(res->summary),
			"%s: HTTP %ld %s: %s", what, res->http_status,
			res->code,
			res->message[0] ? res->message : "no message");
	else
		err_fmt(res->summary, sizeof(res->summary),
			"%s: HTTP %ld without a Graph error body%s", what,
			res->http_status,
			res->retry_after_s > 0 ? " (throttled)" : "");
}

void graph_parse_error(const char *what, long status, const char *body,
		       size_t len, struct graph_result *res)
{
	cJSON *root = NULL;
	const cJSON *err, *inner;

	res->ok = false;
	res->http_status = status;
	res->transient = status == 429 || status >= 500;
	res->code[0] = res->message[0] = res->inner_code[0] = '\0';
	res->request_id[0] = res->date[0] = '\0';
	if (body != NULL && len > 0 && len <= GRAPH_BODY_MAX)
		root = cJSON_ParseWithLength(body, len);
	err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (cJSON_IsObject(err)) {
		graph_copy_str(res->code, sizeof(res->code),
			       graph_json_str(err, "code"));
		graph_copy_str(res->message, sizeof(res->message),
			       graph_json_str(err, "message"));
		inner = cJSON_GetObjectItemCaseSensitive(err, "innerError");
		if (!cJSON_IsObject(inner))
			inner =
			    cJSON_GetObjectItemCaseSensitive(err, "innererror");
		graph_copy_str(res->inner_code, sizeof(res->inner_code),
			       graph_json_str(inner, "code"));
		graph_copy_str(res->request_id, sizeof(res->request_id),
			       graph_json_str(inner, "request-id"));
		graph_copy_str(res->date, sizeof(res->date),
			       graph_json_str(inner, "date"));
	}
	summarise(what != NULL ? what : "Graph", res);
	if (root != NULL) {
		vault_json_wipe(root);
		cJSON_Delete(root);
	}
}

/* Key IDs compare case-insensitively; they are kept in lower case. */
static void lower_guid(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'F')
			*s = (char)(*s - 'A' + 'a');
}

int graph_guid_ok(const char *s)
{
	struct err e;

	return s != NULL && strlen(s) == CRED_GUID_LEN &&
	       validate_guid(s, "key ID", &e) == 0;
}

/* One passwordCredential object into *ret. Returns 0, or -1 when it has
 * no well-formed keyId. */
int graph_parse_password(const cJSON *o, struct graph_password *ret)
{
	const char *s;

	memset(ret, 0, sizeof(*ret));
	if (!cJSON_IsObject(o) ||
	    !graph_guid_ok(s = graph_json_str(o, "keyId")))
		return -1;
	graph_copy_str(ret->key_id, sizeof(ret->key_id), s);
	lower_guid(ret->key_id);
	if ((s = graph_json_str(o, "hint")) != NULL)
		text_oneline(ret->hint, sizeof(ret->hint), s, strnlen(s, 3));
	graph_copy_str(ret->display_name, sizeof(ret->display_name),
		       graph_json_str(o, "displayName"));
	if (graph_parse_time(graph_json_str(o, "startDateTime"), &ret->start) !=
	    0)
		ret->start = 0;
	if (graph_parse_time(graph_json_str(o, "endDateTime"), &ret->end) != 0)
		ret->end = 0;
	return 0;
}

/* A certificate's SHA-1 thumbprint from customKeyIdentifier (base64 of
 * its 20 bytes), as upper-case hex; "" when it is not one. */
static void thumbprint_of(const char *cki, char out[41])
{
	unsigned char b[32];
	size_t n = 0;

	out[0] = '\0';
	if (cki == NULL ||
	    secmem_base64_decode(b, sizeof(b), cki, strlen(cki), &n) != 0 ||
	    n != 20)
		return;
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", b[i]);
}

/* One keyCredential object into *ret. Returns 0, or -1 when it has no
 * well-formed keyId. */
int graph_parse_key(const cJSON *o, struct graph_key *ret)
{
	const char *s;

	memset(ret, 0, sizeof(*ret));
	if (!cJSON_IsObject(o) ||
	    !graph_guid_ok(s = graph_json_str(o, "keyId")))
		return -1;
	graph_copy_str(ret->key_id, sizeof(ret->key_id), s);
	lower_guid(ret->key_id);
	graph_copy_str(ret->display_name, sizeof(ret->display_name),
		       graph_json_str(o, "displayName"));
	graph_copy_str(ret->usage, sizeof(ret->usage),
		       graph_json_str(o, "usage"));
	thumbprint_of(graph_json_str(o, "customKeyIdentifier"),
		      ret->thumbprint);
	if (graph_parse_time(graph_json_str(o, "startDateTime"), &ret->start) !=
	    0)
		ret->start = 0;
	if (graph_parse_time(graph_json_str(o, "endDateTime"), &ret->end) != 0)
		ret->end = 0;
	return 0;
}

/* The keyCredentials of an application reply, when it has them. */
static void parse_keys(const cJSON *root, struct graph_app *ret)
{
	const cJSON *it,
	    *list = cJSON_GetObjectItemCaseSensitive(root, "keyCredentials");

	if (!cJSON_IsArray(list))
		return;
	ret->keys_listed = true;
	cJSON_ArrayForEach(it, list)
	{
		if (ret->n_keys >= GRAPH_KEYS_MAX) {
			ret->keys_truncated = true;
			break;
		}
		if (graph_parse_key(it, &ret->keys[ret->n_keys]) == 0)
			ret->n_keys++;
	}
}

int graph_parse_app(const char *body, size_t len, struct graph_app *ret,
		    struct err *e)
{
	cJSON *root = NULL;
	const cJSON *list, *it;
	const char *s;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (body != NULL && len > 0 && len <= GRAPH_BODY_MAX)
		root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root)) {
		err_set(e, "the application reply is not a JSON object");
		goto out;
	}
	if (!graph_guid_ok(s = graph_json_str(root, "id"))) {
		err_set(e, "the application reply has no object id");
		goto out;
	}
	graph_copy_str(ret->id, sizeof(ret->id), s);
	graph_copy_str(ret->app_id, sizeof(ret->app_id),
		       graph_json_str(root, "appId"));
	graph_copy_str(ret->display_name, sizeof(ret->display_name),
		       graph_json_str(root, "displayName"));
	if (graph_parse_time(graph_json_str(root, "createdDateTime"),
			     &ret->created_at) != 0)
		ret->created_at = 0;
	list = cJSON_GetObjectItemCaseSensitive(root, "passwordCredentials");
	if (!cJSON_IsArray(list)) {
		err_set(e, "the application reply has no passwordCredentials");
		goto out;
	}
	cJSON_ArrayForEach(it, list)
	{
		if (ret->n_passwords >= GRAPH_PASSWORDS_MAX) {
			ret->truncated = true;
			break;
		}
		if (graph_parse_password(
			it, &ret->passwords[ret->n_passwords]) == 0)
			ret->n_passwords++;
	}
	parse_keys(root, ret);
	rc = 0;
out:
	if (root != NULL) {
		vault_json_wipe(root);
		cJSON_Delete(root);
	}
	return rc;
}

int graph_parse_added(const char *body, size_t len, struct graph_password *ret,
		      struct vbuf *ret_secret, struct err *e)
{
	cJSON *root = NULL;
	const char *s;
	size_t n;
	int rc = -1;

	memset(ret_secret, 0, sizeof(*ret_secret));
	memset(ret, 0, sizeof(*ret));
	if (body != NULL && len > 0 && len <= GRAPH_BODY_MAX)
		root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root) || graph_parse_password(root, ret) != 0) {
		err_set(e, "the addPassword reply has no keyId");
		goto out;
	}
	s = graph_json_str(root, "secretText");
	n = s != NULL ? strlen(s) : 0;
	if (n == 0 || n > GRAPH_SECRET_MAX || text_has_control(s, n)) {
		err_set(e, "the addPassword reply has no usable secretText");
		goto out;
	}
	if (ret->end == 0) {
		err_set(e, "the addPassword reply has no endDateTime");
		goto out;
	}
	if (vbuf_alloc(ret_secret, n) != 0) {
		err_set(e, "out of secure memory for the new secret");
		goto out;
	}
	memcpy(ret_secret->p, s, n);
	ret_secret->p[n] = '\0';
	ret_secret->len = n;
	/* The hint is the value's first three characters: take it from the
	 * value when the reply left it out. */
	if (ret->hint[0] == '\0')
		text_oneline(ret->hint, sizeof(ret->hint), s, n < 3 ? n : 3);
	/* The display name is logged and shown: never with the value in it. */
	if (strstr(ret->display_name, s) != NULL)
		strcpy(ret->display_name, "(hidden: it held the secret)");
	rc = 0;
out:
	if (root != NULL) {
		vault_json_wipe(root);
		cJSON_Delete(root);
	}
	return rc;
}

const struct graph_password *graph_app_by_hint(const struct graph_app *app,
					       const char *hint)
{
	const struct graph_password *found = NULL;

	if (hint == NULL || hint[0] == '\0')
		return NULL;
	for (size_t i = 0; i < app->n_passwords; i++) {
		if (strcmp(app->passwords[i].hint, hint) != 0)
			continue;
		if (found != NULL)
			return NULL;
		found = &app->passwords[i];
	}
	return found;
}

const struct graph_password *graph_app_by_key(const struct graph_app *app,
					      const char *key_id)
{
	if (key_id == NULL || key_id[0] == '\0')
		return NULL;
	for (size_t i = 0; i < app->n_passwords; i++)
		if (strcasecmp(app->passwords[i].key_id, key_id) == 0)
			return &app->passwords[i];
	return NULL;
}

const struct graph_key *graph_app_key(const struct graph_app *app,
				      const char *key_id)
{
	if (key_id == NULL || key_id[0] == '\0')
		return NULL;
	for (size_t i = 0; i < app->n_keys; i++)
		if (strcasecmp(app->keys[i].key_id, key_id) == 0)
			return &app->keys[i];
	return NULL;
}

const struct graph_key *graph_app_key_by_hint(const struct graph_app *app,
					      const char *hint)
{
	const struct graph_key *found = NULL;
	size_t n = hint != NULL ? strlen(hint) : 0;

	for (size_t i = 0; n > 0 && i < app->n_keys; i++) {
		if (strncasecmp(app->keys[i].thumbprint, hint, n) != 0)
			continue;
		if (found != NULL)
			return NULL;
		found = &app->keys[i];
	}
	return found;
}

/* ------------------------------------------------------------------ */
/* The calls */

void graph_token_request(const struct cred *c, struct entra_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->authority_url = cloud_authority_url(c);
	rq->tenant = c->tenant;
	rq->client_id = c->client_id;
	rq->scope = cloud_graph_scope(c);
}

char *graph_v1_url(const struct cred *c, const char *path)
{
	const char *base = cloud_graph_url(c);
	size_t blen = strlen(base), n;
	char *url;

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	n = blen + strlen(path) + 8;
	if ((url = malloc(n)) == NULL)
		return NULL;
	snprintf(url, n, "%.*s/v1.0%s", (int)blen, base, path);
	return url;
}

/* {graph}/v1.0/applications(appId='{client id}'){tail} into a new
 * string, or NULL. The client ID is a GUID (validated on input), so it
 * needs no escaping. */
static char *app_url(const struct cred *c, const char *tail)
{
	char path[256];

	if (snprintf(path, sizeof(path), "/applications(appId='%s')%s",
		     c->client_id, tail) >= (int)sizeof(path))
		return NULL;
	return graph_v1_url(c, path);
}

/* Send one request to url and leave the reply in *ret_body. Returns the
 * HTTP status, or 0 with res's summary saying why there was none. A
 * status other than Graph's successes (200, 201, 204) is Graph's error,
 * parsed into res here. */
static long call_max(const struct graph_ctx *g, const char *what,
		     const char *method, const char *url, const char *body,
		     size_t reply_max, struct graph_result *res,
		     struct secbuf *ret_body)
{
	struct graph_http_req rq = {
	    .method = method,
	    .url = url,
	    .token = g->token != NULL ? g->token->value : NULL,
	    .token_len = g->token != NULL ? g->token->len : 0,
	    .body = body,
	    .body_len = body != NULL ? strlen(body) : 0,
	    .reply_max = reply_max,
	};
	struct err e = {{0}};
	long status;

	memset(res, 0, sizeof(*res));
	memset(ret_body, 0, sizeof(*ret_body));
	if (url == NULL || rq.token == NULL) {
		err_fmt(res->summary, sizeof(res->summary), "%s: %s", what,
			url == NULL ? "out of memory" : "no Graph token");
		return 0;
	}
	if (net_global_init(&e) != 0) {
		err_fmt(res->summary, sizeof(res->summary), "%s: %s", what,
			e.msg);
		return 0;
	}
	status = graph_http(&rq, g->net, g->retry, res, ret_body);
	if (status <= 0) {
		if (res->summary[0] == '\0' || res->fail != NET_OK) {
			res->transient = net_fail_transient(res->fail);
			err_fmt(res->summary, sizeof(res->summary),
				"%s: Graph not reached: %s (curl %d)", what,
				res->curl_error, res->curl_code);
		}
		return 0;
	}
	if (status != 200 && status != 201 && status != 204)
		graph_parse_error(what, status, ret_body->p, ret_body->len,
				  res);
	return status;
}

static long call(const struct graph_ctx *g, const char *what,
		 const char *method, const char *url, const char *body,
		 struct graph_result *res, struct secbuf *ret_body)
{
	return call_max(g, what, method, url, body, 0, res, ret_body);
}

long graph_get(const struct graph_ctx *g, const char *what, const char *url,
	       size_t reply_max, struct graph_result *res,
	       struct secbuf *ret_body)
{
	return call_max(g, what, "GET", url, NULL, reply_max, res, ret_body);
}

int graph_app_get(const struct graph_ctx *g, struct graph_app *ret,
		  struct graph_result *res)
{
	static const char what[] = "reading the application";
	char *url =
	    app_url(g->cred, "?$select=id,appId,displayName,createdDateTime,"
			     "passwordCredentials,keyCredentials");
	struct secbuf b;
	struct err e = {{0}};
	long status = call(g, what, "GET", url, NULL, res, &b);
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (status == 200) {
		if (graph_parse_app(b.p, b.len, ret, &e) == 0) {
			res->ok = true;
			err_fmt(res->summary, sizeof(res->summary),
				"%s: %zu client secrets", what,
				ret->n_passwords);
			rc = 0;
		} else {
			err_fmt(res->summary, sizeof(res->summary),
				"%s: HTTP 200 but %s", what, e.msg);
		}
	}
	secbuf_free(&b);
	free(url);
	return rc;
}

/* {"passwordCredential":{"displayName":..,"endDateTime":..}} as a new
 * string, or NULL. */
static char *add_body(const char *display_name, int64_t end)
{
	cJSON *root = cJSON_CreateObject(), *pc;
	char when[TIMEFMT_RFC3339_LEN];
	char *s = NULL;

	if (root == NULL ||
	    (pc = cJSON_AddObjectToObject(root, "passwordCredential")) ==
		NULL ||
	    cJSON_AddStringToObject(pc, "displayName", display_name) == NULL)
		goto out;
	if (end > 0) {
		timefmt_rfc3339(end, when);
		if (cJSON_AddStringToObject(pc, "endDateTime", when) == NULL)
			goto out;
	}
	s = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return s;
}

int graph_add_password(const struct graph_ctx *g, const char *display_name,
		       int64_t end, struct graph_password *ret,
		       struct vbuf *ret_secret, struct graph_result *res)
{
	static const char what[] = "adding a client secret";
	char *url = app_url(g->cred, "/addPassword");
	char *body = add_body(display_name != NULL ? display_name : "", end);
	struct secbuf b;
	struct err e = {{0}};
	long status;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	memset(ret_secret, 0, sizeof(*ret_secret));
	status =
	    call(g, what, "POST", body != NULL ? url : NULL, body, res, &b);
	if (status == 200 || status == 201) {
		if (graph_parse_added(b.p, b.len, ret, ret_secret, &e) == 0) {
			res->ok = true;
			err_fmt(res->summary, sizeof(res->summary),
				"%s: key ID %s, hint %s", what, ret->key_id,
				ret->hint);
			rc = 0;
		} else {
			err_fmt(res->summary, sizeof(res->summary),
				"%s: HTTP %ld but %s", what, status, e.msg);
		}
	}
	secbuf_free(&b);
	free(body);
	free(url);
	return rc;
}

int graph_remove_password(const struct graph_ctx *g, const char *key_id,
			  struct graph_result *res)
{
	static const char what[] = "removing a client secret";
	char *url = app_url(g->cred, "/removePassword");
	char body[80];
	struct secbuf b;
	long status;
	int rc = -1;

	if (!graph_guid_ok(key_id)) {
		memset(res, 0, sizeof(*res));
		err_fmt(res->summary, sizeof(res->summary), "%s: not a key ID",
			what);
		free(url);
		return -1;
	}
	snprintf(body, sizeof(body), "{\"keyId\":\"%s\"}", key_id);
	status = call(g, what, "POST", url, body, res, &b);
	if (status == 204 || status == 200) {
		res->ok = true;
		err_fmt(res->summary, sizeof(res->summary),
			"%s: key ID %s removed", what, key_id);
		rc = 0;
	}
	secbuf_free(&b);
	free(url);
	return rc;
}

/* Standard base64 (padded) of len bytes, malloc'd, or NULL. */
static char *base64(const uint8_t *p, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? tab[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* GET the application's keyCredentials (with their keys) into *ret (the
 * array, detached), or -1 with res saying why. */
static int key_credentials(const struct graph_ctx *g, const char *what,
			   cJSON **ret, char oid[CRED_GUID_LEN + 1],
			   struct graph_result *res)
{
	char *url = app_url(g->cred, "?$select=id,keyCredentials");
	struct secbuf b;
	cJSON *root = NULL;
	long status = call(g, what, "GET", url, NULL, res, &b);

	*ret = NULL;
	if (status == 200 && (root = cJSON_ParseWithLength(b.p, b.len)) &&
	    cJSON_IsArray(cJSON_GetObjectItem(root, "keyCredentials"))) {
		*ret = cJSON_DetachItemFromObject(root, "keyCredentials");
		const char *id = graph_json_str(root, "id");
		graph_copy_str(oid, CRED_GUID_LEN + 1,
			       id != NULL && graph_guid_ok(id) ? id : "");
	} else if (status == 200)
		err_fmt(res->summary, sizeof(res->summary),
			"%s: HTTP 200 but no keyCredentials", what);
	cJSON_Delete(root);
	secbuf_free(&b);
	free(url);
	return *ret != NULL ? 0 : -1;
}

/* The key ID of the entry of keys whose key is b64, into ret. */
static int find_key(const cJSON *keys, const char *b64,
		    char ret[CRED_GUID_LEN + 1])
{
	const cJSON *k;

	cJSON_ArrayForEach(k, keys)
	{
		const char *key = graph_json_str(k, "key"),
			   *id = graph_json_str(k, "keyId");
		if (key != NULL && id != NULL && graph_guid_ok(id) &&
		    strcmp(key, b64) == 0) {
			graph_copy_str(ret, CRED_GUID_LEN + 1, id);
			return 0;
		}
	}
	return -1;
}

/* {"keyCredentials": keys + the new one} as a new string, or NULL. */
static char *patch_body(cJSON *keys, const char *b64, const char *name)
{
	cJSON *root = cJSON_CreateObject(), *k = cJSON_CreateObject();
	char *s = NULL;

	if (root == NULL || k == NULL ||
	    !cJSON_AddStringToObject(k, "type", "AsymmetricX509Cert") ||
	    !cJSON_AddStringToObject(k, "usage", "Verify") ||
	    !cJSON_AddStringToObject(k, "key", b64) ||
	    !cJSON_AddStringToObject(k, "displayName", name) ||
	    !cJSON_AddItemToArray(keys, k)) {
		cJSON_Delete(k);
		cJSON_Delete(root);
		return NULL;
	}
	cJSON_AddItemReferenceToObject(root, "keyCredentials", keys);
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

int graph_add_certificate(const struct graph_ctx *g, const uint8_t *cert,
			  size_t cert_len, const char *display_name,
			  char ret_key_id[CRED_GUID_LEN + 1],
			  char ret_app_object_id[CRED_GUID_LEN + 1],
			  struct graph_result *res)
{
	static const char what[] = "adding a certificate";
	char *b64 = base64(cert, cert_len), *url = app_url(g->cred, "");
	char *body = NULL;
	cJSON *keys = NULL;
	struct secbuf b = {0};
	long status = 0;
	int rc = -1;

	ret_key_id[0] = ret_app_object_id[0] = '\0';
	memset(res, 0, sizeof(*res));
	if (b64 == NULL || url == NULL) {
		err_fmt(res->summary, sizeof(res->summary), "%s: out of memory",
			what);
		goto out;
	}
	if (key_credentials(g, what, &keys, ret_app_object_id, res))
		goto out;
	if (find_key(keys, b64, ret_key_id) != 0) {
		body = patch_body(keys, b64, display_name);
		status =
		    call(g, what, "PATCH", body ? url : NULL, body, res, &b);
		if (status != 204 && status != 200)
			goto out;
		cJSON_Delete(keys);
		if (key_credentials(g, what, &keys, ret_app_object_id, res))
			goto out;
	}
	if (find_key(keys, b64, ret_key_id) != 0) {
		err_fmt(res->summary, sizeof(res->summary),
			"%s: the certificate is not among the app's keys after "
			"the update (changed by someone else meanwhile?)",
			what);
		goto out;
	}
	res->ok = true;
	err_fmt(res->summary, sizeof(res->summary), "%s: key ID %s", what,
		ret_key_id);
	rc = 0;
out:
	secbuf_free(&b);
	cJSON_Delete(keys);
	free(body);
	free(url);
	free(b64);
	return rc;
}

/* Detach the entry of keys with key ID key_id; NULL when none has it. */
static cJSON *take_key(cJSON *keys, const char *key_id)
{
	cJSON *k;

	cJSON_ArrayForEach(k, keys)
	{
		const char *id = graph_json_str(k, "keyId");
		if (id != NULL && strcasecmp(id, key_id) == 0)
			return cJSON_DetachItemViaPointer(keys, k);
	}
	return NULL;
}

int graph_remove_certificate(const struct graph_ctx *g, const char *key_id,
			     struct graph_result *res)
{
	static const char what[] = "removing a certificate";
	char oid[CRED_GUID_LEN + 1], *url = app_url(g->cred, ""), *body = NULL;
	cJSON *keys = NULL, *gone = NULL, *root = cJSON_CreateObject();
	struct secbuf b = {0};
	long status;
	int rc = -1;

	if (url == NULL || root == NULL || !graph_guid_ok(key_id)) {
		memset(res, 0, sizeof(*res));
		err_fmt(res->summary, sizeof(res->summary), "%s: %s", what,
			url == NULL || root == NULL ? "out of memory"
						    : "not a key ID");
		goto out;
	}
	if (key_credentials(g, what, &keys, oid, res))
		goto out;
	if ((gone = take_key(keys, key_id)) == NULL) {
		rc = 1;
		goto out;
	}
	cJSON_AddItemReferenceToObject(root, "keyCredentials", keys);
	body = cJSON_PrintUnformatted(root);
	status = call(g, what, "PATCH", body ? url : NULL, body, res, &b);
	if (status == 204 || status == 200) {
		res->ok = true;
		err_fmt(res->summary, sizeof(res->summary),
			"%s: key ID %s removed", what, key_id);
		rc = 0;
	}
out:
	secbuf_free(&b);
	cJSON_Delete(root);
	cJSON_Delete(keys);
	cJSON_Delete(gone);
	free(body);
	free(url);
	return rc;
}

/* The addKey body, as a new string, or NULL. */
static char *add_key_body(const char *b64, const char *key_id, const char *name,
			  const char *proof, size_t proof_len)
{
	cJSON *root = cJSON_CreateObject(), *k;
	char *p = strndup(proof, proof_len), *s = NULL;

	if (root != NULL && p != NULL &&
	    (k = cJSON_AddObjectToObject(root, "keyCredential")) != NULL &&
	    cJSON_AddStringToObject(k, "type", "AsymmetricX509Cert") &&
	    cJSON_AddStringToObject(k, "usage", "Verify") &&
	    cJSON_AddStringToObject(k, "key", b64) &&
	    (key_id == NULL || cJSON_AddStringToObject(k, "keyId", key_id)) &&
	    cJSON_AddStringToObject(k, "displayName", name) &&
	    cJSON_AddNullToObject(root, "passwordCredential") &&
	    cJSON_AddStringToObject(root, "proof", p))
		s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	free(p);
	return s;
}

int graph_add_key(const struct graph_ctx *g, const uint8_t *cert,
		  size_t cert_len, const char *key_id, const char *display_name,
		  const char *proof, size_t proof_len,
		  char ret_key_id[CRED_GUID_LEN + 1], struct graph_result *res)
{
	static const char what[] = "adding a certificate with addKey";
	char *b64 = base64(cert, cert_len), *url = app_url(g->cred, "/addKey");
	char *body = b64 != NULL ? add_key_body(b64, key_id, display_name,
						proof, proof_len)
				 : NULL;
	struct secbuf b;
	cJSON *root = NULL;
	const char *id;
	long status =
	    call(g, what, "POST", body != NULL ? url : NULL, body, res, &b);
	int rc = -1;

	ret_key_id[0] = '\0';
	if (status == 200 || status == 201) {
		root = cJSON_ParseWithLength(b.p, b.len);
		id = graph_json_str(root, "keyId");
		graph_copy_str(ret_key_id, CRED_GUID_LEN + 1,
			       id != NULL && graph_guid_ok(id) ? id : key_id);
		res->ok = ret_key_id[0] != '\0';
		if (res->ok)
			err_fmt(res->summary, sizeof(res->summary),
				"%s: key ID %s", what, ret_key_id);
		else
			err_fmt(res->summary, sizeof(res->summary),
				"%s: HTTP %ld without the new key's keyId",
				what, status);
		rc = res->ok ? 0 : -1;
	}
	cJSON_Delete(root);
	secbuf_free(&b);
	free(body);
	free(url);
	free(b64);
	return rc;
}

int graph_remove_key(const struct graph_ctx *g, const char *key_id,
		     const char *proof, size_t proof_len,
		     struct graph_result *res)
{
	static const char what[] = "removing a certificate with removeKey";
	char *url = app_url(g->cred, "/removeKey"), *body = NULL;
	cJSON *root = cJSON_CreateObject();
	char *p = strndup(proof, proof_len);
	struct secbuf b;
	long status;
	int rc = -1;

	if (root != NULL && p != NULL && graph_guid_ok(key_id) &&
	    cJSON_AddStringToObject(root, "keyId", key_id) &&
	    cJSON_AddStringToObject(root, "proof", p))
		body = cJSON_PrintUnformatted(root);
	status =
	    call(g, what, "POST", body != NULL ? url : NULL, body, res, &b);
	if (status == 204 || status == 200) {
		res->ok = true;
		err_fmt(res->summary, sizeof(res->summary),
			"%s: key ID %s removed", what, key_id);
		rc = 0;
	}
	secbuf_free(&b);
	cJSON_Delete(root);
	free(body);
	free(p);
	free(url);
	return rc;
}

/* One passwordCredentials restriction into ret, unless disabled or only
 * for apps newer than app_created. */
static void policy_restriction(const cJSON *r, int64_t app_created,
			       struct graph_policy *ret)
{
	const char *type = graph_json_str(r, "restrictionType"),
		   *state = graph_json_str(r, "state");
	int64_t max, after;

	if (type == NULL || (state != NULL && strcmp(state, "disabled") == 0))
		return;
	if (app_created > 0 &&
	    graph_parse_time(
		graph_json_str(r, "restrictForAppsCreatedAfterDateTime"),
		&after) == 0 &&
	    app_created <= after)
		return;
	if (strcmp(type, "passwordAddition") == 0) {
		ret->found = ret->additions_blocked = true;
	} else if (strcmp(type, "passwordLifetime") == 0 &&
		   timefmt_parse_iso_duration(graph_json_str(r, "maxLifetime"),
					      &max) == 0) {
		ret->found = true;
		if (ret->max_lifetime == 0 || max < ret->max_lifetime)
			ret->max_lifetime = max;
	}
}

/* The restrictions of one enabled policy object (key: where they sit). */
static void policy_object(const cJSON *p, const char *key, int64_t app_created,
			  struct graph_policy *ret)
{
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(p, "isEnabled"),
		    *rs = cJSON_GetObjectItemCaseSensitive(p, key), *r;

	if (cJSON_IsFalse(en) || !cJSON_IsObject(rs))
		return;
	cJSON_ArrayForEach(
	    r, cJSON_GetObjectItemCaseSensitive(rs, "passwordCredentials"))
	    policy_restriction(r, app_created, ret);
}

int graph_parse_policy(const char *body, size_t len, int64_t app_created,
		       struct graph_policy *ret)
{
	cJSON *root = body != NULL && len <= GRAPH_BODY_MAX
			  ? cJSON_ParseWithLength(body, len)
			  : NULL;
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(root, "value"),
		    *p;

	memset(ret, 0, sizeof(*ret));
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return -1;
	}
	if (cJSON_IsArray(value)) /* an app's appManagementPolicies */
		cJSON_ArrayForEach(p, value)
		    policy_object(p, "restrictions", app_created, ret);
	else /* the tenant's defaultAppManagementPolicy */
		policy_object(root, "applicationRestrictions", app_created,
			      ret);
	cJSON_Delete(root);
	return 0;
}

/* GET url and parse the policy there. Returns 0, or -1 with res. */
static int policy_get(const struct graph_ctx *g, const char *what, char *url,
		      int64_t app_created, struct graph_policy *ret,
		      struct graph_result *res)
{
	struct secbuf b;
	long status = call(g, what, "GET", url, NULL, res, &b);
	int rc = -1;

	if (status == 200 &&
	    graph_parse_policy(b.p, b.len, app_created, ret) == 0)
		rc = 0;
	else if (status == 200)
		err_fmt(res->summary, sizeof(res->summary),
			"%s: HTTP 200 but no policy object", what);
	secbuf_free(&b);
	free(url);
	return rc;
}

int graph_lifetime_policy(const struct graph_ctx *g, int64_t app_created,
			  struct graph_policy *ret, struct graph_result *res)
{
	static const char what[] = "reading the app management policy";

	memset(ret, 0, sizeof(*ret));
	if (policy_get(g, what, app_url(g->cred, "/appManagementPolicies"),
		       app_created, ret, res))
		return -1;
	if (ret->found) {
		snprintf(ret->source, sizeof(ret->source), "the app's policy");
	} else {
		if (policy_get(
			g, what,
			graph_v1_url(g->cred,
				     "/policies/defaultAppManagementPolicy"),
			app_created, ret, res))
			return -1;
		snprintf(ret->source, sizeof(ret->source),
			 "the tenant's default policy");
	}
	res->ok = true;
	err_fmt(res->summary, sizeof(res->summary), "%s: read", what);
	return 0;
}
