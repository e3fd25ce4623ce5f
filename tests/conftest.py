"""Fixtures shared by every test: the internet guard, both databases, and a built service."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.settings import Settings
from storage.db import Database

if TYPE_CHECKING:
    from bot.app import Services

POSTGRES_URL = os.environ.get("INTAKE_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}  # noqa: S104 - a bind address


class InternetAccess(BaseException):
    """A test tried to reach a host that is not this machine; no test may need the internet."""


def _guarded(original: Any) -> Any:
    def connect(self: socket.socket, address: Any, *args: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if host not in LOCAL_HOSTS:
                raise InternetAccess(f"tests may not connect to {host!r}")
        return original(self, address, *args)

    return connect


@pytest.fixture(autouse=True, scope="session")
def no_internet() -> Iterator[None]:
    saved = socket.socket.connect, socket.socket.connect_ex
    socket.socket.connect = _guarded(saved[0])  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded(saved[1])  # type: ignore[method-assign]
    yield
    socket.socket.connect, socket.socket.connect_ex = saved  # type: ignore[method-assign]


def _require_postgres() -> str:
    if POSTGRES_URL:
        return POSTGRES_URL
    if IN_CI:
        pytest.fail("CI must run the PostgreSQL half: set INTAKE_TEST_POSTGRES_URL")
    pytest.skip("INTAKE_TEST_POSTGRES_URL is not set: PostgreSQL half skipped")


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(_require_postgres()))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def fresh_database_url(kind: str, tmp_path: Path) -> str:
    """A new, empty database of this kind; PostgreSQL ones are dropped by `drop_database`."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'intake.db'}"
    name = f"wi_test_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}"')
    return _asyncpg_dsn(_require_postgres(), name)


async def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        name = make_url(url).database
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if kind == "postgresql":
        _require_postgres()
    return kind


@pytest.fixture
async def database_url(db_kind: str, tmp_path: Path) -> AsyncIterator[str]:
    url = await fresh_database_url(db_kind, tmp_path)
    yield url
    await drop_database(url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.migrate()
    yield database
    await database.dispose()


def make_settings(data_dir: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings for a test, ignoring the developer's environment and .env file."""
    unset = dict.fromkeys(
        (
            "master_key",
            "public_url",
            "twilio_account_sid",
            "twilio_auth_token",
            "twilio_phone_number",
            "telegram_bot_token",
            "telegram_webhook_secret",
        )
    )
    values: dict[str, Any] = {
        **unset,
        "data_dir": data_dir,
        "database_url": database_url,
        # A test's messages follow each other in milliseconds: read each as its own
        # answer unless the test is about bursts (and then it controls the clock).
        "burst_seconds": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
async def services(tmp_path: Path, database_url: str) -> AsyncIterator[Services]:
    from bot.app import build_services

    built = build_services(make_settings(tmp_path / "data", database_url))
    await built.start()
    yield built
    await built.close()
