"""Escalation end to end: an overdue case reaches on-call staff's phones through the fakes.

A witness texts the live service with canary values; the case is marked urgent as
triage would mark it; time is moved by hand and the escalation worker's passes run at
chosen moments. The alerts go out through the real outbox, the real twilio client and
the real aiogram Bot, to the fake Twilio and the fake Bot API. Nothing waits for time
to pass: `eventually` only waits for the outbox to deliver what a pass owed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from bot.accounts import Actor
from bot.alerts import alert_staff, set_due
from bot.app import build_services
from bot.relay import owe_reply
from bot.workers import EscalationWorker
from storage.caseworkers import add_caseworker, set_alert_contacts
from storage.crypto import Vault
from storage.db import Database
from storage.models import Case, OutboxItem, Witness, utcnow
from tests.canaries import find_canaries, log_lines, table_rows
from tests.clock import ManualClock
from tests.conftest import make_settings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.handlers.api_helpers import PASSWORD, seed_cases
from tests.handlers.sms_helpers import Phone
from tests.handlers.telegram_helpers import SECRET
from tests.intake_scripts import ENGLISH_MOVE, with_story
from tests.live import LiveService, eventually, running_service

WITNESS_PHONE = "+15550193377"
STORY = "Zanzibar-Canary saw the blue van outside 2291 Larkspur"
CODE_WORD = "tangerine-heron"
STAFF_SMS = "+15550104477"
STAFF_CHAT = 777000123
WITNESS_DATA = [WITNESS_PHONE, STORY, CODE_WORD]
STAFF_DATA = [STAFF_SMS, str(STAFF_CHAT)]
MINUTE = 60.0
ALERT = re.compile(
    r"Safe Passage alert: case [0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4} "
    r"\(relocation, urgent\) waiting \d+ min: (overdue|no reply since claimed)\. "
    r"Open the console\."
)


@dataclass
class Staffed:
    live: LiveService
    twilio: FakeTwilio
    telegram: FakeTelegram
    phone: Phone
    clock: ManualClock

    def worker(self) -> EscalationWorker:
        services = self.live.services
        return EscalationWorker(
            db=services.db,
            vault=services.vault,
            targets=services.settings.targets,
            repeat_minutes=services.settings.alert_repeat_minutes,
            clock=self.clock,
            on_owed=services.doorbell.ring,
        )

    def staff_sms(self) -> list[str]:
        return [sms.body for sms in self.twilio.sent_to(STAFF_SMS)]

    def staff_chat(self) -> list[str]:
        return self.telegram.texts_to(STAFF_CHAT)


def channels(twilio: FakeTwilio, telegram: FakeTelegram) -> dict[str, Any]:
    return {
        "twilio_account_sid": twilio.account_sid,
        "twilio_auth_token": twilio.auth_token,
        "twilio_phone_number": twilio.phone_number,
        "twilio_api_base": twilio.base_url,
        "telegram_bot_token": telegram.token,
        "telegram_api_base": telegram.base_url,
        "telegram_webhook_secret": SECRET,
    }


@asynccontextmanager
async def staffed_service(
    tmp_path: Path, database_url: str, clock: ManualClock
) -> AsyncIterator[Staffed]:
    async with (
        FakeTwilio() as twilio,
        FakeTelegram() as telegram,
        running_service(
            data_dir=tmp_path / "data",
            database_url=database_url,
            clock=clock,
            public_url=True,
            **channels(twilio, telegram),
        ) as live,
        httpx.AsyncClient(timeout=30) as client,
    ):
        phone = Phone(live=live, twilio=twilio, client=client, number=WITNESS_PHONE)
        yield Staffed(live=live, twilio=twilio, telegram=telegram, phone=phone, clock=clock)


async def on_call(
    db: Database,
    vault: Vault,
    username: str,
    *,
    sms: str | None = None,
    telegram: str | None = None,
    supervisor: bool = False,
) -> Actor:
    async with db.write() as session:
        account = await add_caseworker(
            session,
            username=username,
            password=PASSWORD,
            queues=["relocation"],
            languages=["en", "es"],
            supervisor=supervisor,
        )
        set_alert_contacts(account, vault=vault, sms=sms, telegram=telegram)
        return Actor.of(account)


async def made_urgent(live: LiveService, clock: ManualClock) -> str:
    """The witness's one case, made urgent the way triage makes it, given its target."""
    services = live.services
    async with services.db.write() as session:
        case = (await session.execute(select(Case))).scalar_one()
        case.priority, case.priority_rank, case.triage = "urgent", 0, "danger words"
        set_due(case, targets=services.settings.targets, now=clock())
        return case.reference


