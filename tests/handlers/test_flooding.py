"""Flooding, on both databases: a witness texting hundreds of times a minute is kept and
heard, answered once, alerted once, and never holds up anyone else's replies.

Time is a ManualClock: a flood is many messages at one instant, and the pace falls back
when the clock is moved on. Nothing here waits for time to pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from bot.app import Services, build_services
from bot.desk import InboundMessage, Receipt
from bot.intake import messages as texts
from bot.intake.model import Language
from bot.settings import Settings
from storage import messages, outbox, witnesses
from storage.caseworkers import add_caseworker, set_alert_contacts
from storage.models import AuditEvent, Case, Conversation, Message, OutboxItem, Witness
from storage.states import OutboxKind, OutboxStatus
from tests.clock import ManualClock
from tests.conftest import make_settings
from tests.fakes.twilio import new_sid
from tests.handlers.api_helpers import PASSWORD
from tests.handlers.sms_helpers import WITNESS, Phone, sms_service
from tests.intake_scripts import ENGLISH_LOCKS, REFERENCE
from tests.live import eventually

OTHER = "+15550142300"
SUPERVISOR_SMS = "+15550107788"
FLOOD_TEXT = "please answer me"
NOTICE = texts.FLOOD_NOTICE[0][Language.EN]
NOTICE_ES = texts.FLOOD_NOTICE[0][Language.ES]
ACK = texts.ACK_WAITING[0][Language.EN]
# More than a flood's worth of minutes between one intake answer and the next.
CALM = 61.0


@asynccontextmanager
async def desk_service(
    tmp_path: Path, database_url: str, **settings: Any
) -> AsyncIterator[tuple[Services, ManualClock]]:
    clock = ManualClock()
    built = build_services(make_settings(tmp_path / "data", database_url, **settings), clock=clock)
    await built.start()
    try:
        yield built, clock
    finally:
        await built.close()


async def on_call_supervisor(services: Services) -> None:
    async with services.db.write() as session:
        account = await add_caseworker(
            session,
            username="sam",
            password=PASSWORD,
            queues=[],
            languages=["en", "es"],
            supervisor=True,
        )
        set_alert_contacts(account, vault=services.vault, sms=SUPERVISOR_SMS)


async def text(
    services: Services,
    body: str,
    *,
    address: str = WITNESS,
    channel: str = "sms",
    hint: Language | None = None,
) -> Receipt:
    return await services.desk.receive(
        InboundMessage(
            channel=channel,
            address=address,
            text=body,
            provider_id=new_sid("SM"),
            language_hint=hint,
        )
    )


async def walk_calmly(
    services: Services, clock: ManualClock, script: list[str], **kwargs: Any
) -> Receipt:
    """The intake at a person's pace: its answers never count towards a flood."""
    receipt = None
    for body in script:
        receipt = await text(services, body, **kwargs)
        clock.advance(CALM)
    assert receipt is not None
    return receipt


def said(receipts: list[Receipt]) -> list[str]:
    return [reply.text for receipt in receipts for reply in receipt.replies]


async def witness_id(services: Services, alias: str | None) -> Any:
    async with services.db.read() as session:
        return await session.scalar(select(Witness.id).where(Witness.alias == alias))


async def bodies(services: Services, witness: Any, *, direction: str) -> list[str]:
    """What was stored of one witness's messages in one direction, opened, oldest first."""
    async with services.db.read() as session:
        key = await witnesses.data_key_for(session, vault=services.vault, witness_id=witness)
        query = (
            select(Message)
            .where(Message.witness_id == witness, Message.direction == direction)
            .order_by(Message.created_at)
        )
        found = (await session.execute(query)).scalars().all()
        return [messages.open_body(m, key) or "" for m in found]


async def count(services: Services, *where: Any, model: type = Message) -> int:
    async with services.db.read() as session:
        query = select(func.count()).select_from(model).where(*where)
        return int(await session.scalar(query) or 0)


