/* store.h - the SQLite store: open, migrate, transactions, and the queries
 * of credentials (store_cred.c), secrets (store_secret.c) and the audit
 * trail (store_event.c). Only store*.c include <sqlite3.h>.
 *
 * Functions that change several rows do not open their own transaction:
 * the caller wraps them in store_begin/store_commit, so one user action is
 * one transaction.
 *
 * Returns: 0 when done, -1 with e filled on an error. A compare-and-set
 * (its comment says so) returns 1 when its condition no longer held and
 * nothing was changed: the caller rolls back and owes nothing. A lookup
 * that may find nothing returns 1 for "none" (its comment says so). The
 * files: store.c (open, migrations, transactions, key check),
 * store_cred.c, store_secret.c, store_cert.c, store_rotate.c,
 * store_sync.c, store_event.c, store_schedule.c (warnings, switch tries,
 * counters), store_outbox.c, store_token.c.
 */
#ifndef SW_STORE_H
#define SW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cred.h"
#include "err.h"
#include "vault.h"

struct store;

enum store_mode {
	STORE_EXISTING, /* the database must exist and be initialised */
	STORE_CREATE,	/* create it (0600, directory 0700) when missing */
	STORE_READONLY, /* as EXISTING, but never written: for commands that
			 * only read, run by users who may not write */
};

/* Open, set WAL, busy timeout and foreign keys, and apply pending
 * migrations in one transaction. A database newer than this binary is
 * refused. */
int store_open(const char *path, enum store_mode mode, struct store **ret,
	       struct err *e);
void store_close(struct store *s);

/* Make the directory of the database at path 0700 and the database with
 * its -wal and -shm files 0600 where they are more open (for init on
 * files made by hand). *ret_note (size bytes) lists what was changed, ""
 * when nothing was. Returns 0, or -1 with e when a mode cannot be set. */
int store_tighten_modes(const char *path, char *ret_note, size_t size,
			struct err *e);

/* The schema version of the open database and of this binary. */
int store_schema_version(struct store *s);
int store_schema_latest(void);

/* BEGIN IMMEDIATE (waits for other writers up to the busy timeout). */
int store_begin(struct store *s, struct err *e);
int store_commit(struct store *s, struct err *e);
/* Roll back an open transaction; harmless when none is open. */
void store_rollback(struct store *s);

/* Key check: store_key_init writes the key-check value if there is none
 * (sets *ret_written); store_key_check fails with a clear message when v
 * is not the key this database was made with. */
int store_key_init(struct store *s, const struct vault *v, int *ret_written,
		   struct err *e);
int store_key_check(struct store *s, const struct vault *v, struct err *e);
/* 1 when the database has a key-check value, 0 when not, -1 on error. */
int store_key_present(struct store *s, struct err *e);

/* Credentials. */
int store_cred_add(struct store *s, struct cred *c, struct err *e);
int store_cred_get(struct store *s, const char *name, struct cred *ret,
		   struct err *e);
int store_cred_rm(struct store *s, int64_t id, struct err *e);
/* Change credential c->id to c (every field cred add sets, and
 * token_file). Returns 0, or -1 with e. */
int store_cred_update(struct store *s, const struct cred *c, struct err *e);
/* Record the longest lifetime (seconds) a policy let a new secret of
 * credential id have (cred.lifetime_max). */
int store_cred_set_lifetime_max(struct store *s, int64_t id, int64_t secs,
				struct err *e);
/* Record the application's object ID, as Graph named it. */
int store_cred_set_app_object_id(struct store *s, int64_t id, const char *oid,
				 struct err *e);
/* Record what the token file of credential id holds (secret_id and
 * expires_at, 0 = nothing) and since when refreshing it has failed
 * (failed_at, 0 = not failing). Returns 0, or -1 with e. */
int store_cred_token_file(struct store *s, int64_t id, int64_t secret_id,
			  int64_t expires_at, int64_t failed_at, struct err *e);
typedef int (*store_cred_fn)(void *ctx, const struct cred *c);
int store_cred_each(struct store *s, store_cred_fn fn, void *ctx,
		    struct err *e);

typedef int (*store_view_fn)(void *ctx, const struct cred_view *v);
/* Every credential (name NULL) or one, in name order, streamed: memory
 * does not grow with the number of credentials. Stops when fn returns
 * non-zero. An unknown name is an error. */
int store_view_each(struct store *s, const char *name, store_view_fn fn,
		    void *ctx, struct err *e);
/* One credential's view in *ret, malloc'd (free with free()). */
int store_view_get(struct store *s, const char *name, struct cred_view **ret,
		   struct err *e);

/* Secrets. store_secret_add inserts a pending secret and encrypts value
 * bound to the new row; sets ret->id and ret->state. */
