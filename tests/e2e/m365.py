"""A scratch store wired to the stand-in Microsoft servers: a fake Entra
token endpoint, a fake Exchange Online SMTP server and a webhook receiver,
all on 127.0.0.1 with a test CA that the store's config trusts."""
import contextlib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402

sys.path.insert(0, swtest.FAKES)
import fakes  # noqa: E402

TENANT = "aaaaaaaa-0000-4000-8000-000000000001"
CLIENT = "bbbbbbbb-0000-4000-8000-000000000002"
SP_OID = "cccccccc-0000-4000-8000-000000000003"
SENDER = "alerts@contoso.com"
OPS = "ops@contoso.com"
S1 = "S1a8Q~first.secret_value-0123456789abcde"
S2 = "S2b8Q~second.secret_value-0123456789abcd"
S3 = "S3c8Q~third.secret_value-0123456789abcde"


def entra_scenario(secrets=None, **app):
    if secrets is None:
        secrets = [{"label": "s1", "value": S1, "end": "2099-01-01"},
                   {"label": "s2", "value": S2, "end": "2099-06-01"}]
    a = {"name": "secretwatch-test", "sp_object_id": SP_OID,
         "secrets": secrets}
    a.update(app)
    return {"tenants": {TENANT: {"name": "contoso", "apps": {CLIENT: a}}}}


def smtp_scenario(**kw):
    s = {"mailboxes": {SENDER: {}, OPS: {}},
         "service_principals": {CLIENT: {"full_access": [SENDER]}}}
    s.update(kw)
    return s


class World:
    """The fakes plus a scratch store with one credential 'mail'."""

    def __init__(self, extra_config="", cred=True, webhook=True):
        self.stack = contextlib.ExitStack()
        self.entra = self.stack.enter_context(fakes.Entra(entra_scenario()))
        self.smtp = self.stack.enter_context(fakes.Smtp(smtp_scenario()))
        self.webhook = (self.stack.enter_context(fakes.Webhook({}))
                        if webhook else None)
        self.s = swtest.Scratch()
        self.extra = extra_config
        self.configure()
        if cred:
            self.add_cred()

    def add_cred(self, *extra):
        """init, and 'mail' on the stand-ins, with EXTRA options."""
        assert self.s.run("init").returncode == 0
        r = self.s.run("cred", "add", "mail", "--tenant", TENANT,
                       "--client-id", CLIENT, "--sender", SENDER,
                       "--object-id", SP_OID, "--test-to", OPS,
                       "--authority-url", self.entra.url,
                       "--smtp-url", self.smtp.url, *extra)
        assert r.returncode == 0, r.stderr

    def configure(self, extra=None):
        if extra is not None:
            self.extra = extra
        self.s.write_config(f"[tls]\nca_file = {self.entra.ca_file}\n"
                            + self.extra)

    def add_secret(self, value=S1, expires="+200d", *extra):
        r = self.s.run("secret", "add", "mail", "--expires", expires,
                       *extra, input=value + "\n")
        assert r.returncode == 0, r.stderr
        return r

    def run(self, *a, **kw):
        return self.s.run(*a, **kw)

    def close(self):
        self.s.cleanup()
        self.stack.close()


class WorldCase(unittest.TestCase):
    extra_config = ""
    assertFails = swtest.ScratchCase.assertFails

    def setUp(self):
        self.w = World(self.extra_config)
        self.addCleanup(self.w.close)
