"""Long polling: updates fetched with getUpdates, for a service Telegram cannot call.

An update is confirmed to Telegram (by asking for the next offset) only once it has been
handled; one the desk could not store stays unconfirmed and comes back on the next call,
so nothing Telegram handed over is lost. aiogram's own polling loop confirms updates
before their handlers finish and logs handler errors in full, hence this small loop.

While the database is away every update waits for it, however long. An update that fails
on its own (its handling raises while the database answers) would otherwise hold back
every later one for ever: after a few attempts it is set aside (confirmed unhandled),
logged by its type alone, and staff are alerted, so that the witnesses behind it are
answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import AiogramError, TelegramConflictError, TelegramUnauthorizedError
from aiogram.types import Update
from aiogram.types.update import UpdateTypeLookupError

from bot.outbox import backoff
from bot.readiness import Heartbeat
from handlers.telegram_updates import NotStored
from storage.models import utcnow

log = logging.getLogger(__name__)

POLL_SECONDS = 25
# The request may take the whole poll and then some before Telegram answers.
REQUEST_MARGIN = 10
BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0
# Attempts at an update that fails on its own before it is set aside.
SET_ASIDE_AFTER = 3
# The staff alert for an update set aside (a label: no witness, no words).
SET_ASIDE = "telegram update set aside"


def _backoff(failures: int) -> float:
    return backoff(failures, base=BACKOFF_BASE, cap=BACKOFF_CAP, jitter=False)


class LongPolling:
    """Fetches updates and hands them, one at a time and in order, to the channel."""

    name = "telegram-polling"

    def __init__(
        self,
        *,
        bot: Bot,
        handle: Callable[[Update], Awaitable[object]],
        allowed_updates: Sequence[str],
        poll_seconds: int = POLL_SECONDS,
        on_set_aside: Callable[[str], Awaitable[object]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        heartbeat: Heartbeat | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        # Beaten after every fetched batch handled in full.
        self._heartbeat = heartbeat or Heartbeat()
        self._clock = clock
        self._bot = bot
        self._handle = handle
        self._allowed = list(allowed_updates)
        self._poll = poll_seconds
        self._on_set_aside = on_set_aside
        # How it waits out a backoff (tests pass one that returns at once).
        self._sleep = sleep
        # The update that failed on its own, and how many times (one at a time: in order).
        self._failing: tuple[int, int] | None = None

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
                await self._sleep(delay)
                continue
            outage = False
            for update in updates:
                try:
                    await self._handle(update)
                except NotStored as exc:
                    if exc.service_trouble:
                        outage = True
                        break
                    if not await self._given_up(update, exc):
                        break  # fetched again at once: the database answers
                offset = update.update_id + 1
            if outage:
                # Left unconfirmed, the update is fetched again once the database answers.
                failures += 1
                delay = _backoff(failures)
                log.warning("telegram update not stored; fetching it again in %.0fs", delay)
                await self._sleep(delay)
            else:
                failures = 0
                self._heartbeat.beat(self._clock())

    async def _given_up(self, update: Update, exc: NotStored) -> bool:
        """Count a failure of this update on its own; True once it is set aside."""
        update_id = update.update_id
        previous = self._failing[1] if self._failing and self._failing[0] == update_id else 0
        attempts = previous + 1
        if attempts < SET_ASIDE_AFTER:
            self._failing = (update_id, attempts)
            log.warning(
                "telegram update %d could not be handled (%s); attempt %d of %d",
                update_id,
                exc,
                attempts,
                SET_ASIDE_AFTER,
            )
            return False
        self._failing = None
        # Its type and id only: what it carries may be a witness's words.
        log.error(
            "telegram update %d (%s) set aside after %d attempts (%s); staff alerted",
            update_id,
            _kind(update),
            attempts,
            exc,
        )
        if self._on_set_aside is not None:
            try:
                await self._on_set_aside(SET_ASIDE)
            except Exception as alert_failed:
                log.warning("staff not alerted (%s)", type(alert_failed).__name__)
        return True


def _kind(update: Update) -> str:
    try:
        return update.event_type
    except UpdateTypeLookupError:
        return "unknown"


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
