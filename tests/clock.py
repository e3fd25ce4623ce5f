"""A clock the tests move by hand, for anything that reads the time (bursts, targets)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass
class ManualClock:
    """Stands still until told to move: `advance(60)` is a minute later."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 28, 15, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class NoWait:
    """A sleep that returns at once and remembers how long it was asked to wait."""

    asked: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(0)