int store_secret_add(struct store *s, const struct vault *v,
		     struct secret_info *info, const char *value, size_t len,
		     struct err *e);
int store_secret_get(struct store *s, int64_t id, struct secret_info *ret,
		     struct err *e);
typedef int (*store_secret_fn)(void *ctx, const struct secret_info *si);
/* Secrets of one credential (credential_id 0: all), newest first. */
int store_secret_each(struct store *s, int64_t credential_id,
		      store_secret_fn fn, void *ctx, struct err *e);
/* Decrypt a secret's value into guarded memory. */
int store_secret_value(struct store *s, const struct vault *v, int64_t id,
		       struct vbuf *ret, struct err *e);
int store_secret_set_state(struct store *s, int64_t id, enum secret_state state,
			   struct err *e);
/* Mark pending secret id failed, as a compare-and-set: returns 0 when
 * done, 1 (nothing to keep: roll the transaction back) when id is no
 * longer pending, -1 with e. */
int store_secret_fail(struct store *s, int64_t id, struct err *e);
/* Make pending secret id active and the credential's active one previous,
 * as a compare-and-set: returns 0 when done, 1 (nothing to keep: roll the
 * transaction back) when id is no longer pending, -1 with e. Call inside
 * a transaction. */
int store_secret_activate(struct store *s, int64_t credential_id, int64_t id,
			  int64_t now, struct err *e);
int store_secret_record_test(struct store *s, int64_t id, int64_t at, int ok,
			     const char *detail, struct err *e);
/* Certificates (store_cert.c). store_cert_add inserts a pending row of
 * kind certificate: the private key (DER) encrypted like a secret's value,
 * the certificate (DER) as is; sets ret->id, state and kind. Call inside
 * a transaction. */
struct x509_key;
int store_cert_add(struct store *s, const struct vault *v,
		   struct secret_info *info, const struct x509_key *key,
		   const uint8_t *cert, size_t cert_len, struct err *e);
/* The certificate of row id, malloc'd into *ret (free()). */
int store_cert_get(struct store *s, int64_t id, uint8_t **ret, size_t *ret_len,
		   struct err *e);
/* The key ID Entra gave pending certificate row id, where it differs from
 * the one asked for. A compare-and-set: 0 changed, 1 nothing to change
 * (not pending, or the same ID), -1 with e. */
int store_cert_set_key_id(struct store *s, int64_t id, const char *key_id,
			  struct err *e);
/* Remember the client-assertion signature ("PS256", "RS256") that the
 * token endpoint accepted for row id. */
int store_cert_set_alg(struct store *s, int64_t id, const char *alg,
		       struct err *e);
/* Reconciling with Entra (store_sync.c), inside a transaction, each a
 * compare-and-set returning 0 when it changed the row, 1 when there was
 * nothing to change, -1 with e. correct: set the expiry Entra has, and
 * the key ID when the row had none. mark_removed: note (once) that the
 * secret is gone from Entra. */
int store_sync_correct(struct store *s, int64_t id, int64_t expires_at,
		       const char *key_id, struct err *e);
int store_sync_mark_removed(struct store *s, int64_t id, int64_t at,
			    struct err *e);
/* Rotation intents (store_rotate.c; docs/ARCHITECTURE.md §6), inside the
 * caller's transaction. */
#define ROTATION_NAME_MAX 160
struct rotation {
	int64_t id;
	int64_t credential_id;
	char display_name[ROTATION_NAME_MAX + 1]; /* unique */
	int64_t requested_end;
	int64_t created_at;
};
/* Open an intent for credential_id, named base and " #<its number>"
 * (unique), as a compare-and-set: returns 0 with *ret, 1 when one is
 * open already (a rotation in flight: nothing written), -1 with e. */
int store_rotation_open(struct store *s, int64_t credential_id,
			const char *base, int64_t requested_end, int64_t now,
			struct rotation *ret, struct err *e);
/* The newest pending secret of credential_id that a rotation made: 0
 * with *ret, 1 when none, -1 with e. */
int store_rotation_in_flight(struct store *s, int64_t credential_id,
			     struct secret_info *ret, struct err *e);
/* The open intent of credential_id: 0 with *ret, 1 when none, -1. */
int store_rotation_get_open(struct store *s, int64_t credential_id,
			    struct rotation *ret, struct err *e);
/* Close intent id, done (the new secret_id and key_id stored) or
 * abandoned (nothing of it left in Entra), as a compare-and-set: 0 when
 * closed, 1 when it was not open, -1 with e. */
int store_rotation_close(struct store *s, int64_t id, bool done,
			 int64_t secret_id, const char *key_id, int64_t now,
			 struct err *e);
/* Previous secret id (or a failed one a rotation made), removed from
 * Entra, becomes revoked: its ciphertext and cached tokens go.
 * Compare-and-set: 0, 1 when id was neither, -1 with e. */
