/* watch_rollkey.c - a certificate rolled by the app itself, with no
 * directory permission (PROTOCOL.md §8.2): addKey and removeKey with a
 * proof of possession signed by the active certificate. The same
 * crash-safe order as a secret's rotation (watch_rotate.c), with one
 * difference: the new key is made here, so it is stored pending, with the
 * key ID asked for, in the transaction that opens the intent (the pending
 * row carries the intent's display name). An intent found open means a
 * process died around addKey: that key ID is removed from Entra (a
 * 404 says it never got there) and the row fails, before a new try. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "material.h"
#include "secmem.h"
#include "timefmt.h"
#include "watch_impl.h"
#include "x509.h"

/* A Graph session of the active certificate: its material (for the
 * proofs) and a token got with its assertion. */
struct roll {
	const struct cred *c;
	struct material m;
	struct net_opts net;
	struct entra_token tok;
	struct graph_ctx g;
	struct vbuf proof;
};

static void roll_close(struct roll *k)
{
	material_free(&k->m);
	entra_token_free(&k->tok);
	vbuf_free(&k->proof);
}

static int roll_failed(struct watch_ctx *w, const struct roll *k,
		       const char *kind, const char *key_id,
		       const char *summary, struct watch_report *r,
		       struct err *e)
{
	return watch_record_graph_failed(w, k->c->name, k->m.id, kind, key_id,
					 NULL, summary, r, e);
}

/* Token and proof with v's active certificate. Returns 0, 1 when the
 * token endpoint refused (recorded), -1 with e. */
static int roll_open(struct watch_ctx *w, const struct cred_view *v,
		     struct roll *k, struct watch_report *r, struct err *e)
{
	struct entra_request rq;
	struct entra_result res;

	memset(k, 0, sizeof(*k));
	k->c = &v->cred;
	k->net.ca_file = w->cfg->ca_file[0] ? w->cfg->ca_file : NULL;
	k->g = (struct graph_ctx){k->c, &k->net, w->retry, &k->tok};
	if (material_open(w->store, w->vault, &v->active, &k->m, e) ||
	    x509_proof(&k->m.value, k->m.cert, k->m.cert_len,
		       k->c->app_object_id, w->now, &k->proof, e))
		return -1;
	graph_token_request(k->c, &rq);
	if (material_token(&k->m, &rq, &k->net, w->retry, w->now, &res,
			   &k->tok) == 0)
		return 0;
	return roll_failed(w, k, "graph-token", v->active.key_id, res.summary,
			   r, e)
		   ? -1
		   : 1;
}

/* removeKey key_id, recorded. Returns 0 when removed (or absent: gone
 * is true then), 1 when Graph refused, -1 with e. */
static int roll_remove(struct watch_ctx *w, struct roll *k, const char *key_id,
		       const char *why, bool *gone, struct watch_report *r,
		       struct err *e)
{
	struct graph_result res;

	*gone = false;
	if (graph_remove_key(&k->g, key_id, k->proof.p, k->proof.len, &res)) {
		if (res.http_status == 404) {
			*gone = true;
			return 0;
		}
		return roll_failed(w, k, "graph-remove", key_id, res.summary, r,
				   e)
			   ? -1
			   : 1;
	}
	return watch_record_removed(w, k->c->name, "certificate key", key_id,
				    why, e);
}

struct by_note {
	const char *note;
	struct secret_info found;
	bool hit;
};

static int find_note(void *p, const struct secret_info *si)
{
	struct by_note *b = p;

	if (si->kind == SECRET_KIND_CERTIFICATE &&
	    strcmp(si->note, b->note) == 0) {
		b->found = *si;
		b->hit = true;
	}
	return 0;
}

