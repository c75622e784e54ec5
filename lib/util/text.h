/* text.h - copies of untrusted text (server replies, token claims, alert
 * fields) made safe to show on one line. None of them fails: a copy that
 * does not fit is cut short, and dst is always NUL-terminated. */
#ifndef SW_TEXT_H
#define SW_TEXT_H

#include <stddef.h>

/* Copy len bytes of src (NULs included) into dst of size dstsz, each
 * control character (below 0x20, and 0x7f) replaced by repl. */
void text_copy(char *dst, size_t dstsz, const char *src, size_t len, char repl);

/* Replace each control character of the string s by repl, in place. */
void text_scrub(char *s, char repl);

/* Copy at most len bytes of src, up to a NUL, into dst of size dstsz as
 * one line: blanks and control characters become one space per run, and
 * the ends are trimmed. */
void text_oneline(char *dst, size_t dstsz, const char *src, size_t len);

/* 1 when one of the len bytes at s is a control character, else 0. */
int text_has_control(const char *s, size_t len);

/* The length of a C1 control (U+0080-U+009F) or a bidirectional override
 * or isolate (U+202A-U+202E, U+2066-U+2069) encoded in UTF-8 at the
 * NUL-terminated s, or 0: characters that make text shown to people read
 * in another order than it is stored. */
size_t text_bidi_len(const char *s);

/* The length of what at the NUL-terminated s acts on a terminal instead
 * of showing, or 0: a C0 control (newline and tab too, unless lines is
 * set), DEL, a C1 control or a bidirectional override or isolate
 * (text_bidi_len), or a byte that does not start well-formed UTF-8 (a
 * terminal may take a lone 0x9b for CSI). */
size_t text_hostile_len(const char *s, int lines);

/* The NUL-terminated src for a terminal, into dst of size dstsz: every
 * byte of what text_hostile_len(.., lines) finds written as \xNN, the
 * rest as it is. What does not fit is cut at a whole character or
 * escape; dst is always NUL-terminated. The one escaping of text from
 * outside (names, paths, server and Graph texts, config bytes) before it
 * is shown. */
void text_escape(char *dst, size_t dstsz, const char *src, int lines);

/* Replace every occurrence of the len bytes of needle in the string s
 * (of size bytes) with "[redacted]", cutting s where it would not fit, so
 * that a secret echoed by a server never reaches a result string. A
 * needle shorter than 8 bytes is left alone. */
void text_redact(char *s, size_t size, const char *needle, size_t len);

#endif
