/* smtp.h - the XOAUTH2 test send to Exchange Online (docs/PROTOCOL.md §3),
 * and the message it sends.
 *
 * The transport is libcurl's SMTP with STARTTLS required. Every server
 * reply line is captured through the header callback (never the debug
 * callback, whose outgoing side carries the token) and fed to
 * smtp_result_feed(), a pure function that tracks the replies and the
 * stage of the dialogue; the unit tests feed it transcripts directly.
 */
#ifndef SW_SMTP_H
#define SW_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "net.h"

#define SMTP_LINE_MAX		      512
#define SMTP_TEXT_MAX		      1024
#define SMTP_MECHS_MAX		      128
#define SMTP_CURL_ERROR_MAX	      256
#define SMTP_SUMMARY_MAX	      640
#define SMTP_RESPONSE_TIMEOUT_DEFAULT 30L

/* Where in the dialogue a reply came, or a failure happened. */
enum smtp_stage {
	SMTP_STAGE_CONNECT,  /* before the greeting: DNS, TCP */
	SMTP_STAGE_GREETING, /* 220 banner */
	SMTP_STAGE_EHLO,
	SMTP_STAGE_STARTTLS,	/* the STARTTLS command, or its absence */
	SMTP_STAGE_TLS,		/* the handshake after 220 to STARTTLS */
	SMTP_STAGE_AUTH,	/* AUTH XOAUTH2 */
	SMTP_STAGE_MAIL,	/* MAIL FROM */
	SMTP_STAGE_RCPT,	/* RCPT TO */
	SMTP_STAGE_DATA,	/* DATA, up to 354 */
	SMTP_STAGE_END_OF_DATA, /* the reply to the message itself */
	SMTP_STAGE_QUIT,
};

/* "connect", "greeting", "ehlo", "starttls", "tls", "auth", "mail",
 * "rcpt", "data", "end-of-data", "quit". */
const char *smtp_stage_name(enum smtp_stage s);

/* One complete reply: the code and enhanced status of its last line, its
 * text (the lines' texts after code and enhanced status, joined by
 * blanks) and its last line as received, without CRLF. Control characters
 * are replaced by '?'. */
struct smtp_reply {
	int code;	   /* 0: none */
	char enhanced[16]; /* "5.7.139", or "" */
	char text[SMTP_TEXT_MAX];
	char line[SMTP_LINE_MAX];
};

/* XOAUTH2's error challenge: servers other than Exchange Online (Dovecot,
 * Gmail) answer a refused bearer token with 334 and the base64 of
 * {"status":"401","schemes":"bearer","scope":"..."} instead of a final
 * 535, which follows only once the client answers (libcurl 7.88 does not:
 * it ends with CURLE_LOGIN_DENIED at the 334). */
struct smtp_challenge {
	char status[16];  /* "401", "400", ...; "" when absent */
	char schemes[64]; /* "bearer", ... */
	char scope[256];  /* the scope the server wants; "" when absent */
};

/* Decode the text of a 334 reply (the len bytes after "334 ") as an
 * XOAUTH2 error challenge into *ret: base64 of a JSON object with at
 * least a "status" string (or number). Control characters in the values
 * become '?'. Returns 0, or -1 when it is not one (an empty prompt, not
 * base64, not such an object); *ret is then cleared. Pure. */
int smtp_xoauth2_challenge(const char *text, size_t len,
			   struct smtp_challenge *ret);

struct smtp_result {
	bool ok;	    /* the message was accepted (250 after the data) */
	bool transient;	    /* a 4xx reply, or a transient transport failure */
	enum net_fail fail; /* of the transfer */
	int curl_code;	    /* libcurl's number for it, shown to people */
	char curl_error[SMTP_CURL_ERROR_MAX];
	long response_code;	/* CURLINFO_RESPONSE_CODE */
	enum smtp_stage stage;	/* of the last reply, or of the failure */
	struct smtp_reply last; /* the last complete reply (QUIT's excluded) */
	int n_replies;
	bool starttls_offered; /* the EHLO before TLS listed STARTTLS */
	bool tls;	       /* STARTTLS was answered 220 */
	bool auth_offered;     /* the EHLO after TLS listed AUTH */
	bool xoauth2_offered;  /* ... with XOAUTH2 among its mechanisms */
	char auth_mechs[SMTP_MECHS_MAX]; /* as listed, e.g. "LOGIN XOAUTH2" */
	bool authenticated;		 /* 235 to AUTH */
	bool challenged; /* AUTH got XOAUTH2's error challenge: the token was
			  * refused (the last reply is that 334) */
	struct smtp_challenge challenge; /* when challenged */
	/* One line for people: the stage and the reply or the curl error. */
	char summary[SMTP_SUMMARY_MAX];
	/* Why the send was refused before connecting; "" when it was not.
	 * The summary then says "not sent: " and this. */
	char refused[SMTP_SUMMARY_MAX];
	/* Set by a caller that retries (probe.c), after its last send:
	 * the sends made, and whether its deadline ended them (the last
	 * one timed out at it, or no time was left for one). */
	int attempts;
	bool deadline;

