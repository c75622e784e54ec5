#!/usr/bin/python3
"""Self-test of the stand-in servers, with the curl tool as the client.

    /usr/bin/python3 tests/fakes/selftest_fakes.py [-v] [NAME-SUBSTRING...]

Proves that the fakes speak the wire formats of docs/PROTOCOL.md (their summary is its §7):
token replies byte for byte, throttling and faults, XOAUTH2 submission
with libcurl's two-step AUTH, refusals, and TLS trust.  Exact SMTP bytes
are checked with a small raw-socket client.  Prints one line per check
and a final "N passed, N failed"; exits 1 on any failure.
"""

import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakes  # noqa: E402

VERBOSE = "-v" in sys.argv[1:]
ONLY = [a for a in sys.argv[1:] if not a.startswith("-")]

TENANT = "11111111-1111-1111-1111-111111111111"
DOMAIN = "contoso.onmicrosoft.com"
APP = "22222222-2222-2222-2222-222222222222"
APP_NOROLES = "44444444-4444-4444-4444-444444444444"
APP_OFF = "55555555-5555-5555-5555-555555555555"
SP_OID = "33333333-3333-3333-3333-333333333333"
TENANT2 = "99999999-9999-4999-8999-999999999999"
READER = "88888888-8888-4888-8888-000000000001"
READER_NOUSER = "88888888-8888-4888-8888-000000000002"
READER2 = "88888888-8888-4888-8888-000000000003"
READER_SECRET = "Rdr8Q~reader.secret-01"
SENDER = "alerts@contoso.com"
SECRET = "Abc8Q~x+y/z=[w]:v@u"      # characters real secrets contain
OLD_SECRET = "Old8Q~expired"
NEW_SECRET = "New8Q~propagating"
LATER_SECRET = "Lat8Q~notyet"
OUTLOOK = "https://outlook.office365.com/.default"
TR = "00000000-0000-0000-0000-0000000000aa"
CO = "00000000-0000-0000-0000-0000000000bb"
TS = "2026-01-01 00:00:00Z"
D = ("[FAKE01CA0001.namprd00.prod.outlook.com 2026-01-01T00:00:00.000Z "
     "08DE000000000001]")


def entra_scenario():
    return {
        "tenants": {
            TENANT: {
                "name": "contoso", "domains": [DOMAIN],
                "apps": {
                    APP: {"name": "mailer", "sp_object_id": SP_OID,
                          "roles": {"https://outlook.office365.com":
                                    ["SMTP.SendAsApp"],
                                    "https://graph.microsoft.com":
                                    ["Application.ReadWrite.OwnedBy"]},
                          "secrets": [
                              {"label": "s1", "value": SECRET,
                               "end": "2099-01-01T00:00:00Z"},
                              {"label": "old", "value": OLD_SECRET,
                               "end": "2020-01-01"},
                              {"label": "new", "value": NEW_SECRET,
                               "end": time.time() + 86400 * 180,
                               "reject_first": 1},
                              {"label": "later", "value": LATER_SECRET,
                               "end": "2099-01-01",
                               "reject_until": time.time() + 3600}]},
                    APP_NOROLES: {"name": "noconsent", "roles": [],
                                  "secrets": [{"label": "nr",
                                               "value": "NoRoles8Q~1",
                                               "end": "2099-01-01"}]},
                    APP_OFF: {"name": "offapp", "disabled": True,
                              "secrets": [{"label": "d",
                                           "value": "Off8Q~1"}]},
                    READER: reader_app(["Application.Read.All",
                                        "User.Read.All"], READER_SECRET),
                    READER_NOUSER: reader_app(["Application.Read.All"],
                                              READER_SECRET),
                }},
            TENANT2: {"name": "fabrikam", "apps": {
                READER2: reader_app(["Application.Read.All"],
                                    READER_SECRET)}}}}


def reader_app(roles, secret):
    return {"name": "reader", "roles": {"https://graph.microsoft.com": roles},
            "secrets": [{"label": "r", "value": secret,
                         "end": "2099-01-01"}]}


def smtp_scenario():
    return {
        "tenant_smtp_auth": True,
        "mailboxes": {
            SENDER: {"smtp_auth": True},
            "off@contoso.com": {"smtp_auth": False},
            "ca@contoso.com": {"conditional_access": True},
            "lf@contoso.com": {"logon_failure": True},
            "nofa@contoso.com": {},
        },
        "service_principals": {
            APP: {"full_access": [SENDER, "off@contoso.com",
                                  "ca@contoso.com", "lf@contoso.com"]},
            APP_NOROLES: {"full_access": ["*"]},
        },
    }


def err_body(error, code, text, sep=" "):
    return ('{"error":"%s","error_description":"AADSTS%d: %s%sTrace ID: %s%s'
            'Correlation ID: %s%sTimestamp: %s","error_codes":[%d],'
            '"timestamp":"%s","trace_id":"%s","correlation_id":"%s",'
            '"error_uri":"https://login.microsoftonline.com/error?code=%d"}'
            % (error, code, text, sep, TR, sep, CO, sep, TS, code, TS, TR,
               CO, code))


# -- tiny test runner -----------------------------------------------------

RESULTS = []


class Fail(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Fail(what)


def eq(got, want, what=""):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# -- curl -----------------------------------------------------------------

class Http:
    def __init__(self, rc, status, headers, body, stderr):
        self.rc, self.status, self.headers = rc, status, headers
        self.body, self.stderr = body, stderr

    def json(self):
        return json.loads(self.body)


def curl_http(url, ca, form=None, args=(), timeout=20):
    """curl an HTTP(S) URL; form is a list of (k, v) sent urlencoded."""
    with tempfile.TemporaryDirectory() as d:
        hdr, out = os.path.join(d, "h"), os.path.join(d, "b")
        cmd = [fakes.need("curl", "curl"), "-sS", "--cacert", ca,
               "-D", hdr, "-o", out, "-w", "%{http_code}"]
        for k, v in form or []:
            cmd += ["--data-urlencode", "%s=%s" % (k, v)]
        cmd += list(args) + [url]
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout)
        headers = {}
        try:
            with open(hdr, "rb") as f:
                # the last response block only (skip 100 Continue)
                block = f.read().decode("latin-1").strip().split("\r\n\r\n")
                for line in block[-1].split("\r\n")[1:]:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
        except FileNotFoundError:
            pass
        try:
            with open(out, "rb") as f:
                body = f.read().decode("utf-8")
        except FileNotFoundError:
            body = ""
        status = int(p.stdout.strip() or 0)
        return Http(p.returncode, status, headers, body, p.stderr)


def token_form(client=APP, secret=SECRET, scope=OUTLOOK,
               grant="client_credentials"):
    form = []
    if client is not None:
        form.append(("client_id", client))
    if scope is not None:
        form.append(("scope", scope))
    if secret is not None:
        form.append(("client_secret", secret))
    if grant is not None:
        form.append(("grant_type", grant))
    return form


def get_token(entra, client=APP, secret=SECRET, tenant=TENANT):
    r = curl_http(entra.token_url(tenant), entra.ca_file,
                  token_form(client, secret))
    eq(r.status, 200, "token status (%s)" % r.body[:200])
    return r.json()["access_token"]


def curl_smtp(smtp, token=None, user=SENDER, mail_from=SENDER,
              rcpt=("ops@example.org",), message=None, ca=None, extra=()):
    """Send with the curl tool the way docs/PROTOCOL.md §3 expects."""
    if message is None:
        message = ("From: %s\r\nTo: ops@example.org\r\nSubject: test\r\n"
                   "Message-ID: <selftest@secretwatch.test>\r\n\r\n"
                   "hello\r\n" % mail_from).encode()
    with tempfile.TemporaryDirectory() as d:
        mf = os.path.join(d, "msg")
        with open(mf, "wb") as f:
            f.write(message)
        cmd = [fakes.need("curl", "curl"), "-v", "-sS", "--ssl-reqd",
               "--cacert", ca or smtp.ca_file, "--max-time", "20"]
        if token is not None:
            cmd += ["--oauth2-bearer", token, "--login-options",
                    "AUTH=XOAUTH2"]
        if user is not None:
            cmd += ["-u", user + ":"]
        cmd += ["--mail-from", mail_from]
        for r in rcpt:
            cmd += ["--mail-rcpt", r]
        cmd += ["-T", mf, smtp.url + "/selftest.example"] + list(extra)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    err = p.stderr
    if token:
        err = err.replace(token, "<token>")
    return p.returncode, err


# -- raw SMTP client for byte-exact checks --------------------------------

