#!/usr/bin/python3
"""Token requests with a certificate (a client assertion signed by
secretwatch) against the same with a client secret, and against curl
posting a pre-made assertion: what signing costs.

    /usr/bin/python3 bench/cert.py [BUILD_DIR]

Times with hyperfine (-N, 5 warm-ups, 50 runs each), all against the
stand-in Entra of tests/fakes, which verifies every assertion's
signature (python3-cryptography) and hands out tokens with expires_in
200, so every 'secretwatch token' misses the cache:

  1. 'secretwatch token' of a credential with a client secret;
  2. 'secretwatch token' of a credential with a certificate (RSA 2048,
     PS256 assertion signed per request);
  3. the same with RSA 3072;
  4. curl posting one pre-made assertion (the stand-in's jti replay check
     is off for this row), so 2 - 4 is roughly the cost of decrypting the
     key and signing in secretwatch.

Not a test; never registered with ctest.
"""
import base64
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
os.environ.setdefault("SW_FAKES", os.path.join(ROOT, "tests", "fakes"))
os.environ.setdefault("SW_BIN_DIR", os.path.join(
    os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                    os.path.join(ROOT, "build")), "bin"))
import m365_bench as mb  # noqa: E402
import m365  # noqa: E402


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def premade_assertion(key_pem, cert_pem, aud):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    now = int(time.time())
    head = {"alg": "PS256", "typ": "JWT",
            "x5t#S256": b64(hashlib.sha256(der).digest())}
    claims = {"aud": aud, "iss": m365.CLIENT, "sub": m365.CLIENT,
              "jti": str(uuid.uuid4()), "nbf": now, "iat": now,
              "exp": now + 3000}
    signed = (b64(json.dumps(head).encode()) + "." +
              b64(json.dumps(claims).encode()))
    sig = key.sign(signed.encode(), padding.PSS(
        mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    return signed + "." + b64(sig)


def add_cert_cred(w, name, bits, work):
    key, crt = os.path.join(work, name + ".key"), os.path.join(work,
                                                              name + ".pem")
    openssl = m365.swtest.need("openssl", "openssl")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:%d" % bits,
                    "-nodes", "-keyout", key, "-out", crt, "-days", "30",
                    "-subj", "/CN=" + name], check=True,
                   capture_output=True)
    r = w.run("cred", "add", name, "--tenant", m365.TENANT, "--client-id",
              m365.CLIENT, "--sender", m365.SENDER, "--authority-url",
              w.entra.url, "--smtp-url", w.smtp.url)
    assert r.returncode == 0, r.stderr
    r = w.run("cert", "import", name, "--key-file", key, "--cert-file", crt)
    assert r.returncode == 0, r.stderr
    with open(key) as f, open(crt) as g:
        kpem, cpem = f.read(), g.read()
    w.entra.upload_certificate(m365.TENANT, m365.CLIENT, cpem, name)
    r = w.run("rotate", name)
    assert r.returncode == 0, r.stdout + r.stderr
    return kpem, cpem


def main():
    for program in ("hyperfine", "curl"):
        m365.swtest.need(program, program)
    work = tempfile.mkdtemp(prefix="sw-cert-bench-")
    w = m365.World(webhook=False)
    try:
        w.entra.update_scenario(expires_in=200)
        w.add_secret(m365.S1)
        assert w.run("rotate", "mail").returncode == 0
        kpem, cpem = add_cert_cred(w, "cert2048", 2048, work)
        add_cert_cred(w, "cert3072", 3072, work)
        sw = "%s -c %s" % (os.path.join(os.environ["SW_BIN_DIR"],
                                        "secretwatch"), w.s.conf)
        b = mb.Bench(os.environ["SW_BIN_DIR"], work)
        print("secretwatch certificate benchmark (hyperfine -N -w %d -r %d)"
              % (mb.WARMUP, mb.RUNS))
        sec = b.hyperfine("secret", "token, client secret", sw + " token mail")
        c2 = b.hyperfine("cert2048", "token, certificate RSA 2048",
                         sw + " token cert2048")
        b.hyperfine("cert3072", "token, certificate RSA 3072",
                    sw + " token cert3072")
        w.entra.update_scenario(jti_once=False)
        url = w.entra.token_url(m365.TENANT)
        af = os.path.join(work, "assertion")
        with open(af, "w") as f:
            f.write(premade_assertion(kpem, cpem, url))
        curl = ("curl -sf --cacert %s -d client_id=%s --data-urlencode "
                "scope=%s -d grant_type=client_credentials -d "
                "client_assertion_type=urn:ietf:params:oauth:client-"
                "assertion-type:jwt-bearer --data-urlencode "
                "client_assertion@%s -o /dev/null %s"
                % (w.entra.ca_file, m365.CLIENT, mb.SCOPE, af, url))
        cu = b.hyperfine("curl", "curl, pre-made assertion", curl)
        r, e = mb.ratio(c2, sec)
        print("certificate / secret: %.2f ± %.2f; certificate - curl: "
              "%.2f ms" % (r, e, c2["mean"] - cu["mean"]))
        print(shlex.join(["#", "figures in", work]))
    finally:
        w.close()


if __name__ == "__main__":
    main()
