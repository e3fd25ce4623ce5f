"""The outbox over SMS: relayed messages reach the fake Twilio through the real twilio client.

Retries after 500 and 429 deliver exactly once, other 4xx are final, status callbacks move
the delivery state forward, and owed messages survive a restart.
"""

from __future__ import annotations

import functools
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import build_services
from bot.desk import InboundMessage
from bot.outbox import BACKOFF_BASE, OutboxWorker
from bot.relay import WitnessUnreachable
from handlers.twilio_client import TwilioSender
from storage.models import Case, Message, OutboxItem, Witness
from tests.clock import ManualClock
from tests.conftest import make_settings
from tests.fakes.twilio import FakeTwilio, TwilioRequest
from tests.handlers.api_helpers import reply_from_caseworker
from tests.handlers.sms_helpers import WITNESS, Phone, sms_service
from tests.intake_scripts import ENGLISH_LOCKS
from tests.live import LiveService, eventually, finish_outbox, running_service


async def open_case(phone: Phone) -> uuid.UUID:
    await phone.walk(ENGLISH_LOCKS)
    async with phone.live.services.db.read() as session:
        return (await session.execute(select(Case.id))).scalar_one()


async def relay(live: LiveService, case_id: uuid.UUID, text: str) -> uuid.UUID:
    return await reply_from_caseworker(live.services, case_id, text)


async def delivery(live: LiveService, message_id: uuid.UUID) -> str | None:
    async with live.services.db.read() as session:
        message = await session.get(Message, message_id)
        return message.delivery if message else None


async def settled(live: LiveService, message_id: uuid.UUID) -> str | None:
    """The delivery state once the outbox is done with the message, else None."""
    state = await delivery(live, message_id)
    return None if state in (None, "queued") else state


async def outbox_state(live: LiveService) -> list[tuple[str, int, str | None]]:
    async with live.services.db.read() as session:
        # The sends only: deletes of Twilio's copies ("forget") are tested on their own.
        query = select(OutboxItem).where(OutboxItem.kind == "message")
        items = (await session.execute(query)).scalars()
        return [(i.status, i.attempts, i.last_error) for i in items]