class Raw:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def reply(self):
        out = b""
        for _ in range(100):
            while b"\r\n" not in self.buf:
                data = self.s.recv(65536)
                if not data:
                    raise Fail("server closed; got %r" % (out + self.buf))
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            out += line + b"\r\n"
            if len(line) < 4 or line[3:4] == b" ":
                return out
        raise Fail("reply too long")

    def cmd(self, line):
        self.s.sendall(line.encode() + b"\r\n")
        return self.reply()

    def starttls(self, ca):
        eq(self.cmd("STARTTLS"), b"220 2.0.0 SMTP server ready\r\n",
           "STARTTLS")
        ctx = ssl.create_default_context(cafile=ca)
        self.s = ctx.wrap_socket(self.s, server_hostname="127.0.0.1")

    def login(self, ca, user, token):
        self.reply()
        self.cmd("EHLO raw.test")
        self.starttls(ca)
        self.cmd("EHLO raw.test")
        return self.cmd("AUTH XOAUTH2 " + fakes.xoauth2(user, token))

    def closed(self):
        """True when the server has closed the connection."""
        try:
            self.s.settimeout(5)
            return self.s.recv(1) == b""
        except (OSError, ssl.SSLError):
            return True

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def ehlo_lines(mid):
    return ("250-FAKE01CA0001.outlook.office365.com Hello [127.0.0.1]\r\n"
            "250-SIZE 157286400\r\n250-PIPELINING\r\n250-DSN\r\n"
            "250-ENHANCEDSTATUSCODES\r\n" + mid +
            "250-8BITMIME\r\n250-BINARYMIME\r\n250-CHUNKING\r\n"
            "250 SMTPUTF8\r\n").encode()


def hand_token(**over):
    now = int(time.time())
    claims = {"aud": "https://outlook.office365.com",
              "iss": "https://sts.windows.net/%s/" % TENANT,
              "iat": now, "nbf": now, "exp": now + 3599, "appid": APP,
              "idtyp": "app", "oid": SP_OID, "roles": ["SMTP.SendAsApp"],
              "tid": TENANT, "ver": "1.0"}
    claims.update(over)
    return fakes.make_jwt({k: v for k, v in claims.items() if v is not None})


# == token endpoint ======================================================

@test
def entra_success_token(ctx):
    e = ctx["entra"]
    r = curl_http(e.token_url(TENANT), e.ca_file, token_form())
    eq(r.rc, 0, "curl rc")
    eq(r.status, 200, "status")
    eq(r.headers.get("content-type"), "application/json; charset=utf-8",
       "Content-Type")
    eq(r.headers.get("cache-control"), "no-store, no-cache", "Cache-Control")
    body = r.json()
    eq(list(body), ["token_type", "expires_in", "ext_expires_in",
                    "access_token"], "key order")
    eq(body["token_type"], "Bearer", "token_type")
    expect(type(body["expires_in"]) is int, "expires_in is a JSON number")
    eq(body["expires_in"], 3599, "expires_in")
    expect(r.body.startswith('{"token_type":"Bearer","expires_in":3599,'
                             '"ext_expires_in":3599,"access_token":"ey'),
           "compact body as recorded: %s" % r.body[:80])
    tok = body["access_token"]
    eq(len(tok.split(".")), 3, "JWT parts")
    eq(fakes.decode_jwt(tok, part=0), {"typ": "JWT", "alg": "RS256"},
       "header")
    c = fakes.decode_jwt(tok)
    eq(c["aud"], "https://outlook.office365.com", "aud")
    eq(c["iss"], "https://sts.windows.net/%s/" % TENANT, "iss")
    eq(c["appid"], APP, "appid")
    eq(c["tid"], TENANT, "tid")
    eq(c["oid"], SP_OID, "oid")
    eq(c["roles"], ["SMTP.SendAsApp"], "roles")
    eq(c["idtyp"], "app", "idtyp")
    eq(c["ver"], "1.0", "ver")
    eq(c["xms_sw_secret"], "s1", "xms_sw_secret")
    eq(c["exp"] - c["iat"], 3599, "exp - iat")
    expect(abs(c["iat"] - time.time()) < 60, "iat is now")
    eq(c["nbf"], c["iat"], "nbf")


@test
def entra_domain_tenant_and_graph_scope(ctx):
    e = ctx["entra"]
    r = curl_http(e.token_url(DOMAIN), e.ca_file, token_form(
        scope="https://graph.microsoft.com/.default"))
    eq(r.status, 200, "status")
    c = fakes.decode_jwt(r.json()["access_token"])
    eq(c["tid"], TENANT, "tid is the GUID")
    eq(c["aud"], "https://graph.microsoft.com", "aud")
    eq(c["roles"], ["Application.ReadWrite.OwnedBy"], "graph roles")


@test
def entra_basic_client_auth(ctx):
    e = ctx["entra"]
    q = urllib.parse.quote_plus
    r = curl_http(e.token_url(TENANT), e.ca_file,
                  token_form(client=None, secret=None),
                  args=["--basic", "-u", "%s:%s" % (q(APP), q(SECRET))])
    eq(r.status, 200, "status (%s)" % r.body[:200])
    eq(fakes.decode_jwt(r.json()["access_token"])["xms_sw_secret"], "s1",
       "secret label")
    eq(e.requests()[-1]["secret_via"], "basic", "logged secret_via")


@test
def entra_bad_secret_exact_body(ctx):
    e = ctx["entra"]
    r = curl_http(e.token_url(TENANT), e.ca_file,
                  token_form(secret="wrong"))
    eq(r.status, 401, "status")
    eq(r.headers.get("content-type"), "application/json; charset=utf-8",
       "Content-Type")
    eq(r.body, err_body(
        "invalid_client", 7000215,
        "Invalid client secret provided. Ensure the secret being sent in the "
        "request is the client secret value, not the client secret ID, for a "
        "secret added to app '%s'." % APP), "body")


@test
def entra_unencoded_plus_is_wrong_secret(ctx):
    # a client that forgets to URL-encode '+' sends a space instead
    e = ctx["entra"]
    body = ("client_id=%s&scope=%s&client_secret=%s&grant_type="
            "client_credentials" % (APP, urllib.parse.quote(OUTLOOK, ""),
                                    SECRET))
    r = curl_http(e.token_url(TENANT), e.ca_file, args=["--data-raw", body])
    eq(r.status, 401, "status")
    eq(r.json()["error_codes"], [7000215], "code")


@test
def entra_expired_secret_exact_body(ctx):
    e = ctx["entra"]
    r = curl_http(e.token_url(TENANT), e.ca_file,
                  token_form(secret=OLD_SECRET))
    eq(r.status, 401, "status")
    eq(r.body, err_body(
        "invalid_client", 7000222,
        "The provided client secret keys for app '%s' are expired. Visit the "
        "Azure portal to create new keys for your app: "
        "https://aka.ms/NewClientSecret, or consider using certificate "
        "credentials for added security: https://aka.ms/certCreds." % APP),
        "body")
    eq(e.requests()[-1]["secret_label"], "old", "logged label")


@test
def entra_new_secret_propagation(ctx):
    e = ctx["entra"]
    r1 = curl_http(e.token_url(TENANT), e.ca_file,
                   token_form(secret=NEW_SECRET))
    r2 = curl_http(e.token_url(TENANT), e.ca_file,
                   token_form(secret=NEW_SECRET))
    eq((r1.status, r2.status), (401, 200), "first rejected, then accepted")
    eq(r1.json()["error_codes"], [7000215], "first code")
    eq(fakes.decode_jwt(r2.json()["access_token"])["xms_sw_secret"], "new",
       "label")
    r3 = curl_http(e.token_url(TENANT), e.ca_file,
                   token_form(secret=LATER_SECRET))
    eq((r3.status, r3.json()["error_codes"]), (401, [7000215]),
       "reject_until in the future")


@test
def entra_error_table(ctx):
    e = ctx["entra"]
    u = e.token_url(TENANT)
    rows = [
        (e.token_url("undefined"), token_form(), 400, "invalid_request",
         900023, "Specified tenant identifier 'undefined' is neither a valid "
         "DNS name, nor a valid external domain."),
        (e.token_url("fabrikam.onmicrosoft.com"), token_form(), 400,
         "invalid_tenant", 90002, "Tenant 'fabrikam.onmicrosoft.com' not "
         "found. Check to make sure you have the correct tenant ID and are "
         "signing into the correct cloud. Check with your subscription "
         "administrator, this may happen if there are no active "
         "subscriptions for the tenant."),
        (u, token_form(grant=None), 400, "invalid_request", 900144,
         "The request body must contain the following parameter: "
         "'grant_type'."),
        (u, token_form(scope=None), 400, "invalid_request", 900144,
         "The request body must contain the following parameter: 'scope'."),
        (u, token_form(client="99999999-9999-9999-9999-999999999999"), 400,
         "unauthorized_client", 700016, "Application with identifier "
         "'99999999-9999-9999-9999-999999999999' was not found in the "
         "directory 'contoso'. This can happen if the application has not "
         "been installed by the administrator of the tenant or consented to "
         "by any user in the tenant. You may have sent your authentication "
         "request to the wrong tenant."),
        (u, token_form(client=APP_OFF, secret="Off8Q~1"), 400,
         "unauthorized_client", 7000112,
         "Application '%s'(offapp) is disabled." % APP_OFF),
        (u, token_form(secret=None), 401, "invalid_client", 7000218,
         "The request body must contain the following parameter: "
         "'client_assertion' or 'client_secret'."),
        (u, token_form(scope="https://outlook.office365.com/SMTP.SendAsApp"),
         400, "invalid_scope", 1002012, "The provided value for scope "
         "https://outlook.office365.com/SMTP.SendAsApp is not valid. Client "
         "credential flows must have a scope value with /.default suffixed "
         "to the resource identifier (application ID URI)."),
        (u, token_form(scope="https://outlook.office366.com/.default"), 400,
         "invalid_scope", 70011, "The provided value for the input parameter "
         "'scope' isn't valid. The scope "
         "https://outlook.office366.com/.default isn't valid."),
    ]
    for url, form, status, error, code, text in rows:
        r = curl_http(url, e.ca_file, form)
        eq(r.status, status, "status for %d" % code)
        eq(r.body, err_body(error, code, text), "body for %d" % code)
    r = curl_http(u, e.ca_file)
    eq(r.status, 400, "GET status")
    eq(r.json()["error_codes"], [900561], "GET code")
    for scope in ("https://outlook.office365.us/.default",
                  "https://outlook-dod.office365.us/.default",
                  "https://partner.outlook.cn/.default",
                  "https://graph.microsoft.us/.default",
                  "https://dod-graph.microsoft.us/.default",
                  "https://microsoftgraph.chinacloudapi.cn/.default"):
        r = curl_http(u, e.ca_file, token_form(scope=scope))
        eq(r.status, 200, "sovereign scope " + scope)
        eq(fakes.decode_jwt(r.json()["access_token"])["aud"],
           scope[:-len("/.default")], "aud for " + scope)


