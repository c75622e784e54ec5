/* cred.h - the credential and secret records shared by store, policy,
 * diag and the front ends. Plain data with fixed-size fields, so that a
 * record can be copied and freed without ownership questions. A secret's
 * value is never part of these records: it lives only in vault memory.
 */
#ifndef SW_CRED_H
#define SW_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRED_NAME_MAX	  64
#define CRED_TENANT_MAX	  253
#define CRED_GUID_LEN	  36
#define CRED_MAILBOX_MAX  320
#define CRED_URL_MAX	  512
#define SECRET_NOTE_MAX	  200
#define SECRET_DETAIL_MAX 512

struct cred {
	int64_t id;
	char name[CRED_NAME_MAX + 1];
	char tenant[CRED_TENANT_MAX + 1];
	char client_id[CRED_GUID_LEN + 1];
	char sender[CRED_MAILBOX_MAX + 1];
	char object_id[CRED_GUID_LEN + 1];     /* "" when not given */
	char app_object_id[CRED_GUID_LEN + 1]; /* the application's; "" */
	char test_to[CRED_MAILBOX_MAX + 1];    /* "" means the sender itself */
	char cloud[8];			       /* global, usgov, dod, china */
	char authority_url[CRED_URL_MAX + 1];  /* "" means the cloud's */
	char smtp_url[CRED_URL_MAX + 1];
	char graph_url[CRED_URL_MAX + 1];
	int64_t created_at;
	/* Kept by the watchdog, for the metrics. */
	int64_t last_check_at; /* 0 = never */
	int64_t switches;
	int64_t test_failures;
	/* Token file (lib/tokenfile): opted in, and what the watchdog last
	 * wrote there (0 = nothing known); failed_at: when a failed refresh
	 * left no valid token and was alerted (0 = not since the last
	 * success). */
	int token_file;
	int64_t token_file_secret_id;
	int64_t token_file_expires_at;
	int64_t token_file_failed_at;
	/* Automatic rotation through Graph (rotate = auto), and what the
	 * store knows of it (read only; kept by the watchdog). */
	int rotate_auto;
	int rotate_open;	  /* an intent is open (a rotation in flight) */
	int64_t last_rotation_at; /* the last intent closed; 0 = never */
	int revocable;		  /* previous secrets with a key ID in Entra */
	enum cred_deploy {
		CRED_DEPLOY_DONE,   /* of the active secret, or none owed */
		CRED_DEPLOY_OWED,   /* not delivered yet */
		CRED_DEPLOY_FAILED, /* given up */
	} active_deploy;
	int64_t last_graph_read_at; /* the last Graph read (audit); 0 = never */
	/* The longest lifetime a policy let a new secret have, learned by
	 * asking for shorter ones (0: none learned). */
	int64_t lifetime_max;
	/* Rotation-made material that failed or was superseded, still in
	 * Entra: to be removed from there. */
	int unused_made;
	/* The reader of its tenant (sweep = yes): lists the tenant's apps'
	 * credentials; when its last sweep finished (0 = never) and when
	 * its last one began, finished or not. A reader needs no mailbox:
	 * sender may be "". */
	int sweep;
	int64_t last_sweep_at;
	int64_t last_sweep_try_at;
};

enum secret_state {
	SECRET_PENDING,
	SECRET_ACTIVE,
	SECRET_PREVIOUS,
	SECRET_RETIRED,
	SECRET_FAILED,
	SECRET_REVOKED, /* removed from Entra by secretwatch, value wiped */
};

/* What a secret row holds: a client secret's value, or a certificate's
 * private key (with the certificate beside it, in the clear). */
enum secret_kind {
	SECRET_KIND_SECRET,
	SECRET_KIND_CERTIFICATE,
};

/* A secret's metadata; the value stays encrypted in the store. */
struct secret_info {
	int64_t id;
	int64_t credential_id;
	enum secret_state state;
	char hint[4];			/* first three characters */
	char key_id[CRED_GUID_LEN + 1]; /* "" when unknown */
	char note[SECRET_NOTE_MAX + 1];
	int64_t expires_at;
	int64_t created_at;
	int64_t activated_at; /* 0 when never active */
	int64_t last_test_at; /* 0 when never tested */
	int last_test_ok;
	char last_test_detail[SECRET_DETAIL_MAX + 1];
	int64_t first_try_at; /* switch attempts; 0 = none */
	int64_t next_try_at;
	enum secret_kind kind;
	/* A certificate's client-assertion signature last accepted ("PS256",
	 * "RS256"); "" when none yet. */
	char assertion_alg[8];
	/* Smallest warning threshold (days; 0 = expiry) already alerted for
	 * this secret, -1 when none. Only filled by store_view_each. */
	int warned_min;
	bool made_by_rotation; /* a rotation made it in Entra */
};

/* A credential with the secrets that matter for its status. */
#define CRED_VIEW_PENDING_MAX 8
struct cred_view {
	struct cred cred;
	int has_active;
	struct secret_info active;
	int npending; /* newest first, at most CRED_VIEW_PENDING_MAX */
	struct secret_info pending[CRED_VIEW_PENDING_MAX];
};

const char *secret_state_name(enum secret_state s);
/* "secret" / "certificate". */
const char *secret_kind_name(enum secret_kind k);
/* For people: "client secret" / "certificate". */
const char *secret_kind_noun(enum secret_kind k);
/* The kind called name; anything else than "certificate" is a secret
 * (rows and payloads from before certificates have no kind). */
enum secret_kind secret_kind_parse(const char *name);

/* The hint of a secret value (valid UTF-8): its first three characters
 * as far as they fit in the 3 bytes of secret_info.hint, never cutting a
 * character in two. Writes a NUL-terminated string to out. */
void secret_hint(const char *value, size_t len, char out[4]);
/* A reader of its tenant without a mailbox: it sends no mail, its
 * tests get a Graph token and check that it may read the tenant. */
bool cred_reads_only(const struct cred *c);

/* Returns 0 and sets *ret, or -1 for an unknown name. */
int secret_state_parse(const char *name, enum secret_state *ret);

#endif