int store_secret_revoke(struct store *s, int64_t id, int64_t now,
			struct err *e);
/* Re-encrypt every secret and cached token from old to new. */
int store_reencrypt_all(struct store *s, const struct vault *old,
			const struct vault *new_key, struct err *e);

/* The audit trail. detail_json is a JSON object (NULL: "{}"). */
int store_event_add(struct store *s, int64_t at, const char *credential,
		    int64_t secret_id, const char *kind,
		    const char *detail_json, struct err *e);
struct event_row {
	int64_t id;
	int64_t at;
	const char *credential; /* may be NULL */
	int64_t secret_id;	/* 0 when none */
	const char *kind;
	const char *detail; /* JSON object text */
};
typedef int (*store_event_fn)(void *ctx, const struct event_row *ev);
/* When secret_id of credential last passed a test (a "test-passed" or
 * "switched" event in the trail): *ret_at, 0 when never. */
int store_event_passed_at(struct store *s, const char *credential,
			  int64_t secret_id, int64_t *ret_at, struct err *e);

/* Events in time order, of one credential (NULL: all), at or after since. */
int store_event_each(struct store *s, const char *credential, int64_t since,
		     store_event_fn fn, void *ctx, struct err *e);

/* The watchdog's records (store_schedule.c, store_outbox.c,
 * store_token.c). */

/* Mark threshold (days, 0 = expiry) and every larger one in thresholds[]
 * as alerted for the secret. Returns 0 when this call marked threshold,
 * 1 when it was marked already (another process alerted: owe nothing),
 * -1 with e. */
int store_warning_mark(struct store *s, int64_t secret_id, int threshold,
		       const int *thresholds, int n, int64_t now,
		       struct err *e);

/* Switch attempts: when the first was made and when to try again. */
int store_secret_schedule(struct store *s, int64_t id, int64_t first_try_at,
			  int64_t next_try_at, struct err *e);

/* A credential's counters. */
enum cred_counter { CRED_SWITCHES, CRED_TEST_FAILURES };

/* Add delta to a credential's counter, and set its last check time when
 * check_at > 0. */
int store_cred_count(struct store *s, int64_t credential_id,
		     enum cred_counter counter, int64_t delta, int64_t check_at,
		     struct err *e);

/* The store-wide counters (kept in meta). */
enum store_counter {
	COUNTER_ALERT_DELIVERY_FAILURES,
	COUNTER_ROTATIONS,	/* new secrets made through Graph */
	COUNTER_GRAPH_FAILURES, /* Graph calls that failed */
};

int store_counter_add(struct store *s, enum store_counter c, int64_t delta,
		      struct err *e);
int64_t store_counter_get(struct store *s, enum store_counter c);

enum outbox_kind { OUTBOX_ALERT, OUTBOX_DEPLOY };
#define OUTBOX_CHANNEL_MAX 16
#define OUTBOX_PAYLOAD_MAX 16384
struct outbox_row {
	int64_t id;
	int64_t created_at;
	enum outbox_kind kind;
	char channel[OUTBOX_CHANNEL_MAX]; /* "" for a deploy */
	int64_t credential_id;
	int64_t secret_id; /* 0 when none */
	char payload[OUTBOX_PAYLOAD_MAX];
	int attempts;
};
/* Owe a delivery: an alert on one channel, or a deploy of a secret. */
int store_outbox_add(struct store *s, enum outbox_kind kind,
		     const char *channel, int64_t credential_id,
		     int64_t secret_id, const char *payload, int64_t now,
		     struct err *e);
/* Deliveries due at now and not claimed, oldest first, at most max: *ret
 * is malloc'd. */
int store_outbox_due(struct store *s, int64_t now, size_t max,
		     struct outbox_row **ret, size_t *ret_n, struct err *e);
/* The earliest next_at of an owed delivery, or 0 when none is owed. */
int64_t store_outbox_next(struct store *s);
/* Claim delivery id until `until` (a compare-and-set): 0 when this call
 * holds it now, 1 when it is done, not due or held by another deliverer,
 * -1 with e. done and retry release the claim. */
int store_outbox_claim(struct store *s, int64_t id, int64_t now, int64_t until,
		       struct err *e);
int store_outbox_done(struct store *s, int64_t id, int64_t now, struct err *e);
/* Try again at next_at, or (next_at 0) give up; error says why. */
int store_outbox_retry(struct store *s, int64_t id, int64_t now,
		       int64_t next_at, const char *error, struct err *e);

/* Cached access tokens, encrypted like secrets. store_token_get returns 1
 * and fills *ret (guarded memory) when a token for (secret, scope) is
 * valid until at least min_valid_until, 0 when there is none. */
