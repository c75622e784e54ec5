/* fuzz_entra.c - entra_parse_response() on any status and body.
 *
 * Input: two bytes (big-endian, modulo 600) choose the HTTP status, the
 * rest is the reply body. Beyond not crashing or leaking, the result must
 * keep the header's promises: ok exactly when 0 is returned and a token
 * is handed over; a token is non-empty and lives past now; no token on
 * failure; the transport fields are left alone; every string in the
 * result ends inside its array and none holds the token. */
#include <sodium.h>

#include "entra.h"
#include "fuzz.h"

#define NOW	       INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define EXPIRES_IN_MAX (INT64_C(10) * 365 * 86400)
#define TOKEN_MAX      (64 * 1024)
#define SENTINEL_CURL  "sentinel curl error"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

static void check_no_token(const struct entra_result *res,
			   const struct entra_token *tok)
{
	const char *const fields[] = {res->error,     res->error_description,
				      res->trace_id,  res->correlation_id,
				      res->timestamp, res->summary};

	/* A short token is a common word; only a real-looking one counts. */
	if (tok->value == NULL || tok->len < 8)
		return;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		FUZZ_CHECK(memmem(fields[i], strlen(fields[i]), tok->value,
				  tok->len) == NULL);
}

/* What holds for any reply: the caller's fields kept, every text
 * terminated and free of control characters. */
static void check_result(long status, const struct entra_result *res)
{
	FUZZ_CHECK(res->http_status == status);
	FUZZ_CHECK(res->transient == (status == 429 || status >= 500));
	FUZZ_CHECK(res->attempts == 3 && res->waited_ms == 1234 &&
		   res->curl_code == 28 &&
		   strcmp(res->curl_error, SENTINEL_CURL) == 0);
	FUZZ_CHECK_STR(res->error);
	FUZZ_CHECK_STR(res->error_description);
	FUZZ_CHECK_STR(res->trace_id);
	FUZZ_CHECK_STR(res->correlation_id);
	FUZZ_CHECK_STR(res->timestamp);
	FUZZ_CHECK_STR(res->summary);
	FUZZ_CHECK(res->summary[0] != '\0');
	FUZZ_CHECK(res->n_error_codes <= ENTRA_CODES_MAX);
	for (size_t i = 0; i < res->n_error_codes; i++)
		FUZZ_CHECK(res->error_codes[i] >= 0 &&
			   res->error_codes[i] <= 2147483647L);
	/* Control characters never reach the texts meant for people. */
	for (const char *p = res->summary; *p != '\0'; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	for (const char *p = res->error_description; *p != '\0'; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
}

/* What holds for an accepted reply. */
static void check_token(long status, const struct entra_result *res,
			const struct entra_token *tok)
{
	FUZZ_CHECK(status == 200);
	FUZZ_CHECK(tok->value != NULL);
	FUZZ_CHECK(tok->len > 0 && tok->len <= TOKEN_MAX);
	FUZZ_CHECK(strlen(tok->value) == tok->len);
	FUZZ_CHECK(res->expires_in > 0 && res->expires_in <= EXPIRES_IN_MAX);
	FUZZ_CHECK(tok->expires_at == NOW + res->expires_in);
	FUZZ_CHECK(tok->expires_at > NOW);
	FUZZ_CHECK(res->error[0] == '\0' && res->n_error_codes == 0);
	check_no_token(res, tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct entra_result res;
	struct entra_token tok;
	size_t len;
	char *body;
	long status;
	int rc;

	if (size < 2)
		return 0;
	status = (long)((((unsigned)data[0] << 8) | data[1]) % 600);
	len = size - 2;
	body = fuzz_bytes(data + 2, len);

	memset(&res, 0, sizeof(res));
	res.attempts = 3;
	res.waited_ms = 1234;
	res.curl_code = 28;
	snprintf(res.curl_error, sizeof(res.curl_error), SENTINEL_CURL);
	memset(&tok, 0x5a, sizeof(tok)); /* must be reset, not trusted */

	rc = entra_parse_response(status, len > 0 ? body : NULL, len, NOW, &res,
				  &tok);

	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK((rc == 0) == res.ok);
	check_result(status, &res);
	if (rc == 0)
		check_token(status, &res, &tok);
	else
		FUZZ_CHECK(tok.value == NULL && tok.len == 0 &&
			   tok.expires_at == 0 && res.expires_in == 0);

	entra_token_free(&tok);
	FUZZ_CHECK(tok.value == NULL && tok.len == 0);
	entra_token_free(&tok); /* twice is harmless */
	entra_token_free(NULL);
	free(body);
	return 0;
}
