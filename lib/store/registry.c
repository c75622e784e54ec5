/* registry.c - one transaction per thing a person registers. */
#include "registry.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "num.h"
#include "timefmt.h"
#include "validate.h"

/* Run what the caller did inside the open transaction to its end:
 * commit when rc is 0, else roll back. Returns rc, or -1. */
static int finish(struct store *s, int rc, struct err *e)
{
	if (rc == 0 && store_commit(s, e) == 0)
		return 0;
	store_rollback(s);
	return -1;
}

/* One reader per tenant: a second would list it again and warn twice. */
static int one_reader(struct store *s, const struct cred *c, struct err *e)
{
	char other[CRED_NAME_MAX + 1];
	int rc;

	if (!c->sweep)
		return 0;
	rc = store_reader_of(s, c->tenant, c->cloud, c->id, other,
			     sizeof(other), e);
	if (rc <= 0)
		return rc;
	err_set(
	    e,
	    "%s already reads tenant %s: one reader per tenant (secretwatch "
	    "cred set %s --no-sweep, or leave %s without --sweep)",
	    other, c->tenant, other, c->name);
	return -1;
}

int registry_cred_add(struct store *s, int64_t now, struct cred *c,
		      struct err *e)
{
	c->created_at = now;
	if (store_begin(s, e))
		return -1;
	return finish(
	    s,
	    one_reader(s, c, e) || store_cred_add(s, c, e) ||
		event_add(s, now, c->name, 0, "credential-added", NULL, e),
	    e);
}

int registry_cred_update(struct store *s, int64_t now, const struct cred *c,
			 const char *const *changed, size_t n, struct err *e)
{
	cJSON *d = cJSON_CreateObject(),
	      *f = cJSON_AddArrayToObject(d, "changed");

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(f, cJSON_CreateString(changed[i]));
	if (store_begin(s, e)) {
		cJSON_Delete(d);
		return -1;
	}
	if (one_reader(s, c, e) || store_cred_update(s, c, e) ||
	    (c->app_object_id[0] &&
	     store_cred_set_app_object_id(s, c->id, c->app_object_id, e))) {
		cJSON_Delete(d);
		return finish(s, -1, e);
	}
	return finish(
	    s, event_add(s, now, c->name, 0, "credential-changed", d, e), e);
}

static int count_live(void *p, const struct secret_info *si)
{
	if (si->state == SECRET_ACTIVE || si->state == SECRET_PENDING)
		(*(int *)p)++;
	return 0;
}

int registry_cred_rm(struct store *s, int64_t now, const char *name, bool force,
		     struct cred *ret, struct err *e)
{
	int live = 0;

	if (store_begin(s, e))
		return -1;
	if (store_cred_get(s, name, ret, e) ||
	    store_secret_each(s, ret->id, count_live, &live, e))
		return finish(s, -1, e);
	if (live > 0 && !force) {
		err_set(e,
			"credential %s still has %d active or pending "
			"secret(s): retire them first, or use --force",
			ret->name, live);
		return finish(s, -1, e);
	}
	return finish(
	    s,
	    store_cred_rm(s, ret->id, e) ||
		event_add(s, now, ret->name, 0, "credential-removed", NULL, e),
	    e);
}

struct dup_ctx {
	struct store *s;
	const struct vault *v;
	const struct vbuf *value;
	const char *key_id;
	int64_t dup_id;
	bool by_value;
	struct err *e;
};

static int find_dup(void *p, const struct secret_info *si)
{
	struct dup_ctx *d = p;
	struct vbuf other;

	if (d->key_id && strcasecmp(si->key_id, d->key_id) == 0) {
		d->dup_id = si->id;
		return 1;
	}
	if (si->state == SECRET_RETIRED || si->kind != SECRET_KIND_SECRET ||
	    store_secret_value(d->s, d->v, si->id, &other, d->e))
		return 0;
	if (other.len == d->value->len &&
	    vault_equal(other.p, d->value->p, other.len)) {
		d->dup_id = si->id;
		d->by_value = true;
	}
	vbuf_free(&other);
	return d->dup_id != 0;
}

