/* A tenant's listing, page by page: objects parsed one at a time, the
 * nextLink found, a SAML token-signing certificate's three rows as one
 * item, Microsoft's own service principals marked, and pages that are
 * not Graph collections refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "graph_list.h"

#define APP1 "11111111-0000-4000-8000-000000000001"
#define SP1  "22222222-0000-4000-8000-000000000002"
#define K1   "0a000000-0000-4000-8000-000000000001"
#define K2   "0a000000-0000-4000-8000-000000000002"
#define K3   "0a000000-0000-4000-8000-000000000003"
#define K4   "0a000000-0000-4000-8000-000000000004"
/* base64 of 20 bytes 0x01..0x14: a SHA-1 thumbprint */
#define CKI "AQIDBAUGBwgJCgsMDQ4PEBESExQ="

struct seen {
	int n;
	struct graph_object first;
	char names[8][32];
};

static int keep(void *arg, const struct graph_object *o)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->names[s->n], sizeof(s->names[0]), "%.31s",
			 o->display_name);
	if (s->n == 0)
		s->first = *o;
	s->n++;
	return 0;
}

static const char page_apps[] =
    "{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#"
    "applications(id,appId)\",\"value\":["
    "{\"id\":\"" APP1 "\",\"appId\":\"" APP1 "\",\"displayName\":\"a,b]{\\\""
    "\",\"passwordCredentials\":[{\"customKeyIdentifier\":null,"
    "\"displayName\":\"s\",\"endDateTime\":\"2027-01-01T00:00:00.0000000Z\","
    "\"hint\":\"Ab~\",\"keyId\":\"" K1 "\",\"secretText\":null,"
    "\"startDateTime\":\"2026-01-01T00:00:00Z\"}],\"keyCredentials\":[]},"
    " {\"id\":\"not-a-guid\"}, 7, "
    "{\"id\":\"" SP1 "\",\"displayName\":\"second\",\"keyCredentials\":"
    "null}],"
    "\"@odata.nextLink\":\"https://graph.microsoft.com/v1.0/applications?"
    "$top=999&$skiptoken=X\\u0026y\"}";

static void test_page_objects_and_next(void **state)
{
	struct seen s = {0};
	char *next = NULL;
	struct err e;

	(void)state;
	assert_int_equal(graph_parse_page(page_apps, strlen(page_apps),
					  GRAPH_APPLICATIONS, keep, &s, &next,
					  &e),
			 0);
	assert_int_equal(s.n, 2); /* the malformed ones are skipped */
	assert_string_equal(s.names[0], "a,b]{\"");
	assert_string_equal(s.names[1], "second");
	assert_string_equal(next, "https://graph.microsoft.com/v1.0/"
				  "applications?$top=999&$skiptoken=X&y");
	free(next);
}

static void test_last_page_has_no_next(void **state)
{
	static const char last[] = "{\"value\":[]}";
	struct seen s = {0};
	char *next = (char *)1;
	struct err e;

	(void)state;
	assert_int_equal(graph_parse_page(last, strlen(last),
					  GRAPH_APPLICATIONS, keep, &s, &next,
					  &e),
			 0);
	assert_null(next);
	assert_int_equal(s.n, 0);
}

static void test_not_a_collection(void **state)
{
	static const char *const bad[] = {
	    "", "[]", "{\"error\":{\"code\":\"x\"}}", "{\"value\":[{\"id\"",
	    "{\"value\":{}}", "{\"value\":[1,2]",
	    /* stray closers: once looped forever */
	    "{\"value\":[{}}]}", "{\"value\":[{} x]}", "{\"a\":,\"value\":[]}",
	    "not json"};
	struct seen s = {0};
	char *next = NULL;
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(graph_parse_page(bad[i], strlen(bad[i]),
						  GRAPH_APPLICATIONS, keep, &s,
						  &next, &e),
				 -1);
		assert_null(next);
	}
}

