"""Triage: the priority rule, danger words in both languages, and routing to queues."""

from __future__ import annotations

import pytest

from bot.intake.model import Priority
from bot.intake.triage import QUEUES, assess, danger_words, priority_for, queue_for


@pytest.mark.parametrize(
    "text",
    [
        "he has a gun",
        "GUNS",
        "they were shooting",
        "my brother was shot",
        "said he would kill me",
        "they killed him",
        "a threat",
        "he threatened us",
        "threatening messages",
        "they know where I live",
        "he knows where we live",
        "pulled a knife",
        "tiene una pistola",
        "traía un arma",
        "dispararon",
        "un balazo",
        "quieren matarme",
        "lo mataron",
        "me amenazó",
        "amenazas",
        "saben dónde vivo",
        "SABE DONDE VIVIMOS",
        "me están buscando",
    ],
)
def test_danger_words(text: str) -> None:
    assert danger_words(text)


@pytest.mark.parametrize(
    "text",
    ["", "skills", "a shotty decision? no", "alarma", "armario", "matemáticas", "begun", "shooter"],
)
def test_no_danger_words(text: str) -> None:
    expected = ("shooter",) if text == "shooter" else ()
    assert danger_words(text) == expected


def test_danger_words_are_reported_as_found() -> None:
    assert danger_words("They said: GUN, then kill.") == ("gun", "kill")


@pytest.mark.parametrize(
    ("answers", "priority"),
    [
        ({}, Priority.NORMAL),
        ({"safe_now": "yes", "how_soon": "later", "needs": "locks"}, Priority.NORMAL),
        ({"needs": "moving_costs"}, Priority.NORMAL),
        ({"how_soon": "this_week"}, Priority.HIGH),
        ({"needs": "move_now"}, Priority.HIGH),
        ({"needs": "locks, move_permanent"}, Priority.HIGH),
        ({"safe_now": "no"}, Priority.URGENT),
        ({"how_soon": "today"}, Priority.URGENT),
        ({"story": "he has a gun"}, Priority.URGENT),
        ({"safe_times": "never, they threaten me"}, Priority.URGENT),
        ({"code_word": "gun"}, Priority.NORMAL),
    ],
)
def test_priority_rule(answers: dict[str, str], priority: Priority) -> None:
    assert priority_for(answers) is priority


def test_assessment_gives_reasons() -> None:
    found = assess({"safe_now": "no", "how_soon": "today", "story": "a gun", "needs": "talk"})

    assert found.priority is Priority.URGENT
    # Short labels only: the witness's own words are never quoted in a reason.
    assert found.reasons == ("not safe now", "needs help today", "weapon")
    assert (found.queue, found.needs) == ("support", ("talk",))


@pytest.mark.parametrize(
    ("needs", "queue"),
    [
        (["move_now"], "relocation"),
        (["move_permanent", "locks"], "relocation"),
        (["moving_costs", "talk"], "relocation"),
        (["locks", "talk"], "home-security"),
        (["talk", "other"], "support"),
        (["other"], "general"),
        ([], "general"),
    ],
)
def test_routing(needs: list[str], queue: str) -> None:
    assert queue_for(needs) == queue
    assert queue in QUEUES
