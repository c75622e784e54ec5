#!/usr/bin/python3
"""Fake Exchange Online SMTP submission server (STARTTLS, AUTH XOAUTH2).

Implements Exchange Online's submission service as docs/PROTOCOL.md §3
describes it, on 127.0.0.1.

    /usr/bin/python3 fake_smtp.py --port-file F --cert server.pem \
        --key server.key [--scenario S.json] [--maildir DIR] \
        [--log session.jsonl] [--idle-timeout 60]

Scenario file (JSON object, re-read whenever it changes; every key is
optional; addresses and app ids compare case-insensitively):

  {
    "tenant_smtp_auth": true,          # false: 535 5.7.139 ... for the Tenant
                                       #   unless the mailbox overrides it
    "aud": "https://outlook.office365.com",   # or a list of accepted values
    "mailboxes": {
      "alerts@contoso.com": {
        "smtp_auth": null,             # true/false override; null: tenant's
        "conditional_access": false,   # 535 5.7.139 ... did not meet criteria
        "send_as": [],                 # addresses it may also send as ("*")
        "logon_failure": false}},      # 430 4.2.0 at end of data
    "service_principals": {
      "<appid>": {
        "full_access": ["alerts@contoso.com"],  # or ["*"]
        "object_id": null,             # if set, must equal the token's oid
                                       #   (models New-ServicePrincipal run
                                       #   with the wrong ObjectId)
        "send_as": [],                 # addresses the app may send as
        "conditional_access": false}},
    "sendas_reply": "5.2.252",         # | "5.7.60" | "5.2.0"
    "sendas_stage": "data",            # | "mail" (checked at MAIL FROM)
    "old_tls": false,                  # STARTTLS -> 421 4.7.66 and close
    "no_starttls": false,              # STARTTLS not advertised
    "no_auth": false,                  # AUTH not advertised after TLS
    "auth_mechanisms": "LOGIN XOAUTH2",# what EHLO advertises after TLS
    "plain_passwords": {},             # fake only: mailbox -> password that
                                       #   AUTH PLAIN accepts (offered only
                                       #   when auth_mechanisms has PLAIN);
                                       #   for benchmarks, not Exchange
    "force_432": false,                # MAIL FROM -> 432 4.3.2 ...
    "force_432_first": 0,              # ... only for the first K MAIL FROMs
    "max_connections_per_mailbox": 3,  # the 4th authenticated session gets
                                       #   432 4.3.2 at MAIL FROM
    "bad_recipients": [],              # RCPT TO -> 550 5.1.10
    "greeting_delay": 0,               # seconds before the 220 greeting
    "refused_token": "535",            # how a refused token is answered:
                                       #   "535" as Exchange does (535
                                       #   5.7.3 at once); "challenge" as
                                       #   Dovecot and Gmail do: the XOAUTH2
                                       #   error challenge 334 <base64 JSON
                                       #   {"status","schemes","scope"}>,
                                       #   then 535 5.7.8 once the client
                                       #   answers (any line but "*")
    "challenge_status": "401",         # its "status"
    "challenge_scope": "https://outlook.office365.com/.default",
    "force_reply": null,               # this reply instead of the normal
                                       #   one, e.g. "421 4.3.2 Service not
                                       #   available, closing transmission
                                       #   channel"; a 421 closes the session
    "force_reply_at": "mail",          # "greeting" | "auth" | "mail" |
                                       #   "data" (the end of the data)
    "force_reply_first": 0,            # only the first K times (0 = all)
    "max_message_bytes": 157286400
  }

Token check (AUTH step 4): the JWT payload is decoded without any
signature check; exp (and nbf) against real time, aud, "SMTP.SendAsApp" in
roles, appid registered under service_principals (and oid when object_id
is set), FullAccess on the user= mailbox, mailbox known.  The reason for a
535 5.7.3 appears only in the log.

Delivered messages (--maildir): NNNN.eml, the exact bytes after
dot-unstuffing, then NNNN.json {"n", "mail_from", "rcpt", "auth_user",
"claims", "message_id", "from_header", "size", "session", "time"}; both
are written before the 250 reply, the .json last.

Session log (--log), JSON lines written before each reply is sent:
  {"session", "event": "connect", "peer"}
  {"session", "event": "C", "line"}     client line; AUTH data redacted
  {"session", "event": "S", "line"}     reply (CRLF between lines)
  {"session", "event": "tls", "version", "cipher"}
  {"session", "event": "auth", "user", "ok", "reason", "claims",
   "token_sha256"}                      (XOAUTH2: SHA-256 of the token, hex)
  {"session", "event": "message", "n"}
  {"session", "event": "close", "reason"}
Tokens are never written; only decoded claims.
"""

