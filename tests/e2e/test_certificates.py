"""Certificate credentials against the stand-ins: a key made here or
imported, its certificate uploaded to the stand-in app (which verifies
every client assertion's signature with it), a real token request and
XOAUTH2 send before the switch, and each certificate failure with its
diagnosis and exit code. The private key never reaches the database
file, its WAL, the output, the audit trail or the metrics."""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402
import m365  # noqa: E402
from m365 import WorldCase  # noqa: E402


def openssl_pair(days=30, cn="imported"):
    """A PEM key and certificate made by openssl(1), and the key's DER
    forms (PKCS#1 and PKCS#8)."""
    openssl = swtest.need("openssl", "openssl")
    d = tempfile.mkdtemp()
    key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", crt, "-days",
                    str(days), "-subj", "/CN=" + cn], check=True,
                   capture_output=True)
    ders = []
    for fmt in (["-traditional"], []):
        ders.append(subprocess.run(
            [openssl, "pkey", "-in", key, "-outform", "DER"] + fmt,
            check=True, capture_output=True).stdout)
    with open(key) as f:
        kpem = f.read()
    with open(crt) as f:
        cpem = f.read()
    return key, crt, kpem, cpem, ders


class CertCase(WorldCase):
    def new_cert(self, *extra):
        out = os.path.join(self.w.s.dir, "cert.pem")
        r = self.w.run("cert", "new", "mail", "--out", out, *extra)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(out) as f:
            return f.read(), r.stdout

    def upload(self, pem, label="c1", **kw):
        self.w.entra.upload_certificate(m365.TENANT, m365.CLIENT, pem,
                                        label, **kw)

    def cert_id(self):
        _, doc = self.w.s.json("secret", "list", "mail")
        return [s for s in doc["secrets"] if s["kind"] == "certificate"][0]

    def assertDiag(self, step, code=2, *args):
        r = self.w.run("test", "mail", *args)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        self.assertIn(f"({step})", r.stdout)
        r, doc = self.w.s.json("doctor", "mail", *args)
        self.assertEqual(r.returncode, code)
        self.assertEqual(doc["diagnosis"]["step"], step)
        return doc


class TestCertificate(CertCase):
    def test_switch_with_verified_assertion_and_send(self):
        pem, out = self.new_cert()
        self.assertIn("thumbprint SHA-1", out)
        self.assertNotIn("PRIVATE KEY", out)
        self.upload(pem)
        r = self.w.run("rotate", "mail")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        _, doc = self.w.s.json("status")
        active = doc["credentials"][0]["active"]
        self.assertEqual(active["kind"], "certificate")
        self.assertTrue(active["last_test"]["ok"])
        # The stand-in verified a PS256 assertion with the uploaded
        # certificate, and the send used the token it issued.
        req = self.w.entra.requests()[-1]
        self.assertEqual(req["secret_via"], "assertion")
        self.assertEqual(req["assertion_alg"], "PS256")
        self.assertEqual(req["status"], 200)
        msg = self.w.smtp.messages()[-1]
        self.assertEqual(msg["claims"]["xms_sw_secret"], "c1")
        # A token for consumers, from the cache.
        r = self.w.run("token", "mail")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_ps256_refused_falls_back_to_rs256_and_remembers(self):
        pem, _ = self.new_cert()
        self.upload(pem, algs=["RS256"])
        r = self.w.run("rotate", "mail")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        reqs = self.w.entra.requests()
        self.assertEqual([q.get("assertion_alg") for q in reqs[-2:]],
                         [None, "RS256"])
        self.assertEqual(reqs[-2]["error_code"], 700027)
        n = len(reqs)
        r = self.w.run("test", "mail", "--token-only")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        reqs = self.w.entra.requests()
        self.assertEqual(len(reqs), n + 1)  # RS256 straight away
        self.assertEqual(reqs[-1]["assertion_alg"], "RS256")

    def test_wrong_thumbprint(self):
        self.new_cert()
        _, _, _, other, _ = openssl_pair()
        self.upload(other)
        doc = self.assertDiag("certificate-unknown")
        self.assertIn("Upload certificate", doc["diagnosis"]["remedy"])
        self.assertIn("700027", doc["diagnosis"]["evidence"])
        r = self.w.run("rotate", "mail")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(self.cert_id()["state"], "pending")

    def test_expired_certificate(self):
        # Made 200 days ago for 10 days: expired now, here and in Entra.
        then = time.strftime("%Y-%m-%d",
                             time.gmtime(time.time() - 200 * 86400))
        pem, _ = self.new_cert("--days", "10", "--now", then)
        self.upload(pem)
        doc = self.assertDiag("certificate-expired")
        self.assertIn("cert new mail", doc["diagnosis"]["remedy"])
        _, st = self.w.s.json("status")
        self.assertEqual(st["credentials"][0]["pending"][0]["kind"],
                         "certificate")

    def test_skewed_clock(self):
        pem, _ = self.new_cert()
        self.upload(pem)
        doc = self.assertDiag("clock-skew", 2, "--now", "+1h")
        self.assertIn("700024", doc["diagnosis"]["evidence"])
        self.assertIn("timedatectl", doc["diagnosis"]["remedy"])