int store_token_get(struct store *s, const struct vault *v, int64_t secret_id,
		    const char *scope, int64_t min_valid_until,
		    struct vbuf *ret, int64_t *ret_expires_at, struct err *e);
int store_token_put(struct store *s, const struct vault *v, int64_t secret_id,
		    const char *scope, const char *token, size_t len,
		    int64_t expires_at, struct err *e);
/* ------------------------------------------------------------------ */
/* The tenant sweep (store_inventory.c, schema 010) */

#define INV_NAME_MAX 256

/* One credential of a tenant's application or service principal. */
struct inv_item {
	int64_t id;
	int64_t reader_id;    /* the credential that reads the tenant */
	char object_kind[20]; /* "application", "servicePrincipal" */
	char object_id[CRED_GUID_LEN + 1];
	char app_id[CRED_GUID_LEN + 1];
	char display_name[INV_NAME_MAX + 1];
	char key_id[CRED_GUID_LEN + 1];
	enum secret_kind kind;
	char usage[8];
	char name[INV_NAME_MAX + 1]; /* the credential's display name */
	char hint[4];
	int64_t starts_at;
	int64_t expires_at;
	bool microsoft;	       /* a service principal of Microsoft's own */
	bool saml;	       /* a SAML token-signing certificate */
	bool managed;	       /* secretwatch holds it (a stored key ID) */
	int owners;	       /* its object's owners; -1: not read */
	int warned_min;	       /* smallest threshold alerted, -1: none */
	int64_t first_seen_at; /* when a sweep first listed it */
};

/* A sweep of reader's tenant starts: *ret_id names it. A
 * compare-and-set when claim_s > 0: 1 (nothing written) when another
 * sweep of reader began less than claim_s ago. */
int store_sweep_begin(struct store *s, int64_t reader_id, int64_t now,
		      int64_t claim_s, int64_t *ret_id, struct err *e);

/* Keep it (a new row, or the same row updated), seen by sweep (or a
 * later one that saw it already). Inside the caller's transaction. Sets
 * it->id. */
int store_inventory_put(struct store *s, int64_t sweep, int64_t now,
			struct inv_item *it, struct err *e);

/* Called for each row a finished sweep did not see, before it goes. */
typedef int (*store_inv_fn)(void *ctx, const struct inv_item *it);

/* Every page was read: the reader's rows sweep did not see go (gone is
 * told each first, inside the transaction), the sweep is done with its
 * counts. A compare-and-set on the sweep being the newest one not
 * failed: 1 (nothing changed) when another began after it. */
int store_sweep_finish(struct store *s, int64_t sweep, int64_t now, int objects,
		       int items, int requests, store_inv_fn gone, void *ctx,
		       struct err *e);

/* A sweep that could not read the whole tenant: failed, with error. */
int store_sweep_fail(struct store *s, int64_t sweep, int64_t now,
		     const char *error, struct err *e);

/* When reader's last sweep finished (0: never). */
int64_t store_sweep_last(struct store *s, int64_t reader_id);

/* The reader of tenant (its name into name) in cloud, other than
 * credential not_id: 1 when there is one, 0 when none, -1 with e.
 * Tenants compare case-insensitively. */
int store_reader_of(struct store *s, const char *tenant, const char *cloud,
		    int64_t not_id, char *name, size_t size, struct err *e);

/* What to list of the inventory. */
struct inv_query {
	int64_t reader_id;     /* 0: every reader */
	int64_t expires_by;    /* only rows ending at or before it; 0: all */
	int kind;	       /* -1: both, else enum secret_kind */
	bool owner_none;       /* only rows whose owners were read: none */
	const char *object_id; /* only this object's rows; NULL: all */
};

/* The rows q asks for, soonest expiry first, streamed. fn returning
 * non-zero stops. */
int store_inventory_each(struct store *s, const struct inv_query *q,
			 store_inv_fn fn, void *ctx, struct err *e);

/* Mark threshold (and every larger one of thresholds[]) as alerted for
 * row id: 0 when this call marked it, 1 when it was marked already
 * (another process alerted: owe nothing), -1 with e. */
int store_inventory_mark(struct store *s, int64_t id, int threshold,
			 const int *thresholds, int n, int64_t now,
			 struct err *e);

/* Record how many owners an object has (every row of the object of
 * reader). */
int store_inventory_owners(struct store *s, int64_t reader_id,
			   const char *object_id, int owners, int64_t now,
			   struct err *e);

/* Counts of reader's rows (0: all readers) by when they end: expired
 * (at or before now), within critical, within warning, later. */
struct inv_counts {
	int64_t expired, critical, warning, ok;
};
int store_inventory_counts(struct store *s, int64_t reader_id, int64_t now,
			   int64_t level_critical, int64_t level_warning,
			   struct inv_counts *ret, struct err *e);

#endif
