"""Start the stand-in servers from tests.

    sys.path.insert(0, os.environ.get("SW_FAKES") or "<repo>/tests/fakes")
    import fakes

    with fakes.Entra({"tenants": {...}}) as entra, \\
            fakes.Smtp({"mailboxes": {...}}) as smtp:
        entra.url        # https://127.0.0.1:PORT  (authority base)
        entra.ca_file    # the CA every fake's certificate chains to
        smtp.url         # smtp://127.0.0.1:PORT
        entra.set_scenario({...})     # takes effect on the next request
        entra.requests()              # the request log, as dicts
        smtp.messages()               # delivered mail, oldest first

Each server runs as a /usr/bin/python3 subprocess with its files (scenario,
port file, logs, maildir, stderr) in a private temp directory that is
removed on exit (kept when SW_KEEP_FAKES=1).  All servers share one set of
certificates per test process unless given certs=Certs(...).
"""

import atexit
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
# Debian's python3-cryptography, imported by the stand-ins that check
# certificates and signed assertions (fake_graph, fake_entra).
CRYPTOGRAPHY = "/usr/lib/python3/dist-packages/cryptography"
START_TIMEOUT = 10.0
BIN_DIRS = ("/usr/bin", "/usr/sbin", "/bin", "/sbin")


class MissingProgram(AssertionError):
    """A program or file from a Debian package is absent. An
    AssertionError, so that a test needing it fails (never skips); its
    message is the whole story, in one line."""


def need(program, package):
    """The path of PROGRAM, which the tests, the stand-ins or the demo
    call: a name looked up in Debian's bin directories (not $PATH, which
    may hold other builds), or an absolute path to a program or to a file
    (a library, a Python package) that must exist. Raises MissingProgram
    naming it and the Debian package PACKAGE that provides it."""
    if os.path.isabs(program):
        kind = "program " if os.path.dirname(program) in BIN_DIRS else ""
        ok = os.access(program, os.X_OK) if kind else \
            os.path.exists(program)
        if ok:
            return program
    else:
        kind = "program "
        for d in BIN_DIRS:
            path = os.path.join(d, program)
            if os.access(path, os.X_OK) and os.path.isfile(path):
                return path
    raise MissingProgram("missing %s%s: install the Debian package '%s' "
                         "(scripts/install-deps.sh installs it)"
                         % (kind, program, package))


def _keep():
    return os.environ.get("SW_KEEP_FAKES") == "1"


class Certs:
    """Test CA and server certificates made by mkcerts.sh in a temp dir
    (or in dir, which is then left in place)."""

    def __init__(self, dir=None):
        self.own = dir is None
        self.dir = dir or tempfile.mkdtemp(prefix="sw-certs-")
        need("openssl", "openssl")  # mkcerts.sh runs it
        subprocess.run([os.path.join(HERE, "mkcerts.sh"), self.dir],
                       check=True, timeout=60)
        p = lambda name: os.path.join(self.dir, name)  # noqa: E731
        self.ca_file = p("ca.pem")
        self.ca_key = p("ca.key")
        self.server_cert = p("server.pem")
        self.server_key = p("server.key")
        self.rogue_ca_file = p("rogue-ca.pem")
        self.rogue_cert = p("rogue-server.pem")
        self.rogue_key = p("rogue-server.key")

    def close(self):
        if self.own and not _keep():
            shutil.rmtree(self.dir, ignore_errors=True)
            self.own = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_shared_certs = None


def shared_certs():
    """One Certs for the whole test process, removed at exit."""
    global _shared_certs
    if _shared_certs is None:
        _shared_certs = Certs()
        atexit.register(_shared_certs.close)
    return _shared_certs


