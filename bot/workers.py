"""Background work that runs beside the web app in the serving process."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Protocol

from bot.casework import Casework
from storage.db import Database
from storage.retention import purge

log = logging.getLogger(__name__)


class Worker(Protocol):
    name: str

    async def run(self) -> None: ...


class RetentionWorker:
    """Applies the retention period once an hour, so closed cases expire on time."""

    name = "retention"

    def __init__(self, *, db: Database, retention_days: int, interval: float = 3600.0) -> None:
        self._db = db
        self._days = retention_days
        self._interval = interval

    async def run(self) -> None:
        while True:
            try:
                erased = await purge(self._db, retention_days=self._days)
                if erased:
                    log.info("retention: %d witnesses expired and erased", erased)
            except Exception:
                # A failed pass is retried next interval; the worker must not die.
                log.exception("retention pass failed")
            await asyncio.sleep(self._interval)


class ClaimTimeoutWorker:
    """Returns claims nobody has touched for too long to their queues, once a minute."""

    name = "claim-timeout"

    def __init__(self, *, casework: Casework, timeout_minutes: float, interval: float = 60.0):
        self._casework = casework
        self._timeout = timedelta(minutes=timeout_minutes)
        self._interval = interval

    async def run(self) -> None:
        while True:
            try:
                returned = await self._casework.return_stale(timeout=self._timeout)
                if returned:
                    log.info("claim timeout: %d cases returned to their queues", returned)
            except Exception:
                log.exception("claim timeout pass failed")
            await asyncio.sleep(self._interval)
