/* entra.h - OAuth2 client-credentials token client for the Microsoft
 * identity platform v2 endpoint (docs/PROTOCOL.md §1, §1.4).
 *
 * The request and the reply parser are apart: entra_parse_response() takes
 * the bytes of a reply and is tested on its own; entra_request_token() does
 * the HTTPS request, with bounded retries, and then calls it. Neither ever
 * puts the client secret or the access token into a result string.
 */
#ifndef SW_ENTRA_H
/* A reply larger than this is not the reply asked for. */
#define ENTRA_BODY_MAX (256 * 1024)
#define SW_ENTRA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "net.h"

#define ENTRA_ERROR_MAX	     64
#define ENTRA_CODES_MAX	     8
#define ENTRA_DESC_MAX	     1024
#define ENTRA_ID_MAX	     64
#define ENTRA_CURL_ERROR_MAX 256
#define ENTRA_SUMMARY_MAX    512

/* The retry policy: the front ends pick it, tests bound it. Only timeouts,
 * connection failures, HTTP 5xx and 429 are retried, never another 4xx.
 * The wait before attempt n+1 is base_delay_ms * 2^(n-1), capped at
 * max_delay_ms; a Retry-After header replaces that wait, capped at
 * max_delay_ms too. No retry is made whose wait would take the sum of
 * waits beyond max_total_ms, or end at or after the deadline. The test
 * send (probe.c) retries its temporary failures with the same policy. */
struct entra_retry {
	int max_attempts;   /* attempts in all, >= 1 (0 counts as 1) */
	long base_delay_ms; /* first backoff */
	long max_delay_ms;  /* cap on one wait, Retry-After included */
	long max_total_ms;  /* cap on the sum of waits */
	/* How to wait: NULL sleeps. A function returning non-zero stops the
	 * retries (the daemon uses it to stop waiting on a signal). */
	int (*sleep_ms)(long ms, void *arg);
	void *sleep_arg;
	/* Attempts and waits all end within this many ms of the start, on
	 * the monotonic clock: each attempt's timeout is the smaller of the
	 * net_opts timeout and the time left. <= 0: no deadline. */
	long deadline_ms;
};

/* 4 attempts, 1 s doubling, one wait at most 30 s, all waits 60 s. */
#define ENTRA_RETRY_DEFAULT                                                    \
	{                                                                      \
		4, 1000L, 30000L, 60000L, NULL, NULL, 0L                       \
	}
/* One attempt only. */
#define ENTRA_RETRY_NONE                                                       \
	{                                                                      \
		1, 0L, 0L, 0L, NULL, NULL, 0L                                  \
	}

/* A timeout with no more than this left before the deadline is the
 * deadline's (libcurl stops a transfer within a few ms of its timeout). */
#define ENTRA_DEADLINE_SLACK_MS 100L

/* Milliseconds on the monotonic clock (CLOCK_MONOTONIC), from an
 * arbitrary origin: for deadlines, never for policy (which uses the
 * injected wall-clock time). */
int64_t entra_mono_ms(void);

/* The wait in ms before attempt n+1 under rp, after attempt n, with
 * the Retry-After (seconds; 0: none) of its reply. */
long entra_retry_wait_ms(const struct entra_retry *rp, int n,
			 long retry_after_s);

/* Wait ms milliseconds the way rp says (rp->sleep_ms, else sleep).
 * Returns 0, or non-zero when rp's function says to stop retrying. */
int entra_retry_sleep(const struct entra_retry *rp, long ms);

/* The timeout in ms for an attempt that starts now, when the attempts
 * started at start_ms (entra_mono_ms()): net's whole-transfer timeout
 * (net may be NULL), cut to the time left before rp's deadline. 0 when
 * the deadline has passed. */
long entra_retry_timeout_ms(const struct net_opts *net,
			    const struct entra_retry *rp, int64_t start_ms);