@test
def entra_legacy_crlf(ctx):
    e = ctx["entra"]
    e.update_scenario(legacy_crlf=True)
    try:
        r = curl_http(e.token_url(TENANT), e.ca_file,
                      token_form(secret="wrong"))
        eq(r.body, err_body(
            "invalid_client", 7000215,
            "Invalid client secret provided. Ensure the secret being sent in "
            "the request is the client secret value, not the client secret "
            "ID, for a secret added to app '%s'." % APP, sep="\\r\\n"),
            "body with \\r\\n separators")
        expect("\r\nTrace ID: " in r.json()["error_description"],
               "decoded description has CRLF")
    finally:
        e.set_scenario(entra_scenario())


@test
def entra_plain_oauth_errors(ctx):
    e = ctx["entra"]
    try:
        e.update_scenario(plain_oauth="bare")
        r = curl_http(e.token_url(TENANT), e.ca_file,
                      token_form(secret="wrong"))
        eq(r.status, 401, "status")
        eq(r.body, '{"error":"invalid_client"}', "bare body")
        e.update_scenario(plain_oauth=True)
        r = curl_http(e.token_url(TENANT), e.ca_file,
                      token_form(secret="wrong"))
        eq(r.json(), {"error": "invalid_client", "error_description":
                      "Client authentication failed."}, "RFC body")
        r = curl_http(e.token_url("nosuch.example"), e.ca_file, token_form())
        eq(r.status, 400, "unknown tenant status")
        eq(r.json()["error"], "invalid_request", "Entra-only class mapped")
        expect("AADSTS" not in r.body and "correlation" not in r.body,
               "no AADSTS code or IDs")
        eq(get_token(e)[:3], "eyJ", "a token still comes")
    finally:
        e.set_scenario(entra_scenario())


@test
def entra_throttle_429(ctx):
    e = ctx["entra"]
    e.update_scenario(throttle=True, throttle_first=1)
    try:
        r = curl_http(e.token_url(TENANT), e.ca_file, token_form())
        eq(r.status, 429, "status")
        eq(r.headers.get("retry-after"), "60", "Retry-After")
        expect(r.headers.get("content-type", "").startswith("text/plain"),
               "text/plain")
        eq(r.body, "Too Many Requests", "body")
        try:
            json.loads(r.body)
            raise Fail("429 body must not be JSON")
        except ValueError:
            pass
        r = curl_http(e.token_url(TENANT), e.ca_file, token_form())
        eq(r.status, 200, "second request (throttle_first=1)")
    finally:
        e.set_scenario(entra_scenario())


@test
def entra_faults(ctx):
    e = ctx["entra"]
    u = e.token_url(TENANT)
    try:
        e.update_scenario(fault="500", fault_first=2)
        got = [curl_http(u, e.ca_file, token_form()) for _ in range(3)]
        eq([r.status for r in got], [500, 500, 200], "first 2 get 500")
        expect(got[0].headers["content-type"].startswith("text/html"),
               "500 not JSON")
        e.update_scenario(fault="500_json", fault_first=0, fault_status=503)
        r = curl_http(u, e.ca_file, token_form())
        eq((r.status, r.json()["error"]), (503, "temporarily_unavailable"),
           "5xx JSON")
        e.update_scenario(fault="non_json_200")
        r = curl_http(u, e.ca_file, token_form())
        eq(r.status, 200, "status")
        expect(not r.body.startswith("{"), "non-JSON 200")
        e.update_scenario(fault="drop")
        r = curl_http(u, e.ca_file, token_form())
        expect(r.rc != 0 and r.status == 0,
               "drop: curl fails without a status (rc %d)" % r.rc)
        e.update_scenario(fault="slow", slow_seconds=5, fault_first=1)
        t0 = time.monotonic()
        r = curl_http(u, e.ca_file, token_form(), args=["--max-time", "1"])
        eq(r.rc, 28, "slow: curl timeout rc")
        expect(time.monotonic() - t0 < 4, "timed out quickly")
        r = curl_http(u, e.ca_file, token_form())
        eq(r.status, 200, "after the first slow one")
    finally:
        e.set_scenario(entra_scenario())


@test
def entra_log_has_no_secrets(ctx):
    e = ctx["entra"]
    with open(e.log_file, encoding="utf-8") as f:
        raw = f.read()
    for s in (SECRET, OLD_SECRET, NEW_SECRET, LATER_SECRET, "wrong",
              urllib.parse.quote_plus(SECRET)):
        expect(s not in raw, "secret %r in the log" % s[:4])
    recs = e.requests()
    expect(len(recs) > 10, "requests logged")
    for key in ("tenant", "client_id", "scope", "secret_via",
                "secret_label", "status", "error_code"):
        expect(key in recs[0], "log field " + key)
    expect(any(r["secret_label"] == "s1" and r["status"] == 200
               and r["secret_via"] == "form" for r in recs), "s1 success")


@test
def entra_rogue_certificate_refused(ctx):
    with fakes.Entra(entra_scenario(), rogue=True) as rogue:
        r = curl_http(rogue.token_url(TENANT), rogue.ca_file, token_form())
        eq(r.rc, 60, "curl rc (peer verification failed)")
        eq(rogue.requests(), [], "nothing reached the handler")
        # the same fake with the rogue CA trusted works: only trust differs
        r = curl_http(rogue.token_url(TENANT), rogue.certs.rogue_ca_file,
                      token_form())
        eq(r.status, 200, "with the rogue CA trusted")


@test
def entra_sigterm_exit(ctx):
    e = fakes.Entra(entra_scenario()).start()
    e.stop()
    eq(e.returncode, 0, "exit status after SIGTERM")


# == SMTP with curl ======================================================

@test
def smtp_curl_send_xoauth2(ctx):
    e, s = ctx["entra"], ctx["smtp"]
    tok = get_token(e)
    msg = (b"From: alerts@contoso.com\r\nTo: ops@example.org\r\n"
           b"Subject: dots\r\nMessage-ID: <dots@secretwatch.test>\r\n\r\n"
           b".one leading dot\r\n..two leading dots\r\n.\r\nend\r\n")
    before = len(s.messages())
    rc, err = curl_smtp(s, tok, message=msg)
    eq(rc, 0, "curl rc\n" + err[-1500:])
    lines = [x.rstrip("\r") for x in err.splitlines()
             if x.startswith(("> ", "< "))]
    i = lines.index("> AUTH XOAUTH2")
    eq(lines[i + 1], "< 334 ", "two-step: 334 and a space")
    expect(lines[i + 2].startswith("> "), "base64 line sent")
    eq(lines[i + 3], "< 235 2.7.0 Authentication successful", "235")
    expect("< 250 2.0.0 OK <dots@secretwatch.test> [Hostname=FAKE01MB0001."
           "namprd00.prod.outlook.com]" in lines, "end-of-data reply")
    msgs = s.messages()
    eq(len(msgs), before + 1, "one message stored")
    m = msgs[-1]
    eq(m["eml"], msg, "exact bytes after dot-unstuffing")
    eq(m["mail_from"], SENDER, "mail_from")
    eq(m["rcpt"], ["ops@example.org"], "rcpt")
    eq(m["auth_user"], SENDER, "auth user")
    eq(m["claims"]["xms_sw_secret"], "s1", "token came from secret s1")
    eq(m["claims"]["appid"], APP, "appid claim")
    with open(s.log_file, encoding="utf-8") as f:
        raw = f.read()
    expect(tok not in raw and fakes.xoauth2(SENDER, tok) not in raw,
           "no token in the session log")
    with open(os.path.join(s.maildir, "%04d.json" % m["n"])) as f:
        expect(tok not in f.read(), "no token in the message metadata")


