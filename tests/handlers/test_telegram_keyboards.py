"""Telegram keyboards bound to their question: the buttons, their stored form, their edits.

The callback data and its reading back; the outbox re-drawing and removing keyboards
through the real aiogram client against the fake Bot API; `settle` on both databases.
The last section drives the live service end to end and needs the rewritten engine.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import select, update

from bot.intake.model import Button, Option, Press, Prompt
from bot.intake.script import STEP_NAMES
from bot.keyboards import settle
from bot.outbox import (
    Keyboard,
    OutboxWorker,
    Outgoing,
    RetryLater,
    Undeliverable,
    decode_options,
    encode_options,
)
from handlers.telegram_sender import CALLBACK_DATA_LIMIT, TelegramSender, keyboard
from handlers.telegram_updates import read_button
from storage import messages, witnesses
from storage.crypto import Vault
from storage.db import Database
from storage.keyring import KeySource
from storage.models import Message, OutboxItem, utcnow
from tests.fakes.telegram import FakeTelegram
from tests.handlers.telegram_helpers import button_for, buttons, telegram_service

CHAT = 4_242_424
LANGUAGES = (Option(1, "English"), Option(2, "Español"))
NEEDS = (
    Option(1, "Move somewhere safe now"),
    Option(2, "Move for good"),
    Option(3, "Change locks"),
)
ASK_LANGUAGE = Prompt("language", 1)
ASK_NEEDS = Prompt("needs", 4, multi=True, done_label="Done")


def needs_with(selected: tuple[int, ...]) -> Prompt:
    """The needs question with these options ticked."""
    return Prompt("needs", 4, multi=True, selected=selected, done_label="Done")


def layout(markup: InlineKeyboardMarkup | dict[str, Any] | None) -> list[list[tuple[str, str]]]:
    """A keyboard as rows of (text, callback data), from aiogram's type or the wire."""
    if markup is None:
        return []
    if isinstance(markup, InlineKeyboardMarkup):
        return [[(b.text, b.callback_data or "") for b in row] for row in markup.inline_keyboard]
    return [[(b["text"], b["callback_data"]) for b in row] for row in markup["inline_keyboard"]]


# -- the buttons ---------------------------------------------------------------------------


def test_a_single_choice_picks_and_names_its_question() -> None:
    assert layout(keyboard(LANGUAGES, ASK_LANGUAGE)) == [
        [("1. English", "p:1:language:1"), ("2. Español", "p:1:language:2")]
    ]


def test_a_multiple_choice_toggles_ticks_what_is_chosen_and_ends_with_done() -> None:
    chosen = Prompt("needs", 4, multi=True, selected=(1, 3), done_label="Listo")
    assert layout(keyboard(NEEDS, chosen)) == [
        [("✓ 1. Move somewhere safe now", "t:4:needs:1")],
        [("2. Move for good", "t:4:needs:2")],
        [("✓ 3. Change locks", "t:4:needs:3")],
        [("Listo", "d:4:needs")],
    ]


def test_ticking_an_option_never_moves_the_buttons() -> None:
    short = (Option(1, "Yes"), Option(2, "No"), Option(3, "Not sure 12"))
    shapes = {
        tuple(len(row) for row in layout(keyboard(short, needs_with(selected))))
        for selected in [(), (1,), (3,), (1, 2, 3)]
    }
    assert len(shapes) == 1


def test_unbound_buttons_carry_the_option_number_alone() -> None:
    assert layout(keyboard(LANGUAGES)) == [[("1. English", "1"), ("2. Español", "2")]]
    assert keyboard(()) is None
    assert keyboard((), ASK_LANGUAGE) is None


def test_callback_data_stays_within_telegrams_64_bytes() -> None:
    widest = (Option(999, "x"),)
    for step in [*STEP_NAMES, "a" * 16]:
        for multi in (False, True):
            prompt = Prompt(step, 999_999_999, multi=multi, selected=(999,), done_label="Done")
            datas = [data for row in layout(keyboard(widest, prompt)) for _, data in row]
            assert all(len(data.encode()) <= CALLBACK_DATA_LIMIT for data in datas), step