async def alerts_owed(services: Services) -> int:
    return await count(services, OutboxItem.kind == OutboxKind.ALERT, model=OutboxItem)


async def only_case(services: Services) -> Case:
    async with services.db.read() as session:
        return (await session.execute(select(Case))).scalar_one()


# The flood of 500


async def test_a_flood_of_500_texts_is_kept_answered_once_and_alerted_once(
    tmp_path: Path, database_url: str
) -> None:
    clock = ManualClock()
    async with sms_service(tmp_path, database_url, clock=clock) as (live, twilio, phone):
        services = live.services
        await on_call_supervisor(services)
        for body in ENGLISH_LOCKS:
            intake = await phone.text(body)
            clock.advance(CALM)
        found = REFERENCE.search("\n".join(intake))
        assert found is not None
        other = Phone(live=live, twilio=twilio, client=phone.client, number=OTHER)

        # The first texts of the flood through Twilio's webhook, the bulk through the
        # desk, many at once, with another witness starting their intake in the middle,
        # and the last ones through the webhook again.
        first = [await phone.text(f"{FLOOD_TEXT} {n}") for n in range(20)]
        receipts: list[Receipt] = []
        welcome: list[str] = []
        for batch in range(10):
            bulk = [text(services, f"{FLOOD_TEXT} {20 + 47 * batch + n}") for n in range(47)]
            if batch == 5:
                done, welcome = await asyncio.gather(asyncio.gather(*bulk), other.text("hi"))
            else:
                done = await asyncio.gather(*bulk)
            receipts.extend(done)
        last = [await phone.text(f"{FLOOD_TEXT} {490 + n}") for n in range(10)]

        flooder = await witness_id(services, receipts[0].alias)
        case = await only_case(services)
        assert case.reference == found.group(0) and case.witness_id == flooder
        inbound = Message.witness_id == flooder, Message.direction == "in"
        assert await count(services, *inbound) == len(ENGLISH_LOCKS) + 500
        assert await count(services, *inbound, Message.case_id == case.id) == 512
        assert await count(services, model=Case) == 1

        # Thirty acknowledgements while the pace was ordinary, then one notice, then quiet.
        assert first == [[ACK]] * 20 and last == [[]] * 10
        assert sorted(said(receipts)) == sorted([ACK] * 10 + [NOTICE])
        sent = await bodies(services, flooder, direction="out")
        assert sent[-31:] == [ACK] * 30 + [NOTICE] and sent.count(NOTICE) == 1

        # The other witness was answered at once; supervisors hear of the flood once.
        assert "Safe Passage" in welcome[0] and "not the police" in welcome[0]
        assert await alerts_owed(services) == 1
        await eventually(lambda: twilio.sent_to(SUPERVISOR_SMS), what="the flood alert")
        (paged,) = twilio.sent_to(SUPERVISOR_SMS)
        assert case.reference in paged.body and "message flood" in paged.body
        flooded = AuditEvent.action == "case.flooded", AuditEvent.case_id == case.id
        assert await count(services, *flooded, model=AuditEvent) == 1


async def test_another_witness_is_not_queued_behind_a_flood(
    tmp_path: Path, database_url: str
) -> None:
    async with desk_service(tmp_path, database_url) as (services, clock):
        await on_call_supervisor(services)
        flooder_chat, other_chat = "5550001", "5550002"
        tg: dict[str, Any] = {"channel": "telegram"}
        done = await walk_calmly(services, clock, ENGLISH_LOCKS, address=flooder_chat, **tg)
        # Past its first 31 messages a flood owes nothing more: 150 show what 500 would.
        for _batch in range(3):
            await asyncio.gather(
                *(text(services, FLOOD_TEXT, address=flooder_chat, **tg) for _ in range(50))
            )
        welcome = await text(services, "hi", address=other_chat, **tg)
        flooder = await witness_id(services, done.alias)
        other = await witness_id(services, welcome.alias)

        # The flood owes its witness 30 acknowledgements and one notice, not 500 replies.
        owed = await bodies(services, flooder, direction="out")
        assert owed.count(ACK) == 30 and owed.count(NOTICE) == 1

        # Nothing was sent yet: the flood's items are older than the other witness's
        # welcome, yet one claim hands out the welcome while the flood's backlog waits.
        async with services.db.write() as session:
            claimed = await outbox.claim_due(
                session, limit=32, lease=timedelta(minutes=2), now=clock()
            )
            by_witness = [(item.witness_id, item.kind) for item in claimed]
        assert (other, "message") in by_witness
        assert by_witness.count((flooder, "message")) == 1
        pending = OutboxItem.witness_id == flooder, OutboxItem.status == OutboxStatus.PENDING
        assert await count(services, *pending, model=OutboxItem) > 30


