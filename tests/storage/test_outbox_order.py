"""What one witness is owed goes out in the order it was written, whatever the clock said."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from storage import messages, outbox, witnesses
from storage.crypto import Vault
from storage.db import Database, alembic_config
from storage.keyring import KeySource
from storage.models import Message
from storage.states import Direction

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


async def owe(db: Database, vault: Vault, witness_id: uuid.UUID, text: str, at: datetime) -> None:
    async with db.write() as session:
        key = await witnesses.data_key_for(session, vault=vault, witness_id=witness_id)
        message = await messages.add_message(session, key=key, direction=Direction.OUT, text=text)
        await messages.enqueue(session, message=message, channel="sms", now=at)


async def next_text(db: Database, vault: Vault, witness_id: uuid.UUID) -> list[str]:
    """Claim what is due an hour on, mark it sent, and say what it was."""
    async with db.write() as session:
        claimed = await outbox.claim_due(
            session, limit=10, lease=LEASE, now=NOW + timedelta(hours=1)
        )
        key = await witnesses.data_key_for(session, vault=vault, witness_id=witness_id)
        texts = []
        for item in claimed:
            message = await session.get(Message, item.message_id)
            assert message is not None
            texts.append(messages.open_body(message, key) or "")
            await outbox.mark_sent(session, item_id=item.id)
        return texts


async def test_same_instant_and_a_clock_stepped_back_keep_the_order(
    db: Database, tmp_path: Path
) -> None:
    vault = Vault(KeySource(env_value=None, key_file=tmp_path / "keys", create_missing=True))
    async with db.write() as session:
        witness, _key = await witnesses.create_witness(
            session, vault=vault, channel="sms", address="+15550100001"
        )
    await owe(db, vault, witness.id, "first", NOW)
    await owe(db, vault, witness.id, "second", NOW)  # the same clock reading
    await owe(db, vault, witness.id, "third", NOW - timedelta(minutes=5))  # stepped back

    sent = [await next_text(db, vault, witness.id) for _ in range(4)]

    assert sent == [["first"], ["second"], ["third"], []]


def _at_0007(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "0007")


def _to_head(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def test_the_upgrade_keeps_the_order_of_work_already_owed(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(_at_0007)
        witness, other = uuid.uuid4(), uuid.uuid4()
        written = NOW.replace(tzinfo=None)
        # (witness, written at, place in its turn, status), in no particular order.
        rows = [
            (witness, written + timedelta(seconds=2), 0, "pending"),
            (witness, written, 1, "sending"),
            (witness, written, 0, "sent"),
            (witness, written + timedelta(seconds=2), 1, "pending"),
            (other, written, 0, "pending"),
        ]
        witness_table = sa.table(
            "witnesses",
            sa.column("id", sa.Uuid()),
            sa.column("alias", sa.String()),
            sa.column("channel", sa.String()),
            sa.column("opted_out", sa.Boolean()),
            sa.column("created_at", sa.DateTime()),
            sa.column("last_active_at", sa.DateTime()),
        )
        outbox_table = sa.table(
            "outbox",
            sa.column("id", sa.Uuid()),
            sa.column("kind", sa.String()),
            sa.column("witness_id", sa.Uuid()),
            sa.column("channel", sa.String()),
            sa.column("status", sa.String()),
            sa.column("attempts", sa.Integer()),
            sa.column("position", sa.Integer()),
            sa.column("next_attempt_at", sa.DateTime()),
            sa.column("created_at", sa.DateTime()),
            sa.column("updated_at", sa.DateTime()),
        )
        ids = [uuid.uuid4() for _ in rows]
        async with db.engine.begin() as connection:
            for number, person in enumerate((witness, other)):
                await connection.execute(
                    sa.insert(witness_table).values(
                        id=person,
                        alias=f"W-{number}",
                        channel="sms",
                        opted_out=False,
                        created_at=written,
                        last_active_at=written,
                    )
                )
            for item_id, (person, at, position, status) in zip(ids, rows, strict=True):
                await connection.execute(
                    sa.insert(outbox_table).values(
                        id=item_id,
                        kind="message",
                        witness_id=person,
                        channel="sms",
                        status=status,
                        attempts=0,
                        position=position,
                        next_attempt_at=at,
                        created_at=at,
                        updated_at=at,
                    )
                )
            await connection.run_sync(_to_head)
        async with db.engine.connect() as connection:
            places = dict(
                (
                    await connection.execute(sa.select(outbox_table.c.id, outbox_table.c.position))
                ).all()
            )
            seq: dict[object, int] = dict(
                (await connection.execute(sa.text("SELECT id, outbox_seq FROM witnesses"))).all()
            )
        # Owed work is numbered by when it was written, then its place in its turn.
        assert [places[ids[i]] for i in (1, 0, 3)] == [1, 2, 3]
        assert places[ids[4]] == 1
        assert {str(k).replace("-", ""): v for k, v in seq.items()} == {
            witness.hex: 3,
            other.hex: 1,
        }
    finally:
        await db.dispose()