def read_jsonl(path):
    """Complete JSON lines of a log that may still be being written."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    out = []
    for line in data.split(b"\n")[:-1]:
        if line.strip():
            out.append(json.loads(line.decode("utf-8")))
    return out


def write_scenario(path, scenario, last_ns=0):
    """Atomically replace path with scenario (a dict); its mtime is made
    strictly newer than last_ns.  Returns the new mtime in ns."""
    data = json.dumps(scenario or {}, indent=1).encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".sc-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    ns = max(time.time_ns(), last_ns + 1_000_000)
    os.utime(tmp, ns=(ns, ns))
    os.replace(tmp, path)
    return ns


class _Server:
    script = None
    prefix = "fake"
    needs = ((PYTHON, "python3"),)

    def __init__(self, scenario=None, certs=None, rogue=False, args=()):
        self.certs = certs or shared_certs()
        self.rogue = rogue
        self.extra_args = list(args)
        self.scenario = scenario or {}
        self.proc = None
        self.dir = None
        self.port = None
        self._mtime = 0

    # paths
    def path(self, name):
        return os.path.join(self.dir, name)

    @property
    def ca_file(self):
        """The CA a client must trust (also for a rogue server: the point
        is that the client trusts ca.pem and is shown something else)."""
        return self.certs.ca_file

    @property
    def log_file(self):
        return self.path("log.jsonl")

    def _args(self):
        return []

    def start(self):
        for program, package in self.needs:
            need(program, package)
        self.dir = tempfile.mkdtemp(prefix="sw-%s-" % self.prefix)
        self._mtime = write_scenario(self.path("scenario.json"),
                                     self.scenario)
        c = self.certs
        cert, key = ((c.rogue_cert, c.rogue_key) if self.rogue
                     else (c.server_cert, c.server_key))
        cmd = [PYTHON, os.path.join(HERE, self.script),
               "--port-file", self.path("port"),
               "--scenario", self.path("scenario.json"),
               "--log", self.log_file,
               "--bodies", self.path("bodies.jsonl"),
               "--cert", cert, "--key", key,
               "--parent-pid", str(os.getpid())] + self._args() \
            + self.extra_args
        self._stderr = open(self.path("stderr.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self._stderr,
                                     stderr=self._stderr,
                                     env=dict(os.environ,
                                              PYTHONDONTWRITEBYTECODE="1"))
        deadline = time.monotonic() + START_TIMEOUT
        self.port = self._wait_port("port", deadline)
        return self

    def _wait_port(self, name, deadline):
        while time.monotonic() < deadline:
            try:
                with open(self.path(name)) as f:
                    return int(f.read().strip())
            except (FileNotFoundError, ValueError):
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("%s did not start: %s" % (self.script,
                                                      self.stderr()))

    def stderr(self):
        try:
            with open(self.path("stderr.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def set_scenario(self, scenario):
        """Replace the scenario; the server uses it from its next
        request (or SMTP command) on."""
        self.scenario = scenario
        self._mtime = write_scenario(self.path("scenario.json"), scenario,
                                     self._mtime)

    def update_scenario(self, **changes):
        """set_scenario() with some top-level keys changed."""
        sc = dict(self.scenario)
        sc.update(changes)
        self.set_scenario(sc)

    def log(self):
        """The server's JSON-lines log, as a list of dicts."""
        return read_jsonl(self.log_file)

    def requests(self):
        """Same as log(): token requests, webhook POSTs, SMTP events."""
        return self.log()

    def bodies(self):
        """[(path, raw bytes)] of every request body the server read
        (Entra and Graph), oldest first."""
        return [(r["path"], base64.b64decode(r["body"]))
                for r in read_jsonl(self.path("bodies.jsonl"))]

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            self.returncode = self.proc.returncode
            self.proc = None
            self._stderr.close()
        if self.dir and not _keep():
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Entra(_Server):
    """Fake token endpoint.  Token URL: entra.token_url(tenant)."""
    script = "fake_entra.py"
    prefix = "entra"
    needs = _Server.needs + ((CRYPTOGRAPHY, "python3-cryptography"),)

    def _args(self):
        return ["--graph-state", self.graph_state]

    @property
    def graph_state(self):
        """Where a Graph given this Entra writes the secrets it makes."""
        return self.path("graph-state.json")

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def token_url(self, tenant):
        return "%s/%s/oauth2/v2.0/token" % (self.url, tenant)

    def upload_certificate(self, tenant, client_id, pem, label, **kw):
        """The admin hook: add a certificate (PEM) to the app's
        "certificates", as an upload in the portal does; kw: "end",
        "algs" (fake_assertion.py)."""
        sc = json.loads(json.dumps(self.scenario))
        app = sc["tenants"][tenant]["apps"][client_id]
        entry = {"label": label, "pem": pem}
        entry.update(kw)
        app.setdefault("certificates", []).append(entry)
        self.set_scenario(sc)


