"""What the tests share: the client under test is the one in ../src (imported before any
installed copy), and a stand-in HTTP API on 127.0.0.1 whose requests are recorded and answered
by the test's own function, so a test can fail a call, answer out of order, or check a body.
Import it before ``tessera``."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

# (method, path, body bytes) -> (status, JSON value or raw text, extra headers)
Route = Callable[[str, str, bytes], tuple[int, Any, dict[str, str]]]


class StubApi:
    """Start with ``with StubApi(route) as api``; ``api.url`` is its base URL."""

    def __init__(self, route: Route, keep_alive: bool = False, drop_after: int = 0) -> None:
        """``keep_alive``: answer in HTTP/1.1 and keep connections open; ``drop_after``: close each
        connection silently after that many answers (as a server closing idle connections does)."""
        self.requests: list[tuple[str, str, bytes, dict[str, str]]] = []
        # The client's port of each request: one port, one connection.
        self.peers: list[int] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
            answered = 0

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with stub._lock:
                    stub.requests.append(
                        (self.command, self.path, body, {k.lower(): v for k, v in self.headers.items()})
                    )
                    stub.peers.append(self.client_address[1])
                status, value, headers = route(self.command, self.path, body)
                data = value.encode() if isinstance(value, str) else json.dumps(value).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, header in headers.items():
                    self.send_header(name, header)
                self.end_headers()
                self.wfile.write(data)
                self.answered += 1
                if drop_after and self.answered >= drop_after:
                    self.close_connection = True

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread: threading.Thread | None = None

    def __enter__(self) -> StubApi:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
