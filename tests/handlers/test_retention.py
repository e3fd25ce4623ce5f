"""Retention end to end: a case closed through the API expires with its witness once the
period has passed; an open case, and one closed too recently, are kept."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.workers import RetentionWorker
from storage.models import Case, Witness, utcnow
from tests.clock import ManualClock
from tests.handlers.api_helpers import make_caseworker, sign_in
from tests.handlers.sms_helpers import Phone, sms_service
from tests.intake_scripts import ENGLISH_MOVE
from tests.live import LiveService

CLAIM = "/api/v1/queues/relocation/claim"


async def _witnesses(live: LiveService) -> int:
    async with live.services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Witness)) or 0)


async def test_a_closed_case_expires_after_the_period_and_an_open_one_stays(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url, retention_days=30) as (live, _twilio, phone):
        await phone.walk(ENGLISH_MOVE)
        other = Phone(live=live, twilio=phone.twilio, client=phone.client, number="+15550142300")
        await other.walk(ENGLISH_MOVE)
        await make_caseworker(live.services.db, "ana", queues=("relocation",))
        ana = await sign_in(phone.client, live.base_url, "ana")
        ref = (await ana.post(CLAIM)).json()["ref"]
        closed = await ana.post(f"/api/v1/cases/{ref}/close", {"outcome": "moved"})
        assert closed.status_code == 200
        assert await _witnesses(live) == 2

        clock = ManualClock(now=utcnow() + timedelta(days=29))
        worker = RetentionWorker(
            db=live.services.db, vault=live.services.vault, retention_days=30, clock=clock
        )
        assert await worker.run_once() == 0  # not yet: the period has not passed

        clock.advance(timedelta(days=2).total_seconds())
        assert await worker.run_once() == 1
        assert await _witnesses(live) == 1  # the witness whose case is still open stays
        async with live.services.db.read() as session:
            states = sorted(
                (c.status, c.reference is None)
                for c in (await session.execute(select(Case))).scalars()
            )
        assert states == [("closed", True), ("waiting", False)]
        # The expired case is gone for its former holder, as for everyone.
        assert (await ana.get(f"/api/v1/cases/{ref}")).status_code == 404
        # A second pass finds nothing more to do.
        assert await worker.run_once() == 0
