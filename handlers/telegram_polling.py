"""Long polling: updates fetched with getUpdates, for a service Telegram cannot call.

An update is confirmed to Telegram (by asking for the next offset) only once it has been
handled; one the desk could not store stays unconfirmed and comes back on the next call,
so nothing Telegram handed over is lost. aiogram's own polling loop confirms updates
before their handlers finish and logs handler errors in full, hence this small loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiogram import Bot
from aiogram.exceptions import AiogramError, TelegramConflictError, TelegramUnauthorizedError
from aiogram.types import Update

from handlers.telegram_updates import NotStored

log = logging.getLogger(__name__)

POLL_SECONDS = 25
# The request may take the whole poll and then some before Telegram answers.
REQUEST_MARGIN = 10
BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0


def _backoff(failures: int) -> float:
    return float(min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** max(0, failures - 1)))


class LongPolling:
    """Fetches updates and hands them, one at a time and in order, to the channel."""

    name = "telegram-polling"

    def __init__(
        self,
        *,
        bot: Bot,
        handle: Callable[[Update], Awaitable[None]],
        allowed_updates: Sequence[str],
        poll_seconds: int = POLL_SECONDS,
    ) -> None:
        self._bot = bot
        self._handle = handle
        self._allowed = list(allowed_updates)
        self._poll = poll_seconds

    async def run(self) -> None:
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await self._bot.get_updates(
                    offset=offset,
                    timeout=self._poll,
                    allowed_updates=self._allowed,
                    request_timeout=self._poll + REQUEST_MARGIN,
                )
            except AiogramError as exc:
                failures += 1
                delay = _backoff(failures)
                _explain(exc, delay)
                await asyncio.sleep(delay)
                continue
            stored = True
            for update in updates:
                try:
                    await self._handle(update)
                except NotStored:
                    stored = False
                    break
                offset = update.update_id + 1
            if stored:
                failures = 0
            else:
                # Left unconfirmed, the update is fetched again once the database answers.
                failures += 1
                delay = _backoff(failures)
                log.warning("telegram update not stored; fetching it again in %.0fs", delay)
                await asyncio.sleep(delay)


def _explain(exc: AiogramError, delay: float) -> None:
    if isinstance(exc, TelegramConflictError):
        log.warning(
            "Telegram refuses getUpdates (a webhook is set, or another process polls); "
            "retrying in %.0fs",
            delay,
        )
    elif isinstance(exc, TelegramUnauthorizedError):
        log.error("Telegram refused the bot token: check TELEGRAM_BOT_TOKEN")
    else:
        log.warning("getUpdates failed (%s); retrying in %.0fs", type(exc).__name__, delay)