import argparse
import base64
import binascii
import hashlib
import email.parser
import email.policy
import email.utils
import json
import os
import re
import socket
import socketserver
import ssl
import sys
import threading
import time
import uuid

import fakecommon as fc

HOSTNAME = "FAKE01CA0001.outlook.office365.com"
D = ("[FAKE01CA0001.namprd00.prod.outlook.com 2026-01-01T00:00:00.000Z "
     "08DE000000000001]")
GREETING = ("220 FAKE01CA0001.outlook.office365.com Microsoft ESMTP MAIL "
            "Service ready at Thu, 1 Jan 2026 00:00:00 +0000 "
            "[08DE000000000001]")
MB_HOST = "FAKE01MB0001.namprd00.prod.outlook.com"

R_STARTTLS = "220 2.0.0 SMTP server ready"
R_OLD_TLS = ("421 4.7.66 TLS 1.0 and 1.1 are not supported. Please "
             "upgrade/update your client to support TLS 1.2. Visit "
             "https://aka.ms/smtp_auth_tls. " + D)
R_504 = "504 5.7.4 Unrecognized authentication type " + D
R_530 = "530 5.7.57 Client not authenticated to send mail. " + D
R_CANCEL = "501 5.7.0 Authentication cancelled"
R_BAD_XOAUTH2 = "501 5.5.124 Invalid XOAUTH2 auth data"
R_BASIC = ("535 5.7.139 Authentication unsuccessful, basic authentication "
           "is disabled. " + D)
R_TENANT_OFF = ("535 5.7.139 Authentication unsuccessful, "
                "SmtpClientAuthentication is disabled for the Tenant. Visit "
                "https://aka.ms/smtp_auth_disabled for more information. " + D)
R_MAILBOX_OFF = ("535 5.7.139 Authentication unsuccessful, "
                 "SmtpClientAuthentication is disabled for the Mailbox. Visit "
                 "https://aka.ms/smtp_auth_disabled for more information. "
                 + D)
R_CA = ("535 5.7.139 Authentication unsuccessful, the request did not meet "
        "the criteria to be authenticated successfully. Contact your "
        "administrator. " + D)
R_535 = "535 5.7.3 Authentication unsuccessful " + D
R_235 = "235 2.7.0 Authentication successful"
R_CHALLENGE_535 = "535 5.7.8 Authentication credentials invalid"
R_432 = "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded"
R_SENDER_OK = "250 2.1.0 Sender OK"
R_RCPT_OK = "250 2.1.5 Recipient OK"
R_RCPT_BAD = ("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not "
              "found by SMTP address lookup")
R_354 = "354 Start mail input; end with <CRLF>.<CRLF>"
R_5760 = ("550 5.7.60 SMTP; Client does not have permissions to send as "
          "this sender")
R_520 = ("554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException."
         "MapiExceptionSendAsDenied; Failed to process message due to a "
         "permanent exception with message Cannot submit message. " + D)
R_430 = ("430 4.2.0 STOREDRV; mailbox logon failure; STOREDRV.Submission."
         "Exception:ConnectionFailedTransientException.MapiExceptionLogon"
         "Failed; Failed to process message due to a transient exception "
         "with message [BeginDiagnosticData]Cannot open mailbox. " + D)
R_RSET = "250 2.0.0 Resetting"
R_NOOP = "250 2.0.0 OK"
R_QUIT = "221 2.0.0 Service closing transmission channel"
R_UNKNOWN = "500 5.3.3 Unrecognized command"
R_HELLO_FIRST = "503 5.5.2 Send hello first"
R_BAD_DOMAIN = "501 5.5.4 Invalid domain name"
R_BAD_ARGS = "501 5.5.4 Invalid arguments"
R_ALREADY_AUTH = "503 5.5.2 Already authenticated"
R_SENDER_TWICE = "503 5.5.1 Sender already specified"
R_NEED_MAIL = "503 5.5.1 Need mail command"
R_NEED_RCPT = "503 5.5.1 Need rcpt command"
R_TOO_BIG = "552 5.3.4 Message size exceeds fixed maximum message size"
R_TOO_MANY_RCPT = "452 4.5.3 Too many recipients"
R_LINE_TOO_LONG = "500 5.5.2 Line too long"
R_TOO_MANY_CMDS = "421 4.7.0 Too many commands, closing transmission channel"


