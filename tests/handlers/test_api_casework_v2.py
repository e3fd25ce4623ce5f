"""The caseworker API's v2 case actions: the number only on purpose, triage and priority,
duress confirmation, response targets in summaries, and the witness told of a claim.

Triage labels, targets and escalations are written by the conversation engine and the
escalation worker; here they are set on the case directly, as those would leave them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.audit import DETAIL_CHARS
from storage.db import Database
from storage.models import AuditEvent, Message, utcnow
from tests.canaries import find_canaries, log_lines, table_rows
from tests.handlers.api_helpers import (
    audit_rows,
    case_row,
    make_caseworker,
    seed_cases,
    sign_in,
)
from tests.handlers.casework_helpers import change_answers, set_case
from tests.handlers.sms_helpers import WITNESS, sms_service
from tests.intake_scripts import ENGLISH_MOVE
from tests.live import eventually

CLAIM = "/api/v1/queues/relocation/claim"
CALL_ME = [*ENGLISH_MOVE[:8], "2", *ENGLISH_MOVE[9:]]  # 2: call this number
REASON = "Marigold-Canary: to arrange the hotel pickup tonight"
EN_NOTICE = "A caseworker has your request and will write soon."
ES_NOTICE = "Alguien de nuestro equipo tiene su solicitud y le escribirá pronto."


async def outbound_count(db: Database, reference: str) -> int:
    row = await case_row(db, reference)
    async with db.read() as session:
        query = (
            select(func.count())
            .select_from(Message)
            .where(Message.case_id == row.id, Message.direction == "out")
        )
        return int(await session.scalar(query) or 0)


# -- the number, only on purpose ------------------------------------------------------


async def test_the_number_comes_only_from_its_route_and_the_reason_is_sealed(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        await phone.walk(CALL_ME)
        db = live.services.db
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "olga", queues=("relocation",))
        await make_caseworker(db, "boss", supervisor=True)
        ana = await sign_in(phone.client, live.base_url, "ana")
        olga = await sign_in(phone.client, live.base_url, "olga")
        boss = await sign_in(phone.client, live.base_url, "boss")

        claimed = await ana.post(CLAIM)
        ref = claimed.json()["ref"]
        assert claimed.json()["may_call"] is True
        assert "phone" not in claimed.json() and WITNESS not in claimed.text
        read = await ana.get(f"/api/v1/cases/{ref}")
        assert "phone" not in read.json() and WITNESS not in read.text
        assert await audit_rows(db, action="case.number_revealed", reference=ref) == 0

        asked = await ana.post(f"/api/v1/cases/{ref}/phone", {"reason": REASON})

        assert (asked.status_code, asked.json()) == (200, {"phone": WITNESS})
        assert await audit_rows(db, action="case.number_revealed", reference=ref) == 1
        # A caseworker who does not hold the case gets what a missing case gets.
        stranger = await olga.post(f"/api/v1/cases/{ref}/phone", {"reason": REASON})
        missing = await olga.post("/api/v1/cases/ZZZZ-ZZZZ/phone", {"reason": REASON})
        assert (stranger.status_code, stranger.json()) == (404, missing.json())
        # The supervisor reads who asked and why; the number is nowhere in the trail.
        trail = await boss.get("/api/v1/audit", action="case.number_revealed")
        assert [(r["actor"], r["ref"], r["detail"]) for r in trail.json()] == [("ana", ref, REASON)]
        assert WITNESS not in trail.text
        # Neither the reason nor the number sits readable in any table or log line.
        assert find_canaries([REASON, WITNESS], await table_rows(db)) == []
        assert find_canaries([REASON, WITNESS], log_lines(caplog)) == []


async def test_a_long_reason_is_kept_sealed_and_shortened_to_fit(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        await phone.walk(CALL_ME)
        db = live.services.db
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "boss", supervisor=True)
        ana = await sign_in(phone.client, live.base_url, "ana")
        boss = await sign_in(phone.client, live.base_url, "boss")
        ref = (await ana.post(CLAIM)).json()["ref"]
        reason = "Ünïcode reasons take more bytes; " * 15

        asked = await ana.post(f"/api/v1/cases/{ref}/phone", {"reason": reason[:500]})

        assert asked.status_code == 200
        async with db.read() as session:
            stored = await session.scalar(
                select(AuditEvent.detail).where(AuditEvent.action == "case.number_revealed")
            )
        assert stored is not None and len(stored) <= DETAIL_CHARS
        shown = (await boss.get("/api/v1/audit", action="case.number_revealed")).json()[0]
        assert shown["detail"].endswith("…")
        assert reason.startswith(shown["detail"][:-1])


async def test_no_number_unless_the_witness_asked_and_can_be_reached(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        await phone.walk(CALL_ME)
        db = live.services.db
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "boss", supervisor=True)
        ana = await sign_in(phone.client, live.base_url, "ana")
        boss = await sign_in(phone.client, live.base_url, "boss")
        ref = (await ana.post(CLAIM)).json()["ref"]
        texter_ref = (await seed_cases(db, live.services.vault))[0]
        assert (await ana.post(CLAIM)).json()["ref"] == texter_ref

        # A witness who chose "text me" has no number to give.
        texter = await ana.post(f"/api/v1/cases/{texter_ref}/phone", {"reason": REASON})
        assert texter.status_code == 409
        assert "did not ask to be called" in texter.json()["detail"]
        # A supervisor overseeing is not the one to call.
        overseen = await boss.post(f"/api/v1/cases/{ref}/phone", {"reason": REASON})
        assert (overseen.status_code, overseen.json()) == (
            409,
            {"detail": "only the caseworker holding the case may see the number"},
        )
        # A blank reason is refused before anything is looked at.
        blank = await ana.post(f"/api/v1/cases/{ref}/phone", {"reason": " \n "})
        assert blank.status_code == 422
        # A witness who opted out is not called either.
        await phone.text("STOP")
        stopped = await ana.post(f"/api/v1/cases/{ref}/phone", {"reason": REASON})
        assert stopped.status_code == 409 and WITNESS not in stopped.text
        assert await audit_rows(db, action="case.number_revealed") == 0


async def test_erasure_shreds_the_sealed_reason_too(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        await phone.walk(CALL_ME)
        db = live.services.db
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "boss", supervisor=True)
        ana = await sign_in(phone.client, live.base_url, "ana")
        boss = await sign_in(phone.client, live.base_url, "boss")
        ref = (await ana.post(CLAIM)).json()["ref"]
        assert (await ana.post(f"/api/v1/cases/{ref}/phone", {"reason": REASON})).status_code == 200

        await phone.text("DELETE")
        await phone.text("YES")

        after = await ana.post(f"/api/v1/cases/{ref}/phone", {"reason": REASON})
        assert after.status_code == 409
        trail = (await boss.get("/api/v1/audit", action="case.number_revealed")).json()
        # The entry keeps the action and the day only: no reason, no case, no caseworker.
        assert [(r["detail"], r["ref"], r["actor"]) for r in trail] == [(None, None, "caseworker")]
        assert "T00:00:00" in trail[0]["at"]


# -- triage and priority --------------------------------------------------------------


async def test_triage_is_shown_and_only_a_caseworker_lowers_priority(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        db, vault = live.services.db, live.services.vault
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "olga", queues=("general",))
        await make_caseworker(db, "boss", supervisor=True)
        ana = await sign_in(phone.client, live.base_url, "ana")
        olga = await sign_in(phone.client, live.base_url, "olga")
        boss = await sign_in(phone.client, live.base_url, "boss")
        calm = (await seed_cases(db, vault, priority="urgent"))[0]
        danger = (await seed_cases(db, vault))[0]
        await set_case(
            db,
            danger,
            triage="not safe now,weapon",
            priority="urgent",
            priority_rank=-1,
            escalated_at=utcnow(),
        )

        # Danger now is at the head of the queue, ahead of an older urgent case.
        claimed = (await ana.post(CLAIM)).json()
        assert (claimed["ref"], claimed["priority"]) == (danger, "urgent")
        assert claimed["triage"] == ["not safe now", "weapon"]
        listed = {c["ref"]: c for c in (await boss.get("/api/v1/cases")).json()}
        assert "triage" not in listed[calm]  # summaries stay summaries

        refused = await olga.post(f"/api/v1/cases/{danger}/priority", {"priority": "normal"})
        assert refused.status_code == 404
        bogus = await ana.post(f"/api/v1/cases/{danger}/priority", {"priority": "low"})
        assert bogus.status_code == 422
        assert (await case_row(db, danger)).priority_rank == -1

        lowered = await ana.post(f"/api/v1/cases/{danger}/priority", {"priority": "normal"})

        assert lowered.status_code == 200
        assert (lowered.json()["priority"], lowered.json()["escalated"]) == ("normal", False)
        row = await case_row(db, danger)
        assert (row.priority, row.priority_rank, row.escalated_at) == ("normal", 2, None)
        # The normal target (a day by default) now runs from the change.
        assert row.due_at is not None
        assert abs(row.due_at - (utcnow() + timedelta(minutes=1440))) < timedelta(minutes=1)
        assert (await ana.get(f"/api/v1/cases/{danger}")).json()["triage"] == [
            "not safe now",
            "weapon",
        ]

        raised = await boss.post(f"/api/v1/cases/{danger}/priority", {"priority": "urgent"})
        assert raised.json()["priority"] == "urgent"
        row = await case_row(db, danger)
        assert (row.priority, row.priority_rank) == ("urgent", 0)
        assert row.due_at is not None and row.due_at - utcnow() < timedelta(minutes=16)
        trail = (await boss.get("/api/v1/audit", action="case.priority_changed")).json()
        assert [(r["actor"], r["detail"]) for r in reversed(trail)] == [
            ("ana", "urgent->normal"),
            ("boss", "normal->urgent"),
        ]


# -- duress ---------------------------------------------------------------------------


async def test_a_reply_to_a_witness_under_duress_needs_confirming(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        await phone.walk(ENGLISH_MOVE)
        db = live.services.db
        await make_caseworker(db, "ana", queues=("relocation",))
        ana = await sign_in(phone.client, live.base_url, "ana")
        ref = (await ana.post(CLAIM)).json()["ref"]
        await eventually(lambda: twilio.sent_to(WITNESS), what="the claim notice")
        await set_case(db, ref, triage="duress", priority="urgent", priority_rank=0)
        before = await outbound_count(db, ref)

        unconfirmed = await ana.post(f"/api/v1/cases/{ref}/messages", {"text": "Are you safe?"})

        assert unconfirmed.status_code == 409
        assert "duress" in unconfirmed.json()["detail"]
        assert "confirm_duress" in unconfirmed.json()["detail"]
        assert await outbound_count(db, ref) == before
        assert await audit_rows(db, action="case.replied", reference=ref) == 0
        said_no = await ana.post(
            f"/api/v1/cases/{ref}/messages", {"text": "Are you safe?", "confirm_duress": False}
        )
        assert said_no.status_code == 409

        confirmed = await ana.post(
            f"/api/v1/cases/{ref}/messages",
            {"text": "Sorry, wrong number.", "confirm_duress": True},
        )

        assert confirmed.status_code == 202
        await eventually(
            lambda: [m for m in twilio.sent_to(WITNESS) if m.body == "Sorry, wrong number."]
        )
        assert not [m for m in twilio.sent_to(WITNESS) if m.body == "Are you safe?"]
        async with db.read() as session:
            detail = await session.scalar(
                select(AuditEvent.detail).where(AuditEvent.action == "case.replied")
            )
        assert detail == "duress confirmed"


async def test_without_duress_a_reply_needs_no_confirmation(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        db = live.services.db
        ref = (await seed_cases(db, live.services.vault))[0]
        await set_case(db, ref, triage="not safe now,weapon")
        await make_caseworker(db, "ana", queues=("relocation",))
        ana = await sign_in(phone.client, live.base_url, "ana")
        assert (await ana.post(CLAIM)).json()["ref"] == ref
        sent = await ana.post(f"/api/v1/cases/{ref}/messages", {"text": "Are you safe?"})
        assert sent.status_code == 202


# -- response targets in summaries ----------------------------------------------------


async def test_summaries_carry_the_target_and_whether_it_was_escalated(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        db, vault = live.services.db, live.services.vault
        late, fresh = await seed_cases(db, vault, count=2)
        due = utcnow() - timedelta(minutes=20)
        await set_case(db, late, due_at=due, escalated_at=utcnow() - timedelta(minutes=5))
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "boss", supervisor=True)
        ana = await sign_in(phone.client, live.base_url, "ana")
        boss = await sign_in(phone.client, live.base_url, "boss")

        listed = {c["ref"]: c for c in (await boss.get("/api/v1/cases")).json()}
        assert listed[late]["escalated"] is True
        assert abs(datetime.fromisoformat(listed[late]["due_at"]) - due) < timedelta(seconds=1)
        assert (listed[fresh]["escalated"], listed[fresh]["due_at"]) == (False, None)

        # Claimed but not yet answered: still escalated.
        claimed = (await ana.post(CLAIM)).json()
        assert (claimed["ref"], claimed["escalated"]) == (late, True)
        sent = await ana.post(f"/api/v1/cases/{late}/messages", {"text": "I am on it."})
        assert sent.status_code == 202
        assert (await ana.get(f"/api/v1/cases/{late}")).json()["escalated"] is False
        # Back in the queue with no one holding it, it is waiting again.
        await ana.post(f"/api/v1/cases/{late}/release")
        listed = {c["ref"]: c for c in (await boss.get("/api/v1/cases")).json()}
        assert listed[late]["escalated"] is True
        await ana.post(f"/api/v1/cases/{fresh}/close", {"outcome": "duplicate"})
        closed = await boss.post(f"/api/v1/cases/{late}/close", {"outcome": "duplicate"})
        assert closed.json()["escalated"] is False


# -- the witness told of a claim ------------------------------------------------------


async def test_a_claim_tells_the_witness_in_their_language(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        await phone.walk(ENGLISH_MOVE)
        db, vault = live.services.db, live.services.vault
        spanish = (await seed_cases(db, vault, language="es", queue="support"))[0]
        await make_caseworker(db, "ana", queues=("relocation", "support"))
        ana = await sign_in(phone.client, live.base_url, "ana")

        english = (await ana.post(CLAIM)).json()
        await eventually(lambda: twilio.sent_to(WITNESS), what="the English notice")
        assert [m.body for m in twilio.sent_to(WITNESS)] == [EN_NOTICE]
        assert ("out", EN_NOTICE) in [(m["direction"], m["text"]) for m in english["messages"]]

        claimed = (await ana.post("/api/v1/queues/support/claim")).json()
        assert claimed["ref"] == spanish
        assert ("out", ES_NOTICE) in [(m["direction"], m["text"]) for m in claimed["messages"]]
        await eventually(lambda: [m for m in twilio.sent if m.body == ES_NOTICE])

        # Released and claimed again, a waiting case tells the witness again.
        await ana.post(f"/api/v1/cases/{english['ref']}/release")
        assert (await ana.post(CLAIM)).json()["ref"] == english["ref"]
        await eventually(lambda: len(twilio.sent_to(WITNESS)) == 2)


async def test_a_claim_says_nothing_to_a_witness_who_writes_first_opted_out_or_is_under_duress(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        await phone.walk(ENGLISH_MOVE)
        await phone.text("STOP")
        db, vault = live.services.db, live.services.vault
        quiet = (await seed_cases(db, vault, queue="support"))[0]
        await change_answers(db, vault, quiet, contact="only_when_i_text_first")
        forced = (await seed_cases(db, vault, queue="general"))[0]
        await set_case(db, forced, triage="duress", priority="urgent", priority_rank=0)
        await make_caseworker(db, "ana", queues=("relocation", "support", "general"))
        ana = await sign_in(phone.client, live.base_url, "ana")
        sent_before = len(twilio.sent)
        stopped_ref = (await ana.get("/api/v1/cases", queue="relocation")).json()[0]["ref"]
        said_before = await outbound_count(db, stopped_ref)

        stopped = await ana.post(CLAIM)
        waits = await ana.post("/api/v1/queues/support/claim")
        duress = await ana.post("/api/v1/queues/general/claim")

        assert stopped.status_code == waits.status_code == duress.status_code == 200
        assert (stopped.json()["ref"], waits.json()["ref"]) == (stopped_ref, quiet)
        assert duress.json()["ref"] == forced
        assert await outbound_count(db, stopped_ref) == said_before
        assert await outbound_count(db, quiet) == 0
        # Someone else may be holding the phone of a witness who sent their danger word.
        assert await outbound_count(db, forced) == 0
        # A reply the caseworker chooses to send still goes to the one who did not opt out.
        assert (
            await ana.post(f"/api/v1/cases/{quiet}/messages", {"text": "Hi"})
        ).status_code == 202
        await eventually(lambda: [m for m in twilio.sent if m.body == "Hi"])
        assert len(twilio.sent) == sent_before + 1
