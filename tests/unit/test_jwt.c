/* Best-effort claims decoding: the fake's token shape (docs/PROTOCOL.md §7),
 * v2 variants, and garbage that must fail cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "jwt.h"

/* header.payload.signature with payload = base64url(json). */
static void make_token(const char *json, char *out, size_t outsz)
{
	char hdr[64], pl[4096], sig[16];
	static const char h[] = "{\"typ\":\"JWT\",\"alg\":\"RS256\"}";

	sodium_bin2base64(hdr, sizeof(hdr), (const unsigned char *)h, strlen(h),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_bin2base64(pl, sizeof(pl), (const unsigned char *)json,
			  strlen(json),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_bin2base64(sig, sizeof(sig), (const unsigned char *)"sig", 3,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(out, outsz, "%s.%s.%s", hdr, pl, sig);
}

static void test_fake_token(void **state)
{
	char tok[8192];
	struct jwt_claims c;
	struct err e;
	char roles[256];

	(void)state;
	make_token(
	    "{\"aud\":\"https://outlook.office365.com\","
	    "\"iss\":\"https://sts.windows.net/t-id/\",\"iat\":1767225600,"
	    "\"nbf\":1767225600,\"exp\":1767229199,"
	    "\"appid\":\"aaaaaaaa-0000-0000-0000-000000000001\","
	    "\"idtyp\":\"app\","
	    "\"oid\":\"bbbbbbbb-0000-0000-0000-000000000001\","
	    "\"roles\":[\"IMAP.AccessAsApp\",\"SMTP.SendAsApp\"],"
	    "\"tid\":\"11111111-2222-3333-4444-555555555555\","
	    "\"ver\":\"1.0\"}",
	    tok, sizeof(tok));
	assert_int_equal(jwt_decode(tok, strlen(tok), &c, &e), 0);
	assert_string_equal(c.aud, "https://outlook.office365.com");
	assert_string_equal(c.iss, "https://sts.windows.net/t-id/");
	assert_string_equal(c.appid, "aaaaaaaa-0000-0000-0000-000000000001");
	assert_string_equal(c.oid, "bbbbbbbb-0000-0000-0000-000000000001");
	assert_string_equal(c.tid, "11111111-2222-3333-4444-555555555555");
	assert_string_equal(c.idtyp, "app");
	assert_string_equal(c.ver, "1.0");
	assert_int_equal(c.exp, 1767229199);
	assert_int_equal(c.iat, 1767225600);
	assert_true(c.has_roles);
	assert_int_equal(c.n_roles, 2);
	assert_true(jwt_has_role(&c, "SMTP.SendAsApp"));
	assert_true(jwt_has_role(&c, "IMAP.AccessAsApp"));
	assert_false(jwt_has_role(&c, "smtp.sendasapp"));
	assert_false(jwt_has_role(&c, "SMTP"));
	assert_false(jwt_has_role(&c, "POP.AccessAsApp"));
	assert_false(jwt_has_role(NULL, "SMTP.SendAsApp"));
	jwt_roles_str(&c, roles, sizeof(roles));
	assert_string_equal(roles, "IMAP.AccessAsApp,SMTP.SendAsApp");
	/* Truncation keeps whole roles only. */
	jwt_roles_str(&c, roles, 20);
	assert_string_equal(roles, "IMAP.AccessAsApp");
}

/* No consent: no roles claim at all. */
static void test_no_roles(void **state)
{
	char tok[4096];
	struct jwt_claims c;
	struct err e;
	char roles[64];

	(void)state;
	make_token("{\"aud\":\"https://outlook.office365.com\",\"exp\":5}", tok,
		   sizeof(tok));
	assert_int_equal(jwt_decode(tok, strlen(tok), &c, &e), 0);
	assert_false(c.has_roles);
	assert_int_equal(c.n_roles, 0);
	assert_false(jwt_has_role(&c, "SMTP.SendAsApp"));
	jwt_roles_str(&c, roles, sizeof(roles));
	assert_string_equal(roles, "");
	assert_string_equal(c.oid, "");

	make_token("{\"roles\":[]}", tok, sizeof(tok));
	assert_int_equal(jwt_decode(tok, strlen(tok), &c, &e), 0);
	assert_true(c.has_roles);
	assert_int_equal(c.n_roles, 0);

	/* Non-string roles are skipped, a single string is taken. */
	make_token("{\"roles\":[1,null,\"SMTP.SendAsApp\"]}", tok, sizeof(tok));
	assert_int_equal(jwt_decode(tok, strlen(tok), &c, &e), 0);
	assert_int_equal(c.n_roles, 1);
	assert_true(jwt_has_role(&c, "SMTP.SendAsApp"));
	make_token("{\"roles\":\"SMTP.SendAsApp\"}", tok, sizeof(tok));
	assert_int_equal(jwt_decode(tok, strlen(tok), &c, &e), 0);
	assert_true(jwt_has_role(&c, "SMTP.SendAsApp"));
}

/* v2 tokens: azp instead of appid; aud may be an array. */
static void test_v2_shapes(void **state)
{
	char tok[4096];
	struct jwt_claims c;
	struct err e;

	(void)state;
	make_token("{\"aud\":[\"00000002-0000-0ff1-ce00-000000000000\",\"x\"],"
		   "\"azp\":\"client-2\",\"ver\":\"2.0\",\"exp\":\"soon\"}",
		   tok, sizeof(tok));
	assert_int_equal(jwt_decode(tok, strlen(tok), &c, &e), 0);
	assert_string_equal(c.aud, "00000002-0000-0ff1-ce00-000000000000");
	assert_string_equal(c.appid, "client-2");
	assert_int_equal(c.exp, 0); /* not a number: unknown */
}

/* Padding, oversize claims and control characters. */
static void test_odd_but_valid(void **state)
{
	char tok[8192], big[600];
	struct jwt_claims c;
	struct err e;

	(void)state;
	/* '=' padding on the payload is tolerated. */
	assert_int_equal(jwt_decode("x.eyJ0aWQiOiJ0In0=.y", 20, &c, &e), 0);
	assert_string_equal(c.tid, "t");

	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(tok, sizeof(tok), "{\"aud\":\"%s\",\"roles\":[\"%s\",\"ok\"]}",
		 big, big);
	{
		char t2[8192];

		make_token(tok, t2, sizeof(t2));
		assert_int_equal(jwt_decode(t2, strlen(t2), &c, &e), 0);
	}
	assert_int_equal(strlen(c.aud), JWT_CLAIM_MAX - 1);
	assert_int_equal(c.n_roles, 1); /* the too-long role is dropped */
	assert_string_equal(c.roles[0], "ok");

	make_token("{\"aud\":\"a\\r\\nb\"}", tok, sizeof(tok));
	assert_int_equal(jwt_decode(tok, strlen(tok), &c, &e), 0);
	assert_string_equal(c.aud, "a??b");
}

static void test_garbage(void **state)
{
	static const char *const bad[] = {
	    "",
	    "abc",
	    "a.b",
	    "..",
	    "a..c",
	    "a.!!!!.c",
	    "a.e30.c" /* "{}" is fine */,
	    "a.bm90IGpzb24.c",	  /* "not json" */
	    "a.WzEsMl0.c",	  /* "[1,2]" */
	    "a.eyJ0aWQiOiJ0In.c", /* bad trailing bits */
	    "a.e.c",		  /* one base64 character */
	};
	struct jwt_claims c;
	struct err e;
	unsigned char rnd[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int want = strcmp(bad[i], "a.e30.c") == 0 ? 0 : -1;

		e.msg[0] = '\0';
		assert_int_equal(jwt_decode(bad[i], strlen(bad[i]), &c, &e),
				 want);
		if (want == -1) {
			assert_true(e.msg[0] != '\0');
			assert_int_equal(c.n_roles, 0);
			assert_string_equal(c.aud, "");
		}
	}
	assert_int_equal(jwt_decode(NULL, 0, &c, &e), -1);
	/* The error never quotes the token. */
	assert_int_equal(jwt_decode("secretpart.bm90IGpzb24.x", 24, &c, &e),
			 -1);
	assert_null(strstr(e.msg, "secretpart"));
	assert_null(strstr(e.msg, "bm90"));

	/* Random bytes with dots: never a crash, always a clean answer. */
	for (int i = 0; i < 2000; i++) {
		randombytes_buf(rnd, sizeof(rnd));
		rnd[randombytes_uniform(sizeof(rnd))] = '.';
		rnd[randombytes_uniform(sizeof(rnd))] = '.';
		int rc = jwt_decode((const char *)rnd, sizeof(rnd), &c, &e);
		assert_true(rc == 0 || rc == -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fake_token),
	    cmocka_unit_test(test_no_roles),
	    cmocka_unit_test(test_v2_shapes),
	    cmocka_unit_test(test_odd_but_valid),
	    cmocka_unit_test(test_garbage),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
