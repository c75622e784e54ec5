/* watch_rotate_impl.h - shared by the rotation files only: the one
 * rotation path (watch_rotate.c), the kinds it makes as data
 * (watch_rotate_kind.c: which Graph call adds and removes a client
 * secret or a certificate), and the removals from Entra
 * (watch_revoke.c).
 */
#ifndef SW_WATCH_ROTATE_IMPL_H
#define SW_WATCH_ROTATE_IMPL_H

#include "graph_session.h"
#include "watch_impl.h"

/* One rotation under way: the session it talks to Graph with, the
 * intent, and the new material. */
struct rotate_job {
	struct watch_ctx *w;
	const struct cred_view *v;
	const struct watch_rotation *want;
	struct watch_new_report *nr;
	struct watch_report *r;
	struct net_opts net; /* the session's */
	struct graph_session s;
	struct graph_app *app; /* read when asked for; NULL if not */
	struct rotation rot;
	struct secret_info si; /* the new row (once stored) */
	struct x509_key key;   /* certificates: made here */
	uint8_t *cert;	       /* ... with this certificate (DER) */
	size_t cert_len;
	struct vbuf value;		 /* client secrets: from addPassword */
	struct graph_password added;	 /* ... its entry in Entra */
	char key_id[CRED_GUID_LEN + 1];	 /* the new key ID in Entra */
	char app_oid[CRED_GUID_LEN + 1]; /* the app's object ID, learned */
	bool maybe_made; /* a failed add may have made it all the same */
	bool diag_set;	 /* the add's failure is diagnosed in s.diag */
	int64_t learned; /* a lifetime a policy accepted, found by asking */
};

/* One kind of material a rotation makes: whether it is made here (a
 * certificate's key) or by Graph (a client secret's value), and how it
 * gets into the application. */
struct rotate_kind {
	enum secret_kind kind;
	/* Make the material here before the intent (NULL: Graph makes it).
	 * Returns 0, or -1 with e. */
	int (*make)(struct rotate_job *j, struct err *e);
	/* Add it to the application: 0 with j->key_id (and j->value for a
	 * secret), or -1 with res saying why (j->maybe_made when the
	 * answer leaves open whether Entra made it). */
	int (*add)(struct rotate_job *j, struct graph_result *res);
};

/* watch_rotate_lifetime.c: addPassword with the longest lifetime the
 * app's policy allows (the add of a client secret). */
int rotate_add_password(struct rotate_job *j, struct graph_result *res);

/* The kind that makes k. */
const struct rotate_kind *rotate_kind_of(enum secret_kind k);

/* The Graph call that adds material of kind k for v ("addPassword",
 * "addKey", "PATCH keyCredentials"), as the dispatcher would pick it:
 * addKey when v's active material is a certificate and the application's
 * object ID is known, else an upload of the collection. */
const char *rotate_add_call(const struct cred_view *v, enum secret_kind k);

/* Remove key_id of kind k from the application through session s
 * (removePassword; removeKey with a proof signed by s's certificate;
 * else the collection without it). Returns 0 when removed, 1 when it was
 * not there, -1 with res saying why. */
int rotate_remove(struct graph_session *s, enum secret_kind k,
		  const char *key_id, struct graph_result *res);

/* Open j's Graph session with the row v authenticates with (not j's
 * new row) and, with read, read the application into j->app (the roll of
 * a certificate needs no directory permission, and does not read it).
 * Returns 0, 1 when the token endpoint or the read failed (recorded;
 * j->s.diag says why), -1 with e. */
int rotate_session_open(struct rotate_job *j, bool read, struct err *e);
void rotate_session_close(struct rotate_job *j);

/* A Graph call through j's session failed (res; NULL: the token
 * request, j->s.diag says why): diagnose, count, record. Returns 0
 * (recorded) or -1 with e. */
int rotate_graph_failed(struct rotate_job *j, const char *kind,
			const char *key_id, const struct graph_result *res,
			struct err *e);

#endif