	/* Reply tracking state, internal to smtp.c. */
	enum smtp_stage expect_;
	struct smtp_reply cur_;
	bool in_reply_;
};

/* Start an empty result: no replies, stage CONNECT. */
void smtp_result_init(struct smtp_result *r);

/* Feed one whole server reply line, with or without its CRLF, into r
 * (libcurl's header callback hands over whole lines). It parses
 * the code, the continuation mark, the enhanced status and the text, and
 * when a reply is complete records it as r->last with the stage it
 * answered, inferred from libcurl 7.88's fixed command order (greeting,
 * EHLO, STARTTLS, EHLO, AUTH, MAIL, RCPT, DATA, end of data, QUIT), and
 * the capabilities EHLO listed. Lines that are not replies are ignored. */
void smtp_result_feed(struct smtp_result *r, const char *line, size_t len);

/* Parse one reply line: the code (100-599), whether it continues ('-'),
 * the enhanced status into enhanced (size >= 16; "" when none) and where
 * the text starts. Returns 0, or -1 when the line is not a reply line. */
int smtp_parse_line(const char *line, size_t len, int *ret_code, bool *ret_more,
		    char enhanced[16], size_t *ret_text_off);

/* One test send. Strings are the caller's and NUL-terminated; the message
 * is message_len bytes with CRLF line ends (smtp_build_message()). */
struct smtp_send {
	const char *url;       /* smtp://HOST:PORT (a path is replaced) */
	const char *ehlo_name; /* NULL: this host's name */
	const char *sender;    /* MAIL FROM and the XOAUTH2 user= */
	const char *rcpt;
	const char *token; /* the bearer access token */
	const char *message;
	size_t message_len;
	long response_timeout_s; /* per reply; <= 0: the default */
	long timeout_ms;	 /* the whole send; > 0: this instead of the
				  * net_opts timeout (a deadline's time left) */
};

/* Mark r as refused before connecting, for the reason why (a setting or
 * input that cannot work): sets r->refused and the summary. */
void smtp_result_refuse(struct smtp_result *r, const char *why);

/* Send the message over SMTP with STARTTLS required (never a plaintext
 * AUTH), authenticating with AUTH XOAUTH2 as sender with the token. net
 * may be NULL for the defaults; call net_global_init() first. Returns 0
 * when the server accepted the message, or -1 with res saying where and
 * why it stopped (the last reply and its stage, or the transport error).
 * Refuses up front, without connecting, an empty sender (libcurl would
 * skip AUTH silently), addresses with control characters or brackets, a
 * URL that is not smtp://, and a missing token. The token is handed to
 * libcurl, which keeps its own copy until the handle is cleaned up at the
 * end of this call; res never holds it. */
int smtp_send_message(const struct smtp_send *s, const struct net_opts *net,
		      struct smtp_result *res);

/* The test message. */
struct smtp_message {
	const char *from;	/* the sender mailbox */
	const char *to;		/* the recipient */
	const char *cred_name;	/* the credential tested */
	const char *hint;	/* the secret's hint (first characters) */
	const char *key_id;	/* the secret's key ID; NULL or "" if unknown */
	const char *host;	/* who sends it; NULL or "": not named */
	const char *message_id; /* NULL: "<secretwatch.NOW.RANDOM@domain>" */
	int64_t now;		/* the Date: and the time in the body */
};

/* Build an RFC 5322 message with Date, Message-ID, From, To, Subject
 * (naming the credential and the secret's hint), MIME-Version,
 * Content-Type text/plain; charset=UTF-8 and a short body saying what was
 * tested and when; lines end in CRLF. Every header value must be printable
 * ASCII without CR or LF, and the addresses must be addr-specs without
 * blanks, brackets, quotes, commas or semicolons, so that no header can be
 * injected. Returns 0 with a malloc'd, NUL-terminated message in *ret
 * (free() it) and its length in *ret_len, or -1 with e naming the bad
 * field and *ret untouched. */
int smtp_build_message(const struct smtp_message *m, char **ret,
		       size_t *ret_len, struct err *e);

#endif
