"""Request size and pace limits, enforced before any endpoint reads a body.

Size: a body over 64 KiB gets 413 on every route, whether it declares its length or
comes chunked. A chunked body is read (up to the limit) before the app sees it, so a
route that never reads its body cannot let one through, and FastAPI cannot turn the
refusal into its own 400.

Pace: uvicorn closes idle keep-alive connections, but waits for ever on a client that
opens a connection and sends its request a byte at a time. `ReadDeadlines` gives every
request a deadline, counted from the connection opening (or the previous response): the
whole request, head and body, must be in by then, however busy the client keeps the
line, or the connection is closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
# A refused body up to this size is read and discarded so the client sees the 413 rather
# than a reset connection; anything bigger is cut off.
DRAIN_BYTES = 4 * 1024 * 1024
# How often overdue connections are looked for.
SWEEP_SECONDS = 1.0


class BodyLimit:
    """Refuse bodies over the limit with 413; note a client gone mid-request at debug level."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self._app = app
        self._max = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if _header(scope, b"transfer-encoding") is not None:
            body = await self._read_chunked(receive, send)
            if body is None:
                return
            receive = _replay(body, receive)
        else:
            # h11 holds a body to its Content-Length, so the header alone decides.
            declared = _content_length(scope)
            if declared is not None and declared > self._max:
                # A client that waits for "100 Continue" never sends the body it announced.
                if _header(scope, b"expect") is None:
                    await _drain(receive, already=0)
                await _too_large(send)
                return
        try:
            await self._app(scope, receive, send)
        except ClientDisconnect:
            # An everyday event on phones and flaky links, not a fault of ours.
            log.debug("client went away before sending its whole request (%s)", scope["path"])

    async def _read_chunked(self, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None once it was refused (413) or the client went away."""
        parts: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                log.debug("client went away before sending its whole request")
                return None
            chunk = message.get("body", b"")
            seen += len(chunk)
            more = bool(message.get("more_body", False))
            if seen > self._max:
                # Once the last chunk is in there is nothing left to drain: waiting for
                # more would wait for a disconnect the client never sends.
                if more:
                    await _drain(receive, already=seen)
                await _too_large(send)
                return None
            parts.append(chunk)
            if not more:
                return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands over the body already read, then whatever comes next."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replayed


async def _drain(receive: Receive, *, already: int) -> None:
    seen = already
    while seen <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return bytes(value)
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


async def _too_large(send: Send) -> None:
    body = b'{"detail":"request body too large"}'
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ReadDeadlines:
    """Closes connections that take longer than `seconds` to send a whole request.

    A deadline is set when a connection opens and again when a response has gone out
    (the connection then waits for its next request); it is lifted once the request is
    fully in. Slow sending does not move it. `sweep` closes whatever is overdue by
    `clock` (tests pass their own); `run` sweeps every second while the server runs.
    """

    def __init__(self, *, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._due: dict[asyncio.Protocol, tuple[float, asyncio.BaseTransport]] = {}

    def __len__(self) -> int:
        """How many connections are waiting for (the rest of) a request."""
        return len(self._due)

    def protocol(self) -> type[asyncio.Protocol]:
        """uvicorn's HTTP/1.1 protocol (h11), reporting to these deadlines."""
        return _deadline_protocol(self)

    def expect(self, connection: asyncio.Protocol, transport: asyncio.BaseTransport) -> None:
        self._due[connection] = (self._clock() + self._seconds, transport)

    def received(self, connection: asyncio.Protocol) -> None:
        self._due.pop(connection, None)

    def sweep(self) -> int:
        """Close every connection past its deadline; returns how many."""
        now = self._clock()
        late = [connection for connection, (due, _) in self._due.items() if due <= now]
        for connection in late:
            _, transport = self._due.pop(connection)
            transport.close()
        if late:
            log.debug("closed %d connections that were too slow to send a request", len(late))
        return len(late)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            self.sweep()


def _deadline_protocol(deadlines: ReadDeadlines) -> type[asyncio.Protocol]:
    class DeadlineProtocol(H11Protocol):
        """h11's protocol, telling `deadlines` when a request is awaited and when it is in."""

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            deadlines.expect(self, transport)

        def connection_lost(self, exc: Exception | None) -> None:
            deadlines.received(self)
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            cycle = self.cycle
            if cycle is not None and not cycle.more_body and not cycle.response_complete:
                deadlines.received(self)

        def on_response_complete(self) -> None:
            # Before uvicorn moves on: a pipelined request it starts on may already be in.
            if not self.transport.is_closing():
                deadlines.expect(self, self.transport)
            super().on_response_complete()

    return DeadlineProtocol
