"""What caseworkers do with cases: claim, read, reply, release, transfer, close.

Every read of a case and every change to one goes through `Casework._act`, which checks
the caller may do it and writes the audit row in the same transaction. A caseworker who
may not see a case is told it does not exist.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import Actor
from bot.intake.triage import QUEUES
from bot.outbox import Doorbell
from bot.reference import PATTERN as REFERENCE
from bot.relay import owe_reply
from storage import audit, caseworkers, messages, queues, witnesses
from storage.cases import open_answers
from storage.crypto import DataKey, KeyUnavailable, Vault
from storage.db import Database
from storage.models import AuditEvent, Case, Caseworker, Witness, utcnow

log = logging.getLogger(__name__)

MAX_LIST = 500
ACTION_NAME = re.compile(r"[a-z][a-z0-9_.]{0,47}")
CALL_ME = "call"


class Action(StrEnum):
    READ = "case.read"
    CLAIM = "case.claimed"
    RELEASE = "case.released"
    TRANSFER = "case.transferred"
    CLOSE = "case.closed"
    REPLY = "case.replied"
    ASSIGN = "case.assigned"
    REVEAL_NUMBER = "case.number_revealed"
    LIST = "cases.listed"
    READ_AUDIT = "audit.read"


class CaseNotFound(Exception):
    """No such case, or one the caller may not see (the two are never told apart)."""


class NotInQueue(Exception):
    """The caller does not work the queue they asked for."""


class SupervisorsOnly(Exception):
    """Only supervisors may do this."""


class UnknownQueue(ValueError):
    """A transfer named a queue that does not exist."""


class NoSuchCaseworker(ValueError):
    """An assignment named someone who does not work the case's queue in its language."""


class CaseClosed(Exception):
    """The case is closed: it can be read, not changed."""


@dataclass(frozen=True)
class QueueView:
    name: str
    waiting: int
    urgent: int
    oldest_waiting_seconds: int | None


@dataclass(frozen=True)
class Line:
    direction: str
    text: str | None
    at: datetime
    delivery: str | None


@dataclass(frozen=True)
class CaseView:
    ref: str
    alias: str
    queue: str
    priority: str
    status: str
    language: str
    needs: list[str]
    created_at: datetime
    assigned_to: str | None
    witness_active_at: datetime
    # The holder's last look or action; the witness wrote since when this is earlier.
    touched_at: datetime | None = None
    answers: dict[str, str] | None = None
    messages: list[Line] | None = None
    outcome: str | None = None
    phone: str | None = None
    # True only when the witness clearly asked to be called (an unsure answer was confirmed).
    may_call: bool = False


@dataclass(frozen=True)
class AuditView:
    at: datetime
    actor: str | None
    action: str
    ref: str | None
    detail: str | None


def _holds(actor: Actor, case: Case) -> bool:
    return case.assigned_to == actor.id


def _is_case(reference: str) -> ColumnElement[bool]:
    """The condition for the case with this reference; what cannot be one matches nothing."""
    # Decided before any query: PostgreSQL refuses NUL in a parameter, and a malformed
    # reference is just another case the caller cannot see.
    normal = reference.strip().upper()
    return Case.reference == normal if REFERENCE.fullmatch(normal) else false()


def _is_action(action: str) -> ColumnElement[bool]:
    """The condition for audit rows of this action; a name no action can have matches none."""
    return AuditEvent.action == action if ACTION_NAME.fullmatch(action) else false()