@pytest.mark.parametrize(
    ("options", "prompt"),
    [
        (LANGUAGES, Prompt("Language", 1)),
        (LANGUAGES, Prompt("a" * 17, 1)),
        (LANGUAGES, Prompt("safe-now", 1)),
        (LANGUAGES, Prompt("language", -1)),
        (LANGUAGES, Prompt("language", 1_000_000_000)),
        ((Option(1000, "Too many"),), Prompt("language", 1)),
        (NEEDS, Prompt("needs", 4, multi=True)),  # no label for Done
    ],
)
def test_buttons_that_could_not_be_read_back_are_refused(
    options: tuple[Option, ...], prompt: Prompt
) -> None:
    with pytest.raises(ValueError):
        keyboard(options, prompt)


def test_every_bound_button_reads_back_as_the_press_it_stands_for() -> None:
    chosen = Prompt("safe_times", 12, multi=True, selected=(2,), done_label="Done")
    toggles = [data for row in layout(keyboard(NEEDS, chosen)) for _, data in row]
    picks = [data for row in layout(keyboard(LANGUAGES, ASK_LANGUAGE)) for _, data in row]
    assert [read_button(data) for data in toggles] == [
        Button(Press.TOGGLE, step="safe_times", version=12, number=1),
        Button(Press.TOGGLE, step="safe_times", version=12, number=2),
        Button(Press.TOGGLE, step="safe_times", version=12, number=3),
        Button(Press.DONE, step="safe_times", version=12),
    ]
    assert [read_button(data) for data in picks] == [
        Button(Press.PICK, step="language", version=1, number=1),
        Button(Press.PICK, step="language", version=1, number=2),
    ]


def test_a_button_sent_before_binding_reads_as_a_closed_question() -> None:
    assert read_button("2") == Button(Press.PICK, step="", version=-1, number=2)


@pytest.mark.parametrize(
    "data",
    [
        "",
        "1234",
        "x:1:needs:1",
        "p:1:Needs:1",
        "p:01:needs:1",
        "p:-1:needs:1",
        "p:1:needs",
        "p:1:needs:1:2",
        "d:1:needs:1",
        "t:1:needs:",
        "p:1:" + "a" * 17 + ":1",
        "p:1:needs:1 ",
        "safe:yes",
    ],
)
def test_data_that_is_not_one_of_our_buttons_is_ignored(data: str) -> None:
    assert read_button(data) is None


# -- the stored form -----------------------------------------------------------------------


def test_stored_buttons_keep_their_question() -> None:
    chosen = Prompt("needs", 4, multi=True, selected=(3, 1), done_label="Listo")
    for options, prompt in [(NEEDS, chosen), (LANGUAGES, ASK_LANGUAGE), (LANGUAGES, None)]:
        assert decode_options(encode_options(options, prompt)) == Keyboard(options, prompt)


def test_buttons_stored_before_binding_read_as_unbound_options() -> None:
    assert decode_options('[[1, "English"], [2, "Español"]]') == Keyboard(LANGUAGES, None)
    assert decode_options(None) == Keyboard()
    assert decode_options("") == Keyboard()


# -- the Telegram sender -------------------------------------------------------------------


@asynccontextmanager
async def sender_for(fake: FakeTelegram) -> AsyncIterator[TelegramSender]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    async with Bot(fake.token, session=session) as bot:
        yield TelegramSender(bot)


async def send_question(sender: TelegramSender, prompt: Prompt | None = ASK_NEEDS) -> str:
    sent = await sender.send(
        Outgoing(
            channel="telegram",
            address=str(CHAT),
            text="What do you need?",
            options=NEEDS,
            prompt=prompt,
        )
    )
    assert sent.handle is not None
    return sent.handle


async def test_the_sender_redraws_the_ticks_under_its_message() -> None:
    async with FakeTelegram() as fake, sender_for(fake) as sender:
        handle = await send_question(sender)
        ticked = needs_with((2,))
        await sender.edit_keyboard(address=str(CHAT), handle=handle, options=NEEDS, prompt=ticked)
    [edit] = fake.calls_to("editMessageReplyMarkup")
    assert edit.status == 200
    assert (edit.params["chat_id"], edit.params["message_id"]) == (CHAT, int(handle))
    assert layout(edit.params["reply_markup"]) == layout(keyboard(NEEDS, ticked))
    shown = fake.message(CHAT, int(handle))
    assert shown is not None and layout(shown["reply_markup"])[1][0][0] == "✓ 2. Move for good"


