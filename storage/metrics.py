"""Aggregate counts for the operators' metrics: how much is owed and waiting, never who.

Each query groups by columns that take values from small fixed sets (channel, queue,
priority) and returns counts and times only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.escalation import needs_someone
from storage.models import Case, OutboxItem
from storage.states import CaseStatus, OutboxStatus


@dataclass(frozen=True)
class Backlog:
    """What the outbox owes on one channel: items pending or being sent, and the oldest."""

    channel: str
    owed: int
    oldest_at: datetime | None


@dataclass(frozen=True)
class CaseCount:
    queue: str
    priority: str
    count: int


async def outbox_backlog(session: AsyncSession) -> list[Backlog]:
    query = (
        select(OutboxItem.channel, func.count(), func.min(OutboxItem.created_at))
        .where(OutboxItem.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
        .group_by(OutboxItem.channel)
    )
    return [
        Backlog(channel=str(channel), owed=int(owed), oldest_at=_aware(oldest))
        for channel, owed, oldest in (await session.execute(query)).all()
    ]


async def waiting_cases(session: AsyncSession) -> list[CaseCount]:
    """Cases waiting for a caseworker, by queue and priority."""
    query = (
        select(Case.queue, Case.priority, func.count())
        .where(Case.status == CaseStatus.WAITING)
        .group_by(Case.queue, Case.priority)
    )
    return _counts((await session.execute(query)).all())


async def past_target(session: AsyncSession, *, now: datetime) -> list[CaseCount]:
    """Open cases past their response target with nobody acting on them, by queue and
    priority (the cases escalation alerts about)."""
    query = (
        select(Case.queue, Case.priority, func.count())
        .where(needs_someone(now))
        .group_by(Case.queue, Case.priority)
    )
    return _counts((await session.execute(query)).all())


def _counts(rows: Iterable[Any]) -> list[CaseCount]:
    return [
        CaseCount(queue=str(queue), priority=str(priority), count=int(count))
        for queue, priority, count in rows
    ]


def _aware(at: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    if at is not None and at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at
