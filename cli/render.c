#include "render.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "probe.h"
#include "text.h"
#include "timefmt.h"

/* Integers printed as such: cJSON prints every number through a double
 * and reads it back, which dominates a 100,000-credential status. */
void render_add_int(struct cJSON *o, const char *key, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	cJSON_AddRawToObject(o, key, buf);
}

void render_stream_item(struct cJSON *o, int first)
{
	char *s = cJSON_PrintUnformatted(o);

	printf("%s%s", first ? "" : ",", s ? s : "null");
	cJSON_free(s);
	cJSON_Delete(o);
}

const char *render_esc(const char *s, int lines, char *buf, size_t size)
{
	text_escape(buf, size, s != NULL ? s : "", lines);
	return buf;
}

struct cJSON *render_secret_json(const struct secret_info *si, int64_t now)
{
	cJSON *o = cJSON_CreateObject(), *t;
	char ts[TIMEFMT_RFC3339_LEN];

	render_add_int(o, "id", si->id);
	cJSON_AddStringToObject(o, "state", secret_state_name(si->state));
	cJSON_AddStringToObject(o, "kind", secret_kind_name(si->kind));
	cJSON_AddStringToObject(o, "hint", si->hint);
	if (si->key_id[0])
		cJSON_AddStringToObject(o, "key_id", si->key_id);
	else
		cJSON_AddNullToObject(o, "key_id");
	timefmt_rfc3339(si->expires_at, ts);
	cJSON_AddStringToObject(o, "expires_at", ts);
	render_add_int(o, "days_left", timefmt_days_left(si->expires_at, now));
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

void render_secret_label(const struct secret_info *si, char *out, size_t size)
{
	char hint[4 * sizeof(si->hint)];

	snprintf(out, size, "#%lld %s~ key %.8s", (long long)si->id,
		 render_esc(si->hint, 0, hint, sizeof(hint)),
		 si->key_id[0] ? si->key_id : "-");
}

void render_diag_text(const char *headline, const struct diag *d)
{
	char buf[4 * DIAG_REMEDY_MAX];

	printf("%s\n\nbroken step: %s (%s)\n%s\n", headline, d->title,
	       diag_step_name(d->step),
	       render_esc(d->summary, 0, buf, sizeof(buf)));
	if (d->evidence[0])
		printf("seen: %s\n",
		       render_esc(d->evidence, 0, buf, sizeof(buf)));
	printf("\n%s\n", render_esc(d->remedy, 1, buf, sizeof(buf)));
}

cJSON *render_diag_json(const struct diag *d)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "step", diag_step_name(d->step));
	cJSON_AddStringToObject(o, "title", d->title);
	cJSON_AddStringToObject(o, "summary", d->summary);
	cJSON_AddStringToObject(o, "remedy", d->remedy);
	cJSON_AddStringToObject(o, "evidence", d->evidence);
	cJSON_AddBoolToObject(o, "transient", d->transient);
	return o;
}

struct cJSON *render_probe_json(const struct probe_result *pr)
{
	cJSON *o = cJSON_CreateObject(), *steps;

	cJSON_AddBoolToObject(o, "ok", pr->ok);
	steps = cJSON_AddArrayToObject(o, "steps");
	for (int i = 0; i < PROBE_NSTEPS; i++) {
		const struct probe_step *s = &pr->steps[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", probe_step_name(s->id));
		cJSON_AddStringToObject(j, "title", s->title ? s->title : "");
		cJSON_AddStringToObject(j, "status",
					probe_status_name(s->status));
		cJSON_AddStringToObject(j, "detail", s->detail);
		cJSON_AddItemToArray(steps, j);
	}
	if (!pr->ok && pr->has_diag)
		cJSON_AddItemToObject(o, "diagnosis",
				      render_diag_json(&pr->diag));
	else
		cJSON_AddNullToObject(o, "diagnosis");
	return o;
}

void render_probe_text(const struct probe_result *pr, int all, FILE *out)
{
	char buf[4 * DIAG_REMEDY_MAX];

	for (int i = 0; all && i < PROBE_NSTEPS; i++) {
		const struct probe_step *s = &pr->steps[i];
		fprintf(out, "  %-8s %-48s %s\n", probe_status_name(s->status),
			s->title ? s->title : probe_step_name(s->id),
			render_esc(s->detail, 0, buf, sizeof(buf)));
	}
	if (pr->ok || !pr->has_diag)
		return;
	fprintf(out, "\nbroken step: %s (%s)\n%s\n", pr->diag.title,
		diag_step_name(pr->diag.step),
		render_esc(pr->diag.summary, 0, buf, sizeof(buf)));
	if (pr->diag.evidence[0])
		fprintf(out, "seen: %s\n",
			render_esc(pr->diag.evidence, 0, buf, sizeof(buf)));
	fprintf(out, "remedy:\n%s\n",
		render_esc(pr->diag.remedy, 1, buf, sizeof(buf)));
}

void render_row(struct render_rows *rr, const char *step, const char *title,
		const char *status, const char *detail, const char *remedy)
{
	char buf[4 * DIAG_REMEDY_MAX];
	cJSON *o;

	rr->problems += strcmp(status, "failed") == 0;
	if (rr->arr == NULL) {
		printf("  %-8s %-48s %s\n", status, title,
		       render_esc(detail, 0, buf, sizeof(buf)));
		if (strcmp(status, "failed") != 0 || remedy[0] == '\0')
			return;
		if (rr->said != NULL && strcmp(rr->said, remedy) == 0)
			printf("    remedy: as above\n");
		else
			printf("    remedy: %s\n",
			       render_esc(remedy, 1, buf, sizeof(buf)));
		rr->said = remedy;
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "step", step);
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddStringToObject(o, "detail", detail);
	cJSON_AddStringToObject(o, "remedy", remedy);
	cJSON_AddItemToArray(rr->arr, o);
}
