/* The token request's proof is typed by the material's kind: a client
 * secret's value goes in client_secret, a certificate's key only signs a
 * client assertion, and no form ever carries key bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "material.h"
#include "secmem.h"

#define NOW   1800000000
#define VALUE "Ab8Q~x y+z/%=&value"

static void request_for(struct entra_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->authority_url = "https://login.microsoftonline.com/";
	rq->tenant = "contoso.onmicrosoft.com";
	rq->client_id = "11111111-2222-3333-4444-555555555555";
	rq->scope = "https://graph.microsoft.com/.default";
}

/* The form of rq, as a C string the test frees with entra_form_free. */
static char *form_of(const struct entra_request *rq, size_t *len)
{
	char *f = entra_form(rq, len);

	assert_non_null(f);
	assert_int_equal(strlen(f), *len);
	return f;
}

static void test_secret_goes_in_client_secret(void **state)
{
	struct material m;
	struct material_proof p;
	struct entra_request rq;
	struct err e;
	size_t len;
	char *f;

	(void)state;
	assert_int_equal(material_from_secret(VALUE, strlen(VALUE), 0, &m, &e),
			 0);
	request_for(&rq);
	assert_int_equal(material_prepare(&m, X509_PS256, &rq, NOW, &p, &e), 0);
	assert_non_null(rq.secret);
	assert_null(rq.assertion);
	f = form_of(&rq, &len);
	/* Percent-encoded: unreserved characters stay, the rest are %XX. */
	assert_string_equal(f, "client_id=11111111-2222-3333-4444-555555555555"
			       "&scope=https%3A%2F%2Fgraph.microsoft.com%2F."
			       "default&client_secret=Ab8Q~x%20y%2Bz%2F%25%3D%"
			       "26value&grant_type=client_credentials");
	entra_form_free(f, len);
	material_proof_free(&p, &rq);
	assert_null(rq.secret);
	material_free(&m);
}

/* Whether any 16-byte window of key is in hay (raw or percent-decoded). */
static int holds_window(const char *hay, size_t n, const struct vbuf *key)
{
	char *dec = malloc(n + 1);
	size_t d = 0;
	int found = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (hay[i] == '%' && i + 2 < n &&
		    sscanf(hay + i + 1, "%2x", &v) == 1) {
			dec[d++] = (char)v;
			i += 2;
		} else {
			dec[d++] = hay[i];
		}
	}
	for (size_t k = 0; !found && k + 16 <= key->len; k++)
		found = memmem(dec, d, key->p + k, 16) != NULL ||
			memmem(hay, n, key->p + k, 16) != NULL;
	free(dec);
	return found;
}

static void test_certificate_signs_an_assertion_only(void **state)
{
	struct material m = {0};
	struct material_proof p;
	struct entra_request rq;
	struct err e;
	size_t len;
	char *f;

	(void)state;
	m.kind = SECRET_KIND_CERTIFICATE;
	assert_int_equal(
	    x509_generate("t", 2048, 30, NOW, &m.key, &m.cert, &m.cert_len, &e),
	    0);
	request_for(&rq);
	assert_int_equal(material_prepare(&m, X509_PS256, &rq, NOW, &p, &e), 0);
	/* The request has an assertion and no secret at all. */
	assert_null(rq.secret);
	assert_non_null(rq.assertion);
	assert_true(rq.assertion->len > 100);
	f = form_of(&rq, &len);
	assert_null(strstr(f, "client_secret"));
	assert_non_null(strstr(
	    f, "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-"
	       "assertion-type%3Ajwt-bearer&client_assertion=ey"));
	assert_false(holds_window(f, len, &m.key.der));
	entra_form_free(f, len);
	material_proof_free(&p, &rq);
	material_free(&m);
}

static void test_one_proof_never_both(void **state)
{
	struct entra_secret s = {"x", 1};
	struct entra_assertion a = {"y.z.w", 5};
	struct entra_request rq;
	size_t len = 0;

	(void)state;
	request_for(&rq);
	rq.secret = &s;
	rq.assertion = &a;
	assert_null(entra_form(&rq, &len));
}

static void test_pop_needs_a_certificate(void **state)
{
	struct material m;
	struct vbuf proof;
	struct err e;

	(void)state;
	assert_int_equal(material_from_secret(VALUE, strlen(VALUE), 0, &m, &e),
			 0);
	assert_int_equal(material_pop(&m, "oid", NOW, &proof, &e), -1);
	assert_null(proof.p);
	material_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secret_goes_in_client_secret),
	    cmocka_unit_test(test_certificate_signs_an_assertion_only),
	    cmocka_unit_test(test_one_proof_never_both),
	    cmocka_unit_test(test_pop_needs_a_certificate),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
