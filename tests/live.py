"""The real service on a real socket, for tests that drive it over HTTP like Twilio would."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import text

from bot.app import CHANNELS, Services, build_services, build_web_app
from bot.channels import ChannelPlugin
from storage import outbox
from storage.db import Database
from storage.models import utcnow
from tests.conftest import make_settings


@dataclass
class LiveService:
    base_url: str
    services: Services

    def url(self, path: str) -> str:
        return self.base_url + path


@asynccontextmanager
async def running_service(
    *,
    data_dir: Path,
    database_url: str,
    clock: Callable[[], datetime] | None = None,
    plugins: tuple[ChannelPlugin, ...] = CHANNELS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    **settings: Any,
) -> AsyncIterator[LiveService]:
    """Serve the whole app (webhooks and workers) on 127.0.0.1 until the block ends.

    The socket is bound first, so INTAKE_PUBLIC_URL can name the real port; pass
    public_url=True to have it filled in.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    if settings.get("public_url") is True:
        settings["public_url"] = base_url
    built = make_settings(data_dir, database_url, **settings)
    services = build_services(built, clock=clock or utcnow, sleep=sleep, plugins=plugins)
    try:
        await services.start()
        app = build_web_app(services)
    except BaseException:
        sock.close()
        await services.close()
        raise
    # As `serve` runs it: the service, not uvicorn, decides whom X-Forwarded-For is from.
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", proxy_headers=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield LiveService(base_url=base_url, services=services)
    finally:
        server.should_exit = True
        await task
        sock.close()
        await services.close()


async def eventually(check: Callable[[], Any], *, within: float = 20.0, what: str = "") -> Any:
    """Wait for background work (the outbox, polling) to make `check` true, up to a deadline."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or 'background work'}")
        await asyncio.sleep(0.02)


async def finish_outbox(live: LiveService) -> None:
    """Let the service's own outbox finish whatever is due by the service's clock.

    With a test's clock, nothing falls due by waiting: the test moves the clock, then
    calls this, and every retry or delayed delete due by then is done when it returns.
    """
    services = live.services
    services.doorbell.ring()

    async def settled() -> bool:
        async with services.db.read() as session:
            return await outbox.busy(session, now=services.clock()) == 0

    await eventually(settled, what="the outbox to finish what is due")


async def waiting_on_a_lock(db: Database) -> bool:
    """Whether some session of this PostgreSQL database waits for a lock right now."""
    async with db.read() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)
