"""In-process emulator of an OpenAI-compatible chat-completions server (127.0.0.1 only, stdlib only).

Usage::

    with OpenAIEmulator() as emu:
        emu.script(Reply("Paris [1]."), Reply(status=429, error="slow down"))
        llm = ChatOpenAI(base_url=emu.base_url, api_key="test-key", model="test-model", max_retries=0)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

JSON = dict[str, Any]
Responder = Callable[[JSON], "Reply | str"]
MODEL = "test-model"
CHUNK_SIZE = 8
DISCONNECTED = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error"}
ERROR_TYPES |= {404: "not_found_error", 429: "rate_limit_error"}


@dataclass
class Reply:
    """One scripted answer: text (optionally pre-chunked), delays, or an HTTP error."""

    text: str = ""
    chunks: list[str] | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    status: int = 200
    error: str | None = None

    def pieces(self) -> list[str]:
        """The stream pieces: ``chunks`` if given, else ``text`` cut every CHUNK_SIZE characters."""
        if self.chunks is not None:
            return list(self.chunks)
        return [self.text[i : i + CHUNK_SIZE] for i in range(0, len(self.text), CHUNK_SIZE)]


def error_body(message: str, status: int, code: str | None = None) -> JSON:
    """An OpenAI-style error body."""
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def usage(body: JSON, answer: str) -> JSON:
    """Token usage with a crude count (whitespace-separated words of messages and answer)."""
    parts: list[str] = []
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        parts.append(str(content or ""))
    prompt, completion = len(" ".join(parts).split()), len(answer.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion(body: JSON, reply: Reply, ident: str) -> JSON:
    """A non-streamed ``chat.completion`` object."""
    text = "".join(reply.pieces())
    message = {"role": "assistant", "content": text, "refusal": None}
    return {
        "id": ident,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model") or MODEL,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": usage(body, text),
        "system_fingerprint": None,
    }


def stream_events(body: JSON, reply: Reply, ident: str) -> list[str]:
    """The SSE ``data:`` payloads of a streamed reply, as OpenAI sends them, ending with ``[DONE]``."""
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    head: JSON = {"id": ident, "object": "chat.completion.chunk", "created": int(time.time())}
    head |= {"model": body.get("model") or MODEL, "system_fingerprint": None}
    if include_usage:
        head["usage"] = None

    def chunk(delta: JSON, finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return json.dumps({**head, "choices": [choice]})

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events += [chunk({"content": piece}) for piece in reply.pieces()]
    events.append(chunk({}, "stop"))
    if include_usage:
        events.append(json.dumps({**head, "choices": [], "usage": usage(body, "".join(reply.pieces()))}))
    return [*events, "[DONE]"]


class _Handler(BaseHTTPRequestHandler):
    """Serves /v1/models and /v1/chat/completions for the emulator owning the server."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def setup(self) -> None:
        """Register the connection so stop() can close it."""
        super().setup()
        with self.server.emulator._lock:
            self.server.emulator._connections.add(self.connection)

    def handle(self) -> None:
        """Serve the connection; a client that went away (e.g. mid-stream) just ends it."""
        with contextlib.suppress(*DISCONNECTED):
            super().handle()

    def finish(self) -> None:
        """Unregister the connection; a vanished client is not an error."""
        with self.server.emulator._lock:
            self.server.emulator._connections.discard(self.connection)
        with contextlib.suppress(*DISCONNECTED):
            super().finish()

    def do_GET(self) -> None:
        """List the single emulated model."""
        if self.path.rstrip("/") != "/v1/models":
            self._send_json(404, error_body(f"Unknown path {self.path}", 404, "unknown_url"))
            return
        model = {"id": MODEL, "object": "model", "created": 0, "owned_by": "emulator"}
        self._send_json(200, {"object": "list", "data": [model]})

    def do_POST(self) -> None:
        """Answer a chat completion with the next scripted reply."""
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, error_body(f"Unknown path {self.path}", 404, "unknown_url"))
            return
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            self._send_json(400, error_body(f"Invalid JSON body: {exc}", 400))
            return
        emulator = self.server.emulator
        reply = emulator._next_reply(body)
        if reply.delay and emulator._stopping.wait(reply.delay):
            return
        ident = f"chatcmpl-emu{next(emulator._ids)}"
        if reply.status >= 400 or reply.error is not None:
            status = reply.status if reply.status >= 400 else 500
            self._send_json(status, error_body(reply.error or f"HTTP {status}", status))
        elif body.get("stream"):
            self._stream(stream_events(body, reply, ident), reply.chunk_delay)
        else:
            self._send_json(200, completion(body, reply, ident))

    def _headers(self, status: int, headers: dict[str, str]) -> None:
        """Send the status line and headers, with an OpenAI-like request id."""
        self.send_response(status)
        for name, value in {**headers, "x-request-id": f"req_{next(self.server.emulator._ids)}"}.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_json(self, status: int, payload: JSON) -> None:
        """Send a complete JSON response."""
        data = json.dumps(payload).encode()
        self._headers(status, {"Content-Type": "application/json", "Content-Length": str(len(data))})
        self.wfile.write(data)

    def _stream(self, events: list[str], chunk_delay: float) -> None:
        """Send server-sent events with chunked transfer encoding, pausing ``chunk_delay`` between them."""
        sse = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
        self._headers(200, {**sse, "Transfer-Encoding": "chunked"})
        for index, event in enumerate(events):
            if index and chunk_delay and self.server.emulator._stopping.wait(chunk_delay):
                self.close_connection = True
                return
            data = f"data: {event}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its emulator."""

    daemon_threads = True
    emulator: OpenAIEmulator


