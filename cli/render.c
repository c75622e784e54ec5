#include "render.h"

#include <cjson/cJSON.h>
#include <stdio.h>

#include "timefmt.h"

struct cJSON *render_secret_json(const struct secret_info *si, int64_t now)
{
	cJSON *o = cJSON_CreateObject(), *t;
	char ts[TIMEFMT_RFC3339_LEN];

	cJSON_AddNumberToObject(o, "id", (double)si->id);
	cJSON_AddStringToObject(o, "state", secret_state_name(si->state));
	cJSON_AddStringToObject(o, "hint", si->hint);
	if (si->key_id[0])
		cJSON_AddStringToObject(o, "key_id", si->key_id);
	else
		cJSON_AddNullToObject(o, "key_id");
	timefmt_rfc3339(si->expires_at, ts);
	cJSON_AddStringToObject(o, "expires_at", ts);
	cJSON_AddNumberToObject(o, "days_left",
				(double)timefmt_days_left(si->expires_at, now));
	if (si->note[0])
		cJSON_AddStringToObject(o, "note", si->note);
	if (si->last_test_at == 0) {
		cJSON_AddNullToObject(o, "last_test");
		return o;
	}
	t = cJSON_AddObjectToObject(o, "last_test");
	timefmt_rfc3339(si->last_test_at, ts);
	cJSON_AddStringToObject(t, "at", ts);
	cJSON_AddBoolToObject(t, "ok", si->last_test_ok);
	cJSON_AddStringToObject(t, "detail", si->last_test_detail);
	return o;
}

void render_secret_label(const struct secret_info *si, char *out,
			 size_t size)
{
	snprintf(out, size, "#%lld %s~ key %.8s", (long long)si->id, si->hint,
		 si->key_id[0] ? si->key_id : "-");
}
