"""The database layer on both engines: URLs, migrations, and writers that never collide."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import WRITE_TRIES, Database, DatabaseUrlError, WriteConflict, async_url
from storage.models import AuditEvent, Base, Caseworker


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u@h:5432/d", "postgresql+asyncpg://u@h:5432/d"),
        ("postgres://u:p@h/d", "postgresql+asyncpg://u:p@h/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
    ],
)
def test_plain_urls_get_their_async_driver(given: str, expected: str) -> None:
    assert async_url(given) == expected


@pytest.mark.parametrize(
    "url", ["mysql://u@h/d", "postgresql+psycopg2://u@h/d", "sqlite+pysqlite:///x"]
)
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(DatabaseUrlError):
        async_url(url)


async def test_migrations_build_exactly_the_models(db: Database) -> None:
    async with db.engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    assert diff == []


async def test_migrating_twice_is_harmless(db: Database) -> None:
    await db.migrate()
    async with db.read() as session:
        version = await session.scalar(text("SELECT version_num FROM alembic_version"))
    assert version is not None


async def test_healthy_database_answers_ping(db: Database) -> None:
    assert await db.ping()


async def test_unreachable_database_fails_ping(tmp_path: Path) -> None:
    # A read-only, non-database file stands in for a broken database.
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not a database" * 100)
    broken = Database(f"sqlite:///{bogus}")
    assert not await broken.ping()
    await broken.dispose()


async def _read_then_write(db: Database, worker: int, rounds: int) -> None:
    for i in range(rounds):
        async with db.write() as session:
            # Read first, then write: the pattern that breaks deferred SQLite transactions.
            await session.scalar(select(func.count()).select_from(AuditEvent))
            session.add(AuditEvent(actor_kind="system", action=f"w{worker}.{i}"))


async def test_concurrent_writers_never_hit_a_locked_database(database_url: str) -> None:
    # Two Database objects stand for two processes on one file: separate pools, locks.
    first, second = Database(database_url), Database(database_url)
    await first.migrate()
    try:
        await asyncio.gather(
            *(_read_then_write(db, worker, 25) for worker, db in enumerate([first, second] * 4))
        )
        async with first.read() as session:
            written = await session.scalar(select(func.count()).select_from(AuditEvent))
        assert written == 8 * 25
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_failed_write_rolls_back(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as session:
            session.add(
                Caseworker(
                    id=uuid.uuid4(), username="ana", password_hash="x", queues="", languages="en"
                )
            )
            await session.flush()
            raise RuntimeError("boom")
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Caseworker)) == 0


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    await db.migrate()
    async with db.read() as session:
        mode = await session.scalar(text("PRAGMA journal_mode"))
        timeout = await session.scalar(text("PRAGMA busy_timeout"))
    await db.dispose()
    assert (mode, timeout) == ("wal", 30000)


async def _two_caseworkers(db: Database) -> None:
    async with db.write() as session:
        session.add_all(
            [Caseworker(username=name, password_hash="x") for name in ("first", "second")]
        )


async def _lock_crosswise(
    session: AsyncSession, order: tuple[str, str], *, halfway: asyncio.Barrier | None
) -> None:
    """Mark both caseworkers' rows in `order`, meeting the other writer after the first."""
    for index, name in enumerate(order):
        await session.execute(
            text("UPDATE caseworkers SET queues = queues || :mark WHERE username = :name"),
            {"name": name, "mark": order[0][0]},
        )
        if index == 0 and halfway is not None:
            await halfway.wait()


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
async def test_a_deadlock_comes_out_as_a_write_conflict(db: Database) -> None:
    # Two writers lock two rows in opposite orders: PostgreSQL rolls one back, and the
    # caller sees WriteConflict (safe to retry), never the driver's error.
    await _two_caseworkers(db)
    halfway = asyncio.Barrier(2)

    async def lock(order: tuple[str, str]) -> None:
        async with db.write() as session:
            await _lock_crosswise(session, order, halfway=halfway)

    results = await asyncio.gather(
        lock(("first", "second")), lock(("second", "first")), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["NoneType", "WriteConflict"]


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
async def test_a_transaction_rolled_back_by_a_deadlock_runs_again_and_lands(db: Database) -> None:
    # The same crosswise locking through Database.transact: the loser is run again in a
    # new transaction, so both writes land and the caller sees no error at all.
    await _two_caseworkers(db)
    halfway = asyncio.Barrier(2)
    runs: list[str] = []

    def locking(order: tuple[str, str]) -> Callable[[AsyncSession], Awaitable[str]]:
        async def work(session: AsyncSession) -> str:
            runs.append(order[0])
            # The run again goes straight through: the other writer has finished.
            await _lock_crosswise(session, order, halfway=halfway if len(runs) <= 2 else None)
            return order[0]

        return work

    results = await asyncio.gather(
        db.transact(locking(("first", "second"))), db.transact(locking(("second", "first")))
    )
    async with db.read() as session:
        marks = dict((await session.execute(select(Caseworker.username, Caseworker.queues))).all())
    assert list(results) == ["first", "second"]
    # Three runs: both, then the one PostgreSQL rolled back, once more.
    assert len(runs) == 3
    # Each row carries each writer's mark exactly once: the rolled-back run left nothing.
    assert sorted(marks["first"]) == sorted(marks["second"]) == ["f", "s"]


async def test_a_transaction_gives_up_after_its_tries(db: Database) -> None:
    # A conflict on every try (a unique key taken each time) reaches the caller after
    # exactly WRITE_TRIES runs, and nothing of any run is kept.
    async with db.write() as session:
        session.add(Caseworker(username="taken", password_hash="x"))
    runs = 0

    async def work(session: AsyncSession) -> None:
        nonlocal runs
        runs += 1
        session.add(Caseworker(username=f"new{runs}", password_hash="x"))
        session.add(Caseworker(username="taken", password_hash="x"))
        await session.flush()

    with pytest.raises(WriteConflict):
        await db.transact(work)
    async with db.read() as session:
        names = set((await session.execute(select(Caseworker.username))).scalars())
    assert (runs, names) == (WRITE_TRIES, {"taken"})
