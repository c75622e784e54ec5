/* graph_session.h - one Microsoft Graph session of a credential: a token
 * for its cloud's Graph resource got with one of its own materials, the
 * way the mail token is (material_token: a client secret's value in the
 * body, or a client assertion signed with a certificate's key), and what
 * every Graph caller needs around it. The one place that asks Entra for
 * a Graph token: sync, doctor, secret add, rotation, certificate upload
 * and migration, the roll and revocation all open their session here.
 */
#ifndef SW_GRAPH_SESSION_H
#define SW_GRAPH_SESSION_H

#include <stdbool.h>

#include "diag.h"
#include "graph.h"
#include "jwt.h"
#include "material.h"
#include "token.h"

struct graph_session {
	const struct cred *cred;
	int64_t now;	   /* the clock it was opened at */
	struct material m; /* what the token was got with (owned) */
	char hint[4];	   /* its hint, for messages */
	char key_id[CRED_GUID_LEN + 1];
	struct entra_token tok;
	struct graph_ctx g; /* for the graph_* calls */
	bool has_claims;    /* the token's claims, decoded best-effort */
	struct jwt_claims claims;
	bool token_failed; /* the token endpoint refused or failed */
	struct diag diag;  /* why opening, or the last call, failed */
};

/* The row a session of v authenticates with: its active material, else
 * its newest pending one other than skip (0: none skipped); NULL when
 * there is none. */
const struct secret_info *graph_session_row(const struct cred_view *v,
					    int64_t skip);

/* Open a session for c with row si's material, decrypted here; an
 * assertion signature learned is saved to the row unless ts may not
 * write. Returns 0 when a token was got; 1 when the token endpoint
 * refused or failed (s->diag says why, s->token_failed set); -1 with e
 * (store or key). Close it in any case. */
int graph_session_open(struct graph_session *s, const struct token_src *ts,
		       const struct cred *c, const struct secret_info *si,
		       struct err *e);

/* The same with material m (a value not stored yet), taken over: freed
 * by graph_session_close whatever happens. */
int graph_session_open_material(struct graph_session *s,
				const struct token_src *ts,
				const struct cred *c, struct material *m);

/* Diagnose failed Graph call res into s->diag, with the token's claims
 * (its roles and service principal). app_object_id: the app's Object
 * ID when known, NULL otherwise. */
void graph_session_diagnose(struct graph_session *s,
			    const struct graph_result *res,
			    const char *app_object_id);

/* Whether the token's roles claim lists role. */
bool graph_session_has_role(const struct graph_session *s, const char *role);

/* Wipe and free everything s holds; s may be half open or zeroed. */
void graph_session_close(struct graph_session *s);

#endif
