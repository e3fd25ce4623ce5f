"""Master key rotation, online: rewrap data keys and re-derive lookup keys in small batches."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from storage.crypto import Vault, WrappedKey
from storage.db import Database
from storage.models import DataKeyRow, Witness
from storage.witnesses import LOOKUP_PURPOSE, lookup_value, reply_address

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


async def still_using(db: Database, *, version: int) -> int:
    """How many data keys or lookup keys still depend on this master key version."""
    async with db.read() as session:
        keys = await session.scalar(
            select(func.count()).select_from(DataKeyRow).where(DataKeyRow.master_version == version)
        )
        lookups = await session.scalar(
            select(func.count()).select_from(Witness).where(Witness.lookup_version == version)
        )
    return int(keys or 0) + int(lookups or 0)
