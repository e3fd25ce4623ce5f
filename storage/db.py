"""Connections, transactions and migrations, on SQLite (embedded default) or PostgreSQL.

Writes go through `Database.write()`. On SQLite every write transaction starts with
BEGIN IMMEDIATE (it takes the single writer lock up front, so a read-then-write
transaction can never fail half-way with "database is locked"), writers inside one
process queue on an asyncio lock instead of spinning in SQLite's busy handler, and
writers in other processes wait on the busy timeout. On PostgreSQL, rows that must not
be changed concurrently are locked with SELECT ... FOR UPDATE by the repositories.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000

# Told of each commit: how many write transactions it carried, and the seconds it took.
CommitObserver = Callable[[int, float], None]


# deadlock_detected, serialization_failure
RETRYABLE_STATES = frozenset({"40P01", "40001"})


def _sqlstate(exc: DBAPIError) -> str | None:
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    cause = exc.orig.__cause__ if exc.orig is not None else None
    return state or getattr(cause, "sqlstate", None)


class WriteConflict(Exception):
    """A write collided with another (a row inserted twice at once); retrying may succeed."""


# How many times a write that PostgreSQL rolled back (deadlock, serialization) is run.
WRITE_TRIES = 3


class DatabaseUrlError(ValueError):
    """The database URL names an engine this service does not run on."""


def async_url(url: str) -> str:
    """Pick the async driver for a plain URL; an explicit `+asyncpg` or `+aiosqlite` is kept."""
    parsed = make_url(url)
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "asyncpg"):
            raise DatabaseUrlError("PostgreSQL URLs must use the asyncpg driver (or none)")
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    if backend == "sqlite":
        if driver not in ("", "aiosqlite"):
            raise DatabaseUrlError("SQLite URLs must use the aiosqlite driver (or none)")
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    raise DatabaseUrlError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
        pool_size=pool_size,
        max_overflow=0,
        hide_parameters=True,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the driver so BEGIN is ours to write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a reply is only sent after its message survives a power cut too.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted rows (an erased witness's) are overwritten, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)

    return engine


class Database:
    """The service's database: sessions for reading and writing, migrations, a health probe."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pg_options: dict[str, Any] | None = None,
        on_commit: CommitObserver | None = None,
    ):
        self.url = async_url(url)
        # Told of every commit: how many write transactions it carried, and how long it took.
        self._on_commit = on_commit
        self.is_sqlite = self.url.startswith("sqlite")
        self._write_lock = asyncio.Lock()
        if self.is_sqlite:
            database = make_url(self.url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(self.url, immediate=False, pool_size=5)
            self._write_engine = _sqlite_engine(self.url, immediate=True, pool_size=1)
        else:
            connect_args = {"server_settings": pg_options} if pg_options else {}
            self.engine = create_async_engine(
                self.url,
                echo=echo,
                pool_size=10,
                max_overflow=10,
                connect_args=connect_args,
                # Errors and logs never carry bound values, sealed or not.
                hide_parameters=True,
            )
            self._write_engine = self.engine
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer = async_sessionmaker(self._write_engine, expire_on_commit=False)

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        """Every engine this database opens: one on PostgreSQL, a reader and the writer on
        SQLite."""
        if self._write_engine is self.engine:
            return (self.engine,)
        return (self.engine, self._write_engine)

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @asynccontextmanager
    async def write(self, *, carrying: int = 1) -> AsyncIterator[AsyncSession]:
        """A transaction that commits when the block ends and rolls back if it raises.

        `carrying` is how many callers' work the transaction holds (a group commit's
        batch), for the commit observer.

        A unique or foreign key conflict (two processes inserting the same row at once),
        a deadlock or a serialization failure comes out as WriteConflict, so callers
        above storage never see the driver's.
        """
        try:
            if self.is_sqlite:
                async with (
                    self._write_lock,
                    self._writer() as session,
                    self._committed(session, carrying),
                ):
                    yield session
            else:
                async with self._writer() as session, self._committed(session, carrying):
                    yield session
        except IntegrityError as exc:
            raise WriteConflict(type(exc.orig).__name__) from exc
        except DBAPIError as exc:
            # PostgreSQL broke a deadlock or a serialization conflict by rolling this
            # transaction back: nothing of it was written, and trying again is safe.
            if _sqlstate(exc) in RETRYABLE_STATES:
                raise WriteConflict(_sqlstate(exc) or "conflict") from exc
            raise

    async def transact(
        self, work: Callable[[AsyncSession], Awaitable[T]], *, tries: int = WRITE_TRIES
    ) -> T:
        """Run `work` in a write transaction; run it again, in a new one, if PostgreSQL
        rolled it back to break a deadlock or a serialization conflict.

        `work` must do nothing outside the database that cannot be done twice. Only the
        last try's WriteConflict reaches the caller.
        """
        for attempt in range(1, tries + 1):
            try:
                async with self.write() as session:
                    return await work(session)
            except WriteConflict as conflict:
                if attempt == tries:
                    raise
                log.info("a write was rolled back (%s); running it again", conflict)
        raise ValueError("tries must be at least 1")

    @asynccontextmanager
    async def _committed(self, session: AsyncSession, carrying: int) -> AsyncIterator[None]:
        """One transaction on `session`, its commit timed for the observer."""
        async with session.begin():
            yield
            # Reached only when the block ended without raising: the commit follows.
            started = time.perf_counter()
        if self._on_commit is not None:
            self._on_commit(carrying, time.perf_counter() - started)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._reader() as session, session.begin():
            yield session

    async def ping(self) -> bool:
        try:
            async with self.read() as session:
                await session.execute(text("SELECT 1"))
        except Exception:  # any failure at all means "not healthy"
            return False
        return True

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        async with self._write_lock, self._write_engine.begin() as connection:
            await connection.run_sync(_upgrade_to_head)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._write_engine is not self.engine:
            await self._write_engine.dispose()


def alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("storage") / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade_to_head(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")