# Danger outranks the flood


async def test_danger_in_a_flood_is_triaged_every_time_answered_and_alerted_once(
    tmp_path: Path, database_url: str
) -> None:
    async with desk_service(tmp_path, database_url, flood_per_minute=5) as (services, clock):
        await on_call_supervisor(services)
        await walk_calmly(services, clock, ENGLISH_LOCKS)
        ordinary = [await text(services, FLOOD_TEXT) for _ in range(6)]
        assert said(ordinary) == [ACK] * 5 + [NOTICE]
        assert await alerts_owed(services) == 1  # the flood

        gun = await text(services, "he is outside with a gun")
        assert "911" in said([gun])[0] and NOTICE not in said([gun])
        case = await only_case(services)
        assert case.priority == "urgent" and "threat" not in case.triage

        later = [await text(services, "he said he will kill me") for _ in range(21)]

        assert said(later) == []
        # Every danger message was read: the later ones' reasons are on the case too.
        assert "threat" in (await only_case(services)).triage
        triaged = AuditEvent.action == "case.triaged", AuditEvent.case_id == case.id
        assert await count(services, *triaged, model=AuditEvent) == 22
        assert await alerts_owed(services) == 2  # the flood, and its danger once


async def test_a_danger_word_that_starts_a_flood_keeps_its_disguise(
    tmp_path: Path, database_url: str
) -> None:
    async with desk_service(tmp_path, database_url, flood_per_minute=3) as (services, clock):
        await on_call_supervisor(services)
        script = list(ENGLISH_LOCKS)
        script[-2] = "Pineapple"  # the danger word, instead of SKIP
        await walk_calmly(services, clock, script)
        assert said([await text(services, FLOOD_TEXT) for _ in range(3)]) == [ACK] * 3

        duress = await text(services, "pineapple")

        assert said([duress]) == [texts.WRONG_NUMBER[0][Language.EN]]
        case = await only_case(services)
        assert "duress" in case.triage and case.priority == "urgent"
        assert await alerts_owed(services) == 2  # the danger, and the flood


# A flood begins, ends, and begins again


async def test_the_flood_ends_when_the_pace_falls_back_and_a_new_one_is_told_again(
    tmp_path: Path, database_url: str
) -> None:
    async with desk_service(tmp_path, database_url, flood_per_minute=4) as (services, clock):
        await on_call_supervisor(services)
        await walk_calmly(services, clock, ENGLISH_LOCKS)
        assert said([await text(services, FLOOD_TEXT) for _ in range(6)]) == [ACK] * 4 + [NOTICE]

        clock.advance(40)  # still more than half the limit in the last minute
        assert said([await text(services, FLOOD_TEXT)]) == []
        clock.advance(21)  # two in the last minute: the pace has fallen back
        assert said([await text(services, FLOOD_TEXT)]) == [ACK]

        again = [await text(services, FLOOD_TEXT) for _ in range(5)]
        assert said(again) == [ACK, ACK, NOTICE]
        assert await alerts_owed(services) == 2


