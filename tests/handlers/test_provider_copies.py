"""Twilio's copies: each message's record at Twilio is deleted through the outbox, and an
erasure deletes whatever is still there. The fake Twilio keeps records the way Twilio
does (inbound, API sends, TwiML replies) and answers deletes, 404 and 20009 like it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from handlers.twilio_sms import STATUS_PATH
from storage.models import OutboxItem
from tests.clock import ManualClock
from tests.fakes.twilio import status_callback_form
from tests.handlers.sms_helpers import Phone, sms_service
from tests.intake_scripts import ENGLISH_MOVE
from tests.live import LiveService, finish_outbox


async def _deliver_replies(phone: Phone, sids: list[str]) -> None:
    for sid in sids:
        form = status_callback_form(
            sid,
            "delivered",
            to=phone.number,
            from_=phone.twilio.phone_number,
            account_sid=phone.twilio.account_sid,
        )
        assert (await phone.post(STATUS_PATH, form)).status_code == 204


async def _owed(live: LiveService) -> int:
    async with live.services.db.read() as session:
        count = await session.scalar(select(func.count()).select_from(OutboxItem))
    return int(count or 0)


async def test_each_copy_is_deleted_once_stored_or_final(tmp_path: Path, database_url: str) -> None:
    clock = ManualClock()
    async with sms_service(tmp_path, database_url, clock=clock) as (live, twilio, phone):
        await phone.walk(ENGLISH_MOVE)
        inbound = list(phone.sids)
        assert set(inbound) <= set(twilio.records)

        # Before its minute is up Twilio would refuse: nothing is asked of it yet.
        await finish_outbox(live)
        assert twilio.deleted == []

        clock.advance(61)
        await finish_outbox(live)
        assert set(inbound) <= set(twilio.deleted)

        # The TwiML replies' records are deleted once Twilio reports them final.
        replies = list(phone.reply_sids)
        twilio.in_flight.add(replies[0])
        await _deliver_replies(phone, replies)
        clock.advance(61)
        await finish_outbox(live)
        assert set(replies[1:]) <= set(twilio.deleted)
        assert replies[0] not in twilio.deleted
        refused = [r for r in twilio.requests if r.method == "DELETE" and r.status == 409]
        assert len(refused) == 1

        # 20009 is retried like a send, after Twilio's minute.
        twilio.in_flight.clear()
        clock.advance(120)
        await finish_outbox(live)
        assert replies[0] in twilio.deleted
        assert twilio.kept_for(phone.number) == []
        # Done work leaves no row behind (its time could be matched to the carrier's).
        assert await _owed(live) == 0


async def test_an_erasure_deletes_every_copy_left(tmp_path: Path, database_url: str) -> None:
    clock = ManualClock()
    async with sms_service(tmp_path, database_url, clock=clock) as (live, twilio, phone):
        await phone.walk(ENGLISH_MOVE)
        await phone.text("DELETE")
        await phone.text("YES")
        kept = twilio.kept_for(phone.number)
        assert len(kept) >= 2 * len(phone.sids)  # every text, and at least a reply to each
        # One reply is still in flight at Twilio: the erasure's delete waits for it.
        twilio.in_flight.add(phone.reply_sids[-1])

        clock.advance(61)
        await finish_outbox(live)
        assert twilio.kept_for(phone.number) == [phone.reply_sids[-1]]
        assert await _owed(live) == 1  # the erasure's work, naming no one

        twilio.in_flight.clear()
        clock.advance(300)
        await finish_outbox(live)
        assert twilio.kept_for(phone.number) == []
        assert await _owed(live) == 0


async def test_the_setting_keeps_twilio_copies(tmp_path: Path, database_url: str) -> None:
    clock = ManualClock()
    async with sms_service(tmp_path, database_url, clock=clock, twilio_delete=False) as (
        live,
        twilio,
        phone,
    ):
        await phone.walk(ENGLISH_MOVE)
        await _deliver_replies(phone, phone.reply_sids)
        await phone.text("DELETE")
        await phone.text("YES")
        clock.advance(3600)
        await finish_outbox(live)
        assert twilio.deleted == []
        assert not [r for r in twilio.requests if r.method == "DELETE"]
