"""The Telegram channel end to end: webhook and long polling in, the fake Bot API out.

Everything runs the real app on a real socket, the real aiogram client and a local fake
Bot API, on both databases. Replies leave through the outbox worker, so tests wait for
them (a deadline, never a timed assertion).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select, text

from bot.intake import messages
from bot.intake.model import Language, Option
from bot.outbox import BACKOFF_BASE, Outgoing, RetryLater, Undeliverable
from handlers.telegram_sender import TelegramSender, keyboard
from storage.models import Case, DataKeyRow, Message, OutboxItem, Witness
from tests.canaries import files_under, find_canaries, log_lines, row_counts, table_rows
from tests.cli_runner import run_cli
from tests.clock import ManualClock
from tests.fakes.telegram import (
    FakeTelegram,
    callback_update,
    channel_post_update,
    edited_message_update,
    group_message_update,
    photo_update,
    sticker_update,
    text_update,
)
from tests.handlers.telegram_helpers import (
    SECRET,
    WITNESS_CHAT,
    button_for,
    buttons,
    next_update_id,
    outbox_settled,
    telegram_service,
)
from tests.intake_scripts import ENGLISH_MOVE, REFERENCE, SPANISH_SUPPORT
from tests.live import LiveService, eventually, finish_outbox

ERASED_EN = messages.ERASED[0].in_language(Language.EN)
MEDIA_NOTICE_EN = messages.MEDIA_NOT_KEPT[0].in_language(Language.EN)


async def only_case(live: LiveService) -> Case:
    async with live.services.db.read() as session:
        return (await session.execute(select(Case))).scalar_one()


async def out_deliveries(live: LiveService) -> list[str | None]:
    """The delivery state of every outbound message, oldest first."""
    async with live.services.db.read() as session:
        query = select(Message.delivery).where(Message.direction == "out")
        return list((await session.execute(query.order_by(Message.created_at))).scalars())


# -- the intake --------------------------------------------------------------------------


async def test_a_whole_intake_with_buttons_and_typed_numbers(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        welcome = await user.say(ENGLISH_MOVE[0])
        assert any("not the police" in reply for reply in welcome)
        language_question = fake.sent_messages(WITNESS_CHAT)[-1]
        assert list(buttons(language_question).values()) == ["1. English", "2. Español"]
        # Each button names the question it answers.
        assert {data.split(":")[2] for data in buttons(language_question)} == {"language"}

        done = await user.walk(ENGLISH_MOVE[1:])

        reference = REFERENCE.search(" ".join(done))
        assert reference is not None, done
        case = await only_case(live)
        assert (case.reference, case.queue, case.priority) == (
            reference.group(0),
            "relocation",
            "high",
        )
        # Choices were pressed (language, safety, role, ...), "1 3" and free text typed.
        assert user.presses >= 6
        answered = fake.calls_to("answerCallbackQuery")
        assert len(answered) == user.presses
        assert all(call.status == 200 for call in answered)
        keyboards = [m for m in fake.sent_messages(WITNESS_CHAT) if "reply_markup" in m]
        assert len(keyboards) >= 6
        assert all(len(row) <= 2 for m in keyboards for row in m["reply_markup"]["inline_keyboard"])
        # Every reply went out once, and the desk knows it was sent.
        assert set(await out_deliveries(live)) == {"sent"}


async def test_a_spanish_telegram_app_starts_in_spanish(tmp_path: Path, database_url: str) -> None:
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        user.language_code = "es-MX"
        welcome = await user.say("/start")
        assert "no la policía" in welcome[0]
        assert not any("Choose your language" in reply for reply in welcome)
        done = await user.walk(SPANISH_SUPPORT[1:])
        assert REFERENCE.search(" ".join(done))
        case = await only_case(live)
        assert (case.queue, case.priority, case.language) == ("support", "urgent", "es")


async def test_an_english_app_still_gets_the_language_question(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url) as (_live, fake, user):
        await user.say("/start")
        language_question = fake.sent_messages(WITNESS_CHAT)[-1]
        assert list(buttons(language_question).values()) == ["1. English", "2. Español"]


# -- who may call the webhook --------------------------------------------------------------


async def test_a_wrong_or_missing_secret_is_refused_and_stores_nothing(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        before = await row_counts(live.services.db)
        update = text_update(next_update_id(), WITNESS_CHAT, "hi")
        for headers in (
            {},
            {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]},
            {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"},
            {"X-Telegram-Bot-Api-Secret-Token": ""},
        ):
            response = await user.post(update, headers=headers)
            assert response.status_code == 401
        # Not even a malformed body gets past the secret check.
        response = await user.post(b"not json", headers={})
        assert response.status_code == 401
        assert await row_counts(live.services.db) == before
        assert fake.calls_to("sendMessage") == []


async def test_without_a_configured_secret_the_webhook_refuses_everything(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with telegram_service(tmp_path, database_url, secret=None) as (live, fake, user):
        before = await row_counts(live.services.db)
        update = text_update(next_update_id(), WITNESS_CHAT, "hi")
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "anything"}):
            response = await user.post(update, headers=headers)
            assert response.status_code == 403
        assert await row_counts(live.services.db) == before
        assert fake.calls_to("sendMessage") == []
    assert any("TELEGRAM_WEBHOOK_SECRET is not set" in r.getMessage() for r in caplog.records)


async def test_a_repeated_update_id_stores_nothing_new_and_answers_once(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        message = text_update(next_update_id(), WITNESS_CHAT, "hi", message_id=1)
        await user.deliver(message)
        question = fake.sent_messages(WITNESS_CHAT)[-1]
        press = callback_update(
            next_update_id(), WITNESS_CHAT, "1", message_id=question["message_id"]
        )
        await user.deliver(press)
        stored, replies = await row_counts(live.services.db), len(fake.sent_messages())
        for update in (message, press, message, press):
            await user.deliver(update)
        assert await row_counts(live.services.db) == stored
        assert len(fake.sent_messages()) == replies


# -- updates that are not a witness writing -----------------------------------------------


async def test_updates_that_are_not_for_the_desk_store_and_send_nothing(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        await user.say("hi")  # a conversation exists, so an edit has something to edit
        before, sent = await row_counts(live.services.db), len(fake.calls_to("sendMessage"))
        ignored = [
            edited_message_update(next_update_id(), WITNESS_CHAT, "edited", message_id=1),
            group_message_update(next_update_id(), -1001234567890, "hi", user_id=WITNESS_CHAT),
            group_message_update(
                next_update_id(), -4242, "1", user_id=WITNESS_CHAT, chat_type="group"
            ),
            channel_post_update(next_update_id(), -1009876543210, "news"),
            {"update_id": next_update_id(), "brand_new_kind": {"id": 1, "text": "hi"}},
            {"update_id": next_update_id()},
            {
                "update_id": next_update_id(),
                "my_chat_member": {
                    "chat": {"id": WITNESS_CHAT, "type": "private", "first_name": "A"},
                    "from": {"id": WITNESS_CHAT, "is_bot": False, "first_name": "A"},
                    "date": int(time.time()),
                    "old_chat_member": {"status": "member", "user": fake.bot_user()},
                    "new_chat_member": {
                        "status": "kicked",
                        "user": fake.bot_user(),
                        "until_date": 0,
                    },
                },
            },
        ]
        pinned = text_update(next_update_id(), WITNESS_CHAT, "x")
        del pinned["message"]["text"]
        pinned["message"]["pinned_message"] = {
            "message_id": 1,
            "chat": pinned["message"]["chat"],
            "date": 0,
        }
        ignored.append(pinned)
        for update in ignored:
            response = await user.post(update)
            assert response.status_code == 200, (update, response.text)
            assert response.content == b""
        # A press on a button that is not ours is answered, and nothing more.
        odd_press = callback_update(next_update_id(), WITNESS_CHAT, "delete:all")
        response = await user.post(odd_press)
        assert response.status_code == 200
        assert await row_counts(live.services.db) == before
        assert len(fake.calls_to("sendMessage")) == sent
        assert len(fake.calls_to("answerCallbackQuery")) == 1


async def test_malformed_bodies_get_400_and_store_nothing(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        before = await row_counts(live.services.db)
        for body in (
            b"{not json",
            b'{"update_id": 1, "message": "\xff\xfe"}',
            b"[1, 2, 3]",
            b'"just a string"',
            b"",
            b'{"message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}}}',
            b'{"update_id": "not a number"}',
            b'{"update_id": 5, "message": {"chat": "nonsense"}}',
            b"[" * 30_000 + b"]" * 30_000,
            b'{"update_id": 5, "message": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_001,
        ):
            response = await user.post(body)
            assert response.status_code == 400, (body[:60], response.text)
        too_big = b'{"update_id": 1, "pad": "' + b"x" * 70_000 + b'"}'
        assert (await user.post(too_big)).status_code == 413
        assert await row_counts(live.services.db) == before
        assert fake.calls == []


async def test_media_is_not_kept_and_gets_a_polite_note(tmp_path: Path, database_url: str) -> None:
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        await user.say("hi")
        await user.press("1")  # English
        before = await row_counts(live.services.db)
        sent = len(fake.sent_messages())
        await user.deliver(sticker_update(next_update_id(), WITNESS_CHAT, message_id=50))
        replies = fake.texts_to(WITNESS_CHAT)[sent:]
        assert replies[0] == MEDIA_NOTICE_EN
        # The question is asked again, and a caption counts as the answer.
        assert "safe" in replies[-1]
        await user.deliver(photo_update(next_update_id(), WITNESS_CHAT, caption="1", message_id=51))
        after = await row_counts(live.services.db)
        assert after["messages"] > before["messages"]
        assert fake.calls_to("getFile") == []
        texts = fake.texts_to(WITNESS_CHAT)
        assert texts[-2] == MEDIA_NOTICE_EN and "How would you describe" in texts[-1]


# -- failures ------------------------------------------------------------------------------


async def rename_table(live: LiveService, old: str, new: str) -> None:
    async with live.services.db.write() as session:
        await session.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


async def test_a_message_that_cannot_be_stored_gets_500_until_it_is(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        update = text_update(next_update_id(), WITNESS_CHAT, "hi there", message_id=1)
        await rename_table(live, "messages", "messages_away")
        try:
            response = await user.post(update)
            assert response.status_code == 500
        finally:
            await rename_table(live, "messages_away", "messages")

        # Telegram delivers it again; once the database takes it, it is answered.
        async def redelivered() -> bool:
            return (await user.post(update)).status_code == 200

        await eventually(redelivered, what="the redelivery to be stored")
        await eventually(lambda: outbox_settled(live), what="the replies")
        assert any("not the police" in t for t in fake.texts_to(WITNESS_CHAT))
    assert not any("hi there" in r.getMessage() for r in caplog.records)


# -- the outbox over Telegram ----------------------------------------------------------------


async def test_a_server_error_is_retried_and_delivered_once(
    tmp_path: Path, database_url: str
) -> None:
    clock = ManualClock()
    async with telegram_service(tmp_path, database_url, clock=clock) as (live, fake, user):
        fake.fail_next("sendMessage", status=500)
        update = text_update(next_update_id(), WITNESS_CHAT, "hi", message_id=1)
        assert (await user.post(update)).status_code == 200
        await finish_outbox(live)
        # The first text waits out its backoff; nothing is sent ahead of it.
        assert [call.status for call in fake.calls_to("sendMessage")] == [500]

        clock.advance(BACKOFF_BASE * 1.2)
        await finish_outbox(live)
        calls = fake.calls_to("sendMessage")
        # The welcome (three texts) and the language question, each sent once.
        assert [call.status for call in calls] == [500, 200, 200, 200, 200]
        delivered = [call.params["text"] for call in calls if call.status == 200]
        assert len(set(delivered)) == len(delivered) == 4
        assert delivered[0] == calls[0].params["text"]
        assert set(await out_deliveries(live)) == {"sent"}


async def test_a_rate_limit_is_honoured_then_delivered_once(
    tmp_path: Path, database_url: str
) -> None:
    clock = ManualClock()
    async with telegram_service(tmp_path, database_url, clock=clock) as (live, fake, user):
        fake.fail_next("sendMessage", status=429, retry_after=30)
        update = text_update(next_update_id(), WITNESS_CHAT, "hi", message_id=1)
        assert (await user.post(update)).status_code == 200
        await finish_outbox(live)
        # Past any backoff but short of Telegram's retry_after: nothing more is asked.
        clock.advance(29)
        await finish_outbox(live)
        assert [call.status for call in fake.calls_to("sendMessage")] == [429]

        clock.advance(1)
        await finish_outbox(live)
        calls = fake.calls_to("sendMessage")
        assert [call.status for call in calls] == [429, 200, 200, 200, 200]
        assert calls[0].params["text"] == calls[1].params["text"]
        async with live.services.db.read() as session:
            first = (
                (await session.execute(select(OutboxItem).order_by(OutboxItem.position)))
                .scalars()
                .first()
            )
        assert first is not None and first.attempts == 2


async def test_a_blocked_bot_opts_the_witness_out_without_retrying(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        fake.fail_next("sendMessage", status=403)
        await user.say("hi")
        assert [call.status for call in fake.calls_to("sendMessage")] == [403]
        async with live.services.db.read() as session:
            witness = (await session.execute(select(Witness))).scalar_one()
            items = list((await session.execute(select(OutboxItem))).scalars())
        assert witness.opted_out
        assert {item.status for item in items} == {"failed"}
        assert all(item.attempts <= 1 for item in items)
        assert set(await out_deliveries(live)) == {"failed"}


async def test_a_witness_who_unblocks_the_bot_is_answered_again(
    tmp_path: Path, database_url: str
) -> None:
    # Regression: after a 403 (bot blocked) the witness stayed opted out for good, so
    # every later reply failed silently once they unblocked the bot and wrote again.
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        fake.fail_next("sendMessage", status=403)
        await user.say("hi")
        async with live.services.db.read() as session:
            assert (await session.execute(select(Witness))).scalar_one().opted_out
        replies = await user.say("hello again")
        assert replies
        async with live.services.db.read() as session:
            assert not (await session.execute(select(Witness))).scalar_one().opted_out


async def test_a_bad_request_fails_that_message_only(tmp_path: Path, database_url: str) -> None:
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        fake.fail_next("sendMessage", status=400)
        await user.say("hi")
        calls = fake.calls_to("sendMessage")
        assert [call.status for call in calls] == [400, 200, 200, 200]
        assert calls[0].params["text"] not in [call.params["text"] for call in calls[1:]]
        assert await out_deliveries(live) == ["failed", "sent", "sent", "sent"]
        async with live.services.db.read() as session:
            failed = (
                await session.execute(select(OutboxItem).where(OutboxItem.status == "failed"))
            ).scalar_one()
        assert failed.attempts == 1 and failed.last_error == "telegram 400"


@asynccontextmanager
async def sender_for(api_base: str, token: str) -> AsyncIterator[TelegramSender]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    async with Bot(token, session=session) as bot:
        yield TelegramSender(bot)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (500, RetryLater("telegram 5xx")),
        (502, RetryLater("telegram 5xx")),
        (429, RetryLater("telegram 429", after=3.0)),
        (401, RetryLater("telegram 401 token refused")),
        (403, Undeliverable("telegram 403 blocked", opted_out=True)),
        (400, Undeliverable("telegram 400")),
        (404, Undeliverable("telegram refused: TelegramNotFound")),
        (409, Undeliverable("telegram refused: TelegramConflictError")),
    ],
)
async def test_the_sender_sorts_telegram_refusals(
    status: int, outcome: RetryLater | Undeliverable
) -> None:
    async with FakeTelegram() as fake, sender_for(fake.base_url, fake.token) as sender:
        fake.fail_next("sendMessage", status=status, retry_after=3 if status == 429 else None)
        with pytest.raises(type(outcome)) as raised:
            await sender.send(Outgoing(channel="telegram", address="42", text="hello"))
        assert isinstance(raised.value, RetryLater | Undeliverable)
        assert raised.value.reason == outcome.reason
        if isinstance(outcome, RetryLater):
            assert isinstance(raised.value, RetryLater) and raised.value.after == outcome.after
        else:
            assert isinstance(raised.value, Undeliverable)
            assert raised.value.opted_out == outcome.opted_out


async def test_an_unreachable_api_is_retried_later() -> None:
    async with FakeTelegram() as fake:
        closed = fake.base_url  # nothing listens here once the fake has stopped
        token = fake.token
    async with sender_for(closed, token) as sender:
        with pytest.raises(RetryLater, match="network"):
            await sender.send(Outgoing(channel="telegram", address="42", text="hello"))
        with pytest.raises(RetryLater, match="network"):
            await sender.erase_chat(address="42", handles=["1"])


async def test_chat_clean_up_deletes_in_chunks_and_retries_rate_limits() -> None:
    async with FakeTelegram() as fake, sender_for(fake.base_url, fake.token) as sender:
        handles = [str(n) for n in range(1, 251)] + ["1", "not-a-number"]
        await sender.erase_chat(address="42", handles=handles)
        chunks = [call.params["message_ids"] for call in fake.calls_to("deleteMessages")]
        assert [len(chunk) for chunk in chunks] == [100, 100, 50]
        assert sorted(i for chunk in chunks for i in chunk) == list(range(1, 251))
        fake.fail_next("deleteMessages", status=429, retry_after=2)
        with pytest.raises(RetryLater) as raised:
            await sender.erase_chat(address="42", handles=["7"])
        assert raised.value.after == 2.0
        fake.fail_next("deleteMessages", status=403)
        await sender.erase_chat(address="42", handles=["7"])  # blocked: nothing to clean


def test_buttons_carry_the_option_number_two_a_row_when_short() -> None:
    short = keyboard((Option(1, "Yes"), Option(2, "No"), Option(3, "Not sure")))
    assert short is not None
    assert [[(b.text, b.callback_data) for b in row] for row in short.inline_keyboard] == [
        [("1. Yes", "1"), ("2. No", "2")],
        [("3. Not sure", "3")],
    ]
    long = keyboard((Option(1, "Move somewhere safe for now"), Option(2, "No")))
    assert long is not None
    assert [len(row) for row in long.inline_keyboard] == [1, 1]
    assert keyboard(()) is None


# -- erasure -----------------------------------------------------------------------------------


async def test_delete_then_yes_erases_the_witness_and_cleans_the_chat(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        await user.say("hi")
        await user.press("1")
        await user.say("I was there")  # an unclear answer: a hint and the question again
        confirm = await user.say("DELETE")
        assert "Reply YES to erase" in confirm[-1]
        ours = [message["message_id"] for message in fake.sent_messages(WITNESS_CHAT)]
        farewell = await user.say("YES")

        assert farewell == [ERASED_EN]
        deleted: set[int] = set()
        for call in fake.calls_to("deleteMessages") + fake.calls_to("deleteMessage"):
            ids = call.params.get("message_ids") or [call.params["message_id"]]
            deleted.update(int(i) for i in ids)
        assert deleted == set(user.message_ids) | set(ours)
        methods = [call.method for call in fake.calls]
        assert methods.index("deleteMessages") < len(methods) - 1
        assert methods[-1] == "sendMessage"
        async with live.services.db.read() as session:
            assert (await session.execute(select(DataKeyRow))).first() is None
            witness = (await session.execute(select(Witness))).scalar_one_or_none()
        assert witness is None or witness.erased_at is not None


async def test_chat_clean_up_survives_undeletable_messages(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        await user.say("hi")
        await user.say("DELETE")
        fake.fail_next("deleteMessages", status=400)
        fake.fail_next("deleteMessage", status=400)
        farewell = await user.say("YES")
        assert farewell == [ERASED_EN]
        singles = fake.calls_to("deleteMessage")
        assert [call.status for call in singles][:1] == [400]
        # The witness's messages, the welcome (three texts), the language question, and
        # the "are you sure" question DELETE asked.
        assert len(singles) == len(user.message_ids) + 5


# -- privacy -----------------------------------------------------------------------------------

CANARY_CHAT = 7_788_991_122_334
CANARY_PROFILE = {
    "first_name": "Zephyrine-Canary",
    "last_name": "Quillfeather-Canary",
    "username": "owl_canary_4417",
}
CANARY_STORY = "Marigold-Canary saw the blue van near 5519 Larkspur"
CANARIES = [*CANARY_PROFILE.values(), str(CANARY_CHAT), CANARY_STORY]


async def test_profile_fields_and_ids_never_reach_storage_or_logs(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        user.chat_id = CANARY_CHAT
        user.profile = dict(CANARY_PROFILE)
        script = list(ENGLISH_MOVE)
        script[10] = CANARY_STORY
        await user.say(script[0])
        await user.walk(script[1:])
        first_name = CANARY_PROFILE["first_name"]
        await user.deliver(photo_update(next_update_id(), CANARY_CHAT, first_name=first_name))
        await user.say("STATUS")
        assert REFERENCE.search(" ".join(fake.texts_to(CANARY_CHAT)))

        rows = await table_rows(live.services.db)
        assert len(rows) > 100
        assert find_canaries(CANARIES, rows) == []
        if database_url.startswith("sqlite"):
            live_files = files_under(tmp_path)
            assert any(name.endswith("-wal") for name, _ in live_files)
            assert find_canaries(CANARIES, live_files) == []
    if database_url.startswith("sqlite"):
        assert find_canaries(CANARIES, files_under(tmp_path)) == []
    assert find_canaries(CANARIES, log_lines(caplog)) == []
    # The search itself can find what it looks for.
    assert find_canaries(CANARIES, [("probe", str(CANARY_CHAT).encode("utf-16-le"))])


# -- long polling --------------------------------------------------------------------------------


async def test_long_polling_answers_without_a_public_url(tmp_path: Path, database_url: str) -> None:
    async with telegram_service(tmp_path, database_url, public_url=False) as (live, fake, _user):
        fake.push_update(text_update(next_update_id(), WITNESS_CHAT, "hi", message_id=1))
        fake.push_update(group_message_update(next_update_id(), -100555, "hi", user_id=42))
        await eventually(lambda: len(fake.sent_messages(WITNESS_CHAT)) >= 4, what="the welcome")
        question = fake.sent_messages(WITNESS_CHAT)[-1]
        english = button_for(question, "English")
        assert english is not None
        fake.push_update(
            callback_update(
                next_update_id(), WITNESS_CHAT, english, message_id=question["message_id"]
            )
        )
        await eventually(lambda: fake.calls_to("answerCallbackQuery"), what="the button answer")
        await eventually(lambda: len(fake.sent_messages(WITNESS_CHAT)) >= 5, what="a question")
        assert "safe" in fake.texts_to(WITNESS_CHAT)[-1]
        await eventually(lambda: not fake.pending_updates, what="updates to be confirmed")
        polls = fake.calls_to("getUpdates")
        assert polls[0].params["allowed_updates"] == ["message", "callback_query"]
        assert all(call.params.get("timeout", 0) > 0 for call in polls)
        assert {m["chat"]["id"] for m in fake.sent_messages()} == {WITNESS_CHAT}
        assert fake.webhook is None


async def test_long_polling_keeps_an_update_it_could_not_store(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url, public_url=False) as (live, fake, _user):
        await eventually(lambda: fake.calls_to("getUpdates"), what="polling to start")
        await rename_table(live, "messages", "messages_away")
        try:
            update_id = fake.push_update(text_update(next_update_id(), WITNESS_CHAT, "hi"))

            def fetched_twice() -> bool:
                handed_out = [
                    call
                    for call in fake.calls_to("getUpdates")
                    if any(u["update_id"] == update_id for u in call.result or [])
                ]
                return len(handed_out) >= 2

            await eventually(fetched_twice, what="the update to be fetched again")
            assert [u["update_id"] for u in fake.pending_updates] == [update_id]
            assert fake.sent_messages() == []
        finally:
            await rename_table(live, "messages_away", "messages")
        await eventually(lambda: len(fake.sent_messages(WITNESS_CHAT)) >= 4, what="the welcome")
        await eventually(lambda: not fake.pending_updates, what="the update to be confirmed")


# -- the command line --------------------------------------------------------------------------


async def test_cli_set_webhook_registers_the_url_with_the_secret(
    tmp_path: Path, database_url: str
) -> None:
    async with FakeTelegram() as fake:
        done = await asyncio.to_thread(
            run_cli,
            "telegram",
            "set-webhook",
            data_dir=tmp_path / "data",
            database_url=database_url,
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE=fake.base_url,
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            INTAKE_PUBLIC_URL="https://intake.example.org/",
        )
    assert done.returncode == 0, done.stderr
    assert "https://intake.example.org/webhooks/telegram" in done.stdout
    assert fake.webhook is not None
    assert fake.webhook["url"] == "https://intake.example.org/webhooks/telegram"
    assert fake.webhook["secret_token"] == SECRET
    assert fake.webhook["allowed_updates"] == ["message", "callback_query"]
    for output in (done.stdout, done.stderr):
        assert SECRET not in output and fake.token not in output


async def test_cli_set_webhook_names_what_is_missing(tmp_path: Path, database_url: str) -> None:
    async with FakeTelegram(require_https_webhook=False) as fake:
        data_dir = tmp_path / "data"
        no_secret = await asyncio.to_thread(
            run_cli,
            "telegram",
            "set-webhook",
            data_dir=data_dir,
            database_url=database_url,
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE=fake.base_url,
            INTAKE_PUBLIC_URL="http://127.0.0.1:9",
        )
        nothing = await asyncio.to_thread(
            run_cli,
            "telegram",
            "set-webhook",
            data_dir=data_dir,
            database_url=database_url,
            TELEGRAM_WEBHOOK_SECRET=SECRET,
        )
        refused = await asyncio.to_thread(
            run_cli,
            "telegram",
            "set-webhook",
            data_dir=data_dir,
            database_url=database_url,
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE=fake.base_url,
            TELEGRAM_WEBHOOK_SECRET="not allowed!",
            INTAKE_PUBLIC_URL="http://127.0.0.1:9",
        )
    assert no_secret.returncode == 1
    assert "TELEGRAM_WEBHOOK_SECRET" in no_secret.stderr
    assert "TELEGRAM_BOT_TOKEN" not in no_secret.stderr
    assert nothing.returncode == 1
    assert "TELEGRAM_BOT_TOKEN" in nothing.stderr and "INTAKE_PUBLIC_URL" in nothing.stderr
    assert SECRET not in nothing.stderr + nothing.stdout
    assert refused.returncode == 1 and "secret token" in refused.stderr
    assert "not allowed!" not in refused.stderr + refused.stdout
    assert fake.webhook is None
    for done in (no_secret, nothing, refused):
        assert "Traceback" not in done.stderr
