"""A loopback HTTP proxy that forwards a request to the real server and then loses the answer.

It stands between a client and a server on loopback (moto, for SES and SNS): every request is
forwarded, and the server does what it does (accepts the message); for the requests chosen by
`drop_answers(marker, count)` the proxy then closes the client's connection without a byte of
the answer, as a connection reset after sending does. The client cannot tell whether the
provider took the message: the ambiguous outcome the sender worker must handle.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

# Headers that describe one hop, not the request: the proxy's own connection sets them.
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"}


class AnswerDroppingProxy:
    """Forwards to `upstream`; `drop_answers(b"Action=Publish")` loses the next such answer."""

    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self.lock = threading.Lock()
        self.drops: dict[bytes, tuple[int, float]] = {}
        self.dropped = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, reason, headers, answer = proxy.forward(
                    self.command, self.path, dict(self.headers), body
                )
                hold = proxy.should_drop(body)
                if hold is not None:
                    # The server has the request; the client gets nothing (for `hold` seconds,
                    # past its read timeout if it is longer), then a closed socket.
                    time.sleep(hold)
                    self.close_connection = True
                    return
                self.send_response_only(status, reason)
                for name, value in headers:
                    if name.lower() not in _HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            sent = {name: value for name, value in headers.items() if name.lower() not in _HOP}
            sent["Host"] = f"{self.upstream[0]}:{self.upstream[1]}"
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            connection.close()

    def drop_answers(self, marker: bytes, count: int = 1, hold: float = 0.0) -> None:
        """Lose the answer to the next `count` requests whose body contains `marker`, after
        holding the connection open for `hold` seconds (0: a reset at once)."""
        with self.lock:
            self.drops[marker] = (count, hold)

    def should_drop(self, body: bytes) -> float | None:
        """How long to hold before closing, or None to answer."""
        with self.lock:
            for marker, (left, hold) in self.drops.items():
                if left and marker in body:
                    self.drops[marker] = (left - 1, hold)
                    self.dropped += 1
                    return hold
        return None

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def answer_dropping_proxy(moto_server: str) -> Iterator[AnswerDroppingProxy]:
    """A proxy in front of the session's moto server (import moto_server beside it)."""
    proxy = AnswerDroppingProxy(moto_server)
    try:
        yield proxy
    finally:
        proxy.stop()
