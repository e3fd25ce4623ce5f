"""What caseworkers do with cases: claim, read, reply, release, transfer, close, reprioritise.

Every read of a case and every change to one goes through `Casework._act`, which checks
the caller may do it and writes the audit row in the same transaction. A caseworker who
may not see a case is told it does not exist.

The witness's number is never part of a case's detail: the holder asks for it, giving a
reason, and only when the witness asked to be called (`reveal_number`).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import Actor
from bot.channels import Channels
from bot.intake.model import Priority
from bot.intake.script import CONTACT, CONTACT_CALL, CONTACT_TEXT_FIRST
from bot.intake.triage import QUEUES
from bot.outbox import Doorbell
from bot.reference import PATTERN as REFERENCE
from bot.relay import owe_reply
from bot.targets import ResponseTargets
from storage import audit, cases, caseworkers, messages, queues, witnesses
from storage.cases import open_answers, set_priority, triage_labels
from storage.crypto import DataKey, KeyUnavailable, Vault
from storage.db import Database
from storage.models import Case, Witness, utcnow
from storage.queues import Claimed
from storage.states import Action, ActorKind, CaseStatus

log = logging.getLogger(__name__)

ERASED_REFERENCE = "-"

MAX_LIST = 500
ACTION_NAME = re.compile(r"[a-z][a-z0-9_.]{0,47}")
DURESS = "duress"
# The longest free text a caseworker may give; longer is refused, never cut.
MAX_REPLY = 1600
MAX_OUTCOME = 500
MAX_REASON = 500
# An audit filter longer than any reference or action name could be.
MAX_REFERENCE_FILTER = 9
MAX_ACTION_FILTER = 48
# Said to the witness when their case is claimed. It lives here, not in the intake
# script, because the caseworker's act sends it, not the conversation.
CLAIMED_NOTICE = {
    "en": "A caseworker has your request and will write soon.",
    "es": "Alguien de nuestro equipo tiene su solicitud y le escribirá pronto.",
}


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


class DuressUnconfirmed(Exception):
    """A reply to a witness who may be under duress was sent without confirming it."""


class NotCallable(Exception):
    """The witness did not ask to be called, or no number is on hand for them."""


class HolderOnly(Exception):
    """Only the caseworker holding the case may do this (a supervisor overseeing may not)."""


class UnknownPriority(ValueError):
    """A priority change named a priority that does not exist."""


class BadReplyLength(ValueError):
    """A reply that is blank or longer than MAX_REPLY characters."""


class BadOutcomeLength(ValueError):
    """A closing outcome that is blank or longer than MAX_OUTCOME characters."""


class BadReasonLength(ValueError):
    """A reason for seeing the number that is blank or longer than MAX_REASON characters."""


class FilterTooLong(ValueError):
    """An audit filter longer than any case reference or action name can be."""


def _check_text(text: str, *, limit: int, refused: type[ValueError]) -> None:
    """Refuse text that is blank or longer than the limit (it is never cut to fit)."""
    if not text.strip() or len(text) > limit:
        raise refused(len(text))


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
    # True only when the witness clearly asked to be called (an unsure answer was confirmed).
    may_call: bool = False
    # Why triage raised the case ("not safe now", "weapon", "duress", ...).
    triage: list[str] = field(default_factory=list)
    due_at: datetime | None = None
    escalated: bool = False
    # Who held the case before it was closed, once it reopens.
    previous_holder: str | None = None

    @property
    def duress(self) -> bool:
        return DURESS in self.triage


@dataclass(frozen=True)
class Escalation:
    """An open case past its response target: nothing of what the witness said."""

    ref: str
    queue: str
    priority: str
    minutes_waiting: int


@dataclass(frozen=True)
class AuditView:
    at: datetime
    actor: str | None
    action: str
    ref: str | None
    detail: str | None


def _holds(actor: Actor, case: Case) -> bool:
    """Whether the caller holds the case: closing it ends that (its number included);
    supervisors see it still, and a witness writing again puts it back in its queue."""
    return case.assigned_to == actor.id and case.status != CaseStatus.CLOSED


def _normal(reference: str) -> str | None:
    """A reference as stored, or None when it cannot be one (it then finds nothing)."""
    # Decided before any query: PostgreSQL refuses NUL in a parameter, and a malformed
    # reference is just another case the caller cannot see.
    normal = reference.strip().upper()
    return normal if REFERENCE.fullmatch(normal) else None


Detail = str | Callable[[Case], Awaitable[str | None]] | None


class Casework:
    def __init__(
        self,
        *,
        db: Database,
        vault: Vault,
        doorbell: Doorbell,
        channels: Channels,
        targets: ResponseTargets | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_claimed: Callable[[str], None] = lambda _queue: None,
    ) -> None:
        self._db = db
        self._vault = vault
        self._doorbell = doorbell
        # Told the queue of every case claimed (for the operators' counts).
        self._on_claimed = on_claimed
        # Which channels reach a witness at a phone number a caseworker may call.
        self._channels = channels
        # Without configured targets: the default minutes, around the clock.
        self._targets = targets or ResponseTargets.parse(minutes=None, office_hours=None)
        # The time response targets and waits are read against (tests pass their own).
        self._clock = clock

    def office_open(self) -> bool:
        """Whether caseworkers are in now, by INTAKE_OFFICE_HOURS (always, when unset)."""
        return self._targets.is_open(self._clock())

    async def _act(
        self,
        session: AsyncSession,
        *,
        actor: Actor,
        reference: str,
        action: Action,
        detail: Detail = None,
        claimed: Case | None = None,
    ) -> Case:
        """The one gate: load the case, check the caller may do this, write the audit row.

        `detail` may be worked out from the case once it is loaded (a priority's old value,
        a sealed reason), so the audit row is still written here and nowhere else.
        `claimed` is a case this transaction has just claimed (its row is locked and
        current): it is checked as it is, not loaded again, and the claim was its touch.
        """
        normal = _normal(reference)
        case = claimed or await cases.by_reference(session, reference=normal, lock=True)
        # The witness was erased: the case row keeps no reference, but whoever still
        # holds one is told the case is closed rather than that it never was.
        if (
            case is None
            and normal is not None
            and action is not Action.READ
            and await witnesses.was_erased(session, vault=self._vault, reference=normal)
        ):
            raise CaseClosed(reference)
        if case is None or not (_holds(actor, case) or actor.supervisor):
            raise CaseNotFound(reference)
        if action is not Action.READ and case.status == CaseStatus.CLOSED:
            raise CaseClosed(reference)
        await audit.record(
            session,
            actor_kind=ActorKind.CASEWORKER,
            actor_id=actor.id,
            action=action,
            case_id=case.id,
            detail=detail if detail is None or isinstance(detail, str) else await detail(case),
        )
        if _holds(actor, case) and claimed is None:
            cases.touch(case, now=utcnow())
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

        async def work(session: AsyncSession) -> tuple[Case, bool, CaseView] | None:
            claimed = await queues.claim_next(
                session, queue=queue, languages=sorted(actor.languages), caseworker_id=actor.id
            )
            if claimed is None:
                return None
            case = claimed.case
            tell = await self._may_tell_of_claim(session, claimed)
            await self._act(
                session,
                actor=actor,
                reference=reference_of(case),
                action=Action.CLAIM,
                detail="witness told" if tell else None,
                claimed=case,
            )
            if tell:
                await owe_reply(
                    session,
                    vault=self._vault,
                    case=case,
                    text=_claimed_notice(case),
                    now=self._clock(),
                )
            view = await self._detail(
                session, actor, case, around=_claimed_surroundings(actor, claimed)
            )
            return case, tell, view

        done = await self._db.transact(work)
        if done is None:
            return None
        case, tell, view = done
        if tell:
            self._doorbell.ring()
        self._on_claimed(case.queue)
        log.info("case %s claimed by %s", case.reference, actor.username)
        return view

    async def read(self, actor: Actor, reference: str) -> CaseView:
        async def work(session: AsyncSession) -> CaseView:
            case = await self._act(session, actor=actor, reference=reference, action=Action.READ)
            return await self._detail(session, actor, case)

        return await self._db.transact(work)

    async def reply(
        self, actor: Actor, reference: str, text: str, *, confirm_duress: bool = False
    ) -> uuid.UUID:
        """Relay a reply to the witness; one who may be under duress needs `confirm_duress`."""
        _check_text(text, limit=MAX_REPLY, refused=BadReplyLength)

        async def noted(case: Case) -> str | None:
            return "duress confirmed" if DURESS in triage_labels(case) else None

        async def work(session: AsyncSession) -> uuid.UUID:
            case = await self._act(
                session, actor=actor, reference=reference, action=Action.REPLY, detail=noted
            )
            if DURESS in triage_labels(case) and not confirm_duress:
                raise DuressUnconfirmed(reference)
            return await owe_reply(
                session, vault=self._vault, case=case, text=text, now=self._clock()
            )

        message_id = await self._db.transact(work)
        self._doorbell.ring()
        return message_id

    async def reveal_number(self, actor: Actor, reference: str, reason: str) -> str:
        """The witness's number, for the holder of a case whose witness asked to be called.

        The reason is the caseworker's own words and may touch the witness's story, so the
        audit row keeps it sealed under the witness's data key (see storage.audit); the
        number itself is never written anywhere.
        """
        _check_text(reason, limit=MAX_REASON, refused=BadReasonLength)

        async def work(session: AsyncSession) -> tuple[Case, str]:
            keys: dict[uuid.UUID, DataKey | None] = {}

            async def sealed_reason(case: Case) -> str | None:
                keys[case.id] = key = await self._key(session, case)
                return None if key is None else audit.seal_detail(key, reason, case_id=case.id)

            case = await self._act(
                session,
                actor=actor,
                reference=reference,
                action=Action.REVEAL_NUMBER,
                detail=sealed_reason,
            )
            if not _holds(actor, case):
                raise HolderOnly(reference)
            key = keys.get(case.id)
            witness = await session.get(Witness, case.witness_id) if case.witness_id else None
            if key is None or witness is None or not _may_call(open_answers(case, key)):
                raise NotCallable(reference)
            phone = (
                witness.channel in self._channels and self._channels[witness.channel].phone_number
            )
            if not phone or witness.opted_out or witness.erased_at is not None:
                raise NotCallable(reference)
            try:
                return case, witnesses.reply_address(witness, key)
            except KeyUnavailable:
                raise NotCallable(reference) from None

        case, number = await self._db.transact(work)
        log.info("number for case %s shown to %s", case.reference, actor.username)
        return number

    async def change_priority(self, actor: Actor, reference: str, priority: str) -> CaseView:
        """Set a case's priority: the only way a case triage made urgent is lowered."""
        try:
            chosen = Priority(priority)
        except ValueError:
            raise UnknownPriority(priority) from None

        async def change(case: Case) -> str:
            return f"{case.priority}->{chosen.value}"

        async def work(session: AsyncSession) -> CaseView:
            case = await self._act(
                session, actor=actor, reference=reference, action=Action.PRIORITY, detail=change
            )
            # The new target runs from now: the caseworker has just looked at the case.
            now = self._clock()
            set_priority(
                case, priority=chosen.value, due_at=self._targets.due(chosen, now), now=now
            )
            return await self._summary(session, case)

        return await self._db.transact(work)

    async def release(self, actor: Actor, reference: str) -> CaseView:
        async def work(session: AsyncSession) -> CaseView:
            case = await self._act(session, actor=actor, reference=reference, action=Action.RELEASE)
            cases.back_to_queue(case)
            return await self._summary(session, case)

        return await self._db.transact(work)

    async def transfer(self, actor: Actor, reference: str, queue: str) -> CaseView:
        if queue not in QUEUES:
            raise UnknownQueue(queue)

        async def work(session: AsyncSession) -> CaseView:
            case = await self._act(
                session,
                actor=actor,
                reference=reference,
                action=Action.TRANSFER,
                detail=f"{queue}",
            )
            cases.back_to_queue(case, queue=queue)
            return await self._summary(session, case)

        return await self._db.transact(work)

    async def assign(self, actor: Actor, reference: str, username: str) -> CaseView:
        """A supervisor hands a case straight to a caseworker who works its queue."""
        if not actor.supervisor:
            raise SupervisorsOnly
        if not caseworkers.USERNAME.fullmatch(username):
            # Checked before the audit row is written: the name goes in its detail.
            raise NoSuchCaseworker(username[:64])

        async def work(session: AsyncSession) -> CaseView:
            case = await self._act(
                session, actor=actor, reference=reference, action=Action.ASSIGN, detail=username
            )
            able = await caseworkers.working(session, queue=case.queue, language=case.language)
            target = next((a for a in able if a.username == username), None)
            if target is None:
                raise NoSuchCaseworker(username)
            cases.assign(case, holder=target.id, now=utcnow())
            return await self._summary(session, case)

        return await self._db.transact(work)

    async def assignable(self, actor: Actor, reference: str) -> list[str]:
        """Who a supervisor may hand this case to (no audit row: it shows no case content)."""
        if not actor.supervisor:
            return []
        async with self._db.read() as session:
            case = await cases.by_reference(session, reference=_normal(reference))
            if case is None:
                raise CaseNotFound(reference)
            able = await caseworkers.working(session, queue=case.queue, language=case.language)
            return [a.username for a in able]

    async def close(self, actor: Actor, reference: str, outcome: str) -> CaseView:
        _check_text(outcome, limit=MAX_OUTCOME, refused=BadOutcomeLength)

        async def work(session: AsyncSession) -> CaseView:
            case = await self._act(session, actor=actor, reference=reference, action=Action.CLOSE)
            key = await self._key(session, case)
            cases.close(case, key=key, outcome=outcome, now=utcnow())
            return await self._summary(session, case)

        return await self._db.transact(work)

    async def list_cases(
        self, actor: Actor, *, status: str | None = None, queue: str | None = None
    ) -> list[CaseView]:
        async def work(session: AsyncSession) -> list[CaseView]:
            found = []
            if not queue or queue in QUEUES:  # a queue that does not exist holds nothing
                found = await cases.listing(
                    session,
                    limit=MAX_LIST,
                    visible_to=None if actor.supervisor else (sorted(actor.queues), actor.id),
                    status=status or None,
                    queue=queue or None,
                )
            await audit.record(
                session, actor_kind=ActorKind.CASEWORKER, actor_id=actor.id, action=Action.LIST
            )
            around = await cases.surroundings(session, found)
            return [_summary(case, around) for case in found]

        return await self._db.transact(work)

    async def escalations(self, actor: Actor) -> list[Escalation]:
        """Open cases past their target, for supervisors' banner (others get none).

        No audit row, like the queue counts: a reference, a queue, a priority and a wait
        say nothing of what any witness wrote.
        """
        if not actor.supervisor:
            return []
        now = self._clock()
        async with self._db.read() as session:
            found = []
            escalated = await queues.escalated(session)
            around = await cases.surroundings(session, escalated)
            for case in escalated:
                replied = around.replied.get(case.id)
                if not _still_escalated(case, replied):
                    continue
                since = await self._waiting_since(session, case, replied)
                found.append(
                    Escalation(
                        ref=reference_of(case),
                        queue=case.queue,
                        priority=case.priority,
                        minutes_waiting=max(0, int((now - since).total_seconds() // 60)),
                    )
                )
            return found

    async def audit_log(
        self,
        actor: Actor,
        *,
        reference: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        limit: int = 500,
    ) -> list[AuditView]:
        if len(reference or "") > MAX_REFERENCE_FILTER or len(action or "") > MAX_ACTION_FILTER:
            raise FilterTooLong
        if not actor.supervisor:
            raise SupervisorsOnly
        normal = _normal(reference) if reference else None
        # A reference or an action name that cannot exist matches no entry.
        impossible = (reference and normal is None) or (
            action and not ACTION_NAME.fullmatch(action)
        )

        async def work(session: AsyncSession) -> list[AuditView]:
            rows = []
            if not impossible:
                rows = await audit.trail(
                    session,
                    limit=min(max(limit, 1), 5000),
                    reference=normal,
                    action=action or None,
                    since=since,
                )
            await audit.record(
                session,
                actor_kind=ActorKind.CASEWORKER,
                actor_id=actor.id,
                action=Action.READ_AUDIT,
            )
            keys: dict[uuid.UUID, DataKey | None] = {}
            views = []
            for event, username, ref, witness_id in (
                (r.event, r.username, r.reference, r.witness_id) for r in rows
            ):
                detail = event.detail
                if audit.is_sealed(detail) and witness_id is not None and event.case_id:
                    if witness_id not in keys:
                        keys[witness_id] = await self._witness_key(session, witness_id)
                    detail = _opened(keys[witness_id], event.detail, case_id=event.case_id)
                views.append(
                    AuditView(
                        at=event.at,
                        actor=username or (event.actor_kind if event.actor_id is None else None),
                        action=event.action,
                        ref=ref,
                        detail=detail,
                    )
                )
            return views

        return await self._db.transact(work)

    async def return_stale(self, *, timeout: timedelta) -> int:
        """Claims left untouched past the timeout go back to their queues."""

        async def work(session: AsyncSession) -> int:
            stale = await queues.return_stale(session, untouched_since=utcnow() - timeout)
            for case_id in stale:
                await audit.record(
                    session,
                    actor_kind=ActorKind.SYSTEM,
                    action=Action.CLAIM_EXPIRED,
                    case_id=case_id,
                )
            return len(stale)

        return await self._db.transact(work)

    async def activity(self, actor: Actor, reference: str) -> str:
        """A fingerprint of a case's conversation (message and delivery counts): no content.

        The console polls this to know when to fetch the transcript again; it checks the
        same permission as a read but writes no audit row, because it reveals nothing
        of what anyone said (the fetch that follows is an audited read).
        """
        async with self._db.read() as session:
            case = await cases.by_reference(session, reference=_normal(reference))
            if case is None or not (_holds(actor, case) or actor.supervisor):
                raise CaseNotFound(reference)
            total, settled = await messages.count_for_case(session, case_id=case.id)
            return f"{total}.{settled}"

    async def _key(self, session: AsyncSession, case: Case) -> DataKey | None:
        if case.witness_id is None:
            return None  # the witness erased their data: only aggregate facts are left
        return await self._witness_key(session, case.witness_id)

    async def _witness_key(self, session: AsyncSession, witness_id: uuid.UUID) -> DataKey | None:
        try:
            return await witnesses.data_key_for(session, vault=self._vault, witness_id=witness_id)
        except KeyUnavailable:
            return None

    async def _may_tell_of_claim(self, session: AsyncSession, claimed: Claimed) -> bool:
        """Whether the witness is told of a claim: reachable, not "only when I text first",
        and not possibly under duress (someone else may be reading their phone)."""
        case, witness = claimed.case, claimed.witness
        if DURESS in triage_labels(case):
            return False
        if witness is None or witness.opted_out or witness.erased_at is not None:
            return False
        key = await self._key(session, case)
        if key is None:
            return False
        answers = open_answers(case, key) or {}
        return answers.get(CONTACT) != CONTACT_TEXT_FIRST

    async def _waiting_since(
        self, session: AsyncSession, case: Case, replied: datetime | None
    ) -> datetime:
        """Since when the witness has waited for a caseworker's answer.

        Never answered: since the case opened. Answered before: since the witness first
        wrote after that answer (a reopened case), else since the answer itself.
        """
        if replied is None:
            return case.created_at
        wrote = await queues.first_written_after(session, case_id=case.id, since=replied)
        return wrote or replied

    async def _summary(self, session: AsyncSession, case: Case) -> CaseView:
        return _summary(case, await cases.surroundings(session, [case]))

    async def _detail(
        self,
        session: AsyncSession,
        actor: Actor,
        case: Case,
        *,
        around: cases.Surroundings | None = None,
    ) -> CaseView:
        if around is None:
            around = await cases.surroundings(session, [case])
        summary = _summary(case, around)
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
        return replace(
            summary,
            answers=answers,
            messages=lines,
            outcome=outcome,
            may_call=_may_call(answers),
        )


def _claimed_surroundings(actor: Actor, claimed: Claimed) -> cases.Surroundings | None:
    """What a just-claimed case's detail shows beside it, from what the claim has on hand:
    its witness's alias and the caller's name. None, to look them up as any read does,
    when it names an earlier holder or was escalated (whether it still is turns on replies)."""
    case, witness = claimed.case, claimed.witness
    if case.escalated_at is not None or case.previous_holder not in (None, actor.id):
        return None
    return cases.Surroundings(
        aliases={witness.id: witness.alias} if witness is not None else {},
        usernames={actor.id: actor.username},
        replied={},
    )


def _may_call(answers: dict[str, str] | None) -> bool:
    return answers is not None and answers.get(CONTACT) == CONTACT_CALL


def _claimed_notice(case: Case) -> str:
    return CLAIMED_NOTICE.get(case.language, CLAIMED_NOTICE["en"])


def _still_escalated(case: Case, replied: datetime | None) -> bool:
    """Escalated and not yet acted on: still waiting, or claimed with no reply since the claim.

    The same test the escalation worker alerts by (storage.escalation.needs_someone), so the
    console, the API and staff phones agree.
    """
    if case.escalated_at is None or case.status == CaseStatus.CLOSED:
        return False
    if case.status == CaseStatus.WAITING:
        return True
    return replied is None or case.claimed_at is None or replied < case.claimed_at


def _opened(key: DataKey | None, detail: str | None, *, case_id: uuid.UUID) -> str:
    if key is None or detail is None:
        return "reason sealed; the witness's data was erased"
    return audit.open_detail(key, detail, case_id=case_id) or "reason sealed; it does not open"


def reference_of(case: Case) -> str:
    """A case's reference; an erased witness's case keeps none (ERASED_REFERENCE)."""
    return case.reference or ERASED_REFERENCE


def _summary(case: Case, around: cases.Surroundings) -> CaseView:
    escalated = False
    if case.escalated_at is not None and case.status != CaseStatus.CLOSED:
        escalated = _still_escalated(case, around.replied.get(case.id))
    return CaseView(
        ref=reference_of(case),
        alias=around.aliases.get(case.witness_id, "-") if case.witness_id else "-",
        queue=case.queue,
        priority=case.priority,
        status=case.status,
        language=case.language,
        needs=[n for n in case.needs.split(",") if n],
        created_at=case.created_at,
        assigned_to=around.usernames.get(case.assigned_to) if case.assigned_to else None,
        witness_active_at=case.witness_active_at,
        touched_at=case.touched_at,
        triage=triage_labels(case),
        due_at=case.due_at,
        escalated=escalated,
        previous_holder=(
            around.usernames.get(case.previous_holder) if case.previous_holder else None
        ),
    )