async def test_the_sender_removes_a_keyboard_given_no_options() -> None:
    async with FakeTelegram() as fake, sender_for(fake) as sender:
        handle = await send_question(sender)
        await sender.edit_keyboard(address=str(CHAT), handle=handle, options=(), prompt=None)
    [edit] = fake.calls_to("editMessageReplyMarkup")
    assert edit.status == 200 and "reply_markup" not in edit.params
    shown = fake.message(CHAT, int(handle))
    assert shown is not None and "reply_markup" not in shown


async def test_an_edit_with_nothing_left_to_do_is_done() -> None:
    async with FakeTelegram() as fake, sender_for(fake) as sender:
        handle = await send_question(sender)
        # The same keyboard again (a retried edit): Telegram answers "not modified".
        await sender.edit_keyboard(
            address=str(CHAT), handle=handle, options=NEEDS, prompt=ASK_NEEDS
        )
        # The witness deleted the message.
        fake.fail_next(
            "editMessageReplyMarkup",
            status=400,
            description="Bad Request: message to edit not found",
        )
        await sender.edit_keyboard(address=str(CHAT), handle=handle, options=(), prompt=None)
    assert [call.status for call in fake.calls_to("editMessageReplyMarkup")] == [400, 400]


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (400, Undeliverable("telegram 400")),
        (403, Undeliverable("telegram 403 blocked", opted_out=True)),
        (429, RetryLater("telegram 429", after=2.0)),
        (502, RetryLater("telegram 5xx")),
    ],
)
async def test_other_refused_edits_are_sorted_like_sends(
    status: int, outcome: RetryLater | Undeliverable
) -> None:
    async with FakeTelegram() as fake, sender_for(fake) as sender:
        handle = await send_question(sender)
        fake.fail_next(
            "editMessageReplyMarkup", status=status, retry_after=2 if status == 429 else None
        )
        with pytest.raises(type(outcome)) as raised:
            await sender.edit_keyboard(address=str(CHAT), handle=handle, options=(), prompt=None)
    assert isinstance(raised.value, RetryLater | Undeliverable)
    assert raised.value.reason == outcome.reason
    if isinstance(outcome, RetryLater):
        assert isinstance(raised.value, RetryLater) and raised.value.after == outcome.after
    else:
        assert isinstance(raised.value, Undeliverable)
        assert raised.value.opted_out == outcome.opted_out


async def test_a_question_its_buttons_cannot_be_bound_to_fails_alone() -> None:
    async with FakeTelegram() as fake, sender_for(fake) as sender:
        with pytest.raises(Undeliverable, match="unbindable"):
            await send_question(sender, Prompt("Not A Step", 1))
        with pytest.raises(Undeliverable, match="unbindable"):
            await sender.edit_keyboard(
                address=str(CHAT), handle="7", options=NEEDS, prompt=Prompt("Not A Step", 1)
            )
    assert fake.calls == []


# -- the outbox and settle, on both databases ----------------------------------------------


@dataclass
class Desk:
    """Just enough of a witness's side to store questions and settle keyboards as the desk does."""

    db: Database
    vault: Vault
    witness_id: uuid.UUID
    fake: FakeTelegram
    worker: OutboxWorker

    async def ask(self, options: tuple[Option, ...], prompt: Prompt | None) -> uuid.UUID:
        """Store one question with its buttons and owe it to the witness."""
        async with self.db.write() as session:
            key = await witnesses.data_key_for(
                session, vault=self.vault, witness_id=self.witness_id
            )
            message = await messages.add_message(
                session,
                key=key,
                direction="out",
                text="A question?",
                delivery="queued",
                options=encode_options(options, prompt) if prompt else options_v1(options),
            )
            await messages.enqueue(session, message=message, channel="telegram", now=utcnow())
        return message.id

    async def settle(self, current: Prompt | None, witness_id: uuid.UUID | None = None) -> None:
        witness_id = witness_id or self.witness_id
        async with self.db.write() as session:
            key = await witnesses.data_key_for(session, vault=self.vault, witness_id=witness_id)
            await settle(
                session,
                key=key,
                witness_id=witness_id,
                channel="telegram",
                current=current,
                now=utcnow(),
            )

    async def deliver(self) -> int:
        """Run the outbox until nothing more is due now; returns how many items it handled."""
        handled = 0
        for _ in range(20):
            done = await self.worker.run_once()
            if not done:
                return handled
            handled += done
        raise AssertionError("the outbox never ran dry")

    async def stored(self, message_id: uuid.UUID) -> Keyboard:
        async with self.db.read() as session:
            key = await witnesses.data_key_for(
                session, vault=self.vault, witness_id=self.witness_id
            )
            message = await session.get(Message, message_id)
            assert message is not None
            return decode_options(messages.open_options(message, key))

    async def handle(self, message_id: uuid.UUID) -> int:
        async with self.db.read() as session:
            key = await witnesses.data_key_for(
                session, vault=self.vault, witness_id=self.witness_id
            )
            message = await session.get(Message, message_id)
            assert message is not None
            handle = messages.open_handle(message, key)
        assert handle is not None
        return int(handle)

    async def items(self, kind: str = "keyboard") -> list[OutboxItem]:
        async with self.db.read() as session:
            query = (
                select(OutboxItem).where(OutboxItem.kind == kind).order_by(OutboxItem.created_at)
            )
            return list((await session.execute(query)).scalars())


