"""Queues of cases: counting what waits, and claiming the next case atomically.

On PostgreSQL the next case is picked with SELECT ... FOR UPDATE SKIP LOCKED, so
caseworkers on several server processes never receive the same case; on SQLite the one
writer at a time gives the same guarantee, and the pick and the claim are one UPDATE.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Case, DataKeyRow, Message, Witness, utcnow
from storage.states import CaseStatus, Direction, Priority


@dataclass(frozen=True)
class QueueCounts:
    name: str
    waiting: int
    urgent: int
    oldest_waiting_at: datetime | None


async def counts(session: AsyncSession, *, queues: list[str]) -> list[QueueCounts]:
    query = (
        select(
            Case.queue,
            func.count(),
            func.count().filter(Case.priority == Priority.URGENT),
            func.min(Case.created_at),
        )
        .where(Case.queue.in_(queues), Case.status == CaseStatus.WAITING)
        .group_by(Case.queue)
    )
    found = {row[0]: row for row in (await session.execute(query)).all()}
    out = []
    for name in queues:
        row = found.get(name)
        oldest = row[3] if row else None
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=utcnow().tzinfo)
        out.append(
            QueueCounts(
                name=name,
                waiting=int(row[1]) if row else 0,
                urgent=int(row[2]) if row else 0,
                oldest_waiting_at=oldest,
            )
        )
    return out


@dataclass(frozen=True)
class Claimed:
    """A case just claimed, with its witness's row (locked, as a relay to them locks it) and
    their data key row, or None once erased. Holding the rows keeps them in the session, so
    the data key read again for the notice and for the detail costs no statement."""

    case: Case
    witness: Witness | None
    data_key: DataKeyRow | None


async def claim_next(
    session: AsyncSession, *, queue: str, languages: list[str], caseworker_id: uuid.UUID
) -> Claimed | None:
    """Give the most urgent, then oldest, waiting case in these languages to this caseworker.

    Two statements: the claim returns the whole case row, and one more loads its witness
    and their data key into the session, where the notice to the witness and the case's
    detail find them. On PostgreSQL, one more when every waiting case was locked.
    """
    postgres = (await session.connection()).dialect.name == "postgresql"
    case = await _claim_first(
        session, queue=queue, languages=languages, caseworker_id=caseworker_id, skip=postgres
    )
    if case is None and postgres:
        # Every waiting case in reach was locked: an intake writing to it, or another
        # claim. Wait for the first rather than say that none waits; if another claim
        # took it meanwhile, nothing is claimed and the caller hears so.
        case = await _claim_first(
            session, queue=queue, languages=languages, caseworker_id=caseworker_id, skip=False
        )
    if case is None:
        return None
    if case.witness_id is None:
        return Claimed(case=case, witness=None, data_key=None)
    found = (
        await session.execute(
            select(Witness, DataKeyRow)
            .outerjoin(DataKeyRow, DataKeyRow.witness_id == Witness.id)
            .where(Witness.id == case.witness_id)
            .with_for_update(of=Witness)
        )
    ).one_or_none()
    if found is None:
        return Claimed(case=case, witness=None, data_key=None)
    witness, data_key = found
    return Claimed(case=case, witness=witness, data_key=data_key)


async def _claim_first(
    session: AsyncSession,
    *,
    queue: str,
    languages: list[str],
    caseworker_id: uuid.UUID,
    skip: bool,
) -> Case | None:
    """One UPDATE ... RETURNING claiming the most urgent, then oldest, waiting case; on
    PostgreSQL its row is locked first, passing over rows others hold if `skip`."""
    now = utcnow()
    pick = (
        select(Case.id)
        .where(Case.queue == queue, Case.status == CaseStatus.WAITING, Case.language.in_(languages))
        .order_by(Case.priority_rank, Case.created_at)
        .limit(1)
    )
    if (await session.connection()).dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=skip)
    claimed: Case | None = (
        await session.execute(
            update(Case)
            .where(Case.id == pick.scalar_subquery(), Case.status == CaseStatus.WAITING)
            .values(
                status=CaseStatus.CLAIMED, assigned_to=caseworker_id, claimed_at=now, touched_at=now
            )
            .returning(Case)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
    ).scalar_one_or_none()
    return claimed


async def return_stale(session: AsyncSession, *, untouched_since: datetime) -> list[uuid.UUID]:
    """Claims nobody has touched since the cutoff go back to their queue."""
    stale = list(
        (
            await session.execute(
                select(Case.id)
                .where(Case.status == CaseStatus.CLAIMED, Case.touched_at < untouched_since)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )
    if stale:
        await session.execute(
            update(Case)
            .where(Case.id.in_(stale))
            .values(status=CaseStatus.WAITING, assigned_to=None, claimed_at=None, touched_at=None)
        )
    return stale


async def escalated(session: AsyncSession, *, limit: int = 50) -> list[Case]:
    """Open cases past their response target that staff were escalated about, most urgent first."""
    query = (
        select(Case)
        .where(Case.escalated_at.is_not(None), Case.status != CaseStatus.CLOSED)
        .order_by(Case.priority_rank, Case.due_at, Case.created_at)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def first_written_after(
    session: AsyncSession, *, case_id: uuid.UUID, since: datetime
) -> datetime | None:
    """When the witness first wrote to the case after `since`, if they did."""
    query = select(func.min(Message.created_at)).where(
        Message.case_id == case_id, Message.direction == Direction.IN, Message.created_at > since
    )
    found: datetime | None = await session.scalar(query)
    return found
