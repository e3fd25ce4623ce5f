"""Response targets, escalation and staff alerts, with time moved by hand, on both databases.

The escalation worker's passes are run with `run_once(now)` at chosen moments: nothing
here waits for time to pass.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.accounts import Actor
from bot.alerts import BadReason, alert_text, set_due
from bot.app import Services
from bot.targets import ResponseTargets
from bot.workers import EscalationWorker
from storage import caseworkers
from storage.caseworkers import add_caseworker, set_alert_contacts
from storage.crypto import Vault
from storage.db import Database
from storage.models import Case, OutboxItem, utcnow
from storage.models import Caseworker as Account
from storage.outbox import Alert, open_alert
from tests.clock import ManualClock
from tests.handlers.api_helpers import PASSWORD, audit_rows, case_row, seed_cases

ANA_SMS = "+15550107788"
ANA_CHAT = "5550001"
SUPERVISOR_CHAT = "-1009876543210"
OTHER_SMS = "+15550109999"
CHICAGO = ZoneInfo("America/Chicago")
OFFICE = "Mon-Fri 09:00-17:00 America/Chicago"
MINUTE = 60.0


async def staff(
    db: Database,
    vault: Vault,
    username: str,
    *,
    queues: tuple[str, ...] = ("relocation",),
    sms: str | None = None,
    telegram: str | None = None,
    supervisor: bool = False,
    disabled: bool = False,
) -> Actor:
    async with db.write() as session:
        account = await add_caseworker(
            session,
            username=username,
            password=PASSWORD,
            queues=list(queues),
            languages=["en", "es"],
            supervisor=supervisor,
        )
        set_alert_contacts(account, vault=vault, sms=sms, telegram=telegram)
        if disabled:
            account.disabled_at = utcnow()
        return Actor.of(account)


async def targeted_case(
    services: Services,
    clock: ManualClock,
    *,
    priority: str = "urgent",
    queue: str = "relocation",
    targets: ResponseTargets | None = None,
) -> str:
    """A waiting case opened the way the desk opens one, given its target as the desk does."""
    [reference] = await seed_cases(
        services.db, services.vault, priority=priority, queue=queue, created_at=clock()
    )
    async with services.db.write() as session:
        case = (await session.execute(select(Case).where(Case.reference == reference))).scalar_one()
        set_due(case, targets=targets or services.settings.targets, now=clock())
    return reference


def worker(services: Services, clock: ManualClock, **overrides: object) -> EscalationWorker:
    settings = services.settings
    options: dict[str, object] = {
        "db": services.db,
        "vault": services.vault,
        "targets": settings.targets,
        "repeat_minutes": settings.alert_repeat_minutes,
        "clock": clock,
        **overrides,
    }
    return EscalationWorker(**options)  # type: ignore[arg-type]


async def alerts(services: Services) -> list[tuple[str, Alert]]:
    """Every alert owed so far (still pending here: no outbox worker runs), opened."""
    async with services.db.read() as session:
        query = select(OutboxItem).where(OutboxItem.kind == "alert").order_by(OutboxItem.created_at)
        items = list((await session.execute(query)).scalars())
    opened = [(item.channel, open_alert(item, vault=services.vault)) for item in items]
    return [(channel, alert) for channel, alert in opened if alert is not None]


def text(reference: str, minutes: int, reason: str = "overdue") -> str:
    return (
        f"Safe Passage alert: case {reference} (relocation, urgent) "
        f"waiting {minutes} min: {reason}. Open the console."
    )


@pytest.fixture
def clock() -> ManualClock:
    # Casework stamps claims and replies with the real time: the clock starts there.
    return ManualClock(now=utcnow())


async def test_an_unclaimed_urgent_case_past_its_target_alerts_on_call_staff(
    services: Services, clock: ManualClock
) -> None:
    db, vault = services.db, services.vault
    await staff(db, vault, "ana", sms=ANA_SMS, telegram=ANA_CHAT)
    await staff(db, vault, "ben")  # works the queue, never opted in
    await staff(db, vault, "cy", queues=("support",), sms=OTHER_SMS)  # another queue
    await staff(db, vault, "eve", sms=OTHER_SMS, disabled=True)
    await staff(db, vault, "sup", queues=(), supervisor=True, telegram=SUPERVISOR_CHAT)
    reference = await targeted_case(services, clock)
    escalation = worker(services, clock)

    clock.advance(14 * MINUTE)
    early = await escalation.run_once(clock())
    assert (early.escalated, early.alerted, early.owed) == (0, 0, 0)

    clock.advance(2 * MINUTE)
    done = await escalation.run_once(clock())
    assert (done.escalated, done.alerted, done.owed) == (1, 1, 3)
    owed = await alerts(services)
    assert sorted((channel, alert.address) for channel, alert in owed) == [
        ("sms", ANA_SMS),
        ("telegram", SUPERVISOR_CHAT),
        ("telegram", ANA_CHAT),
    ]
    assert {alert.text for _, alert in owed} == {text(reference, 16)}
    case = await case_row(db, reference)
    assert case.escalated_at == clock() and case.alerted_at == clock()
    assert await audit_rows(db, action="case.escalated", reference=reference) == 1


async def test_alerts_repeat_after_the_interval_and_never_sooner(
    services: Services, clock: ManualClock
) -> None:
    await staff(services.db, services.vault, "ana", sms=ANA_SMS)
    reference = await targeted_case(services, clock)
    escalation = worker(services, clock, repeat_minutes=15)

    clock.advance(16 * MINUTE)
    assert (await escalation.run_once(clock())).owed == 1
    for step in (1 * MINUTE, 5 * MINUTE, 8 * MINUTE + 59):
        clock.advance(step)
        assert (await escalation.run_once(clock())).owed == 0
    clock.advance(1)  # exactly 15 minutes after the first alert
    assert (await escalation.run_once(clock())).owed == 1
    assert [alert.text for _, alert in await alerts(services)] == [
        text(reference, 16),
        text(reference, 31),
    ]
    # Escalated once; alerted as often as the interval allows.
    assert await audit_rows(services.db, action="case.escalated", reference=reference) == 1


async def test_alerts_go_on_after_a_claim_until_the_holder_replies(
    services: Services, clock: ManualClock
) -> None:
    ana = await staff(services.db, services.vault, "ana", sms=ANA_SMS)
    reference = await targeted_case(services, clock)
    escalation = worker(services, clock, repeat_minutes=15)
    clock.advance(16 * MINUTE)
    assert (await escalation.run_once(clock())).owed == 1

    claimed = await services.casework.claim(ana, "relocation")
    assert claimed is not None and claimed.ref == reference
    clock.advance(15 * MINUTE)
    assert (await escalation.run_once(clock())).owed == 1
    [*_, (_, unanswered)] = await alerts(services)
    assert unanswered.text.endswith("waiting 31 min: no reply since claimed. Open the console.")

    await services.casework.reply(ana, reference, "Hello, this is Ana from the program.")
    for _ in range(3):
        clock.advance(15 * MINUTE)
        assert (await escalation.run_once(clock())).owed == 0
    assert len(await alerts(services)) == 2


async def test_alerts_stop_once_the_case_is_closed(services: Services, clock: ManualClock) -> None:
    sup = await staff(
        services.db, services.vault, "sup", queues=(), supervisor=True, telegram=SUPERVISOR_CHAT
    )
    reference = await targeted_case(services, clock)
    escalation = worker(services, clock, repeat_minutes=15)
    clock.advance(16 * MINUTE)
    assert (await escalation.run_once(clock())).owed == 1

    await services.casework.close(sup, reference, "referred elsewhere")
    clock.advance(60 * MINUTE)
    assert (await escalation.run_once(clock())).alerted == 0
    assert len(await alerts(services)) == 1


async def test_a_case_answered_in_time_is_never_escalated(
    services: Services, clock: ManualClock
) -> None:
    ana = await staff(services.db, services.vault, "ana", sms=ANA_SMS)
    reference = await targeted_case(services, clock)
    await services.casework.claim(ana, "relocation")
    await services.casework.reply(ana, reference, "Hello, this is Ana.")
    clock.advance(120 * MINUTE)
    done = await worker(services, clock).run_once(clock())
    assert (done.escalated, done.alerted) == (0, 0)
    assert (await case_row(services.db, reference)).escalated_at is None


async def test_a_case_with_nobody_on_call_is_escalated_and_audited_all_the_same(
    services: Services, clock: ManualClock
) -> None:
    reference = await targeted_case(services, clock)
    clock.advance(16 * MINUTE)
    done = await worker(services, clock).run_once(clock())
    assert (done.escalated, done.alerted, done.owed) == (1, 1, 0)
    assert await audit_rows(services.db, action="case.escalated", reference=reference) == 1


def test_office_hours_push_a_normal_case_to_the_next_open_day() -> None:
    targets = ResponseTargets.parse(minutes="urgent=15,high=120,normal=60", office_hours=OFFICE)
    friday_evening = datetime(2026, 11, 27, 18, 30, tzinfo=CHICAGO).astimezone(UTC)
    normal = Case(priority="normal", created_at=friday_evening)
    set_due(normal, targets=targets, now=friday_evening)
    assert normal.due_at == datetime(2026, 11, 30, 10, 0, tzinfo=CHICAGO)
    # Urgent targets run on the clock at any hour: someone on call must see it.
    urgent = Case(priority="urgent", created_at=friday_evening)
    set_due(urgent, targets=targets, now=friday_evening)
    assert urgent.due_at == friday_evening + timedelta(minutes=15)
    # A case not stored yet counts from now.
    fresh = Case(priority="normal")
    set_due(fresh, targets=targets, now=friday_evening)
    assert fresh.due_at == normal.due_at


async def test_a_case_without_a_target_gets_one_and_waits_for_the_next_open_day(
    services: Services,
) -> None:
    await staff(services.db, services.vault, "ana", sms=ANA_SMS)
    targets = ResponseTargets.parse(minutes="normal=60", office_hours=OFFICE)
    friday_evening = datetime(2026, 11, 27, 18, 30, tzinfo=CHICAGO).astimezone(UTC)
    # Opened before targets were kept: no due_at.
    [reference] = await seed_cases(services.db, services.vault, created_at=friday_evening)
    clock = ManualClock(now=datetime(2026, 11, 28, 12, 0, tzinfo=CHICAGO).astimezone(UTC))
    escalation = worker(services, clock, targets=targets)

    saturday = await escalation.run_once(clock())
    assert (saturday.targeted, saturday.escalated) == (1, 0)
    monday_ten = datetime(2026, 11, 30, 10, 0, tzinfo=CHICAGO)
    assert (await case_row(services.db, reference)).due_at == monday_ten

    clock.now = monday_ten.astimezone(UTC) - timedelta(seconds=1)
    assert (await escalation.run_once(clock())).escalated == 0
    clock.advance(1)
    monday = await escalation.run_once(clock())
    assert (monday.targeted, monday.escalated, monday.owed) == (0, 1, 1)
    [(_, alert)] = await alerts(services)
    assert f"case {reference} (relocation, normal)" in alert.text


async def test_out_of_hours_only_urgent_cases_alert_anyone(services: Services) -> None:
    await staff(services.db, services.vault, "ana", sms=ANA_SMS)
    targets = ResponseTargets.parse(minutes="urgent=15,normal=60", office_hours=OFFICE)
    thursday_afternoon = datetime(2026, 11, 26, 15, 50, tzinfo=CHICAGO).astimezone(UTC)
    clock = ManualClock(now=thursday_afternoon)
    normal = await targeted_case(services, clock, priority="normal", targets=targets)
    escalation = worker(services, clock, targets=targets, repeat_minutes=15)

    clock.advance(61 * MINUTE)  # 16:51, the office still open
    assert (await escalation.run_once(clock())).owed == 1
    clock.advance(20 * MINUTE)  # 17:11, closed: no repeat all night
    urgent = await targeted_case(services, clock, priority="urgent", targets=targets)
    assert (await escalation.run_once(clock())).owed == 0
    clock.advance(16 * MINUTE)  # the urgent case is overdue: it pages at any hour
    night = await escalation.run_once(clock())
    assert (night.escalated, night.owed) == (1, 1)
    clock.now = datetime(2026, 11, 27, 9, 0, tzinfo=CHICAGO).astimezone(UTC)
    assert (await escalation.run_once(clock())).alerted == 2  # both, at opening
    references = [alert.text.split()[4] for _, alert in await alerts(services)]
    assert references[:2] == [normal, urgent]
    assert sorted(references[2:]) == sorted([normal, urgent])


async def test_two_processes_escalate_and_alert_a_case_once(
    services: Services, clock: ManualClock, database_url: str
) -> None:
    await staff(services.db, services.vault, "ana", sms=ANA_SMS, telegram=ANA_CHAT)
    references = [await targeted_case(services, clock) for _ in range(5)]
    clock.advance(16 * MINUTE)
    # A second Database on the same URL is what a second server process holds.
    other = Database(database_url)
    try:
        passes = await asyncio.gather(
            worker(services, clock).run_once(clock()),
            worker(services, clock, db=other).run_once(clock()),
            worker(services, clock, db=other).run_once(clock()),
        )
    finally:
        await other.dispose()
    assert sum(p.escalated for p in passes) == 5
    assert sum(p.alerted for p in passes) == 5
    assert len(await alerts(services)) == 10
    for reference in references:
        assert await audit_rows(services.db, action="case.escalated", reference=reference) == 1


async def test_alert_reasons_are_labels_never_a_witness_words(services: Services) -> None:
    [reference] = await seed_cases(services.db, services.vault, priority="urgent")
    case = await case_row(services.db, reference)
    with pytest.raises(BadReason):
        alert_text(case, reason="He has a gun at 4417 Juniper", now=utcnow())
    assert alert_text(case, reason="danger", now=case.created_at).endswith(
        "waiting 0 min: danger. Open the console."
    )


async def test_a_contact_moved_to_another_account_or_field_does_not_open(
    services: Services,
) -> None:
    db, vault = services.db, services.vault
    await staff(db, vault, "ana", sms=ANA_SMS, telegram=ANA_CHAT)
    await staff(db, vault, "ben", sms=OTHER_SMS)
    async with db.write() as session:
        ana = await caseworkers.by_username(session, username="ana")
        ben = await caseworkers.by_username(session, username="ben")
        assert ana is not None and ben is not None
        assert caseworkers.alert_contacts(ana, vault=vault) == [
            caseworkers.AlertContact("sms", ANA_SMS),
            caseworkers.AlertContact("telegram", ANA_CHAT),
        ]
        ben.alert_sms_sealed = ana.alert_sms_sealed
        ana.alert_telegram_sealed, ana.alert_sms_sealed = ana.alert_sms_sealed, None
    async with db.read() as session:
        found = list((await session.execute(select(Account).order_by(Account.username))).scalars())
    assert [caseworkers.alert_contacts(a, vault=vault) for a in found] == [[], []]


def test_alert_contacts_must_be_numbers(services: Services) -> None:
    account = Account(username="ana", password_hash="-")
    for sms, telegram in (("555-0107", None), ("call me", None), (None, "@ana")):
        with pytest.raises(caseworkers.InvalidAlertContact) as refused:
            set_alert_contacts(account, vault=services.vault, sms=sms, telegram=telegram)
        # The refusal never repeats what was typed: it may be a real number.
        assert (sms or telegram or "") not in str(refused.value)
    assert account.alert_sms_sealed is None and account.alert_telegram_sealed is None
    set_alert_contacts(account, vault=services.vault, sms="+1 (555) 010-7788")
    assert caseworkers.alert_contacts(account, vault=services.vault) == [
        caseworkers.AlertContact("sms", ANA_SMS)
    ]
