"""The web app: health, the channels' webhooks, and the lifecycle of the background workers.

Webhook routes are plain Starlette endpoints (FastAPI's per-request machinery costs half
the throughput of a bare route); the caseworker API uses FastAPI fully.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import BaseRoute, Route

from handlers.limits import BodyLimit

if TYPE_CHECKING:
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
) -> FastAPI:
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

    async def healthz(_request: Request) -> JSONResponse:
        if await db.ping():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable"}, status_code=503)

    async def livez(_request: Request) -> PlainTextResponse:
        """The process answers at all: no database, no work (also the benchmark's bare route)."""
        return PlainTextResponse("ok")

    app = FastAPI(title="Witness intake", version="1", lifespan=lifespan)
    app.router.routes.append(Route("/healthz", healthz, methods=["GET"]))
    app.router.routes.append(Route("/livez", livez, methods=["GET"]))
    app.router.routes.extend(routes)
    for add in extend:
        add(app)
    app.add_middleware(BodyLimit)
    return app