class OpenAIEmulator:
    """An OpenAI-compatible chat-completions server on 127.0.0.1 with scripted replies."""

    def __init__(self) -> None:
        """Create a stopped emulator; call start() or use it as a context manager."""
        self._lock = threading.Condition()
        self._queue: deque[Reply] = deque()
        self._responder: Responder | None = None
        self._requests: list[JSON] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (only while running)."""
        if self._server is None:
            raise RuntimeError("OpenAIEmulator is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The URL to pass as ``base_url`` to OpenAI clients."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[JSON]:
        """A snapshot of the chat-completion request bodies received so far, in order."""
        with self._lock:
            return list(self._requests)

    def start(self) -> OpenAIEmulator:
        """Bind and serve in a daemon thread."""
        self._stopping.clear()
        self._server = server = _Server(("127.0.0.1", 0), _Handler)  # ephemeral port
        server.emulator = self
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake delayed handlers and close open connections."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> OpenAIEmulator:
        """Start on entering the block."""
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop on leaving the block."""
        self.stop()

    def script(self, *replies: Reply | str) -> None:
        """Queue replies, consumed one per chat-completion request in order (a str means Reply(text))."""
        with self._lock:
            self._queue.extend(Reply(r) if isinstance(r, str) else r for r in replies)

    def respond_with(self, responder: Responder | None) -> None:
        """Answer with ``responder(request_json)`` whenever the scripted queue is empty (None unsets)."""
        with self._lock:
            self._responder = responder

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[JSON]:
        """Block until at least ``n`` chat requests arrived and return them; raise TimeoutError if not."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._requests) >= n, timeout):
                raise TimeoutError(f"OpenAIEmulator got {len(self._requests)} chat requests, expected {n}")
            return list(self._requests)

    def _next_reply(self, body: JSON) -> Reply:
        """Record the request and pick its reply: queue first, then responder, else a 500."""
        with self._lock:
            self._requests.append(body)
            self._lock.notify_all()
            if self._queue:
                return self._queue.popleft()
            responder = self._responder
        if responder is None:
            return Reply(status=500, error="OpenAIEmulator: no scripted reply left and no responder set")
        try:
            reply = responder(body)
        except Exception as exc:  # surface a broken responder to the client instead of dropping it
            return Reply(status=500, error=f"OpenAIEmulator: responder raised {exc!r}")
        return Reply(reply) if isinstance(reply, str) else reply
