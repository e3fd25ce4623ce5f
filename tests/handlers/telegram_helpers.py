"""A pretend Telegram user talking to the live service through webhooks, as Telegram would."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from handlers.telegram import WEBHOOK_PATH
from storage.models import OutboxItem
from tests.fakes.telegram import FakeTelegram, callback_update, text_update
from tests.live import LiveService, eventually, running_service

SECRET = "webhook-secret_for-tests-0123456789"
WITNESS_CHAT = 5_550_001_234
# Update ids are unique per bot, so one counter serves every witness in a test run.
_update_ids = itertools.count(10_000)


def next_update_id() -> int:
    return next(_update_ids)


async def outbox_settled(live: LiveService) -> bool:
    """Nothing owed is still pending or in flight."""
    async with live.services.db.read() as session:
        query = select(func.count()).select_from(OutboxItem)
        owed = await session.scalar(query.where(OutboxItem.status.in_(("pending", "sending"))))
    return owed == 0


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """A sent message's inline buttons: callback data -> button text."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {button["callback_data"]: button["text"] for row in rows for button in row}


# The callback data of a multiple choice's toggles (see handlers/telegram_sender.py).
TOGGLE = "t:"
# An option button reads "2. Change locks", or "✓ 2. Change locks" once ticked.
OPTION_TEXT = re.compile(r"(?:✓ )?(?P<number>[0-9]+)\. (?P<label>.*)")


def button_for(message: dict[str, Any], choice: str) -> str | None:
    """The callback data of the button `choice` names, or None.

    A button is named by its callback data, its option number, its label (ticked or not)
    or its whole text, such as a Done button's.
    """
    shown = buttons(message)
    if choice in shown:
        return choice
    for data, text in shown.items():
        option = OPTION_TEXT.fullmatch(text)
        if option is not None and choice in (option["number"], option["label"]):
            return data
    for data, text in shown.items():
        if choice == text:
            return data
    return None


@dataclass
class TelegramUser:
    """One person in a private chat with the bot; every act is a signed webhook delivery."""

    live: LiveService
    fake: FakeTelegram
    client: httpx.AsyncClient
    chat_id: int = WITNESS_CHAT
    language_code: str | None = "en"
    profile: dict[str, Any] = field(default_factory=dict)
    secret: str | None = SECRET
    message_ids: list[int] = field(default_factory=list)
    presses: int = 0

    async def post(
        self, body: dict[str, Any] | bytes, *, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """POST to the webhook, signed with the user's secret unless `headers` says otherwise."""
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        if headers is None:
            headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret} if self.secret else {}
        headers = {"Content-Type": "application/json", **headers}
        return await self.client.post(self.live.url(WEBHOOK_PATH), content=content, headers=headers)

    async def deliver(self, update: dict[str, Any]) -> None:
        """Post one update, then wait until every reply it caused has gone out."""
        response = await self.post(update)
        assert response.status_code == 200, response.text
        await eventually(lambda: outbox_settled(self.live), what="the outbox to send")

    async def say(self, text: str) -> list[str]:
        message_id = len(self.message_ids) + 1
        self.message_ids.append(message_id)
        update = text_update(
            next_update_id(),
            self.chat_id,
            text,
            language_code=self.language_code,
            message_id=message_id,
            **self.profile,
        )
        return await self._replies_to(update)

    def shown(self, message_id: int | None = None) -> dict[str, Any]:
        """One of the bot's messages (its latest by default) as the chat shows it now."""
        if message_id is None:
            message_id = self.fake.sent_messages(self.chat_id)[-1]["message_id"]
        message = self.fake.message(self.chat_id, message_id)
        assert message is not None, f"message {message_id} is not in the chat"
        return message

    async def press(self, choice: str, *, message_id: int | None = None) -> list[str]:
        """Tap a button under the bot's latest message (or `message_id`) as it shows now.

        `choice` is the button's callback data, its option number, its label or its text.
        """
        message = self.shown(message_id)
        data = button_for(message, choice)
        assert data is not None, f"no button {choice!r} under message {message['message_id']}"
        return await self.tap(data, message_id=message["message_id"])

    async def tap(self, data: str, *, message_id: int) -> list[str]:
        """Tap a button carrying `data` under one of the bot's messages, whatever it shows now.

        An app that has not caught up with an edit still shows the old buttons.
        """
        message = self.fake.message(self.chat_id, message_id) or {}
        update = callback_update(
            next_update_id(),
            self.chat_id,
            data,
            message_id=message_id,
            message_text=message.get("text", "Choose one:"),
            reply_markup=message.get("reply_markup"),
            language_code=self.language_code,
            **self.profile,
        )
        self.presses += 1
        return await self._replies_to(update)

    async def answer(self, text: str) -> list[str]:
        """Press the button when the latest message offers one for `text`; else type it.

        A multiple choice's buttons only tick options, so its answers ("5", "1 3") are
        typed, as a witness may; press() ticks and presses Done.
        """
        sent = self.fake.sent_messages(self.chat_id)
        latest = self.fake.message(self.chat_id, sent[-1]["message_id"]) if sent else None
        data = button_for(latest, text) if latest is not None else None
        if data is not None and not data.startswith(TOGGLE):
            return await self.press(text)
        return await self.say(text)

    async def walk(self, script: list[str]) -> list[str]:
        replies: list[str] = []
        for text in script:
            replies = await self.answer(text)
        return replies

    async def _replies_to(self, update: dict[str, Any]) -> list[str]:
        before = len(self.fake.sent_messages(self.chat_id))
        await self.deliver(update)
        return self.fake.texts_to(self.chat_id)[before:]


@asynccontextmanager
async def telegram_service(
    tmp_path: Path,
    database_url: str,
    *,
    secret: str | None = SECRET,
    public_url: bool = True,
    **settings: Any,
) -> AsyncIterator[tuple[LiveService, FakeTelegram, TelegramUser]]:
    """The live service with its Telegram channel pointed at a fresh fake Bot API."""
    async with (
        FakeTelegram() as fake,
        running_service(
            data_dir=tmp_path / "data",
            database_url=database_url,
            telegram_bot_token=fake.token,
            telegram_api_base=fake.base_url,
            telegram_webhook_secret=secret,
            public_url=True if public_url else None,
            **settings,
        ) as live,
        httpx.AsyncClient(timeout=30) as client,
    ):
        yield live, fake, TelegramUser(live=live, fake=fake, client=client, secret=secret)
