"""The case list costs the same few queries for 3 cases as for 40."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from bot.accounts import Actor
from bot.app import Services
from storage import caseworkers
from storage.db import Database
from tests.handlers.api_helpers import make_caseworker, seed_cases


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    """Every statement sent to the database inside the block."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    for engine in db.engines:
        event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        for engine in db.engines:
            event.remove(engine.sync_engine, "before_cursor_execute", seen)


async def supervisor(services: Services) -> Actor:
    await make_caseworker(services.db, "sam", supervisor=True)
    async with services.db.read() as session:
        account = await caseworkers.by_username(session, username="sam")
    assert account is not None
    return Actor.of(account)


async def test_listing_cases_does_not_query_once_per_case(services: Services) -> None:
    sam = await supervisor(services)
    await seed_cases(services.db, services.vault, count=3)
    with counted(services.db) as few:
        assert len(await services.casework.list_cases(sam)) == 3

    await seed_cases(services.db, services.vault, count=37)
    claimed = await services.casework.claim(sam, "relocation")
    assert claimed is not None
    with counted(services.db) as many:
        listed = await services.casework.list_cases(sam)

    assert len(listed) == 40
    assert [c.assigned_to for c in listed if c.ref == claimed.ref] == ["sam"]
    assert {c.alias for c in listed} != {"-"}
    assert len(many) == len(few) + 1, many  # the one more: the holder's name
