#!/usr/bin/python3
"""Fake Microsoft Graph, applications' client secrets (HTTPS, 127.0.0.1).

Implements the calls of docs/PROTOCOL.md §4 on their wire
formats:

  GET  /v1.0/applications(appId='{client}')?$select=...
  GET  /v1.0/applications/{object id}
  POST /v1.0/applications(appId='{client}')/addPassword   (or /{id}/...)
  POST /v1.0/applications(appId='{client}')/removePassword
  GET  ...?$select=id,keyCredentials  (the keys with their "key")
  PATCH /v1.0/applications(appId='{client}')  {"keyCredentials": [...]}
        (the whole collection replaced; every entry needs its key)
  POST ...addKey {"keyCredential", "passwordCredential": null, "proof"}
  POST ...removeKey {"keyId", "proof"}
        (no role needed: a token of the app itself and a proof JWT signed
        RS256 by a currently valid certificate of the app, aud
        00000002-0000-0000-c000-000000000000, iss = the app's object ID,
        exp - nbf <= 10 min; else 400 Request_BadRequest)

Certificates a PATCH put in are written to --state under "_certificates"
(fake_entra verifies client assertions with them).

    /usr/bin/python3 fake_graph.py --port-file F --cert C --key K \
        [--scenario S.json] [--log requests.jsonl] [--state STATE.json]

Authorization is the bearer token from fake_entra (its claims are read,
the signature is not): "aud" must be a Graph resource and "appid" the
application asked for, else 401 InvalidAuthenticationToken. Reading
needs one of the roles Application.Read.All, Application.ReadWrite.OwnedBy
(with ownership), Application.ReadWrite.All; adding and removing one of
the last two; otherwise 403 Authorization_RequestDenied.

Scenario file (JSON object, re-read whenever it changes; keys optional):

  {
    "apps": {
      "<client_id>": {
        "id": "<application object id>",   # default: uuid5 of the client
        "display_name": "mailer",
        "owner_of_itself": true,    # false: OwnedBy does not reach it
        "credentials": [            # the app's secrets when first seen
          {"keyId": "<GUID>", "hint": "abc", "end": "2027-01-01",
           "start": null, "displayName": "smtp",
           "value": null}           # with a value it also works at Entra
        ],
        "keys": [                   # its certificates when first seen
          {"key": "<base64 DER>", "keyId": "<GUID>", "displayName": "c1"}
        ]}},                        #   (they also work at Entra)
    "replication_delay": 0,     # s a new secret is refused (AADSTS7000215)
    "max_lifetime_days": null,  # app management policy: an end date
                                #   further out -> 400
                                #   CredentialInvalidLifetimeAsPerAppPolicy
                                #   (the message names the policy, not
                                #   the limit, as Graph's does)
    "app_policy": false,        # true: the limit is the app's own policy,
                                #   else the tenant default's; both are
                                #   readable with Policy.Read.All (else 403)
    "policy_since": "2019-01-01T00:00:00Z",  # the limit's
                                #   restrictForAppsCreatedAfterDateTime
                                #   (apps are created 2020-01-01, or at
                                #   their "created")
    "throttle": false,          # 429 + Retry-After (retry_after s)
    "throttle_first": 0,        # only the first K requests (0 = all)
    "retry_after": 1,
    "fault": null,              # "503": 503 + Retry-After, Graph body
    "fault_first": 0,
    "clock_offset": 0,          # s added to the clock proofs are checked by,
                                #   and addPassword's start date
    "drop_addkey_reply": 0,     # the first K addKey calls: the key is
                                #   added, the connection closed unanswered
    "fail_addkey": false,       # addKey -> 500, nothing added
    "addkey_key_id": "honor"    # a keyId in the addKey request: "honor"
                                #   it, "ignore" it (Graph chooses), or
                                #   "reject" the request (400)
  }

The apps' credentials live in the server from then on: addPassword and
removePassword change them, and so does the admin hook:

  GET    /_admin/apps/{client_id}                -> {"credentials": [...],
                                                     "keys": [...]}
  PATCH  /_admin/apps/{client_id}/{keyId}  {"end": WHEN}  change expiry,
                                          {"accepted": true}  replicated
  DELETE /_admin/apps/{client_id}/{keyId}        delete it
  GET    /_admin/issued                          -> every secretText issued

Secrets made by addPassword are written to --state (read by fake_entra
--graph-state) so that a token request with one succeeds once
replication_delay has passed.

Request log (--log), one JSON line per request, before the reply:
  {"time", "method", "path", "op": "get"|"add"|"remove"|"admin",
   "client_id", "key_id", "display_name", "end", "status", "code"}
No secret value or token is ever logged.
"""

