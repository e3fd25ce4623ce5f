"""Server memory against open conversations: it should stay flat.

Distinct witnesses each send one message (each opens a conversation) through the real
webhook, in short wrk slices; after every slice the server's resident memory (VmRSS) is
read beside the number of conversations stored. The growth per conversation is the
least-squares slope over the second half of the samples, after bounded caches (SQLite's
page cache, the connection pools, the allocator's arenas) have had the first half to
fill. The run stops at the target number of conversations or at its time limit, and
says which: a slow server reaches fewer, and its slope is read from fewer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from bench.forms import SMS_PATH, Twilio, write_requests
from bench.load import run_wrk
from bench.server import Engine, Service, count_rows, fresh_database, settled
from bench.stats import slope
from storage.models import Conversation
from tests.intake_scripts import ENGLISH_MOVE

FIRST_MESSAGE = ENGLISH_MOVE[0]
# Memory witnesses: a range of their own, apart from the webhook's and the claims'.
FIRST_WITNESS = 7_000_000
WARM_UP = 2_000
CONVERSATIONS = select(func.count()).select_from(Conversation)


@dataclass(frozen=True)
class Sample:
    conversations: int
    rss_kib: int


@dataclass(frozen=True)
class Memory:
    engine: Engine
    target: int
    seconds: float
    samples: tuple[Sample, ...]

    @property
    def before(self) -> Sample:
        return self.samples[0]

    @property
    def after(self) -> Sample:
        return self.samples[-1]

    @property
    def reached(self) -> int:
        return self.after.conversations - self.before.conversations

    @property
    def bytes_per_conversation(self) -> float:
        last = self.after.conversations
        late = [s for s in self.samples if s.conversations >= last / 2]
        return slope([(s.conversations, s.rss_kib * 1024) for s in late])


def sign_first_messages(path: Path, twilio: Twilio, *, witnesses: int) -> int:
    """One first message from each of WARM_UP + `witnesses` distinct witnesses."""
    total = WARM_UP + witnesses
    messages = ((FIRST_WITNESS + w, 0, FIRST_MESSAGE) for w in range(total))
    return write_requests(path, twilio, messages)


def measure_memory(
    engine: Engine,
    *,
    folder: Path,
    twilio: Twilio,
    requests_file: Path,
    requests_count: int,
    target: int,
    seconds: float,
    slice_seconds: float,
    connections: int,
) -> Memory:
    """Warm up for one slice, then send first messages until `target` more conversations
    are stored, the forms run out, or `seconds` have passed."""
    folder.mkdir(parents=True, exist_ok=True)
    with (
        fresh_database(engine, folder) as url,
        Service(database_url=url, folder=folder, twilio=twilio) as service,
    ):
        line = 1

        def send() -> None:
            nonlocal line
            load = run_wrk(
                service.base + SMS_PATH,
                seconds=slice_seconds,
                connections=connections,
                requests_file=requests_file,
                first_line=line,
            )
            line += load.sent

        def sample() -> Sample:
            count = settled(lambda: count_rows(url, CONVERSATIONS))
            return Sample(count, service.rss_kib())

        send()
        samples = [sample()]
        started = time.monotonic()
        goal = samples[0].conversations + target
        while (
            samples[-1].conversations < goal
            and line <= requests_count
            and time.monotonic() - started < seconds
        ):
            send()
            samples.append(sample())
        spent = time.monotonic() - started
    return Memory(engine=engine, target=target, seconds=spent, samples=tuple(samples))
