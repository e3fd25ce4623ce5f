"""The queries behind escalation: which cases wait past their response target.

A case "needs someone" when it is past its target and still waiting, or claimed with no
reply to the witness since the claim. Each claiming UPDATE's own WHERE is the claim: on
PostgreSQL a second process blocks on the row, then finds the condition no longer holds;
on SQLite one writer runs at a time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Update, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent, Case
from storage.states import Action, CaseStatus

# The audit action of a caseworker's reply: audited in the same transaction that owes
# it to the witness (the service's own messages are not).


def _replied_since_claimed() -> ColumnElement[bool]:
    return exists().where(
        AuditEvent.case_id == Case.id,
        AuditEvent.action == Action.REPLY,
        AuditEvent.at >= Case.claimed_at,
    )


def needs_someone(now: datetime) -> ColumnElement[bool]:
    """Past its target while unclaimed, or claimed with no reply to the witness since."""
    return and_(
        Case.due_at <= now,
        Case.status != CaseStatus.CLOSED,
        or_(Case.status == CaseStatus.WAITING, ~_replied_since_claimed()),
    )


async def claim_to_escalate(session: AsyncSession, *, now: datetime) -> list[Case]:
    """Cases that newly need someone, marked escalated now."""
    statement = (
        update(Case).where(Case.escalated_at.is_(None), needs_someone(now)).values(escalated_at=now)
    )
    return await _claim(session, statement)


async def claim_to_alert(
    session: AsyncSession, *, now: datetime, not_since: datetime, priority: str | None
) -> list[Case]:
    """Cases that need someone and were not alerted since `not_since` (of one priority
    only, if given), marked alerted now."""
    due_again = or_(Case.alerted_at.is_(None), Case.alerted_at <= not_since)
    statement = update(Case).where(due_again, needs_someone(now))
    if priority is not None:
        statement = statement.where(Case.priority == priority)
    return await _claim(session, statement.values(alerted_at=now))


async def without_target(session: AsyncSession, *, limit: int) -> list[Case]:
    """Waiting cases with no response target yet, locked (others' locks are skipped)."""
    query = (
        select(Case)
        .where(Case.due_at.is_(None), Case.status == CaseStatus.WAITING)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).scalars())


async def _claim(session: AsyncSession, statement: Update) -> list[Case]:
    """Run one claiming UPDATE and load the cases it changed, most pressing first."""
    claimed = statement.returning(Case.id).execution_options(synchronize_session=False)
    ids = list((await session.execute(claimed)).scalars())
    if not ids:
        return []
    query = select(Case).where(Case.id.in_(ids)).order_by(Case.priority_rank, Case.created_at)
    return list((await session.execute(query.execution_options(populate_existing=True))).scalars())
