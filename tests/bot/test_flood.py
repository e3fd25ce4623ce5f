"""The flood record on its own: when a flood begins and ends, and how it is stored."""

from __future__ import annotations

from datetime import timedelta

from bot.flood import FloodWatch, pace
from tests.clock import ManualClock


def paced(times: list[float], *, per_minute: int) -> list[bool]:
    """Whether each message, sent at these seconds, found the witness flooding."""
    clock, watch, seen = ManualClock(), FloodWatch(), []
    start = clock()
    for at in times:
        watch = pace(watch, now=start + timedelta(seconds=at), per_minute=per_minute)
        seen.append(watch.flooding)
    return seen


def test_a_flood_begins_past_the_limit_within_a_minute() -> None:
    assert paced([0, 1, 2, 3], per_minute=3) == [False, False, False, True]
    # The same four messages spread over more than a minute are an ordinary pace.
    assert paced([0, 30, 59, 61], per_minute=3) == [False, False, False, False]


def test_a_flood_ends_only_once_the_pace_is_down_to_half() -> None:
    flood = [0.0] * 5
    assert paced([*flood, 30, 45], per_minute=4)[-2:] == [True, True]
    # Three in the last minute would not start a flood of four, but do not end one.
    assert paced([*flood, 40, 50, 61], per_minute=4)[-1] is True
    assert paced([*flood, 30, 61], per_minute=4)[-1] is False
    assert paced([*flood, 61, 62], per_minute=4)[-2:] == [False, False]
    assert paced([0, 0, 61], per_minute=1) == [False, True, False]


def test_the_record_survives_storage_and_junk_reads_as_calm() -> None:
    clock = ManualClock()
    watch = pace(FloodWatch(), now=clock(), per_minute=1)
    watch = pace(watch, now=clock(), per_minute=1)
    assert watch.flooding and FloodWatch.from_dict(watch.to_dict()) == watch
    for junk in (None, "x", {"recent": ["not a time"]}, {"since": 5}):
        assert FloodWatch.from_dict(junk) == FloodWatch()
