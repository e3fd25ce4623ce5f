"""Long polling past a poison update: one that fails on its own is set aside, not retried
for ever, so the witnesses behind it are answered; staff hear of it, the logs see only
its type."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from handlers.telegram_polling import SET_ASIDE_AFTER
from storage.caseworkers import add_caseworker, set_alert_contacts
from tests.canaries import find_canaries, log_lines
from tests.clock import NoWait
from tests.fakes.telegram import FakeTelegram, text_update
from tests.handlers.api_helpers import PASSWORD
from tests.handlers.telegram_helpers import WITNESS_CHAT, next_update_id, telegram_service
from tests.live import LiveService, eventually

NEXT_WITNESS = 5_550_007_777
STAFF_GROUP = -1_001_234_567_890
# A lone surrogate: valid JSON, but text no encoder will take.
POISON = "\ud800 Kestrelwood Lane"


async def on_call_supervisor(live: LiveService) -> None:
    async with live.services.db.write() as session:
        account = await add_caseworker(
            session,
            username="boss",
            password=PASSWORD,
            queues=["general"],
            languages=["en"],
            supervisor=True,
        )
        set_alert_contacts(account, vault=live.services.vault, telegram=str(STAFF_GROUP))


def handed_out(fake: FakeTelegram, update_id: int) -> int:
    """How many getUpdates answers carried this update."""
    return sum(
        1
        for call in fake.calls_to("getUpdates")
        if any(u["update_id"] == update_id for u in call.result or [])
    )


async def test_a_poison_update_is_set_aside_and_later_ones_are_answered(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with telegram_service(tmp_path, database_url, public_url=False) as (live, fake, _user):
        await on_call_supervisor(live)
        poison = fake.push_update(text_update(next_update_id(), WITNESS_CHAT, POISON))
        fake.push_update(text_update(next_update_id(), NEXT_WITNESS, "hi"))

        await eventually(lambda: fake.sent_messages(NEXT_WITNESS), what="the next witness")
        await eventually(lambda: not fake.pending_updates, what="both to be confirmed")
        alerts: list[str] = await eventually(
            lambda: fake.texts_to(STAFF_GROUP), what="the staff alert"
        )
        assert handed_out(fake, poison) == SET_ASIDE_AFTER
        assert fake.sent_messages(WITNESS_CHAT) == []
        [alert] = alerts
        assert "set aside" in alert
        assert find_canaries(["Kestrelwood", str(WITNESS_CHAT)], [("alert", alert.encode())]) == []
    records = [r for r in caplog.records if "set aside" in r.getMessage()]
    assert records and "message" in records[0].getMessage()
    assert find_canaries(["Kestrelwood Lane", str(WITNESS_CHAT)], log_lines(caplog)) == []


async def test_a_database_outage_never_sets_an_update_aside(
    tmp_path: Path, database_url: str
) -> None:
    waits = NoWait()
    async with telegram_service(tmp_path, database_url, public_url=False, sleep=waits) as (
        live,
        fake,
        _user,
    ):
        await on_call_supervisor(live)
        await eventually(lambda: fake.calls_to("getUpdates"), what="polling to start")
        # Every write fails while the table is away: the service's trouble, not the update's.
        await _rename(live, "messages", "messages_away")
        try:
            update_id = fake.push_update(text_update(next_update_id(), WITNESS_CHAT, "hi"))
            await eventually(
                lambda: handed_out(fake, update_id) > SET_ASIDE_AFTER,
                what="the update to be fetched past the set-aside count",
            )
            assert [u["update_id"] for u in fake.pending_updates] == [update_id]
            # Each fetch during the outage waited a doubling backoff first.
            assert waits.asked[:3] == [1.0, 2.0, 4.0]
        finally:
            await _rename(live, "messages_away", "messages")
        await eventually(lambda: fake.sent_messages(WITNESS_CHAT), what="the witness answered")
        assert fake.texts_to(STAFF_GROUP) == []


async def _rename(live: LiveService, old: str, new: str) -> None:
    async with live.services.db.write() as session:
        await session.execute(text(f'ALTER TABLE "{old}" RENAME TO "{new}"'))
