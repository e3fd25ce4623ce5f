"""Whether the database's schema is the newest this code knows, by Alembic's own record."""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection

from storage.db import Database, alembic_config


class SchemaState(StrEnum):
    """How the database's revision stands against the newest in storage/migrations."""

    CURRENT = "ok"
    # A revision this code knows, but not the newest: the migrations have not run.
    BEHIND = "behind"
    # A revision this code does not know: a newer release migrated this database.
    UNKNOWN = "unknown revision"
    NOT_MIGRATED = "not migrated"


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def newest_revisions() -> frozenset[str]:
    """The head revisions of storage/migrations."""
    return frozenset(_scripts().get_heads())


async def schema_state(db: Database) -> SchemaState:
    """Compare the database's recorded revision with the newest the code ships."""
    async with db.read() as session:
        connection = await session.connection()
        current = await connection.run_sync(_current_revisions)
    if current == newest_revisions():
        return SchemaState.CURRENT
    if not current:
        return SchemaState.NOT_MIGRATED
    if all(_known(revision) for revision in current):
        return SchemaState.BEHIND
    return SchemaState.UNKNOWN


def _current_revisions(connection: Connection) -> frozenset[str]:
    return frozenset(MigrationContext.configure(connection).get_current_heads())


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False
