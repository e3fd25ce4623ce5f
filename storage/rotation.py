"""Master key rotation, online: rewrap data keys and re-derive lookup keys in small batches."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from storage import messages, outbox
from storage.crypto import FORMAT_V1, KeyUnavailable, Vault, WrappedKey
from storage.db import Database
from storage.models import DataKeyRow, Message, OutboxItem, Witness
from storage.witnesses import LOOKUP_PURPOSE, data_key_for, lookup_value, reply_address

BATCH = 200


@dataclass(frozen=True)
class RotationReport:
    active_version: int
    rewrapped: int
    relooked: int


async def rewrap_all(db: Database, *, vault: Vault, batch: int = BATCH) -> RotationReport:
    """Move every data key and lookup key to the active master version; safe while serving."""
    active = vault.active_version
    rewrapped = relooked = 0
    while True:
        async with db.write() as session:
            rows = (
                (
                    await session.execute(
                        select(DataKeyRow)
                        .where(DataKeyRow.master_version != active)
                        .limit(batch)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            for row in rows:
                new = vault.rewrap(WrappedKey(row.master_version, row.wrapped), row.witness_id)
                row.master_version, row.wrapped = new.master_version, new.blob
            rewrapped += len(rows)
            witnesses = (
                (
                    await session.execute(
                        select(Witness)
                        .where(Witness.lookup_key.is_not(None), Witness.lookup_version != active)
                        .limit(batch)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            for witness in witnesses:
                key_row = await session.get(DataKeyRow, witness.id)
                if key_row is None:
                    witness.lookup_key = witness.lookup_version = None
                    continue
                key = vault.unwrap(WrappedKey(key_row.master_version, key_row.wrapped), witness.id)
                address = reply_address(witness, key)
                witness.lookup_key = vault.pseudonym(
                    lookup_value(witness.channel, address), purpose=LOOKUP_PURPOSE
                )
                witness.lookup_version = active
            relooked += len(witnesses)
        if not rows and not witnesses:
            return RotationReport(active_version=active, rewrapped=rewrapped, relooked=relooked)


async def reseal_outbox(db: Database, *, vault: Vault) -> int:
    """Seal the payloads of work still owed (farewells, deletes at the provider, staff
    alerts) under the active master key version; returns how many were resealed."""
    active = vault.active_version
    resealed = 0
    async with db.write() as session:
        for item in await outbox.sealed_items(session):
            if outbox.sealed_version(item) == active or item.payload_sealed is None:
                continue
            if item.kind in outbox.TRANSIT_KINDS:
                item.payload_sealed = vault.reseal_transit(item.payload_sealed, row=item.id)
            else:
                text = vault.open_staff(
                    item.payload_sealed, table="outbox", field="payload", row=item.id
                )
                item.payload_sealed = vault.seal_staff(
                    text, table="outbox", field="payload", row=item.id
                )
            resealed += 1
    return resealed


async def still_using(db: Database, *, version: int) -> int:
    """How many data keys, lookup keys or outbox payloads still depend on this version."""
    async with db.read() as session:
        keys = await session.scalar(
            select(func.count()).select_from(DataKeyRow).where(DataKeyRow.master_version == version)
        )
        lookups = await session.scalar(
            select(func.count()).select_from(Witness).where(Witness.lookup_version == version)
        )
        payloads = await session.execute(
            select(OutboxItem).where(OutboxItem.payload_sealed.is_not(None))
        )
        owed = sum(1 for item in payloads.scalars() if outbox.sealed_version(item) == version)
    return int(keys or 0) + int(lookups or 0) + owed


async def reseal_legacy_messages(db: Database, *, vault: Vault, batch: int = BATCH) -> int:
    """Bind messages sealed before their fields took a direction and a case (at start).

    Witnesses already erased have no data key: their messages are left to retention,
    which removes them.
    """
    legacy = or_(
        *(
            func.substr(column, 1, 1) == FORMAT_V1
            for column in (Message.body_sealed, Message.options_sealed, Message.handle_sealed)
        )
    )
    keyed = select(DataKeyRow.witness_id)
    query = (
        select(Message)
        .where(legacy, Message.witness_id.in_(keyed))
        .order_by(Message.witness_id)
        .limit(batch)
    )
    resealed = 0
    while True:
        changed = 0
        async with db.write() as session:
            found = list((await session.execute(query)).scalars())
            for message in found:
                try:
                    key = await data_key_for(session, vault=vault, witness_id=message.witness_id)
                except KeyUnavailable:
                    continue
                changed += messages.reseal_legacy(message, key)
        resealed += changed
        if len(found) < batch or not changed:
            return resealed
