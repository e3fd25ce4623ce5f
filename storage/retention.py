"""Retention: witnesses whose cases closed long ago, or who went quiet mid-intake, are shredded."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select

from storage.crypto import Vault
from storage.db import Database
from storage.models import Case, Witness, utcnow
from storage.states import ActorKind, CaseStatus
from storage.witnesses import erase_witness

BATCH = 200


async def purge(
    db: Database, *, vault: Vault, retention_days: int, now: datetime | None = None
) -> int:
    """Apply retention now; returns how many witnesses were erased."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    recent_or_open = exists().where(
        Case.witness_id == Witness.id,
        (Case.status != CaseStatus.CLOSED) | (Case.closed_at >= cutoff),
    )
    # Chosen and erased in one transaction, so a witness who writes meanwhile is kept.
    # A witness erased before erasure removed rows (erased_at set) is finished off too.
    due = (Witness.last_active_at < cutoff) & ~recent_or_open
    query = (
        select(Witness.id)
        .where(Witness.erased_at.is_not(None) | due)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    erased = 0
    while True:
        async with db.write() as session:
            batch = list((await session.execute(query)).scalars())
            for witness_id in batch:
                await erase_witness(
                    session, vault=vault, witness_id=witness_id, actor_kind=ActorKind.SYSTEM
                )
        if not batch:
            return erased
        erased += len(batch)