@test
def smtp_curl_no_roles_535(ctx):
    e, s = ctx["entra"], ctx["smtp"]
    tok = get_token(e, client=APP_NOROLES, secret="NoRoles8Q~1")
    expect("roles" not in fakes.decode_jwt(tok), "token without roles")
    rc, err = curl_smtp(s, tok)
    eq(rc, 67, "CURLE_LOGIN_DENIED")
    expect("< 535 5.7.3 Authentication unsuccessful " + D in err,
           "535 5.7.3 reply")
    expect(s.log()[-1]["event"] == "close", "session closed")
    reasons = [r["reason"] for r in s.log() if r["event"] == "auth"]
    eq(reasons[-1], "no SMTP.SendAsApp in roles", "reason only in the log")


@test
def smtp_curl_rogue_certificate_refused(ctx):
    with fakes.Smtp(smtp_scenario(), rogue=True) as rogue:
        rc, err = curl_smtp(rogue, hand_token())
        eq(rc, 60, "curl rc (peer verification failed)\n" + err[-600:])
        eq(rogue.messages(), [], "nothing delivered")


@test
def smtp_curl_refusals(ctx):
    s = ctx["smtp"]
    tok = hand_token()
    cases = [
        # (scenario changes, kwargs, curl rc, reply text)
        ({}, dict(mail_from="boss@contoso.com"), 8,
         "< 554 5.2.252 SendAsDenied; alerts@contoso.com not allowed to send "
         "as boss@contoso.com; STOREDRV.Submission.Exception:SendAsDenied"
         "Exception.MapiExceptionSendAsDenied; Failed to process message due "
         "to a permanent exception with message [BeginDiagnosticData]Cannot "
         "submit message. " + D),
        ({"sendas_reply": "5.2.0"}, dict(mail_from="boss@contoso.com"), 8,
         "< 554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException."
         "MapiExceptionSendAsDenied;"),
        ({"sendas_reply": "5.7.60", "sendas_stage": "mail"},
         dict(mail_from="boss@contoso.com"), 55,
         "< 550 5.7.60 SMTP; Client does not have permissions to send as "
         "this sender"),
        ({}, dict(user=None), 55,
         "< 530 5.7.57 Client not authenticated to send mail. " + D),
        ({"no_auth": True}, {}, 55, "< 530 5.7.57 "),
        ({"no_starttls": True}, {}, 64, "STARTTLS not supported"),
        ({"old_tls": True}, {}, 64, "< 421 4.7.66 TLS 1.0 and 1.1 are not "
         "supported. Please upgrade/update your client to support TLS 1.2. "
         "Visit https://aka.ms/smtp_auth_tls. " + D),
        ({"tenant_smtp_auth": False}, dict(user="nofa@contoso.com"), 67,
         "< 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
         "is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled"
         " for more information. " + D),
        ({"tenant_smtp_auth": False}, {}, 0, "< 235 2.7.0"),
        ({}, dict(user="off@contoso.com"), 67,
         "< 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
         "is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled"
         " for more information. " + D),
        ({}, dict(user="ca@contoso.com"), 67,
         "< 535 5.7.139 Authentication unsuccessful, the request did not meet "
         "the criteria to be authenticated successfully. Contact your "
         "administrator. " + D),
        ({}, dict(user="nofa@contoso.com"), 67, "< 535 5.7.3 "),
        ({}, dict(user="lf@contoso.com", mail_from="lf@contoso.com"), 8,
         "< 430 4.2.0 STOREDRV; mailbox logon failure; STOREDRV.Submission."
         "Exception:ConnectionFailedTransientException.MapiExceptionLogon"
         "Failed; Failed to process message due to a transient exception "
         "with message [BeginDiagnosticData]Cannot open mailbox. " + D),
        ({"force_432": True}, {}, 55,
         "< 432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded"),
        ({"aud": "https://outlook.office365.us"}, {}, 67, "< 535 5.7.3 "),
        ({"service_principals": {APP: {"full_access": [SENDER],
                                       "object_id": "wrong"}}}, {}, 67,
         "< 535 5.7.3 "),
    ]
    try:
        for changes, kw, want_rc, want in cases:
            sc = smtp_scenario()
            sc.update(changes)
            s.set_scenario(sc)
            rc, err = curl_smtp(s, tok, **kw)
            eq(rc, want_rc, "rc for %s %s\n%s" % (changes, kw, err[-800:]))
            expect(want in err, "%r for %s %s" % (want, changes, kw))
        for bad, reason in ((hand_token(exp=int(time.time()) - 5),
                             "token expired"),
                            (hand_token(aud="https://graph.microsoft.com"),
                             "wrong audience"),
                            (hand_token(appid="77777777-7777-7777-7777-"
                                        "777777777777"),
                             "no service principal"),
                            ("not-a-jwt", "not a readable JWT")):
            s.set_scenario(smtp_scenario())
            rc, err = curl_smtp(s, bad)
            eq(rc, 67, "rc for " + reason)
            expect("< 535 5.7.3 Authentication unsuccessful" in err, reason)
            got = [r for r in s.log() if r["event"] == "auth"][-1]["reason"]
            expect(reason in got, "%r logged, got %r"
                   % (reason, got))
    finally:
        s.set_scenario(smtp_scenario())


@test
def smtp_xoauth2_error_challenge(ctx):
    """refused_token "challenge": a refused token gets the XOAUTH2 error
    challenge, and the 535 only after the client's answer; libcurl stops
    at the challenge with CURLE_LOGIN_DENIED."""
    s = ctx["smtp"]
    want = {"status": "401", "schemes": "bearer",
            "scope": "https://outlook.office365.com/.default"}
    bad = hand_token(exp=int(time.time()) - 5)
    try:
        s.set_scenario(dict(smtp_scenario(), refused_token="challenge"))
        rc, err = curl_smtp(s, bad)
        eq(rc, 67, "CURLE_LOGIN_DENIED at the challenge\n" + err[-800:])
        lines = [x.rstrip("\r") for x in err.splitlines()
                 if x.startswith("< 334 ") and len(x) > 8]
        eq(len(lines), 1, "one challenge line")
        eq(json.loads(base64.b64decode(lines[0][6:])), want, "challenge")
        c = Raw(s.port)
        try:
            r = c.login(s.ca_file, SENDER, bad)
            expect(r.startswith(b"334 ") and r.endswith(b"\r\n"), repr(r))
            eq(json.loads(base64.b64decode(r[4:-2])), want, "raw challenge")
            eq(c.cmd(""), b"535 5.7.8 Authentication credentials invalid"
               b"\r\n", "535 after the empty answer")
            r = c.cmd("AUTH XOAUTH2 " + fakes.xoauth2(SENDER, bad))
            expect(r.startswith(b"334 "), "challenged again")
            eq(c.cmd("*"), b"501 5.7.0 Authentication cancelled\r\n",
               "cancelled")
            eq(c.cmd("AUTH XOAUTH2 " + fakes.xoauth2(SENDER, hand_token())),
               b"235 2.7.0 Authentication successful\r\n", "a good token")
        finally:
            c.close()
        s.set_scenario(dict(smtp_scenario(), refused_token="challenge",
                            challenge_status="400", challenge_scope="mail"))
        c = Raw(s.port)
        try:
            r = c.login(s.ca_file, SENDER, "not-a-jwt")
            eq(json.loads(base64.b64decode(r[4:-2])),
               {"status": "400", "schemes": "bearer", "scope": "mail"},
               "configured status and scope")
        finally:
            c.close()
        # Exchange's way stays the default.
        s.set_scenario(smtp_scenario())
        rc, err = curl_smtp(s, bad)
        eq(rc, 67, "rc")
        expect("< 535 5.7.3 Authentication unsuccessful" in err, "535 5.7.3")
    finally:
        s.set_scenario(smtp_scenario())


# == SMTP, exact bytes ===================================================

