"""The web app shell: health, and the lifecycle of the background workers.

Channel webhooks and the caseworker API are added to this app by their own modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from bot.workers import Worker
    from storage.db import Database

log = logging.getLogger(__name__)


def create_app(*, db: Database, workers: Sequence[Worker] = ()) -> FastAPI:
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

    async def healthz(_request: Request) -> JSONResponse:
        if await db.ping():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable"}, status_code=503)

    app = FastAPI(title="Witness intake", version="1", lifespan=lifespan)
    # Plain Starlette routes for the hot paths: FastAPI's per-request machinery is not free.
    app.router.routes.append(Route("/healthz", healthz, methods=["GET"]))
    return app
