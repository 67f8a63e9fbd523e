"""An authenticating reverse proxy on 127.0.0.1, as production puts in front of `chroma run`.

Requests without `Authorization: Bearer <token>` get 401; the others are forwarded to the Chroma
server as they are (method, path, body, headers but the hop-by-hop ones and the token). Given an
`ssl.SSLContext` it serves https. Standard library only.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}


class ChromaProxy:
    """Forwards authorised requests to `upstream` (a `chroma run` URL); use it as a context manager."""

    def __init__(self, upstream: str, token: str, tls: ssl.SSLContext | None = None) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", target.port or 8000)
        self.token = token
        self.refused = 0
        self.forwarded = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"proxy": self}))
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        """Where clients connect."""
        return f"{self.scheme}://localhost:{self._server.server_address[1]}"

    def __enter__(self) -> ChromaProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    proxy: ChromaProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.headers.get("Authorization") != f"Bearer {self.proxy.token}":
            self.proxy.refused += 1
            self._reply(
                401, {"Content-Type": "application/json"}, json.dumps({"error": "Unauthorized"}).encode()
            )
            return
        headers = {
            name: value
            for name, value in self.headers.items()
            if name.lower() not in _HOP_BY_HOP and name.lower() != "authorization"
        }
        connection = http.client.HTTPConnection(*self.proxy.upstream, timeout=60)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            kept = {
                k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP | {"content-length"}
            }
            self.proxy.forwarded += 1
            self._reply(response.status, kept, data)
        finally:
            connection.close()

    def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward
