/* render.h - how secrets look in JSON and in tables (never the value). */
#ifndef SW_RENDER_H
#define SW_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "cred.h"

struct cJSON;

/* {"id","state","hint","key_id","expires_at","days_left","note",
 *  "last_test":{"at","ok","detail"}|null} */
struct cJSON *render_secret_json(const struct secret_info *si, int64_t now);

/* "abc… key 1234abcd" — hint and short key ID, for tables. */
void render_secret_label(const struct secret_info *si, char *out,
			 size_t size);

#endif
