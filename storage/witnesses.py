"""Witnesses: found by a keyed hash of their channel address, never by the address itself."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import DataKey, KeyUnavailable, Vault, WrappedKey
from storage.models import (
    Case,
    Conversation,
    DataKeyRow,
    Message,
    OutboxItem,
    Witness,
    utcnow,
)

LOOKUP_PURPOSE = "witness-address"
ALIAS_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def lookup_value(channel: str, address: str) -> str:
    return f"{channel}\x00{address}"


def new_alias() -> str:
    """A short random name caseworkers and logs use instead of anything identifying."""
    return "W-" + "".join(secrets.choice(ALIAS_ALPHABET) for _ in range(6))


async def find_witness(
    session: AsyncSession, *, vault: Vault, channel: str, address: str, lock: bool = True
) -> Witness | None:
    """The witness behind this address, under any master key version still held."""
    candidates = vault.pseudonym_candidates(lookup_value(channel, address), purpose=LOOKUP_PURPOSE)
    query = select(Witness).where(Witness.lookup_key.in_(list(candidates.values())))
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalars().first()


async def create_witness(
    session: AsyncSession, *, vault: Vault, channel: str, address: str
) -> tuple[Witness, DataKey]:
    witness_id = uuid.uuid4()
    key, wrapped = vault.new_data_key(witness_id)
    witness = Witness(
        id=witness_id,
        alias=new_alias(),
        lookup_key=vault.pseudonym(lookup_value(channel, address), purpose=LOOKUP_PURPOSE),
        lookup_version=vault.active_version,
        channel=channel,
        address_sealed=key.seal(address, table="witnesses", field="address", row=witness_id),
        opted_out=False,
    )
    session.add(witness)
    session.add(
        DataKeyRow(
            witness_id=witness_id, master_version=wrapped.master_version, wrapped=wrapped.blob
        )
    )
    return witness, key


async def data_key_for(session: AsyncSession, *, vault: Vault, witness_id: uuid.UUID) -> DataKey:
    """The witness's unwrapped data key; KeyUnavailable once they were erased."""
    row = await session.get(DataKeyRow, witness_id)
    wrapped = None if row is None else WrappedKey(row.master_version, row.wrapped)
    return vault.unwrap(wrapped, witness_id)


def reply_address(witness: Witness, key: DataKey) -> str:
    if witness.address_sealed is None:
        raise KeyUnavailable("this witness's address has been destroyed")
    return key.open(witness.address_sealed, table="witnesses", field="address", row=witness.id)


async def erase_witness(session: AsyncSession, *, witness_id: uuid.UUID) -> list[uuid.UUID]:
    """Crypto-shred a witness: delete their data key, then the sealed fields as well.

    Deleting the key is what makes every copy (backups included, once the master key
    version of that time is retired) unreadable; clearing the columns too keeps the
    live database small and obviously empty. Returns the ids of their cases.
    """
    now = utcnow()
    await session.execute(delete(DataKeyRow).where(DataKeyRow.witness_id == witness_id))
    await session.execute(delete(Conversation).where(Conversation.witness_id == witness_id))
    await session.execute(
        update(Witness)
        .where(Witness.id == witness_id)
        .values(lookup_key=None, lookup_version=None, address_sealed=None, erased_at=now)
    )
    await session.execute(
        update(Message).where(Message.witness_id == witness_id).values(body_sealed=None)
    )
    await session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.witness_id == witness_id,
            OutboxItem.status == "pending",
            OutboxItem.kind == "message",
        )
        .values(status="failed", last_error="erased")
    )
    case_ids = list(
        (await session.execute(select(Case.id).where(Case.witness_id == witness_id))).scalars()
    )
    await session.execute(
        update(Case)
        .where(Case.witness_id == witness_id)
        .values(
            answers_sealed=None,
            outcome_sealed=None,
            status="closed",
            outcome="erased",
            closed_at=now,
        )
    )
    return case_ids


async def touch(session: AsyncSession, *, witness: Witness, when: datetime | None = None) -> None:
    witness.last_active_at = when or utcnow()


async def pause(session: AsyncSession, *, witness: Witness, now: datetime) -> None:
    """EXIT: nothing is sent to this witness until they write again."""
    witness.paused_at = now


async def resume(session: AsyncSession, *, witness: Witness, now: datetime) -> None:
    """They wrote again: what was held for them goes out now."""
    witness.paused_at = None
    await session.execute(
        update(OutboxItem)
        .where(OutboxItem.witness_id == witness.id, OutboxItem.status == "pending")
        .values(next_attempt_at=now)
    )
