/* graph.h - Microsoft Graph client for an application's client secrets
 * (passwordCredentials): read, add and remove (docs/PROTOCOL.md §4).
 *
 * Parsing is apart from transport: graph_parse_*() take the bytes of a
 * reply and are unit-tested and fuzzed on their own; graph_http() (in the
 * network module, netmod.h) does one HTTPS request with bounded retries on
 * 429 and 503 (Retry-After honoured). The calls in between build the URL
 * and the body, send them with the Graph access token and parse the reply.
 *
 * Secrets: the token is only ever in guarded memory; the secretText of an
 * addPassword reply goes from the reply (guarded memory) straight into a
 * struct vbuf, and every copy the JSON parser made is wiped before it is
 * freed. No result string ever holds a token or a secret.
 */
#ifndef SW_GRAPH_H
/* A reply larger than this is not the reply asked for. */
#define GRAPH_BODY_MAX (1024 * 1024)
#define SW_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cred.h"
#include "entra.h"
#include "net.h"
#include "secmem.h"
#include "vault.h"

#define GRAPH_CODE_MAX	    96
#define GRAPH_MESSAGE_MAX   512
#define GRAPH_ID_MAX	    64
#define GRAPH_SUMMARY_MAX   640
#define GRAPH_NAME_MAX	    256
#define GRAPH_PASSWORDS_MAX 64
#define GRAPH_KEYS_MAX	    64
/* secretText is 16-64 characters; a longer one is refused. */
#define GRAPH_SECRET_MAX 256

/* What a Graph call came to. */
struct graph_result {
	bool ok;
	bool transient;	  /* 429, 5xx, or a transport failure worth retrying */
	long http_status; /* of the last attempt; 0 when no HTTP reply */
	/* The Graph error body, when the reply had one ("" otherwise). */
	char code[GRAPH_CODE_MAX];	 /* error.code */
	char message[GRAPH_MESSAGE_MAX]; /* error.message, one line */
	char inner_code[GRAPH_CODE_MAX]; /* error.innerError.code, if any */
	char request_id[GRAPH_ID_MAX];	 /* error.innerError["request-id"] */
	char date[GRAPH_ID_MAX];	 /* error.innerError.date */
	long retry_after_s; /* Retry-After of the last reply; 0 when none */
	/* x-ms-throttle-limit-percentage of the last reply (how close the
	 * app is to being throttled, 1.0 = at the limit); 0 when absent. */
	double throttle_pct;
	int attempts;	    /* requests made */
	long waited_ms;	    /* sum of the waits between them */
	enum net_fail fail; /* of the last attempt's transfer */
	int curl_code;
	char curl_error[ENTRA_CURL_ERROR_MAX];
	/* One line for people: the call, the HTTP status and the error code
	 * and message, or the transport error. */
	char summary[GRAPH_SUMMARY_MAX];
};

/* One passwordCredential of an application. */
struct graph_password {
	char key_id[CRED_GUID_LEN + 1];
	char hint[4]; /* up to 3 characters; "" if none */
	char display_name[GRAPH_NAME_MAX + 1]; /* "" if null */
	int64_t start;			       /* 0 when absent */
	int64_t end;			       /* 0 when absent */
};

/* One keyCredential (a certificate) of an application. */
struct graph_key {
	char key_id[CRED_GUID_LEN + 1];
	char display_name[GRAPH_NAME_MAX + 1]; /* "" if null */
	char usage[8];			       /* "Verify", "Sign"; "" */
	/* SHA-1 thumbprint (upper-case hex) when customKeyIdentifier is
	 * one, as it is unless set otherwise; "" if not. */
	char thumbprint[41];
	int64_t start; /* 0 when absent */
	int64_t end;   /* 0 when absent */
};

/* An application, as GET applications(appId='..') returns it. */
struct graph_app {
	char id[CRED_GUID_LEN + 1];	/* the application's object ID */
	char app_id[CRED_GUID_LEN + 1]; /* the client ID */
	char display_name[GRAPH_NAME_MAX + 1];
	int64_t created_at; /* createdDateTime; 0 when not given */
	size_t n_passwords;
	struct graph_password passwords[GRAPH_PASSWORDS_MAX];
	bool truncated; /* more than GRAPH_PASSWORDS_MAX were listed */
	size_t n_keys;
	struct graph_key keys[GRAPH_KEYS_MAX];
	bool keys_listed;    /* the reply had keyCredentials */
	bool keys_truncated; /* more than GRAPH_KEYS_MAX were listed */
};

/* ------------------------------------------------------------------ */
/* Parsers: bytes in, no I/O. */

/* An ISO-8601 / RFC 3339 time as Graph writes it: YYYY-MM-DDTHH:MM:SS with
 * 0 to 7 fractional digits (ignored) and Z, an offset +HH:MM, or nothing
 * (read as UTC). Returns 0 with *ret (UTC seconds), or -1. */
