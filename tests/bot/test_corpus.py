"""How well the intake understands what witnesses actually write, measured on a corpus.

tests/bot/corpus/ holds realistic answers to every question, in English and Spanish, each
with what the witness meant (or "ask" where a person would have to ask). Each entry is
played through the engine from the question it answers, its texts a few seconds apart,
and scored:

- understood: the engine took what the witness meant (or asked, where "ask" is right);
- asked: the engine asked back (a hint or "did you mean") where it could have understood;
- wrong: the engine recorded something the witness did not mean.

The bars: nothing wrong at all, on the safety steps above all, and at least 90% understood.
The held-out part was written before the reader changed and is never used to tune it; its
counts are printed on their own.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.intake import render, script
from bot.intake.engine import advance
from bot.intake.model import (
    CaseOpened,
    Context,
    ConversationState,
    Inbound,
    Language,
    LanguageChosen,
)
from bot.settings import Settings

CORPUS = Path(__file__).parent / "corpus"
SAFETY_STEPS = frozenset({"safe_now", "contact"})
UNDERSTOOD_BAR = 0.90
# Texts of a burst arrive this far apart: well inside the burst window.
BURST_GAP = timedelta(seconds=2)
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

FULL_ANSWERS = {
    script.SAFE_NOW: "no",
    script.ROLE: "witness",
    script.NEEDS: "move_now, locks",
    script.MOVE_WHERE: "in_state",
    script.HOUSEHOLD: "3",
    script.HOW_SOON: "today",
    script.CONTACT: "call",
    script.SAFE_TIMES: "after 6pm",
    script.STORY: "they shot at my house",
    script.CODE_WORD: "bluebird",
}
# What the corpus's "did you mean" question offers, at the needs question.
PENDING_STEP, PENDING_VALUE = script.NEEDS, script.NEED_LOCKS


@dataclass(frozen=True)
class Entry:
    id: str
    step: str
    language: Language
    texts: tuple[str, ...]
    expect: Any

    @property
    def held_out(self) -> bool:
        return self.id.startswith("h-")


def load(name: str) -> list[Entry]:
    entries = []
    for line in (CORPUS / name).read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            entries.append(
                Entry(
                    id=data["id"],
                    step=data["step"],
                    language=Language(data["language"]),
                    texts=tuple(data["texts"]),
                    expect=data["expect"],
                )
            )
    return entries


ENTRIES = load("dev.jsonl") + load("held_out.jsonl")
ASK = "ask"


def starting_state(entry: Entry) -> ConversationState:
    if entry.step == "first_message":
        return ConversationState()
    if entry.step == "language":
        return ConversationState(step=script.LANGUAGE, version=1)
    base = ConversationState(language=entry.language, version=3)
    if entry.step == "did_you_mean":
        earlier = {script.SAFE_NOW: "yes", script.ROLE: "witness"}
        return replace(
            base, step=PENDING_STEP, answers=earlier, answered=tuple(earlier), pending=PENDING_VALUE
        )
    if entry.step == "confirm":
        return replace(
            base, step=script.CONFIRM, answers=dict(FULL_ANSWERS), answered=tuple(FULL_ANSWERS)
        )
    order = [step.name for step in script.STEPS]
    earlier = {k: v for k, v in FULL_ANSWERS.items() if order.index(k) < order.index(entry.step)}
    return replace(base, step=entry.step, answers=earlier, answered=tuple(earlier))


def play(entry: Entry) -> tuple[ConversationState, list[Any]]:
    """The entry's texts through the engine, from its question; the final state and events."""
    state = starting_state(entry)
    events: list[Any] = []
    burst = Settings().burst_seconds
    for position, text in enumerate(entry.texts):
        context = Context(
            new_reference="ABCD-EFGH", now=START + position * BURST_GAP, burst_seconds=burst
        )
        turn = advance(state, Inbound(text=text), context)
        state = turn.state
        events.extend(turn.events)
    return state, events