def r_sendas_252(user, addr):
    return ("554 5.2.252 SendAsDenied; %s not allowed to send as %s; "
            "STOREDRV.Submission.Exception:SendAsDeniedException."
            "MapiExceptionSendAsDenied; Failed to process message due to a "
            "permanent exception with message [BeginDiagnosticData]Cannot "
            "submit message. %s" % (user, addr, D))


EXTS = ["SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES",
        "STARTTLS", "8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"]

DEFAULTS = {
    "tenant_smtp_auth": True,
    "aud": "https://outlook.office365.com",
    "mailboxes": {},
    "service_principals": {},
    "sendas_reply": "5.2.252",
    "sendas_stage": "data",
    "old_tls": False,
    "no_starttls": False,
    "no_auth": False,
    "auth_mechanisms": "LOGIN XOAUTH2",
    "plain_passwords": {},
    "force_432": False,
    "force_432_first": 0,
    "max_connections_per_mailbox": 3,
    "bad_recipients": [],
    "greeting_delay": 0,
    "refused_token": "535",
    "challenge_status": "401",
    "challenge_scope": "https://outlook.office365.com/.default",
    "force_reply": None,
    "force_reply_at": "mail",
    "force_reply_first": 0,
    "max_message_bytes": 157286400,
}

MAX_LINE = 65536
MAX_COMMANDS = 10000
MAX_RCPTS = 500
XOAUTH2_RE = re.compile(r"^user=([^\x01]+)\x01auth=Bearer ([^\x01\s]+)"
                        r"\x01\x01$", re.S)
MAIL_RE = re.compile(r"^MAIL FROM:\s*<([^<>]*)>((?:\s+\S+)*)\s*$", re.I)
RCPT_RE = re.compile(r"^RCPT TO:\s*<([^<>]+)>((?:\s+\S+)*)\s*$", re.I)


class Close(Exception):
    """End the session (after any reply has been sent)."""


class LineTooLong(Exception):
    pass


def b64url_decode(s):
    s = s + "=" * (-len(s) % 4)
    return base64.urlsafe_b64decode(s.encode("ascii"))


