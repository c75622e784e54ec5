#!/usr/bin/python3
"""Fake alert-webhook receiver (HTTPS, and optionally plain HTTP).

    /usr/bin/python3 fake_webhook.py --port-file F --cert server.pem \
        --key server.key [--http-port-file F2] [--scenario S.json] \
        [--log requests.jsonl]

Listens with TLS on 127.0.0.1 (port in --port-file) and, when
--http-port-file is given, also in plain HTTP on a second port.  Every
request on either listener is logged, whatever the mode.

Scenario file (JSON object, re-read whenever it changes; all optional):

  {"mode": "ok",          # "ok" | "down" (503) | "drop" (close, no reply)
                          #   | "slow" (sleep slow_seconds, then as "ok")
   "mode_first": 0,       # mode only for the first K requests (0 = all),
                          #   counted from the last scenario change
   "status": 200,         # reply status in mode "ok"
   "body": "ok",          # reply body (text/plain) in mode "ok"
   "slow_seconds": 3}

Request log (--log), one JSON line per request, written before the reply:
  {"time", "scheme": "https"|"http", "method", "path", "content_type",
   "user_agent", "json": <parsed body or null>, "body": <text if not
   JSON, else null>, "status": <reply status, null when dropped>,
   "mode"}
POST is answered as a webhook, GET as a heartbeat ping (as
healthchecks.io does: the path says which, e.g. /ping and /ping/fail);
other methods get 405 (and are logged).
"""

import argparse
import json
import sys

import fakecommon as fc

DEFAULTS = {"mode": "ok", "mode_first": 0, "status": 200, "body": "ok",
            "slow_seconds": 3}
MAX_BODY = 1 << 20


class Handler(fc.Handler):
    server_version = "fake-webhook"

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            for _ in range(10000):
                line = self.rfile.readline(1024)
                if not line:
                    break
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    for _ in range(100):
                        if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                            break
                    break
                if len(out) + n > MAX_BODY:
                    raise ValueError("body too large")
                out += self.rfile.read(n)
                self.rfile.readline(8)
            return bytes(out)
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def reply(self, status, body, ctype="text/plain; charset=utf-8"):
        body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        srv = self.server
        sc, gen = srv.scenario.get()
        rec = {"scheme": srv.scheme, "method": self.command,
               "path": self.path,
               "content_type": self.headers.get("Content-Type"),
               "user_agent": self.headers.get("User-Agent"),
               "json": None, "body": None, "status": None, "mode": "ok"}
        try:
            body = self.read_body()
        except ValueError as e:
            rec.update(status=413, body="fake: %s" % e)
            srv.log.write(rec)
            self.close_connection = True
            self.reply(413, "too large")
            return
        text = body.decode("utf-8", errors="replace")
        try:
            rec["json"] = json.loads(text) if body else None
        except ValueError:
            rec["body"] = text
        else:
            if not body:
                rec["body"] = ""

        mode = str(sc.get("mode") or "ok")
        if mode != "ok" and not srv.state.take(gen, sc.get("mode_first")):
            mode = "ok"
        rec["mode"] = mode
        if mode == "slow":
            srv.sleep(sc.get("slow_seconds", 3))
        if mode == "drop":
            srv.log.write(rec)
            self.close_connection = True
            return
        if self.command not in ("POST", "GET"):
            rec["status"] = 405
            srv.log.write(rec)
            self.reply(405, "method not allowed")
            return
        if mode == "down":
            rec["status"] = 503
            srv.log.write(rec)
            self.reply(503, "Service Unavailable")
            return
        status = int(sc.get("status") or 200)
        rec["status"] = status
        srv.log.write(rec)
        self.reply(status, str(sc.get("body", "ok")))


Server = fc.HTTPServer


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    fc.add_common_args(p)
    p.add_argument("--http-port-file",
                   help="also listen in plain HTTP; write its port here")
    args = p.parse_args()
    scenario = fc.Scenario(args.scenario, DEFAULTS)
    scenario.get()
    log = fc.JsonLog(args.log)
    state = fc.FirstK()

    listeners = []
    tls = Server((fc.HOST, args.port), Handler)
    tls.scheme = "https"
    tls.ssl_context = fc.server_ssl_context(args.cert, args.key)
    listeners.append((tls, args.port_file))
    if args.http_port_file:
        plain = Server((fc.HOST, 0), Handler)
        plain.scheme = "http"
        listeners.append((plain, args.http_port_file))
    for s, _ in listeners:
        s.scenario, s.log, s.state = scenario, log, state
    return fc.serve(listeners, args, on_stop=log.close)


if __name__ == "__main__":
    sys.exit(main())
