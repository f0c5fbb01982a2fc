"""Reading TailEvents' server-sent events (text/event-stream) in the black-box tests.

A stream is read by a thread into a queue, so that a test waits for the next message with a deadline
(and a stream that stops sending is a failure, not a hang). Messages are parsed as the HTML standard
says a browser does (fields data, event, id; comments; a blank line dispatches)."""

import queue
import socket
import threading
import urllib.parse
from dataclasses import dataclass

import requests

import support


@dataclass
class Message:
    event: str          # "message" for an event, "ready", "behind", "end", or ":" for a comment
    id: str             # the stream's last event id after this message
    data: str
    has_data: bool


class Closed(Exception):
    pass


class Stream:
    def __init__(self, response, start=True):
        """`start=False`: nothing reads the socket until `start()` (a consumer that does not read)."""
        self.response = response
        self.status = response.status_code
        self.headers = response.headers
        self.q = queue.Queue()
        self.last_id = ""
        self.thread = threading.Thread(target=self._read, daemon=True)
        if start:
            self.thread.start()

    def start(self):
        self.thread.start()

    def _read(self):
        buf = b""
        data, has_data, event, id_buf = [], False, "", self.last_id
        try:
            for chunk in self.response.iter_content(chunk_size=None):
                buf += chunk
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.decode("utf-8")
                    if line == "":
                        self.last_id = id_buf
                        if has_data or event:
                            self.q.put(Message(event or "message", id_buf, "\n".join(data), has_data))
                        elif id_buf:
                            self.q.put(Message(":id", id_buf, "", False))
                        data, has_data, event = [], False, ""
                        continue
                    if line.startswith(":"):
                        self.q.put(Message(":", id_buf, line[1:].strip(), False))
                        continue
                    name, _, value = line.partition(":")
                    if value.startswith(" "):
                        value = value[1:]
                    if name == "data":
                        data.append(value)
                        has_data = True
                    elif name == "event":
                        event = value
                    elif name == "id":
                        id_buf = value
            self.q.put(Closed("the server ended the stream"))
        except Exception as e:  # the connection closed under the reader (close()), or a read timeout
            self.q.put(Closed("%s: %s" % (type(e).__name__, e)))

    def next(self, timeout=15):
        """The next message (comments included); raises Closed when the stream ended, AssertionError
        when nothing came within `timeout` seconds."""
        try:
            m = self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no message from the stream within %ss" % timeout)
        if isinstance(m, Closed):
            raise m
        return m

    def events(self, n, timeout=30, stop_on=None):
        """The next `n` event messages (event "message"), skipping heartbeats and notices."""
        import time
        deadline = time.time() + timeout
        out = []
        while len(out) < n:
            left = deadline - time.time()
            assert left > 0, "got %d of %d events within %ss" % (len(out), n, timeout)
            m = self.next(timeout=left)
            if stop_on and m.event == stop_on:
                return out, m
            if m.event == "message":
                out.append(m)
        return out

    def close(self):
        # Shut the socket down first: closing it alone does not wake the reader thread blocked in recv
        # (Linux), and the server sees the end at once.
        try:
            self.response.raw._fp.fp.raw._sock.shutdown(socket.SHUT_RDWR)
        except (AttributeError, OSError):
            pass
        self.response.close()


def query_of(attrs=(), **params):
    """TailEvents' query parameters: [(key, value)] conditions as LookupAttributes.N, then the others."""
    items = []
    for i, (k, v) in enumerate(attrs):
        items.append(("LookupAttributes.%d.AttributeKey" % i, k))
        items.append(("LookupAttributes.%d.AttributeValue" % i, v))
    items += [(k, str(v)) for k, v in params.items() if v is not None]
    return urllib.parse.urlencode(items)


def as_sent(server, query):
    """The query string as requests will put it on the wire (the signature must cover exactly that)."""
    url = requests.Request("GET", server.url + "/?" + query).prepare().url
    return url.split("?", 1)[1] if "?" in url else ""


def open_tail(key, attrs=(), last_event_id=None, read_timeout=30, start=True, **params):
    """TailEvents as a TC3-signed GET. Returns a Stream (check .status and .headers for a refusal)."""
    query = as_sent(key.server, query_of(attrs, **params))
    extra = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        extra["Last-Event-ID"] = str(last_event_id)
    r = support.raw_call(key.server, key.secret_id, key.secret_key, "TailEvents", method="GET", query=query,
                         content_type="application/x-www-form-urlencoded", extra_headers=extra, timeout=(10, read_timeout), stream=True)
    if not r.headers.get("Content-Type", "").startswith("text/event-stream"):
        # an error envelope: read it whole
        r.content  # noqa: B018
    return Stream(r, start=start) if r.headers.get("Content-Type", "").startswith("text/event-stream") else r


def ready(stream, timeout=15):
    """The first message of a stream: `ready`, with the cursor it starts from."""
    m = stream.next(timeout=timeout)
    assert m.event == "ready", "a tail starts with its ready message: %r" % (m,)
    return int(m.id)