async def pending_alerts(db: Database) -> int:
    async with db.read() as session:
        query = select(OutboxItem).where(
            OutboxItem.kind == "alert", OutboxItem.status.in_(("pending", "sending"))
        )
        return len(list((await session.execute(query)).scalars()))


async def test_an_overdue_urgent_case_reaches_staff_phones_without_witness_data(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = ManualClock(now=utcnow())
    async with staffed_service(tmp_path, database_url, clock) as staffed:
        live, services = staffed.live, staffed.live.services
        await staffed.phone.walk(with_story(ENGLISH_MOVE, STORY, code_word=CODE_WORD))
        ana = await on_call(services.db, services.vault, "ana", sms=STAFF_SMS)
        await on_call(services.db, services.vault, "sup", telegram=str(STAFF_CHAT), supervisor=True)
        reference = await made_urgent(live, clock)
        escalation = staffed.worker()

        clock.advance(16 * MINUTE)
        assert (await escalation.run_once(clock())).owed == 2
        await eventually(lambda: staffed.staff_sms() and staffed.staff_chat(), what="alerts")
        [sms], [chat] = staffed.staff_sms(), staffed.staff_chat()
        assert sms == chat and ALERT.fullmatch(sms) and reference in sms
        assert find_canaries(WITNESS_DATA, [("alert", sms.encode())]) == []

        # Not again before the repeat interval (15 minutes by default), then again.
        clock.advance(5 * MINUTE)
        assert (await escalation.run_once(clock())).owed == 0

        async def none_pending() -> bool:
            # The fakes hear an alert a moment before the outbox records it as sent.
            return await pending_alerts(services.db) == 0

        await eventually(none_pending, what="the alerts recorded as sent")
        clock.advance(10 * MINUTE)
        assert (await escalation.run_once(clock())).owed == 2
        await eventually(lambda: len(staffed.staff_sms()) == 2, what="the repeated alert")
        await eventually(lambda: len(staffed.staff_chat()) == 2, what="the repeated alert")

        # Someone acts: the holder writes to the witness. The alerts stop.
        assert await services.casework.claim(ana, "relocation") is not None
        await services.casework.reply(ana, reference, "Hello, this is Ana from the program.")
        await eventually(lambda: staffed.twilio.sent_to(WITNESS_PHONE), what="the reply")
        for _ in range(4):
            clock.advance(15 * MINUTE)
            assert (await escalation.run_once(clock())).owed == 0
        assert len(staffed.staff_sms()) == len(staffed.staff_chat()) == 2

        rows = await table_rows(services.db)
        assert find_canaries(WITNESS_DATA + STAFF_DATA, rows) == []
    assert find_canaries(WITNESS_DATA + STAFF_DATA, log_lines(caplog)) == []


async def seeded(tmp_path: Path, database_url: str, clock: ManualClock) -> str:
    """Before the service starts: one urgent case, given its target, and one staff phone."""
    services = build_services(make_settings(tmp_path / "data", database_url))
    await services.start()
    try:
        [reference] = await seed_cases(
            services.db, services.vault, priority="urgent", created_at=clock()
        )
        async with services.db.write() as session:
            case = (await session.execute(select(Case))).scalar_one()
            set_due(case, targets=services.settings.targets, now=clock())
        await on_call(services.db, services.vault, "ana", sms=STAFF_SMS)
    finally:
        await services.close()
    return reference


async def alert_items(db: Database) -> list[tuple[str, str | None]]:
    async with db.read() as session:
        query = select(OutboxItem).where(OutboxItem.kind == "alert")
        return [(i.status, i.last_error) for i in (await session.execute(query)).scalars()]


async def test_the_service_escalates_on_its_own_clock(tmp_path: Path, database_url: str) -> None:
    clock = ManualClock()
    reference = await seeded(tmp_path, database_url, clock)
    clock.advance(16 * MINUTE)
    async with (
        FakeTwilio() as twilio,
        FakeTelegram() as telegram,
        running_service(
            data_dir=tmp_path / "data",
            database_url=database_url,
            clock=clock,
            **channels(twilio, telegram),
        ) as live,
    ):
        # The worker the app registered makes its first pass as the service starts.
        await eventually(lambda: twilio.sent_to(STAFF_SMS), what="the escalation worker")
        [sms] = twilio.sent_to(STAFF_SMS)
        assert f"case {reference} (relocation, urgent) waiting 16 min: overdue" in sms.body
        async with live.services.db.read() as session:
            case = (await session.execute(select(Case))).scalar_one()
        assert case.escalated_at == case.alerted_at == clock()


async def test_a_staff_number_that_refuses_texts_fails_the_alert_not_the_witness(
    tmp_path: Path, database_url: str
) -> None:
    clock = ManualClock()
    await seeded(tmp_path, database_url, clock)
    clock.advance(16 * MINUTE)
    async with FakeTwilio() as twilio, FakeTelegram() as telegram:
        twilio.fail_next(400, code=21610)
        async with running_service(
            data_dir=tmp_path / "data",
            database_url=database_url,
            clock=clock,
            **channels(twilio, telegram),
        ) as live:
            failed = ("failed", "twilio 21610 opted out")
            await eventually(
                lambda: _equals(alert_items(live.services.db), [failed]), what="the refusal"
            )
            async with live.services.db.read() as session:
                witness = (await session.execute(select(Witness))).scalar_one()
            assert not witness.opted_out


async def test_an_alert_about_a_case_closed_before_it_went_is_dropped(
    tmp_path: Path, database_url: str
) -> None:
    clock = ManualClock()
    await seeded(tmp_path, database_url, clock)
    async with FakeTwilio() as twilio, FakeTelegram() as telegram:
        async with running_service(
            data_dir=tmp_path / "data",
            database_url=database_url,
            clock=clock,
            **channels(twilio, telegram),
        ) as live:
            services = live.services
            async with services.db.write() as session:
                case = (await session.execute(select(Case))).scalar_one()
                await alert_staff(
                    session, vault=services.vault, case=case, reason="danger", now=clock()
                )
                await session.execute(update(Case).values(status="closed", closed_at=clock()))
            services.doorbell.ring()
            await eventually(
                lambda: _equals(alert_items(services.db), [("failed", "case closed")]),
                what="the dropped alert",
            )
        assert twilio.sent_to(STAFF_SMS) == []


async def test_an_alert_is_not_held_behind_a_message_owed_to_the_witness(
    tmp_path: Path, database_url: str
) -> None:
    clock = ManualClock()
    await seeded(tmp_path, database_url, clock)
    async with (
        FakeTwilio() as twilio,
        FakeTelegram() as telegram,
        running_service(
            data_dir=tmp_path / "data",
            database_url=database_url,
            clock=clock,
            **channels(twilio, telegram),
        ) as live,
    ):
        services = live.services
        async with services.db.write() as session:
            case = (await session.execute(select(Case))).scalar_one()
            await owe_reply(
                session, vault=services.vault, case=case, text="Hello", now=services.clock()
            )
            await session.flush()
            # A reply to the witness, backing off after a provider failure: due in an hour.
            later = clock() + timedelta(hours=1)
            await session.execute(update(OutboxItem).values(next_attempt_at=later))
            await alert_staff(
                session, vault=services.vault, case=case, reason="danger", now=clock()
            )
        services.doorbell.ring()
        await eventually(lambda: twilio.sent_to(STAFF_SMS), within=3, what="the alert")


async def _equals(found: Any, expected: Any) -> bool:
    return bool(await found == expected)