async def test_a_flood_in_spanish_is_told_in_spanish(tmp_path: Path, database_url: str) -> None:
    spanish = ["hola", "1", "1", "3", "3", "1", "OMITIR", "OMITIR", "OMITIR", "OMITIR", "1"]
    async with desk_service(tmp_path, database_url, flood_per_minute=3) as (services, clock):
        await walk_calmly(services, clock, spanish)
        replies = said([await text(services, "por favor contesten") for _ in range(10)])

        assert replies[-1] == NOTICE_ES and replies.count(NOTICE_ES) == 1 and len(replies) == 4


async def test_a_flood_during_the_intake_still_runs_it_and_alerts_once_the_case_opens(
    tmp_path: Path, database_url: str
) -> None:
    async with desk_service(tmp_path, database_url, flood_per_minute=3) as (services, clock):
        await on_call_supervisor(services)
        receipts = [await text(services, body) for body in ENGLISH_LOCKS]  # one instant

        assert NOTICE in said(receipts[3:4]) and said(receipts[4:]) == []
        case = await only_case(services)
        assert case.queue == "home-security"
        flooder = await witness_id(services, receipts[0].alias)
        inbound = Message.witness_id == flooder, Message.direction == "in"
        assert await count(services, *inbound, Message.case_id == case.id) == len(ENGLISH_LOCKS)
        assert await alerts_owed(services) == 1


async def test_a_flooding_witness_who_opted_out_is_sent_nothing(
    tmp_path: Path, database_url: str
) -> None:
    async with desk_service(tmp_path, database_url, flood_per_minute=3) as (services, clock):
        await walk_calmly(services, clock, [*ENGLISH_LOCKS, "STOP"])
        receipts = [await text(services, FLOOD_TEXT) for _ in range(10)]

        assert said(receipts) == []
        flooder = await witness_id(services, receipts[0].alias)
        assert (await bodies(services, flooder, direction="in"))[-10:] == [FLOOD_TEXT] * 10


async def test_erasure_is_asked_once_and_its_farewell_goes_out_in_a_flood(
    tmp_path: Path, database_url: str
) -> None:
    asked, erased_text = texts.CONFIRM_DELETE[0][Language.EN], texts.ERASED[0][Language.EN]
    async with desk_service(tmp_path, database_url, flood_per_minute=3) as (services, clock):
        await walk_calmly(services, clock, ENGLISH_LOCKS)
        await asyncio.gather(*(text(services, FLOOD_TEXT) for _ in range(10)))
        assert said([await text(services, "DELETE")]) == [asked]
        assert said([await text(services, "no")]) == []
        assert said([await text(services, "DELETE")]) == []  # asked once this flood

        erased = await text(services, "YES")

        assert erased.erased and said([erased]) == [erased_text]
        assert await count(services, model=Conversation) == 0


# One witness, one case, whatever arrives at once


async def test_first_messages_at_once_make_one_witness(tmp_path: Path, database_url: str) -> None:
    async with desk_service(tmp_path, database_url) as (services, _clock):
        receipts = await asyncio.gather(*(text(services, "hi") for _ in range(10)))

        assert len({r.alias for r in receipts}) == 1
        assert await count(services, model=Witness) == 1
        assert await count(services, model=Conversation) == 1
        assert await count(services, Message.direction == "in") == 10


async def test_a_confirmation_sent_twice_at_once_opens_one_case(
    tmp_path: Path, database_url: str
) -> None:
    async with desk_service(tmp_path, database_url) as (services, clock):
        await walk_calmly(services, clock, ENGLISH_LOCKS[:-1])

        both = await asyncio.gather(text(services, "1"), text(services, "1"))

        assert await count(services, model=Case) == 1
        references = {m.group(0) for r in both for m in REFERENCE.finditer("\n".join(said([r])))}
        assert len(references) == 1


# The setting


def test_the_flood_limit_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).flood_per_minute == 30
    monkeypatch.setenv("INTAKE_FLOOD_PER_MINUTE", "12")
    assert Settings(_env_file=None).flood_per_minute == 12
    monkeypatch.setenv("INTAKE_FLOOD_PER_MINUTE", "0")
    with pytest.raises(ValidationError, match="INTAKE_FLOOD_PER_MINUTE"):
        Settings(_env_file=None)
