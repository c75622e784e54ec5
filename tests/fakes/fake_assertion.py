"""Client assertions checked the way Entra checks them (docs/PROTOCOL.md
§1.2, §4.3), for fake_entra: the JWT's signature against the public key of a
certificate uploaded to the app (PS256 with x5t#S256, RS256 with x5t),
aud, iss, sub, nbf/exp with Entra's five minutes of skew, and jti replay.

An app's certificates are in the scenario ("the upload", the admin hook):

    "certificates": [
      {"label": "c1",            # -> "xms_sw_secret" claim and log
       "pem": "-----BEGIN CERTIFICATE-----...",
       "end": null,              # default: the certificate's notAfter
       "algs": ["PS256", "RS256"]}   # signatures accepted (default both)
    ]

verify() returns (label, alg) or raises Refusal(status, error, code,
reason); the reason goes into the error text as Entra words it.
"""

import base64
import hashlib
import json
import threading

SKEW = 300


class Refusal(Exception):
    def __init__(self, status, error, code, reason=""):
        super().__init__(code)
        self.status = status
        self.error = error
        self.code = code
        self.reason = reason


def _b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


class Seen:
    """jti values already used (Entra refuses a replayed assertion)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.jti = set()

    def use(self, jti):
        with self.lock:
            if jti in self.jti:
                return False
            self.jti.add(jti)
            return True


def _load(entry):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    cert = x509.load_pem_x509_certificate(str(entry["pem"]).encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    return cert, der


def _find(app, header):
    """The uploaded certificate the header's thumbprint names."""
    s256, s1 = header.get("x5t#S256"), header.get("x5t")
    for entry in app.get("certificates") or []:
        if not isinstance(entry, dict) or not entry.get("pem"):
            continue
        cert, der = _load(entry)
        if (s256 and s256 == _b64e(hashlib.sha256(der).digest())) or \
                (s1 and s1 == _b64e(hashlib.sha1(der).digest())):
            return entry, cert, hashlib.sha1(der).hexdigest().upper()
    thumb = s256 or s1 or ""
    raise Refusal(401, "invalid_client", 700027,
                  "[Reason - The key was not found., Thumbprint of key "
                  "used by client: '%s']" % thumb)


def _check_sig(cert, alg, signed, sig, thumb):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    if alg == "PS256":
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                          salt_length=32)
    else:
        pad = padding.PKCS1v15()
    try:
        cert.public_key().verify(sig, signed, pad, hashes.SHA256())
    except InvalidSignature:
        raise Refusal(401, "invalid_client", 700027,
                      "[Reason - The provided signature value did not "
                      "match the expected signature value., Thumbprint of "
                      "key used by client: '%s']" % thumb)


def _check_claims(c, client_id, token_url, now, seen):
    if c.get("aud") != token_url or c.get("iss") != client_id or \
            c.get("sub") != client_id:
        raise Refusal(401, "invalid_client", 50027,
                      "[Reason - aud, iss or sub of the assertion do not "
                      "match the token endpoint and client_id.]")
    nbf, exp = c.get("nbf"), c.get("exp")
    if not isinstance(nbf, int) or not isinstance(exp, int) or \
            nbf > now + SKEW or exp < now - SKEW:
        raise Refusal(401, "invalid_client", 700024,
                      "[Reason - nbf %s, exp %s, current time %d.]"
                      % (nbf, exp, int(now)))
    if not c.get("jti") or not seen.use(c["jti"]):
        raise Refusal(401, "invalid_client", 50027,
                      "[Reason - The assertion's jti was used before.]")


def verify(assertion, app, client_id, token_url, now, seen, parse_time):
    parts = assertion.split(".")
    try:
        header = json.loads(_b64d(parts[0]))
        claims = json.loads(_b64d(parts[1]))
        sig = _b64d(parts[2])
    except (ValueError, IndexError):
        raise Refusal(401, "invalid_client", 50027,
                      "[Reason - The assertion is not a JWT.]")
    alg = header.get("alg")
    if alg not in ("PS256", "RS256") or header.get("typ") != "JWT":
        raise Refusal(401, "invalid_client", 50027,
                      "[Reason - alg %s is not supported.]" % alg)
    entry, cert, thumb = _find(app, header)
    end = parse_time(entry.get("end")) or \
        cert.not_valid_after.timestamp()
    if end <= now:
        raise Refusal(401, "invalid_client", 700027,
                      "[Reason - The key used is expired., Thumbprint of "
                      "key used by client: '%s']" % thumb)
    if alg not in (entry.get("algs") or ["PS256", "RS256"]):
        raise Refusal(401, "invalid_client", 700027,
                      "[Reason - The provided signature value did not "
                      "match the expected signature value., Thumbprint of "
                      "key used by client: '%s']" % thumb)
    _check_sig(cert, alg, (parts[0] + "." + parts[1]).encode(), sig, thumb)
    _check_claims(claims, client_id, token_url, now, seen)
    return str(entry.get("label") or ""), alg