int graph_parse_time(const char *s, int64_t *ret);

/* Fill res from a reply that is not a success: status and the len bytes
 * of body (anything; need not be NUL-terminated). The Graph error object
 * {"error":{"code","message","innerError":{..}}} is read when the body is
 * one; transient is set for 429 and 5xx; summary is always filled, with
 * what (the call, for people) in front. The transport fields of res are
 * left as they are. */
void graph_parse_error(const char *what, long status, const char *body,
		       size_t len, struct graph_result *res);

/* Parse the body of GET applications(appId='..'): its passwordCredentials
 * and, when listed, keyCredentials. Returns 0 with *ret filled, or -1
 * with e saying what is wrong. A credential without a well-formed keyId
 * is skipped; a secretText in the listing is ignored (and wiped with the
 * parse). */
int graph_parse_app(const char *body, size_t len, struct graph_app *ret,
		    struct err *e);

/* Parse the body of an addPassword reply. Returns 0 with the credential in
 * *ret and its secretText in *ret_secret (guarded memory; free it with
 * vbuf_free), or -1 with e saying what is missing and *ret_secret empty.
 * Every copy of the secretText the parser made is wiped; body is the
 * caller's to wipe. */
int graph_parse_added(const char *body, size_t len, struct graph_password *ret,
		      struct vbuf *ret_secret, struct err *e);

/* ------------------------------------------------------------------ */
/* Transport (network module). */

/* One request. All strings are the caller's. */
struct graph_http_req {
	const char *method; /* "GET", "POST" or "PATCH" */
	const char *url;
	const char *token; /* the bearer token, token_len bytes */
	size_t token_len;
	const char *body; /* JSON, or NULL for none */
	size_t body_len;
	size_t reply_max; /* the largest reply taken; 0: GRAPH_BODY_MAX */
};

/* Send rq and keep retrying 429, 503 (and transport failures worth it) as
 * retry allows (NULL: ENTRA_RETRY_DEFAULT), a Retry-After replacing the
 * backoff. Returns the HTTP status of the last attempt (0 when no reply)
 * with its body in *ret_body (free with secbuf_free) and res's
 * transport fields filled (attempts, waited_ms, retry_after_s, fail,
 * curl_code, curl_error, http_status); -1 with the summary saying why when
 * no request could be made. Call net_global_init() first. */
long graph_http(const struct graph_http_req *rq, const struct net_opts *net,
		const struct entra_retry *retry, struct graph_result *res,
		struct secbuf *ret_body);

/* ------------------------------------------------------------------ */
/* The calls. */

/* Where and how to call Graph for one credential. */
struct graph_ctx {
	const struct cred *cred;
	const struct net_opts *net;
	const struct entra_retry *retry; /* NULL: ENTRA_RETRY_DEFAULT */
	const struct entra_token *token; /* from graph_token() */
};

/* {graph}/v1.0{path} of c's cloud (or --graph-url) as a new string
 * (free()), or NULL when out of memory. */
char *graph_v1_url(const struct cred *c, const char *path);

/* GET url with g's token for a reply of at most reply_max bytes (0:
 * GRAPH_BODY_MAX), retried as graph_http retries. Returns the HTTP
 * status with the reply in *ret_body (secbuf_free), or 0 with res's
 * summary saying why there was none; a status other than 200, 201 or
 * 204 is Graph's error, parsed into res. what names the call for
 * people. */
long graph_get(const struct graph_ctx *g, const char *what, const char *url,
	       size_t reply_max, struct graph_result *res,
	       struct secbuf *ret_body);

/* GET {graph}/v1.0/applications(appId='{client id}')?$select=id,appId,
 * displayName,createdDateTime,passwordCredentials,keyCredentials.
 * Returns 0 with *ret, or -1 with res saying why (the Graph error for
 * lib/diag). */
int graph_app_get(const struct graph_ctx *g, struct graph_app *ret,
		  struct graph_result *res);

/* POST .../addPassword with display_name and endDateTime end (UTC
 * seconds; 0: Graph's default). Returns 0 with the new credential in *ret
 * and its value in *ret_secret (guarded memory, vbuf_free), or -1 with
 * res saying why and *ret_secret empty. The request is not retried on a
 * transport failure after it was sent (a second secret could be made);
 * 429 and 503 replies are retried. */
int graph_add_password(const struct graph_ctx *g, const char *display_name,
		       int64_t end, struct graph_password *ret,
		       struct vbuf *ret_secret, struct graph_result *res);

/* POST .../removePassword {"keyId": key_id}. Returns 0 when Graph
 * answered 204 (or the key was already gone: 404 with a keyId error is
 * not counted as success), else -1 with res saying why. */
int graph_remove_password(const struct graph_ctx *g, const char *key_id,
			  struct graph_result *res);

