"""Cases: opened from a confirmed intake, ordered in their queue by priority, then age."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import DataKey
from storage.models import AuditEvent, Case, Caseworker, Witness, utcnow
from storage.states import Action, CaseStatus, Priority

PRIORITY_RANK: dict[str, int] = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2}
# Triage may put a case in danger now ahead of every other urgent case.
DANGER_NOW_RANK = -1
TRIAGE_SEPARATOR = ","


class ReferenceTaken(Exception):
    """The random case reference collided with an existing one; draw another."""


async def open_case(
    session: AsyncSession,
    *,
    key: DataKey,
    reference: str,
    queue: str,
    priority: str,
    language: str,
    needs: list[str],
    answers: dict[str, str],
) -> Case:
    case_id = uuid.uuid4()
    case = Case(
        id=case_id,
        reference=reference,
        witness_id=key.owner,
        queue=queue,
        priority=priority,
        priority_rank=PRIORITY_RANK[priority],
        status=CaseStatus.WAITING,
        language=language,
        needs=",".join(needs),
        answers_sealed=key.seal(
            json.dumps(answers, ensure_ascii=False), table="cases", field="answers", row=case_id
        ),
    )
    try:
        async with session.begin_nested():
            session.add(case)
            await session.flush()
    except IntegrityError as exc:
        raise ReferenceTaken(reference) from exc
    return case


def open_answers(case: Case, key: DataKey) -> dict[str, str] | None:
    if case.answers_sealed is None:
        return None
    answers: dict[str, str] = json.loads(
        key.open(case.answers_sealed, table="cases", field="answers", row=case.id)
    )
    return answers


async def by_reference(
    session: AsyncSession, *, reference: str | None, lock: bool = False
) -> Case | None:
    """The case with this (normalised) reference; None finds nothing.

    The core checks a reference's shape first: PostgreSQL refuses some characters (NUL)
    in a parameter, and a malformed reference is just a case nobody can see.
    """
    if reference is None:
        return None
    query = select(Case).where(Case.reference == reference)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def current(session: AsyncSession, *, witness_id: uuid.UUID, reference: str) -> Case | None:
    """The witness's case of this reference, if it still exists."""
    query = select(Case).where(Case.witness_id == witness_id, Case.reference == reference)
    return (await session.execute(query)).scalar_one_or_none()


async def listing(
    session: AsyncSession,
    *,
    limit: int,
    visible_to: tuple[list[str], uuid.UUID] | None = None,
    status: str | None = None,
    queue: str | None = None,
) -> list[Case]:
    """Cases in queue order; `visible_to` (queues, holder) narrows to what one caseworker
    may see: their queues' cases and the ones they hold."""
    query = select(Case).order_by(Case.priority_rank, Case.created_at).limit(limit)
    if visible_to is not None:
        queues, holder = visible_to
        query = query.where(Case.queue.in_(sorted(queues)) | (Case.assigned_to == holder))
    if status:
        query = query.where(Case.status == status)
    if queue:
        query = query.where(Case.queue == queue)
    return list((await session.execute(query)).scalars())


async def note_witness_activity(session: AsyncSession, *, case: Case) -> None:
    case.witness_active_at = utcnow()


def triage_labels(case: Case) -> list[str]:
    """Why triage raised the case, as short labels, in the order they were found."""
    return [label.strip() for label in case.triage.split(TRIAGE_SEPARATOR) if label.strip()]


def set_priority(
    case: Case, *, priority: str, due_at: datetime | None, now: datetime | None = None
) -> None:
    """A caseworker's choice of priority: its ordinary rank, and the target that goes with it.

    Only this lowers a case triage raised; it also ends an escalation whose target moved
    out of the past, so staff alerts about it stop.
    """
    case.priority = priority
    case.priority_rank = PRIORITY_RANK[priority]
    case.due_at = due_at
    if due_at is not None and due_at > (now or utcnow()):
        case.escalated_at = None


# What the witness's own messages do to their case (the intake desk calls these).

# Labels that say danger now, not just urgency ("needs help today" is urgent, not danger).
CALM_LABELS = frozenset({"not safe now", "needs help today"})


def add_triage(case: Case, labels: tuple[str, ...] | list[str]) -> bool:
    """Merge triage labels into the case; True when any of them signals danger now."""
    merged = list(dict.fromkeys([*triage_labels(case), *labels]))
    case.triage = TRIAGE_SEPARATOR.join(merged)[:200]
    return any(label not in CALM_LABELS for label in labels)


