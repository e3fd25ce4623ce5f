"""A request id for every HTTP request: in the log lines written while handling it, and in
the `X-Request-ID` header of its answer, whatever the route and whatever the status.

An incoming X-Request-ID (from a proxy in front) is kept only if it is a short run of
letters, digits, `-` and `_`; anything else is replaced, so a client cannot put what it
likes into the logs.
"""

from __future__ import annotations

import re
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.logs import REQUEST_ID

HEADER = b"x-request-id"
ACCEPTED = re.compile(r"[A-Za-z0-9_-]{8,64}")


def new_request_id() -> str:
    """16 random hex characters."""
    return secrets.token_hex(8)


def request_id_for(scope: Scope) -> str:
    """The incoming id if it is safe to repeat, else a new one."""
    given = [value for name, value in scope.get("headers", []) if name == HEADER]
    if len(given) == 1:
        text = bytes(given[0]).decode("latin-1")
        if ACCEPTED.fullmatch(text):
            return text
    return new_request_id()


class RequestIds:
    """Give each request its id (in REQUEST_ID while it is handled) and answer with it."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        header = (HEADER, request_id.encode("latin-1"))
        started = False

        async def with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(n, v) for n, v in message.get("headers", []) if n.lower() != HEADER]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self._app(scope, receive, with_id)
        except Exception:
            # Starlette's last-resort 500 is written outside every middleware, where this
            # id cannot be added: answer the same way here, with it.
            if not started:
                await _server_error(with_id)
            raise
        finally:
            REQUEST_ID.reset(token)


async def _server_error(send: Send) -> None:
    body = b"Internal Server Error"
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-length", str(len(body)).encode()),
                (b"content-type", b"text/plain; charset=utf-8"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