async def test_a_relayed_message_is_sent_and_tracked(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        case_id = await open_case(phone)
        message_id = await relay(live, case_id, "Hello, this is Ana from the program.")
        await eventually(lambda: twilio.sent)
        [sms] = twilio.sent
        assert (sms.to, sms.from_, sms.body) == (WITNESS, twilio.phone_number, sms.body)
        assert sms.body == "Hello, this is Ana from the program."
        assert sms.status_callback == live.url("/webhooks/twilio/status")
        await eventually(lambda: settled(live, message_id))
        assert await delivery(live, message_id) == "sent"

        assert await phone.status(sms.sid, "delivered") == 204
        assert await delivery(live, message_id) == "delivered"
        # A late "sent" report cannot move a delivered message backwards.
        assert await phone.status(sms.sid, "sent") == 204
        assert await delivery(live, message_id) == "delivered"
        # A report for a message we never sent is acknowledged and changes nothing.
        assert await phone.status(sms.sid, "delivered") == 204


def sends(twilio: FakeTwilio) -> list[TwilioRequest]:
    """The requests that send a message (deletes of Twilio's copies fall due as time moves)."""
    return [r for r in twilio.requests if r.method == "POST"]


async def test_500_then_success_delivers_exactly_once(tmp_path: Path, database_url: str) -> None:
    clock = ManualClock()
    async with sms_service(tmp_path, database_url, clock=clock) as (live, twilio, phone):
        case_id = await open_case(phone)
        twilio.fail_next(500)
        message_id = await relay(live, case_id, "first try fails")
        await finish_outbox(live)
        # The retry waits for its backoff (about two seconds), by the service's clock.
        assert twilio.sent == [] and await outbox_state(live) == [("pending", 1, "twilio 500")]

        clock.advance(BACKOFF_BASE * 1.2)
        await finish_outbox(live)
        assert len(twilio.sent) == 1
        assert len([r for r in twilio.requests if r.status >= 500]) == 1
        assert await outbox_state(live) == [("sent", 2, None)]
        assert await settled(live, message_id) == "sent"


async def test_429_is_retried_after_retry_after(tmp_path: Path, database_url: str) -> None:
    clock = ManualClock()
    async with sms_service(tmp_path, database_url, clock=clock) as (live, twilio, phone):
        case_id = await open_case(phone)
        twilio.fail_next(429, retry_after=30)
        twilio.fail_next(429, retry_after=30)
        message_id = await relay(live, case_id, "busy twice")
        await finish_outbox(live)
        assert len(sends(twilio)) == 1

        # Well past the backoff, still short of Twilio's Retry-After: nothing is asked.
        clock.advance(29)
        await finish_outbox(live)
        assert len(sends(twilio)) == 1

        clock.advance(1)
        await finish_outbox(live)
        assert len(sends(twilio)) == 2 and twilio.sent == []
        clock.advance(30)
        await finish_outbox(live)
        assert len(twilio.sent) == 1 and len(sends(twilio)) == 3
        assert await delivery(live, message_id) == "sent"


async def test_a_4xx_is_final(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        case_id = await open_case(phone)
        twilio.fail_next(400, code=21211)
        message_id = await relay(live, case_id, "bad number")
        await eventually(lambda: settled(live, message_id))
        assert await delivery(live, message_id) == "failed"
        assert len(twilio.requests) == 1 and twilio.sent == []
        assert await outbox_state(live) == [("failed", 1, "twilio 400 21211")]


async def test_21610_marks_the_witness_opted_out(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        case_id = await open_case(phone)
        twilio.fail_next(400, code=21610)
        message_id = await relay(live, case_id, "they opted out at the carrier")
        await eventually(lambda: settled(live, message_id))
        async with live.services.db.read() as session:
            witness = (await session.execute(select(Witness))).scalar_one()
        assert witness.opted_out
        with pytest.raises(WitnessUnreachable):
            await relay(live, case_id, "no more")
        assert len(twilio.requests) == 1


async def test_an_undelivered_report_with_21610_opts_out(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        case_id = await open_case(phone)
        message_id = await relay(live, case_id, "will bounce")
        await eventually(lambda: twilio.sent)
        await eventually(lambda: settled(live, message_id))
        assert await phone.status(twilio.sent[0].sid, "undelivered", error_code=21610) == 204
        assert await delivery(live, message_id) == "failed"
        async with live.services.db.read() as session:
            assert (await session.execute(select(Witness))).scalar_one().opted_out


async def test_owed_messages_survive_a_restart(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    async with FakeTwilio() as twilio:
        twilio_settings: dict[str, Any] = {
            "twilio_account_sid": twilio.account_sid,
            "twilio_auth_token": twilio.auth_token,
            "twilio_phone_number": twilio.phone_number,
            "twilio_api_base": twilio.base_url,
        }
        # A witness's case exists; then messages are owed while no server runs at all.
        offline = build_services(make_settings(data_dir, database_url, **twilio_settings))
        await offline.start()
        for text in ENGLISH_LOCKS:
            await offline.desk.receive(InboundMessage(channel="sms", address=WITNESS, text=text))
        async with offline.db.read() as session:
            case_id = (await session.execute(select(Case.id))).scalar_one()
        owed = [await reply_from_caseworker(offline, case_id, f"n{i}") for i in range(3)]
        await offline.close()
        assert twilio.sent == []

        async with running_service(
            data_dir=data_dir, database_url=database_url, **twilio_settings
        ) as live:
            await eventually(lambda: len(twilio.sent) == 3)
            for message_id in owed:
                await eventually(functools.partial(settled, live, message_id))
            assert await outbox_state(live) == [("sent", 1, None)] * 3
        # Sent in the order they were owed.
        assert [sms.body for sms in twilio.sent] == ["n0", "n1", "n2"]

        # After another restart, a worker's pass finds nothing owed: nothing goes twice.
        again = build_services(make_settings(data_dir, database_url, **twilio_settings))
        sender = TwilioSender(
            account_sid=twilio.account_sid,
            auth_token=twilio.auth_token,
            from_number=twilio.phone_number,
            api_base=twilio.base_url,
            status_callback=None,
        )
        try:
            worker = OutboxWorker(db=again.db, vault=again.vault, senders={"sms": sender})
            assert await worker.run_once() == 0
        finally:
            await sender.close()
            await again.close()
        assert len(twilio.sent) == 3