def options_v1(options: tuple[Option, ...]) -> str:
    """Buttons as stored before they were bound to a question."""
    return "[" + ", ".join(f'[{o.number}, "{o.label}"]' for o in options) + "]"


async def new_witness(db: Database, vault: Vault, address: str) -> uuid.UUID:
    async with db.write() as session:
        witness, _key = await witnesses.create_witness(
            session, vault=vault, channel="telegram", address=address
        )
    return witness.id


@pytest.fixture
async def desk(db: Database, tmp_path: Path) -> AsyncIterator[Desk]:
    vault = Vault(KeySource(env_value=None, key_file=tmp_path / "master.keys", create_missing=True))
    async with FakeTelegram() as fake, sender_for(fake) as sender:
        worker = OutboxWorker(db=db, vault=vault, senders={"telegram": sender})
        witness_id = await new_witness(db, vault, str(CHAT))
        yield Desk(db=db, vault=vault, witness_id=witness_id, fake=fake, worker=worker)


async def test_settle_closes_every_keyboard_but_the_open_questions(desk: Desk) -> None:
    language = await desk.ask(LANGUAGES, ASK_LANGUAGE)
    needs = await desk.ask(NEEDS, ASK_NEEDS)
    unbound = await desk.ask(LANGUAGES, None)
    other = await new_witness(desk.db, desk.vault, "5550001")
    async with desk.db.write() as session:
        key = await witnesses.data_key_for(session, vault=desk.vault, witness_id=other)
        elsewhere = await messages.add_message(
            session,
            key=key,
            direction="out",
            text="Another witness's question",
            options=encode_options(LANGUAGES, ASK_LANGUAGE),
        )

    await desk.settle(ASK_NEEDS)

    assert await desk.stored(language) == Keyboard()
    assert await desk.stored(needs) == Keyboard(NEEDS, ASK_NEEDS)
    assert await desk.stored(unbound) == Keyboard(LANGUAGES, None)
    async with desk.db.read() as session:
        kept = await session.get(Message, elsewhere.id)
        assert kept is not None and kept.options_sealed is not None
    assert [item.message_id for item in await desk.items()] == [language]

    await desk.settle(ASK_NEEDS)  # nothing changed since: nothing more owed
    assert len(await desk.items()) == 1


async def test_settle_with_no_question_open_closes_them_all(desk: Desk) -> None:
    asked = [await desk.ask(NEEDS, ASK_NEEDS), await desk.ask(LANGUAGES, ASK_LANGUAGE)]
    # The same step asked again is another question: its old buttons must not answer it.
    await desk.settle(Prompt("language", ASK_LANGUAGE.version + 1))
    assert [await desk.stored(message) for message in asked] == [Keyboard(), Keyboard()]
    await desk.settle(None)
    assert sorted(str(item.message_id) for item in await desk.items()) == sorted(map(str, asked))


async def test_settle_redraws_a_multiple_choice_when_its_ticks_change(desk: Desk) -> None:
    needs = await desk.ask(NEEDS, ASK_NEEDS)
    await desk.settle(needs_with((3, 1)))
    assert await desk.stored(needs) == Keyboard(NEEDS, needs_with((3, 1)))
    assert len(await desk.items()) == 1
    await desk.settle(needs_with((1, 3)))  # the same ticks, in another order
    assert await desk.stored(needs) == Keyboard(NEEDS, needs_with((3, 1)))
    assert len(await desk.items()) == 1


