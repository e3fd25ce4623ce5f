"""Response targets and staff alerts: when a case is due, and who is told when it is missed.

Every open case has `due_at`, from its priority and the office hours (bot/targets.py). A
case past it while it waits unclaimed, or while its holder has not written to the
witness since claiming it, is escalated: marked once, audited, and on-call staff are
alerted through the outbox. Alerts repeat no more often than the repeat interval, and
stop once someone acts (the holder replies, or the case closes). Outside office hours
only urgent cases alert anyone.

An alert carries no witness data: the case reference, queue, priority, minutes waiting
and a short reason label, nothing the witness wrote or is.

Escalation is claimed with one UPDATE ... WHERE per step, so two processes sharing a
PostgreSQL database never escalate or alert the same case twice in one interval.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.intake.model import Priority
from bot.intake.script import PROGRAM_NAME
from storage import audit, cases, caseworkers, escalation, outbox
from storage.crypto import Vault
from storage.models import Case
from storage.states import Action, ActorKind, CaseStatus

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.targets import ResponseTargets
    from storage.db import Database

log = logging.getLogger(__name__)

# The audit action Casework writes in the transaction that owes a caseworker's reply
# (bot/casework.py Action.REPLY); named here so this module need not import casework.
OVERDUE = "overdue"
UNANSWERED = "no reply since claimed"
# A witness writing faster than a person reads (bot/flood.py); said once per flood.
FLOOD = "message flood"
# A reason is a label chosen by our code ("danger", "duress", "overdue"), never words
# from a witness: anything else is refused before it can reach a staff phone.
REASON = re.compile(r"[a-z][a-z0-9 ,_-]{0,39}")
# Waiting cases given a target per pass when they had none (opened before targets existed).
BACKFILL_BATCH = 200


class BadReason(ValueError):
    """An alert reason is not a short lowercase label."""


def set_due(case: Case, *, targets: ResponseTargets, now: datetime) -> None:
    """Give a case its response target, counted from when it opened (or now, if not yet)."""
    since = case.created_at or now
    cases.set_due(case, due_at=targets.due(Priority(case.priority), since=since))


def alert_text(case: Case, *, reason: str, now: datetime) -> str:
    """The alert as staff read it: no witness data, only what finds the case in the console."""
    if not REASON.fullmatch(reason):
        raise BadReason("an alert reason must be a short lowercase label")
    opened = case.created_at or now
    minutes = max(0, int((now - opened).total_seconds() // 60))
    return (
        f"{PROGRAM_NAME} alert: case {case.reference} ({case.queue}, {case.priority}) "
        f"waiting {minutes} min: {reason}. Open the console."
    )


async def alert_staff(
    session: AsyncSession, *, vault: Vault, case: Case, reason: str, now: datetime
) -> int:
    """Owe every on-call caseworker of the case's queue (and every on-call supervisor) an
    alert, one per contact they opted in with; returns how many alerts were owed.

    Sets `case.alerted_at`, which caps how often the escalation worker repeats alerts.
    The caller commits, then rings the outbox doorbell.
    """
    text = alert_text(case, reason=reason, now=now)
    owed = 0
    for account in await caseworkers.on_call(session, queue=case.queue):
        for contact in caseworkers.alert_contacts(account, vault=vault):
            await outbox.enqueue_alert(
                session,
                vault=vault,
                witness_id=case.witness_id,
                case_id=case.id,
                channel=contact.channel,
                address=contact.address,
                text=text,
                now=now,
            )
            owed += 1
    cases.note_alerted(case, now=now)
    if owed:
        log.info("case %s: %d staff alerts owed (%s)", case.reference, owed, reason)
    else:
        log.warning("case %s needs someone, but no staff opted in to alerts", case.reference)
    return owed


def service_alert_text(reason: str) -> str:
    """An alert about the service itself, not a case: a label, nothing of any witness."""
    if not REASON.fullmatch(reason):
        raise BadReason("an alert reason must be a short lowercase label")
    return f"{PROGRAM_NAME} alert: {reason}. No case is named; check the service logs."


async def alert_supervisors(
    db: Database, *, vault: Vault, reason: str, on_owed: Callable[[], None], now: datetime
) -> int:
    """Owe every on-call supervisor an alert about the service itself; returns how many.

    It goes through the outbox like any alert, retried until delivered, naming no
    witness and no case.
    """
    text = service_alert_text(reason)
    owed = 0
    async with db.write() as session:
        supervisors = [a for a in await caseworkers.on_call(session, queue="") if a.is_supervisor]
        for account in supervisors:
            for contact in caseworkers.alert_contacts(account, vault=vault):
                await outbox.enqueue_alert(
                    session,
                    vault=vault,
                    witness_id=None,
                    case_id=None,
                    channel=contact.channel,
                    address=contact.address,
                    text=text,
                    now=now,
                )
                owed += 1
    if owed:
        on_owed()
    else:
        log.warning("%s, but no supervisor opted in to alerts", reason)
    return owed


@dataclass(frozen=True)
class EscalationPass:
    """What one pass did: targets given, cases escalated, cases alerted, alerts owed."""

    targeted: int = 0
    escalated: int = 0
    alerted: int = 0
    owed: int = 0


async def escalate(
    session: AsyncSession,
    *,
    vault: Vault,
    targets: ResponseTargets,
    now: datetime,
    repeat: timedelta,
) -> EscalationPass:
    """One escalation pass, in the caller's transaction."""
    targeted = await _give_targets(session, targets=targets, now=now)
    escalated = await escalation.claim_to_escalate(session, now=now)
    for case in escalated:
        await audit.record(
            session,
            actor_kind=ActorKind.SYSTEM,
            action=Action.ESCALATED,
            case_id=case.id,
            detail=case.priority,
        )
        log.info("case %s escalated: past its response target", case.reference)
    # Out of hours only urgent cases page anyone; the rest are alerted when the office
    # opens, rather than every interval all night.
    alerting = await escalation.claim_to_alert(
        session,
        now=now,
        not_since=now - repeat,
        priority=None if targets.is_open(now) else Priority.URGENT.value,
    )
    owed = 0
    for case in alerting:
        reason = OVERDUE if case.status == CaseStatus.WAITING else UNANSWERED
        owed += await alert_staff(session, vault=vault, case=case, reason=reason, now=now)
    return EscalationPass(
        targeted=targeted, escalated=len(escalated), alerted=len(alerting), owed=owed
    )


async def _give_targets(session: AsyncSession, *, targets: ResponseTargets, now: datetime) -> int:
    """Waiting cases with no target yet get one (cases opened before targets were kept).

    Claimed ones are left alone: the claim-timeout worker locks claimed cases with SKIP
    LOCKED, and would pass over one held here. A claimed case without a target gets one
    when it is back in its queue.
    """
    found = await escalation.without_target(session, limit=BACKFILL_BATCH)
    for case in found:
        set_due(case, targets=targets, now=now)
    return len(found)
