"""A tenant's directory for fake_graph.py: app registrations and service
principals with their credentials and owners, listed page by page.

The scenario format is documented in fake_graph.py ("directories"). This
module holds no server code: it turns a directory's scenario entry into
objects (explicit ones, and generated ones computed on demand from the
seed and their index, never all held in memory), renders them in Graph's
shapes, makes and checks page tokens, and computes the truth the admin
hook reports.

Times are kept as integer ticks (100 ns since the epoch), so that the
7 fractional digits Graph writes survive unchanged.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import struct
import threading
import time
import uuid

import fakecommon as fc

MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
NS = uuid.UUID("5e0c8f3a-7d2b-4c55-9a61-3f0e6b1d2c47")
TICKS = 10 ** 7
DAY = 86400 * TICKS
HOUR = 3600 * TICKS
COLLECTIONS = ("applications", "servicePrincipals")
SAML_SUBJECT = "CN=Microsoft Azure Federated SSO Certificate"
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
ISO_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?"
                    r"(Z|[+-]\d\d:\d\d)$")
HINT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~."
SECRET_NAMES = (None, "prod", "ci-deploy", "terraform", "")

# The properties each collection lists (and $select may name), in the
# order Graph writes them.
PROPERTIES = {
    "applications": ("id", "appId", "createdDateTime", "description",
                     "displayName", "notes", "publisherDomain",
                     "signInAudience", "tags", "keyCredentials",
                     "passwordCredentials"),
    "servicePrincipals": ("id", "accountEnabled", "appDisplayName", "appId",
                          "appOwnerOrganizationId", "description",
                          "displayName", "notes",
                          "notificationEmailAddresses",
                          "preferredSingleSignOnMode",
                          "preferredTokenSigningKeyThumbprint",
                          "servicePrincipalNames", "servicePrincipalType",
                          "tags", "keyCredentials", "passwordCredentials"),
}
ENTITY = {"applications": "application",
          "servicePrincipals": "servicePrincipal"}
USER_PROPERTIES = ("id", "businessPhones", "displayName", "givenName",
                   "jobTitle", "mail", "mobilePhone", "officeLocation",
                   "preferredLanguage", "surname", "userPrincipalName")


class BadScenario(ValueError):
    pass


def tenant_key(key):
    """A directory key as the "tid" claim fake_entra gives that tenant
    (when its scenario entry has no explicit "id"): a GUID as is, any
    other name as uuid5(NAMESPACE_DNS, name)."""
    k = str(key).strip().lower()
    if GUID_RE.match(k):
        return k
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, k))


def iso7(ticks):
    """Graph's form: seconds, 7 fractional digits, Z."""
    s, f = divmod(int(ticks), TICKS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + \
        ".%07dZ" % f


def ticks_of(v):
    """Epoch seconds, RFC 3339 (any number of fractional digits, the
    first 7 kept) or YYYY-MM-DD, as ticks; None for None or ""."""
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise BadScenario("not a time: %r" % (v,))
    if isinstance(v, (int, float)):
        return int(round(v * TICKS))
    s = str(v).strip()
    m = ISO_RE.match(s)
    if m:
        base = int(fc.parse_time(m.group(1) + m.group(3)))
        return base * TICKS + int((m.group(2) or "")[:7].ljust(7, "0"))
    try:
        return int(round(fc.parse_time(s) * TICKS))
    except ValueError as e:
        raise BadScenario("not a time: %r (%s)" % (v, e))


def b64(b):
    return base64.b64encode(b).decode("ascii")


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def b64url_d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


NS_BYTES = NS.bytes


def uid(name):
    """str(uuid.uuid5(NS, name)), without building a UUID object (the
    generator makes several per object)."""
    h = bytearray(hashlib.sha1(NS_BYTES + name.encode("utf-8")).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return "%s-%s-%s-%s-%s" % (x[:8], x[8:12], x[12:16], x[16:20], x[20:])


def thumb_of(key_id):
    return hashlib.blake2b(key_id.encode(), digest_size=20).digest()


class Rng:
    """Deterministic uniform values from a key (blake2b in counter
    mode): the same key gives the same sequence on every run."""

    def __init__(self, key):
        self.key = key.encode("utf-8")
        self.block = 0
        self.vals = ()
        self.pos = 0

    def u64(self):
        if self.pos >= len(self.vals):
            self.vals = struct.unpack(">8Q", hashlib.blake2b(
                self.key + b"#%d" % self.block, digest_size=64).digest())
            self.block += 1
            self.pos = 0
        self.pos += 1
        return self.vals[self.pos - 1]

    def random(self):
        return self.u64() / 18446744073709551616.0

    def below(self, n):
        return self.u64() % n


# -- credentials ----------------------------------------------------------
# A logical credential (one truth entry) is a dict:
#   kind: "secret" | "certificate" | "saml"; keyId; start, end (ticks);
#   displayName; hint (secrets); usage (certificates); thumb (20 bytes,
#   certificates and SAML); verifyKeyId (SAML: the Verify row's keyId; the
#   Sign row and the PFX password share keyId, as Graph makes them).

def credential_rows(creds, flip=False):
    """(passwordCredentials, keyCredentials) as Graph lists them."""
    pw, keys = [], []
    for c in creds:
        end, start = iso7(c["end"]), iso7(c["start"])
        if c["kind"] == "secret":
            pw.append({"customKeyIdentifier": None,
                       "displayName": c.get("displayName"),
                       "endDateTime": end, "hint": c.get("hint"),
                       "keyId": c["keyId"], "secretText": None,
                       "startDateTime": start})
            continue
        cki = b64(c["thumb"])
        row = {"customKeyIdentifier": cki,
               "displayName": c.get("displayName"), "endDateTime": end,
               "key": None, "keyId": c["keyId"], "startDateTime": start,
               "type": "AsymmetricX509Cert",
               "usage": c.get("usage") or "Verify"}
        if c["kind"] == "certificate":
            keys.append(row)
            continue
        sign = dict(row, usage="Sign")
        verify = dict(row, keyId=c["verifyKeyId"], usage="Verify")
        keys.extend((verify, sign) if flip else (sign, verify))
        pw.append({"customKeyIdentifier": cki,
                   "displayName": c.get("displayName"),
                   "endDateTime": end, "hint": None, "keyId": c["keyId"],
                   "secretText": None, "startDateTime": start})
    return pw, keys


def explicit_credential(oid, j, c):
    if not isinstance(c, dict):
        raise BadScenario("a credential must be an object: %r" % (c,))
    kind = c.get("kind") or "secret"
    if kind not in ("secret", "certificate", "saml"):
        raise BadScenario("credential kind %r: secret, certificate or "
                          "saml" % (kind,))
    end = ticks_of(c.get("end"))
    if end is None:
        raise BadScenario("credential %d of %s has no end" % (j, oid))
    life = (1095 if kind == "saml" else 365) * DAY
    start = ticks_of(c.get("start"))
    key_id = str(c.get("keyId") or uid("%s:cred:%d" % (oid, j))).lower()
    out = {"kind": kind, "keyId": key_id, "end": end,
           "start": start if start is not None else end - life}
    if kind == "secret":
        out["displayName"] = c.get("displayName")
        out["hint"] = c.get("hint") or key_id[:3]
        return out
    th = c.get("thumbprint")
    out["thumb"] = bytes.fromhex(th) if th else thumb_of(key_id)
    if kind == "certificate":
        out["usage"] = c.get("usage") or "Verify"
        out["displayName"] = c.get("displayName") or "CN=%s" % oid[:8]
        return out
    out["displayName"] = c.get("displayName") or SAML_SUBJECT
    out["verifyKeyId"] = str(c.get("verifyKeyId") or
                             uid("%s:cred:%d:verify" % (oid, j))).lower()
    return out


# -- owners ---------------------------------------------------------------

def explicit_owner(o, domain):
    """An owner from the scenario: an address ("alice@contoso.com") or
    {"id", "displayName", "mail", "userPrincipalName"} (a user), or
    {"type": "servicePrincipal", "id", "appId", "displayName"}."""
    if isinstance(o, str):
        o = {"userPrincipalName": o, "mail": o}
    if not isinstance(o, dict):
        raise BadScenario("an owner must be an address or an object")
    if o.get("type") == "servicePrincipal":
        sid = str(o.get("id") or uid("owner-sp:%s" % o.get("appId")))
        return {"type": "servicePrincipal", "id": sid.lower(),
                "appId": o.get("appId") or uid("owner-sp-app:" + sid),
                "displayName": o.get("displayName") or "owner app"}
    upn = o.get("userPrincipalName") or o.get("mail") or \
        "%s@%s" % (re.sub(r"\W", "", str(o.get("displayName") or "user"))
                   .lower(), domain)
    local = upn.split("@")[0]
    return {"type": "user",
            "id": str(o.get("id") or uid("owner:" + upn.lower())).lower(),
            "displayName": o.get("displayName") or local,
            "mail": o.get("mail") if "mail" in o else upn,
            "userPrincipalName": upn}


def owner_json(o, can_read_users, select=None):
    """A directoryObject as the owners list gives it. Without User.Read.All
    (or Directory.Read.All) a user has only its type and id."""
    if o["type"] == "servicePrincipal":
        full = {"@odata.type": "#microsoft.graph.servicePrincipal",
                "id": o["id"], "accountEnabled": True, "appId": o["appId"],
                "displayName": o["displayName"],
                "servicePrincipalType": "Application"}
    elif not can_read_users:
        return {"@odata.type": "#microsoft.graph.user", "id": o["id"]}
    else:
        first, _, last = o["displayName"].partition(" ")
        full = {"@odata.type": "#microsoft.graph.user", "id": o["id"],
                "businessPhones": [], "displayName": o["displayName"],
                "givenName": first or None, "jobTitle": None,
                "mail": o["mail"], "mobilePhone": None,
                "officeLocation": None, "preferredLanguage": None,
                "surname": last or None,
                "userPrincipalName": o["userPrincipalName"]}
    if not select:
        return full
    want = {s.lower() for s in select} | {"id", "@odata.type"}
    return {k: v for k, v in full.items() if k.lower() in want}


# -- generated objects ----------------------------------------------------

def fraction(conf, key, default):
    v = conf.get(key, default)
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise BadScenario("generate.%s: not a number: %r" % (key, v))
    if not 0.0 <= v <= 1.0:
        raise BadScenario("generate.%s must be between 0 and 1" % key)
    return v


class Generator:
    """Object i of a collection, as a pure function of (tenant, seed,
    collection, i) and the fractions: nothing is stored."""

    def __init__(self, tid, conf, domain):
        if not isinstance(conf, dict):
            raise BadScenario("generate must be an object")
        try:
            self.n = {"applications": int(conf.get("applications") or 0),
                      "servicePrincipals":
                          int(conf.get("service_principals") or 0)}
        except (TypeError, ValueError):
            raise BadScenario("generate: counts must be integers")
        if min(self.n.values()) < 0:
            raise BadScenario("generate: counts must not be negative")
        self.seed = str(conf.get("seed", 0))
        now = conf.get("now")
        self.now = ticks_of(now) if now is not None else \
            int(time.time()) // 86400 * 86400 * TICKS
        self.f_exp = fraction(conf, "expiring_fraction", 0.05)
        self.f_ms = fraction(conf, "microsoft_fraction", 0.1)
        self.f_saml = fraction(conf, "saml_fraction", 0.05)
        self.f_noown = fraction(conf, "no_owner_fraction", 0.2)
        self.f_nomail = fraction(conf, "owner_no_mail_fraction", 0.1)
        self.f_ended = fraction(conf, "ended_fraction", None) \
            if conf.get("ended_fraction") is not None else None
        if self.f_ms + self.f_saml > 1.0:
            raise BadScenario("generate: microsoft_fraction + saml_fraction "
                              "must not exceed 1")
        self.domain = domain
        total = self.n["applications"] + self.n["servicePrincipals"]
        self.users = int(conf.get("users") or max(20, total // 10))
        self.prefix = "%s:%s:" % (tid, self.seed)
        self.tid = tid

    def ident(self, coll, i, what="id"):
        return uid("%s%s:%d:%s" % (self.prefix, coll, i, what))

    def soon(self, r):
        """An end inside (now + 1 h, now + 29.5 d): expiring, and clear
        of both "now" and the 30-day line by a margin."""
        return self.now + HOUR + r.below(29 * DAY + 12 * HOUR - HOUR)

    def other(self, r):
        """An end in [now - 365 d, now - 1 h] or [now + 31 d, now + 730 d]:
        uniform over both, or in the first with ended_fraction's odds."""
        past = 365 * DAY - HOUR
        x = r.below(past + 699 * DAY)
        u = r.random()
        if self.f_ended is not None:
            x = x % past if u < self.f_ended else \
                past + x % (699 * DAY)
        if x < past:
            return self.now - 365 * DAY + x
        return self.now + 31 * DAY + (x - past)

    def creds(self, r, base, name, expiring):
        n = 1 + r.below(3) if expiring else r.below(4)
        out = []
        for c in range(n):
            secret = r.random() < 0.6
            end = self.soon(r) if expiring and c == 0 else self.other(r)
            key_id = uid("%s:cred:%d" % (base, c))
            if secret:
                life = (180, 365, 730)[r.below(3)] * DAY
                hint = "".join(HINT_CHARS[r.below(len(HINT_CHARS))]
                               for _ in range(3))
                out.append({"kind": "secret", "keyId": key_id, "end": end,
                            "start": end - life - r.below(DAY),
                            "hint": hint,
                            "displayName": SECRET_NAMES[r.below(5)]})
            else:
                life = (365, 730)[r.below(2)] * DAY
                out.append({"kind": "certificate", "keyId": key_id,
                            "end": end, "start": end - life,
                            "thumb": thumb_of(key_id), "usage": "Verify",
                            "displayName": "CN=" + name})
        return out

    def saml(self, r, base, expiring):
        out = []
        for c in range(1 + (r.random() < 0.3)):
            end = self.soon(r) if expiring and c == 0 else self.other(r)
            key_id = uid("%s:saml:%d" % (base, c))
            out.append({"kind": "saml", "keyId": key_id, "end": end,
                        "start": end - 1095 * DAY,
                        "thumb": thumb_of(key_id),
                        "verifyKeyId": uid("%s:saml:%d:verify" % (base, c)),
                        "displayName": SAML_SUBJECT})
        return out

    def user(self, j):
        upn = "user%06d@%s" % (j, self.domain)
        return {"type": "user", "id": uid("%suser:%d" % (self.prefix, j)),
                "displayName": "User %06d" % j,
                "mail": None if Rng("%suser:%d" % (self.prefix, j)).random()
                < self.f_nomail else upn,
                "userPrincipalName": upn}

    def obj(self, coll, i):
        base = "%s%s:%d" % (self.prefix, coll, i)
        r = Rng(base)
        u_cat = r.random()
        expiring = r.random() < self.f_exp
        no_owner = r.random() < self.f_noown
        n_owners = 1 + r.below(2)
        picks = [r.below(self.users), r.below(self.users)][:n_owners]
        flip = r.random() < 0.5
        o = {"coll": coll, "id": self.ident(coll, i), "flip": flip,
             "microsoft": False, "extra": None}
        if coll == "applications":
            name = "app-%06d" % i
            o.update(appId=self.ident(coll, i, "appId"), displayName=name,
                     created=self.now - (1200 + r.below(1000)) * DAY
                     - r.below(DAY))
            o["creds"] = self.creds(r, base, name, expiring)
        else:
            saml = False
            if u_cat < self.f_ms:
                name, org = "ms-%06d" % i, MICROSOFT_TENANT
                app_id = self.ident(coll, i, "appId")
                o["microsoft"] = True
            elif u_cat < self.f_ms + self.f_saml:
                name, org, saml = "saml-%06d" % i, self.tid, True
                app_id = self.ident(coll, i, "appId")
            elif i < self.n["applications"]:
                # the service principal of app registration i
                name, org = "app-%06d" % i, self.tid
                app_id = self.ident("applications", i, "appId")
            else:
                name, org = "sp-%06d" % i, self.tid
                app_id = self.ident(coll, i, "appId")
            o.update(appId=app_id, displayName=name, owner_org=org,
                     saml=saml)
            o["creds"] = self.saml(r, base, expiring) if saml else \
                self.creds(r, base, name, expiring)
        # owners: indices into the user pool (Directory.owners resolves)
        o["owners"] = [] if o["microsoft"] or no_owner else \
            sorted(set(picks))
        return o


# -- a directory ----------------------------------------------------------

def explicit_object(tid, coll, idx, spec, domain):
    if not isinstance(spec, dict):
        raise BadScenario("%s[%d] must be an object" % (coll, idx))
    oid = str(spec.get("id") or uid("%s:explicit:%s:%d" %
                                    (tid, coll, idx))).lower()
    name = spec.get("displayName", spec.get("display_name",
                                            "%s-%d" % (coll[:3], idx)))
    o = {"coll": coll, "id": oid, "displayName": name, "flip": False,
         "appId": str(spec.get("appId") or uid(oid + ":appId")).lower(),
         "extra": spec.get("properties") or None}
    if coll == "applications":
        o["microsoft"] = False
        o["created"] = ticks_of(spec.get("created") or
                                "2020-01-01T00:00:00Z")
    else:
        org = str(spec.get("appOwnerOrganizationId") or
                  (MICROSOFT_TENANT if spec.get("microsoft") else tid))
        o["owner_org"] = org.lower()
        o["microsoft"] = o["owner_org"] == MICROSOFT_TENANT
    o["creds"] = [explicit_credential(oid, j, c)
                  for j, c in enumerate(spec.get("credentials") or [])]
    if coll == "applications" and any(c["kind"] == "saml"
                                      for c in o["creds"]):
        raise BadScenario("SAML certificates belong to service principals")
    o["saml"] = any(c["kind"] == "saml" for c in o["creds"])
    o["owners"] = [explicit_owner(w, domain)
                   for w in spec.get("owners") or []]
    return o


def graph_object(o, domain):
    """The object with every property PROPERTIES lists, in Graph's shape."""
    pw, keys = credential_rows(o["creds"], o.get("flip"))
    if o["coll"] == "applications":
        out = {"id": o["id"], "appId": o["appId"],
               "createdDateTime": time.strftime(
                   "%Y-%m-%dT%H:%M:%SZ", time.gmtime(o["created"] // TICKS)),
               "description": None, "displayName": o["displayName"],
               "notes": None, "publisherDomain": domain,
               "signInAudience": "AzureADMyOrg", "tags": [],
               "keyCredentials": keys, "passwordCredentials": pw}
    else:
        saml = [c for c in o["creds"] if c["kind"] == "saml"]
        active = max(saml, key=lambda c: c["end"]) if saml else None
        out = {"id": o["id"], "accountEnabled": True,
               "appDisplayName": o["displayName"], "appId": o["appId"],
               "appOwnerOrganizationId": o["owner_org"],
               "description": None, "displayName": o["displayName"],
               "notes": None, "notificationEmailAddresses": [],
               "preferredSingleSignOnMode": "saml" if saml else None,
               "preferredTokenSigningKeyThumbprint":
                   active["thumb"].hex().upper() if active else None,
               "servicePrincipalNames": [o["appId"]],
               "servicePrincipalType": "Application", "tags": [],
               "keyCredentials": keys, "passwordCredentials": pw}
    if o.get("extra"):
        out.update(o["extra"])
    return out


def truth_entry(o, c, now):
    return {"object": ENTITY[o["coll"]], "object_id": o["id"],
            "appId": o["appId"], "displayName": o["displayName"],
            "keyId": c["keyId"],
            "kind": "secret" if c["kind"] == "secret" else "certificate",
            "usage": None if c["kind"] == "secret" else
            ("Sign" if c["kind"] == "saml" else c.get("usage") or "Verify"),
            "saml": c["kind"] == "saml",
            "credentialDisplayName": c.get("displayName"),
            "end": iso7(c["end"]), "end_epoch": c["end"] / TICKS,
            "expired": c["end"] <= now, "microsoft": o["microsoft"],
            "owners": len(o["owners"])}


class Directory:
    """One tenant's directory: the explicit objects (expanded once), the
    generator, and the "live" apps (fake_graph's own apps, when
    include_apps) passed in per request. Collections list live, then
    explicit, then generated objects."""

    def __init__(self, tid, conf, version):
        if not isinstance(conf, dict):
            raise BadScenario("directories.%s must be an object" % tid)
        self.tid = tid
        self.version = version
        self.domain = conf.get("domain") or "tenant-%s.example" % tid[:8]
        self.include_apps = bool(conf.get("include_apps"))
        self.explicit = {
            "applications": [explicit_object(tid, "applications", i, s,
                                             self.domain)
                             for i, s in enumerate(
                                 conf.get("applications") or [])],
            "servicePrincipals": [explicit_object(tid, "servicePrincipals",
                                                  i, s, self.domain)
                                  for i, s in enumerate(
                                      conf.get("service_principals") or [])]}
        g = conf.get("generate")
        self.gen = Generator(tid, g, self.domain) if g else None
        self.by_id = {o["id"]: o for objs in self.explicit.values()
                      for o in objs}
        self.gen_index = None
        self.lock = threading.Lock()
        self.cache = {}

    def now(self):
        return self.gen.now if self.gen else int(time.time() * TICKS)

    def count(self, coll, live=()):
        n = len(self.explicit[coll]) + (self.gen.n[coll] if self.gen else 0)
        return n + (len(live) if coll == "applications" else 0)

    def at(self, coll, k, live=()):
        if coll == "applications":
            if k < len(live):
                return live[k]
            k -= len(live)
        ex = self.explicit[coll]
        if k < len(ex):
            return ex[k]
        return self.gen.obj(coll, k - len(ex))

    def each(self, coll, live=()):
        for k in range(self.count(coll, live)):
            yield self.at(coll, k, live)

    def page(self, coll, offset, top, live=()):
        """(objects, more) for offset..offset+top."""
        total = self.count(coll, live)
        end = min(total, offset + top)
        return [self.at(coll, k, live) for k in range(offset, end)], \
            end < total

    def find(self, coll, key, by="id", live=()):
        """The object of coll with this id (or appId), else None. The
        first lookup of a generated id computes the ids of all generated
        objects once (ids only)."""
        key = key.lower()
        if coll == "applications":
            for o in live:
                if o[by] == key:
                    return o
        for o in self.explicit[coll]:
            if o[by] == key:
                return o
        if not self.gen:
            return None
        if by == "id":
            with self.lock:
                if self.gen_index is None:
                    idx = {}
                    for c in COLLECTIONS:
                        for i in range(self.gen.n[c]):
                            idx[uuid.UUID(self.gen.ident(c, i)).int >> 64] \
                                = (c, i)
                    self.gen_index = idx
            hit = self.gen_index.get(uuid.UUID(key).int >> 64) \
                if GUID_RE.match(key) else None
            if hit and hit[0] == coll and self.gen.ident(coll, hit[1]) == key:
                return self.gen.obj(coll, hit[1])
            return None
        if coll == "applications":
            for i in range(self.gen.n[coll]):
                if self.gen.ident(coll, i, "appId") == key:
                    return self.gen.obj(coll, i)
            return None
        for i in range(self.gen.n[coll]):  # slow: appIds of SPs vary
            o = self.gen.obj(coll, i)
            if o["appId"] == key:
                return o
        return None

    def owners(self, o):
        """The object's owners as dicts (generated ones are pool indices)."""
        return [self.gen.user(w) if isinstance(w, int) else w
                for w in o["owners"]]

    def cached(self, key, live, fn):
        if live:
            return fn()
        with self.lock:
            if key in self.cache:
                return self.cache[key]
        v = fn()
        with self.lock:
            if len(self.cache) > 16:
                self.cache.clear()
            self.cache[key] = v
        return v

    def expiring(self, within_days, now, live=()):
        """Every logical credential ending at or before now + within_days
        (ended ones flagged "expired"), in listing order."""
        def compute():
            limit = now + int(within_days * DAY)
            out = []
            for coll in COLLECTIONS:
                for o in self.each(coll, live):
                    for c in o["creds"]:
                        if c["end"] <= limit:
                            out.append(truth_entry(o, c, now))
            return out
        return self.cached(("expiring", within_days, now), live, compute)

    def counts(self, live=()):
        def compute():
            out = {"applications": self.count("applications", live),
                   "servicePrincipals": self.count("servicePrincipals",
                                                   live),
                   "credentials": 0, "secrets": 0, "certificates": 0,
                   "saml": 0, "rows": 0, "microsoft": 0, "no_owner": 0}
            for coll in COLLECTIONS:
                for o in self.each(coll, live):
                    out["microsoft"] += o["microsoft"]
                    out["no_owner"] += not o["owners"]
                    for c in o["creds"]:
                        out["credentials"] += 1
                        k = c["kind"]
                        out[{"secret": "secrets", "certificate":
                             "certificates", "saml": "saml"}[k]] += 1
                        out["rows"] += 3 if k == "saml" else 1
            out["objects"] = out["applications"] + out["servicePrincipals"]
            return out
        return self.cached(("counts",), live, compute)


class Directories:
    """The scenario's directories, rebuilt only when a tenant's entry
    changes (so page tokens and the id index outlive other scenario
    changes), and the page tokens."""

    def __init__(self):
        self.lock = threading.Lock()
        self.dirs = {}       # tid -> (conf object, Directory)
        self.secret = os.urandom(32)
        self.epochs = {}     # tid -> int, bumped by expire_tokens

    def get(self, sc, tid):
        confs = sc.get("directories") or {}
        if not isinstance(confs, dict):
            raise BadScenario("directories must be an object")
        conf = None
        for k, v in confs.items():
            if tenant_key(k) == tid:
                conf = v
                break
        if conf is None:
            conf = {}
        with self.lock:
            have = self.dirs.get(tid)
            if have and have[0] is conf:
                return have[1]
        version = hashlib.sha256(json.dumps(conf, sort_keys=True,
                                            default=str).encode()).digest()[:8]
        with self.lock:
            have = self.dirs.get(tid)
            if have and have[1].version == version:
                self.dirs[tid] = (conf, have[1])
                return have[1]
        d = Directory(tid, conf, version)
        with self.lock:
            self.dirs[tid] = (conf, d)
        return d

    def expire_tokens(self, tid):
        with self.lock:
            self.epochs[tid] = self.epochs.get(tid, 0) + 1

    # Tokens: "DSpt" and 2 (as Graph's start: "RFNwdAI"), the tenant,
    # collection, offset, page number, directory version, epoch and issue
    # time, and a MAC.
    FMT = ">4sB16sBIIQII"

    def token(self, d, coll, offset, page):
        with self.lock:
            epoch = self.epochs.get(d.tid, 0)
        raw = struct.pack(self.FMT, b"DSpt", 2, uuid.UUID(d.tid).bytes
                          if GUID_RE.match(d.tid) else bytes(16),
                          COLLECTIONS.index(coll), offset, page,
                          int.from_bytes(d.version, "big"), epoch,
                          int(time.time()))
        mac = hmac.new(self.secret, raw, hashlib.sha256).digest()[:12]
        return b64url(raw + mac)

    def check(self, tok, d, coll, ttl):
        """(offset, page) of a token this server made for this tenant,
        collection and directory version, not expired; else None."""
        try:
            blob = b64url_d(tok)
        except (ValueError, TypeError):
            return None
        n = struct.calcsize(self.FMT)
        if len(blob) != n + 12:
            return None
        raw, mac = blob[:n], blob[n:]
        if not hmac.compare_digest(mac, hmac.new(
                self.secret, raw, hashlib.sha256).digest()[:12]):
            return None
        magic, _, tb, ci, offset, page, ver, epoch, issued = \
            struct.unpack(self.FMT, raw)
        with self.lock:
            cur = self.epochs.get(d.tid, 0)
        want_t = uuid.UUID(d.tid).bytes if GUID_RE.match(d.tid) \
            else bytes(16)
        if magic != b"DSpt" or tb != want_t or ci != \
                COLLECTIONS.index(coll) or ver != int.from_bytes(
                    d.version, "big") or epoch != cur or \
                time.time() - issued > ttl:
            return None
        return offset, page
