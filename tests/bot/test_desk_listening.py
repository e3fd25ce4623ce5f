"""What the desk stores when a witness keeps writing: danger, reopening, amending, quiet."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from bot.app import Services
from storage import witnesses
from storage.cases import DANGER_NOW_RANK, open_answers
from storage.models import AuditEvent, Case, Caseworker, OutboxItem, Witness
from tests.bot.test_desk import only_case, say, walk
from tests.handlers.api_helpers import make_caseworker
from tests.intake_scripts import ENGLISH_LOCKS, SPANISH_SUPPORT


async def audit_actions(services: Services) -> list[str]:
    async with services.db.read() as session:
        return list(
            (await session.execute(select(AuditEvent.action).order_by(AuditEvent.at))).scalars()
        )


async def test_danger_after_the_intake_makes_the_case_urgent_at_the_head(
    services: Services,
) -> None:
    await walk(services, ENGLISH_LOCKS)
    before = await only_case(services)
    assert before.priority == "normal" and before.due_at is not None

    receipt = await say(services, "he is outside my house with a gun right now")

    case = await only_case(services)
    assert (case.priority, case.priority_rank) == ("urgent", DANGER_NOW_RANK)
    assert case.triage.split(",") == ["weapon", "someone is here"]
    assert case.due_at is not None and case.due_at < before.due_at
    assert "911" in receipt.replies[0].text
    assert "case.triaged" in await audit_actions(services)


async def test_thanks_leave_the_case_as_it_was(services: Services) -> None:
    await walk(services, ENGLISH_LOCKS)
    before = await only_case(services)
    await say(services, "thank you")

    case = await only_case(services)
    assert (case.priority, case.priority_rank, case.triage) == (
        before.priority,
        before.priority_rank,
        "",
    )


async def test_a_message_to_a_closed_case_puts_it_back_in_its_queue(services: Services) -> None:
    await walk(services, ENGLISH_LOCKS)
    holder = await _caseworker(services)
    async with services.db.write() as session:
        await session.execute(
            update(Case).values(status="closed", assigned_to=holder, closed_at=Case.created_at)
        )
    receipt = await say(services, "I need help again")

    case = await only_case(services)
    assert (case.status, case.assigned_to, case.closed_at) == ("waiting", None, None)
    assert case.previous_holder == holder
    assert receipt.replies[0].text.startswith("Thank you for writing. Your request is open again")
    assert "case.reopened" in await audit_actions(services)


async def test_the_fast_path_opens_one_urgent_case_that_the_rest_amends(
    services: Services,
) -> None:
    await walk(services, SPANISH_SUPPORT)

    case = await only_case(services)
    assert (case.queue, case.priority, case.language) == ("support", "urgent", "es")
    assert "not safe now" in case.triage
    answers = await _answers(services, case)
    assert answers["contact"] == "only_when_i_text_first" and answers["role"] == "witness"
    assert "case.amended" in await audit_actions(services)


async def test_restart_with_an_open_case_keeps_one_case(services: Services) -> None:
    await walk(services, ENGLISH_LOCKS)
    await say(services, "RESTART")
    await walk(services, ["1", "1", "1 3", "1", "2", "3", "1", "SKIP", "SKIP", "SKIP", "SKIP", "1"])

    case = await only_case(services)  # still exactly one
    assert case.queue == "relocation"
    assert (await _answers(services, case))["household"] == "2"


async def test_exit_holds_what_is_owed_until_the_witness_writes_again(
    services: Services,
) -> None:
    await walk(services, ENGLISH_LOCKS)
    receipt = await say(services, "EXIT")
    assert "delete this thread" in receipt.replies[0].text
    async with services.db.read() as session:
        witness = (await session.execute(select(Witness))).scalar_one()
    assert witness.paused_at is not None

    await say(services, "ok I am back")
    async with services.db.read() as session:
        witness = (await session.execute(select(Witness))).scalar_one()
        pending = await session.execute(select(OutboxItem).where(OutboxItem.status == "pending"))
        held = [item.next_attempt_at for item in pending.scalars()]
    assert all(at <= witness.last_active_at + timedelta(seconds=1) for at in held)
    assert witness.paused_at is None


async def _caseworker(services: Services) -> uuid.UUID:
    await make_caseworker(services.db, "ana")
    async with services.db.read() as session:
        return (await session.execute(select(Caseworker.id))).scalar_one()


async def _answers(services: Services, case: Case) -> dict[str, str]:
    async with services.db.read() as session:
        key = await witnesses.data_key_for(
            session, vault=services.vault, witness_id=case.witness_id
        )
        fresh = await session.get(Case, case.id)
        assert fresh is not None
        return open_answers(fresh, key)
