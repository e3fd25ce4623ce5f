"""What frightened people actually write, end to end: SMS, Telegram and the terminal.

Each journey is one witness's whole intake, written the way people text (negations,
numbers inside sentences, typos, Spanish, a burst of two texts, a change from the
summary). It runs through the real channel edge (signed Twilio webhooks, Telegram
updates through the fake Bot API, the terminal loop), and the case it opens is then
read through the caseworker API: queue, needs, priority, may_call and answers.

A ManualClock stands in for time: it moves a minute before each answer (the witness
read the question), and not at all inside a burst.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from handlers.terminal import run_chat
from tests.clock import ManualClock
from tests.handlers.api_helpers import Caseworker, make_caseworker, sign_in
from tests.handlers.sms_helpers import sms_service
from tests.handlers.telegram_helpers import TelegramUser, telegram_service
from tests.intake_scripts import REFERENCE
from tests.live import LiveService, running_service

BURST = "<burst>"  # the next text follows the previous one within seconds
# Safe times, what happened, the code word and the danger word, all skipped.
SKIP = ("SKIP", "SKIP", "SKIP", "SKIP")
OMITIR = ("OMITIR", "OMITIR", "OMITIR", "OMITIR")


@dataclass(frozen=True)
class Journey:
    name: str
    texts: tuple[str, ...]
    expect: dict[str, Any]
    answers: dict[str, str] = field(default_factory=dict)


JOURNEYS = (
    Journey(
        "please don't call me",
        ("hi", "1", "1", "1", "3", "3", "please don't call me", "1", *SKIP, "1"),
        {"queue": "home-security", "may_call": False},
        {"contact": "text_here"},
    ),
    Journey(
        "dont call",
        ("hi", "1", "1", "1", "3", "3", "dont call", "3", *SKIP, "1"),
        {"may_call": False},
        {"contact": "only_when_i_text_first"},
    ),
    Journey(
        "no me llamen",
        ("hola", "1", "1", "3", "3", "no me llamen", "1", *OMITIR, "1"),
        {"may_call": False, "language": "es"},
        {"contact": "text_here"},
    ),
    Journey(
        "no llamar, solo mensajes",
        ("hola", "1", "1", "3", "3", "no llamar, solo mensajes", *OMITIR, "1"),
        {"may_call": False},
        {"contact": "text_here"},
    ),
    Journey(
        "never call this number he checks my phone",
        ("hi", "1", "1", "1", "3", "3", "never call this number he checks my phone", *SKIP, "1"),
        {"may_call": False},
        {"contact": "only_when_i_text_first"},
    ),
    Journey(
        "call me, plainly",
        ("hi", "1", "1", "1", "3", "3", "call me", *SKIP, "1"),
        {"may_call": True},
        {"contact": "call"},
    ),
    Journey(
        "i dont feel safe",
        ("hi", "1", "i dont feel safe", "1", "SKIP", "2"),  # the fast path, then "not now"
        {"priority": "urgent", "may_call": False},
        {"safe_now": "no", "contact": "text_here"},
    ),
    Journey(
        "locks and moving",
        ("hi", "1", "1", "1", "locks and moving", "1", "2", "3", "1", *SKIP, "1"),
        {"queue": "relocation", "needs": ["move_now", "locks"]},
        {"move_where": "in_state", "household": "2"},
    ),
    Journey(
        "cambiar chapas y mudarme",
        ("hola", "1", "1", "cambiar chapas y mudarme", "2", "3", "3", "1", *OMITIR, "1"),
        {"queue": "relocation", "needs": ["move_now", "locks"]},
        {"move_where": "out_of_state"},
    ),
    *(
        Journey(
            quote,
            (*prefix, quote, "3", "1", "3", "1", *skip, "1"),
            {"queue": "relocation", "needs": ["move_now"]},
        )
        for quote, prefix, skip in (
            ("I need to move", ("hi", "1", "1", "1"), SKIP),
            ("relocate", ("hi", "1", "1", "1"), SKIP),
            ("reloacte", ("hi", "1", "1", "1"), SKIP),
            ("a safe place to stay tonight", ("hi", "1", "1", "1"), SKIP),
            ("we have to get out of this apartment", ("hi", "1", "1", "1"), SKIP),
            ("necesito mudarme", ("hola", "1", "1"), OMITIR),
            ("mudanza", ("hola", "1", "1"), OMITIR),
        )
    ),
    Journey(
        "me and my 2 kids",
        ("hi", "1", "1", "1", "1", "1", "me and my 2 kids", "3", "1", *SKIP, "1"),
        {"queue": "relocation"},
        {"household": "3"},
    ),
    Journey(
        "me my mom and my 3 kids",
        ("hi", "1", "1", "1", "1", "1", "me my mom and my 3 kids", "3", "1", *SKIP, "1"),
        {},
        {"household": "5"},
    ),
    Journey(
        "somos 4 con mis 2 hijos",
        ("hola", "1", "1", "1", "1", "somos 4 con mis 2 hijos", "3", "1", *OMITIR, "1"),
        {},
        {"household": "4", "how_soon": "later"},
    ),
    Journey(
        "a burst of two texts is one story",
        (
            "hi", "1", "1", "1", "3", "3", "1", "SKIP",
            "I didnt.", BURST, "I just want my kids safe",
            "bluebird", "SKIP", "1",
        ),  # fmt: skip
        {},
        {"story": "I didnt.\nI just want my kids safe", "code_word": "bluebird"},
    ),
    Journey(
        "time words",
        ("hola", "1", "1", "3", "urgente", "1", *OMITIR, "👍"),
        {"priority": "urgent"},
        {"how_soon": "today"},
    ),
    *(
        Journey(quote, (*prefix, "3", quote, "1", *skip, "1"), {}, {"how_soon": when})
        for quote, prefix, skip, when in (
            ("next month", ("hi", "1", "1", "1"), SKIP, "later"),
            ("no rush", ("hi", "1", "1", "1"), SKIP, "later"),
            ("mañana", ("hola", "1", "1"), OMITIR, "this_week"),
        )
    ),
    Journey(
        "witnes", ("hi", "1", "1", "witnes", "3", "3", "1", *SKIP, "1"), {}, {"role": "witness"}
    ),
    Journey(
        "change one answer from the summary",
        ("hi", "1", "1", "1", "3", "3", "1", *SKIP, "change 4", "today", "1"),
        {"priority": "urgent"},
        {"how_soon": "today", "role": "witness"},
    ),
)  # fmt: skip


Say = Callable[[str], Coroutine[Any, Any, list[str]]]


@dataclass
class Route:
    """One way of reaching the live service; `witness()` gives a new person's `say`."""

    live: LiveService
    new_witness: Callable[[], Say]


