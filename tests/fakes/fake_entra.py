#!/usr/bin/python3
"""Fake Microsoft Entra v2 token endpoint (HTTPS, 127.0.0.1 only).

Implements the token endpoint of docs/PROTOCOL.md §1 (the stand-in of §7):
POST /{tenant}/oauth2/v2.0/token,
client-credentials grant, exact error bodies, unsigned JWT access tokens.

    /usr/bin/python3 fake_entra.py --port-file F --cert server.pem \
        --key server.key [--scenario S.json] [--log requests.jsonl]

Scenario file (JSON object, re-read whenever it changes; every key is
optional):

  {
    "tenants": {
      "<tenant GUID or domain>": {
        "name": "contoso",               # TENANTNAME in AADSTS700016
        "id": "<GUID>",                  # tid; default: the key if it is a
                                         #   GUID, else a uuid5 of the key
        "domains": ["contoso.com"],      # more names that find this tenant
        "apps": {
          "<client_id>": {
            "name": "mailer",            # NAME in AADSTS7000112
            "disabled": false,           # -> AADSTS7000112
            "roles": ["SMTP.SendAsApp"], # [] -> no "roles" claim (no
                                         #   consent); or a map
                                         #   {"<resource>": [roles]}; absent
                                         #   -> ["SMTP.SendAsApp"]
            "sp_object_id": "<GUID>",    # "oid" claim (enterprise app id)
            "aud": null,                 # force this "aud" claim
            "expires_in": null,          # per-app override
            "secrets": [
              {"label": "s1",            # -> "xms_sw_secret" claim and log
               "value": "...",
               "end": "2027-01-01T00:00:00Z",  # RFC 3339/epoch/YYYY-MM-DD;
                                               #   past -> AADSTS7000222
               "reject_first": 0,        # answer 7000215 to its first N uses
               "reject_until": null}     # ... or until this time
            ]}}}},
    "throttle": false,       # 429 + Retry-After: 60, text/plain body
    "throttle_first": 0,     # only the first K requests (0 = all)
    "legacy_crlf": false,    # "\r\n" instead of " " before Trace ID etc.
    "plain_oauth": null,     # a standard OAuth 2.0 server instead of
                             #   Entra's error bodies (RFC 6749 5.2): "bare"
                             #   -> {"error"} only; true -> {"error",
                             #   "error_description"} with the RFC's words;
                             #   no AADSTS code, no trace or correlation ID;
                             #   Entra-only error classes -> invalid_request
    "fault": null,           # "500" | "500_json" | "non_json_200" |
                             #   "slow" | "drop" | "reset"
    "fault_first": 0,        # only the first K requests (0 = all)
    "fault_status": 500,     # status used by "500" / "500_json"
    "slow_seconds": 3,       # "slow": sleep, then answer normally
    "expires_in": 3599,
    "extra_resources": [],   # more known scope resources
    "jti_once": true         # false: accept a replayed assertion (bench)
  }

"The first K requests" counts from the last change of the scenario file.
reject_first counts uses of that secret since the server started.

Order of evaluation: fault, throttle, method (non-POST -> 900561), path
(fake-only 404), then the error replies of docs/PROTOCOL.md §1.3 in order. Fake
extensions, between rows 5 and 6: grant_type other than client_credentials
-> 400 unsupported_grant_type AADSTS70003; client_id missing -> 900144;
between rows 8 and 9: a client_assertion is verified against the app's
"certificates" (fake_assertion.py: signature, thumbprint, aud/iss/sub,
nbf/exp, jti replay) -> 401 AADSTS700027 / 700024 / 50027 as Entra words
them; a success names the certificate's label in "xms_sw_secret".

A client_secret that is not shaped like Entra's secret values (at most
64 printable ASCII characters, no space) is refused as a wrong secret is
(AADSTS7000215), with "secret_shape": "invalid" in the log.

Success tokens carry the fake-only claim "xms_sw_secret": the label of the
secret that was used.

Request log (--log), one JSON line per request, written before the reply:
  {"time", "method", "path", "tenant", "client_id", "scope", "grant_type",
   "secret_via": "form"|"basic"|"both"|"assertion"|"none",
   "secret_label", "assertion_alg",
   "status", "error", "error_code", "fault"}
The secret value is never written anywhere, except in --bodies (every
request body as sent, for tests that prove what was never sent).

"clock_offset": seconds added to the stand-in's clock when it checks a
client assertion's times (tests that step the client's clock).

--graph-state FILE: secrets that fake_graph's addPassword made (a JSON
object {client_id: [secret, ...]} in the form of "secrets" above, re-read
on change) are added to those of the app with that client ID.
"""

