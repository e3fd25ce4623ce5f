"""/readyz: ready only while the database answers, its schema is current, the master keys
match it and the outbox worker keeps passing; each failure named, on both databases.

The real app is driven over HTTP (httpx's ASGI transport); its workers run only inside
the app's own lifespan, and time is the service's clock, moved by hand.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from sqlalchemy import text, update

from bot.app import Services, build_services, build_web_app
from bot.readiness import OUTBOX_WITHIN
from storage.db import alembic_config
from storage.keyring import KeySource
from storage.models import MasterKeyCheck
from tests.clock import ManualClock
from tests.conftest import make_settings
from tests.live import eventually

ALL_OK = {"database": "ok", "migrations": "ok", "master_key": "ok", "outbox": "ok"}


@dataclass
class Probe:
    services: Services
    app: FastAPI
    client: httpx.AsyncClient
    clock: ManualClock

    async def ready(self) -> tuple[int, dict[str, Any]]:
        answer = await self.client.get("/readyz")
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-request-id"]
        return answer.status_code, answer.json()

    async def failing(self) -> dict[str, str]:
        """The checks that are not "ok", once /readyz says 503."""
        status, body = await self.ready()
        assert (status, body["status"]) == (503, "not ready"), body
        return {name: result for name, result in body["checks"].items() if result != "ok"}

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The app's lifespan (its workers run), until /readyz first says ready."""
        async with self.app.router.lifespan_context(self.app):
            await eventually(self._is_ready, what="/readyz to say ready")
            yield

    async def _is_ready(self) -> bool:
        return (await self.ready())[0] == 200

    async def execute(self, sql: Any) -> None:
        async with self.services.db.write() as session:
            await session.execute(sql)


@asynccontextmanager
async def probe(tmp_path: Path, database_url: str) -> AsyncIterator[Probe]:
    clock = ManualClock()
    services = build_services(make_settings(tmp_path / "data", database_url), clock=clock)
    await services.start()
    app = build_web_app(services)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake.test"
        ) as client:
            yield Probe(services=services, app=app, client=client, clock=clock)
    finally:
        await services.close()


async def test_ready_only_while_the_outbox_worker_keeps_passing(
    tmp_path: Path, database_url: str
) -> None:
    async with probe(tmp_path, database_url) as service:
        # Started and migrated, but no worker has run yet.
        assert await service.failing() == {"outbox": "not run"}
        async with service.running():
            status, body = await service.ready()
            assert (status, body) == (200, {"status": "ready", "checks": ALL_OK})
        # The workers have stopped: the last pass ages by the service's clock alone.
        service.clock.advance(OUTBOX_WITHIN.total_seconds())
        assert (await service.ready())[0] == 200
        service.clock.advance(1)
        assert await service.failing() == {"outbox": "stale"}
        # /healthz keeps its v1 meaning: the database answers.
        health = await service.client.get("/healthz")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    ("recorded", "label"),
    [("previous", "behind"), ("ffffffffffff", "unknown revision"), (None, "not migrated")],
)
async def test_not_ready_unless_the_schema_is_the_newest(
    tmp_path: Path, database_url: str, recorded: str | None, label: str
) -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    [head] = scripts.get_heads()
    if recorded == "previous":
        previous = scripts.get_revision(head)
        assert previous is not None and isinstance(previous.down_revision, str)
        recorded = previous.down_revision
    async with probe(tmp_path, database_url) as service, service.running():
        if recorded is None:
            await service.execute(text("DELETE FROM alembic_version"))
        else:
            await service.execute(
                text("UPDATE alembic_version SET version_num = :v").bindparams(v=recorded)
            )
        assert await service.failing() == {"migrations": label}
        health = await service.client.get("/healthz")
        assert health.status_code == 200

        await service.execute(text("DELETE FROM alembic_version"))
        await service.execute(
            text("INSERT INTO alembic_version (version_num) VALUES (:v)").bindparams(v=head)
        )
        assert await service.ready() == (200, {"status": "ready", "checks": ALL_OK})


async def test_not_ready_when_the_stored_check_value_is_not_the_keys(
    tmp_path: Path, database_url: str
) -> None:
    async with probe(tmp_path, database_url) as service, service.running():
        await service.execute(
            update(MasterKeyCheck).where(MasterKeyCheck.version == 1).values(check_value=b"\0" * 32)
        )
        assert await service.failing() == {"master_key": "mismatch"}


async def test_not_ready_when_the_database_records_a_key_version_it_lacks(
    tmp_path: Path, database_url: str
) -> None:
    async with probe(tmp_path, database_url) as service, service.running():
        # Another process rotated to a version this one was never given.
        async with service.services.db.write() as session:
            session.add(MasterKeyCheck(version=2, check_value=b"\1" * 32))
        assert await service.failing() == {"master_key": "mismatch"}


async def test_not_ready_when_the_key_file_is_swapped_under_the_service(
    tmp_path: Path, database_url: str
) -> None:
    async with probe(tmp_path, database_url) as service, service.running():
        key_file = service.services.settings.key_file
        stranger = tmp_path / "elsewhere" / "master.keys"
        KeySource(env_value=None, key_file=stranger, create_missing=True)
        before = key_file.stat().st_mtime
        os.replace(stranger, key_file)
        os.utime(key_file, (before + 10, before + 10))
        assert await service.failing() == {"master_key": "mismatch"}
        # Nothing about the keys is in the answer.
        body = (await service.client.get("/readyz")).text
        assert "master.keys" not in body and str(tmp_path) not in body


async def test_not_ready_when_the_database_does_not_answer(tmp_path: Path) -> None:
    # A PostgreSQL address where nothing listens: the service was never able to start.
    services = build_services(
        make_settings(tmp_path / "data", "postgresql://intake@127.0.0.1:9/intake")
    )
    app = build_web_app(services)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake.test"
        ) as client:
            ready = await client.get("/readyz")
            health = await client.get("/healthz")
    finally:
        await services.close()
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "not ready",
        "checks": {
            "database": "unreachable",
            "migrations": "unchecked",
            "master_key": "unchecked",
            "outbox": "not run",
        },
    }
    assert (health.status_code, health.json()) == (503, {"status": "unavailable"})
