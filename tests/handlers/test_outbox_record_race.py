"""Recording a Telegram send while an intake moves the witness's messages to their new case.

The outbox worker seals each sent message's handle (its Telegram message id) bound to the
case the message belongs to. An intake that opens the case reseals the witness's earlier
messages, bound to the case, under the witness's row lock. A worker that read the
messages before waiting for that lock sealed the handle to "no case" on a row that now
says otherwise: the handle never opened again, and every later keyboard edit for that
witness failed. The worker must take the witness's lock first and read the messages after.

PostgreSQL only: SQLite runs one write transaction at a time, so the worker cannot read
the messages while the intake holds its transaction open, and the interleaving cannot
happen there.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Services
from bot.desk import InboundMessage
from bot.outbox import OutboxWorker
from bot.reference import new_reference
from handlers.telegram_sender import TelegramSender
from storage import cases, messages, witnesses
from storage.crypto import DataKey, DecryptionFailed
from storage.db import Database
from storage.models import Message
from storage.states import Direction
from tests.fakes.telegram import FakeTelegram
from tests.intake_scripts import ENGLISH_MOVE
from tests.live import eventually

CHAT = 6_660_001
# Everything up to the last answer ("1": send to a caseworker), which would open the case.
BEFORE_THE_CASE = ENGLISH_MOVE[:-1]

# Sessions on this database that wait for a lock `blocker` holds, taking a witness's row
# lock (storage/witnesses.py lock_all: SELECT ... FROM witnesses ... FOR UPDATE).
WAITING_FOR_THE_WITNESS = text(
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() "
    "AND CAST(:blocker AS integer) = ANY(pg_blocking_pids(pid)) "
    "AND query ILIKE '%FROM witnesses%FOR UPDATE%'"
)


@asynccontextmanager
async def sender_for(fake: FakeTelegram) -> AsyncIterator[TelegramSender]:
    """The real Telegram sender, talking to the fake Bot API through aiogram."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    async with Bot(fake.token, session=session) as bot:
        yield TelegramSender(bot)


async def witness_says(services: Services, number: int, said: str) -> None:
    """The witness types one message in their chat, as the Telegram edge hands it in."""
    await services.desk.receive(
        InboundMessage(
            channel="telegram",
            address=str(CHAT),
            text=said,
            provider_id=str(90_000 + number),
            handle=str(number),
        )
    )


async def deliver(worker: OutboxWorker) -> None:
    """Run the outbox until nothing more is due now."""
    for _ in range(20):
        if not await worker.run_once():
            return
    raise AssertionError("the outbox never ran dry")


async def witness_id_of(services: Services) -> uuid.UUID:
    async with services.db.read() as session:
        witness = await witnesses.find_witness(
            session, vault=services.vault, channel="telegram", address=str(CHAT), lock=False
        )
    assert witness is not None
    return witness.id


async def waiting_for_witness(db: Database, blocker: int) -> bool:
    """Whether a session waits for the witness's row lock that `blocker` holds."""
    async with db.read() as session:
        waiting = await session.scalar(WAITING_FOR_THE_WITNESS, {"blocker": blocker})
    return bool(waiting)


async def open_case_as_the_desk_does(session: AsyncSession, key: DataKey) -> uuid.UUID:
    """Open the witness's case and give it their messages (bot/desk.py _open_case)."""
    case = await cases.open_case(
        session,
        key=key,
        reference=new_reference(),
        queue="relocation",
        priority="high",
        language="en",
        needs=["move_now", "locks"],
        answers={"safe_now": "yes", "needs": "move_now,locks", "contact": "text_here"},
    )
    await messages.attach_to_case(session, key=key, case_id=case.id)
    return case.id


def handle_opens(message: Message, key: DataKey) -> bool:
    try:
        return messages.open_handle(message, key) is not None
    except DecryptionFailed:
        return False


@pytest.mark.postgres
@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
async def test_a_handle_recorded_while_the_case_opens_is_bound_to_the_case(
    services: Services,
) -> None:
    async with FakeTelegram() as fake, sender_for(fake) as sender:
        worker = OutboxWorker(db=services.db, vault=services.vault, senders={"telegram": sender})
        # The intake so far, each turn's replies sent before the next answer, as in
        # service; the last turn's replies are still owed.
        for number, answer in enumerate(BEFORE_THE_CASE[:-1], start=1):
            await witness_says(services, number, answer)
            await deliver(worker)
        await witness_says(services, len(BEFORE_THE_CASE), BEFORE_THE_CASE[-1])
        witness_id = await witness_id_of(services)
        sent_before = len(fake.sent_messages(CHAT))

        # The intake's transaction (its lock first, as the desk takes it) ends, and
        # commits, before the task group waits for the outbox's pass.
        async with asyncio.TaskGroup() as tasks, services.db.write() as intake:
            blocker = await intake.scalar(text("SELECT pg_backend_pid()"))
            await witnesses.lock(intake, witness_id=witness_id)
            outbox_pass = tasks.create_task(worker.run_once())
            # The pass sends, then waits for the witness's lock to record the send.
            await eventually(
                lambda: waiting_for_witness(services.db, blocker),
                within=20,
                what="the outbox to wait for the witness's lock",
            )
            key = await witnesses.data_key_for(intake, vault=services.vault, witness_id=witness_id)
            case_id = await open_case_as_the_desk_does(intake, key)

        assert outbox_pass.result() > 0
        assert len(fake.sent_messages(CHAT)) > sent_before
        # A pass sends each witness only the first message they are owed: the rest of
        # the turn's replies go out now, after the case opened.
        await deliver(worker)
        async with services.db.read() as session:
            key = await witnesses.data_key_for(session, vault=services.vault, witness_id=witness_id)
            query = select(Message).where(Message.witness_id == witness_id)
            stored = list((await session.execute(query)).scalars())

        assert stored and all(message.case_id == case_id for message in stored)
        outbound = [message for message in stored if message.direction == Direction.OUT]
        unreadable = [m.id for m in outbound if not handle_opens(m, key)]
        assert unreadable == [], "handles sealed to a binding the message no longer has"
        # Each handle is the Telegram message id the fake gave that message, and every
        # message the fake was sent is one of them.
        shown = {messages.open_handle(m, key): messages.open_body(m, key) for m in outbound}
        assert len(shown) == len(outbound)
        assert shown == {str(m["message_id"]): m["text"] for m in fake.sent_messages(CHAT)}