import argparse
import base64
import json
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid

import fake_assertion as fa
import fakecommon as fc

SECRET_SHAPE_RE = re.compile(r"^[\x21-\x7e]{1,64}$")
TR = "00000000-0000-0000-0000-0000000000aa"
CO = "00000000-0000-0000-0000-0000000000bb"
TS = "2026-01-01 00:00:00Z"

KNOWN_RESOURCES = {
    "https://outlook.office365.com",
    "https://outlook.office.com",
    "https://outlook.office365.us",
    "https://outlook-dod.office365.us",
    "https://partner.outlook.cn",
    "https://graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
}

DEFAULTS = {
    "tenants": {},
    "throttle": False,
    "throttle_first": 0,
    "legacy_crlf": False,
    "plain_oauth": None,
    "fault": None,
    "fault_first": 0,
    "fault_status": 500,
    "slow_seconds": 3,
    "expires_in": 3599,
    "extra_resources": [],
}

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                       r"[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}"
                       r"[A-Za-z0-9])?$")
PATH_RE = re.compile(r"^/([^/?#]+)/oauth2/v2\.0/token/?$")

MAX_BODY = 1 << 20

TEXT = {
    900023: "Specified tenant identifier '{x}' is neither a valid DNS name, "
            "nor a valid external domain.",
    90002: "Tenant '{x}' not found. Check to make sure you have the correct "
           "tenant ID and are signing into the correct cloud. Check with your "
           "subscription administrator, this may happen if there are no "
           "active subscriptions for the tenant.",
    900144: "The request body must contain the following parameter: "
            "'{x}'.",
    70003: "The app requested an unsupported grant type '{x}'.",
    700016: "Application with identifier '{x}' was not found in the "
            "directory '{t}'. This can happen if the application has not been "
            "installed by the administrator of the tenant or consented to by "
            "any user in the tenant. You may have sent your authentication "
            "request to the wrong tenant.",
    7000112: "Application '{x}'({t}) is disabled.",
    7000218: "The request body must contain the following parameter: "
             "'client_assertion' or 'client_secret'.",
    700027: "Client assertion contains an invalid signature. {x}",
    700024: "Client assertion is not within its valid time range. {x}",
    50027: "JWT token is invalid or malformed. {x}",
    7000222: "The provided client secret keys for app '{x}' are expired. "
             "Visit the Azure portal to create new keys for your app: "
             "https://aka.ms/NewClientSecret, or consider using certificate "
             "credentials for added security: https://aka.ms/certCreds.",
    7000215: "Invalid client secret provided. Ensure the secret being sent in "
             "the request is the client secret value, not the client secret "
             "ID, for a secret added to app '{x}'.",
    1002012: "The provided value for scope {x} is not valid. Client "
             "credential flows must have a scope value with /.default "
             "suffixed to the resource identifier (application ID URI).",
    70011: "The provided value for the input parameter 'scope' isn't valid. "
           "The scope {x} isn't valid.",
    900561: "The endpoint only accepts POST, OPTIONS requests. Received a {x} "
            "request.",
}


