"""The desk's group commit on both databases: many witnesses' messages, one transaction.

Messages that arrive together are read together and written at one commit, each
witness's in the order they wrote, and every answer is the one a message alone gets.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.app import Services
from bot.desk import InboundMessage, Receipt
from storage import cases
from storage.models import AuditEvent, Case, Message, Witness, utcnow
from storage.states import Action, CaseStatus
from tests.intake_scripts import ENGLISH_MOVE, REFERENCE
from tests.live import eventually, waiting_on_a_lock

SOLO = "+15550140000"


def number(n: int) -> str:
    return f"+1555015{n:04d}"


async def say(services: Services, text: str, address: str, sid: str | None = None) -> Receipt:
    return await services.desk.receive(
        InboundMessage(channel="sms", address=address, text=text, provider_id=sid)
    )


def commits(services: Services) -> tuple[float, float]:
    """(transactions committed, callers' work they carried) so far."""
    registry = services.metrics.registry
    count = registry.get_sample_value("intake_db_write_batch_size_count") or 0.0
    carried = registry.get_sample_value("intake_db_write_batch_size_sum") or 0.0
    return count, carried


async def counted(services: Services, model: type) -> int:
    async with services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_witnesses_writing_at_once_share_one_commit(services: Services) -> None:
    before = commits(services)
    receipts = await asyncio.gather(
        *(say(services, ENGLISH_MOVE[0], number(n), f"SM{n:032x}") for n in range(20))
    )
    after = commits(services)
    # One transaction carried all twenty messages.
    assert (after[0] - before[0], after[1] - before[1]) == (1, 20)
    alone = await say(services, ENGLISH_MOVE[0], SOLO)
    assert {receipt.replies for receipt in receipts} == {alone.replies}
    assert len({receipt.alias for receipt in receipts}) == 20
    assert await counted(services, Witness) == 21
    # Each message in, each reply out, none lost in the batch.
    assert await counted(services, Message) == 21 * (1 + len(alone.replies))


async def test_one_witness_goes_in_order_while_others_share_the_batches(
    services: Services,
) -> None:
    # A whole intake from one witness sent at once, beside strangers' first messages:
    # each answer is the one the same message gets in a walk one by one.
    walked = [await say(services, text, SOLO) for text in ENGLISH_MOVE]
    rushed = await asyncio.gather(
        *(say(services, text, number(0)) for text in ENGLISH_MOVE),
        *(say(services, ENGLISH_MOVE[0], number(n)) for n in range(1, 10)),
    )
    mine = rushed[: len(ENGLISH_MOVE)]
    for step, (one_by_one, at_once) in enumerate(zip(walked, mine, strict=True)):
        assert _shape(one_by_one) == _shape(at_once), f"step {step} answered differently"
    # Both intakes opened their case; the strangers are still at the first question.
    assert await counted(services, Case) == 2


def _shape(receipt: Receipt) -> list[str]:
    """The replies with the case reference (random per case) blanked."""
    return [REFERENCE.sub("REF", reply.text) for reply in receipt.replies]


async def test_a_delivery_repeated_at_once_is_stored_once(services: Services) -> None:
    first, second = await asyncio.gather(
        say(services, "hello", SOLO, "SM" + "a" * 32), say(services, "hello", SOLO, "SM" + "a" * 32)
    )
    assert (first.duplicate, second.duplicate) == (False, True)
    assert [r.text for r in second.replies] == [r.text for r in first.replies]
    async with services.db.read() as session:
        inbound = await session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in")
        )
    assert inbound == 1


@pytest.mark.postgres
@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
async def test_a_message_to_a_case_being_closed_waits_and_reopens_it(services: Services) -> None:
    # A caseworker closes the case while the witness writes again. The batch locks the
    # witness's case, so it waits for the close and then reads the case as closed: the
    # message reopens it rather than landing unseen in a closed case.
    await walk(services, ENGLISH_MOVE, SOLO)
    (case,) = await cases_of(services)
    async with services.db.write() as closing:
        locked = await cases.by_reference(closing, reference=case.reference, lock=True)
        assert locked is not None
        cases.close(locked, key=None, outcome="moved", now=utcnow())
        await closing.flush()
        writing = asyncio.ensure_future(say(services, "they came back tonight", SOLO))
        await eventually(lambda: waiting_on_a_lock(services.db), what="the batch to wait")
        assert not writing.done()
    await writing
    (after,) = await cases_of(services)
    assert after.status == CaseStatus.WAITING
    async with services.db.read() as session:
        reopened = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.case_id == case.id, AuditEvent.action == Action.REOPENED)
        )
    assert reopened == 1


async def walk(services: Services, script: list[str], address: str) -> None:
    for answer in script:
        await say(services, answer, address)


async def cases_of(services: Services) -> list[Case]:
    async with services.db.read() as session:
        return list((await session.execute(select(Case))).scalars())