def decode_jwt(token):
    """Payload of a JWT as a dict, or None. No signature check."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(b64url_decode(parts[1]).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def lookup(mapping, key):
    """Case-insensitive dict lookup; returns the value or None."""
    if not isinstance(mapping, dict) or key is None:
        return None
    want = key.lower()
    for k, v in mapping.items():
        if str(k).lower() == want:
            return v if isinstance(v, dict) else {}
    return None


def in_list(lst, addr):
    return any(str(x) == "*" or str(x).lower() == addr.lower()
               for x in (lst or []))


class Conn:
    """Buffered line/byte reader over a (possibly TLS) socket."""

    def __init__(self, sock, timeout):
        self.sock = sock
        self.timeout = timeout
        self.buf = bytearray()
        sock.settimeout(timeout)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("client closed the connection")
        self.buf += data

    def readline(self, maxlen=MAX_LINE):
        start = 0
        while True:
            i = self.buf.find(b"\n", start)
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > maxlen:
                raise LineTooLong()
            start = len(self.buf)
            self._fill()

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_data(self, limit):
        """Read DATA up to CRLF.CRLF; return the unstuffed message bytes,
        or None when it exceeded limit (the rest is read and dropped)."""
        data = bytearray(b"\r\n")
        data += self.buf
        self.buf = bytearray()
        start = 0
        overflow = False
        consumed = len(data)
        while True:
            i = data.find(b"\r\n.\r\n", start)
            if i >= 0:
                self.buf = bytearray(data[i + 5:])
                if overflow:
                    return None
                body = bytes(data[:i + 2])
                return body.replace(b"\r\n.", b"\r\n")[2:]
            if len(data) > limit + 5:
                overflow = True
                data = data[-4:]
            start = max(0, len(data) - 4)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("client closed the connection during DATA")
            consumed += len(chunk)
            if consumed > 2 * limit + (1 << 20):
                raise EOFError("DATA far over the size limit; closing")
            data += chunk

    def send(self, data):
        self.sock.sendall(data)


def text(line):
    return line.rstrip(b"\r\n").decode("utf-8", errors="replace")


class Session:
    def __init__(self, server, sock, peer):
        self.srv = server
        self.peer = peer[0]
        self.idle = server.idle_timeout
        self.conn = Conn(sock, self.idle)
        with server.lock:
            server.session_seq += 1
            self.id = server.session_seq
        self.tls = False
        self.helo = False
        self.auth_user = None
        self.claims = None
        self.reset()

    def reset(self):
        self.mail_from = None
        self.rcpts = []
        self.chunks = None

    # -- I/O ---------------------------------------------------------------

    def log(self, event, **kw):
        rec = {"session": self.id, "event": event}
        rec.update(kw)
        self.srv.log.write(rec)

    def reply(self, *lines):
        if len(lines) == 1:
            out = lines[0]
        else:
            out = "\r\n".join(lines)
        self.log("S", line=out)
        self.conn.send(out.encode("utf-8") + b"\r\n")

    def multiline(self, code, items):
        lines = ["%s-%s" % (code, x) for x in items[:-1]]
        lines.append("%s %s" % (code, items[-1]))
        self.reply(*lines)

    def forced(self, sc, gen, at):
        """Send the scenario's force_reply if it applies at this stage;
        True when it was sent.  A 421 ends the session."""
        rep = sc.get("force_reply")
        if not rep or str(sc.get("force_reply_at") or "mail") != at or \
                not self.srv.force_reply.take(gen,
                                              sc.get("force_reply_first")):
            return False
        self.reply(str(rep))
        if str(rep).startswith("421"):
            raise Close("forced 421")
        return True

    def read_auth_line(self):
        line = text(self.conn.readline())
        self.log("C", line="*" if line.strip() == "*" else "[redacted]")
        return line.strip()

    # -- main loop ---------------------------------------------------------

    def run(self):
        reason = "closed"
        self.log("connect", peer=self.peer)
        try:
            sc, gen = self.srv.scenario.get()
            self.srv.sleep(sc.get("greeting_delay") or 0)
            if not self.forced(sc, gen, "greeting"):
                self.reply(GREETING)
            for _ in range(MAX_COMMANDS):
                try:
                    raw = self.conn.readline()
                except LineTooLong:
                    self.reply(R_LINE_TOO_LONG)
                    reason = "line too long"
                    return
                self.command(raw)
            self.reply(R_TOO_MANY_CMDS)
            reason = "too many commands"
        except Close as e:
            reason = str(e) or "closed"
        except EOFError as e:
            reason = str(e)
        except socket.timeout:
            reason = "idle timeout"
        except (ssl.SSLError, OSError) as e:
            reason = "%s: %s" % (type(e).__name__, e)
        finally:
            self.srv.release(self)
            self.log("close", reason=reason)

    def command(self, raw):
        line = text(raw)
        verb, _, arg = line.strip().partition(" ")
        verb = verb.upper()
        arg = arg.strip()
        if verb == "AUTH":
            parts = arg.split()
            shown = "AUTH" + (" " + parts[0] if parts else "")
            if len(parts) > 1:
                shown += " [redacted]"
            self.log("C", line=shown)
        else:
            self.log("C", line=line)
        sc, gen = self.srv.scenario.get()
        handler = {
            "EHLO": self.do_ehlo, "HELO": self.do_helo,
            "STARTTLS": self.do_starttls, "AUTH": self.do_auth,
            "MAIL": self.do_mail, "RCPT": self.do_rcpt, "DATA": self.do_data,
            "BDAT": self.do_bdat, "RSET": self.do_rset, "NOOP": self.do_noop,
            "QUIT": self.do_quit,
        }.get(verb)
        if handler is None:
            self.reply(R_UNKNOWN)
            return
        handler(sc, gen, line.strip(), arg)

    # -- commands ----------------------------------------------------------

    def do_ehlo(self, sc, gen, line, arg):
        if not arg:
            self.reply(R_BAD_DOMAIN)
            return
        self.helo = True
        self.reset()
        items = ["%s Hello [%s]" % (HOSTNAME, self.peer)]
        for ext in EXTS:
            if ext == "STARTTLS":
                if self.tls:
                    if not sc.get("no_auth"):
                        mechs = str(sc.get("auth_mechanisms") or "").strip()
                        if mechs:
                            items.append("AUTH " + mechs)
                    continue
                if sc.get("no_starttls"):
                    continue
            items.append(ext)
        self.multiline("250", items)

    def do_helo(self, sc, gen, line, arg):
        if not arg:
            self.reply(R_BAD_DOMAIN)
            return
        self.helo = True
        self.reset()
        self.reply("250 %s Hello [%s]" % (HOSTNAME, self.peer))

    def do_starttls(self, sc, gen, line, arg):
        if self.tls or sc.get("no_starttls"):
            self.reply(R_UNKNOWN)
            return
        if not self.helo:
            self.reply(R_HELLO_FIRST)
            return
        if sc.get("old_tls"):
            self.reply(R_OLD_TLS)
            raise Close("old TLS mode")
        self.reply(R_STARTTLS)
        if self.conn.buf:
            # Never let plaintext sent before the handshake leak into the
            # TLS session (the STARTTLS command-injection class of bugs).
            self.log("discarded", bytes=len(self.conn.buf))
            self.conn.buf = bytearray()
        sock = self.conn.sock
        sock.settimeout(self.srv.handshake_timeout)
        try:
            tls = self.srv.tls_context.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError) as e:
            raise Close("TLS handshake failed: %s" % e)
        tls.settimeout(self.idle)
        self.conn.sock = tls
        self.tls = True
        self.helo = False
        self.auth_user = None
        self.claims = None
        self.reset()
        self.log("tls", version=tls.version(),
                 cipher=(tls.cipher() or [""])[0])

    def do_auth(self, sc, gen, line, arg):
        parts = arg.split()
        if not parts:
            self.reply(R_BAD_ARGS)
            return
        if not self.helo:
            self.reply(R_HELLO_FIRST)
            return
        mech = parts[0].upper()
        initial = parts[1] if len(parts) > 1 else None
        offered = str(sc.get("auth_mechanisms") or "").upper().split()
        if not self.tls or sc.get("no_auth") or mech not in offered:
            self.reply(R_504)
            return
        if self.auth_user is not None:
            self.reply(R_ALREADY_AUTH)
            return
        if self.mail_from is not None:
            self.reply("503 5.5.1 Mail transaction in progress")
            return
        if self.forced(sc, gen, "auth"):
            return
        if mech == "LOGIN":
            self.auth_login(initial)
        elif mech == "XOAUTH2":
            self.auth_xoauth2(sc, initial)
        elif mech == "PLAIN":
            self.auth_plain(sc, initial)
        else:
            self.reply(R_504)

    def auth_login(self, initial):
        if initial is None:
            self.reply("334 VXNlcm5hbWU6")
            if self.read_auth_line() == "*":
                self.reply(R_CANCEL)
                return
        self.reply("334 UGFzc3dvcmQ6")
        if self.read_auth_line() == "*":
            self.reply(R_CANCEL)
            return
        self.log("auth", user=None, ok=False, reason="basic authentication",
                 claims=None)
        self.reply(R_BASIC)

    def first_response(self, initial):
        """The client's first AUTH response: INITIAL, or read after an
        empty 334 when it sent none; None when it cancelled ("*")."""
        if initial is None:
            self.reply("334 ")
            initial = self.read_auth_line()
        if initial == "*":
            self.reply(R_CANCEL)
            return None
        return initial

    def auth_plain(self, sc, initial):
        """Fake only (Exchange refuses basic auth): authzid NUL user NUL
        password against plain_passwords."""
        initial = self.first_response(initial)
        if initial is None:
            return
        try:
            parts = base64.b64decode(initial.encode("ascii"),
                                     validate=True).decode().split("\0")
        except (ValueError, UnicodeError, binascii.Error):
            parts = []
        user = parts[1] if len(parts) == 3 else None
        pws = {str(k).lower(): v for k, v in
               (sc.get("plain_passwords") or {}).items()}
        want = pws.get(user.lower()) if user else None
        ok = isinstance(want, str) and parts[2] == want
        self.log("auth", user=user, ok=ok, reason="plain", claims=None)
        if not ok:
            self.reply(R_BASIC)
            return
        self.auth_user = user
        self.claims = None
        self.srv.register(self)
        self.reply(R_235)

    def auth_xoauth2(self, sc, initial):
        initial = self.first_response(initial)
        if initial is None:
            return
        try:
            payload = base64.b64decode(
                b"" if initial == "=" else initial.encode("ascii"),
                validate=True).decode("utf-8")
        except (ValueError, UnicodeError, binascii.Error):
            payload = None
        m = XOAUTH2_RE.match(payload) if payload is not None else None
        if m is None:
            self.log("auth", user=None, ok=False, reason="malformed payload",
                     claims=None)
            self.reply(R_BAD_XOAUTH2)
            return
        user, token = m.group(1), m.group(2)
        claims = decode_jwt(token)
        code, reason = self.decide(sc, user, claims)
        self.log("auth", user=user, ok=(code == R_235), reason=reason,
                 claims=claims,
                 token_sha256=hashlib.sha256(token.encode()).hexdigest())
        if code == R_235:
            self.auth_user = user
            self.claims = claims
            self.srv.register(self)
        if code == R_535 and sc.get("refused_token") == "challenge":
            self.challenge(sc)
            return
        self.reply(code)

    def challenge(self, sc):
        """The XOAUTH2 error challenge for a refused token; the final
        reply only after the client's answer, as RFC 7628 and Google's
        XOAUTH2 document have it."""
        body = json.dumps({"status": str(sc.get("challenge_status")),
                           "schemes": "bearer",
                           "scope": str(sc.get("challenge_scope"))},
                          separators=(",", ":"))
        self.reply("334 " + base64.b64encode(body.encode()).decode())
        if self.read_auth_line() == "*":
            self.reply(R_CANCEL)
            return
        self.reply(R_CHALLENGE_535)

    def decide(self, sc, user, claims):
        mbx = lookup(sc.get("mailboxes"), user)
        appid = claims.get("appid") if claims else None
        sp = lookup(sc.get("service_principals"),
                    appid if isinstance(appid, str) else None)
        flag = mbx.get("smtp_auth") if mbx is not None else None
        if not sc.get("tenant_smtp_auth", True) and flag is None:
            return R_TENANT_OFF, "SMTP AUTH disabled for the tenant"
        if flag is False:
            return R_MAILBOX_OFF, "SMTP AUTH disabled for the mailbox"
        if (mbx or {}).get("conditional_access") or \
                (sp or {}).get("conditional_access"):
            return R_CA, "conditional access"
        if claims is None:
            return R_535, "token is not a readable JWT"
        now = time.time()
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or isinstance(exp, bool):
            return R_535, "token has no exp"
        if now >= exp:
            return R_535, "token expired"
        nbf = claims.get("nbf")
        if isinstance(nbf, (int, float)) and now + 300 < nbf:
            return R_535, "token not yet valid"
        auds = sc.get("aud") or DEFAULTS["aud"]
        if isinstance(auds, str):
            auds = [auds]
        if claims.get("aud") not in auds:
            return R_535, "wrong audience %r" % (claims.get("aud"),)
        roles = claims.get("roles")
        if not isinstance(roles, list) or "SMTP.SendAsApp" not in roles:
            return R_535, "no SMTP.SendAsApp in roles"
        if sp is None:
            return R_535, "no service principal for appid %r" % (appid,)
        want_oid = sp.get("object_id")
        if want_oid and str(want_oid).lower() != \
                str(claims.get("oid") or "").lower():
            return R_535, "service principal object id does not match oid"
        if not in_list(sp.get("full_access"), user):
            return R_535, "service principal has no FullAccess on %s" % user
        if mbx is None:
            return R_535, "unknown mailbox %s" % user
        return R_235, "ok"

    def do_mail(self, sc, gen, line, arg):
        if not self.helo:
            self.reply(R_HELLO_FIRST)
            return
        if self.auth_user is None:
            self.reply(R_530)
            return
        if self.mail_from is not None:
            self.reply(R_SENDER_TWICE)
            return
        if self.forced(sc, gen, "mail"):
            return
        m = MAIL_RE.match(line)
        if not m:
            self.reply(R_BAD_ARGS)
            return
        addr = m.group(1).strip()
        for p in m.group(2).split():
            k, _, v = p.partition("=")
            if k.upper() == "SIZE":
                try:
                    size = int(v)
                except ValueError:
                    self.reply(R_BAD_ARGS)
                    return
                if size > int(sc.get("max_message_bytes") or 0):
                    self.reply(R_TOO_BIG)
                    return
        if (sc.get("force_432") and
                self.srv.force_432.take(gen, sc.get("force_432_first"))) or \
                self.srv.rank(self) >= int(
                    sc.get("max_connections_per_mailbox") or 3):
            self.reply(R_432)
            return
        if sc.get("sendas_stage") == "mail":
            denied = self.denied_senders(sc, [addr])
            if denied:
                self.reply(self.sendas_reply(sc, denied[0]))
                return
        self.mail_from = addr
        self.rcpts = []
        self.reply(R_SENDER_OK)

    def do_rcpt(self, sc, gen, line, arg):
        if self.mail_from is None:
            self.reply(R_NEED_MAIL)
            return
        m = RCPT_RE.match(line)
        if not m:
            self.reply(R_BAD_ARGS)
            return
        addr = m.group(1).strip()
        if in_list([x for x in sc.get("bad_recipients") or [] if x != "*"],
                   addr):
            self.reply(R_RCPT_BAD)
            return
        if len(self.rcpts) >= MAX_RCPTS:
            self.reply(R_TOO_MANY_RCPT)
            return
        self.rcpts.append(addr)
        self.reply(R_RCPT_OK)

    def do_data(self, sc, gen, line, arg):
        if self.mail_from is None:
            self.reply(R_NEED_MAIL)
            return
        if not self.rcpts:
            self.reply(R_NEED_RCPT)
            return
        self.reply(R_354)
        msg = self.conn.read_data(int(sc.get("max_message_bytes") or 0))
        self.log("C", line="[message data]")
        if msg is None:
            self.reset()
            self.reply(R_TOO_BIG)
            return
        if self.forced(sc, gen, "data"):
            self.reset()
            return
        self.finish(sc, msg)

    def do_bdat(self, sc, gen, line, arg):
        parts = arg.split()
        try:
            n = int(parts[0])
            last = len(parts) > 1 and parts[1].upper() == "LAST"
            if n < 0 or len(parts) > 2 or (len(parts) == 2 and not last):
                raise ValueError()
        except (ValueError, IndexError):
            self.reply(R_BAD_ARGS)
            return
        limit = int(sc.get("max_message_bytes") or 0)
        data = self.conn.read_exact(n) if n <= limit else None
        if data is None:
            # Too large to keep: read it in pieces and drop it.
            left = n
            while left > 0:
                left -= len(self.conn.read_exact(min(left, 65536)))
            self.reset()
            self.reply(R_TOO_BIG)
            return
        if self.mail_from is None:
            self.reply(R_NEED_MAIL)
            return
        if not self.rcpts:
            self.reply(R_NEED_RCPT)
            return
        if self.chunks is None:
            self.chunks = []
        self.chunks.append(data)
        if sum(len(c) for c in self.chunks) > limit:
            self.reset()
            self.reply(R_TOO_BIG)
            return
        if not last:
            self.reply("250 2.6.0 CHUNK received OK, %d octets" % n)
            return
        self.finish(sc, b"".join(self.chunks))

    def do_rset(self, sc, gen, line, arg):
        self.reset()
        self.reply(R_RSET)

    def do_noop(self, sc, gen, line, arg):
        self.reply(R_NOOP)

    def do_quit(self, sc, gen, line, arg):
        self.reply(R_QUIT)
        raise Close("quit")

    # -- end of data -------------------------------------------------------

    def denied_senders(self, sc, addrs):
        user = self.auth_user
        mbx = lookup(sc.get("mailboxes"), user) or {}
        appid = (self.claims or {}).get("appid")
        sp = lookup(sc.get("service_principals"),
                    appid if isinstance(appid, str) else None) or {}
        out = []
        for a in addrs:
            if a.lower() == user.lower():
                continue
            if in_list(mbx.get("send_as"), a) or in_list(sp.get("send_as"),
                                                          a):
                continue
            out.append(a)
        return out

    def sendas_reply(self, sc, addr):
        mode = str(sc.get("sendas_reply") or "5.2.252")
        if mode == "5.7.60":
            return R_5760
        if mode == "5.2.0":
            return R_520
        return r_sendas_252(self.auth_user, addr)

    def finish(self, sc, msg):
        mail_from, rcpts = self.mail_from, list(self.rcpts)
        self.reset()
        hdr = email.parser.BytesHeaderParser(policy=email.policy.compat32) \
            .parsebytes(msg)
        from_hdr = [a for _, a in email.utils.getaddresses(
            hdr.get_all("From") or []) if a]
        msgid = (hdr.get("Message-ID") or "").strip()
        if not msgid:
            msgid = "<%s@%s>" % (uuid.uuid4(), MB_HOST)
        denied = self.denied_senders(sc, [mail_from] + from_hdr)
        if denied:
            self.reply(self.sendas_reply(sc, denied[0]))
            return
        mbx = lookup(sc.get("mailboxes"), self.auth_user) or {}
        if mbx.get("logon_failure"):
            self.reply(R_430)
            return
        meta = {"mail_from": mail_from, "rcpt": rcpts,
                "auth_user": self.auth_user, "claims": self.claims,
                "message_id": msgid, "from_header": from_hdr,
                "size": len(msg), "session": self.id,
                "time": round(time.time(), 3)}
        n = self.srv.store(meta, msg)
        if n is not None:
            self.log("message", n=n)
        self.reply("250 2.0.0 OK %s [Hostname=%s]" % (msgid, MB_HOST))


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        fc.set_nodelay(self.request)
        s = Session(self.server, self.request, self.client_address)
        try:
            s.run()
        finally:
            try:
                s.conn.sock.close()
            except OSError:
                pass


class Server(fc.ThreadingTCPServer):
    scheme = "smtp"

    def setup_state(self, args):
        self.lock = threading.Lock()
        self.session_seq = 0
        self.by_mailbox = {}
        self.force_432 = fc.FirstK()
        self.force_reply = fc.FirstK()
        self.maildir = args.maildir
        self.next_n = 1
        if self.maildir:
            os.makedirs(self.maildir, exist_ok=True)
            for name in os.listdir(self.maildir):
                stem, ext = os.path.splitext(name)
                if ext in (".eml", ".json") and stem.isdigit():
                    self.next_n = max(self.next_n, int(stem) + 1)

    def register(self, session):
        with self.lock:
            self.by_mailbox.setdefault(session.auth_user.lower(), []) \
                .append(session.id)

    def release(self, session):
        if session.auth_user is None:
            return
        with self.lock:
            lst = self.by_mailbox.get(session.auth_user.lower(), [])
            if session.id in lst:
                lst.remove(session.id)

    def rank(self, session):
        """0-based position of this session among the live authenticated
        sessions of its mailbox, in the order they authenticated."""
        with self.lock:
            lst = self.by_mailbox.get(session.auth_user.lower(), [])
            return lst.index(session.id) if session.id in lst else 0

    def store(self, meta, msg):
        if not self.maildir:
            return None
        with self.lock:
            n = self.next_n
            self.next_n += 1
        meta = dict(meta, n=n)
        base = os.path.join(self.maildir, "%04d" % n)
        fc.write_atomic(base + ".eml", msg)
        fc.write_atomic(base + ".json",
                        json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
        return n


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    fc.add_common_args(p)
    p.add_argument("--maildir", help="store accepted messages here")
    p.add_argument("--idle-timeout", type=float, default=60.0,
                   help="close a connection silent this long (seconds)")
    args = p.parse_args()
    srv = Server((fc.HOST, args.port), Handler)
    srv.setup_state(args)
    srv.tls_context = fc.server_ssl_context(args.cert, args.key)
    srv.idle_timeout = args.idle_timeout
    srv.scenario = fc.Scenario(args.scenario, DEFAULTS)
    srv.log = fc.JsonLog(args.log)
    srv.scenario.get()
    return fc.serve([(srv, args.port_file)], args, on_stop=srv.log.close)


if __name__ == "__main__":
    sys.exit(main())