async def walk(say: Say, clock: ManualClock, texts: tuple[str, ...]) -> list[str]:
    """Every reply the journey got."""
    replies: list[str] = []
    burst = False
    for text in texts:
        if text == BURST:
            burst = True
            continue
        if not burst:
            clock.advance(60)
        burst = False
        replies += await say(text)
    return replies


_numbers = itertools.count(100)


@asynccontextmanager
async def sms(tmp_path: Path, database_url: str, clock: ManualClock) -> AsyncIterator[Route]:
    async with sms_service(tmp_path, database_url, clock=clock, burst_seconds=5) as (
        live,
        _twilio,
        phone,
    ):

        def new_witness() -> Say:
            person = type(phone)(
                live=phone.live,
                twilio=phone.twilio,
                client=phone.client,
                number=f"+1555014{next(_numbers):04d}",
            )
            return person.text

        yield Route(live=live, new_witness=new_witness)


@asynccontextmanager
async def telegram(tmp_path: Path, database_url: str, clock: ManualClock) -> AsyncIterator[Route]:
    async with telegram_service(tmp_path, database_url, clock=clock, burst_seconds=5) as (
        live,
        fake,
        user,
    ):

        def new_witness() -> Say:
            person = TelegramUser(
                live=live, fake=fake, client=user.client, chat_id=7_000_000 + next(_numbers)
            )
            return person.answer

        yield Route(live=live, new_witness=new_witness)


class _Keyboard(io.StringIO):
    """A terminal someone is typing at: each say() is one line, typed interactively."""

    def isatty(self) -> bool:
        return True


