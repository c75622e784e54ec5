/* metrics.h - the Prometheus textfile (docs/ARCHITECTURE.md §2,
 * step 5), for
 * node_exporter's textfile collector.
 *
 * A streaming writer: samples go out as they are given, so a cycle over
 * 100,000 credentials writes the file in flat memory. The file appears
 * only on metrics_commit, complete, by rename over the old one; a reader
 * sees the old file or the new one, never a part.
 */
#ifndef SW_METRICS_H
#define SW_METRICS_H

#include <stdint.h>

#include "err.h"

struct metrics; /* opaque */

/* Start a new textfile for path: a temp file beside it (".NAME.XXXXXX",
 * which the collector's "*.prom" pattern skips), mode 0644, plus unlinked
 * spill files in the same directory. Returns 0 with *ret (finish it with
 * metrics_commit or metrics_abort), or -1 with e and nothing left
 * behind. */
int metrics_open(const char *path, struct metrics **ret, struct err *e);

/* One sample of secretwatch_secret_expiry_timestamp_seconds{credential,
 * key_id,hint,state,kind} (kind: "secret" or "certificate"). Label values are
 * escaped as the exposition format wants (backslash, double quote, newline). A
 * write error is kept and reported by metrics_commit. */
void metrics_secret(struct metrics *m, const char *credential,
		    const char *key_id, const char *hint, const char *state,
		    const char *kind, int64_t expires_at);

/* The per-credential samples: secretwatch_credential_level (level as
 * policy_level_exit codes it: 0 ok, 1 warning, 2 critical or expired, 3
 * unknown),
 * secretwatch_credential_last_check_timestamp_seconds (left out while
 * last_check_at is 0, never checked), secretwatch_switches_total and
 * secretwatch_test_failures_total. */
void metrics_credential(struct metrics *m, const char *credential, int level,
			int64_t last_check_at, int64_t switches,
			int64_t test_failures);

/* secretwatch_next_rotation_timestamp_seconds{credential}: when the
 * credential is rotated next (left out for at 0: not rotated
 * automatically). */
void metrics_next_rotation(struct metrics *m, const char *credential,
			   int64_t at);

/* secretwatch_inventory_credentials{reader,tenant,level}: how many of
 * the tenant's app credentials are at level ("expired", "critical",
 * "warning", "ok"). */
void metrics_inventory(struct metrics *m, const char *reader,
		       const char *tenant, const char *level, int64_t count);

/* secretwatch_sweep_last_success_timestamp_seconds{reader,tenant} (left
 * out for 0: never swept whole). */
void metrics_sweep(struct metrics *m, const char *reader, const char *tenant,
		   int64_t last_success);

/* secretwatch_app_credential_expiry_timestamp_seconds{tenant,app_id,app,
 * key_id,kind}: one series per credential of the tenant's apps ([sweep]
 * metrics_per_credential; mind the cardinality). */
void metrics_app_credential(struct metrics *m, const char *tenant,
			    const char *app_id, const char *app,
			    const char *key_id, const char *kind,
			    int64_t expires_at);

/* secretwatch_rotations_total and secretwatch_graph_failures_total (left
 * out without a call). */
void metrics_rotation_totals(struct metrics *m, int64_t rotations,
			     int64_t graph_failures);

/* The global samples: secretwatch_last_cycle_timestamp_seconds (now),
 * secretwatch_alert_delivery_failures_total and secretwatch_credentials.
 * The last call counts; without one they are left out. */
void metrics_global(struct metrics *m, int64_t now,
		    int64_t alert_delivery_failures, int64_t credentials);

/* secretwatch_last_cycle_success_timestamp_seconds: at, when the cycle
 * writing the file got through every step without error (left out
 * without a call). A dead man's switch alerts when it grows old. */
void metrics_cycle_success(struct metrics *m, int64_t at);

/* Put the families together into the temp file (each family's # HELP and
 * # TYPE once, then its samples), fsync it, rename it over path and fsync
 * the directory. Frees m in every case. Returns 0, or -1 with e; on
 * failure the temp file is removed and the old file at path is left as
 * it was. */
int metrics_commit(struct metrics *m, struct err *e);

/* Remove the temp file and free m (NULL is fine). path is untouched. */
void metrics_abort(struct metrics *m);

#endif