import argparse
import base64
import datetime
import hashlib
import json
import re
import sys
import threading
import time
import urllib.parse
import uuid

import fakecommon as fc

DEFAULTS = {
    "apps": {},
    "replication_delay": 0,
    "max_lifetime_days": None,
    "app_policy": False,
    "policy_since": "2019-01-01T00:00:00Z",
    "throttle": False,
    "throttle_first": 0,
    "retry_after": 1,
    "fault": None,
    "fault_first": 0,
}

GRAPH_RESOURCES = {
    "https://graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
}
READ_ROLES = {"Application.Read.All", "Application.ReadWrite.All",
              "Application.ReadWrite.OwnedBy"}
WRITE_ROLES = {"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"}

APP_RE = re.compile(r"^/v1\.0/applications(?:\(appId='([^']+)'\)|/([0-9a-fA-F-]{36}))"
                    r"(/addPassword|/removePassword|/addKey|/removeKey)?/?$")
POLICY_RE = re.compile(r"^/v1\.0/(?:policies/(defaultAppManagementPolicy)|"
                       r"applications\(appId='([^']+)'\)/appManagementPolicies)"
                       r"/?$")
ADMIN_RE = re.compile(r"^/_admin/apps/([^/]+)(?:/([^/]+))?/?$")
SECRET_CHARS = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789~._-")


class Dropped(Exception):
    """Close the connection without a reply (the reply was lost)."""


class Reply(Exception):
    def __init__(self, status, code, message, extra=()):
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.extra = list(extra)


