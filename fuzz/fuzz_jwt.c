/* fuzz_jwt.c - jwt_decode() on any token.
 *
 * Each input is decoded twice: as the token itself, and as the payload of
 * a token built around it (header.base64url(input).sig), which reaches
 * the claim handling far more often than random base64 does. The second
 * must succeed exactly when cjson takes the input for an object and it is
 * not too large. Claims must end inside their arrays, roles stay within
 * their bounds, and a failure leaves the claims zeroed. */
#include <cjson/cJSON.h>
#include <sodium.h>

#include "fuzz.h"
#include "jwt.h"

#define HEADER	    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9" /* typ, alg */
#define PAYLOAD_MAX (16 * 1024) /* jwt.c's JWT_PAYLOAD_MAX */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

static int decode(const char *tok, size_t len)
{
	static const struct jwt_claims zero;
	struct jwt_claims c;
	struct err e = {{0}};
	char roles[64], all[JWT_ROLES_MAX * (JWT_ROLE_MAX + 1)];
	int rc;

	memset(&c, 0x5a, sizeof(c));
	rc = jwt_decode(tok, len, &c, &e);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc != 0) {
		FUZZ_CHECK(memcmp(&c, &zero, sizeof(c)) == 0);
		FUZZ_CHECK_STR(e.msg);
		FUZZ_CHECK(e.msg[0] != '\0');
		return rc;
	}
	FUZZ_CHECK_STR(c.aud);
	FUZZ_CHECK_STR(c.iss);
	FUZZ_CHECK_STR(c.appid);
	FUZZ_CHECK_STR(c.tid);
	FUZZ_CHECK_STR(c.oid);
	FUZZ_CHECK_STR(c.idtyp);
	FUZZ_CHECK_STR(c.ver);
	FUZZ_CHECK(c.exp >= 0 && c.iat >= 0 && c.nbf >= 0);
	FUZZ_CHECK(c.n_roles <= JWT_ROLES_MAX);
	FUZZ_CHECK(c.n_roles == 0 || c.has_roles);
	for (size_t i = 0; i < c.n_roles; i++) {
		FUZZ_CHECK_STR(c.roles[i]);
		FUZZ_CHECK(jwt_has_role(&c, c.roles[i]));
	}
	(void)jwt_has_role(&c, "SMTP.SendAsApp");
	jwt_roles_str(&c, roles, sizeof(roles));
	FUZZ_CHECK_STR(roles);
	jwt_roles_str(&c, all, sizeof(all));
	FUZZ_CHECK_STR(all);
	jwt_roles_str(&c, roles, 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tok = fuzz_bytes(data, size);
	size_t b64 = sodium_base64_ENCODED_LEN(
	    size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	size_t cap = sizeof(HEADER) + b64 + 4;
	char *built = malloc(cap);
	cJSON *j;
	bool object;
	size_t n;
	int rc;

	decode(tok, size);

	/* header "." base64url(input) ".sig" */
	FUZZ_CHECK(built != NULL);
	memcpy(built, HEADER ".", sizeof(HEADER));
	sodium_bin2base64(built + sizeof(HEADER), b64, data, size,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n = strlen(built);
	memcpy(built + n, ".sig", 4);
	n += 4;
	rc = decode(built, n);
	j = cJSON_ParseWithLength((const char *)data, size);
	object = cJSON_IsObject(j);
	cJSON_Delete(j);
	if (size > 0 && size <= PAYLOAD_MAX)
		FUZZ_CHECK((rc == 0) == object);
	else if (size > PAYLOAD_MAX + 3)
		FUZZ_CHECK(rc == -1);

	free(built);
	free(tok);
	return 0;
}