async def test_stored_buttons_stay_sealed_when_settled(desk: Desk) -> None:
    needs = await desk.ask(NEEDS, ASK_NEEDS)
    await desk.settle(needs_with((2,)))
    async with desk.db.read() as session:
        message = await session.get(Message, needs)
    assert message is not None and message.options_sealed is not None
    for plain in (b"Move for good", b"needs", b"selected", b"Done"):
        assert plain not in message.options_sealed


async def test_the_outbox_redraws_a_keyboard_after_its_message(desk: Desk) -> None:
    needs = await desk.ask(NEEDS, ASK_NEEDS)
    assert await desk.deliver() == 1
    async with desk.db.write() as session:
        await session.execute(
            update(Message).where(Message.id == needs).values(delivery="delivered")
        )

    await desk.settle(needs_with((1,)))
    assert await desk.deliver() == 1

    [edit] = desk.fake.calls_to("editMessageReplyMarkup")
    assert (edit.params["chat_id"], edit.params["message_id"]) == (CHAT, await desk.handle(needs))
    assert layout(edit.params["reply_markup"]) == layout(keyboard(NEEDS, needs_with((1,))))
    [item] = await desk.items()
    assert (item.status, item.attempts) == ("sent", 1)
    async with desk.db.read() as session:
        message = await session.get(Message, needs)
    # Re-drawing the buttons says nothing about whether the message reached the witness.
    assert message is not None and message.delivery == "delivered"


async def test_the_outbox_removes_a_closed_keyboard(desk: Desk) -> None:
    language = await desk.ask(LANGUAGES, ASK_LANGUAGE)
    await desk.deliver()
    await desk.settle(ASK_NEEDS)
    await desk.deliver()
    [edit] = desk.fake.calls_to("editMessageReplyMarkup")
    handle = await desk.handle(language)
    assert edit.params["message_id"] == handle and "reply_markup" not in edit.params
    shown = desk.fake.message(CHAT, handle)
    assert shown is not None and "reply_markup" not in shown
    assert [item.status for item in await desk.items()] == ["sent"]


async def test_every_redraw_shows_the_latest_ticks(desk: Desk) -> None:
    needs = await desk.ask(NEEDS, ASK_NEEDS)
    await desk.deliver()
    await desk.settle(needs_with((1,)))
    await desk.settle(needs_with((1, 2)))
    assert len(await desk.items()) == 2
    await desk.deliver()
    edits = desk.fake.calls_to("editMessageReplyMarkup")
    latest = layout(keyboard(NEEDS, needs_with((1, 2))))
    assert edits and all(layout(edit.params["reply_markup"]) == latest for edit in edits)
    assert {item.status for item in await desk.items()} == {"sent"}
    await desk.settle(needs_with((2,)))
    assert await desk.stored(needs) == Keyboard(NEEDS, needs_with((2,)))


async def test_a_keyboard_item_waits_for_the_message_it_edits(desk: Desk) -> None:
    language = await desk.ask(LANGUAGES, ASK_LANGUAGE)
    await desk.settle(ASK_NEEDS)  # answered before its question even went out

    assert await desk.worker.run_once() == 1  # the question alone: the edit waits
    [question] = desk.fake.calls_to("sendMessage")
    assert "reply_markup" not in question.params  # it read the buttons as they are now
    assert [item.status for item in await desk.items()] == ["pending"]

    await desk.deliver()
    # The edit then has nothing to change, and Telegram saying so is success.
    assert [call.status for call in desk.fake.calls_to("editMessageReplyMarkup")] == [400]
    assert [item.status for item in await desk.items()] == ["sent"]
    assert [item.status for item in await desk.items("message")] == ["sent"]
    assert await desk.stored(language) == Keyboard()


async def move_keyboard_items_first(db: Database) -> None:
    """Order the keyboard items before every message item, as no desk writes them."""
    async with db.write() as session:
        await session.execute(
            update(OutboxItem).where(OutboxItem.kind == "keyboard").values(position=0)
        )


async def test_an_edit_before_its_message_went_out_is_left_to_the_send(desk: Desk) -> None:
    needs = await desk.ask(NEEDS, ASK_NEEDS)
    await desk.settle(needs_with((2,)))
    await move_keyboard_items_first(desk.db)

    await desk.deliver()

    assert desk.fake.calls_to("editMessageReplyMarkup") == []
    [question] = desk.fake.calls_to("sendMessage")
    assert layout(question.params["reply_markup"]) == layout(keyboard(NEEDS, needs_with((2,))))
    assert [item.status for item in await desk.items()] == ["sent"]
    assert await desk.stored(needs) == Keyboard(NEEDS, needs_with((2,)))


