"""Probes for whoever runs the service: alive, healthy (v1), ready to take witnesses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from bot.readiness import Readiness
    from storage.db import Database


def health_routes(*, db: Database, readiness: Readiness | None) -> list[Route]:
    """/livez, /healthz, and /readyz when there is a `readiness` to ask."""

    async def healthz(_request: Request) -> JSONResponse:
        if await db.ping():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable"}, status_code=503)

    async def livez(_request: Request) -> PlainTextResponse:
        """The process answers at all: no database, no work (also the benchmark's bare route)."""
        return PlainTextResponse("ok")

    routes = [Route("/healthz", healthz, methods=["GET"]), Route("/livez", livez, methods=["GET"])]
    if readiness is not None:

        async def readyz(_request: Request) -> JSONResponse:
            checks = await readiness.checks()
            ready = all(result == "ok" for result in checks.values())
            return JSONResponse(
                {"status": "ready" if ready else "not ready", "checks": checks},
                status_code=200 if ready else 503,
            )

        routes.append(Route("/readyz", readyz, methods=["GET"]))
    return routes