def outcome(entry: Entry, state: ConversationState, events: list[Any]) -> Any:
    """What the engine took from the entry, in the corpus's terms; ASK if it asked back."""
    step = entry.step
    if step == "first_message":
        chosen = [e.language for e in events if isinstance(e, LanguageChosen)]
        if chosen:
            return chosen[-1].value
        return ASK if state.step == script.LANGUAGE else "?"
    if step == "language":
        return state.language.value if state.language and state.step != script.LANGUAGE else ASK
    if step == "did_you_mean":
        if state.pending is not None:
            return ASK
        taken = state.answers.get(PENDING_STEP)
        if taken == PENDING_VALUE:
            return "yes"
        # Declined, and the question asked again (or answered again in the same breath).
        return "no" if state.step == PENDING_STEP or taken is not None else "?"
    if step == "confirm":
        if any(isinstance(e, CaseOpened) for e in events):
            return "send"
        if state.editing:
            lines = render.summary_steps(FULL_ANSWERS, tuple(FULL_ANSWERS))
            return f"change:{lines.index(state.step) + 1}"
        if state.step == script.SAFE_NOW and not state.answers:
            return "start_over"
        return ASK
    if state.step == step or state.pending is not None:
        return ASK
    if script.STEP_BY_NAME[step].kind is script.Kind.FREE_TEXT:
        return "kept" if step in state.answers else "skip"
    value = state.answers.get(step)
    if value is None:
        return "?"
    if step == script.NEEDS:
        return sorted(part.strip() for part in value.split(","))
    if step == script.HOUSEHOLD:
        return int(value)
    return value


def expected(entry: Entry) -> Any:
    if entry.step == script.NEEDS and isinstance(entry.expect, list):
        return sorted(entry.expect)
    return entry.expect


def score(entry: Entry) -> tuple[str, Any]:
    state, events = play(entry)
    got = outcome(entry, state, events)
    want = expected(entry)
    if entry.step == "first_message" and want == "en" and got == ASK:
        # English is always confirmed with the language question (many Spanish speakers'
        # phones are set to English), in English: the witness is answered in English.
        return "understood", got
    if got == want:
        return "understood", got
    if got == ASK:
        return "asked", got
    return "wrong", got


@pytest.fixture(scope="module")
def scored() -> dict[str, tuple[str, Any]]:
    return {entry.id: score(entry) for entry in ENTRIES}


def _counts(results: dict[str, tuple[str, Any]], entries: list[Entry]) -> Counter[str]:
    return Counter(results[entry.id][0] for entry in entries)


def test_the_corpus_is_big_enough_and_a_quarter_is_held_out() -> None:
    held_out = [e for e in ENTRIES if e.held_out]
    assert len(ENTRIES) >= 200
    assert len(held_out) >= len(ENTRIES) // 4 - 1
    assert {e.language for e in ENTRIES} == set(Language)
    assert len({e.id for e in ENTRIES}) == len(ENTRIES)


def test_understanding_meets_the_bars(
    scored: dict[str, tuple[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    parts = {
        "whole corpus": ENTRIES,
        "held-out part": [e for e in ENTRIES if e.held_out],
        "safety steps": [e for e in ENTRIES if e.step in SAFETY_STEPS],
    }
    with capsys.disabled():
        print()
        for name, entries in parts.items():
            counts = _counts(scored, entries)
            print(
                f"corpus, {name}: {len(entries)} answers, {counts['understood']} understood "
                f"({counts['understood'] / len(entries):.1%}), {counts['asked']} asked, "
                f"{counts['wrong']} wrong"
            )
    # Only ids: the held-out answers are not printed, so they cannot guide changes.
    wrong = [e.id for e in ENTRIES if scored[e.id][0] == "wrong"]
    assert wrong == [], "answers recorded as something the witness did not mean"
    understood = _counts(scored, ENTRIES)["understood"] / len(ENTRIES)
    assert understood >= UNDERSTOOD_BAR


def test_every_safety_answer_is_right_or_asked(scored: dict[str, tuple[str, Any]]) -> None:
    safety = [e for e in ENTRIES if e.step in SAFETY_STEPS]
    assert safety
    assert [e.id for e in safety if scored[e.id][0] == "wrong"] == []


@pytest.mark.parametrize("entry", [e for e in ENTRIES if not e.held_out], ids=lambda e: e.id)
def test_development_answer(entry: Entry, scored: dict[str, tuple[str, Any]]) -> None:
    """Each development answer on its own, so a regression names the answer it broke."""
    verdict, got = scored[entry.id]
    assert verdict != "wrong", f"{entry.texts} was taken as {got!r}, meant {entry.expect!r}"
