"""Background work that runs beside the web app in the serving process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from bot.alerts import EscalationPass, escalate
from bot.casework import Casework
from bot.readiness import Heartbeat
from bot.targets import ResponseTargets
from storage.crypto import Vault
from storage.db import Database
from storage.models import utcnow
from storage.retention import purge

log = logging.getLogger(__name__)


class Worker(Protocol):
    name: str

    async def run(self) -> None: ...


class RetentionWorker:
    """Applies the retention period once an hour, so closed cases expire on time."""

    name = "retention"

    def __init__(
        self,
        *,
        db: Database,
        vault: Vault,
        retention_days: int,
        clock: Callable[[], datetime],
        interval: float = 3600.0,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self._db = db
        self._vault = vault
        self._days = retention_days
        self._clock = clock
        self._interval = interval
        self._heartbeat = heartbeat or Heartbeat()

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:
                # A failed pass is retried next interval; the worker must not die.
                log.error("retention pass failed (%s)", type(exc).__name__)
            await asyncio.sleep(self._interval)

    async def run_once(self) -> int:
        """One pass at the clock's time; returns how many witnesses were erased."""
        erased = await purge(
            self._db, vault=self._vault, retention_days=self._days, now=self._clock()
        )
        self._heartbeat.beat(self._clock())
        if erased:
            log.info("retention: %d witnesses expired and erased", erased)
        return erased


class ClaimTimeoutWorker:
    """Returns claims nobody has touched for too long to their queues, once a minute."""

    name = "claim-timeout"

    def __init__(
        self,
        *,
        casework: Casework,
        timeout_minutes: float,
        interval: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
        heartbeat: Heartbeat | None = None,
    ):
        self._casework = casework
        self._timeout = timedelta(minutes=timeout_minutes)
        self._interval = interval
        self._clock = clock
        self._heartbeat = heartbeat or Heartbeat()

    async def run(self) -> None:
        while True:
            try:
                returned = await self._casework.return_stale(timeout=self._timeout)
                if returned:
                    log.info("claim timeout: %d cases returned to their queues", returned)
                self._heartbeat.beat(self._clock())
            except Exception as exc:
                log.error("claim timeout pass failed (%s)", type(exc).__name__)
            await asyncio.sleep(self._interval)


class EscalationWorker:
    """Escalates cases past their response target and alerts on-call staff, every 30 s.

    It reads the time from `clock`, so tests move time by hand and call `run_once`.
    """

    name = "escalation"

    def __init__(
        self,
        *,
        db: Database,
        vault: Vault,
        targets: ResponseTargets,
        repeat_minutes: float,
        clock: Callable[[], datetime],
        on_owed: Callable[[], None] = lambda: None,
        interval: float = 30.0,
        heartbeat: Heartbeat | None = None,
        on_escalated: Callable[[int], None] = lambda _cases: None,
    ) -> None:
        self._db = db
        self._vault = vault
        self._targets = targets
        self._repeat = timedelta(minutes=repeat_minutes)
        self._clock = clock
        self._on_owed = on_owed
        self._interval = interval
        self._heartbeat = heartbeat or Heartbeat()
        self._on_escalated = on_escalated

    async def run(self) -> None:
        while True:
            try:
                await self.run_once(self._clock())
            except Exception as exc:
                log.error("escalation pass failed (%s)", type(exc).__name__)
            await asyncio.sleep(self._interval)

    async def run_once(self, now: datetime) -> EscalationPass:
        """One pass at the moment `now`: give targets, escalate, alert."""
        async with self._db.write() as session:
            done = await escalate(
                session, vault=self._vault, targets=self._targets, now=now, repeat=self._repeat
            )
        if done.owed:
            self._on_owed()
        if done.escalated:
            self._on_escalated(done.escalated)
        self._heartbeat.beat(now)
        if done.escalated or done.alerted:
            log.info(
                "escalation: %d cases escalated, %d alerted (%d alerts owed)",
                done.escalated,
                done.alerted,
                done.owed,
            )
        return done
