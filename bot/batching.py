"""Group commit: many callers' work written in one transaction, each answered once it is.

Callers `submit` a job and wait. One writer task takes every job waiting (up to
`max_batch`) and hands them to `run_batch`, which does them all in one transaction and
returns their results only after it committed: one fsync on SQLite, one commit on
PostgreSQL, for the whole batch. A caller's result is therefore durable when it arrives.

Jobs with the same `key` (one witness's messages) run one after another in the order
they were submitted, never in the same batch: the second is only queued once the first
is finished, so it sees what the first wrote.

If a batch fails as a whole (one job raised, a unique key collided with another process,
the commit failed), nothing of it was written, and every job in it is run again on its
own (with `run_one`, by default a batch of one), so one bad job costs the others
time, never their answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

J = TypeVar("J")
R = TypeVar("R")

MAX_BATCH = 64


@dataclass(eq=False)
class _Pending(Generic[J, R]):
    job: J
    key: Hashable
    answer: asyncio.Future[R]
    # Set when the job is finished either way: the next job of the same key may start.
    finished: asyncio.Event = field(default_factory=asyncio.Event)


class ShuttingDown(Exception):
    """The writer was stopped before this job's batch ran; nothing of it was written."""


def _retrieved(answer: asyncio.Future[Any]) -> None:
    if not answer.cancelled():
        answer.exception()


class GroupCommit(Generic[J, R]):
    def __init__(
        self,
        *,
        run_batch: Callable[[Sequence[J]], Awaitable[Sequence[R]]],
        run_one: Callable[[J], Awaitable[R]] | None = None,
        key: Callable[[J], Hashable],
        max_batch: int = MAX_BATCH,
        on_batch: Callable[[int], None] = lambda _size: None,
    ) -> None:
        self._run_batch = run_batch
        self._run_one = run_one or self._batch_of_one
        self._key = key
        self._max_batch = max_batch
        self._on_batch = on_batch
        self._queue: deque[_Pending[J, R]] = deque()
        # The last job of each key still unfinished: the next one of that key waits for it.
        self._tails: dict[Hashable, _Pending[J, R]] = {}
        self._writer: asyncio.Task[None] | None = None
        # Finishing jobs cancelled while they waited their turn (held until it came).
        self._later: set[asyncio.Task[None]] = set()

    async def submit(self, job: J) -> R:
        """Do `job` in the next batch that may take it; its result, once committed."""
        loop = asyncio.get_running_loop()
        key = self._key(job)
        pending: _Pending[J, R] = _Pending(job, key, loop.create_future())
        # Read even if the caller stopped waiting, so an error is never reported as lost.
        pending.answer.add_done_callback(_retrieved)
        before = self._tails.get(key)
        self._tails[key] = pending
        try:
            if before is not None:
                await before.finished.wait()
        except BaseException:
            # Cancelled before it was queued: it never runs. The next of its key may go
            # only once the one before it has finished, never beside it in a batch.
            if before is None or before.finished.is_set():
                self._finish(pending)
            else:
                later = loop.create_task(self._finish_after(before, pending))
                self._later.add(later)
                later.add_done_callback(self._later.discard)
            raise
        self._queue.append(pending)
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write())
        # The job runs to its end even if this caller stops waiting (a client hung up).
        return await asyncio.shield(pending.answer)

    async def _finish_after(self, before: _Pending[J, R], pending: _Pending[J, R]) -> None:
        try:
            await before.finished.wait()
        finally:
            self._finish(pending)

    def _finish(self, pending: _Pending[J, R]) -> None:
        pending.finished.set()
        if self._tails.get(pending.key) is pending:
            del self._tails[pending.key]

    async def _write(self) -> None:
        """Batches until nothing waits; a later submit starts the writer again."""
        batch: list[_Pending[J, R]] = []
        try:
            while self._queue:
                size = min(len(self._queue), self._max_batch)
                batch = [self._queue.popleft() for _ in range(size)]
                await self._settle(batch)
                for pending in batch:
                    self._finish(pending)
        except BaseException as exc:
            # The service is stopping (or the writer itself failed): whoever still waits
            # hears so rather than hanging, and no witness is left queued behind them.
            failure = exc if isinstance(exc, Exception) else ShuttingDown()
            for pending in [*batch, *self._queue]:
                if not pending.answer.done():
                    pending.answer.set_exception(failure)
                self._finish(pending)
            self._queue.clear()
            if not isinstance(exc, Exception):
                raise
            # Everyone held has the error; the next submit starts a new writer.
            log.error("the group commit writer failed (%s)", type(exc).__name__)

    async def _settle(self, batch: list[_Pending[J, R]]) -> None:
        self._on_batch(len(batch))
        try:
            results = await self._run_batch([pending.job for pending in batch])
        except Exception as exc:
            if len(batch) > 1:
                log.info(
                    "a batch of %d failed (%s); each runs alone", len(batch), type(exc).__name__
                )
            await asyncio.gather(*(self._alone(pending) for pending in batch))
            return
        for pending, result in zip(batch, results, strict=True):
            if not pending.answer.done():
                pending.answer.set_result(result)

    async def _batch_of_one(self, job: J) -> R:
        (result,) = await self._run_batch([job])
        return result

    async def _alone(self, pending: _Pending[J, R]) -> None:
        try:
            result = await self._run_one(pending.job)
        except Exception as exc:
            if not pending.answer.done():
                pending.answer.set_exception(exc)
            return
        if not pending.answer.done():
            pending.answer.set_result(result)