/* Close intent rot; fail its pending row (fail_id, unless 0). */
static int close_failed(struct watch_ctx *w, const struct cred *c,
			const struct rotation *rot, int64_t fail_id,
			struct err *e)
{
	if (store_begin(w->store, e))
		return -1;
	if (store_rotation_close(w->store, rot->id, false, 0, NULL, w->now, e) <
		0 ||
	    (fail_id && store_secret_fail(w->store, fail_id, e) < 0) ||
	    watch_event(w, c->name, fail_id, "rotation-recovered", e,
			"display_name", rot->display_name, WATCH_END)) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

/* The intent's certificate passed its test and was switched to: Entra
 * has it; close the intent as done. */
static int close_done(struct watch_ctx *w, const struct cred *c,
		      const struct rotation *rot, const struct secret_info *si,
		      struct err *e)
{
	watch_log(w, LOG_NOTICE,
		  "%s: certificate rotation '%s' was interrupted after addKey; "
		  "its certificate is in use",
		  c->name, rot->display_name);
	if (store_begin(w->store, e))
		return -1;
	if (store_rotation_close(w->store, rot->id, true, si->id, si->key_id,
				 w->now, e) < 0 ||
	    watch_event(w, c->name, si->id, "rotation-recovered", e,
			"display_name", rot->display_name, "key_id", si->key_id,
			WATCH_END)) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e) ? -1 : 2;
}

/* An intent left open: when its certificate was switched to, close it
 * done (2); else remove its key from Entra, fail its row, close it (0).
 * Returns 1 when not closed (Graph refused), -1 with e. */
static int roll_recover(struct watch_ctx *w, struct roll *k,
			const struct rotation *rot, struct watch_report *r,
			struct err *e)
{
	struct by_note b = {.note = rot->display_name};
	bool gone;
	int rc = 0;

	if (store_secret_each(w->store, k->c->id, find_note, &b, e))
		return -1;
	if (b.hit && (b.found.state == SECRET_ACTIVE ||
		      b.found.state == SECRET_PREVIOUS))
		return close_done(w, k->c, rot, &b.found, e);
	/* Pending, or failed its test: Entra may hold its key all the same
	 * (not replicated yet); remove it by the key ID asked for. */
	b.hit = b.hit && (b.found.state == SECRET_PENDING ||
			  b.found.state == SECRET_FAILED);
	if (b.hit && b.found.key_id[0])
		rc = roll_remove(w, k, b.found.key_id, "orphan", &gone, r, e);
	if (rc != 0)
		return rc;
	watch_log(w, LOG_NOTICE,
		  "%s: certificate rotation '%s' was "
		  "interrupted; its key is gone from Entra",
		  k->c->name, rot->display_name);
	return close_failed(w, k->c, rot, b.hit ? b.found.id : 0, e);
}