/* The token request for c's Graph resource: the token endpoint of c's
 * cloud, its tenant and client ID, and the scope of its cloud's Graph
 * resource ({graph}/.default; --graph-url moves the endpoint, not the
 * resource). The proof is the caller's (graph_session.c, the one place
 * that asks for a Graph token). */
void graph_token_request(const struct cred *c, struct entra_request *rq);

/* Add the certificate (cert_len bytes of DER) to the application's
 * keyCredentials under display_name, keeping every one it has: GET the
 * collection with its keys, PATCH it back with the new one appended
 * (PATCH replaces the whole collection; docs/PROTOCOL.md §4.3), then GET it
 * again to learn the new key ID (into ret_key_id). Needs
 * Application.ReadWrite.OwnedBy (or .All). Returns 0, or -1 with res
 * saying why; a collection that changed in between is not overwritten
 * blindly: the PATCH carries what the GET returned, and the new key is
 * looked for afterwards. */
int graph_add_certificate(const struct graph_ctx *g, const uint8_t *cert,
			  size_t cert_len, const char *display_name,
			  char ret_key_id[CRED_GUID_LEN + 1],
			  char ret_app_object_id[CRED_GUID_LEN + 1],
			  struct graph_result *res);

/* Remove the keyCredential key_id from the application, keeping every
 * other: GET the collection with its keys and PATCH it back without it
 * (the way to remove a certificate without a proof signed by one; needs
 * Application.ReadWrite.OwnedBy or .All). Returns 0 when removed, 1 when
 * it was not there (nothing sent), -1 with res saying why. */
int graph_remove_certificate(const struct graph_ctx *g, const char *key_id,
			     struct graph_result *res);

/* POST .../addKey: the certificate (DER) as a keyCredential with key ID
 * key_id (chosen by the caller, so that an interrupted call can be undone;
 * NULL: none, Graph chooses) and display_name, and proof (x509_proof,
 * signed by a valid certificate of the app). No directory permission is
 * needed. Returns 0 with the key ID Graph gave into ret_key_id, or -1 with
 * res saying why. Not retried after a transport failure once sent. */
int graph_add_key(const struct graph_ctx *g, const uint8_t *cert,
		  size_t cert_len, const char *key_id, const char *display_name,
		  const char *proof, size_t proof_len,
		  char ret_key_id[CRED_GUID_LEN + 1], struct graph_result *res);

/* POST .../removeKey {"keyId": key_id, "proof": proof}. Returns 0 when
 * Graph answered 204, else -1 with res saying why. */
int graph_remove_key(const struct graph_ctx *g, const char *key_id,
		     const char *proof, size_t proof_len,
		     struct graph_result *res);

/* What the app management policies say of new client secrets
 * (docs/PROTOCOL.md §4.4): the app's own policy when it restricts them, else
 * the tenant's default. */
struct graph_policy {
	bool found;		/* a policy restricts client secrets */
	bool additions_blocked; /* passwordAddition: no new secrets at all */
	int64_t max_lifetime;	/* passwordLifetime's maxLifetime, s; 0: none */
	char source[32];	/* "the app's policy" or "the tenant's ..." */
};

/* A policy reply into ret: an app's appManagementPolicies collection
 * ({"value": [...]}, each enabled policy's "restrictions") or the tenant's
 * defaultAppManagementPolicy ("applicationRestrictions"). Disabled
 * policies and restrictions are skipped, and so are those that apply only
 * to apps created after app_created (restrictForAppsCreatedAfterDateTime;
 * app_created 0: unknown, every restriction counts). Returns 0, or -1 for
 * a body that is not a JSON object. */
int graph_parse_policy(const char *body, size_t len, int64_t app_created,
		       struct graph_policy *ret);

/* GET the app's appManagementPolicies and, when none restricts client
 * secrets, the tenant's defaultAppManagementPolicy, as they apply to an
 * app created at app_created (graph_app's created_at; 0: unknown). Reading
 * policies needs Policy.Read.All: without it Graph answers 403 and the limit is
 * unknown (not a failure of the app's setup). Returns 0 with *ret, or -1
 * with res saying why. */
int graph_lifetime_policy(const struct graph_ctx *g, int64_t app_created,
			  struct graph_policy *ret, struct graph_result *res);

/* The passwordCredential of app whose hint is hint, when exactly one has
 * it; NULL when none or several do. */
const struct graph_password *graph_app_by_hint(const struct graph_app *app,
					       const char *hint);

/* The passwordCredential of app with key ID key_id (case-insensitive), or
 * NULL. */
const struct graph_password *graph_app_by_key(const struct graph_app *app,
					      const char *key_id);

/* The keyCredential of app with key ID key_id (case-insensitive), or
 * NULL. */
const struct graph_key *graph_app_key(const struct graph_app *app,
				      const char *key_id);

/* The keyCredential of app whose thumbprint starts with hint (a
 * certificate row's hint), when exactly one has it; else NULL. */
const struct graph_key *graph_app_key_by_hint(const struct graph_app *app,
					      const char *hint);

#endif
