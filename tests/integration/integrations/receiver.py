"""A real HTTP server on loopback that records what it receives and answers with scripted statuses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec

__all__ = ("Received", "Receiver", "receiver")


class Received(msgspec.Struct, frozen=True):
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


class Receiver:
    """Answers each request with the next scripted status (200 once the script runs out)."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]

    @property
    def url(self) -> str:
        """The URL to register as a webhook endpoint."""
        return f"http://127.0.0.1:{self.port}/hooks/cloudstore"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with outer._lock:
                    status = outer.script.pop(0) if outer.script else 200
                    outer.received.append(
                        Received(
                            path=self.path,
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=body,
                            answered=status,
                        )
                    )
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        return Handler


@contextmanager
def receiver() -> Iterator[Receiver]:
    """Run a receiver for the duration of the block."""
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()
