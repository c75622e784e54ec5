"""Plumbing shared by the stand-in servers in this directory.

Standard library only; run the servers with /usr/bin/python3.

- every server listens on 127.0.0.1 only (port 0 = a free port) and
  announces the chosen port through --port-file (temp file + rename, so a
  reader never sees a partial file);
- the scenario JSON file is re-read whenever its inode, mtime or size
  changes, so a test can change behaviour mid-run;
- request logs are JSON lines, each written and flushed before the reply
  that it describes is sent, so a client that has its answer can read it;
- SIGTERM/SIGINT stop the server cleanly (exit 0); so do --max-lifetime
  and the death of --parent-pid, so a killed test run leaves no orphans.
"""

import base64
import datetime
import http.server
import json
import os
import signal
import socket
import socketserver
import ssl
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"


def eprint(*args):
    print(*args, file=sys.stderr, flush=True)


def write_atomic(path, data):
    """Write bytes or str to path via a temp file in the same directory."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def parse_time(v):
    """Epoch seconds (int/float), RFC 3339 or YYYY-MM-DD (00:00 UTC).

    Returns float seconds or None for None/"".
    """
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise ValueError("not a time: %r" % (v,))
    if isinstance(v, (int, float)):
        return float(v)
    s = str(v).strip()
    try:
        return float(s)
    except ValueError:
        pass
    if len(s) == 10:
        s += "T00:00:00Z"
    dt = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.timestamp()


class Scenario:
    """A JSON scenario file, re-read when it changes.

    get() returns (dict, generation); the generation increases by one on
    every successful reload, so callers can reset per-scenario counters.
    A file that does not parse (for example written in place and caught
    half way) keeps the previous scenario and is retried on the next call.
    """

    def __init__(self, path, defaults):
        self.path = path
        self.defaults = dict(defaults)
        self.lock = threading.Lock()
        self.sig = ()
        self.data = dict(defaults)
        self.generation = 0

    def get(self):
        with self.lock:
            if self.path is None:
                return self.data, self.generation
            try:
                st = os.stat(self.path)
                sig = (st.st_ino, st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                sig = None
            if sig != self.sig:
                loaded = {}
                ok = True
                if sig is not None:
                    try:
                        with open(self.path, "rb") as f:
                            loaded = json.loads(f.read().decode("utf-8"))
                        if not isinstance(loaded, dict):
                            raise ValueError("scenario is not a JSON object")
                    except (OSError, ValueError) as e:
                        eprint("scenario %s: %s (keeping the previous one)"
                               % (self.path, e))
                        ok = False
                if ok:
                    merged = dict(self.defaults)
                    merged.update(loaded)
                    self.data = merged
                    self.sig = sig
                    self.generation += 1
            return self.data, self.generation


class FirstK:
    """Counts uses of a mode that applies to the first K events only.

    K = 0 (or absent) means every event.  The count restarts whenever the
    scenario generation changes, so "the first K requests" means the first
    K after the scenario file was last written.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.gen = None
        self.count = 0

    def take(self, generation, first):
        with self.lock:
            if generation != self.gen:
                self.gen = generation
                self.count = 0
            try:
                k = int(first or 0)
            except (TypeError, ValueError):
                k = 0
            if k > 0 and self.count >= k:
                return False
            self.count += 1
            return True


def body_log(srv, path, raw):
    """Record one request body in --bodies (raw bytes, base64)."""
    log = getattr(srv, "bodies", None)
    if log is not None:
        log.write({"path": path,
                   "body": base64.b64encode(raw or b"").decode("ascii")})