/* A random version-4 GUID: the key ID asked for. */
static void new_key_id(char out[CRED_GUID_LEN + 1])
{
	unsigned char b[16];

	secmem_random(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, CRED_GUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* The intent and the new certificate, pending, in one transaction.
 * Returns 0 with *rot and *si, 1 when a rotation is in flight, -1. */
static int roll_intent(struct watch_ctx *w, const struct cred *c,
		       const struct vbuf *key, const uint8_t *cert, size_t len,
		       struct rotation *rot, struct secret_info *si,
		       struct err *e)
{
	struct x509_info xi;
	int rc;

	if (x509_cert_info(cert, len, &xi, e) || store_begin(w->store, e))
		return -1;
	rc = store_rotation_open(w->store, c->id, "secretwatch certificate",
				 xi.not_after, w->now, rot, e);
	memset(si, 0, sizeof(*si));
	si->credential_id = c->id;
	si->created_at = w->now;
	si->expires_at = xi.not_after;
	memcpy(si->hint, xi.sha1_hex, 3);
	new_key_id(si->key_id);
	snprintf(si->note, sizeof(si->note), "%s", rot->display_name);
	if (rc == 0)
		rc = store_cert_add(w->store, w->vault, si, key, cert, len, e);
	if (rc == 0)
		rc = watch_event(w, c->name, si->id, "rotation-intent", e,
				 "display_name", rot->display_name, "key_id",
				 si->key_id, "thumbprint_sha1", xi.sha1_hex,
				 WATCH_END);
	if (rc != 0) {
		store_rollback(w->store);
		return rc;
	}
	return store_commit(w->store, e);
}

/* addKey with the key ID chosen for si, so that an interrupted call can
 * be undone by it. Graph's documented request carries none (PROTOCOL.md
 * §8.2): a 400 is asked once more without one, Graph choosing (an
 * interrupted second call is then found by its test, not its ID).
 * Returns as graph_add_key. */
static int add_key(struct watch_ctx *w, struct roll *k,
		   const struct rotation *rot, const struct secret_info *si,
		   const uint8_t *cert, size_t len,
		   char key_id[CRED_GUID_LEN + 1], struct graph_result *res)
{
	if (graph_add_key(&k->g, cert, len, si->key_id, rot->display_name,
			  k->proof.p, k->proof.len, key_id, res) == 0 ||
	    res->http_status != 400)
		return res->ok ? 0 : -1;
	watch_log(w, LOG_NOTICE,
		  "%s: %s; asking once more without a key ID of our choosing",
		  k->c->name, res->summary);
	return graph_add_key(&k->g, cert, len, NULL, rot->display_name,
			     k->proof.p, k->proof.len, key_id, res);
}

/* addKey for the pending row si; close the intent. Returns 0 when Entra
 * has it, 1 when not (recorded), -1 with e. */
static int roll_add(struct watch_ctx *w, struct roll *k,
		    const struct rotation *rot, const struct secret_info *si,
		    const uint8_t *cert, size_t len, struct watch_report *r,
		    struct err *e)
{
	struct graph_result res;
	char key_id[CRED_GUID_LEN + 1];

	if (add_key(w, k, rot, si, cert, len, key_id, &res)) {
		if (roll_failed(w, k, "graph-add", si->key_id, res.summary, r,
				e))
			return -1;
		/* A refusal made nothing; anything else may have: the
		 * intent stays open for the next cycle to undo. */
		if (res.http_status >= 400 && res.http_status < 500)
			return close_failed(w, k->c, rot, si->id, e) ? -1 : 1;
		return 1;
	}
	if (store_begin(w->store, e))
		return -1;
	if (store_cert_set_key_id(w->store, si->id, key_id, e) < 0 ||
	    store_rotation_close(w->store, rot->id, true, si->id, key_id,
				 w->now, e) < 0 ||
	    store_counter_add(w->store, COUNTER_ROTATIONS, 1, e) ||
	    watch_event(w, k->c->name, si->id, "graph-add", e, "key_id", key_id,
			"outcome", "ok", "display_name", rot->display_name,
			WATCH_END)) {
		store_rollback(w->store);
		return -1;
	}
	r->rotations++;
	watch_log(w, LOG_NOTICE,
		  "%s: new certificate %s~ (key %s) added with "
		  "addKey",
		  k->c->name, si->hint, key_id);
	return store_commit(w->store, e);
}

/* A new key, the intent, addKey. Returns 0 with *ret_id (the pending
 * row) when Entra has it, 1 when not, -1 with e. */
static int roll_new(struct watch_ctx *w, struct roll *k, int64_t *ret_id,
		    struct watch_report *r, struct err *e)
{
	int64_t end = policy_rotate_end(w->now, w->cfg, 0);
	int days = (int)((end - w->now) / 86400);
	struct secret_info si;
	struct rotation rot;
	struct vbuf key = {0};
	uint8_t *cert = NULL;
	size_t len = 0;
	int rc;

	if (x509_generate(k->c->name, 2048, days > 0 ? days : 1, w->now, &key,
			  &cert, &len, e))
		return -1;
	rc = roll_intent(w, k->c, &key, cert, len, &rot, &si, e);
	vbuf_free(&key);
	if (rc == 0)
		rc = roll_add(w, k, &rot, &si, cert, len, r, e);
	free(cert);
	*ret_id = si.id;
	return rc;
}

int watch_rollkey_step(struct watch_ctx *w, const struct cred_view *v,
		       struct watch_report *r, struct err *e)
{
	struct probe_result pr;
	struct cred_view *nv;
	struct rotation rot;
	struct roll k;
	int64_t id = 0;
	int rc;

	if (v->cred.app_object_id[0] == '\0') {
		watch_log(w, LOG_WARNING,
			  "%s: the application's object ID is not known; "
			  "upload the certificate with 'cert new --upload' "
			  "or 'migrate' first",
			  v->cred.name);
		return 0;
	}
	rc = roll_open(w, v, &k, r, e);
	if (rc == 0) {
		rc = store_rotation_get_open(w->store, v->cred.id, &rot, e);
		if (rc == 0)
			rc = roll_recover(w, &k, &rot, r, e);
		else if (rc == 1)
			rc = 0; /* none open */
		if (rc == 0)
			rc = roll_new(w, &k, &id, r, e);
	}
	roll_close(&k);
	if (rc == 2)
		return 0; /* recovered: the rotation was done */
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	/* The switch, now: tested with a token request and a send. */
	if (store_view_get(w->store, v->cred.name, &nv, e))
		return -1;
	rc = watch_switch(w, nv, id, false, &pr, r, e);
	probe_result_free(&pr);
	free(nv);
	return rc < 0 ? -1 : 0;
}

struct prev_certs {
	const struct secret_info *active;
	struct secret_info list[16];
	int n;
};

static int collect_certs(void *p, const struct secret_info *si)
{
	struct prev_certs *pc = p;

	if (si->state == SECRET_PREVIOUS &&
	    si->kind == SECRET_KIND_CERTIFICATE && si->key_id[0] &&
	    strcmp(si->key_id, pc->active->key_id) != 0 && pc->n < 16)
		pc->list[pc->n++] = *si;
	return 0;
}

int watch_rollkey_revoke(struct watch_ctx *w, const struct cred_view *v,
			 struct watch_report *r, struct err *e)
{
	struct prev_certs pc;
	struct cred_view *nv;
	struct roll k;
	bool gone;
	int rc;

	/* As the store is now: a switch earlier in this cycle starts the
	 * grace period again. */
	if (store_view_get(w->store, v->cred.name, &nv, e))
		return -1;
	pc.active = &nv->active;
	pc.n = 0;
	rc = store_secret_each(w->store, v->cred.id, collect_certs, &pc, e);
	if (rc != 0 || pc.n == 0 || !nv->has_active ||
	    nv->active.kind != SECRET_KIND_CERTIFICATE ||
	    nv->cred.app_object_id[0] == '\0' ||
	    policy_revoke_at(nv, w->cfg) == 0 ||
	    policy_revoke_at(nv, w->cfg) > w->now) {
		free(nv);
		return rc;
	}
	rc = roll_open(w, nv, &k, r, e);
	for (int i = 0; rc == 0 && i < pc.n; i++) {
		rc = roll_remove(w, &k, pc.list[i].key_id, "revoke", &gone, r,
				 e);
		if (rc != 0 || store_begin(w->store, e))
			break;
		if (store_secret_revoke(w->store, pc.list[i].id, w->now, e) <
			0 ||
		    watch_event(w, v->cred.name, pc.list[i].id, "revoked", e,
				"key_id", pc.list[i].key_id, "entra",
				gone ? "absent already" : "removed",
				WATCH_END)) {
			store_rollback(w->store);
			rc = -1;
			break;
		}
		rc = store_commit(w->store, e);
		r->revocations++;
	}
	roll_close(&k);
	free(nv);
	return rc < 0 ? -1 : 0;
}
