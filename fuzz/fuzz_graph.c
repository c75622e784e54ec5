/* fuzz_graph.c - lib/graph's reply parsers and lib/diag's Graph rows on
 * any bytes.
 *
 * Input: the first byte picks the parser (0: error body with the next two
 * bytes as HTTP status, 1: application listing, 2: addPassword reply, 3:
 * app management policy, 4: time), the rest is the body. Beyond not crashing or
 * leaking: every string ends inside its array; a parsed secret is in guarded
 * memory and in no result string; a failed parse leaves no secret behind; every
 * diagnosis has a step, a summary and a remedy. */
#include <sodium.h>

#include "diag.h"
#include "fuzz.h"
#include "graph.h"
#include "graph_list.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

static void check_error(const uint8_t *data, size_t size)
{
	static struct cred cred = {
	    .name = "n", .tenant = "t", .client_id = "c", .cloud = "global"};
	struct diag_input in = {&cred, NULL, NULL};
	struct graph_result r;
	struct diag d;
	long status;
	char *body;

	if (size < 2)
		return;
	status = (long)((((unsigned)data[0] << 8) | data[1]) % 600);
	body = fuzz_bytes(data + 2, size - 2);
	memset(&r, 0, sizeof(r));
	graph_parse_error("fuzz", status, body, size - 2, &r);
	FUZZ_CHECK(!r.ok && r.http_status == status);
	FUZZ_CHECK(r.transient == (status == 429 || status >= 500));
	FUZZ_CHECK_STR(r.code);
	FUZZ_CHECK_STR(r.message);
	FUZZ_CHECK_STR(r.request_id);
	FUZZ_CHECK_STR(r.summary);
	FUZZ_CHECK(r.summary[0] != '\0');
	for (const char *p = r.summary; *p != '\0'; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	diag_graph(&in, &r, NULL, NULL, &d);
	FUZZ_CHECK(d.title != NULL && d.summary[0] != '\0' &&
		   d.remedy[0] != '\0');
	FUZZ_CHECK_STR(d.evidence);
	free(body);
}

static void check_added(const char *body, size_t len)
{
	struct graph_password pw;
	struct vbuf v;
	struct err e = {{0}};

	memset(&v, 0x5a, sizeof(v));
	if (graph_parse_added(body, len, &pw, &v, &e) != 0) {
		FUZZ_CHECK(v.p == NULL && v.len == 0);
		return;
	}
	FUZZ_CHECK(v.p != NULL && v.len > 0 && strlen(v.p) == v.len);
	FUZZ_CHECK(strlen(pw.key_id) == 36 && pw.end != 0);
	FUZZ_CHECK_STR(pw.hint);
	FUZZ_CHECK_STR(pw.display_name);
	if (v.len >= 8)
		FUZZ_CHECK(strstr(pw.display_name, v.p) == NULL);
	vbuf_free(&v);
}

/* A policy: a limit is positive and bounded, found when anything is. */
static void check_policy(const char *body, size_t len)
{
	struct graph_policy p;
	/* Half the inputs from an app of known age. */
	int rc = graph_parse_policy(
	    body, len, len % 2 ? 1700000000 + (int64_t)len : 0, &p);

	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(p.max_lifetime >= 0 &&
		   p.max_lifetime <= (int64_t)100 * 365 * 86400);
	FUZZ_CHECK(p.found || (!p.additions_blocked && p.max_lifetime == 0));
	FUZZ_CHECK(rc == 0 || !p.found);
	FUZZ_CHECK(p.source[0] == '\0');
}

/* Each object of a listing's page: well formed, its credentials
 * bounded, its strings terminated. */
static int check_object(void *arg, const struct graph_object *o)
{
	(void)arg;
	FUZZ_CHECK(o != NULL);
	FUZZ_CHECK(o->id[0] != '\0');
	FUZZ_CHECK_STR(o->display_name);
	FUZZ_CHECK(o->n_items <= GRAPH_ITEMS_MAX);
	for (size_t i = 0; i < o->n_items; i++) {
		FUZZ_CHECK_STR(o->items[i].key_id);
		FUZZ_CHECK_STR(o->items[i].name);
		FUZZ_CHECK(!o->items[i].saml ||
			   o->kind == GRAPH_SERVICE_PRINCIPALS);
	}
	return 0;
}

static void check_page(const char *body, size_t len, int sp)
{
	char *next = NULL;
	struct err e = {{0}};
	int rc = graph_parse_page(
	    body, len, sp ? GRAPH_SERVICE_PRINCIPALS : GRAPH_APPLICATIONS,
	    check_object, NULL, &next, &e);

	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc != 0)
		FUZZ_CHECK_STR(e.msg);
	if (next != NULL) /* unescaped, so never longer than the page */
		FUZZ_CHECK(strlen(next) <= len);
	free(next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct graph_app app;
	struct err e = {{0}};
	int64_t t;
	char *body;

	if (size < 1)
		return 0;
	body = fuzz_bytes(data + 1, size - 1);
	switch (data[0] % 7) {
	case 5:
	case 6:
		check_page(body, size - 1, data[0] % 7 == 6);
		break;
	case 0:
		check_error(data + 1, size - 1);
		break;
	case 1:
		if (graph_parse_app(body, size - 1, &app, &e) == 0) {
			FUZZ_CHECK(app.n_passwords <= GRAPH_PASSWORDS_MAX);
			for (size_t i = 0; i < app.n_passwords; i++)
				FUZZ_CHECK(strlen(app.passwords[i].key_id) ==
					   36);
			FUZZ_CHECK_STR(app.display_name);
		}
		break;
	case 2:
		check_added(body, size - 1);
		break;
	case 3:
		check_policy(body, size - 1);
		break;
	default: {
		char *s = malloc(size);

		FUZZ_CHECK(s != NULL);
		memcpy(s, data + 1, size - 1);
		s[size - 1] = '\0';
		(void)graph_parse_time(s, &t);
		free(s);
	}
	}
	free(body);
	return 0;
}