@test
def smtp_raw_dialogue(ctx):
    s = ctx["smtp"]
    c = Raw(s.port)
    try:
        eq(c.reply(), b"220 FAKE01CA0001.outlook.office365.com Microsoft "
           b"ESMTP MAIL Service ready at Thu, 1 Jan 2026 00:00:00 +0000 "
           b"[08DE000000000001]\r\n", "greeting")
        eq(c.cmd("EHLO raw.test"), ehlo_lines("250-STARTTLS\r\n"),
           "EHLO before TLS")
        eq(c.cmd("AUTH XOAUTH2"), ("504 5.7.4 Unrecognized authentication "
                                   "type " + D + "\r\n").encode(),
           "AUTH before TLS")
        eq(c.cmd("MAIL FROM:<%s>" % SENDER),
           ("530 5.7.57 Client not authenticated to send mail. " + D +
            "\r\n").encode(), "MAIL before AUTH")
        c.starttls(s.ca_file)
        eq(c.s.version() in ("TLSv1.2", "TLSv1.3"), True, "TLS >= 1.2")
        eq(c.cmd("EHLO raw.test"), ehlo_lines("250-AUTH LOGIN XOAUTH2\r\n"),
           "EHLO after TLS")
        eq(c.cmd("AUTH PLAIN"), ("504 5.7.4 Unrecognized authentication "
                                 "type " + D + "\r\n").encode(), "PLAIN")
        eq(c.cmd("AUTH XOAUTH2"), b"334 \r\n", "two-step prompt")
        eq(c.cmd("*"), b"501 5.7.0 Authentication cancelled\r\n", "cancel")
        eq(c.cmd("AUTH XOAUTH2 dXNlcj1hAWF1dGg9QmVhcmVyIHQB"),
           b"501 5.5.124 Invalid XOAUTH2 auth data\r\n", "bad payload")
        eq(c.cmd("auth login"), b"334 VXNlcm5hbWU6\r\n", "LOGIN user")
        eq(c.cmd("dXNlcg=="), b"334 UGFzc3dvcmQ6\r\n", "LOGIN password")
        eq(c.cmd("cGFzcw=="), ("535 5.7.139 Authentication unsuccessful, "
                               "basic authentication is disabled. " + D +
                               "\r\n").encode(), "basic disabled")
        eq(c.cmd("AUTH XOAUTH2 " + fakes.xoauth2(SENDER, hand_token())),
           b"235 2.7.0 Authentication successful\r\n", "one-line AUTH")
        eq(c.cmd("NOOP"), b"250 2.0.0 OK\r\n", "NOOP")
        eq(c.cmd("VRFY x"), b"500 5.3.3 Unrecognized command\r\n", "unknown")
        eq(c.cmd("MAIL FROM:<%s> SIZE=100 AUTH=<>" % SENDER),
           b"250 2.1.0 Sender OK\r\n", "MAIL with parameters")
        eq(c.cmd("RSET"), b"250 2.0.0 Resetting\r\n", "RSET")
        eq(c.cmd("MAIL FROM:<%s>" % SENDER), b"250 2.1.0 Sender OK\r\n",
           "MAIL")
        eq(c.cmd("RCPT TO:<a@example.org>"), b"250 2.1.5 Recipient OK\r\n",
           "RCPT")
        eq(c.cmd("DATA"), b"354 Start mail input; end with <CRLF>.<CRLF>\r\n",
           "DATA")
        c.s.sendall(b"Subject: raw\r\n\r\n..x\r\n...\r\n.\r\n")
        r = c.reply()
        expect(r.startswith(b"250 2.0.0 OK <") and r.endswith(
            b"> [Hostname=FAKE01MB0001.namprd00.prod.outlook.com]\r\n"),
            "end of data: %r" % r)
        eq(s.messages()[-1]["eml"], b"Subject: raw\r\n\r\n.x\r\n..\r\n",
           "unstuffed")
        eq(c.cmd("QUIT"),
           b"221 2.0.0 Service closing transmission channel\r\n", "QUIT")
        expect(c.closed(), "closed after QUIT")
    finally:
        c.close()


@test
def smtp_old_tls_closes(ctx):
    s = ctx["smtp"]
    s.update_scenario(old_tls=True)
    c = Raw(s.port)
    try:
        c.reply()
        c.cmd("EHLO raw.test")
        r = c.cmd("STARTTLS")
        expect(r.startswith(b"421 4.7.66 "), "421 4.7.66")
        expect(c.closed(), "closed after 421")
    finally:
        c.close()
        s.set_scenario(smtp_scenario())


@test
def smtp_four_connections_432(ctx):
    s = ctx["smtp"]
    tok = hand_token()
    conns = [Raw(s.port) for _ in range(4)]
    try:
        for c in conns:
            eq(c.login(s.ca_file, SENDER, tok),
               b"235 2.7.0 Authentication successful\r\n", "auth")
        got = [c.cmd("MAIL FROM:<%s>" % SENDER) for c in conns]
        eq(got[:3], [b"250 2.1.0 Sender OK\r\n"] * 3, "first three")
        eq(got[3], b"432 4.3.2 STOREDRV.ClientSubmit; sender thread limit "
           b"exceeded\r\n", "the fourth")
        conns[0].cmd("QUIT")
        conns[0].closed()
        time.sleep(0.2)
        eq(conns[3].cmd("MAIL FROM:<%s>" % SENDER),
           b"250 2.1.0 Sender OK\r\n", "after one left")
    finally:
        for c in conns:
            c.close()


@test
def smtp_idle_timeout(ctx):
    with fakes.Smtp(smtp_scenario(), idle_timeout=1) as s:
        c = Raw(s.port)
        try:
            c.reply()
            t0 = time.monotonic()
            expect(c.closed(), "closed when idle")
            expect(time.monotonic() - t0 < 4, "within the idle timeout")
            eq(s.log()[-1].get("reason"), "idle timeout", "logged reason")
        finally:
            c.close()


# == webhook ==============================================================

@test
def webhook_receives_json(ctx):
    w = ctx["webhook"]
    payload = {"event": "warning", "credential": "mailer", "days_left": 7,
               "text": "secret expires"}
    for url in (w.url, w.http_url):
        r = curl_http(url, w.ca_file, args=[
            "-H", "Content-Type: application/json",
            "--data-binary", json.dumps(payload)])
        eq((r.status, r.body), (200, "ok"), "reply from " + url)
    recs = w.requests()
    eq([r["scheme"] for r in recs[-2:]], ["https", "http"], "schemes")
    for r in recs[-2:]:
        eq(r["json"], payload, "parsed body")
        eq(r["content_type"], "application/json", "Content-Type")
        eq(r["path"], "/hook", "path")


@test
def webhook_down_and_drop(ctx):
    w = ctx["webhook"]
    try:
        w.set_scenario({"mode": "down"})
        r = curl_http(w.url, w.ca_file, args=["--data-binary", "{}"])
        eq(r.status, 503, "down")
        w.set_scenario({"mode": "drop", "mode_first": 1})
        r = curl_http(w.url, w.ca_file, args=["--data-binary", "{}"])
        expect(r.rc != 0 and r.status == 0, "drop (rc %d)" % r.rc)
        r = curl_http(w.url, w.ca_file, args=["--data-binary", "{}"])
        eq(r.status, 200, "after the first dropped one")
        eq([x["status"] for x in w.requests()[-3:]], [503, None, 200],
           "logged statuses")
    finally:
        w.set_scenario({})


@test
def webhook_rogue_refused(ctx):
    with fakes.Webhook(rogue=True) as rogue:
        r = curl_http(rogue.url, rogue.ca_file, args=["--data-binary", "{}"])
        eq(r.rc, 60, "curl rc")


# == Graph with curl =====================================================

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
KEY1 = "6a1e2f3c-0000-4000-8000-000000000001"
APP_OBJ = "77777777-7777-7777-7777-777777777777"


def graph_scenario():
    return {"apps": {
        APP: {"id": APP_OBJ, "display_name": "mailer",
              "credentials": [{"keyId": KEY1, "hint": SECRET[:3],
                               "end": "2099-01-01T00:00:00Z",
                               "displayName": "smtp"}],
              "owners": ["ops@contoso.com"]},
        APP_NOROLES: {"credentials": []}},
        "directories": directories()}


# A tenant's directory: explicit objects, then generated ones.
DIR_NOW = 1767225600  # 2026-01-01T00:00:00Z, the generator's "now"
DAY_S = 86400
PAYROLL = "a0000000-0000-4000-8000-00000000000a"
PAYROLL_APP = "a0000000-0000-4000-8000-0000000000aa"
SSO_SP = "b0000000-0000-4000-8000-00000000000b"
MS_SP = "c0000000-0000-4000-8000-00000000000c"
KP1 = "d0000000-0000-4000-8000-000000000001"
KP2 = "d0000000-0000-4000-8000-000000000002"
KS1 = "d0000000-0000-4000-8000-000000000003"
KS2 = "d0000000-0000-4000-8000-000000000004"
KM1 = "d0000000-0000-4000-8000-000000000005"
SAML_THUMB = "AA22FC6EF26601D589D85DC4C9BFFAA19152284A"
GEN_APPS, GEN_SPS = 230, 170
ISO7 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$"


def directories(generate=None):
    gen = {"applications": GEN_APPS, "service_principals": GEN_SPS,
           "seed": 42, "now": DIR_NOW, "expiring_fraction": 0.2,
           "saml_fraction": 0.1, "microsoft_fraction": 0.1,
           "no_owner_fraction": 0.25}
    gen.update(generate or {})
    return {
        TENANT: {
            "domain": "contoso.com", "include_apps": True,
            "applications": [{
                "id": PAYROLL, "appId": PAYROLL_APP,
                "displayName": "payroll",
                "credentials": [
                    {"kind": "secret", "keyId": KP1, "hint": "pAy",
                     "end": DIR_NOW + 10 * DAY_S, "displayName": "prod"},
                    {"kind": "certificate", "keyId": KP2,
                     "end": "2026-07-20T10:00:00.1234567Z"}],
                "owners": ["alice@contoso.com",
                           {"displayName": "Bob Jones", "mail": None,
                            "userPrincipalName": "bob@contoso.com"}]}],
            "service_principals": [
                {"id": SSO_SP, "displayName": "sso-saml",
                 "credentials": [{"kind": "saml", "keyId": KS1,
                                  "verifyKeyId": KS2,
                                  "thumbprint": SAML_THUMB,
                                  "end": DIR_NOW + 20 * DAY_S}]},
                {"id": MS_SP, "displayName": "Office 365 Exchange Online",
                 "microsoft": True,
                 "credentials": [{"kind": "secret", "keyId": KM1,
                                  "end": DIR_NOW + 5 * DAY_S}]}],
            "generate": gen},
        TENANT2: {"applications": [{"displayName": "fabrikam-app",
                                    "credentials": [{
                                        "end": DIR_NOW + DAY_S}]}]}}