class Smtp(_Server):
    """Fake Exchange Online SMTP.  messages(): list of dicts (the NNNN.json
    fields) with "eml" (bytes) added."""
    script = "fake_smtp.py"
    prefix = "smtp"

    def __init__(self, scenario=None, certs=None, rogue=False, args=(),
                 idle_timeout=30):
        super().__init__(scenario, certs, rogue, args)
        self.idle_timeout = idle_timeout

    def _args(self):
        return ["--maildir", self.path("maildir"),
                "--idle-timeout", str(self.idle_timeout)]

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    @property
    def maildir(self):
        return self.path("maildir")

    def messages(self):
        out = []
        try:
            names = sorted(n for n in os.listdir(self.maildir)
                           if n.endswith(".json") and n[:-5].isdigit())
        except FileNotFoundError:
            return out
        for n in names:
            with open(os.path.join(self.maildir, n), "rb") as f:
                meta = json.loads(f.read().decode("utf-8"))
            with open(os.path.join(self.maildir, n[:-5] + ".eml"), "rb") as f:
                meta["eml"] = f.read()
            out.append(meta)
        return out

    def sessions(self):
        """The session log grouped by session id: {id: [events]}."""
        out = {}
        for rec in self.log():
            out.setdefault(rec["session"], []).append(rec)
        return out


class Webhook(_Server):
    """Webhook receiver: HTTPS on .url, and plain HTTP on .http_url when
    started with plain_http=True."""
    script = "fake_webhook.py"
    prefix = "webhook"

    def __init__(self, scenario=None, certs=None, rogue=False, args=(),
                 plain_http=False):
        super().__init__(scenario, certs, rogue, args)
        self.plain_http = plain_http
        self.http_port = None

    def _args(self):
        return ["--http-port-file", self.path("http-port")] \
            if self.plain_http else []

    def start(self):
        super().start()
        if self.plain_http:
            self.http_port = self._wait_port(
                "http-port", time.monotonic() + START_TIMEOUT)
        return self

    @property
    def url(self):
        return "https://127.0.0.1:%d/hook" % self.port

    @property
    def http_url(self):
        return "http://127.0.0.1:%d/hook" % self.http_port


