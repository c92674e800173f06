"""A scripted HTTP server on 127.0.0.1 (a real socket server in a thread) for tests and benchmarks.

Usage::

    with ScriptedServer() as server:
        server.script([
            Reply.error(429, headers={"Retry-After": "0"}),
            Reply.json(wire.openai_chat(content='{"name": "Jason", "age": 25}')),
        ])
        provider = create_provider("openai", base_url=server.openai_url, api_key="sk-test")
        ...
        assert server.requests[1].json["messages"][0]["role"] == "system"

Each request consumes the next scripted :class:`Reply` in order (any path, any method); when the
script is exhausted the ``default`` reply is used, or a 599 error naming the request number (so a
test that sends more requests than it scripted fails loudly). Every request is recorded
(:attr:`ScriptedServer.requests`: method, path, lower-cased headers, body, parsed JSON).

Replies can stream SSE in tiny writes (``chunk_sizes=(1, 7)``: each write 1 to 7 bytes, chosen by a
seeded RNG, each sent as its own HTTP chunk and flushed, so splits land inside JSON escapes,
``\\u`` sequences and multi-byte UTF-8; httpx-based clients, the openai SDK included, receive
exactly these pieces because h11 yields HTTP chunk by chunk), wait before answering (``delay``, for timeouts), pause
between writes (``pause``), and close the socket after ``cut_after`` body bytes (a stream cut
mid-way). Run ``python -m tests.support.servers.serve --reply FILE.json`` to serve one canned reply
forever from a separate process (benchmarks); it prints ``PORT <n>`` when ready.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SSEItem = Mapping[str, Any] | str | tuple[str, Mapping[str, Any]]
"""An SSE event: a dict (``data: <json>``), a raw data string (``"[DONE]"``), or
``(event_name, dict)`` (Anthropic's ``event: ...`` lines)."""


def encode_sse(events: Iterable[SSEItem]) -> bytes:
    out: list[str] = []
    for item in events:
        if isinstance(item, tuple):
            name, data = item
            out.append(f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n")
        elif isinstance(item, str):
            out.append(f"data: {item}\n\n")
        else:
            out.append(f"data: {json.dumps(item, ensure_ascii=False)}\n\n")
    return "".join(out).encode("utf-8")


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build with :meth:`json`, :meth:`sse`, :meth:`error` or :meth:`raw`."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    chunked: bool = False
    chunk_sizes: tuple[int, int] | None = None
    pause: float = 0.0
    delay: float = 0.0
    cut_after: int | None = None
    seed: int = 0
    reset: bool = False
    as_is: bool = False
    """Sent exactly as scripted, even to a streaming request (see :meth:`answering`)."""

    @classmethod
    def connection_reset(cls) -> Reply:
        """Reset the connection (TCP RST) instead of answering."""
        return cls(reset=True)

    @classmethod
    def json(
        cls,
        obj: Any,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        cut_after: int | None = None,
    ) -> Reply:
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        return cls(status, body, dict(headers or {}), delay=delay, cut_after=cut_after)

    @classmethod
    def sse(
        cls,
        events: Iterable[SSEItem],
        *,
        chunk_sizes: tuple[int, int] | None = (1, 7),
        pause: float = 0.0,
        delay: float = 0.0,
        cut_after: int | None = None,
        seed: int = 0,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        return cls(
            200,
            encode_sse(events),
            dict(headers or {}),
            content_type="text/event-stream",
            chunked=True,
            chunk_sizes=chunk_sizes,
            pause=pause,
            delay=delay,
            cut_after=cut_after,
            seed=seed,
        )

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "scripted error",
        *,
        kind: str = "error",
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> Reply:
        body = {"error": {"message": message, "type": kind}}
        return cls.json(body, status=status, headers=headers, delay=delay)

    @classmethod
    def raw(
        cls, body: bytes | str, *, status: int = 200, content_type: str = "text/plain"
    ) -> Reply:
        data = body.encode("utf-8") if isinstance(body, str) else body
        return cls(status, data, {}, content_type=content_type, as_is=True)

    def answering(self, request: RecordedRequest) -> Reply:
        """What a real server sends for this reply to ``request``: a JSON chat completion (or
        Anthropic message) asked for with ``"stream": true`` is streamed as the same answer's
        SSE events (``cut_after`` and ``delay`` kept; a cut lands at the same fraction of the
        stream). Error bodies, raw replies and ``as_is`` replies are sent as scripted."""
        if self.as_is or self.status != 200 or self.chunked or self.content_type != "application/json":
            return self
        try:
            asked = request.json
            body = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return self
        if not (isinstance(asked, dict) and asked.get("stream")):
            return self
        from tests.support.servers.wire import stream_of

        events = stream_of(body)
        if events is None:
            return self
        streamed = Reply.sse(events, chunk_sizes=None, delay=self.delay, headers=self.headers)
        if self.cut_after is None:
            return streamed
        cut = len(streamed.body) * self.cut_after // max(len(self.body), 1)
        return Reply.sse(events, chunk_sizes=None, delay=self.delay, headers=self.headers, cut_after=cut)

    def pieces(self) -> list[bytes]:
        """The body split into the writes this reply makes."""
        if self.chunk_sizes is None:
            return [self.body] if self.body else []
        low, high = self.chunk_sizes
        rng = random.Random(self.seed)
        out: list[bytes] = []
        at = 0
        while at < len(self.body):
            size = rng.randint(low, high)
            out.append(self.body[at : at + size])
            at += size
        return out


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
            self.close_connection = True

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # the socket may be reset or cut already
            super().finish()

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = RecordedRequest(self.command, self.path, headers, body)
        reply = self.server.owner._record_and_pop(request)
        reply = reply.answering(request)
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    def _send(self, reply: Reply) -> None:
        if reply.reset:
            self.close_connection = True
            linger = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                self.connection.close()
            return
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        self.send_header("content-type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.chunked:
            self.send_header("transfer-encoding", "chunked")
            self.send_header("cache-control", "no-cache")
        else:
            self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        self.wfile.flush()
        sent = 0
        try:
            for piece in reply.pieces():
                if reply.cut_after is not None and sent + len(piece) > reply.cut_after:
                    piece = piece[: reply.cut_after - sent]
                    self._write(piece, reply.chunked)
                    self._cut()
                    return
                self._write(piece, reply.chunked)
                sent += len(piece)
                if reply.pause:
                    time.sleep(reply.pause)
            if reply.chunked:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client closed the stream
            self.close_connection = True
        finally:
            self.server.owner.record_sent(sent, len(reply.body))

    def _write(self, piece: bytes, chunked: bool) -> None:
        if not piece:
            return
        if chunked:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        else:
            self.wfile.write(piece)
        self.wfile.flush()

    def _cut(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: ScriptedServer

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()


class ScriptedServer:
    """A loopback HTTP server answering from a script. Use as a context manager or call
    :meth:`start` / :meth:`stop`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._default: Reply | None = None
        self._responder: Callable[[RecordedRequest], Reply] | None = None
        self._requests: list[RecordedRequest] = []
        self._sent: list[tuple[int, int]] = []
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL without a path, e.g. ``http://127.0.0.1:54321`` (Anthropic base URL)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        """``url + "/v1"`` (the base URL an OpenAI client wants)."""
        return self.url + "/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def script(self, replies: Sequence[Reply], *, default: Reply | None = None) -> ScriptedServer:
        """Replace the pending script (and the reply used once it runs out)."""
        with self._lock:
            self._queue = deque(replies)
            self._default = default
        return self

    def respond_with(self, responder: Callable[[RecordedRequest], Reply] | None) -> ScriptedServer:
        """Answer every request with ``responder(request)`` (called on the server's handler
        threads, so it must be thread-safe) instead of the script; ``None`` goes back to it."""
        with self._lock:
            self._responder = responder
        return self

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def sent(self) -> list[tuple[int, int]]:
        """Per reply: (body bytes written before the client closed or the end, body size)."""
        with self._lock:
            return list(self._sent)

    def wait_sent(self, count: int, timeout: float = 10.0) -> list[tuple[int, int]]:
        """``sent`` once ``count`` replies are recorded (the handler records a reply after its
        last byte, so a client that has read everything can be a moment ahead), or at timeout."""
        deadline = time.monotonic() + timeout
        while len(self.sent) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.sent

    def record_sent(self, sent: int, size: int) -> None:
        with self._lock:
            self._sent.append((sent, size))

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _record_and_pop(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            responder = self._responder
        if responder is not None:
            return responder(request)
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            if self._default is not None:
                return self._default
            number = len(self._requests)
        return Reply.error(599, f"scripted server: no reply scripted for request #{number}")

    def start(self) -> ScriptedServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