class Reply(Exception):
    """Raised to end request processing with an error reply."""

    def __init__(self, status, error, code, x="", t=""):
        super().__init__(code)
        self.status = status
        self.error = error
        self.code = code
        self.x = x
        self.t = t


# RFC 6749 section 5.2: the error classes and what they mean.
RFC_ERRORS = {
    "invalid_request": "The request is missing a required parameter, "
                       "includes an unsupported parameter value, repeats a "
                       "parameter, or is otherwise malformed.",
    "invalid_client": "Client authentication failed.",
    "invalid_grant": "The provided authorization grant is invalid, expired "
                     "or revoked.",
    "unauthorized_client": "The authenticated client is not authorized to "
                           "use this authorization grant type.",
    "unsupported_grant_type": "The authorization grant type is not "
                              "supported by the authorization server.",
    "invalid_scope": "The requested scope is invalid, unknown, or "
                     "malformed.",
}


def plain_error_body(mode, error):
    """A standard OAuth 2.0 server's error: no AADSTS code, no IDs."""
    err = error if error in RFC_ERRORS else "invalid_request"
    body = {"error": err}
    if mode != "bare":
        body["error_description"] = RFC_ERRORS[err]
    return json.dumps(body, separators=(",", ":"))


def error_body(sc, error, code, x="", t=""):
    if sc.get("plain_oauth"):
        return plain_error_body(sc.get("plain_oauth"), error)
    sep = "\r\n" if sc.get("legacy_crlf") else " "
    text = TEXT[code].format(x=x, t=t)
    desc = ("AADSTS%d: %s%sTrace ID: %s%sCorrelation ID: %s%sTimestamp: %s"
            % (code, text, sep, TR, sep, CO, sep, TS))
    body = {
        "error": error,
        "error_description": desc,
        "error_codes": [code],
        "timestamp": TS,
        "trace_id": TR,
        "correlation_id": CO,
        "error_uri": "https://login.microsoftonline.com/error?code=%d" % code,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def b64url(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims):
    header = {"typ": "JWT", "alg": "RS256"}
    return ".".join([
        b64url(json.dumps(header, separators=(",", ":"))),
        b64url(json.dumps(claims, separators=(",", ":"))),
        b64url("sig"),
    ])


def tenant_id_of(key, tenant):
    tid = tenant.get("id")
    if tid:
        return str(tid).lower()
    if GUID_RE.match(key):
        return key.lower()
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, key.lower()))


def find_tenant(sc, name):
    tenants = sc.get("tenants") or {}
    want = name.lower()
    for key, t in tenants.items():
        if not isinstance(t, dict):
            continue
        names = [key, t.get("id") or ""] + list(t.get("domains") or [])
        if want in (str(n).lower() for n in names if n):
            return key, t
    return None, None


def find_app(tenant, client_id):
    want = client_id.lower()
    for cid, app in (tenant.get("apps") or {}).items():
        if cid.lower() == want and isinstance(app, dict):
            return cid, app
    return None, None