@asynccontextmanager
async def terminal(tmp_path: Path, database_url: str, clock: ManualClock) -> AsyncIterator[Route]:
    async with running_service(
        data_dir=tmp_path / "data", database_url=database_url, clock=clock, burst_seconds=5
    ) as live:

        def new_witness() -> Say:
            address = f"terminal:{next(_numbers)}"

            async def say(text: str) -> list[str]:
                out = io.StringIO()
                await run_chat(
                    live.services.desk, address=address, stdin=_Keyboard(text + "\n"), stdout=out
                )
                return _bot_lines(out.getvalue())

            return say

        yield Route(live=live, new_witness=new_witness)


def _bot_lines(screen: str) -> list[str]:
    """The replies printed after "bot>", each with its continuation lines."""
    replies: list[str] = []
    for line in screen.splitlines():
        while line.startswith("you> "):
            line = line[5:]
        if line.startswith("bot> "):
            replies.append(line[5:])
        elif line.startswith("     ") and replies:
            replies[-1] += "\n" + line[5:]
    return replies


ROUTES = {"sms": sms, "telegram": telegram, "terminal": terminal}


async def _supervisor(live: LiveService, client: httpx.AsyncClient) -> Caseworker:
    await make_caseworker(live.services.db, "sam", supervisor=True)
    return await sign_in(client, live.base_url, "sam")


@pytest.mark.parametrize("channel_name", list(ROUTES))
async def test_every_quote_behaves_as_the_witness_meant(
    tmp_path: Path, database_url: str, channel_name: str
) -> None:
    clock = ManualClock()
    async with (
        ROUTES[channel_name](tmp_path, database_url, clock) as channel,
        httpx.AsyncClient(timeout=30) as client,
    ):
        sam = await _supervisor(channel.live, client)
        for journey in JOURNEYS:
            replies = await walk(channel.new_witness(), clock, journey.texts)
            found = REFERENCE.search("\n".join(replies))
            assert found is not None, (journey.name, replies)
            case = (await sam.get(f"/api/v1/cases/{found.group(0)}")).json()
            seen = {name: case[name] for name in journey.expect}
            if "needs" in seen:
                seen["needs"] = sorted(seen["needs"])
                journey.expect["needs"] = sorted(journey.expect["needs"])
            assert seen == journey.expect, journey.name
            answers = {name: case["answers"].get(name) for name in journey.answers}
            assert answers == journey.answers, journey.name
            assert case["may_call"] is (case["answers"].get("contact") == "call"), journey.name


async def test_a_refused_call_gets_one_question_back_not_a_guess(
    tmp_path: Path, database_url: str
) -> None:
    clock = ManualClock()
    async with sms(tmp_path, database_url, clock) as channel:
        say = channel.new_witness()
        await walk(say, clock, ("hi", "1", "1", "1", "3", "3"))
        clock.advance(60)
        replies = await say("dont call")

        assert replies[0].startswith("Sorry, I did not understand")
        assert "When is it safe" not in "\n".join(replies)
        clock.advance(60)
        replies = await say("maybe call?")
        assert replies[-1].startswith("Did you mean: Call this number?")


async def test_a_burst_on_telegram_never_answers_the_next_question(
    tmp_path: Path, database_url: str
) -> None:
    clock = ManualClock()
    async with telegram(tmp_path, database_url, clock) as channel:
        say = channel.new_witness()
        await walk(say, clock, ("hi", "1", "1", "1", "locks"))
        replies = await say("and moving too")  # no time passes: a burst

        assert "Got it: Move somewhere safe for now + Change locks / secure my home" in replies
        assert replies[-1].startswith("Where could you move?")


def test_journeys_cover_the_quotes_of_the_issue() -> None:
    texts = {text for journey in JOURNEYS for text in journey.texts}
    for quote in (
        "please don't call me",
        "dont call",
        "no me llamen",
        "no llamar, solo mensajes",
        "never call this number he checks my phone",
        "i dont feel safe",
        "locks and moving",
        "cambiar chapas y mudarme",
        "I need to move",
        "relocate",
        "necesito mudarme",
        "mudanza",
        "a safe place to stay tonight",
        "we have to get out of this apartment",
        "me and my 2 kids",
        "me my mom and my 3 kids",
        "somos 4 con mis 2 hijos",
        "I didnt.",
        "urgente",
        "next month",
        "no rush",
        "mañana",
        "👍",
        "witnes",
        "reloacte",
    ):
        assert quote in texts, quote