def iso(t):
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def error_body(code, message):
    rid = str(uuid.uuid4())
    return json.dumps({"error": {
        "code": code, "message": message,
        "innerError": {"date": datetime.datetime.now(
            datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": rid, "client-request-id": rid}}},
        separators=(",", ":"))


def claims_of(header):
    parts = (header or "").split(None, 1)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    try:
        p = parts[1].strip().split(".")[1]
        return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    except (IndexError, ValueError):
        return None


class State:
    """The apps' credentials, keyed by lower-case client ID."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.apps = {}
        self.issued = []
        self.path = path
        self.throttle = fc.FirstK()
        self.drop = fc.FirstK()
        self.fault = fc.FirstK()

    def app(self, sc, client_id):
        """The app's state, seeded from the scenario on first sight; None
        when the scenario does not know it."""
        cid = client_id.lower()
        for key, conf in (sc.get("apps") or {}).items():
            if key.lower() != cid or not isinstance(conf, dict):
                continue
            if cid not in self.apps:
                creds = []
                for c in conf.get("credentials") or []:
                    creds.append({
                        "keyId": str(c.get("keyId") or uuid.uuid4()).lower(),
                        "hint": c.get("hint") or (c.get("value") or "")[:3],
                        "displayName": c.get("displayName"),
                        "start": fc.parse_time(c.get("start")) or time.time(),
                        "end": fc.parse_time(c.get("end")),
                        "value": c.get("value"),
                        "valid_from": 0})
                self.apps[cid] = {"conf": conf, "credentials": creds,
                                  "keys": [key_entry(k) for k in
                                           conf.get("keys") or []]}
            self.apps[cid]["conf"] = conf
            return self.apps[cid]
        return None

    def by_object_id(self, sc, oid):
        for key, conf in (sc.get("apps") or {}).items():
            if isinstance(conf, dict) and object_id(key, conf) == oid.lower():
                return key
        return None

    def save(self):
        """Write the secrets with values for fake_entra (lock held)."""
        if not self.path:
            return
        out = {}
        for cid, app in self.apps.items():
            out[cid] = [{"label": c["keyId"], "value": c["value"],
                         "end": c["end"],
                         "reject_until": c["valid_from"] or None}
                        for c in app["credentials"] if c.get("value")]
        out["_certificates"] = {
            cid: [{"label": k["keyId"], "pem": key_pem(k)}
                  for k in app.get("keys") or []]
            for cid, app in self.apps.items()}
        fc.write_atomic(self.path, json.dumps(out))


def object_id(client_id, conf):
    return str(conf.get("id") or uuid.uuid5(
        uuid.NAMESPACE_URL, "app:" + client_id.lower())).lower()


PROOF_AUD = "00000002-0000-0000-c000-000000000000"


def b64url_d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url_e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def key_entry(k):
    """A keyCredential as Graph keeps it, from a request's entry."""
    from cryptography import x509
    der = base64.b64decode(k["key"])
    cert = x509.load_der_x509_certificate(der)
    sha1 = hashlib.sha1(der).digest()
    return {"customKeyIdentifier": base64.b64encode(sha1).decode(),
            "displayName": k.get("displayName") or cert.subject.rfc4514_string(),
            "endDateTime": iso(cert.not_valid_after.replace(
                tzinfo=datetime.timezone.utc).timestamp()),
            "key": k["key"],
            "keyId": str(k.get("keyId") or uuid.uuid4()).lower(),
            "startDateTime": iso(cert.not_valid_before.replace(
                tzinfo=datetime.timezone.utc).timestamp()),
            "type": k.get("type") or "AsymmetricX509Cert",
            "usage": k.get("usage") or "Verify"}


def key_pem(k):
    b = k["key"]
    return ("-----BEGIN CERTIFICATE-----\n" +
            "\n".join(b[i:i + 64] for i in range(0, len(b), 64)) +
            "\n-----END CERTIFICATE-----\n")


def public(c, with_secret=None):
    return {"customKeyIdentifier": None,
            "displayName": c["displayName"],
            "endDateTime": iso(c["end"]) if c["end"] else None,
            "hint": c["hint"],
            "keyId": c["keyId"],
            "secretText": with_secret,
            "startDateTime": iso(c["start"])}


class Handler(fc.Handler):
    server_version = "fake-graph"

    def read_json(self):
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = -1
        if n < 0 or n > 1 << 20:
            raise Reply(400, "BadRequest", "Bad Content-Length.")
        raw = self.rfile.read(n) if n else b""
        fc.body_log(self.server, self.path, raw)
        if not raw:
            return {}
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise Reply(400, "BadRequest", "Unable to read JSON request "
                        "payload. Please ensure Content-Type header is set "
                        "and payload is of valid JSON format.")
        if not isinstance(body, dict):
            raise Reply(400, "BadRequest", "Invalid request body.")
        return body

    def send(self, status, body=None, extra=()):
        data = (body or "").encode("utf-8")
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type",
                             "application/json;odata.metadata=minimal;"
                             "odata.streaming=true;IEEE754Compatible=false;"
                             "charset=utf-8")
        self.send_header("request-id", str(uuid.uuid4()))
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if status != 204:
            self.wfile.write(data)

    def handle_any(self):
        srv = self.server
        sc, gen = srv.scenario.get()
        rec = {"method": self.command, "path": self.path, "op": None,
               "client_id": None, "key_id": None, "display_name": None,
               "end": None, "status": None, "code": None,
               "at": time.time()}
        try:
            status, body = self.evaluate(sc, gen, rec)
        except Dropped:
            rec.update(status=0, code="dropped")
            srv.log.write(rec)
            self.close_connection = True
            self.request.shutdown(2)
            return
        except Reply as r:
            rec.update(status=r.status, code=r.code)
            srv.log.write(rec)
            self.send(r.status, error_body(r.code, r.message), r.extra)
            return
        rec["status"] = status
        srv.log.write(rec)
        self.send(status, body)

    def evaluate(self, sc, gen, rec):
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/_admin/"):
            rec["op"] = "admin"
            return self.admin(sc, path, rec)
        srv = self.server
        m = POLICY_RE.match(path)
        if m:
            rec["op"] = "policy"
            return self.policy(sc, m)
        m = APP_RE.match(path)
        if not m:
            raise Reply(400, "BadRequest",
                        "Resource not found for the segment '%s'." % path)
        op = {"/addPassword": "add", "/removePassword": "remove",
              "/addKey": "addkey", "/removeKey": "removekey",
              None: "get"}[m.group(3)]
        if op == "get" and self.command == "PATCH":
            op = "patch"
        rec["op"] = op
        if sc.get("fault") and srv.state.fault.take(gen,
                                                    sc.get("fault_first")):
            raise Reply(503, "serviceNotAvailable", "Service unavailable.",
                        [("Retry-After", str(sc.get("retry_after") or 1))])
        if sc.get("throttle") and srv.state.throttle.take(
                gen, sc.get("throttle_first")):
            raise Reply(429, "TooManyRequests",
                        "Too many requests.",
                        [("Retry-After", str(sc.get("retry_after") or 1))])
        if op == "patch":
            pass
        elif (op == "get") != (self.command == "GET") or \
                self.command not in ("GET", "POST"):
            raise Reply(405, "Request_BadRequest",
                        "The HTTP method '%s' is not allowed." % self.command)
        with srv.state.lock:
            cid = m.group(1) or srv.state.by_object_id(sc, m.group(2)) or ""
            rec["client_id"] = cid or m.group(2)
            app = srv.state.app(sc, cid) if cid else None
            self.authorize(sc, cid, app, op)
            if app is None:
                raise Reply(404, "Request_ResourceNotFound",
                            "Resource '%s' does not exist or one of its "
                            "queried reference-property objects are not "
                            "present." % (m.group(1) or m.group(2)))
            if op == "get":
                return 200, self.get_app(cid, app)
            body = self.read_json()
            if op == "patch":
                return self.patch(app, body, rec)
            if op in ("addkey", "removekey"):
                self.check_proof(cid, app, body.get("proof"),
                                 time.time() + float(
                                     sc.get("clock_offset") or 0))
                if op == "addkey" and sc.get("fail_addkey"):
                    raise Reply(500, "generalException",
                                "General exception while processing.")
                if op == "addkey":
                    out = self.add_key(sc, app, body, rec)
                    if sc.get("drop_addkey_reply") and srv.state.drop.take(
                            gen, sc.get("drop_addkey_reply")):
                        raise Dropped()
                    return out
                return self.remove_key(app, body, rec)
            if op == "add":
                return self.add(sc, app, body, rec)
            return self.remove(app, body, rec)

    def authorize(self, sc, cid, app, op):
        claims = claims_of(self.headers.get("Authorization"))
        if claims is None or str(claims.get("aud", "")).rstrip("/") \
                not in GRAPH_RESOURCES:
            raise Reply(401, "InvalidAuthenticationToken",
                        "Access token validation failure. Invalid audience.")
        if app is None:
            return  # 404 follows
        if op in ("addkey", "removekey"):
            # No permission needed: the app itself, with a proof.
            if str(claims.get("appid", "")).lower() != cid.lower():
                raise Reply(403, "Authorization_RequestDenied",
                            "Insufficient privileges to complete the "
                            "operation.")
            return
        roles = set(claims.get("roles") or [])
        owner = bool(app and app["conf"].get("owner_of_itself", True))
        self_call = str(claims.get("appid", "")).lower() == cid.lower()
        if "Application.ReadWrite.OwnedBy" in roles and not (owner and
                                                              self_call):
            roles.discard("Application.ReadWrite.OwnedBy")
        need = READ_ROLES if op == "get" else WRITE_ROLES
        if not roles & need:
            raise Reply(403, "Authorization_RequestDenied",
                        "Insufficient privileges to complete the operation.")

    def policy(self, sc, m):
        """The tenant default (m[1]) or the app's policies (m[2]), with
        the scenario's lifetime limit in one of them."""
        claims = claims_of(self.headers.get("Authorization"))
        if claims is None or str(claims.get("aud", "")).rstrip("/") \
                not in GRAPH_RESOURCES:
            raise Reply(401, "InvalidAuthenticationToken",
                        "Access token validation failure. Invalid audience.")
        if self.command != "GET":
            raise Reply(405, "Request_BadRequest",
                        "The HTTP method '%s' is not allowed." % self.command)
        if "Policy.Read.All" not in set(claims.get("roles") or []):
            raise Reply(403, "Authorization_RequestDenied",
                        "Insufficient privileges to complete the operation.")
        maxd = sc.get("max_lifetime_days")
        here = bool(sc.get("app_policy")) == (m.group(2) is not None)
        rules = [{"restrictionType": "passwordLifetime", "state": "enabled",
                  "maxLifetime": "P%dD" % int(maxd),
                  "restrictForAppsCreatedAfterDateTime":
                      sc.get("policy_since") or "2019-01-01T00:00:00Z"}] \
            if maxd and here else []
        if m.group(2) is not None:
            return 200, json.dumps({"value": [{
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, m.group(2))),
                "displayName": "Secrets policy", "isEnabled": True,
                "restrictions": {"passwordCredentials": rules,
                                 "keyCredentials": []}}] if rules else []})
        return 200, json.dumps({
            "id": "00000000-0000-0000-0000-000000000000",
            "displayName": "Default app management tenant policy",
            "isEnabled": bool(rules),
            "applicationRestrictions": {"passwordCredentials": rules,
                                        "keyCredentials": []}})

    def get_app(self, cid, app):
        """The properties $select names (id always; without $select all
        but keyCredentials). keyCredentials carry their "key" here, as
        Graph gives it for one object with $select."""
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        sel = [p for p in (q.get("$select") or [""])[0].split(",") if p]
        full = {
            "appId": cid,
            "displayName": app["conf"].get("display_name") or "app",
            "createdDateTime": app["conf"].get("created") or
            "2020-01-01T00:00:00Z",
            "passwordCredentials": [public(c) for c in app["credentials"]],
            "keyCredentials": [dict(k) for k in app.setdefault("keys", [])],
        }
        names = sel or [k for k in full if k != "keyCredentials"]
        out = {"@odata.context": "https://graph.microsoft.com/v1.0/"
               "$metadata#applications(%s)/$entity" % ",".join(names),
               "id": object_id(cid, app["conf"])}
        out.update((k, full[k]) for k in names if k in full)
        return json.dumps(out, separators=(",", ":"))

    def add(self, sc, app, body, rec):
        pc = body.get("passwordCredential") or {}
        if not isinstance(pc, dict):
            raise Reply(400, "BadRequest", "Invalid passwordCredential.")
        now = time.time() + float(sc.get("clock_offset") or 0)
        try:
            end = fc.parse_time(pc.get("endDateTime")) or now + 2 * 365 * 86400
            start = fc.parse_time(pc.get("startDateTime")) or now
        except ValueError:
            raise Reply(400, "InvalidKeyEndDate",
                        "Key credential end date is invalid.")
        rec.update(display_name=pc.get("displayName"), end=iso(end))
        if end <= start:
            raise Reply(400, "InvalidKeyEndDate",
                        "Key credential end date is invalid.")
        maxd = sc.get("max_lifetime_days")
        created = fc.parse_time(app["conf"].get("created") or
                                "2020-01-01T00:00:00Z")
        since = fc.parse_time(sc.get("policy_since") or
                              "2019-01-01T00:00:00Z")
        if maxd is not None and created > since and \
                end - start > float(maxd) * 86400 + 60:
            # Graph's real refusal does not name the limit.
            raise Reply(400, "CredentialInvalidLifetimeAsPerAppPolicy",
                        "Credential lifetime exceeds the max value allowed "
                        "as per assigned policy '%s'." % uuid.uuid5(
                            uuid.NAMESPACE_URL, "policy:" + rec["client_id"]))
        value = "".join(SECRET_CHARS[b % len(SECRET_CHARS)]
                        for b in uuid.uuid4().bytes + uuid.uuid4().bytes)
        value = value[:40]
        cred = {"keyId": str(uuid.uuid4()), "hint": value[:3],
                "displayName": pc.get("displayName"), "start": start,
                "end": end, "value": value,
                "valid_from": time.time() +
                float(sc.get("replication_delay") or 0)}
        app["credentials"].append(cred)
        self.server.state.issued.append(value)
        self.server.state.save()
        rec["key_id"] = cred["keyId"]
        out = public(cred, with_secret=value)
        out["@odata.context"] = ("https://graph.microsoft.com/v1.0/$metadata"
                                 "#microsoft.graph.passwordCredential")
        return 200, json.dumps(out, separators=(",", ":"))

    def remove(self, app, body, rec):
        key = str(body.get("keyId") or "").lower()
        rec["key_id"] = key
        for c in app["credentials"]:
            if c["keyId"] == key:
                app["credentials"].remove(c)
                self.server.state.save()
                return 204, None
        raise Reply(400, "InvalidKeyId" if key else "BadRequest",
                    "No password credential found with keyId '%s'." % key)

    def patch(self, app, body, rec):
        """PATCH keyCredentials: the whole collection replaced; every
        entry needs its key (Graph returns it only under $select)."""
        keys = body.get("keyCredentials")
        if not isinstance(keys, list):
            raise Reply(400, "BadRequest", "Invalid keyCredentials.")
        out = []
        for k in keys:
            if not isinstance(k, dict) or not k.get("key"):
                raise Reply(400, "BadRequest", "Key credential key is "
                            "missing.")
            out.append(key_entry(k))
        app["keys"] = out
        rec["key_id"] = ",".join(k["keyId"] for k in out)
        self.server.state.save()
        return 204, None

    def check_proof(self, cid, app, proof, now):
        """The proof of possession: RS256 by a currently valid certificate
        of the app, aud, iss = the app's object ID, exp - nbf <= 10 min."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        def bad(why):
            raise Reply(400, "Request_BadRequest",
                        "Invalid proof of possession token: %s." % why)
        try:
            h64, c64, s64 = str(proof or "").split(".")
            header = json.loads(b64url_d(h64))
            claims = json.loads(b64url_d(c64))
            sig = b64url_d(s64)
        except (ValueError, TypeError):
            bad("not a JWT")
        if header.get("alg") != "RS256":
            bad("alg")
        key = None
        for k in app.get("keys") or []:
            der = base64.b64decode(k["key"])
            if b64url_e(hashlib.sha1(der).digest()) == header.get("x5t"):
                key = (k, x509.load_der_x509_certificate(der))
        if key is None:
            bad("no certificate of the application has thumbprint %s" %
                header.get("x5t"))
        cert = key[1]
        if cert.not_valid_after.replace(
                tzinfo=datetime.timezone.utc).timestamp() <= now:
            bad("the signing certificate has expired")
        try:
            cert.public_key().verify(sig, (h64 + "." + c64).encode(),
                                     padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            bad("signature")
        if claims.get("aud") != PROOF_AUD:
            bad("aud")
        if str(claims.get("iss", "")).lower() != object_id(cid,
                                                             app["conf"]):
            bad("iss is not the application's object ID")
        nbf, exp = claims.get("nbf"), claims.get("exp")
        if not isinstance(nbf, int) or not isinstance(exp, int) or \
                exp - nbf > 600 or exp <= nbf:
            bad("lifetime")
        if not nbf - 300 <= now <= exp + 300:
            bad("not valid now")

    def add_key(self, sc, app, body, rec):
        kc = body.get("keyCredential")
        if not isinstance(kc, dict) or not kc.get("key") or \
                body.get("passwordCredential") is not None:
            raise Reply(400, "BadRequest", "Invalid keyCredential.")
        mode = sc.get("addkey_key_id") or "honor"
        if mode == "reject" and "keyId" in kc:
            raise Reply(400, "Request_BadRequest",
                        "Invalid value specified for property 'keyId' of "
                        "resource 'KeyCredential'.")
        if mode == "ignore":
            kc = {k: v for k, v in kc.items() if k != "keyId"}
        entry = key_entry(kc)
        keys = app.setdefault("keys", [])
        if any(k["keyId"] == entry["keyId"] for k in keys):
            raise Reply(400, "BadRequest", "Key credential with keyId '%s' "
                        "already exists." % entry["keyId"])
        keys.append(entry)
        rec.update(key_id=entry["keyId"],
                   display_name=entry["displayName"])
        self.server.state.save()
        out = dict(entry, key=None)
        return 200, json.dumps(out, separators=(",", ":"))

    def remove_key(self, app, body, rec):
        key = str(body.get("keyId") or "").lower()
        rec["key_id"] = key
        for k in app.get("keys") or []:
            if k["keyId"] == key:
                app["keys"].remove(k)
                self.server.state.save()
                return 204, None
        raise Reply(404, "Request_ResourceNotFound",
                    "No key credential found with keyId '%s'." % key)

    def admin(self, sc, path, rec):
        st = self.server.state
        with st.lock:
            if path.rstrip("/") == "/_admin/issued":
                return 200, json.dumps({"issued": list(st.issued)})
            m = ADMIN_RE.match(path)
            app = st.app(sc, m.group(1)) if m else None
            if app is None:
                raise Reply(404, "Request_ResourceNotFound", "No such app.")
            rec["client_id"] = m.group(1)
            key = (m.group(2) or "").lower()
            if not key and self.command == "GET":
                return 200, json.dumps({"credentials": [
                    dict(public(c), has_value=bool(c.get("value")))
                    for c in app["credentials"]],
                    "keys": app.get("keys") or []})
            rec["key_id"] = key
            for c in app["credentials"]:
                if c["keyId"] != key:
                    continue
                if self.command == "DELETE":
                    app["credentials"].remove(c)
                elif self.command == "PATCH":
                    body = self.read_json()
                    if "end" in body:
                        c["end"] = fc.parse_time(body.get("end"))
                    if body.get("accepted"):
                        c["valid_from"] = 0  # replicated now
                else:
                    raise Reply(405, "BadRequest", "Method not allowed.")
                st.save()
                return 204, None
            raise Reply(404, "Request_ResourceNotFound", "No such key.")


class Server(fc.HTTPServer):
    scheme = "graph"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    fc.add_common_args(p)
    p.add_argument("--state", help="secrets for fake_entra --graph-state")
    args = p.parse_args()
    srv = Server((fc.HOST, args.port), Handler)
    srv.ssl_context = fc.server_ssl_context(args.cert, args.key)
    srv.scenario = fc.Scenario(args.scenario, DEFAULTS)
    srv.log = fc.JsonLog(args.log)
    srv.bodies = fc.JsonLog(args.bodies)
    srv.state = State(args.state)
    sc, _ = srv.scenario.get()
    with srv.state.lock:
        for cid in sc.get("apps") or {}:
            srv.state.app(sc, cid)
        srv.state.save()
    return fc.serve([(srv, args.port_file)], args, on_stop=srv.log.close)


if __name__ == "__main__":
    sys.exit(main())