class JsonLog:
    """Append-only JSON-lines log (or nothing when path is None)."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.f = open(path, "a", encoding="utf-8") if path else None

    def write(self, rec):
        rec = dict(rec)
        rec.setdefault("time", round(time.time(), 3))
        line = json.dumps(rec, ensure_ascii=False, sort_keys=False)
        with self.lock:
            if self.f is not None:
                self.f.write(line + "\n")
                self.f.flush()

    def close(self):
        if self.f is not None:
            with self.lock:
                self.f.close()
                self.f = None


def server_ssl_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


class LoopbackServerMixin:
    """ThreadingTCPServer tweaks: loopback only, daemon threads, optional
    TLS handshake done in the connection's own thread (so one slow client
    cannot stall accept()), and a stop event for interruptible sleeps."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64
    allow_reuse_address = True
    ssl_context = None
    handshake_timeout = 10.0
    stop_event = None
    scheme = "tcp"

    def finish_request(self, request, client_address):
        if self.ssl_context is not None:
            request.settimeout(self.handshake_timeout)
            try:
                request = self.ssl_context.wrap_socket(request,
                                                       server_side=True)
            except (ssl.SSLError, OSError) as e:
                eprint("%s: TLS handshake from %s failed: %s"
                       % (self.scheme, client_address[0], e))
                return
            try:
                self.RequestHandlerClass(request, client_address, self)
            finally:
                try:
                    request.close()
                except OSError:
                    pass
            return
        self.RequestHandlerClass(request, client_address, self)

    def sleep(self, seconds, cap=300.0):
        """Sleep, capped, and cut short when the server is stopping."""
        try:
            seconds = float(seconds)
        except (TypeError, ValueError):
            seconds = 0.0
        seconds = max(0.0, min(seconds, cap))
        if self.stop_event is not None:
            self.stop_event.wait(seconds)
        else:
            time.sleep(seconds)


def add_common_args(p, tls=True):
    p.add_argument("--port-file", required=True,
                   help="write the listening port here (temp + rename)")
    p.add_argument("--port", type=int, default=0,
                   help="port to bind on 127.0.0.1 (default 0: a free one)")
    p.add_argument("--scenario", help="scenario JSON file (re-read on change)")
    p.add_argument("--log", help="JSON-lines request log")
    p.add_argument("--bodies", help="JSON-lines log of every request body "
                   "(base64), for tests that prove what was never sent")
    if tls:
        p.add_argument("--cert", required=True, help="server certificate PEM")
        p.add_argument("--key", required=True, help="server key PEM")
    p.add_argument("--max-lifetime", type=float, default=3600.0,
                   help="exit after this many seconds (default 3600)")
    p.add_argument("--parent-pid", type=int, default=0,
                   help="exit when this process is no longer our parent")
    return p


def serve(listeners, args, on_stop=None):
    """Run socketservers until SIGTERM/SIGINT, the lifetime limit or the
    parent's death.  listeners: [(server, port_file)]; each port is
    written once its server is accepting.  Returns the exit status."""
    servers = [s for s, _ in listeners]
    stop = threading.Event()
    for s in servers:
        s.stop_event = stop

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    threads = []
    for s in servers:
        t = threading.Thread(target=s.serve_forever,
                             kwargs={"poll_interval": 0.25}, daemon=True)
        t.start()
        threads.append(t)
    for s, pf in listeners:
        write_atomic(pf, "%d\n" % s.server_address[1])

    deadline = time.monotonic() + max(1.0, args.max_lifetime)
    while not stop.is_set():
        if time.monotonic() >= deadline:
            eprint("max lifetime reached, exiting")
            break
        if args.parent_pid and os.getppid() != args.parent_pid:
            eprint("parent %d is gone, exiting" % args.parent_pid)
            break
        stop.wait(0.5)
    stop.set()
    for s in servers:
        s.shutdown()
        s.server_close()
    if on_stop is not None:
        on_stop()
    return 0


class ThreadingTCPServer(LoopbackServerMixin, socketserver.ThreadingTCPServer):
    pass


class HTTPServer(LoopbackServerMixin, http.server.ThreadingHTTPServer):
    def server_bind(self):
        # HTTPServer.server_bind() would resolve a host name; skip that.
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOST
        self.server_port = self.server_address[1]


class Handler(http.server.BaseHTTPRequestHandler):
    """An HTTP/1.1 handler that logs nothing itself and sends every
    method to handle_any(), which the server defines."""
    protocol_version = "HTTP/1.1"
    timeout = 30

    def setup(self):
        # Replies are small: without this each waits for a delayed ACK.
        set_nodelay(self.request)
        super().setup()

    def log_message(self, fmt, *args):
        pass

    def version_string(self):
        return self.server_version

    def do_POST(self):
        self.handle_any()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_POST


def set_nodelay(sock):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