def parse_basic(header):
    """Authorization: Basic base64(urlenc(id):urlenc(secret))."""
    if not header:
        return None, None
    parts = header.split(None, 1)
    if len(parts) != 2 or parts[0].lower() != "basic":
        return None, None
    try:
        raw = base64.b64decode(parts[1].strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None, None
    if ":" not in raw:
        return None, None
    cid, secret = raw.split(":", 1)
    return urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(secret)


ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.jti = fa.Seen()
        self.secret_uses = {}
        self.fault = fc.FirstK()
        self.throttle = fc.FirstK()

    def use_secret(self, key):
        """Count one use of a secret; return the count before this use."""
        with self.lock:
            n = self.secret_uses.get(key, 0)
            self.secret_uses[key] = n + 1
            return n


class Handler(fc.Handler):
    server_version = "fake-entra"

    def do_HEAD(self):
        self.handle_any()

    # -- request body ---------------------------------------------------

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            for _ in range(10000):
                line = self.rfile.readline(1024)
                if not line:
                    break
                try:
                    n = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise ValueError("bad chunk size")
                if n == 0:
                    for _ in range(100):
                        trailer = self.rfile.readline(8192)
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    break
                if len(out) + n > MAX_BODY:
                    raise ValueError("body too large")
                out += self.rfile.read(n)
                self.rfile.readline(8)
            return bytes(out)
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ValueError("bad Content-Length")
        if n < 0 or n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    # -- replies ----------------------------------------------------------

    def send(self, status, body, ctype="application/json; charset=utf-8",
             extra=()):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if status != 429:
            self.send_header("Cache-Control", "no-store, no-cache")
            self.send_header("Pragma", "no-cache")
            self.send_header("Expires", "-1")
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def drop(self, reset=False):
        self.close_connection = True
        if reset:
            try:
                self.connection.setsockopt(socket.SOL_SOCKET,
                                           socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            except OSError:
                pass

    # -- the endpoint ---------------------------------------------------

    def handle_any(self):
        srv = self.server
        sc, gen = srv.scenario.get()
        rec = {"method": self.command, "path": self.path, "tenant": None,
               "client_id": None, "scope": None, "grant_type": None,
               "secret_via": "none", "secret_label": None, "status": None,
               "error": None, "error_code": None, "fault": None}
        try:
            body = self.read_body()
            fc.body_log(srv, self.path, body)
        except ValueError as e:
            rec.update(status=400, error="fake: " + str(e))
            srv.log.write(rec)
            self.close_connection = True
            self.send(400, json.dumps({"error": "invalid_request"}))
            return

        fault = sc.get("fault")
        if fault and srv.state.fault.take(gen, sc.get("fault_first")):
            fault = str(fault)
            rec["fault"] = fault
            if fault == "slow":
                srv.sleep(sc.get("slow_seconds", 3))
            elif fault in ("drop", "reset"):
                srv.log.write(rec)
                self.drop(reset=(fault == "reset"))
                return
            elif fault in ("500", "500_json"):
                status = int(sc.get("fault_status") or 500)
                rec["status"] = status
                srv.log.write(rec)
                if fault == "500_json":
                    self.send(status, json.dumps(
                        {"error": "temporarily_unavailable",
                         "error_description": "fake: server error"},
                        separators=(",", ":")))
                else:
                    self.send(status,
                              "<html><body><h1>%d Internal Server Error"
                              "</h1></body></html>" % status,
                              ctype="text/html; charset=utf-8")
                return
            elif fault == "non_json_200":
                rec["status"] = 200
                srv.log.write(rec)
                self.send(200, "<html><body>Sign in to your account"
                          "</body></html>", ctype="text/html; charset=utf-8")
                return

        if sc.get("throttle") and srv.state.throttle.take(
                gen, sc.get("throttle_first")):
            rec["status"] = 429
            srv.log.write(rec)
            self.send(429, "Too Many Requests",
                      ctype="text/plain; charset=utf-8",
                      extra=[("Retry-After", "60")])
            return

        try:
            status, payload = self.evaluate(sc, body, rec)
        except Reply as r:
            rec.update(status=r.status, error=r.error, error_code=r.code)
            srv.log.write(rec)
            self.send(r.status, error_body(sc, r.error, r.code, r.x, r.t))
            return
        rec["status"] = status
        srv.log.write(rec)
        self.send(status, payload)

    def evaluate(self, sc, body, rec):
        if self.command != "POST":
            raise Reply(400, "invalid_request", 900561, x=self.command)
        path = urllib.parse.urlsplit(self.path).path
        m = PATH_RE.match(path)
        if not m:
            return 404, json.dumps({"error": "not_found",
                                    "error_description":
                                    "fake: no such endpoint " + path},
                                   separators=(",", ":"))
        tenant_name = urllib.parse.unquote(m.group(1))
        rec["tenant"] = tenant_name

        ctype = (self.headers.get("Content-Type") or "").lower()
        form = {}
        if ctype.startswith("application/x-www-form-urlencoded"):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            for k, v in urllib.parse.parse_qsl(text, keep_blank_values=True):
                form.setdefault(k, v)
        b_id, b_secret = parse_basic(self.headers.get("Authorization"))

        client_id = form.get("client_id") or b_id
        scope = form.get("scope")
        grant = form.get("grant_type")
        rec.update(client_id=client_id, scope=scope, grant_type=grant)
        f_secret = form.get("client_secret")
        if f_secret and b_secret:
            rec["secret_via"] = "both"
        elif f_secret:
            rec["secret_via"] = "form"
        elif b_secret:
            rec["secret_via"] = "basic"
        secret = f_secret or b_secret

        # 2, 3: tenant
        if not (GUID_RE.match(tenant_name) or DOMAIN_RE.match(tenant_name)):
            raise Reply(400, "invalid_request", 900023, x=tenant_name)
        tkey, tenant = find_tenant(sc, tenant_name)
        if tenant is None:
            raise Reply(400, "invalid_tenant", 90002, x=tenant_name)
        # 4, 5: required parameters
        if not grant:
            raise Reply(400, "invalid_request", 900144, x="grant_type")
        if not scope:
            raise Reply(400, "invalid_request", 900144, x="scope")
        if grant != "client_credentials":
            raise Reply(400, "unsupported_grant_type", 70003, x=grant)
        if not client_id:
            raise Reply(400, "invalid_request", 900144, x="client_id")
        # 6, 7: application
        cid, app = find_app(tenant, client_id)
        if app is None:
            raise Reply(400, "unauthorized_client", 700016, x=client_id,
                        t=tenant.get("name") or tenant_name)
        if app.get("disabled"):
            raise Reply(400, "unauthorized_client", 7000112, x=cid,
                        t=app.get("name") or "")
        # 8-10: client authentication
        now = time.time()
        if not secret and form.get("client_assertion"):
            self.check_assertion(form, app, cid, tenant_name, rec,
                                 now + float(sc.get("clock_offset") or 0))
        elif not secret:
            raise Reply(401, "invalid_client", 7000218)
        else:
            self.check_secret(secret, app, cid, tkey, rec, now)
        return self.grant(sc, scope, tkey, tenant, cid, app, rec, now)

    def check_assertion(self, form, app, cid, tenant_name, rec, now):
        rec["secret_via"] = "assertion"
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise Reply(400, "invalid_request", 900144,
                        x="client_assertion_type")
        url = "https://%s/%s/oauth2/v2.0/token" % (
            self.headers.get("Host"), tenant_name)
        try:
            seen = self.server.state.jti
            if not self.server.scenario.get()[0].get("jti_once", True):
                seen = fa.Seen()  # benchmarks replay one assertion
            extra, _ = self.server.graph_state.get()
            up = (extra.get("_certificates") or {}).get(cid.lower())
            if up:
                app = dict(app, certificates=list(
                    app.get("certificates") or []) + up)
            label, alg = fa.verify(form["client_assertion"], app, cid, url,
                                   now, seen,
                                   lambda v: fc.parse_time(v))
        except fa.Refusal as r:
            raise Reply(r.status, r.error, r.code, x=r.reason)
        rec["secret_label"] = label
        rec["assertion_alg"] = alg

    def check_secret(self, secret, app, cid, tkey, rec, now):
        # Entra's secret values are at most 64 printable characters;
        # anything else (key bytes, say) is refused as Entra refuses a
        # wrong secret, and logged as such.
        if not SECRET_SHAPE_RE.match(secret):
            rec["secret_shape"] = "invalid"
            raise Reply(401, "invalid_client", 7000215, x=cid)
        matched = None
        extra, _ = self.server.graph_state.get()
        for s in (app.get("secrets") or []) + list(
                extra.get(cid.lower()) or []):
            if isinstance(s, dict) and s.get("value") == secret:
                matched = s
                break
        if matched is not None:
            label = str(matched.get("label") or "")
            rec["secret_label"] = label
            try:
                end = fc.parse_time(matched.get("end"))
            except ValueError:
                end = None
            if end is not None and end <= now:
                raise Reply(401, "invalid_client", 7000222, x=cid)
            uses = self.server.state.use_secret((tkey, cid.lower(), label))
            reject_first = int(matched.get("reject_first") or 0)
            try:
                until = fc.parse_time(matched.get("reject_until"))
            except ValueError:
                until = None
            if uses < reject_first or (until is not None and now < until):
                raise Reply(401, "invalid_client", 7000215, x=cid)
        else:
            raise Reply(401, "invalid_client", 7000215, x=cid)

    def grant(self, sc, scope, tkey, tenant, cid, app, rec, now):
        # 11, 12: scope
        scopes = scope.split()
        if not scopes or not all(s.endswith("/.default") for s in scopes):
            raise Reply(400, "invalid_scope", 1002012, x=scope)
        known = set(KNOWN_RESOURCES)
        known.update(str(r).rstrip("/").lower()
                     for r in sc.get("extra_resources") or [])
        resources = set()
        for s in scopes:
            resources.add(s[:-len("/.default")].rstrip("/"))
        if len(resources) != 1:
            raise Reply(400, "invalid_scope", 70011, x=scope)
        resource = resources.pop()
        if resource.lower() not in known:
            raise Reply(400, "invalid_scope", 70011, x=scope)
        # 13: success
        expires_in = app.get("expires_in")
        if expires_in is None:
            expires_in = sc.get("expires_in", 3599)
        expires_in = int(expires_in)
        tid = tenant_id_of(tkey, tenant)
        iat = int(now)
        claims = {
            "aud": app.get("aud") or resource,
            "iss": "https://sts.windows.net/%s/" % tid,
            "iat": iat,
            "nbf": iat,
            "exp": iat + expires_in,
            "app_displayname": app.get("name") or "",
            "appid": cid,
            "appidacr": "1",
            "idtyp": "app",
            "oid": app.get("sp_object_id") or str(uuid.uuid5(
                uuid.NAMESPACE_URL, "sp:" + tid + ":" + cid.lower())),
        }
        roles = app.get("roles", ["SMTP.SendAsApp"])
        if isinstance(roles, dict):
            roles = roles.get(resource) or roles.get(resource.lower()) or []
        if roles:
            claims["roles"] = list(roles)
        claims.update({
            "sub": claims["oid"],
            "tid": tid,
            "uti": b64url(uuid.uuid4().bytes),
            "ver": "1.0",
            "xms_sw_secret": rec["secret_label"],
        })
        payload = json.dumps({"token_type": "Bearer",
                              "expires_in": expires_in,
                              "ext_expires_in": expires_in,
                              "access_token": make_jwt(claims)},
                             separators=(",", ":"))
        return 200, payload


class Server(fc.HTTPServer):
    scheme = "entra"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    fc.add_common_args(p)
    p.add_argument("--graph-state", help="secrets made by fake_graph")
    args = p.parse_args()
    srv = Server((fc.HOST, args.port), Handler)
    srv.graph_state = fc.Scenario(args.graph_state, {})
    srv.ssl_context = fc.server_ssl_context(args.cert, args.key)
    srv.scenario = fc.Scenario(args.scenario, DEFAULTS)
    srv.log = fc.JsonLog(args.log)
    srv.bodies = fc.JsonLog(args.bodies)
    srv.state = State()
    srv.scenario.get()
    return fc.serve([(srv, args.port_file)], args, on_stop=srv.log.close)


if __name__ == "__main__":
    sys.exit(main())