class Casework:
    def __init__(self, *, db: Database, vault: Vault, doorbell: Doorbell) -> None:
        self._db = db
        self._vault = vault
        self._doorbell = doorbell

    async def _act(
        self,
        session: AsyncSession,
        *,
        actor: Actor,
        reference: str,
        action: Action,
        detail: str | None = None,
    ) -> Case:
        """The one gate: load the case, check the caller may do this, write the audit row."""
        query = select(Case).where(_is_case(reference))
        case = (await session.execute(query.with_for_update())).scalar_one_or_none()
        if case is None or not (_holds(actor, case) or actor.supervisor):
            raise CaseNotFound(reference)
        if action not in (Action.READ, Action.REVEAL_NUMBER) and case.status == queues.CLOSED:
            raise CaseClosed(reference)
        await audit.record(
            session,
            actor_kind="caseworker",
            actor_id=actor.id,
            action=action,
            case_id=case.id,
            detail=detail,
        )
        if _holds(actor, case):
            case.touched_at = utcnow()
        return case

    async def queues(self, actor: Actor) -> list[QueueView]:
        names = sorted(actor.queues | (set(QUEUES) if actor.supervisor else set()))
        async with self._db.read() as session:
            found = await queues.counts(session, queues=names)
        now = utcnow()
        return [
            QueueView(
                name=q.name,
                waiting=q.waiting,
                urgent=q.urgent,
                oldest_waiting_seconds=(
                    int((now - q.oldest_waiting_at).total_seconds())
                    if q.oldest_waiting_at
                    else None
                ),
            )
            for q in found
        ]

    async def claim(self, actor: Actor, queue: str) -> CaseView | None:
        if queue not in actor.queues:
            raise NotInQueue(queue)
        async with self._db.write() as session:
            case = await queues.claim_next(
                session, queue=queue, languages=sorted(actor.languages), caseworker_id=actor.id
            )
            if case is None:
                return None
            await self._act(session, actor=actor, reference=case.reference, action=Action.CLAIM)
            view = await self._detail(session, actor, case)
        log.info("case %s claimed by %s", case.reference, actor.username)
        return view

    async def read(self, actor: Actor, reference: str) -> CaseView:
        async with self._db.write() as session:
            case = await self._act(session, actor=actor, reference=reference, action=Action.READ)
            return await self._detail(session, actor, case)

    async def reply(self, actor: Actor, reference: str, text: str) -> uuid.UUID:
        async with self._db.write() as session:
            case = await self._act(session, actor=actor, reference=reference, action=Action.REPLY)
            message_id = await owe_reply(session, vault=self._vault, case=case, text=text)
        self._doorbell.ring()
        return message_id

    async def release(self, actor: Actor, reference: str) -> CaseView:
        async with self._db.write() as session:
            case = await self._act(session, actor=actor, reference=reference, action=Action.RELEASE)
            _back_to_queue(case)
            return await self._summary(session, case)

    async def transfer(self, actor: Actor, reference: str, queue: str) -> CaseView:
        if queue not in QUEUES:
            raise UnknownQueue(queue)
        async with self._db.write() as session:
            case = await self._act(
                session,
                actor=actor,
                reference=reference,
                action=Action.TRANSFER,
                detail=f"{queue}",
            )
            case.queue = queue
            _back_to_queue(case)
            return await self._summary(session, case)

    async def assign(self, actor: Actor, reference: str, username: str) -> CaseView:
        """A supervisor hands a case straight to a caseworker who works its queue."""
        if not actor.supervisor:
            raise SupervisorsOnly
        async with self._db.write() as session:
            case = await self._act(
                session, actor=actor, reference=reference, action=Action.ASSIGN, detail=username
            )
            able = await caseworkers.working(session, queue=case.queue, language=case.language)
            target = next((a for a in able if a.username == username), None)
            if target is None:
                raise NoSuchCaseworker(username)
            now = utcnow()
            case.status, case.assigned_to, case.claimed_at, case.touched_at = (
                queues.CLAIMED,
                target.id,
                now,
                now,
            )
            return await self._summary(session, case)

    async def assignable(self, actor: Actor, reference: str) -> list[str]:
        """Who a supervisor may hand this case to (no audit row: it shows no case content)."""
        if not actor.supervisor:
            return []
        async with self._db.read() as session:
            case = (
                await session.execute(select(Case).where(_is_case(reference)))
            ).scalar_one_or_none()
            if case is None:
                raise CaseNotFound(reference)
            able = await caseworkers.working(session, queue=case.queue, language=case.language)
            return [a.username for a in able]

    async def close(self, actor: Actor, reference: str, outcome: str) -> CaseView:
        async with self._db.write() as session:
            case = await self._act(session, actor=actor, reference=reference, action=Action.CLOSE)
            case.status, case.closed_at, case.touched_at = queues.CLOSED, utcnow(), None
            key = await self._key(session, case)
            if key is not None:
                case.outcome_sealed = key.seal(outcome, table="cases", field="outcome", row=case.id)
            return await self._summary(session, case)

    async def list_cases(
        self, actor: Actor, *, status: str | None = None, queue: str | None = None
    ) -> list[CaseView]:
        query = select(Case).order_by(Case.priority_rank, Case.created_at).limit(MAX_LIST)
        if not actor.supervisor:
            query = query.where(
                (Case.queue.in_(sorted(actor.queues))) | (Case.assigned_to == actor.id)
            )
        if status:
            query = query.where(Case.status == status)
        if queue:
            query = query.where(Case.queue == queue if queue in QUEUES else false())
        async with self._db.write() as session:
            found = list((await session.execute(query)).scalars())
            await audit.record(
                session, actor_kind="caseworker", actor_id=actor.id, action=Action.LIST
            )
            return [await self._summary(session, case) for case in found]

    async def audit_log(
        self,
        actor: Actor,
        *,
        reference: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        limit: int = 500,
    ) -> list[AuditView]:
        if not actor.supervisor:
            raise SupervisorsOnly
        query = (
            select(AuditEvent, Caseworker.username, Case.reference)
            .outerjoin(Caseworker, Caseworker.id == AuditEvent.actor_id)
            .outerjoin(Case, Case.id == AuditEvent.case_id)
            .order_by(AuditEvent.id.desc())
            .limit(min(max(limit, 1), 5000))
        )
        if reference:
            query = query.where(_is_case(reference))
        if action:
            query = query.where(_is_action(action))
        if since:
            query = query.where(AuditEvent.at >= since)
        async with self._db.write() as session:
            rows = (await session.execute(query)).all()
            await audit.record(
                session, actor_kind="caseworker", actor_id=actor.id, action=Action.READ_AUDIT
            )
        return [
            AuditView(
                at=event.at,
                actor=username or (event.actor_kind if event.actor_id is None else None),
                action=event.action,
                ref=ref,
                detail=event.detail,
            )
            for event, username, ref in rows
        ]

    async def return_stale(self, *, timeout: timedelta) -> int:
        """Claims left untouched past the timeout go back to their queues."""
        async with self._db.write() as session:
            stale = await queues.return_stale(session, untouched_since=utcnow() - timeout)
            for case_id in stale:
                await audit.record(
                    session, actor_kind="system", action="case.claim_expired", case_id=case_id
                )
        return len(stale)

    async def activity(self, actor: Actor, reference: str) -> str:
        """A fingerprint of a case's conversation (message and delivery counts): no content.

        The console polls this to know when to fetch the transcript again; it checks the
        same permission as a read but writes no audit row, because it reveals nothing
        of what anyone said (the fetch that follows is an audited read).
        """
        async with self._db.read() as session:
            query = select(Case).where(_is_case(reference))
            case = (await session.execute(query)).scalar_one_or_none()
            if case is None or not (_holds(actor, case) or actor.supervisor):
                raise CaseNotFound(reference)
            total, settled = await messages.count_for_case(session, case_id=case.id)
            return f"{total}.{settled}"

    async def _key(self, session: AsyncSession, case: Case) -> DataKey | None:
        try:
            return await witnesses.data_key_for(
                session, vault=self._vault, witness_id=case.witness_id
            )
        except KeyUnavailable:
            return None

    async def _summary(self, session: AsyncSession, case: Case) -> CaseView:
        witness = await session.get(Witness, case.witness_id)
        holder = await session.get(Caseworker, case.assigned_to) if case.assigned_to else None
        return CaseView(
            ref=case.reference,
            alias=witness.alias if witness else "-",
            queue=case.queue,
            priority=case.priority,
            status=case.status,
            language=case.language,
            needs=[n for n in case.needs.split(",") if n],
            created_at=case.created_at,
            assigned_to=holder.username if holder else None,
            witness_active_at=case.witness_active_at,
            touched_at=case.touched_at,
        )

    async def _detail(self, session: AsyncSession, actor: Actor, case: Case) -> CaseView:
        summary = await self._summary(session, case)
        key = await self._key(session, case)
        if key is None:
            return replace(summary, answers=None, messages=[], outcome=case.outcome)
        answers = open_answers(case, key)
        lines = [
            Line(direction=t.direction, text=t.text, at=t.at, delivery=t.delivery)
            for t in await messages.transcript(session, key=key, case_id=case.id)
        ]
        outcome = case.outcome
        if case.outcome_sealed is not None:
            outcome = key.open(case.outcome_sealed, table="cases", field="outcome", row=case.id)
        phone = await self._phone_for_holder(session, actor, case, key, answers)
        may_call = answers is not None and answers.get("contact") == CALL_ME
        return replace(
            summary,
            answers=answers,
            messages=lines,
            outcome=outcome,
            phone=phone,
            may_call=may_call,
        )

    async def _phone_for_holder(
        self,
        session: AsyncSession,
        actor: Actor,
        case: Case,
        key: DataKey,
        answers: dict[str, str] | None,
    ) -> str | None:
        """The witness's number, only for the holder, only if they asked to be called."""
        if not _holds(actor, case) or not answers or answers.get("contact") != CALL_ME:
            return None
        witness = await session.get(Witness, case.witness_id)
        if witness is None or witness.channel != "sms" or witness.opted_out:
            return None
        await audit.record(
            session,
            actor_kind="caseworker",
            actor_id=actor.id,
            action=Action.REVEAL_NUMBER,
            case_id=case.id,
        )
        return witnesses.reply_address(witness, key)


def _back_to_queue(case: Case) -> None:
    case.status, case.assigned_to, case.claimed_at, case.touched_at = (
        queues.WAITING,
        None,
        None,
        None,
    )
