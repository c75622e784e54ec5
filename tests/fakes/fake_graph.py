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
  {"time", "method", "path", "op": "get"|"add"|"remove"|"admin"|
   "list"|"owners", "client_id", "key_id", "display_name", "end",
   "status", "code"}
list and owners requests also carry "tenant" (the token's tid),
"collection" ("applications"|"servicePrincipals"), "n" (the request's
number among list or owners requests since the scenario last changed);
list: "page" (1 = first), "skiptoken", "top", "count" (objects in the
reply); owners: "object_id", "count".
No secret value or token is ever logged.

A tenant's directory (docs/PROTOCOL.md §9.1)
--------------------------------------------

  GET /v1.0/applications?$select=...&$top=N[&$skiptoken=T]
  GET /v1.0/servicePrincipals?$select=...&$top=N[&$skiptoken=T]
      -> 200 {"@odata.context": ".../$metadata#applications(id,...)",
              "@odata.nextLink": "https://HOST/v1.0/applications?$select=
                  ...&$top=N&$skiptoken=...",   (absent on the last page)
              "value": [object, ...]}
  GET /v1.0/applications/{id}/owners        (also (appId='...')/owners,
  GET /v1.0/servicePrincipals/{id}/owners    and $select=...)
      -> 200 {"@odata.context": ".../$metadata#directoryObjects",
              "value": [{"@odata.type": "#microsoft.graph.user", "id",
                         "displayName", "mail", "userPrincipalName",
                         "businessPhones", "givenName", "surname", ...}]}

The directory is the token's tenant's ("tid" claim): scenario
"directories" keyed by tenant id (or by the name fake_entra's scenario
uses for a tenant without an explicit "id": uuid5(NAMESPACE_DNS, name)).
A tenant without an entry has an empty directory. Rules, as Graph's:
- the token's roles must include Application.Read.All,
  Application.ReadWrite.All, Directory.Read.All or Directory.ReadWrite.All,
  else 403 Authorization_RequestDenied "Insufficient privileges to
  complete the operation."; an "exp" in the past -> 401
  InvalidAuthenticationToken "Lifetime validation failed, the token is
  expired."; only GET (else 405);
- page size: $top (default 100); outside 1..999 -> 400
  Request_UnsupportedQuery "Invalid page size specified: '1000'. Must be
  between 1 and 999 inclusive.";
- the nextLink is absolute (the Host the client used), keeps $select and
  $top as sent, and adds $skiptoken (starts "RFNwdAI", as Graph's do). A
  token that this server did not make, made for another tenant or
  collection, made before the tenant's directory entry changed, older
  than page_token_ttl, or expired by the admin hook -> 400
  Directory_ExpiredPageToken "The specified page token value has expired
  and can no longer be included in your request.";
- $select: only the properties named, and id; an unknown name -> 400
  Request_BadRequest "Could not find a property named 'x' on type
  'microsoft.graph.application'." Without $select every property below.
  Other $ options ($filter, $count, $orderby, ...) -> 400
  Request_UnsupportedQuery naming what this stand-in implements;
- replies carry x-ms-resource-unit (list: 1 with $select, 2 without;
  owners: 1), and x-ms-throttle-limit-percentage when the scenario has
  throttle_percentage;
- "@odata.nextLink" comes before "value", as Graph writes it
  (next_link_position: "last" puts it after, to prove a client does not
  care).
Objects, in Graph's shapes (times ISO 8601, 7 fractional digits, Z):
  application: id, appId, createdDateTime, description, displayName, notes,
    publisherDomain, signInAudience, tags, keyCredentials,
    passwordCredentials
  servicePrincipal: id, accountEnabled, appDisplayName, appId,
    appOwnerOrganizationId (Microsoft's own:
    f8cdef31-a31e-4b4a-93e4-5f571e91255a), description, displayName,
    notes, notificationEmailAddresses, preferredSingleSignOnMode ("saml"
    with a SAML certificate), preferredTokenSigningKeyThumbprint (the
    latest SAML certificate's, hex), servicePrincipalNames,
    servicePrincipalType ("Application"), tags, keyCredentials,
    passwordCredentials
  passwordCredential: {customKeyIdentifier: null, displayName,
    endDateTime, hint, keyId, secretText: null, startDateTime}
  keyCredential: {customKeyIdentifier (base64 of the SHA-1 thumbprint),
    displayName, endDateTime, key: null, keyId, startDateTime,
    type: "AsymmetricX509Cert", usage: "Verify"|"Sign"}
  A SAML token-signing certificate is three rows (addTokenSigningCertificate
  makes them so): a Sign keyCredential, a Verify keyCredential (another
  keyId), and a passwordCredential (the PFX password, hint null) with the
  Sign row's keyId; all three with one customKeyIdentifier, displayName
  and dates.
Owners: users as above; without User.Read.All (or User.ReadWrite.All,
Directory.Read.All, Directory.ReadWrite.All) only "@odata.type" and "id".
An owner may be a service principal ({"@odata.type":
"#microsoft.graph.servicePrincipal", "id", "appId", "displayName", ...}).
An unknown object -> 404 Request_ResourceNotFound.

Scenario keys:

  "directories": {
    "<tenant id>": {
      "domain": "contoso.example",   # owners' addresses, publisherDomain
                                     #   (default tenant-<8 hex>.example)
      "include_apps": false,   # true: the "apps" above (as addPassword and
                               #   removePassword left them, with their
                               #   "owners") are this tenant's first
                               #   applications
      "applications": [        # explicit objects, listed first
        {"id": GUID, "appId": GUID,          # default: uuid5s
         "displayName": "payroll", "created": WHEN,
         "credentials": [
           {"kind": "secret", "end": WHEN, "start": WHEN, "keyId": GUID,
            "displayName": "prod", "hint": "abc"},
           {"kind": "certificate", "end": WHEN, "usage": "Verify",
            "thumbprint": "<40 hex>", "keyId": ..., "displayName": ...}],
         "owners": ["alice@contoso.com",     # a user with that UPN/mail
                    {"displayName": "Bob", "userPrincipalName": "bob@...",
                     "mail": null, "id": GUID},
                    {"type": "servicePrincipal", "appId": ...}],
         "properties": {"tags": ["x"]}}],    # merged into the object as is
      "service_principals": [  # the same, and:
        {"microsoft": true,            # appOwnerOrganizationId Microsoft's
         "appOwnerOrganizationId": GUID,  # (default: this tenant)
         "credentials": [
           {"kind": "saml", "end": WHEN, "keyId": GUID (Sign and PFX),
            "verifyKeyId": GUID, "thumbprint": "<40 hex>"}]}],
      "generate": {            # then N + M generated objects
        "applications": N, "service_principals": M,
        "seed": S, "now": EPOCH,       # default now: today 00:00 UTC
        "expiring_fraction": 0.05,   # objects with a credential ending in
                                     #   (now + 1 h, now + 29.5 d]
        "microsoft_fraction": 0.1,   # service principals: Microsoft's own
        "saml_fraction": 0.05,       #   ... with a SAML certificate
        "no_owner_fraction": 0.2,    # objects without owners
        "owner_no_mail_fraction": 0.1,  # owners whose "mail" is null
        "ended_fraction": null,      # share of the other credentials that
                                     #   have ended (default: ends spread
                                     #   evenly, about 0.34)
        "users": K}}},                  # owner pool (default objects/10)
  "page_token_ttl": 3600,     # s a $skiptoken stays valid
  "throttle_percentage": null,  # e.g. 0.9: x-ms-throttle-limit-percentage
  "next_link_position": "first",
  "list_fault": {"at": k, "status": 429, "retry_after": 1, "count": 1,
                 "collection": null},
  "owners_fault": {...}       # the same for owners reads
WHEN: RFC 3339 (fractional digits kept, up to 7), YYYY-MM-DD or epoch.
Generated object i of a collection is a pure function of (tenant, seed,
collection, i) and the fractions (nothing is stored; 200,000 objects
list in about 10 s): uuid5 ids; names "app-000123" (applications, and
the service principal of application i in the same tenant, which shares
its appId), "sp-000123", "saml-000123", "ms-000123" (Microsoft's own: no
owners); 0 to 3 credentials (1 to 3 when expiring): secrets (180, 365
or 730 days, hint, display name null, "" or a word) or Verify
certificates (CN=<name>); SAML service principals get one SAML
certificate (3 years), sometimes a second, older one. Ends lie in
[now - 365 d, now - 1 h] or [now + 31 d, now + 730 d], except the first
credential of an expiring object: (now + 1 h, now + 29.5 d]. So a
client whose clock is within an hour of "now" finds the same set within
30 days. Owners: 1 or 2 from a pool of users "User 000042",
user000042@<domain>.
Faults: list_fault (a list of them is fine) applies to list requests
number at .. at + count - 1 (count 0: all from at on), counted from 1
among the list requests since the scenario file last changed (of its
"collection" only, when given) after the token was accepted; status
429 (+ Retry-After, x-ms-throttle-scope, x-ms-throttle-information),
503 (+ Retry-After), 400 or 409 Directory_ConcurrencyViolation "Error due
to concurrent requests being made to the tenant. Please wait briefly and
retry.", any other status (generalException), 0: the connection is
closed unanswered. "code"/"message" override the body's. The legacy
"throttle" and "fault" keys apply to the per-app calls only.

Admin hook (the truth for tests):
  GET  /_admin/directory/<tenant>/expiring?within_days=30&now=EPOCH
       -> {"tenant", "now", "now_epoch", "within_days", "count",
           "credentials": [{"object": "application"|"servicePrincipal",
             "object_id", "appId", "displayName", "keyId" (SAML: the
             Sign row's), "kind": "secret"|"certificate", "usage":
             null|"Verify"|"Sign", "saml": bool, "credentialDisplayName",
             "end" (as listed), "end_epoch", "expired" (end <= now),
             "microsoft": bool, "owners": n}, ...]}
       every credential ending at or before now + within_days, one entry
       per logical credential (a SAML certificate is one), listing order;
       now defaults to the generator's
  GET  /_admin/directory/<tenant>/counts -> {"applications",
       "servicePrincipals", "objects", "credentials" (logical), "secrets",
       "certificates", "saml", "rows" (as listed), "microsoft",
       "no_owner", "tenant"}
  POST /_admin/directory/<tenant>/expire_tokens   every $skiptoken given
       out so far for the tenant is stale
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
import graph_directory as gd

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
LIST_RE = re.compile(r"^/v1\.0/(applications|servicePrincipals)/?$", re.I)
OWNERS_RE = re.compile(r"^/v1\.0/(applications|servicePrincipals)"
                       r"(?:/([0-9a-fA-F-]{36})|\(appId='([^']+)'\))"
                       r"/owners/?$", re.I)
ADMIN_DIR_RE = re.compile(r"^/_admin/directory/([^/]+)/"
                          r"(expiring|counts|expire_tokens)/?$")
CANONICAL = {c.lower(): c for c in gd.COLLECTIONS}
LIST_ROLES = {"Application.Read.All", "Application.ReadWrite.All",
              "Directory.Read.All", "Directory.ReadWrite.All"}
USER_ROLES = {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All",
              "Directory.ReadWrite.All"}
DENIED = "Insufficient privileges to complete the operation."
CONCURRENCY = ("Error due to concurrent requests being made to the tenant. "
               "Please wait briefly and retry.")
EXPIRED_PAGE = ("The specified page token value has expired and can no "
                "longer be included in your request.")
NOT_FOUND = ("Resource '%s' does not exist or one of its queried "
             "reference-property objects are not present.")
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
            status, body, *extra = self.evaluate(sc, gen, rec)
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
        self.send(status, body, extra[0] if extra else ())

    def evaluate(self, sc, gen, rec):
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/_admin/"):
            rec["op"] = "admin"
            return self.admin(sc, path, rec)
        srv = self.server
        m = LIST_RE.match(path)
        if m:
            rec["op"] = "list"
            return self.dir_call(sc, gen, rec, CANONICAL[m.group(1).lower()])
        m = OWNERS_RE.match(path)
        if m:
            rec["op"] = "owners"
            return self.dir_call(sc, gen, rec, CANONICAL[m.group(1).lower()],
                                 m)
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

    # -- a tenant's directory: listing and owners -------------------------

    def dir_auth(self):
        """(tenant id, roles) of a token that may list the directory."""
        claims = claims_of(self.headers.get("Authorization"))
        if claims is None or str(claims.get("aud", "")).rstrip("/") \
                not in GRAPH_RESOURCES:
            raise Reply(401, "InvalidAuthenticationToken",
                        "Access token validation failure. Invalid audience.")
        exp = claims.get("exp")
        if isinstance(exp, (int, float)) and exp < time.time():
            raise Reply(401, "InvalidAuthenticationToken",
                        "Lifetime validation failed, the token is expired.")
        roles = set(claims.get("roles") or [])
        if not roles & LIST_ROLES:
            raise Reply(403, "Authorization_RequestDenied", DENIED)
        return str(claims.get("tid") or "").lower(), roles, claims

    def dir_fault(self, sc, key, numbers, tid, claims):
        """The scenario's list_fault / owners_fault for this request
        (numbers: {"*": n, collection: n}, counted from 1)."""
        faults = sc.get(key)
        if isinstance(faults, dict):
            faults = [faults]
        for f in faults or []:
            if not isinstance(f, dict):
                continue
            n = numbers.get(f.get("collection") or "*")
            at = int(f.get("at") or 1)
            count = int(f.get("count", 1) or 0)
            if n is None or n < at or (count and n >= at + count):
                continue
            status = int(f.get("status", 429))
            if status == 0:
                raise Dropped()
            extra = []
            if status in (429, 503) or "retry_after" in f:
                extra.append(("Retry-After", str(f.get("retry_after", 1))))
            if status == 429:
                extra += [("x-ms-throttle-scope",
                           "Tenant_Application/ReadWrite/%s/%s"
                           % (claims.get("appid") or "", tid)),
                          ("x-ms-throttle-information",
                           "ResourceUnitLimitExceeded")]
            code, msg = {
                429: ("TooManyRequests", "Too many requests."),
                503: ("serviceNotAvailable", "Service unavailable."),
                400: ("Directory_ConcurrencyViolation", CONCURRENCY),
                409: ("Directory_ConcurrencyViolation", CONCURRENCY),
            }.get(status, ("generalException",
                           "General exception while processing."))
            raise Reply(status, f.get("code") or code,
                        f.get("message") or msg, extra)

    def live_apps(self, sc, d):
        """This server's own apps (the "apps" key, as addPassword and
        removePassword left them), listed first when include_apps."""
        if not d.include_apps:
            return ()
        st = self.server.state
        out = []
        with st.lock:
            for cid in sc.get("apps") or {}:
                app = st.app(sc, cid)
                if app is None:
                    continue
                conf = app["conf"]
                creds = [{"kind": "secret", "keyId": c["keyId"],
                          "start": gd.ticks_of(c["start"]),
                          "end": gd.ticks_of(c["end"] or 4102444800),
                          "hint": c["hint"],
                          "displayName": c["displayName"]}
                         for c in app["credentials"]]
                creds += [{"kind": "certificate", "keyId": k["keyId"],
                           "start": gd.ticks_of(k["startDateTime"]),
                           "end": gd.ticks_of(k["endDateTime"]),
                           "thumb": base64.b64decode(
                               k["customKeyIdentifier"]),
                           "usage": k.get("usage") or "Verify",
                           "displayName": k.get("displayName")}
                          for k in app.get("keys") or []]
                out.append({
                    "coll": "applications",
                    "id": object_id(cid, conf), "appId": cid.lower(),
                    "displayName": conf.get("display_name") or "app",
                    "created": gd.ticks_of(conf.get("created") or
                                           "2020-01-01T00:00:00Z"),
                    "microsoft": False, "saml": False, "flip": False,
                    "extra": None, "creds": creds,
                    "owners": [gd.explicit_owner(o, d.domain)
                               for o in conf.get("owners") or []]})
        return out

    def query(self, allowed):
        """The request's query options; a $ option the stand-in does not
        implement is refused rather than ignored."""
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query,
                                  keep_blank_values=True)
        out = {}
        for k, v in q.items():
            if k.lower() in allowed:
                out[k.lower()] = v[-1]
            elif k.startswith("$"):
                raise Reply(400, "Request_UnsupportedQuery",
                            "Unsupported query option '%s' (this stand-in "
                            "implements %s)." % (k, ", ".join(allowed)))
        top = out.get("$top")
        if top is not None:
            try:
                n = int(top)
            except ValueError:
                n = 0
            if not 1 <= n <= 999:
                raise Reply(400, "Request_UnsupportedQuery",
                            "Invalid page size specified: '%s'. Must be "
                            "between 1 and 999 inclusive." % top)
            out["$top"] = n
        if "$select" in out:
            out["$select"] = [p.strip() for p in out["$select"].split(",")
                              if p.strip()]
        return out

    def dir_call(self, sc, gen, rec, coll, owners=None):
        srv = self.server
        if self.command != "GET":
            raise Reply(405, "Request_BadRequest",
                        "The HTTP method '%s' is not allowed." % self.command)
        tid, roles, claims = self.dir_auth()
        rec.update(tenant=tid, collection=coll)
        op = rec["op"]
        nums = srv.counters.bump(gen, op, op + ":" + coll)
        rec["n"] = nums[0]
        self.dir_fault(sc, op + "_fault", {"*": nums[0], coll: nums[1]},
                       tid, claims)
        try:
            d = srv.dirs.get(sc, tid)
        except gd.BadScenario as e:
            raise Reply(500, "generalException", "stand-in scenario: %s" % e)
        live = self.live_apps(sc, d)
        extra = [("x-ms-resource-unit", "1")]
        pct = sc.get("throttle_percentage")
        if pct is not None:
            extra.append(("x-ms-throttle-limit-percentage", str(pct)))
        if owners is not None:
            return self.owners(d, live, coll, owners, roles, rec, extra)
        q = self.query(("$select", "$top", "$skiptoken"))
        select = q.get("$select")
        if select:
            canon = {p.lower(): p for p in gd.PROPERTIES[coll]}
            for p in select:
                if p.lower() not in canon:
                    raise Reply(400, "Request_BadRequest",
                                "Could not find a property named '%s' on "
                                "type 'microsoft.graph.%s'."
                                % (p, gd.ENTITY[coll]))
            names = ["id"] + [canon[p.lower()] for p in select
                              if p.lower() != "id"]
        else:
            extra[0] = ("x-ms-resource-unit", "2")
            names = None
        top = q.get("$top", 100)
        tok = q.get("$skiptoken")
        offset, page = 0, 1
        if tok is not None:
            rec["skiptoken"] = tok
            pos = srv.dirs.check(tok, d, coll,
                                 float(sc.get("page_token_ttl") or 3600))
            if pos is None:
                raise Reply(400, "Directory_ExpiredPageToken", EXPIRED_PAGE)
            offset, page = pos
        rec.update(page=page, top=top)
        objs, more = d.page(coll, offset, top, live)
        value = []
        for o in objs:
            full = gd.graph_object(o, d.domain)
            value.append(full if names is None else
                         {k: full.get(k) for k in names})
        rec["count"] = len(value)
        body = {"@odata.context": "https://graph.microsoft.com/v1.0/"
                "$metadata#%s%s" % (coll, "(%s)" % ",".join(select)
                                    if select else "")}
        link = None
        if more:
            host = self.headers.get("Host") or "%s:%d" % (
                fc.HOST, srv.server_address[1])
            parts = []
            if select:
                parts.append("$select=" + ",".join(select))
            if "$top" in q:
                parts.append("$top=%d" % top)
            parts.append("$skiptoken=" + srv.dirs.token(
                d, coll, offset + len(objs), page + 1))
            link = "https://%s/v1.0/%s?%s" % (host, coll, "&".join(parts))
        last = sc.get("next_link_position") == "last"
        if link and not last:
            body["@odata.nextLink"] = link
        body["value"] = value
        if link and last:
            body["@odata.nextLink"] = link
        return 200, json.dumps(body, separators=(",", ":")), extra

    def owners(self, d, live, coll, m, roles, rec, extra):
        key = (m.group(2) or m.group(3) or "").lower()
        rec["object_id"] = key
        q = self.query(("$select", "$top"))
        o = d.find(coll, key, "id" if m.group(2) else "appId", live)
        if o is None:
            raise Reply(404, "Request_ResourceNotFound", NOT_FOUND % key)
        select = q.get("$select")
        can = bool(roles & USER_ROLES)
        value = [gd.owner_json(w, can, select) for w in d.owners(o)]
        rec["count"] = len(value)
        return 200, json.dumps({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata"
            "#directoryObjects%s" % ("(%s)" % ",".join(select)
                                     if select else ""),
            "value": value}, separators=(",", ":")), extra

    def admin_directory(self, sc, m):
        srv = self.server
        tid = gd.tenant_key(urllib.parse.unquote(m.group(1)))
        try:
            d = srv.dirs.get(sc, tid)
        except gd.BadScenario as e:
            raise Reply(500, "generalException", "stand-in scenario: %s" % e)
        what = m.group(2)
        if what == "expire_tokens":
            if self.command != "POST":
                raise Reply(405, "BadRequest", "Method not allowed.")
            srv.dirs.expire_tokens(tid)
            return 204, None
        if self.command != "GET":
            raise Reply(405, "BadRequest", "Method not allowed.")
        live = self.live_apps(sc, d)
        if what == "counts":
            return 200, json.dumps(dict(d.counts(live), tenant=tid))
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        try:
            within = float((q.get("within_days") or ["30"])[0])
            now = (q.get("now") or [None])[0]
            now = gd.ticks_of(float(now)) if now else d.now()
        except ValueError:
            raise Reply(400, "BadRequest", "within_days and now are numbers")
        creds = d.expiring(within, now, live)
        return 200, json.dumps({"tenant": tid, "now": gd.iso7(now),
                                "now_epoch": now / gd.TICKS,
                                "within_days": within, "count": len(creds),
                                "credentials": creds})

    def admin(self, sc, path, rec):
        m = ADMIN_DIR_RE.match(path)
        if m:
            return self.admin_directory(sc, m)
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


class Counters:
    """Requests counted per kind ("list", "list:applications", ...) since
    the scenario's generation last changed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.gen = None
        self.n = {}

    def bump(self, gen, *names):
        with self.lock:
            if gen != self.gen:
                self.gen, self.n = gen, {}
            for k in names:
                self.n[k] = self.n.get(k, 0) + 1
            return [self.n[k] for k in names]


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
    srv.dirs = gd.Directories()
    srv.counters = Counters()
    sc, _ = srv.scenario.get()
    with srv.state.lock:
        for cid in sc.get("apps") or {}:
            srv.state.app(sc, cid)
        srv.state.save()
    return fc.serve([(srv, args.port_file)], args, on_stop=srv.log.close)


if __name__ == "__main__":
    sys.exit(main())
