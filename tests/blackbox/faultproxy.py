"""A TCP proxy for the delivery fault tests: put in front of moto's S3 server, it can be "switched off"
(refuse, reset, answer 503) or slowed down without losing moto's in-memory buckets, and it records the
SigV4 credentials of the requests it forwards.
"""

import re
import socket
import threading
import time

from support import free_port


# --------------------------------------------------------------------------------------------------
# a TCP proxy that can refuse, reset, answer 503, or slow down


class TCPProxy:
    """Forwards 127.0.0.1:<port> to a target. Modes:
    - "pass": forward;
    - "refuse": the listening socket is closed (connection refused), open connections are cut;
    - "reset": connections are accepted and closed at once;
    - "503": every request gets `HTTP/1.1 503` and the connection is closed.
    `delay` (seconds) is slept before forwarding each chunk the client sends (slow uploads)."""

    def __init__(self, target_host, target_port, port=None):
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.mode = "pass"
        self.delay = 0.0
        self._lock = threading.Lock()
        self._conns = set()
        self._listener = None
        self._stopped = False
        self._thread = None
        self.accepted = 0
        self.credentials_seen = []  # (access key id, date, signing region, service) of each signed request

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self._bind()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def _bind(self):
        deadline = time.time() + 10
        while True:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", self.port))
                break
            except OSError:
                s.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        s.listen(128)
        s.settimeout(0.2)
        with self._lock:
            self._listener = s

    def _close_listener(self):
        with self._lock:
            s, self._listener = self._listener, None
        if s is not None:
            try:
                s.close()
            except OSError:
                pass

    def cut_connections(self):
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                c.close()
            except OSError:
                pass

    def set_mode(self, mode):
        assert mode in ("pass", "refuse", "reset", "503")
        old, self.mode = self.mode, mode
        if mode != "pass":
            self.cut_connections()
        if mode == "refuse" and old != "refuse":
            self._close_listener()
        elif mode != "refuse" and old == "refuse":
            self._bind()

    def stop(self):
        self._stopped = True
        self._close_listener()
        self.cut_connections()

    def _accept_loop(self):
        while not self._stopped:
            with self._lock:
                s = self._listener
            if s is None:
                time.sleep(0.05)
                continue
            try:
                c, _ = s.accept()
            except socket.timeout:
                continue
            except OSError:
                time.sleep(0.05)
                continue
            self.accepted += 1
            mode = self.mode
            if mode in ("reset", "refuse"):
                _hard_close(c)
                continue
            if mode == "503":
                threading.Thread(target=self._answer_503, args=(c,), daemon=True).start()
                continue
            try:
                u = socket.create_connection(self.target, timeout=10)
                u.settimeout(None)
            except OSError:
                _hard_close(c)
                continue
            c.settimeout(None)
            with self._lock:
                self._conns.add(c)
                self._conns.add(u)
            threading.Thread(target=self._pump, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, False), daemon=True).start()

    def _answer_503(self, c):
        try:
            c.settimeout(5)
            buf = b""
            while b"\r\n\r\n" not in buf and len(buf) < 65536:
                chunk = c.recv(65536)
                if not chunk:
                    break
                buf += chunk
            body = b"<Error><Code>ServiceUnavailable</Code><Message>proxy says no</Message></Error>"
            c.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
                      b"Connection: close\r\n\r\n%s" % (len(body), body))
        except OSError:
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def _pump(self, src, dst, from_client):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client:
                    for m in _SIGV4_CREDENTIAL.finditer(data):
                        self.credentials_seen.append(tuple(g.decode() for g in m.groups()))
                    if self.delay:
                        time.sleep(self.delay)
                if self.mode != "pass":
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    s.close()
                except OSError:
                    pass
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)


_SIGV4_CREDENTIAL = re.compile(rb"AWS4-HMAC-SHA256 Credential=([^/\s]+)/(\d{8})/([^/\s]+)/([^/\s]+)/aws4_request")


def _hard_close(c):
    try:
        import struct

        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
    except OSError:
        pass
    try:
        c.close()
    except OSError:
        pass
