"""Twilio's REST API as the bench's service sees it: every message accepted at once.

What the service owes through the outbox (a claim's notice to the witness, a staff
alert, a delete of Twilio's copy) goes here. Against a port that refuses connections,
each of those sends failed and was retried with backoff for the whole run, so the
figures measured the retries as much as the route. Here a send costs what a good
provider costs: one request, answered 201 (a delete 204), in this driver's process on
the driver's core, never the server's.
"""

from __future__ import annotations

import json
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class _Accepting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        sid = "SM" + secrets.token_hex(16)
        self._answer(HTTPStatus.CREATED, {"sid": sid, "status": "queued"})

    def do_DELETE(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._answer(HTTPStatus.NO_CONTENT, None)

    def _answer(self, status: HTTPStatus, body: dict[str, str] | None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        """Quiet: a line per send would be the bench's own noise."""


class AcceptingProvider:
    """The stub on a free local port while the block runs; `url` is its API base."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Accepting)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> AcceptingProvider:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
