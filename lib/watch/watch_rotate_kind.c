/* watch_rotate_kind.c - the kinds a rotation makes, as data: a client
 * secret is made by Graph (addPassword, watch_rotate_lifetime.c;
 * removePassword); a certificate is
 * made here and added with addKey and a proof signed by the active
 * certificate (no directory permission needed), or, when the active
 * material is a client secret, by an upload of the keyCredentials
 * collection (removed the same way). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "secmem.h"
#include "timefmt.h"
#include "watch_rotate_impl.h"

/* ------------------------------------------------------------------ */
/* Certificates */

/* A random version-4 GUID: the key ID asked for, so that an interrupted
 * addKey can be undone by it. */
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

/* The key and certificate, and the pending row that will hold them. */
static int make_cert(struct rotate_job *j, struct err *e)
{
	struct watch_ctx *w = j->w;
	const struct watch_rotation *want = j->want;
	int64_t life = policy_rotate_end(w->now, w->cfg, 0) - w->now;
	int days = want->days > 0 ? want->days : (int)(life / 86400);
	struct x509_info xi;

	if (x509_generate(j->v->cred.name, want->bits ? want->bits : 2048,
			  days > 0 ? days : 1, w->now, &j->key, &j->cert,
			  &j->cert_len, e) ||
	    x509_cert_info(j->cert, j->cert_len, &xi, e))
		return -1;
	memset(&j->si, 0, sizeof(j->si));
	j->si.made_by_rotation = !j->want->manual;
	j->si.credential_id = j->v->cred.id;
	j->si.created_at = w->now;
	j->si.expires_at = xi.not_after;
	/* A certificate's hint: its thumbprint's start, as the portal
	 * lists it. */
	memcpy(j->si.hint, xi.sha1_hex, 3);
	new_key_id(j->si.key_id);
	return 0;
}

/* Whether the session can sign addKey's proof: a certificate of the app
 * whose object ID is known. */
static bool can_roll(const struct cred *c, const struct material *m)
{
	return m->kind == SECRET_KIND_CERTIFICATE && c->app_object_id[0];
}

/* addKey with the key ID chosen for the row, so that an interrupted call
 * can be undone by it. Graph's documented request carries none: a 400 is
 * asked once more without one, Graph choosing. */
static int add_key(struct rotate_job *j, struct graph_result *res)
{
	const struct cred *c = &j->v->cred;
	struct vbuf proof = {0};
	struct err e;
	int rc;

	if (material_pop(&j->s.m, c->app_object_id, j->w->now, &proof, &e)) {
		memset(res, 0, sizeof(*res));
		err_fmt(res->summary, sizeof(res->summary), "%s", e.msg);
		return -1;
	}
	rc = graph_add_key(&j->s.g, j->cert, j->cert_len, j->si.key_id,
			   j->rot.display_name, proof.p, proof.len, j->key_id,
			   res);
	if (rc != 0 && res->http_status == 400) {
		watch_log(j->w, LOG_NOTICE,
			  "%s: %s; asking once more without a key ID of our "
			  "choosing",
			  c->name, res->summary);
		rc = graph_add_key(&j->s.g, j->cert, j->cert_len, NULL,
				   j->rot.display_name, proof.p, proof.len,
				   j->key_id, res);
	}
	vbuf_free(&proof);
	return rc;
}

/* A certificate of an app whose object ID is not known cannot roll
 * itself, and the upload needs a permission it does not have: say how
 * to give the object ID. */
static void no_object_id(struct rotate_job *j, const struct graph_result *res)
{
	struct diag *d = &j->s.diag;
	const char *name = j->v->cred.name;

	graph_session_diagnose(&j->s, res, NULL);
	snprintf(d->summary, sizeof(d->summary),
		 "the certificate of %s cannot roll itself: the application's "
		 "object ID is not known, and uploading needs a Graph "
		 "permission the app does not have",
		 name);
	snprintf(d->remedy, sizeof(d->remedy),
		 "Give the app registration's Object ID (Entra admin center > "
		 "App registrations > the app > Overview): secretwatch cred "
		 "set %s --app-object-id <Object ID>. Or grant "
		 "Application.ReadWrite.OwnedBy, so that secretwatch reads it.",
		 name);
	j->diag_set = true;
}

static int add_cert(struct rotate_job *j, struct graph_result *res)
{
	int rc;

	if (can_roll(&j->v->cred, &j->s.m))
		rc = add_key(j, res);
	else
		rc = graph_add_certificate(&j->s.g, j->cert, j->cert_len,
					   j->rot.display_name, j->key_id,
					   j->app_oid, res);
	if (rc != 0 && res->http_status == 403 &&
	    j->s.m.kind == SECRET_KIND_CERTIFICATE)
		no_object_id(j, res);
	j->maybe_made =
	    rc != 0 && (res->http_status < 400 || res->http_status >= 500);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The table and the dispatchers */

static const struct rotate_kind kinds[] = {
    {SECRET_KIND_SECRET, NULL, rotate_add_password},
    {SECRET_KIND_CERTIFICATE, make_cert, add_cert},
};

const struct rotate_kind *rotate_kind_of(enum secret_kind k)
{
	return &kinds[k == SECRET_KIND_CERTIFICATE];
}

const char *rotate_add_call(const struct cred_view *v, enum secret_kind k)
{
	const struct secret_info *si = graph_session_row(v, 0);

	if (k == SECRET_KIND_SECRET)
		return "addPassword";
	if (si != NULL && si->kind == SECRET_KIND_CERTIFICATE &&
	    v->cred.app_object_id[0])
		return "addKey";
	return "PATCH keyCredentials";
}

int rotate_remove(struct graph_session *s, enum secret_kind k,
		  const char *key_id, struct graph_result *res)
{
	struct vbuf proof = {0};
	struct err e;
	int rc;

	if (k == SECRET_KIND_SECRET)
		return graph_remove_password(&s->g, key_id, res) ? -1 : 0;
	if (!can_roll(s->cred, &s->m))
		return graph_remove_certificate(&s->g, key_id, res);
	if (material_pop(&s->m, s->cred->app_object_id, s->now, &proof, &e)) {
		memset(res, 0, sizeof(*res));
		err_fmt(res->summary, sizeof(res->summary), "%s", e.msg);
		return -1;
	}
	rc = graph_remove_key(&s->g, key_id, proof.p, proof.len, res);
	vbuf_free(&proof);
	if (rc != 0 && res->http_status == 404)
		return 1; /* not there: Graph says so */
	return rc ? -1 : 0;
}
