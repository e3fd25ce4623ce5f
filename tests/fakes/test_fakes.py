"""The fakes answer the real aiogram and twilio clients the way Telegram and Twilio do."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetChat
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from handlers.twilio_client import TwilioHttpClient as ServiceHttpClient
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
from tests.fakes.twilio import (
    FakeTwilio,
    inbound_sms_form,
    media_url,
    status_callback_form,
    twilio_signature,
)
from tests.live import eventually

WITNESS = 7_000_001
WITNESS_NUMBER = "+15558675310"

# -- Telegram -------------------------------------------------------------------------------


@asynccontextmanager
async def bot_for(telegram: FakeTelegram, token: str | None = None) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(telegram.base_url))
    async with Bot(token or telegram.token, session=session) as bot:
        yield bot


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Yes", callback_data="safe:yes")],
            [InlineKeyboardButton(text="No", callback_data="safe:no")],
        ]
    )


async def test_send_message_returns_a_message_with_the_keyboard() -> None:
    async with FakeTelegram() as telegram, bot_for(telegram) as bot:
        first = await bot.send_message(WITNESS, "Are you safe now?", reply_markup=keyboard())
        second = await bot.send_message(WITNESS, "Thank you.")

    assert isinstance(first, Message)
    assert first.text == "Are you safe now?"
    assert first.chat.id == WITNESS and first.chat.type == "private"
    assert first.from_user is not None and first.from_user.id == telegram.bot_id
    assert first.reply_markup is not None
    assert first.reply_markup.model_dump() == keyboard().model_dump()
    assert second.message_id == first.message_id + 1
    assert [m["text"] for m in telegram.sent_messages()] == ["Are you safe now?", "Thank you."]
    assert telegram.texts_to(WITNESS) == ["Are you safe now?", "Thank you."]
    params = telegram.calls_to("sendMessage")[0].params
    assert params["chat_id"] == WITNESS
    assert params["reply_markup"]["inline_keyboard"][1][0]["callback_data"] == "safe:no"


async def test_text_that_looks_like_json_stays_text() -> None:
    async with FakeTelegram() as telegram, bot_for(telegram) as bot:
        message = await bot.send_message(WITNESS, "112")
    assert message.text == "112"
    assert telegram.calls[0].params["text"] == "112"


async def test_get_me_answers_the_bot_user() -> None:
    async with FakeTelegram() as telegram, bot_for(telegram) as bot:
        me = await bot.get_me()
    assert me.id == telegram.bot_id and me.is_bot and me.username == telegram.username


async def test_callback_answer_delete_and_edit_markup() -> None:
    async with FakeTelegram() as telegram, bot_for(telegram) as bot:
        sent = await bot.send_message(WITNESS, "Choose:", reply_markup=keyboard())
        assert await bot.answer_callback_query("4382bfdwdsb323b2d9", text="Noted")
        edited = await bot.edit_message_reply_markup(
            chat_id=WITNESS, message_id=sent.message_id, reply_markup=None
        )
        assert await bot.delete_message(WITNESS, sent.message_id)
        assert await bot.delete_messages(WITNESS, [sent.message_id, sent.message_id + 1])

    assert isinstance(edited, Message)
    assert edited.reply_markup is None and edited.edit_date is not None
    methods = [call.method for call in telegram.calls]
    assert methods == [
        "sendMessage",
        "answerCallbackQuery",
        "editMessageReplyMarkup",
        "deleteMessage",
        "deleteMessages",
    ]
    assert telegram.calls[1].params == {"callback_query_id": "4382bfdwdsb323b2d9", "text": "Noted"}
    assert telegram.calls[4].params["message_ids"] == [sent.message_id, sent.message_id + 1]


async def test_editing_to_the_same_markup_is_refused_like_telegram() -> None:
    async with FakeTelegram() as telegram, bot_for(telegram) as bot:
        sent = await bot.send_message(WITNESS, "Choose:", reply_markup=keyboard())
        with pytest.raises(TelegramBadRequest, match="message is not modified"):
            await bot.edit_message_reply_markup(
                chat_id=WITNESS, message_id=sent.message_id, reply_markup=keyboard()
            )


async def test_a_message_shows_its_latest_keyboard_until_deleted() -> None:
    async with FakeTelegram() as telegram, bot_for(telegram) as bot:
        sent = await bot.send_message(WITNESS, "Choose:", reply_markup=keyboard())
        shown = telegram.message(WITNESS, sent.message_id)
        assert shown is not None and shown["reply_markup"] == keyboard().model_dump(
            exclude_none=True
        )
        await bot.edit_message_reply_markup(chat_id=WITNESS, message_id=sent.message_id)
        shown = telegram.message(WITNESS, sent.message_id)
        assert shown is not None and "reply_markup" not in shown
        assert telegram.sent_messages()[0]["reply_markup"]  # what was sent stays recorded
        await bot.delete_message(WITNESS, sent.message_id)
        assert telegram.message(WITNESS, sent.message_id) is None


async def test_webhook_set_info_and_delete() -> None:
    url = "https://intake.example.org/webhooks/telegram"
    async with FakeTelegram() as telegram, bot_for(telegram) as bot:
        assert await bot.set_webhook(url, secret_token="s3cret_Token-1", drop_pending_updates=True)
        info = await bot.get_webhook_info()
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()
        assert await bot.delete_webhook()
        after = await bot.get_webhook_info()

    assert info.url == url and info.pending_update_count == 0
    assert after.url == ""
    set_call = telegram.calls_to("setWebhook")[0]
    assert set_call.params["secret_token"] == "s3cret_Token-1"
    assert set_call.params["drop_pending_updates"] is True
    assert telegram.webhook is None


async def test_webhook_needs_https_and_a_valid_secret() -> None:
    async with FakeTelegram() as telegram, bot_for(telegram) as bot:
        with pytest.raises(TelegramBadRequest, match="HTTPS"):
            await bot.set_webhook("http://127.0.0.1:8080/webhooks/telegram")
        with pytest.raises(TelegramBadRequest, match="secret token"):
            await bot.set_webhook("https://intake.example.org/hook", secret_token="no spaces")


def every_kind_of_update() -> list[dict[str, Any]]:
    return [
        text_update(1, WITNESS, "/start", language_code="es", first_name="Ana"),
        callback_update(2, WITNESS, "safe:no"),
        photo_update(3, WITNESS, caption="the car"),
        sticker_update(4, WITNESS),
        edited_message_update(5, WITNESS, "corrected", message_id=1),
        group_message_update(6, -1001234567890, "hello", user_id=WITNESS),
        channel_post_update(7, -1009876543210, "news"),
    ]


async def test_get_updates_returns_pushed_updates_and_honours_offset() -> None:
    async with FakeTelegram() as telegram, bot_for(telegram) as bot:
        for update in every_kind_of_update():
            telegram.push_update(update)
        updates = await bot.get_updates(timeout=10)
        again = await bot.get_updates(timeout=10)
        started = time.monotonic()
        confirmed = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=10)
        waited = time.monotonic() - started

    assert [u.update_id for u in updates] == [1, 2, 3, 4, 5, 6, 7]
    assert [u.event_type for u in updates] == [
        "message",
        "callback_query",
        "message",
        "message",
        "edited_message",
        "message",
        "channel_post",
    ]
    assert updates[0].message is not None and updates[0].message.text == "/start"
    assert isinstance(updates[1].callback_query, CallbackQuery)
    assert len(again) == 7, "unconfirmed updates are delivered again"
    assert confirmed == [] and telegram.pending_updates == []
    assert waited < 5, "the long poll is cut short by max_poll_timeout"


async def test_a_waiting_long_poll_wakes_on_push() -> None:
    async with FakeTelegram(max_poll_timeout=5) as telegram, bot_for(telegram) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await eventually(lambda: telegram.polls_waiting == 1, what="the long poll")
        telegram.push_update(text_update(41, WITNESS, "help"))
        updates = await asyncio.wait_for(poll, 2)
    assert [u.update_id for u in updates] == [41]


async def test_stopping_the_fake_ends_a_pending_long_poll_at_once() -> None:
    telegram = FakeTelegram(max_poll_timeout=30)
    await telegram.start()
    async with bot_for(telegram) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await eventually(lambda: telegram.polls_waiting == 1, what="the long poll")
        started = time.monotonic()
        await telegram.stop()
        assert await asyncio.wait_for(poll, 2) == []
    assert time.monotonic() - started < 2


async def test_dispatcher_polls_the_fake_end_to_end() -> None:
    dispatcher = Dispatcher()
    replied = asyncio.Event()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(f"got: {message.text}")
        replied.set()

    async with FakeTelegram() as telegram:
        session = AiohttpSession(api=TelegramAPIServer.from_base(telegram.base_url))
        bot = Bot(telegram.token, session=session)
        polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
        telegram.push_update(text_update(1, WITNESS, "hello"))
        await asyncio.wait_for(replied.wait(), 5)
        await dispatcher.stop_polling()
        await polling  # closes the bot session (close_bot_session=True)

    assert telegram.texts_to(WITNESS) == ["got: hello"]


async def test_builders_make_updates_aiogram_accepts() -> None:
    for raw in every_kind_of_update():
        update = Update.model_validate(raw)
        assert update.event_type in raw
    message = text_update(1, WITNESS, "hi", username="ana_r", last_name="R")["message"]
    assert message["chat"]["id"] == message["from"]["id"] == WITNESS
    assert message["chat"]["type"] == "private"
    assert message["from"]["language_code"] == "en"


async def test_scripted_failures_surface_as_aiogram_errors() -> None:
    async with FakeTelegram() as telegram, bot_for(telegram) as bot:
        telegram.fail_next(method="sendMessage", status=429, retry_after=3)
        telegram.fail_next(method="sendMessage", status=403)
        telegram.fail_next(method="deleteMessage", status=400)
        telegram.fail_next(status=500)

        with pytest.raises(TelegramServerError):  # a failure without a method hits any call
            await bot.answer_callback_query("1")
        with pytest.raises(TelegramRetryAfter) as retry:
            await bot.send_message(WITNESS, "one")
        assert await bot.get_me()  # a failure scripted for another method is not used
        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await bot.send_message(WITNESS, "two")
        with pytest.raises(TelegramBadRequest, match="message can't be deleted"):
            await bot.delete_message(WITNESS, 5)
        assert (await bot.send_message(WITNESS, "three")).text == "three"

    assert retry.value.retry_after == 3
    assert "retry after 3" in retry.value.message
    assert [call.status for call in telegram.calls] == [500, 429, 200, 403, 400, 200]


async def test_server_error_surfaces_as_telegram_server_error() -> None:
    async with FakeTelegram() as telegram, bot_for(telegram) as bot:
        telegram.fail_next(method="sendMessage", status=500)
        with pytest.raises(TelegramServerError):
            await bot.send_message(WITNESS, "hello")


async def test_wrong_token_and_unknown_method() -> None:
    async with FakeTelegram() as telegram:
        async with bot_for(telegram, token="42:wrong") as stranger:
            with pytest.raises(TelegramUnauthorizedError):
                await stranger.get_me()
        async with bot_for(telegram) as bot:
            with pytest.raises(TelegramNotFound):
                await bot(GetChat(chat_id=WITNESS))
        async with aiohttp.ClientSession() as http:
            url = f"{telegram.base_url}/bot{telegram.token}/noSuchMethod"
            async with http.post(url, json={}) as response:
                assert response.status == 404
                assert await response.json() == {
                    "ok": False,
                    "error_code": 404,
                    "description": "Not Found",
                }
    assert [call.authorized for call in telegram.calls] == [False, True, True]


async def test_json_bodies_are_accepted_too() -> None:
    async with FakeTelegram() as telegram, aiohttp.ClientSession() as http:
        url = f"{telegram.base_url}/bot{telegram.token}/sendMessage"
        body = {"chat_id": WITNESS, "text": "hi", "reply_markup": keyboard().model_dump()}
        async with http.post(url, json=body) as response:
            answer = await response.json()
        bad = {"Content-Type": "application/json"}
        async with http.post(url, data=b"{not json", headers=bad) as response:
            refused = response.status, await response.json()
    assert answer["ok"] is True and answer["result"]["text"] == "hi"
    assert telegram.calls[0].params["chat_id"] == WITNESS
    assert refused[0] == 400 and refused[1]["ok"] is False


# -- Twilio ---------------------------------------------------------------------------------


def twilio_client(twilio: FakeTwilio, http_client: Any, *, token: str | None = None) -> Client:
    """The production recipe: a real client whose `api` domain points at the fake."""
    client = Client(twilio.account_sid, token or twilio.auth_token, http_client=http_client)
    client.api.base_url = twilio.base_url
    return client


async def test_async_client_sends_and_the_fake_records() -> None:
    async with FakeTwilio() as twilio, ServiceHttpClient() as http:
        client = twilio_client(twilio, http)
        message = await client.messages.create_async(
            to=WITNESS_NUMBER,
            from_=twilio.phone_number,
            body="We got your message. ¿Estás a salvo?",
            status_callback="https://intake.example.org/webhooks/twilio/status",
        )

    assert message.sid is not None and message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.to == WITNESS_NUMBER and message.from_ == twilio.phone_number
    assert message.body == "We got your message. ¿Estás a salvo?"
    [sent] = twilio.sent
    assert sent.sid == message.sid and sent.to == WITNESS_NUMBER
    assert sent.status_callback == "https://intake.example.org/webhooks/twilio/status"
    assert twilio.sent_to(WITNESS_NUMBER) == [sent]
    [request] = twilio.requests
    assert request.auth_ok and request.status == 201
    assert request.path == f"/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    assert request.form["Body"] == "We got your message. ¿Estás a salvo?"


async def test_messaging_service_sends_are_accepted_not_queued() -> None:
    async with FakeTwilio() as twilio, ServiceHttpClient() as http:
        message = await twilio_client(twilio, http).messages.create_async(
            to=WITNESS_NUMBER, messaging_service_sid="MG" + "1" * 32, body="hi"
        )
    assert message.status == "accepted" and message.from_ is None
    assert twilio.sent[0].messaging_service_sid == "MG" + "1" * 32


async def test_wrong_auth_token_is_401_and_nothing_is_sent() -> None:
    async with FakeTwilio() as twilio, ServiceHttpClient() as http:
        client = twilio_client(twilio, http, token="not-the-token")
        with pytest.raises(TwilioRestException) as error:
            await client.messages.create_async(to=WITNESS_NUMBER, from_="+15005550006", body="x")
    assert error.value.status == 401 and error.value.code == 20003
    assert twilio.sent == [] and twilio.requests[0].auth_ok is False


async def test_scripted_failures_surface_as_twilio_rest_exceptions() -> None:
    async with FakeTwilio() as twilio, ServiceHttpClient() as http:
        client = twilio_client(twilio, http)
        twilio.fail_next(status=500)
        twilio.fail_next(status=429, retry_after=2)
        twilio.fail_next(status=400, code=21610)
        errors = []
        for _ in range(3):
            with pytest.raises(TwilioRestException) as error:
                await client.messages.create_async(
                    to=WITNESS_NUMBER, from_=twilio.phone_number, body="hello"
                )
            errors.append(error.value)
        delivered = await client.messages.create_async(
            to=WITNESS_NUMBER, from_=twilio.phone_number, body="hello"
        )

    assert [(e.status, e.code) for e in errors] == [(500, 20500), (429, 20429), (400, 21610)]
    assert "unsubscribed recipient" in errors[2].msg
    assert delivered.status == "queued"
    assert [r.status for r in twilio.requests] == [500, 429, 400, 201]
    assert len(twilio.sent) == 1


async def test_failures_answer_like_twilio_on_the_wire() -> None:
    async with FakeTwilio() as twilio, aiohttp.ClientSession() as http:
        twilio.fail_next(status=429, retry_after=2)
        twilio.fail_next(status=400, code=21610)
        url = f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
        auth = {"Authorization": aiohttp.encode_basic_auth(twilio.account_sid, twilio.auth_token)}
        form = {"To": WITNESS_NUMBER, "From": twilio.phone_number, "Body": "x"}
        async with http.post(url, data=form, headers=auth) as response:
            assert response.status == 429
            assert response.headers["Retry-After"] == "2"
        async with http.post(url, data=form, headers=auth) as response:
            assert response.status == 400
            assert await response.json() == {
                "code": 21610,
                "message": "Attempt to send to unsubscribed recipient",
                "more_info": "https://www.twilio.com/docs/errors/21610",
                "status": 400,
            }


async def test_a_send_without_to_is_refused_like_twilio() -> None:
    async with FakeTwilio() as twilio, aiohttp.ClientSession() as http:
        url = f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
        auth = {"Authorization": aiohttp.encode_basic_auth(twilio.account_sid, twilio.auth_token)}
        async with http.post(url, data={"Body": "x"}, headers=auth) as response:
            assert response.status == 400
            assert (await response.json())["code"] == 21604


async def test_sync_client_works_from_a_thread() -> None:
    def send(twilio: FakeTwilio) -> str | None:
        http = TwilioHttpClient()
        assert http.session is not None
        http.session.trust_env = False  # never route 127.0.0.1 through a proxy from the env
        try:
            client = twilio_client(twilio, http)
            message = client.messages.create(to=WITNESS_NUMBER, from_="+15005550006", body="hi")
            sid: str | None = message.sid
            return sid
        finally:
            http.session.close()

    async with FakeTwilio() as twilio:
        # The sync client blocks, so it runs in a thread while the fake serves this loop.
        sid = await asyncio.to_thread(send, twilio)
    assert sid == twilio.sent[0].sid


def test_signature_helper_matches_request_validator() -> None:
    url = "https://intake.example.org/webhooks/twilio/sms"
    sid = "MM" + "ab" * 16
    form = inbound_sms_form(
        body="Hola, necesito ayuda 🙏",
        message_sid=sid,
        media=[("image/jpeg", media_url("AC" + "0" * 32, sid))],
    )
    twilio = FakeTwilio()
    signature = twilio.sign(url, form)

    validator = RequestValidator(twilio.auth_token)
    assert validator.validate(url, form, signature)
    assert signature == twilio_signature(twilio.auth_token, url, form)
    assert not validator.validate(url, {**form, "Body": "changed"}, signature)
    assert not RequestValidator("another-token").validate(url, form, signature)


def test_inbound_form_has_twilios_fields() -> None:
    form = inbound_sms_form(body="help", media=[("image/png", "https://example.org/m.png")])
    expected = {
        "ToCountry",
        "ToState",
        "SmsMessageSid",
        "NumMedia",
        "ToCity",
        "FromZip",
        "SmsSid",
        "FromState",
        "SmsStatus",
        "FromCity",
        "Body",
        "FromCountry",
        "To",
        "ToZip",
        "NumSegments",
        "ReferralNumMedia",
        "MessageSid",
        "AccountSid",
        "From",
        "ApiVersion",
        "MediaContentType0",
        "MediaUrl0",
    }
    assert set(form) == expected
    assert form["MessageSid"] == form["SmsSid"] == form["SmsMessageSid"]
    assert form["MessageSid"].startswith("MM") and form["NumMedia"] == "1"
    assert inbound_sms_form(body="hi")["MessageSid"].startswith("SM")


async def test_status_callback_form_for_a_sent_message() -> None:
    async with FakeTwilio() as twilio, ServiceHttpClient() as http:
        message = await twilio_client(twilio, http).messages.create_async(
            to=WITNESS_NUMBER, from_=twilio.phone_number, body="hi"
        )
    assert message.sid is not None
    form = twilio.status_callback_form(message.sid, "undelivered", error_code=30003)
    assert form["MessageSid"] == form["SmsSid"] == message.sid
    assert form["MessageStatus"] == form["SmsStatus"] == "undelivered"
    assert form["To"] == WITNESS_NUMBER and form["ErrorCode"] == "30003"
    assert "RawDlrDoneDate" in status_callback_form(message.sid, "delivered")