class Graph(_Server):
    """Fake Microsoft Graph (applications' client secrets, and a tenant's
    directory listed page by page).  Given entra=, the secrets its
    addPassword makes work at that Entra.  The admin hook:
    credentials(client_id), set_end(client_id, key_id, when),
    delete(client_id, key_id), issued() (every secretText handed out);
    for the "directories" scenario: expiring(tenant, within_days, now)
    (the truth a sweep must find), directory_counts(tenant),
    expire_page_tokens(tenant), list_requests(), owners_requests()."""
    script = "fake_graph.py"
    prefix = "graph"
    needs = _Server.needs + ((CRYPTOGRAPHY, "python3-cryptography"),)

    def __init__(self, scenario=None, certs=None, rogue=False, args=(),
                 entra=None):
        super().__init__(scenario, certs, rogue, args)
        self.entra = entra

    def _args(self):
        return ["--state", self.entra.graph_state] if self.entra else []

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def _admin(self, method, path, body=None, timeout=10):
        import ssl
        import urllib.request
        ctx = ssl.create_default_context(cafile=self.ca_file)
        data = json.dumps(body).encode("utf-8") if body is not None else None
        rq = urllib.request.Request(self.url + path, data=data,
                                    method=method)
        if data is not None:
            rq.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(rq, context=ctx, timeout=timeout) as r:
            raw = r.read()
        return json.loads(raw.decode("utf-8")) if raw else None

    def credentials(self, client_id):
        """The app's passwordCredentials (no values), as Graph lists them."""
        return self._admin("GET", "/_admin/apps/%s" % client_id)[
            "credentials"]

    def keys(self, client_id):
        """The app's keyCredentials, as Graph keeps them."""
        return self._admin("GET", "/_admin/apps/%s" % client_id)["keys"]

    def set_end(self, client_id, key_id, when):
        self._admin("PATCH", "/_admin/apps/%s/%s" % (client_id, key_id),
                    {"end": when})

    def accept(self, client_id, key_id):
        """The secret key_id works at Entra from now on (replicated)."""
        self._admin("PATCH", "/_admin/apps/%s/%s" % (client_id, key_id),
                    {"accepted": True})

    def delete(self, client_id, key_id):
        self._admin("DELETE", "/_admin/apps/%s/%s" % (client_id, key_id))

    def issued(self):
        """Every secretText this server handed out."""
        return self._admin("GET", "/_admin/issued")["issued"]

    # -- a tenant's directory (scenario key "directories") ------------------

    def expiring_report(self, tenant, within_days=30, now=None):
        """GET /_admin/directory/TENANT/expiring: {"tenant", "now",
        "now_epoch", "within_days", "count", "credentials": [entry...]}.
        now: epoch seconds (default: the generator's "now", else the
        server's clock). Computing it walks the whole directory: about
        8 s for 200,000 generated objects."""
        import urllib.parse
        q = {"within_days": within_days}
        if now is not None:
            q["now"] = now
        return self._admin("GET", "/_admin/directory/%s/expiring?%s" % (
            urllib.parse.quote(str(tenant), safe=""),
            urllib.parse.urlencode(q)), timeout=300)

    def expiring(self, tenant, within_days=30, now=None):
        """Every credential of TENANT's directory that ends within
        within_days of now, or has ended ("expired": true): one entry per
        logical credential (a SAML certificate's three rows are one), in
        listing order, each {"object": "application"|"servicePrincipal",
        "object_id", "appId", "displayName", "keyId", "kind":
        "secret"|"certificate", "usage": null|"Verify"|"Sign", "saml",
        "credentialDisplayName", "end" (as listed), "end_epoch",
        "expired", "microsoft", "owners" (how many)}."""
        return self.expiring_report(tenant, within_days, now)["credentials"]

    def directory_counts(self, tenant):
        """{"applications", "servicePrincipals", "objects", "credentials"
        (logical), "secrets", "certificates", "saml", "rows" (as listed:
        a SAML certificate is 3), "microsoft", "no_owner", "tenant"}."""
        import urllib.parse
        return self._admin("GET", "/_admin/directory/%s/counts" %
                           urllib.parse.quote(str(tenant), safe=""),
                           timeout=300)

    def expire_page_tokens(self, tenant):
        """Every $skiptoken handed out so far for TENANT is stale from now
        on (400 Directory_ExpiredPageToken)."""
        import urllib.parse
        self._admin("POST", "/_admin/directory/%s/expire_tokens" %
                    urllib.parse.quote(str(tenant), safe=""))

    def list_requests(self, tenant=None):
        """The log's list requests (op "list"), optionally of one tenant."""
        return [r for r in self.log() if r.get("op") == "list" and
                (tenant is None or r.get("tenant") == tenant_id(tenant))]

    def owners_requests(self, tenant=None):
        """The log's owners reads (op "owners")."""
        return [r for r in self.log() if r.get("op") == "owners" and
                (tenant is None or r.get("tenant") == tenant_id(tenant))]


def tenant_id(key):
    """The "tid" fake_entra puts in a token for a tenant keyed KEY that has
    no explicit "id": a GUID as is (lower case), any other name as
    uuid5(NAMESPACE_DNS, name). Directories are keyed the same way."""
    import re
    import uuid
    k = str(key).strip().lower()
    if re.match(r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$", k):
        return k
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, k))


def secret_value(hint):
    """A fresh value shaped like an Entra client secret (40 characters:
    the three-character HINT, '8Q~', 34 random ones), made when it is
    needed so that no secret-shaped value is kept in a file."""
    import random
    import string
    rng = random.SystemRandom()
    alphabet = string.ascii_letters + string.digits + "._-"
    return hint + "8Q~" + "".join(rng.choice(alphabet) for _ in range(34))


# -- helpers for building and inspecting tokens ---------------------------

def _b64url(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims):
    """An unsigned JWT like fake_entra's, for hand-made tokens."""
    return ".".join([_b64url(json.dumps({"typ": "JWT", "alg": "RS256"})),
                     _b64url(json.dumps(claims)), _b64url("sig")])


def decode_jwt(token, part=1):
    """The claims of a JWT (part=0: its header); no signature check."""
    p = token.split(".")[part]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def xoauth2(user, token):
    """The base64 SASL XOAUTH2 initial response."""
    raw = "user=%s\x01auth=Bearer %s\x01\x01" % (user, token)
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")