def graph_token(entra, client=APP, secret=SECRET):
    r = curl_http(entra.token_url(TENANT), entra.ca_file,
                  token_form(client, secret, scope=GRAPH_SCOPE))
    eq(r.status, 200, "graph token status (%s)" % r.body[:200])
    return r.json()["access_token"]


def graph_call(g, token, path, body=None):
    args = ["-H", "Authorization: Bearer " + token,
            "-H", "Accept: application/json"]
    if body is not None:
        args += ["-H", "Content-Type: application/json",
                 "--data-binary", json.dumps(body)]
    return curl_http(g.url + path, g.ca_file, args=args)


def app_path(client=APP, tail=""):
    return "/v1.0/applications(appId='%s')%s" % (client, tail)


def graph_error(r, status, code):
    eq(r.status, status, "status (%s)" % r.body[:300])
    err = r.json()["error"]
    eq(err["code"], code, "error.code")
    expect(err["message"], "error.message")
    expect(err["innerError"]["request-id"], "innerError.request-id")


@test
def graph_get_application(ctx):
    g = ctx["graph"]
    r = graph_call(g, graph_token(ctx["entra"]),
                   app_path(tail="?$select=id,appId,displayName,"
                            "passwordCredentials"))
    eq(r.status, 200, "status (%s)" % r.body[:300])
    app = r.json()
    eq((app["id"], app["appId"]), (APP_OBJ, APP), "ids")
    pc = app["passwordCredentials"]
    eq([c["keyId"] for c in pc], [KEY1], "keyIds")
    eq(pc[0]["secretText"], None, "secretText is null on GET")
    eq(pc[0]["hint"], SECRET[:3], "hint")
    expect(pc[0]["endDateTime"].startswith("2099-01-01T00:00:00."),
           "endDateTime with 7 fractional digits")
    r = graph_call(g, graph_token(ctx["entra"]), "/v1.0/applications/"
                   + APP_OBJ)
    eq(r.status, 200, "by object id")


@test
def graph_add_replicate_remove(ctx):
    g, e = ctx["graph"], ctx["entra"]
    g.update_scenario(replication_delay=1.5)
    try:
        tok = graph_token(e)
        r = graph_call(g, tok, app_path(tail="/addPassword"),
                       {"passwordCredential": {
                           "displayName": "secretwatch 2026-01-01",
                           "endDateTime": "2099-06-01T00:00:00Z"}})
        eq(r.status, 200, "addPassword (%s)" % r.body[:300])
        pw = r.json()
        value, key = pw["secretText"], pw["keyId"]
        eq(pw["hint"], value[:3], "hint = first 3 characters")
        expect(16 <= len(value) <= 64, "secretText length")
        eq(pw["displayName"], "secretwatch 2026-01-01", "displayName")
        r = curl_http(e.token_url(TENANT), e.ca_file,
                      token_form(secret=value))
        eq((r.status, r.json().get("error_codes")), (401, [7000215]),
           "refused while it replicates")
        time.sleep(1.7)
        r = curl_http(e.token_url(TENANT), e.ca_file,
                      token_form(secret=value))
        eq(r.status, 200, "works after the replication delay")
        eq(fakes.decode_jwt(r.json()["access_token"])["xms_sw_secret"], key,
           "the token names the new key")
        eq([c["keyId"] for c in g.credentials(APP)], [KEY1, key],
           "admin hook lists it")
        r = graph_call(g, tok, app_path(tail="/removePassword"),
                       {"keyId": key})
        eq((r.status, r.body), (204, ""), "removePassword")
        r = curl_http(e.token_url(TENANT), e.ca_file,
                      token_form(secret=value))
        eq(r.status, 401, "a removed secret is refused")
        graph_error(graph_call(g, tok, app_path(tail="/removePassword"),
                               {"keyId": key}), 400, "InvalidKeyId")
        expect(value in g.issued(), "issued() has the value")
        for log in (g.requests(), e.requests()):
            expect(value not in json.dumps(log), "no secret in the logs")
    finally:
        g.set_scenario(graph_scenario())


@test
def graph_denied_not_found_policy(ctx):
    g, e = ctx["graph"], ctx["entra"]
    graph_error(graph_call(g, graph_token(e, APP_NOROLES, "NoRoles8Q~1"),
                           app_path(APP_NOROLES)),
                403, "Authorization_RequestDenied")
    graph_error(graph_call(g, graph_token(e), app_path(APP_NOROLES)),
                403, "Authorization_RequestDenied")
    graph_error(graph_call(g, fakes.make_jwt(
        {"aud": "https://outlook.office365.com", "appid": APP}),
        app_path()), 401, "InvalidAuthenticationToken")
    sc = graph_scenario()
    sc["apps"][APP]["owner_of_itself"] = False
    sc["max_lifetime_days"] = 90
    g.set_scenario(sc)
    try:
        tok = graph_token(e)
        graph_error(graph_call(g, tok, app_path(tail="/addPassword"),
                               {"passwordCredential": {}}),
                    403, "Authorization_RequestDenied")
        sc["apps"][APP]["owner_of_itself"] = True
        g.set_scenario(sc)
        r = graph_call(g, tok, app_path(tail="/addPassword"),
                       {"passwordCredential": {"displayName": "x"}})
        graph_error(r, 400, "CredentialInvalidLifetimeAsPerAppPolicy")
        msg = r.json()["error"]["message"]
        expect("as per assigned policy '" in msg and "P90D" not in msg,
               "names the policy, not its limit (as Graph does)")
        graph_error(graph_call(g, tok, app_path(
            "99999999-9999-9999-9999-999999999999")), 404,
                    "Request_ResourceNotFound")
        eq(len(g.credentials(APP)), 1, "nothing was added")
    finally:
        g.set_scenario(graph_scenario())


@test
def graph_throttle_and_admin(ctx):
    g, e = ctx["graph"], ctx["entra"]
    tok = graph_token(e)
    g.update_scenario(throttle=True, throttle_first=1, retry_after=3)
    try:
        r = graph_call(g, tok, app_path())
        graph_error(r, 429, "TooManyRequests")
        eq(r.headers.get("retry-after"), "3", "Retry-After")
        eq(graph_call(g, tok, app_path()).status, 200, "then served")
    finally:
        g.set_scenario(graph_scenario())
    g.set_end(APP, KEY1, "2030-05-05T00:00:00Z")
    r = graph_call(g, tok, app_path())
    expect(r.json()["passwordCredentials"][0]["endDateTime"].startswith(
        "2030-05-05T00:00:00"), "admin hook changed the expiry")
    g.delete(APP, KEY1)
    eq(graph_call(g, tok, app_path()).json()["passwordCredentials"], [],
       "admin hook deleted it")


# == Graph: a tenant's directory ========================================

def reader_token(e, client=READER, tenant=TENANT):
    r = curl_http(e.token_url(tenant), e.ca_file,
                  token_form(client, READER_SECRET, scope=GRAPH_SCOPE))
    eq(r.status, 200, "reader token (%s)" % r.body[:200])
    return r.json()["access_token"]


def graph_url(g, token, url):
    """GET an absolute URL (a nextLink) with the token, as a script
    does."""
    return curl_http(url, g.ca_file, args=[
        "-g", "-H", "Authorization: Bearer " + token,
        "-H", "Accept: application/json"])


def list_all(g, token, coll, query, max_pages=100):
    """Every object of coll, following @odata.nextLink; ([obj], [reply])."""
    url = "%s/v1.0/%s?%s" % (g.url, coll, query)
    objs, replies = [], []
    for _ in range(max_pages):
        r = graph_url(g, token, url)
        eq(r.status, 200, "page %d of %s (%s)" % (len(replies) + 1, coll,
                                                  r.body[:300]))
        replies.append(r)
        body = r.json()
        objs += body["value"]
        url = body.get("@odata.nextLink")
        if not url:
            return objs, replies
    raise Fail("more than %d pages" % max_pages)


def logical(objs, coll, within_days=30, now=DIR_NOW):
    """A client's grouping of the rows: a SAML certificate (Sign row, its
    Verify twin with the same customKeyIdentifier, the PFX password with
    the Sign row's keyId) is one item; what ends within within_days."""
    limit = now + within_days * DAY_S
    out = set()
    for o in objs:
        kc, pc = o["keyCredentials"], o["passwordCredentials"]
        sign = [k for k in kc if k["usage"] == "Sign"]
        saml_cki = {k["customKeyIdentifier"] for k in sign}
        sign_ids = {k["keyId"] for k in sign}
        items = [(k, "certificate", True) for k in sign]
        items += [(k, "certificate", False) for k in kc
                  if k["usage"] == "Verify" and
                  k["customKeyIdentifier"] not in saml_cki]
        items += [(p, "secret", False) for p in pc
                  if p["keyId"] not in sign_ids]
        for c, kind, saml in items:
            end = fakes_time(c["endDateTime"])
            if end <= limit:
                out.add((coll, o["id"], c["keyId"], kind, saml,
                         c["endDateTime"], end <= now))
    return out


