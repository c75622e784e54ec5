/* watch_rotate.h - the one rotation path (watch_rotate.c), for
 * either kind of material. */
#ifndef SW_WATCH_ROTATE_H
#define SW_WATCH_ROTATE_H

#include "probe.h"
#include "watch_types.h"

/* A rotation of v's kind, with the defaults. */
void watch_rotation_of(const struct cred_view *v, struct watch_rotation *ret);

/* Steps a-c of a rotation of v: finish an intent left open (remove what
 * it left in Entra), write a new intent, make the material of want's
 * kind, add it to the application (addPassword; addKey with a proof of
 * the active certificate; or an upload of the keyCredentials collection)
 * with an end date [rotate] lifetime out (or the longest a lifetime
 * policy allows), and store it pending with Entra's key ID in the
 * transaction that closes the intent. Returns 0 with nr->secret made;
 * 1 when nothing was made (nr says why: dry run, in flight, Graph
 * failed, recorded and alerted); -1 with e. The switch is step d
 * (watch_rotate_switch). */
int watch_rotate_new(struct watch_ctx *w, const struct cred_view *v,
		     const struct watch_rotation *want,
		     struct watch_new_report *nr, struct watch_report *r,
		     struct err *e);

/* Step d: test pending row id of credential name now (its view read
 * again) as the watchdog does: switch to it on success, else schedule
 * its next try (policy_switch_retry). Returns as watch_switch_now. */
int watch_rotate_switch(struct watch_ctx *w, const char *name, int64_t id,
			struct probe_result *pr, struct watch_report *r,
			struct err *e);

#endif
