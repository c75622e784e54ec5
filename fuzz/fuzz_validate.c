/* fuzz_validate.c - every validator on the input (as a string cut at its
 * first NUL, and as bytes where the validator takes a length).
 *
 * What is accepted must be what the header says: a name is 1-64 of
 * [a-z0-9._-] starting with a letter or digit, a GUID is 36 characters,
 * a URL starts with its scheme and "://", a secret value is 1-1024 bytes
 * of printable UTF-8 that is not a GUID. validate_utf8() is checked
 * against an independent table of the well-formed byte sequences
 * (Unicode 15, table 3-7). A refusal of a secret never quotes it. */
#include "fuzz.h"
#include "validate.h"

/* Unicode table 3-7, byte by byte: 1 when the len bytes are UTF-8. */
static int utf8_ref(const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t n;

		if (c <= 0x7f) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c == 0xe0)
			n = 2, lo = 0xa0;
		else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
			n = 2;
		else if (c == 0xed)
			n = 2, hi = 0x9f;
		else if (c == 0xf0)
			n = 3, lo = 0x90;
		else if (c >= 0xf1 && c <= 0xf3)
			n = 3;
		else if (c == 0xf4)
			n = 3, hi = 0x8f;
		else
			return 0;
		if (len - i - 1 < n)
			return 0;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (size_t k = 2; k <= n; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return 0;
		i += n + 1;
	}
	return 1;
}

static int is_guid_shape(const char *s, size_t n)
{
	if (n != 36)
		return 0;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = s[i];

		if (dash ? c != '-'
			 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			     (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

static void check_err(int rc, const struct err *e)
{
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK_STR(e->msg);
	if (rc != 0)
		FUZZ_CHECK(e->msg[0] != '\0');
}

static void check_name(const char *s, size_t n)
{
	struct err e = {{0}};
	int rc = validate_name(s, &e);

	check_err(rc, &e);
	if (rc != 0)
		return;
	FUZZ_CHECK(n >= 1 && n <= 64);
	FUZZ_CHECK((s[0] >= 'a' && s[0] <= 'z') ||
		   (s[0] >= '0' && s[0] <= '9'));
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(strchr("abcdefghijklmnopqrstuvwxyz"
				  "0123456789._-",
				  s[i]) != NULL);
}

static void check_guid_and_tenant(const char *s, size_t n)
{
	struct err e = {{0}};
	int rc = validate_guid(s, "client ID", &e);

	check_err(rc, &e);
	FUZZ_CHECK((rc == 0) == is_guid_shape(s, n));

	memset(&e, 0, sizeof(e));
	rc = validate_tenant(s, &e);
	check_err(rc, &e);
	if (rc == 0 && !is_guid_shape(s, n)) {
		FUZZ_CHECK(strchr(s, '.') != NULL);
		FUZZ_CHECK(s[0] != '.' && s[0] != '-' && s[n - 1] != '.' &&
			   s[n - 1] != '-');
	}
}

static void check_mailbox(const char *s, size_t n)
{
	struct err e = {{0}};
	int rc = validate_mailbox(s, "sender", &e);
	const char *at = strrchr(s, '@');

	check_err(rc, &e);
	if (rc != 0)
		return;
	FUZZ_CHECK(at != NULL && at != s && at[1] != '\0');
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)s[i] > ' ' &&
			   (unsigned char)s[i] < 0x7f &&
			   strchr("<>()[]\\,;:\"", s[i]) == NULL);
}

static void check_urls(const char *s, size_t n)
{
	for (int k = 0; k < 2; k++) {
		const char *scheme = k == 0 ? "https" : "smtp";
		size_t sl = strlen(scheme);
		struct err e = {{0}};
		int rc = validate_url(s, scheme, "URL", &e);

		check_err(rc, &e);
		if (rc == 0) {
			FUZZ_CHECK(strncmp(s, scheme, sl) == 0 &&
				   strncmp(s + sl, "://", 3) == 0);
			FUZZ_CHECK(n > sl + 3);
			FUZZ_CHECK(strpbrk(s, " @?#") == NULL);
		}
	}
}

static void check_text(const char *s, size_t n)
{
	struct err e = {{0}};
	int rc = validate_text(s, 256, "note", &e);

	check_err(rc, &e);
	if (rc != 0)
		return;
	FUZZ_CHECK(n <= 256 && utf8_ref((const unsigned char *)s, n));
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

/* bytes: data as a C string that may hold NULs. */
static void check_secret(const uint8_t *data, const char *bytes, size_t size)
{
	struct err e = {{0}};
	int rc = validate_secret_value(bytes, size, &e);

	check_err(rc, &e);
	if (rc == 0) {
		FUZZ_CHECK(size >= 1 && size <= SECRET_VALUE_MAX);
		FUZZ_CHECK(utf8_ref(data, size));
		FUZZ_CHECK(!is_guid_shape(bytes, size));
		for (size_t i = 0; i < size; i++)
			FUZZ_CHECK(data[i] >= 0x20 && data[i] != 0x7f);
	} else if (size >= 4) {
		FUZZ_CHECK(memmem(e.msg, strlen(e.msg), bytes, size) == NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	char *bytes = fuzz_bytes(data, size);
	size_t n = strlen(s);

	check_name(s, n);
	check_guid_and_tenant(s, n);
	check_mailbox(s, n);
	check_urls(s, n);
	FUZZ_CHECK(validate_utf8(bytes, size) == utf8_ref(data, size));
	check_text(s, n);
	check_secret(data, bytes, size);

	/* A NULL err is allowed everywhere. */
	(void)validate_name(s, NULL);
	(void)validate_secret_value(bytes, size, NULL);

	free(bytes);
	free(s);
	return 0;
}