def fakes_time(s):
    import datetime
    return datetime.datetime.fromisoformat(
        s[:19] + "+00:00").timestamp() + float("0." + s[20:27])


def truth_set(entries):
    coll = {"application": "applications",
            "servicePrincipal": "servicePrincipals"}
    return {(coll[t["object"]], t["object_id"], t["keyId"], t["kind"],
             t["saml"], t["end"], t["expired"]) for t in entries}


@test
def graph_dir_paging_and_select(ctx):
    g, e = ctx["graph"], ctx["entra"]
    tok = reader_token(e)
    before = len(g.list_requests(TENANT))
    counts = g.directory_counts(TENANT)
    eq(counts["applications"], 2 + 1 + GEN_APPS, "apps: live, explicit, "
       "generated")
    objs, replies = list_all(g, tok, "applications",
                             "$select=id,appId,displayName&$top=50")
    eq(len(objs), counts["applications"], "every application listed")
    eq(len({o["id"] for o in objs}), len(objs), "no object twice")
    eq(len(replies), -(-counts["applications"] // 50), "pages")
    for i, r in enumerate(replies):
        body = r.json()
        eq(list(body)[0], "@odata.context", "context first")
        eq(body["@odata.context"], "https://graph.microsoft.com/v1.0/"
           "$metadata#applications(id,appId,displayName)", "context")
        eq(r.headers.get("x-ms-resource-unit"), "1", "resource unit")
        link = body.get("@odata.nextLink")
        if i == len(replies) - 1:
            eq(link, None, "no nextLink on the last page")
            continue
        eq(list(body)[1], "@odata.nextLink", "nextLink before value")
        expect(link.startswith(g.url + "/v1.0/applications?$select=id,"
                               "appId,displayName&$top=50&$skiptoken="
                               "RFNwdA"), "nextLink keeps the query: "
               + link)
        eq(len(body["value"]), 50, "a full page")
    for o in objs:
        eq(sorted(o), ["appId", "displayName", "id"], "$select honoured")
    eq(objs[0]["appId"], APP, "include_apps: the apps come first")
    eq(objs[2]["id"], PAYROLL, "then the explicit ones")
    eq(objs[3]["displayName"], "app-000000", "then the generated ones")
    logged = g.list_requests(TENANT)[before:]
    eq([r["page"] for r in logged], list(range(1, len(replies) + 1)),
       "log: page numbers")
    eq({(r["op"], r["collection"], r["status"]) for r in logged},
       {("list", "applications", 200)}, "log: op, collection, status")
    expect(logged[1]["skiptoken"] and logged[0].get("skiptoken") is None,
           "log: the skiptoken")
    # default page size, no $select: every property, key null
    r = graph_url(g, tok, g.url + "/v1.0/servicePrincipals")
    eq(r.status, 200, "status")
    body = r.json()
    eq(len(body["value"]), 100, "default page size 100")
    expect("$top" not in body["@odata.nextLink"], "no $top added")
    eq(r.headers.get("x-ms-resource-unit"), "2", "2 units without $select")
    sp = body["value"][0]
    for k in ("id", "appId", "displayName", "servicePrincipalType",
              "appOwnerOrganizationId", "preferredTokenSigningKeyThumbprint",
              "passwordCredentials", "keyCredentials"):
        expect(k in sp, "service principal has " + k)
    eq(sp["servicePrincipalType"], "Application", "servicePrincipalType")
    rows = [c for o in body["value"] for c in o["keyCredentials"]]
    expect(rows and all(c["key"] is None for c in rows), "key is null")
    pws = [c for o in body["value"] for c in o["passwordCredentials"]]
    expect(pws and all(c["secretText"] is None for c in pws),
           "secretText is null")
    import re
    for c in rows + pws:
        for f in ("startDateTime", "endDateTime"):
            expect(re.match(ISO7, c[f]), "7 fractional digits: " + c[f])
    eq(sorted(rows[0]), ["customKeyIdentifier", "displayName",
                         "endDateTime", "key", "keyId", "startDateTime",
                         "type", "usage"], "keyCredential shape")
    eq(sorted(pws[0]), ["customKeyIdentifier", "displayName", "endDateTime",
                        "hint", "keyId", "secretText", "startDateTime"],
       "passwordCredential shape")


@test
def graph_dir_refusals(ctx):
    g, e = ctx["graph"], ctx["entra"]
    tok = reader_token(e)
    base = g.url + "/v1.0/applications?$select=id&$top="
    for top in ("1000", "0"):
        r = graph_url(g, tok, base + top)
        graph_error(r, 400, "Request_UnsupportedQuery")
        eq(r.json()["error"]["message"], "Invalid page size specified: "
           "'%s'. Must be between 1 and 999 inclusive." % top, "message")
    eq(graph_url(g, tok, base + "999").status, 200, "$top=999 is fine")
    r = graph_url(g, tok, base + "10")
    link = r.json()["@odata.nextLink"]
    eq(graph_url(g, tok, link).status, 200, "a fresh token works")
    stale = "The specified page token value has expired and can no " \
            "longer be included in your request."
    for bad in (link.replace("applications", "servicePrincipals"),
                link[:-4] + "AAAA", base + "10&$skiptoken=bogus"):
        r = graph_url(g, tok, bad)
        graph_error(r, 400, "Directory_ExpiredPageToken")
        eq(r.json()["error"]["message"], stale, "message")
    g.expire_page_tokens(TENANT)
    graph_error(graph_url(g, tok, link), 400, "Directory_ExpiredPageToken")
    r = graph_url(g, graph_token(e), base + "10")  # OwnedBy only
    graph_error(r, 403, "Authorization_RequestDenied")
    eq(r.json()["error"]["message"], "Insufficient privileges to complete "
       "the operation.", "message")
    graph_error(graph_url(g, tok, g.url + "/v1.0/applications?$select="
                          "id,secrets"), 400, "Request_BadRequest")
    graph_error(graph_url(g, tok, g.url + "/v1.0/applications?$filter="
                          "displayName%20eq%20'x'"),
                400, "Request_UnsupportedQuery")
    graph_error(graph_url(g, fakes.make_jwt({
        "aud": "https://graph.microsoft.com", "appid": READER,
        "tid": TENANT, "roles": ["Application.Read.All"],
        "exp": int(time.time()) - 10}), base + "10"),
        401, "InvalidAuthenticationToken")


@test
def graph_dir_saml_three_rows(ctx):
    g, e = ctx["graph"], ctx["entra"]
    objs, _ = list_all(g, reader_token(e), "servicePrincipals",
                       "$select=id,displayName,appOwnerOrganizationId,"
                       "preferredTokenSigningKeyThumbprint,keyCredentials,"
                       "passwordCredentials&$top=999")
    sso = [o for o in objs if o["id"] == SSO_SP][0]
    cki = base64.b64encode(bytes.fromhex(SAML_THUMB)).decode()
    eq(sorted((k["usage"], k["keyId"], k["customKeyIdentifier"])
              for k in sso["keyCredentials"]),
       [("Sign", KS1, cki), ("Verify", KS2, cki)], "Sign and Verify rows")
    pw = sso["passwordCredentials"]
    eq([(p["keyId"], p["customKeyIdentifier"], p["endDateTime"])
        for p in pw], [(KS1, cki, sso["keyCredentials"][0]["endDateTime"])],
       "the PFX password: the Sign row's keyId and end")
    eq(sso["preferredTokenSigningKeyThumbprint"], SAML_THUMB, "thumbprint")
    ms = [o for o in objs if o["id"] == MS_SP][0]
    eq(ms["appOwnerOrganizationId"], "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
       "Microsoft's own")
    truth = [t for t in g.expiring(TENANT, 30, DIR_NOW)
             if t["object_id"] == SSO_SP]
    eq([(t["kind"], t["usage"], t["saml"], t["keyId"], t["owners"])
        for t in truth], [("certificate", "Sign", True, KS1, 0)],
       "one truth entry for three rows")
    gen_saml = [o for o in objs if o["displayName"].startswith("saml-")]
    expect(gen_saml and all(len(o["keyCredentials"]) in (2, 4) and
                            len(o["passwordCredentials"]) in (1, 2)
                            for o in gen_saml), "generated SAML shapes")


@test
def graph_dir_owners(ctx):
    g, e = ctx["graph"], ctx["entra"]
    full, bare = reader_token(e), reader_token(e, READER_NOUSER)
    path = g.url + "/v1.0/applications/%s/owners" % PAYROLL
    r = graph_url(g, full, path)
    eq(r.status, 200, "owners (%s)" % r.body[:200])
    eq(r.json()["@odata.context"], "https://graph.microsoft.com/v1.0/"
       "$metadata#directoryObjects", "context")
    users = r.json()["value"]
    eq([(u["@odata.type"], u["displayName"], u["mail"],
         u["userPrincipalName"]) for u in users],
       [("#microsoft.graph.user", "alice", "alice@contoso.com",
         "alice@contoso.com"),
        ("#microsoft.graph.user", "Bob Jones", None, "bob@contoso.com")],
       "users with User.Read.All")
    r = graph_url(g, bare, path)
    eq(r.json()["value"], [{"@odata.type": u["@odata.type"], "id": u["id"]}
                           for u in users], "without User.Read.All: ids")
    r = graph_url(g, full, path + "?$select=id,mail")
    eq([sorted(u) for u in r.json()["value"]],
       [["@odata.type", "id", "mail"]] * 2, "$select on owners")
    r = graph_url(g, full, g.url + "/v1.0/applications(appId='%s')/owners"
                  % PAYROLL_APP)
    eq(len(r.json()["value"]), 2, "by appId")
    graph_error(graph_url(g, full, g.url + "/v1.0/servicePrincipals/%s/"
                          "owners" % PAYROLL), 404,
                "Request_ResourceNotFound")
    graph_error(graph_url(g, graph_token(e), path), 403,
                "Authorization_RequestDenied")
    # generated objects: as many owners as the truth says
    truth = [t for t in g.expiring(TENANT, 30, DIR_NOW)
             if t["displayName"].startswith(("app-", "sp-", "saml-"))]
    seen = {}
    for t in truth:
        if t["owners"] not in seen:
            seen[t["owners"]] = t
    eq(sorted(seen), [0, 1, 2], "0, 1 and 2 owners occur")
    for n, t in sorted(seen.items()):
        coll = "applications" if t["object"] == "application" \
            else "servicePrincipals"
        r = graph_url(g, full, g.url + "/v1.0/%s/%s/owners"
                      % (coll, t["object_id"]))
        eq(len(r.json()["value"]), n, "owners of " + t["displayName"])
    logged = g.owners_requests(TENANT)
    expect(logged and logged[-1]["op"] == "owners" and
           logged[-1]["count"] == n, "owners reads logged")


@test
def graph_dir_faults_mid_paging(ctx):
    g, e = ctx["graph"], ctx["entra"]
    tok = reader_token(e)
    q = "$select=id,keyCredentials,passwordCredentials&$top=60"
    clean, _ = list_all(g, tok, "applications", q)
    g.update_scenario(list_fault={"at": 2, "status": 429, "retry_after": 1},
                      throttle_percentage=0.9)
    try:
        url = "%s/v1.0/applications?%s" % (g.url, q)
        got, statuses = [], []
        for _ in range(20):
            r = graph_url(g, tok, url)
            statuses.append(r.status)
            if r.status == 429:
                graph_error(r, 429, "TooManyRequests")
                eq(r.headers.get("retry-after"), "1", "Retry-After")
                expect(r.headers.get("x-ms-throttle-scope", "").startswith(
                    "Tenant_Application/ReadWrite/" + READER),
                    "x-ms-throttle-scope")
                continue  # the same nextLink again
            eq(r.status, 200, "page (%s)" % r.body[:200])
            eq(r.headers.get("x-ms-throttle-limit-percentage"), "0.9",
               "throttle percentage")
            got += r.json()["value"]
            url = r.json().get("@odata.nextLink")
            if not url:
                break
        eq(statuses[:3], [200, 429, 200], "429 on request 2, then served")
        eq(got, clean, "the listing is whole across the 429")
        for status, code in ((400, "Directory_ConcurrencyViolation"),
                             (409, "Directory_ConcurrencyViolation"),
                             (503, "serviceNotAvailable")):
            g.update_scenario(list_fault={"at": 1, "status": status})
            r = graph_url(g, tok, g.url + "/v1.0/servicePrincipals?$top=5")
            graph_error(r, status, code)
            if status != 503:
                eq(r.json()["error"]["message"], "Error due to concurrent "
                   "requests being made to the tenant. Please wait briefly "
                   "and retry.", "message")
            else:
                eq(r.headers.get("retry-after"), "1", "503 Retry-After")
            eq(graph_url(g, tok, g.url + "/v1.0/servicePrincipals?$top=5")
               .status, 200, "request 2 is served")
    finally:
        g.set_scenario(graph_scenario())
    # a scenario change that leaves the directory alone keeps its tokens
    r = graph_url(g, tok, g.url + "/v1.0/applications?$top=5")
    g.update_scenario(throttle_percentage=0.85)
    eq(graph_url(g, tok, r.json()["@odata.nextLink"]).status, 200,
       "tokens outlive other scenario changes")
    g.set_scenario(graph_scenario())


@test
def graph_dir_truth_matches_listing(ctx):
    g, e = ctx["graph"], ctx["entra"]
    tok = reader_token(e)
    found = set()
    rows = creds = 0
    for coll in ("applications", "servicePrincipals"):
        objs, _ = list_all(g, tok, coll, "$select=id,appId,displayName,"
                           "keyCredentials,passwordCredentials&$top=999")
        found |= logical(objs, coll)
        everything = logical(objs, coll, within_days=10 ** 5)
        creds += len(everything)
        rows += sum(len(o["keyCredentials"]) + len(o["passwordCredentials"])
                    for o in objs)
    truth = g.expiring(TENANT, 30, DIR_NOW)
    eq(len(truth_set(truth)), len(truth), "truth entries are distinct")
    eq(found, truth_set(truth), "the listing, grouped, is the truth")
    counts = g.directory_counts(TENANT)
    eq((counts["credentials"], counts["rows"]), (creds, rows),
       "counts: logical credentials and rows")
    expect(any(t["expired"] for t in truth) and
           any(not t["expired"] for t in truth) and
           any(t["saml"] for t in truth) and
           any(t["microsoft"] for t in truth), "the truth has every case")
    again = g.expiring(TENANT, 30, DIR_NOW)
    eq(again, truth, "the generator is deterministic")


@test
def graph_dir_two_tenants(ctx):
    g, e = ctx["graph"], ctx["entra"]
    objs, _ = list_all(g, reader_token(e, READER2, TENANT2), "applications",
                       "$top=10")
    eq([o["displayName"] for o in objs], ["fabrikam-app"],
       "the second tenant sees its own directory")
    eq(g.directory_counts(TENANT2)["objects"], 1, "counts of tenant 2")
    eq(len(g.expiring(TENANT2, 30, DIR_NOW)), 1, "truth of tenant 2")
    graph_error(graph_url(g, reader_token(e, READER2, TENANT2),
                          g.url + "/v1.0/applications/%s/owners" % PAYROLL),
                404, "Request_ResourceNotFound")


@test
def graph_dir_large_listing_speed(ctx):
    """A generated listing's rate, extrapolated to 200,000 objects (the
    benchmark measures the real thing)."""
    g, e = ctx["graph"], ctx["entra"]
    n = 10000
    g.set_scenario(dict(graph_scenario(), directories={
        TENANT2: {"generate": {"applications": n, "service_principals": n,
                               "seed": 1, "now": DIR_NOW}}}))
    try:
        tok = reader_token(e, READER2, TENANT2)
        t0 = time.monotonic()
        total = pages = 0
        for coll in ("applications", "servicePrincipals"):
            objs, replies = list_all(
                g, tok, coll, "$select=id,appId,displayName,"
                "keyCredentials,passwordCredentials&$top=999")
            total += len(objs)
            pages += len(replies)
        took = time.monotonic() - t0
        eq((total, pages), (2 * n, 2 * -(-n // 999)), "objects, pages")
        est = took * 200000 / total
        print("     %d objects in %d pages: %.2f s (%.0f objects/s; "
              "200,000 in about %.0f s)" % (total, pages, took,
                                            total / took, est), flush=True)
        expect(est < 60, "200,000 objects would take %.0f s" % est)
    finally:
        g.set_scenario(graph_scenario())


# == main =================================================================

def main():
    t0 = time.monotonic()
    with fakes.Entra(entra_scenario()) as entra, \
            fakes.Smtp(smtp_scenario()) as smtp, \
            fakes.Webhook(plain_http=True) as webhook, \
            fakes.Graph(graph_scenario(), entra=entra) as graph:
        ctx = {"entra": entra, "smtp": smtp, "webhook": webhook,
               "graph": graph}
        for fn in TESTS:
            name = fn.__name__
            if ONLY and not any(o in name for o in ONLY):
                continue
            try:
                fn(ctx)
            except Fail as e:
                RESULTS.append(False)
                print("FAIL %s: %s" % (name, e), flush=True)
                continue
            except Exception as e:  # report and go on with the next check
                RESULTS.append(False)
                print("FAIL %s: %s: %s" % (name, type(e).__name__, e),
                      flush=True)
                continue
            RESULTS.append(True)
            print("ok   %s" % name, flush=True)
        if VERBOSE:
            for srv in (entra, smtp, webhook, graph):
                sys.stdout.write(srv.stderr())
    passed = sum(RESULTS)
    failed = len(RESULTS) - passed
    print("(%.1f s)" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not RESULTS else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except fakes.MissingProgram as e:
        sys.exit(str(e))
