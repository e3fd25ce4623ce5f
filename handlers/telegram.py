"""The Telegram edge: the webhook (or long polling) in, the Bot API out through the outbox.

Every webhook request is checked against X-Telegram-Bot-Api-Secret-Token first; without
a configured secret the webhook refuses everything. A valid Update goes through an
aiogram Dispatcher whose routers (handlers/telegram_updates.py) hand witness messages to
the desk, which commits before the webhook answers 200. Only a message the desk could
not store turns into a 5xx, so that Telegram delivers it again; anything else, from an
unknown update type to a failure after the message was stored, is acknowledged.

Update types: messages and button presses (callback queries) are asked for and handled.
Edited messages are not asked for, and ignored if they come: the intake has moved on
from the message being edited, and feeding the new text in as another answer would
answer the wrong question. Groups and channels are ignored (see telegram_updates).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Update
from aiogram.types.update import UpdateTypeLookupError
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.channels import ChannelPlugin, ChannelTraits, Plugged, Wiring
from bot.desk import Receipt
from bot.intake import messages
from bot.metrics import ACCEPTED, DUPLICATE, ERROR, REFUSED, Metrics
from handlers.forms import plain_text
from handlers.telegram_polling import LongPolling
from handlers.telegram_sender import TelegramSender
from handlers.telegram_updates import TELEGRAM, NotStored, intake_routers

if TYPE_CHECKING:
    from bot.desk import IntakeDesk
    from bot.settings import Settings
    from bot.workers import Worker

log = logging.getLogger(__name__)

# Telegram lets a bot delete its messages in a private chat for 48 hours.
CHAT_DELETE_WINDOW = timedelta(hours=47)
WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name
ALLOWED_UPDATES = ("message", "callback_query")

# aiogram logs one INFO line per update (its id and the bot's id) and, on the paths this
# module does not use, handler errors in full. Only its warnings and errors pass.
QUIET_LOGGERS = ("aiogram.event", "aiogram.dispatcher")


class BadUpdate(Exception):
    """The webhook body is not a Telegram Update in UTF-8 JSON."""


class TelegramChannel:
    """The Telegram channel: webhook route, long-polling worker and the outbox's sender."""

    def __init__(
        self,
        *,
        desk: IntakeDesk,
        token: str,
        api_base: str,
        webhook_secret: str | None,
        use_webhook: bool,
        on_set_aside: Callable[[str], Awaitable[object]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics or Metrics()
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        # Neither the Bot nor its session touches the event loop until the first call.
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
        self._bot = Bot(token, session=session)
        self._secret = webhook_secret
        self._use_webhook = use_webhook
        self._on_set_aside = on_set_aside
        self._sleep = sleep
        # The intake's state lives in our encrypted storage; aiogram's FSM would keep a
        # map of every chat and user id in memory for nothing.
        self._dispatcher = Dispatcher(disable_fsm=True, name="telegram")
        self._dispatcher.include_routers(*intake_routers(desk))
        self.sender = TelegramSender(self._bot)

    def routes(self) -> list[BaseRoute]:
        return [Route(WEBHOOK_PATH, self.webhook, methods=["POST"])]

    def workers(self) -> list[Worker]:
        if self._use_webhook:
            return []
        return [
            LongPolling(
                bot=self._bot,
                handle=self.handle,
                allowed_updates=ALLOWED_UPDATES,
                on_set_aside=self._on_set_aside,
                sleep=self._sleep,
                heartbeat=self._metrics.heartbeat(LongPolling.name),
            )
        ]

    async def close(self) -> None:
        await self._bot.session.close()

    async def set_webhook(self, url: str, *, secret: str) -> None:
        """Tell Telegram to deliver our update types to `url`, signed with `secret`."""
        await self._bot.set_webhook(
            url=url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
        )

    async def webhook(self, request: Request) -> Response:
        started = time.perf_counter()
        outcome = ERROR
        try:
            response, outcome = await self._webhook(request)
        finally:
            seconds = time.perf_counter() - started
            self._metrics.webhook(TELEGRAM, outcome=outcome, seconds=seconds)
        return response

    async def _webhook(self, request: Request) -> tuple[Response, str]:
        """The answer to one delivery, and how it ended (accepted, duplicate, refused)."""
        if not self._secret:
            log.warning("refused a Telegram webhook: TELEGRAM_WEBHOOK_SECRET is not set")
            return plain_text(403, "webhook disabled"), REFUSED
        if not _secret_matches(request.headers.get(SECRET_HEADER), self._secret):
            log.warning("refused a Telegram webhook with a missing or wrong secret")
            return plain_text(401, "bad secret"), REFUSED
        try:
            update = _parse(await request.body(), bot=self._bot)
        except BadUpdate as exc:
            return plain_text(400, str(exc)), REFUSED
        try:
            outcome = await self.handle(update)
        except NotStored as exc:
            log.error(
                "telegram update %d not stored (%s); Telegram will retry", update.update_id, exc
            )
            return plain_text(500, "not stored"), ERROR
        return Response(status_code=200), outcome

    async def handle(self, update: Update) -> str:
        """Run one update through the routers: duplicate if it was seen before, else accepted.

        Raises NotStored only if it must come again.
        """
        kind = _kind(update)
        if kind not in ALLOWED_UPDATES:
            log.debug("telegram update %d ignored (%s)", update.update_id, kind or "unknown")
            return ACCEPTED
        try:
            answered = await self._dispatcher.feed_update(self._bot, update)
        except NotStored:
            raise
        except Exception as exc:
            # Only the type: an exception's text may quote what it was working on.
            log.error(
                "telegram update %d: handling failed (%s)", update.update_id, type(exc).__name__
            )
            return ERROR
        return DUPLICATE if isinstance(answered, Receipt) and answered.duplicate else ACCEPTED


def _secret_matches(given: str | None, secret: str) -> bool:
    if given is None:
        return False
    # Starlette decodes header bytes as latin-1, so this gets back exactly what was sent.
    return secrets.compare_digest(given.encode("latin-1"), secret.encode("utf-8"))


def _parse(body: bytes, *, bot: Bot) -> Update:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadUpdate("body is not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise BadUpdate("body is not a JSON object")
    try:
        return Update.model_validate(data, context={"bot": bot})
    except (ValidationError, RecursionError):
        # The validation error quotes the input; it is neither logged nor sent back.
        raise BadUpdate("body is not a Telegram Update") from None


def _kind(update: Update) -> str | None:
    """The update's type, or None for one aiogram does not know (newer than it)."""
    try:
        return update.event_type
    except UpdateTypeLookupError:
        return None


def describe(_settings: Settings) -> ChannelTraits:
    return ChannelTraits(
        name=TELEGRAM,
        help=messages.HELP_TELEGRAM,
        erase_window=CHAT_DELETE_WINDOW,
        message_clears_opt_out=True,
        keyboards=True,
    )


def report(settings: Settings) -> str:
    if not settings.telegram_enabled:
        return "Telegram channel: off (TELEGRAM_BOT_TOKEN not set)"
    if settings.public_url and settings.telegram_webhook_secret:
        return "Telegram channel: on (webhook)"
    if settings.public_url:
        return (
            "Telegram channel: on (long polling; the webhook stays off until "
            "TELEGRAM_WEBHOOK_SECRET is set)"
        )
    return "Telegram channel: on (long polling: INTAKE_PUBLIC_URL not set)"


def plug(wiring: Wiring) -> Plugged | None:
    """The webhook route, or long polling without a public address and secret."""
    settings = wiring.settings
    if settings.telegram_bot_token is None:
        return None
    secret = settings.telegram_webhook_secret
    channel = TelegramChannel(
        desk=wiring.desk,
        token=settings.telegram_bot_token.get_secret_value(),
        api_base=settings.telegram_api_base,
        webhook_secret=secret.get_secret_value() if secret else None,
        use_webhook=bool(settings.public_url and secret),
        on_set_aside=wiring.alert_supervisors,
        sleep=wiring.sleep,
        metrics=wiring.metrics,
    )
    return Plugged(
        sender=channel.sender,
        routes=channel.routes(),
        workers=channel.workers(),
        closers=[channel.close],
    )


PLUGIN = ChannelPlugin(name=TELEGRAM, describe=describe, report=report, plug=plug)