def raise_to_urgent(case: Case, *, danger: bool, due_at: datetime) -> None:
    """Urgent (and, for danger now, ahead of every other urgent case); never lowered here."""
    case.priority = Priority.URGENT
    case.priority_rank = min(case.priority_rank, DANGER_NOW_RANK if danger else 0)
    if case.due_at is None or due_at < case.due_at:
        case.due_at = due_at


def amend(
    case: Case,
    *,
    key: DataKey,
    queue: str,
    priority: str,
    needs: list[str],
    answers: dict[str, str],
) -> None:
    """The witness's newer answers replace the old; the priority only ever rises here."""
    case.queue = queue
    case.needs = ",".join(needs)
    case.answers_sealed = key.seal(
        json.dumps(answers, ensure_ascii=False), table="cases", field="answers", row=case.id
    )
    if PRIORITY_RANK[priority] < case.priority_rank:
        case.priority, case.priority_rank = priority, PRIORITY_RANK[priority]


def reopen(case: Case, *, due_at: datetime) -> None:
    """A closed case the witness wrote to goes back to its queue, remembering its holder."""
    case.previous_holder = case.assigned_to or case.previous_holder
    case.status = CaseStatus.WAITING
    case.assigned_to = case.claimed_at = case.touched_at = None
    case.closed_at = None
    case.escalated_at = None
    case.due_at = due_at


def touch(case: Case, *, now: datetime) -> None:
    """Its holder read or acted on it: the claim timeout starts again."""
    case.touched_at = now


def assign(case: Case, *, holder: uuid.UUID, now: datetime) -> None:
    """Held by this caseworker from now on."""
    case.status, case.assigned_to = CaseStatus.CLAIMED, holder
    case.claimed_at = case.touched_at = now


def back_to_queue(case: Case, *, queue: str | None = None) -> None:
    """Waiting again (in another queue, if given), held by no one."""
    if queue is not None:
        case.queue = queue
    case.status = CaseStatus.WAITING
    case.assigned_to = case.claimed_at = case.touched_at = None


def close(case: Case, *, key: DataKey | None, outcome: str, now: datetime) -> None:
    """Closed now; the caseworker's words on how it ended are sealed (gone if erased)."""
    case.status, case.closed_at, case.touched_at = CaseStatus.CLOSED, now, None
    if key is not None:
        case.outcome_sealed = key.seal(outcome, table="cases", field="outcome", row=case.id)


def set_due(case: Case, *, due_at: datetime) -> None:
    """The response target: when a caseworker should have answered."""
    case.due_at = due_at


def note_alerted(case: Case, *, now: datetime) -> None:
    case.alerted_at = now


@dataclass(frozen=True)
class Surroundings:
    """What a list shows beside each case: its witness's alias, its holders' names, and
    when it was last answered (for escalated cases). Three queries, however many cases."""

    aliases: dict[uuid.UUID, str]
    usernames: dict[uuid.UUID, str]
    replied: dict[uuid.UUID, datetime]


async def surroundings(session: AsyncSession, found: Sequence[Case]) -> Surroundings:
    witness_ids = {case.witness_id for case in found if case.witness_id}
    people = {case.assigned_to for case in found if case.assigned_to} | {
        case.previous_holder for case in found if case.previous_holder
    }
    escalated = {
        case.id
        for case in found
        if case.escalated_at is not None and case.status != CaseStatus.CLOSED
    }
    aliases: dict[uuid.UUID, str] = {}
    usernames: dict[uuid.UUID, str] = {}
    replied: dict[uuid.UUID, datetime] = {}
    if witness_ids:
        rows = await session.execute(
            select(Witness.id, Witness.alias).where(Witness.id.in_(witness_ids))
        )
        aliases = {witness_id: alias for witness_id, alias in rows.all()}
    if people:
        rows = await session.execute(
            select(Caseworker.id, Caseworker.username).where(Caseworker.id.in_(people))
        )
        usernames = {account_id: name for account_id, name in rows.all()}
    if escalated:
        last = await session.execute(
            select(AuditEvent.case_id, func.max(AuditEvent.at))
            .where(AuditEvent.case_id.in_(escalated), AuditEvent.action == Action.REPLY)
            .group_by(AuditEvent.case_id)
        )
        replied = {case_id: at for case_id, at in last.all() if case_id is not None}
    return Surroundings(aliases=aliases, usernames=usernames, replied=replied)
