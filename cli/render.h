/* render.h - how secrets look in JSON and in tables (never the value). */
#ifndef SW_RENDER_H
#define SW_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cred.h"
#include "diag.h"

struct cJSON;

/* o[key] = v, printed as a plain integer (no round trip through a double,
 * exact beyond 2^53). */
void render_add_int(struct cJSON *o, const char *key, int64_t v);

/* One element of a streamed JSON array on stdout: "," unless first, then o
 * unformatted (null if it cannot be printed). Frees o. */
void render_stream_item(struct cJSON *o, int first);

/* s, text from outside (a name, a path, a Graph display name, a server's
 * words), for the terminal: what would act on it instead of showing
 * escaped as \xNN (text_escape; lines keeps newlines, for a remedy),
 * into buf of size bytes, which it returns. */
const char *render_esc(const char *s, int lines, char *buf, size_t size);

/* {"id","state","hint","key_id","expires_at","days_left","note",
 *  "last_test":{"at","ok","detail"}|null} */
struct cJSON *render_secret_json(const struct secret_info *si, int64_t now);

/* "abc… key 1234abcd" — hint and short key ID, for tables. */
void render_secret_label(const struct secret_info *si, char *out, size_t size);

/* The diagnosis d as a JSON object: step, title, summary, remedy,
 * evidence, transient. The caller owns it. */
struct cJSON *render_diag_json(const struct diag *d);

/* "HEADLINE\n\nbroken step: TITLE (id)\nSUMMARY\nseen: EVIDENCE\n\n
 * REMEDY\n" on stdout, what came from outside escaped. */
void render_diag_text(const char *headline, const struct diag *d);

struct probe_result;

/* The steps of a probe, one line each, then the diagnosis (all = every
 * step; else only the outcome line and the diagnosis). */
void render_probe_text(const struct probe_result *pr, int all, FILE *out);
/* {"ok","steps":[{"name","title","status","detail"}],"diagnosis":...} */
struct cJSON *render_probe_json(const struct probe_result *pr);

/* doctor's rows of one part of the setup: printed, or (arr) JSON
 * objects {"step","status","detail","remedy"}; problems counts the
 * failed ones; a remedy said just before reads "as above". */
struct render_rows {
	struct cJSON *arr;
	int problems;
	const char *said;
};
void render_row(struct render_rows *rr, const char *step, const char *title,
		const char *status, const char *detail, const char *remedy);

#endif