class TestDeploy(CertCase):
    def test_hook_gets_certificate_and_key_pem(self):
        d = tempfile.mkdtemp()
        out, hook = os.path.join(d, "deployed"), os.path.join(d, "hook.sh")
        with open(hook, "w") as f:
            f.write(f"#!/bin/sh\ncat > {out}\nenv > {out}.env\n")
        os.chmod(hook, 0o755)
        self.w.configure(f"[deploy]\nhook = {hook}\n")
        pem, _ = self.new_cert()
        self.upload(pem)
        r = self.w.run("check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(out) as f:
            got = f.read()
        with open(out + ".env") as f:
            self.assertIn("SECRETWATCH_KIND=certificate", f.read())
        self.assertTrue(got.startswith(pem))
        key = got[len(pem):]
        self.assertTrue(key.startswith("-----BEGIN PRIVATE KEY-----\n"))
        self.assertTrue(key.endswith("-----END PRIVATE KEY-----\n"))
        openssl = swtest.need("openssl", "openssl")
        pub = [subprocess.run(cmd, input=text, capture_output=True,
                              text=True, check=True).stdout
               for cmd, text in (([openssl, "pkey", "-pubout"], key),
                                 ([openssl, "x509", "-noout", "-pubkey"],
                                  pem))]
        self.assertEqual(pub[0], pub[1])
        os.unlink(out)


class TestImport(CertCase):
    def test_mismatch_refused_nothing_written(self):
        key, _, _, _, _ = openssl_pair()
        _, crt, _, _, _ = openssl_pair()
        before = self.w.s.db_hash()
        r = self.w.run("cert", "import", "mail", "--key-file", key,
                       "--cert-file", crt)
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not belong to the certificate", r.stderr)
        self.assertEqual(self.w.s.db_hash(), before)

    def test_no_private_key_bytes_anywhere(self):
        key, crt, kpem, cpem, ders = openssl_pair()
        with open(key) as f:
            r = self.w.run("cert", "import", "mail", "--key-file", "-",
                           "--cert-file", crt, input=f.read())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.upload(cpem)
        self.w.configure(self.w.extra + "[metrics]\ntextfile = %s\n"
                         % os.path.join(self.w.s.dir, "m.prom"))
        outs = [r.stdout + r.stderr]
        for args in (["rotate", "mail"], ["--json", "status"],
                     ["--json", "secret", "list"], ["--json", "log"],
                     ["check"], ["token", "mail"]):
            r = self.w.run(*args)
            outs.append(r.stdout + r.stderr)
        self.assertEqual(self.cert_id()["state"], "active")
        body = "".join(kpem.strip().splitlines()[1:-1])
        needles = [d for d in ders] + [d[len(d) // 2:len(d) // 2 + 48]
                                       for d in ders]
        needles += [body[:64].encode(), b"PRIVATE KEY"]
        needles += [base64.b64encode(d)[:64] for d in ders]
        blobs = [o.encode() for o in outs]
        seen = set()
        for top, _, files in os.walk(self.w.s.dir):
            for name in files:
                seen.add(name)
                with open(os.path.join(top, name), "rb") as f:
                    blobs.append(f.read())
        self.assertIn(os.path.basename(self.w.s.db), seen)
        self.assertIn("m.prom", seen)
        blobs += [json.dumps(q).encode() for q in self.w.entra.requests()]
        for b in blobs:
            for n in needles:
                self.assertNotIn(n, b)

    def test_key_file_fifo_refused_at_once(self):
        # Nobody writes into the FIFO: opening it for reading would block
        # for ever. It is refused at once, as the store's key FIFO is.
        _, crt, _, _, _ = openssl_pair()
        fifo = os.path.join(self.w.s.dir, "key.fifo")
        os.mkfifo(fifo)
        before = self.w.s.db_hash()
        for args in (["--key-file", fifo, "--cert-file", crt],
                     ["--key-file", crt, "--cert-file", fifo],
                     ["--key-file", self.w.s.dir, "--cert-file", crt]):
            t = time.time()
            r = self.w.run("cert", "import", "mail", *args, timeout=20)
            self.assertLess(time.time() - t, 5)
            self.assertFails(r, "is not a regular file")
            self.assertIn("'-' for standard input", r.stderr)
        self.assertEqual(self.w.s.db_hash(), before)

    def test_expired_import_names_the_date(self):
        key, crt, _, _, _ = openssl_pair(days=1)
        r = self.w.run("cert", "import", "mail", "--key-file", key,
                       "--cert-file", crt, "--now", "+3d")
        self.assertFails(r, "the certificate expired at 20")
        self.assertRegex(r.stderr, r"expired at \d{4}-\d\d-\d\dT"
                         r"\d\d:\d\d:\d\dZ \(its notAfter\)")


if __name__ == "__main__":
    swtest.main()