async def test_an_edit_while_its_message_is_being_sent_is_retried(desk: Desk) -> None:
    await desk.ask(NEEDS, ASK_NEEDS)
    await desk.settle(needs_with((2,)))
    await move_keyboard_items_first(desk.db)
    async with desk.db.write() as session:
        # Another worker has claimed the question and is sending it right now.
        await session.execute(
            update(OutboxItem)
            .where(OutboxItem.kind == "message")
            .values(status="sending", lease_until=utcnow() + timedelta(minutes=2))
        )

    assert await desk.worker.run_once() == 1

    [item] = await desk.items()
    assert (item.status, item.last_error, item.attempts) == ("pending", "message not sent yet", 1)
    assert item.next_attempt_at > utcnow()
    assert desk.fake.calls == []


async def test_the_keyboard_of_a_message_never_sent_fails_alone(desk: Desk) -> None:
    language = await desk.ask(LANGUAGES, ASK_LANGUAGE)
    desk.fake.fail_next("sendMessage", status=400)
    await desk.deliver()
    await desk.settle(ASK_NEEDS)
    await desk.deliver()
    assert [(i.status, i.last_error) for i in await desk.items()] == [
        ("failed", "message never sent")
    ]
    assert desk.fake.calls_to("editMessageReplyMarkup") == []
    async with desk.db.read() as session:
        message = await session.get(Message, language)
    assert message is not None and message.delivery == "failed"


async def test_a_message_deleted_from_the_chat_needs_no_edit(desk: Desk) -> None:
    await desk.ask(LANGUAGES, ASK_LANGUAGE)
    await desk.deliver()
    await desk.settle(None)
    desk.fake.fail_next(
        "editMessageReplyMarkup", status=400, description="Bad Request: message to edit not found"
    )
    await desk.deliver()
    assert [item.status for item in await desk.items()] == ["sent"]


# -- end to end (needs the rewritten engine, and the desk calling keyboards.settle) --------


async def test_a_pressed_answer_removes_its_keyboard_and_binds_the_next(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url) as (_live, fake, user):
        await user.say("hi")
        language = user.shown()
        english = button_for(language, "English")
        assert english is not None and english.startswith("p:")
        assert english.split(":")[2] == "language"
        await user.press("English")
        shown = fake.message(user.chat_id, language["message_id"])
        assert shown is not None and "reply_markup" not in shown
        assert all(data.startswith("p:") for data in buttons(user.shown()))


async def test_an_old_button_is_refused_and_changes_nothing(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url) as (_live, _fake, user):
        await user.say("hi")
        language = user.shown()
        await user.press("English")
        question = user.shown()
        # The witness's app still shows the old keyboard (an edit can lag): press it there.
        old = button_for(language, "Español")
        assert old is not None
        refused = await user.tap(old, message_id=language["message_id"])
        assert refused[0] == "That question is closed."
        assert buttons(user.shown()) == buttons(question)  # still on the same question
        # A button from before buttons were bound reads as closed too.
        legacy = await user.tap("1", message_id=language["message_id"])
        assert legacy[0] == "That question is closed."
        assert buttons(user.shown()) == buttons(question)


async def test_a_multiple_choice_toggles_in_place_then_done_closes_it(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url) as (_live, fake, user):
        await user.walk(["hi", "1", "1", "2"])  # English, safe, victim: the needs question
        needs = user.shown()
        toggles = [data for data in buttons(needs) if data.startswith("t:")]
        assert toggles and any(data.startswith("d:") for data in buttons(needs))
        await user.press("1", message_id=needs["message_id"])
        await user.press("3", message_id=needs["message_id"])
        shown = user.shown(needs["message_id"])
        ticked = [text for text in buttons(shown).values() if text.startswith("✓ ")]
        assert [text.split(". ")[0] for text in ticked] == ["✓ 1", "✓ 3"]
        done = next(data for data in buttons(shown) if data.startswith("d:"))
        await user.press(done, message_id=needs["message_id"])
        closed = fake.message(user.chat_id, needs["message_id"])
        assert closed is not None and "reply_markup" not in closed
        assert any(
            text.startswith("Got it: Move somewhere safe for now + Change locks")
            for text in fake.texts_to(user.chat_id)
        )