int registry_secret_add(struct store *s, const struct vault *v, int64_t now,
			const struct cred *c, struct secret_info *si,
			const struct vbuf *value, struct err *e)
{
	struct dup_ctx d = {s, v,     value, si->key_id[0] ? si->key_id : NULL,
			    0, false, e};
	char exp[TIMEFMT_RFC3339_LEN];

	si->credential_id = c->id;
	si->created_at = now;
	if (store_begin(s, e))
		return -1;
	if (store_secret_each(s, c->id, find_dup, &d, e))
		return finish(s, -1, e);
	if (d.dup_id != 0) {
		err_set(e,
			"this secret is already registered for %s as #%lld "
			"(same %s): nothing to add",
			c->name, (long long)d.dup_id,
			d.by_value ? "value" : "key ID");
		return finish(s, -1, e);
	}
	timefmt_rfc3339(si->expires_at, exp);
	return finish(s,
		      store_secret_add(s, v, si, value->p, value->len, e) ||
			  event_addf(s, now, c->name, si->id, "secret-added", e,
				     "hint", si->hint, "key_id", si->key_id,
				     "expires_at", exp, EVENT_END),
		      e);
}

/* The row which names among c's: a row ID, or a key ID. */
struct which_ctx {
	const char *key_id;
	int64_t id;
	struct secret_info found;
	bool hit;
};

static int find_which(void *p, const struct secret_info *si)
{
	struct which_ctx *w = p;

	if ((w->key_id != NULL && strcasecmp(si->key_id, w->key_id) == 0) ||
	    (w->key_id == NULL && si->id == w->id)) {
		w->found = *si;
		w->hit = true;
	}
	return w->hit;
}

static int find_row(struct store *s, const struct cred *c, const char *which,
		    struct secret_info *ret, struct err *e)
{
	struct which_ctx w = {0};
	struct err ignored;

	if (validate_guid(which, "key ID", &ignored) == 0)
		w.key_id = which;
	else if (num_parse_i64(which, 1, INT64_MAX, &w.id)) {
		err_set(e,
			"secret ID '%.40s' is not a number nor a key ID: use "
			"the ID column of 'secretwatch secret list %s', or the "
			"Secret ID the portal shows",
			which, c->name);
		return -1;
	}
	if (store_secret_each(s, c->id, find_which, &w, e))
		return -1;
	if (!w.hit) {
		err_set(e,
			"%s has no secret with %s %s: see 'secretwatch secret "
			"list %s'",
			c->name, w.key_id ? "key ID" : "ID", which, c->name);
		return -1;
	}
	*ret = w.found;
	return 0;
}

int registry_secret_retire(struct store *s, int64_t now, const char *name,
			   const char *which, struct secret_info *ret,
			   struct err *e)
{
	struct cred c;

	if (store_begin(s, e))
		return -1;
	if (store_cred_get(s, name, &c, e) || find_row(s, &c, which, ret, e))
		return finish(s, -1, e);
	if (ret->state == SECRET_RETIRED) {
		err_set(e, "secret #%lld is already retired",
			(long long)ret->id);
		return finish(s, -1, e);
	}
	return finish(s,
		      store_secret_set_state(s, ret->id, SECRET_RETIRED, e) ||
			  event_addf(s, now, c.name, ret->id, "secret-retired",
				     e, "key_id", ret->key_id, "was",
				     secret_state_name(ret->state), EVENT_END),
		      e);
}

int registry_cert_add(struct store *s, const struct vault *v, int64_t now,
		      const struct cred *c, const struct x509_key *key,
		      const uint8_t *cert, size_t len, const char *note,
		      struct secret_info *si, struct x509_info *xi,
		      struct err *e)
{
	char t[TIMEFMT_RFC3339_LEN];

	if (x509_cert_info(cert, len, xi, e))
		return -1;
	timefmt_rfc3339(xi->not_after, t);
	if (xi->not_after <= now) {
		err_set(e,
			"the certificate expired at %s (its notAfter): make "
			"a new one with 'secretwatch cert new %s'",
			t, c->name);
		return -1;
	}
	memset(si, 0, sizeof(*si));
	si->credential_id = c->id;
	si->created_at = now;
	si->expires_at = xi->not_after;
	/* The hint of a certificate: its thumbprint's start, as the portal
	 * lists it. */
	memcpy(si->hint, xi->sha1_hex, 3);
	snprintf(si->note, sizeof(si->note), "%s", note ? note : "");
	if (store_begin(s, e))
		return -1;
	return finish(
	    s,
	    store_cert_add(s, v, si, key, cert, len, e) ||
		event_addf(s, now, c->name, si->id, "certificate-added", e,
			   "kind", "certificate", "thumbprint_sha1",
			   xi->sha1_hex, "thumbprint_sha256", xi->sha256_hex,
			   "expires_at", t, EVENT_END),
	    e);
}

int registry_rekey(struct store *s, const struct vault *old,
		   const struct vault *fresh, int64_t now, struct err *e)
{
	if (store_begin(s, e))
		return -1;
	return finish(s,
		      store_reencrypt_all(s, old, fresh, e) ||
			  event_add(s, now, NULL, 0, "rekey", NULL, e),
		      e);
}
