"""The web app: health, the channels' webhooks, and the lifecycle of the background workers.

Webhook routes are plain Starlette endpoints (FastAPI's per-request machinery costs half
the throughput of a bare route); the caseworker API uses FastAPI fully. `WebServer` is
uvicorn with the limits a server facing the internet needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uvicorn
from fastapi import FastAPI
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.health import health_routes
from handlers.limits import BodyLimit, ReadDeadlines
from handlers.request_ids import RequestIds

if TYPE_CHECKING:
    from bot.readiness import Readiness
    from bot.workers import Worker
    from storage.db import Database

log = logging.getLogger(__name__)


def create_app(
    *,
    db: Database,
    workers: Sequence[Worker] = (),
    routes: Sequence[BaseRoute] = (),
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
    extend: Sequence[Callable[[FastAPI], None]] = (),
    api_docs: bool = False,
    readiness: Readiness | None = None,
) -> FastAPI:
    """The app; the browsable API docs (/docs, /redoc) only when `api_docs` (the schema at
    /openapi.json is part of the interface and always served), /readyz when `readiness`."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(w.run(), name=w.name) for w in workers]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for close in on_shutdown:
                await close()

    app = FastAPI(
        title="Witness intake",
        version="1",
        lifespan=lifespan,
        docs_url="/docs" if api_docs else None,
        redoc_url="/redoc" if api_docs else None,
        # Metrics are Prometheus's (GET /metrics), logs our own. FastAPI's OpenTelemetry
        # would otherwise look for a provider on every request, and a deployment that
        # installed one would get request spans nobody reviewed for what they carry.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.router.routes.extend(health_routes(db=db, readiness=readiness))
    app.router.routes.extend(routes)
    for add in extend:
        add(app)
    app.add_middleware(NoStore)
    app.add_middleware(BodyLimit)
    # Outermost, so every answer carries the id, the body limit's 413 too.
    app.add_middleware(RequestIds)
    return app


# Paths whose answers are JSON for programs: never kept by a browser or a proxy.
JSON_PATHS = ("/api/", "/openapi.json", "/healthz", "/readyz")


class NoStore:
    """Cache-Control: no-store on every answer of the JSON API, errors and empty ones too."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(JSON_PATHS):
            await self._app(scope, receive, send)
            return

        async def no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, no_store)


# The largest request head (request line and headers) a client may send.
MAX_HEAD_BYTES = 16 * 1024


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a client may take and how many may be served at once."""

    # A whole request, head and body, must arrive within this long of the connection
    # opening or of the previous response.
    read_seconds: float = 10.0
    # An idle keep-alive connection is closed after this long.
    keep_alive_seconds: int = 5
    # Past this many connections (or requests in flight), new requests get 503.
    max_connections: int = 500


class WebServer:
    """uvicorn serving the app, with read deadlines, keep-alive and concurrency limits."""

    def __init__(
        self,
        app: FastAPI,
        *,
        limits: ConnectionLimits,
        clock: Callable[[], float] = time.monotonic,
        **options: Any,
    ) -> None:
        self.deadlines = ReadDeadlines(seconds=limits.read_seconds, clock=clock)
        self.config = uvicorn.Config(
            app,
            http=self.deadlines.protocol(),
            timeout_keep_alive=limits.keep_alive_seconds,
            limit_concurrency=limits.max_connections,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            # Access logs would carry client addresses and paths: ours log aliases instead.
            access_log=False,
            server_header=False,
            log_config=None,
            **options,
        )
        self.server = uvicorn.Server(self.config)

    @property
    def started(self) -> bool:
        return bool(self.server.started)

    def stop(self) -> None:
        self.server.should_exit = True

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        sweeper = asyncio.create_task(self.deadlines.run(), name="read-deadlines")
        try:
            await self.server.serve(sockets=sockets)
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