/* A SAML certificate: Sign + Verify with one thumbprint, and the PFX's
 * password ending with it: one item. A Verify key of its own stays. */
static const char saml_sp[] =
    "{\"id\":\"" SP1 "\",\"appId\":\"" APP1 "\",\"displayName\":\"saml\","
    "\"appOwnerOrganizationId\":\"F8CDEF31-A31E-4B4A-93E4-5F571E91255A\","
    "\"keyCredentials\":["
    "{\"customKeyIdentifier\":\"" CKI "\",\"keyId\":\"" K2 "\","
    "\"usage\":\"Verify\",\"endDateTime\":\"2028-01-01T00:00:00Z\"},"
    "{\"customKeyIdentifier\":\"" CKI "\",\"keyId\":\"" K1 "\","
    "\"usage\":\"Sign\",\"endDateTime\":\"2028-01-01T00:00:00Z\"},"
    "{\"customKeyIdentifier\":null,\"keyId\":\"" K4 "\","
    "\"usage\":\"Verify\",\"endDateTime\":\"2027-03-01T00:00:00Z\"}],"
    "\"passwordCredentials\":[{\"keyId\":\"" K3 "\","
    "\"endDateTime\":\"2028-01-01T00:00:00Z\"}]}";

static void test_saml_is_one_item(void **state)
{
	struct graph_object o;

	(void)state;
	assert_int_equal(graph_parse_object(saml_sp, strlen(saml_sp),
					    GRAPH_SERVICE_PRINCIPALS, &o),
			 0);
	assert_true(o.microsoft);
	assert_int_equal(o.n_items, 2);
	assert_string_equal(o.items[0].key_id, K1);
	assert_true(o.items[0].saml);
	assert_string_equal(o.items[0].usage, "Sign");
	assert_string_equal(o.items[0].thumbprint,
			    "0102030405060708090A0B0C0D0E0F1011121314");
	assert_string_equal(o.items[1].key_id, K4);
	assert_false(o.items[1].saml);
	/* The same rows on an application are three credentials. */
	assert_int_equal(graph_parse_object(saml_sp, strlen(saml_sp),
					    GRAPH_APPLICATIONS, &o),
			 0);
	assert_int_equal(o.n_items, 4);
}

static void test_secret_item(void **state)
{
	struct seen s = {0};
	char *next = NULL;
	struct err e;
	const struct graph_item *it = &s.first.items[0];

	(void)state;
	graph_parse_page(page_apps, strlen(page_apps), GRAPH_APPLICATIONS, keep,
			 &s, &next, &e);
	free(next);
	/* The first object's one secret, as the inventory keeps it. */
	assert_int_equal(s.first.n_items, 1);
	assert_string_equal(s.first.id, APP1);
	assert_int_equal(it->kind, SECRET_KIND_SECRET);
	assert_string_equal(it->key_id, K1);
	assert_string_equal(it->hint, "Ab~");
	assert_string_equal(it->name, "s");
	assert_int_equal(it->end, 1798761600);
	assert_int_equal(it->start, 1767225600);
}

static int stop_at_one(void *arg, const struct graph_object *o)
{
	(void)o;
	(*(int *)arg)++;
	return 5;
}

static void test_callback_stops(void **state)
{
	char *next = NULL;
	struct err e;
	int n = 0;

	(void)state;
	assert_int_equal(graph_parse_page(page_apps, strlen(page_apps),
					  GRAPH_APPLICATIONS, stop_at_one, &n,
					  &next, &e),
			 5);
	assert_int_equal(n, 1);
	free(next);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_page_objects_and_next),
	    cmocka_unit_test(test_last_page_has_no_next),
	    cmocka_unit_test(test_not_a_collection),
	    cmocka_unit_test(test_saml_is_one_item),
	    cmocka_unit_test(test_secret_item),
	    cmocka_unit_test(test_callback_stops),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
