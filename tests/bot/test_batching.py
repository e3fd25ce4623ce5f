"""Group commit (bot/batching.py): who shares a batch, in what order, and who hears what.

The batches here are lists the test keeps; the desk's real batches, on both databases,
are in tests/bot/test_desk_batches.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.batching import GroupCommit, ShuttingDown

Job = tuple[str, int]  # (key, number)


class Ledger:
    """A stand-in store: what each batch held, and what was written, in order."""

    def __init__(self, *, refuse: frozenset[Job] = frozenset()) -> None:
        self.batches: list[list[Job]] = []
        self.alone: list[Job] = []
        self.written: list[Job] = []
        self.refuse = refuse
        # Cleared to hold the next batch before its "commit", to look at who waits.
        self.commit = asyncio.Event()
        self.commit.set()

    async def run_batch(self, jobs: Sequence[Job]) -> list[str]:
        self.batches.append(list(jobs))
        if any(job in self.refuse for job in jobs):
            raise ValueError("one job in the batch is refused")
        await self.commit.wait()
        self.written.extend(jobs)
        return [f"{key}{number}" for key, number in jobs]

    async def run_one(self, job: Job) -> str:
        self.alone.append(job)
        if job in self.refuse:
            raise ValueError(f"{job} is refused")
        self.written.append(job)
        return f"{job[0]}{job[1]}"

    def group(self, max_batch: int = 64) -> GroupCommit[Job, str]:
        return GroupCommit(
            run_batch=self.run_batch,
            run_one=self.run_one,
            key=lambda job: job[0],
            max_batch=max_batch,
        )


async def holding_a_first_batch(
    ledger: Ledger, group: GroupCommit[Job, str]
) -> asyncio.Future[str]:
    """("a", 1) submitted and its batch running, its commit held until the test lets go."""
    ledger.commit.clear()
    first = asyncio.ensure_future(group.submit(("a", 1)))
    while not ledger.batches:
        await asyncio.sleep(0)
    return first


async def test_callers_waiting_together_share_one_batch() -> None:
    ledger = Ledger()
    group = ledger.group()
    jobs = [(f"w{n}", 1) for n in range(20)]
    answers = await asyncio.gather(*(group.submit(job) for job in jobs))
    assert answers == [f"w{n}1" for n in range(20)]
    assert ledger.batches == [jobs]


async def test_a_batch_is_never_larger_than_its_limit() -> None:
    ledger = Ledger()
    group = ledger.group(max_batch=8)
    await asyncio.gather(*(group.submit((f"w{n}", 1)) for n in range(20)))
    assert [len(batch) for batch in ledger.batches] == [8, 8, 4]


async def test_one_keys_jobs_go_in_order_one_batch_after_another() -> None:
    ledger = Ledger()
    group = ledger.group()
    jobs = [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2), ("c", 1)]
    answers = await asyncio.gather(*(group.submit(job) for job in jobs))
    assert answers == ["a1", "b1", "a2", "a3", "b2", "c1"]
    for batch in ledger.batches:
        keys = [key for key, _ in batch]
        assert len(keys) == len(set(keys)), f"two jobs of one key shared {batch}"
    assert [job for job in ledger.written if job[0] == "a"] == [("a", 1), ("a", 2), ("a", 3)]
    assert [job for job in ledger.written if job[0] == "b"] == [("b", 1), ("b", 2)]


async def test_no_one_hears_before_their_batch_is_committed() -> None:
    ledger = Ledger()
    group = ledger.group()
    ledger.commit.clear()
    waiting = [asyncio.ensure_future(group.submit((f"w{n}", 1))) for n in range(3)]
    while not ledger.batches:
        await asyncio.sleep(0)
    for _ in range(10):
        await asyncio.sleep(0)
    assert not any(task.done() for task in waiting)
    ledger.commit.set()
    assert await asyncio.gather(*waiting) == ["w01", "w11", "w21"]


async def test_a_failed_batch_costs_the_others_nothing_but_time() -> None:
    # One refused job fails its batch; every job in it is run again alone: the others
    # get their answers, the refused one its own error, and nothing is written twice.
    ledger = Ledger(refuse=frozenset({("w2", 1)}))
    group = ledger.group()
    results = await asyncio.gather(
        *(group.submit((f"w{n}", 1)) for n in range(5)), return_exceptions=True
    )
    assert [r if isinstance(r, str) else type(r).__name__ for r in results] == [
        "w01",
        "w11",
        "ValueError",
        "w31",
        "w41",
    ]
    assert sorted(ledger.alone) == [(f"w{n}", 1) for n in range(5)]
    assert sorted(ledger.written) == [("w0", 1), ("w1", 1), ("w3", 1), ("w4", 1)]


async def test_a_caller_who_stops_waiting_does_not_stop_its_job_or_the_next() -> None:
    # A client hung up while its message was in a batch: the message is still written,
    # and the same witness's next message waits for it, then follows.
    ledger = Ledger()
    group = ledger.group()
    first = await holding_a_first_batch(ledger, group)
    second = asyncio.ensure_future(group.submit(("a", 2)))
    first.cancel()
    await asyncio.sleep(0)
    ledger.commit.set()
    assert await second == "a2"
    assert ledger.written == [("a", 1), ("a", 2)]
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_job_cancelled_before_its_turn_never_runs() -> None:
    ledger = Ledger()
    group = ledger.group()
    first = await holding_a_first_batch(ledger, group)
    second = asyncio.ensure_future(group.submit(("a", 2)))
    third = asyncio.ensure_future(group.submit(("a", 3)))
    await asyncio.sleep(0)
    second.cancel()
    ledger.commit.set()
    assert (await first, await third) == ("a1", "a3")
    assert ledger.written == [("a", 1), ("a", 3)]


async def test_jobs_still_queued_when_the_writer_stops_hear_so() -> None:
    ledger = Ledger()
    group = ledger.group(max_batch=1)
    running = await holding_a_first_batch(ledger, group)
    queued = asyncio.ensure_future(group.submit(("b", 1)))
    writer = group._writer  # noqa: SLF001 - the service's shutdown cancels this task
    assert writer is not None
    writer.cancel()
    for caller in (running, queued):
        with pytest.raises(ShuttingDown):
            await caller


async def test_a_job_cancelled_while_waiting_never_lets_the_next_overtake_the_first() -> None:
    # The writer is busy with another key; one witness has three jobs lined up. The middle
    # one is cancelled: the third must still wait for the first, never share its batch.
    ledger = Ledger()
    group = ledger.group()
    busy = await holding_a_first_batch(ledger, group)
    first = asyncio.ensure_future(group.submit(("w", 1)))
    second = asyncio.ensure_future(group.submit(("w", 2)))
    third = asyncio.ensure_future(group.submit(("w", 3)))
    for _ in range(5):
        await asyncio.sleep(0)
    second.cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    ledger.commit.set()
    assert (await busy, await first, await third) == ("a1", "w1", "w3")
    for batch in ledger.batches:
        keys = [key for key, _ in batch]
        assert len(keys) == len(set(keys)), f"two jobs of one key shared {batch}"
    assert [job for job in ledger.written if job[0] == "w"] == [("w", 1), ("w", 3)]


async def test_a_writer_that_fails_answers_everyone_it_held() -> None:
    # A run_batch answering the wrong number of results is a bug in the caller's code:
    # every job of that batch hears the error instead of waiting forever.
    async def short(jobs: Sequence[Job]) -> list[str]:
        return []

    async def alone(job: Job) -> str:
        return "alone"

    group: GroupCommit[Job, str] = GroupCommit(run_batch=short, run_one=alone, key=lambda j: j[0])
    results = await asyncio.gather(
        *(group.submit((f"w{n}", 1)) for n in range(3)), return_exceptions=True
    )
    assert [type(result).__name__ for result in results] == ["ValueError"] * 3
    # The writer starts again for whoever comes next.
    with pytest.raises(ValueError):
        await group.submit(("w0", 2))
