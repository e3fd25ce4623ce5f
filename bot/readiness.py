"""Whether the service is fit to take witnesses' messages, check by check.

Ready means: the database answers, its schema is the newest this code knows, the master
keys in use still match the database, and the outbox worker has finished a pass lately
(by the service's clock), so replies owed to witnesses are going out.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from storage import keychecks
from storage.db import Database
from storage.keyring import KeySource
from storage.schema import schema_state

log = logging.getLogger(__name__)

OK = "ok"
# The outbox worker passes about every second when idle; this long without one is a fault.
OUTBOX_WITHIN = timedelta(minutes=2)


class Heartbeat:
    """When a worker last finished a pass, by the service's clock (None: not yet)."""

    def __init__(self) -> None:
        self.last: datetime | None = None

    def beat(self, at: datetime) -> None:
        self.last = at


class Readiness:
    """The checks behind /readyz; each comes out "ok" or a short label saying what is wrong."""

    def __init__(
        self,
        *,
        db: Database,
        keys: KeySource,
        outbox: Heartbeat,
        clock: Callable[[], datetime],
        outbox_within: timedelta = OUTBOX_WITHIN,
    ) -> None:
        self._db = db
        self._keys = keys
        self._outbox = outbox
        self._clock = clock
        self._outbox_within = outbox_within

    async def checks(self) -> dict[str, str]:
        if not await self._db.ping():
            return {
                "database": "unreachable",
                "migrations": "unchecked",
                "master_key": "unchecked",
                "outbox": self._outbox_state(),
            }
        return {
            "database": OK,
            "migrations": await _checked("migrations", self._migrations),
            "master_key": await _checked("master_key", self._master_key),
            "outbox": self._outbox_state(),
        }

    async def _migrations(self) -> str:
        return str(await schema_state(self._db))

    async def _master_key(self) -> str:
        matches = await keychecks.keys_match(self._db, keys=self._keys)
        return OK if matches else "mismatch"

    def _outbox_state(self) -> str:
        last = self._outbox.last
        if last is None:
            return "not run"
        if self._clock() - last > self._outbox_within:
            return "stale"
        return OK


async def _checked(name: str, check: Callable[[], Awaitable[str]]) -> str:
    try:
        return await check()
    except Exception as exc:  # a probe answers "not ready", it does not fail
        # The type only: an exception's text can quote what it was handling.
        log.warning("readiness check %s failed (%s)", name, type(exc).__name__)
        return "failed"