struct entra_result {
	bool ok;	  /* an access token was obtained */
	bool transient;	  /* failed, but a later attempt may succeed */
	long http_status; /* of the last attempt; 0 when no HTTP reply */
	/* The OAuth error reply, when the body was one ("" / 0 otherwise). */
	char error[ENTRA_ERROR_MAX];
	long error_codes[ENTRA_CODES_MAX]; /* AADSTS codes, in order */
	size_t n_error_codes;
	/* error_description for people, without the trailing
	 * "Trace ID: ... Correlation ID: ... Timestamp: ..." part, in either
	 * the "\r\n" or the space-separated form. Never parse it. */
	char error_description[ENTRA_DESC_MAX];
	char trace_id[ENTRA_ID_MAX];
	char correlation_id[ENTRA_ID_MAX];
	char timestamp[ENTRA_ID_MAX];
	long retry_after_s; /* Retry-After of the last reply; 0 when none */
	int attempts;	    /* requests made */
	long waited_ms;	    /* sum of the waits between them */
	/* The policy's deadline ended the attempts: the last one timed out
	 * at it, or no time was left for one. */
	bool deadline;
	enum net_fail fail; /* of the last attempt's transfer */
	int curl_code;	    /* libcurl's number for it, shown to people */
	char curl_error[ENTRA_CURL_ERROR_MAX];
	int64_t expires_in; /* seconds, on success */
	/* One line for people: what happened, with the AADSTS code or the
	 * HTTP status or the transport error. */
	char summary[ENTRA_SUMMARY_MAX];
};

/* Reset what a reply's parse fills in res (the outcome, the OAuth error,
 * the IDs, the summary), keeping the transport fields. */
void entra_result_reset(struct entra_result *res);

/* An access token. value is secmem_alloc memory, NUL-terminated. */
struct entra_token {
	char *value;
	size_t len;
	int64_t expires_at; /* now + expires_in, UTC seconds */
};

/* Wipe and free the token's value and reset t. t may be NULL or empty. */
void entra_token_free(struct entra_token *t);

/* Copy src into a new token in ret (secmem_alloc memory). Returns 0, or
 * -1 with e filled and ret left empty. */
int entra_token_dup(const struct entra_token *src, struct entra_token *ret,
		    struct err *e);

/* Parse one token endpoint reply: status is the HTTP status, body the len
 * bytes of the body (need not be NUL-terminated; may hold anything). On a
 * 200 with an access_token and expires_in (a number or a numeric string,
 * at least 1 s) returns 0, fills res (ok set) and puts the token into
 * *ret_token, which the caller frees with entra_token_free(); expires_at
 * is now + expires_in. Otherwise returns -1 with res filled: the OAuth error
 * when the body is one, transient set for 429 and 5xx, and *ret_token left
 * empty. res->attempts, waited_ms and the curl fields are left as they
 * were. Temporary copies of the token are wiped; the body is not (it is
 * the caller's). */
int entra_parse_response(long status, const char *body, size_t len, int64_t now,
			 struct entra_result *res,
			 struct entra_token *ret_token);

/* How the client proves itself to the token endpoint: a client secret's
 * value, or a client assertion (a JWT signed with a certificate's key,
 * docs/PROTOCOL.md §1.2). Two types, so that nothing else can be put where
 * either belongs: material.c makes them from a row of its own kind, and
 * a private key has no way into a form field. Both point into guarded
 * memory the caller owns. */
struct entra_secret {
	const char *value;
	size_t len;
};
struct entra_assertion {
	const char *jwt;
	size_t len;
};

/* What to ask for. All strings are the caller's and NUL-terminated.
 * Exactly one of secret and assertion is set (neither: the request
 * carries no client authentication, and the endpoint answers
 * AADSTS7000218). */
struct entra_request {
	const char *authority_url; /* e.g. https://login.microsoftonline.com */
	const char *tenant;	   /* GUID or domain */
	const char *client_id;
	const char *scope; /* e.g. https://outlook.office365.com/.default */
	const struct entra_secret *secret;
	const struct entra_assertion *assertion;
};

/* The form body of rq (application/x-www-form-urlencoded: client_id,
 * scope, client_secret or client_assertion_type and client_assertion,
 * grant_type), in guarded memory, NUL-terminated, its length in
 * *ret_len; free with secmem_wipe + secmem_free (entra_form_free).
 * NULL when out of guarded memory or a field is over 8 KiB. */
char *entra_form(const struct entra_request *rq, size_t *ret_len);
void entra_form_free(char *form, size_t len);

/* POST {authority_url}/{tenant}/oauth2/v2.0/token for a client-credentials
 * token. net may be NULL for the defaults, retry NULL for
 * ENTRA_RETRY_DEFAULT. Call net_global_init() first. Returns 0 with res
 * filled and the token in *ret_token (free it with entra_token_free()), or
 * -1 with res saying why: the OAuth error, an unexpected reply or a
 * transport failure, after the retries the policy allows; *ret_token is
 * then empty. The form body, the escaped secret and the reply are held in
 * wiped memory and wiped before they are freed. res never holds the secret
 * or the token. */
int entra_request_token(const struct entra_request *rq,
			const struct net_opts *net,
			const struct entra_retry *retry, int64_t now,
			struct entra_result *res,
			struct entra_token *ret_token);

#endif
