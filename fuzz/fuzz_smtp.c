/* fuzz_smtp.c - the SMTP reply parser, XOAUTH2's error challenge and the
 * test message builder.
 *
 * The input is a server transcript: it is cut into lines after each LF
 * (kept, as libcurl's header callback hands them over) and every line
 * goes to smtp_result_feed() and to smtp_parse_line(), and the text after
 * its first four bytes to smtp_xoauth2_challenge(). The same lines,
 * without their LF, are the fields of one smtp_build_message() call:
 * from, to, credential name, hint, key ID, host and Message-ID. A message
 * that is built must be nothing but the nine fixed headers, a blank line
 * and a body, all printable ASCII with CRLF line ends: no field may inject
 * a header or a bare CR or LF. */
#include <ctype.h>
#include <sodium.h>

#include "fuzz.h"
#include "smtp.h"

#define NOW    INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define FIELDS 7

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

static void check_reply(const struct smtp_reply *rep)
{
	FUZZ_CHECK(rep->code == 0 || (rep->code >= 100 && rep->code <= 599));
	FUZZ_CHECK_STR(rep->enhanced);
	FUZZ_CHECK_STR(rep->text);
	FUZZ_CHECK_STR(rep->line);
	for (const char *p = rep->line; *p != '\0'; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	for (const char *p = rep->text; *p != '\0'; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
}

static void check_challenge(const struct smtp_challenge *c)
{
	FUZZ_CHECK_STR(c->status);
	FUZZ_CHECK_STR(c->schemes);
	FUZZ_CHECK_STR(c->scope);
	for (const char *p = c->scope; *p != '\0'; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
}

/* A challenge decodes to a status, or to nothing at all. */
static void check_decode(const char *line, size_t len)
{
	struct smtp_challenge c;

	if (len < 4)
		return;
	if (smtp_xoauth2_challenge(line + 4, len - 4, &c) == 0) {
		FUZZ_CHECK(c.status[0] != '\0');
		check_challenge(&c);
	} else {
		FUZZ_CHECK(c.status[0] == '\0' && c.scope[0] == '\0');
	}
}

static void check_result(const struct smtp_result *r, int lines)
{
	FUZZ_CHECK(!r->ok); /* only the end of a send decides that */
	FUZZ_CHECK((unsigned)r->stage <= SMTP_STAGE_QUIT);
	FUZZ_CHECK((unsigned)r->expect_ <= SMTP_STAGE_QUIT);
	FUZZ_CHECK(strcmp(smtp_stage_name(r->stage), "unknown") != 0);
	FUZZ_CHECK(r->n_replies >= 0 && r->n_replies <= lines);
	FUZZ_CHECK(!r->xoauth2_offered || r->auth_offered);
	FUZZ_CHECK(!r->auth_offered || r->tls);
	FUZZ_CHECK_STR(r->auth_mechs);
	FUZZ_CHECK_STR(r->summary);
	/* Only a 334 to AUTH, which is then the last reply, challenges. */
	FUZZ_CHECK(!r->challenged || r->challenge.status[0] != '\0');
	check_challenge(&r->challenge);
	check_reply(&r->last);
	check_reply(&r->cur_);
}

static void check_parse_line(const char *line, size_t len)
{
	char enh[16];
	size_t off = (size_t)-1;
	bool more = false;
	int code = -1;

	memset(enh, 'x', sizeof(enh));
	if (smtp_parse_line(line, len, &code, &more, enh, &off) != 0)
		return;
	FUZZ_CHECK(code >= 100 && code <= 599);
	FUZZ_CHECK(off <= len);
	FUZZ_CHECK(memchr(enh, '\0', sizeof(enh)) != NULL);
	if (enh[0] != '\0') {
		/* class.subject.detail, all digits, class 2, 4 or 5 */
		FUZZ_CHECK(enh[0] == '2' || enh[0] == '4' || enh[0] == '5');
		FUZZ_CHECK(enh[1] == '.');
		for (const char *p = enh + 2; *p != '\0'; p++)
			FUZZ_CHECK(isdigit((unsigned char)*p) || *p == '.');
	}
	FUZZ_CHECK(more == (len > 3 && line[3] == '-'));
}

/* Everything is printable ASCII with CRLF line ends; the header block
 * holds exactly the fixed headers, in order. */
static void check_message(const char *msg, size_t len)
{
	static const char *const headers[] = {
	    "Date: ",		"Message-ID: ",
	    "From: <",		"To: <",
	    "Subject: ",	"MIME-Version: ",
	    "Content-Type: ",	"Content-Transfer-Encoding: ",
	    "Auto-Submitted: ",
	};
	const char *p = msg, *end = msg + len;
	size_t h = 0;

	FUZZ_CHECK(strlen(msg) == len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)msg[i];

		if (c == '\r')
			FUZZ_CHECK(i + 1 < len && msg[i + 1] == '\n');
		else if (c == '\n')
			FUZZ_CHECK(i > 0 && msg[i - 1] == '\r');
		else
			FUZZ_CHECK(c >= 0x20 && c < 0x7f);
	}
	while (p < end) {
		const char *eol = memchr(p, '\r', (size_t)(end - p));

		FUZZ_CHECK(eol != NULL);
		if (eol == p)
			break; /* the blank line ends the headers */
		FUZZ_CHECK(h < sizeof(headers) / sizeof(headers[0]));
		FUZZ_CHECK(strncmp(p, headers[h], strlen(headers[h])) == 0);
		h++;
		p = eol + 2;
	}
	FUZZ_CHECK(h == sizeof(headers) / sizeof(headers[0]));
}

static void build_message(char *const field[FIELDS], int nfields)
{
	struct smtp_message m = {
	    .from = field[0],
	    .to = field[1],
	    .cred_name = field[2],
	    .hint = field[3],
	    .key_id = nfields > 4 ? field[4] : NULL,
	    .host = nfields > 5 ? field[5] : NULL,
	    .message_id = nfields > 6 ? field[6] : NULL,
	    .now = NOW,
	};
	struct err e = {{0}};
	char *msg = NULL;
	size_t len = 0;

	if (smtp_build_message(&m, &msg, &len, &e) == 0) {
		FUZZ_CHECK(msg != NULL);
		check_message(msg, len);
		free(msg);
	} else {
		FUZZ_CHECK(msg == NULL);
		FUZZ_CHECK_STR(e.msg);
		FUZZ_CHECK(e.msg[0] != '\0');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_result r;
	char *field[FIELDS] = {NULL};
	int lines = 0, nfields = 0;
	size_t off = 0;

	smtp_result_init(&r);
	check_result(&r, 0);
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t n =
		    nl != NULL ? (size_t)(nl - (data + off)) + 1 : size - off;
		char *line = fuzz_bytes(data + off, n);

		smtp_result_feed(&r, line, n);
		check_result(&r, ++lines);
		check_parse_line(line, n);
		check_decode(line, n);
		free(line);
		if (nfields < FIELDS)
			field[nfields++] =
			    fuzz_str(data + off, nl != NULL ? n - 1 : n);
		off += n;
	}
	if (nfields >= 4)
		build_message(field, nfields);
	for (int i = 0; i < nfields; i++)
		free(field[i]);
	return 0;
}
