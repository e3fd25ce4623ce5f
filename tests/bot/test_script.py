"""The intake script as data: a connected graph, both languages everywhere, short SMS prompts."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from bot.intake import engine, messages, render, script
from bot.intake.model import Language
from bot.intake.parsing import normalize, parse_keyword
from bot.intake.script import (
    DONE,
    LANGUAGE,
    SAFE_NOW,
    START,
    STEP_BY_NAME,
    STEPS,
    Kind,
    Text,
    next_step,
    successors,
)
from bot.intake.sms import Encoding, encoding, segment_count
from tests.bot.chat import REFERENCE, Chat, intake

# The engine's own first move: the language question, or straight to safe_now.
FIRST_STEPS = {LANGUAGE, SAFE_NOW}


def _all_texts() -> list[Text]:
    texts: list[Text] = [script.DANGER_GUIDANCE]
    for step in STEPS:
        texts += [t for t in (step.question, step.hint, step.summary_label) if t is not None]
        texts += [choice.label for choice in step.choices]
        texts += [t for follow_up in step.follow_ups.values() for t in follow_up]
    for value in vars(messages).values():
        if isinstance(value, Text):
            texts.append(value)
        elif isinstance(value, tuple) and value and all(isinstance(t, Text) for t in value):
            texts.extend(value)
    return texts


def _reachable(starts: set[str]) -> set[str]:
    seen, todo = set(), list(starts)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(successors(name))
    return seen


def test_every_step_is_reachable_from_the_start() -> None:
    assert _reachable(FIRST_STEPS) == set(STEP_BY_NAME)


def test_every_step_leads_to_done() -> None:
    for name in STEP_BY_NAME:
        assert DONE in _reachable({name}), name


def test_step_names_are_unique_and_the_last_is_final() -> None:
    assert len(STEP_BY_NAME) == len(STEPS)
    assert [s.name for s in STEPS if s.kind is Kind.FINAL] == [DONE] == [STEPS[-1].name]
    assert START not in STEP_BY_NAME


def test_every_step_but_the_last_asks_something_with_a_hint() -> None:
    for step in STEPS[:-1]:
        assert step.question is not None and step.hint is not None, step.name
        assert bool(step.choices) == (step.kind in (Kind.CHOICE, Kind.MULTI)), step.name


def test_every_text_has_both_languages_and_no_empty_words() -> None:
    texts = _all_texts()
    assert len(texts) > 60
    for text in texts:
        for words in (text.en, text.es):
            assert words.strip() == words and words, text
            assert set(re.findall(r"\{(\w*)\}", words)) <= {"reference", "numbers"}, text


def test_english_texts_never_need_ucs2() -> None:
    # A curly quote or a dash would silently cost every English message half its room.
    for text in _all_texts():
        assert encoding(text.en) is Encoding.GSM7, text.en


def test_spanish_is_actually_spanish() -> None:
    translated = [t for t in _all_texts() if t.en != t.es]
    # Only the names of the languages and a bare "No" read the same in both.
    assert len(translated) >= len(_all_texts()) - 4


def _every_prompt(language: Language) -> list[str]:
    prompts = []
    for step in STEPS[:-1]:
        prompts.append(render.question(step, language).text)
        prompts += [render.hint(step, language, failures=n).text for n in (1, 3)]
    for message in messages.ALL_MESSAGES.values():
        prompts += [r.text for r in render.say(message, language, reference=REFERENCE)]
    prompts.append(script.DANGER_GUIDANCE.in_language(language))
    return prompts


@pytest.mark.parametrize("language", list(Language))
def test_every_sms_prompt_fits_in_two_segments(language: Language) -> None:
    for prompt in _every_prompt(language):
        assert segment_count(prompt) <= 2, (encoding(prompt), len(prompt), prompt)


@pytest.mark.parametrize("language", list(Language))
def test_the_longest_summary_comes_in_two_segment_messages(language: Language) -> None:
    def longest(name: str) -> str:
        labels = STEP_BY_NAME[name].choices
        return max(labels, key=lambda c: len(c.label.in_language(language))).value

    answers = {
        name: longest(name) for name in ("safe_now", "role", "move_where", "how_soon", "contact")
    }
    answers["needs"] = ", ".join(c.value for c in STEP_BY_NAME["needs"].choices)
    answers["household"] = "20"

    parts = render.summary(answers, language)
    assert all(segment_count(part.text) <= 2 for part in parts)
    assert len(parts) <= 3
    for name in ("safe_now", "role", "needs", "move_where", "household", "how_soon", "contact"):
        label = STEP_BY_NAME[name].summary_label
        assert label is not None and label.in_language(language) in "\n".join(p.text for p in parts)


@pytest.mark.parametrize(("first", "language"), [("hi", "1"), ("hola", None)])
def test_every_reply_of_a_whole_intake_fits_in_two_segments(
    first: str, language: str | None
) -> None:
    chat = Chat()
    chat.walk(
        *intake(
            first=first,
            language=language,
            needs="1 2 3 4 5 6",
            where="3",
            household="12",
            story="x" * 3000,
        ),
        "more",
        "HELP",
        "STATUS",
        "DELETE",
    )
    for turn in chat.turns:
        for reply in turn.replies:
            assert segment_count(reply.text) <= 2, reply.text


def test_the_diagram_draws_every_step() -> None:
    diagram = (Path(script.__file__).parent / "flow.mmd").read_text(encoding="utf-8")

    assert diagram.lstrip("%").find("flowchart") >= 0
    for name in STEP_BY_NAME:
        assert re.search(rf"\b{name}\b", diagram), name
    assert "flow.mmd" in (engine.__doc__ or "") and "flow.mmd" in (script.__doc__ or "")


def test_options_are_numbered_from_one_with_unique_values() -> None:
    for step in STEPS:
        assert [c.number for c in step.choices] == list(range(1, len(step.choices) + 1))
        assert len({c.value for c in step.choices}) == len(step.choices)


def test_option_words_are_normalized_unambiguous_and_not_keywords() -> None:
    for step in STEPS:
        for a, b in itertools.combinations(step.choices, 2):
            assert not a.words & b.words, (step.name, a.words & b.words)
        for choice in step.choices:
            for word in choice.words:
                assert normalize(word) == word, word
                # Keywords win over answers; only the language names may be both, as the
                # ENGLISH / ESPAÑOL keywords choose the same language the option would.
                assert step.name == LANGUAGE or parse_keyword(word) is None, word


def test_moves_are_needs_1_and_2() -> None:
    needs = {c.value: c.number for c in STEP_BY_NAME["needs"].choices}
    assert sorted(needs[n] for n in script.MOVE_NEEDS) == [1, 2]


@pytest.mark.parametrize(
    ("needs", "following"),
    [
        ("move_now", "move_where"),
        ("move_permanent, talk", "move_where"),
        ("moving_costs", "how_soon"),
        ("locks, talk, other", "how_soon"),
    ],
)
def test_move_questions_only_follow_a_move(needs: str, following: str) -> None:
    assert next_step("needs", value=needs, answers={"needs": needs}) == following


def test_confirm_sends_or_starts_over() -> None:
    assert next_step("confirm", value=script.SEND, answers={}) == DONE
    assert next_step("confirm", value=script.START_OVER, answers={}) == SAFE_NOW


def test_answer_keys_are_what_caseworkers_read() -> None:
    assert script.ANSWER_KEYS == (
        "safe_now",
        "role",
        "needs",
        "move_where",
        "household",
        "how_soon",
        "contact",
        "safe_times",
        "story",
        "code_word",
    )


@pytest.mark.parametrize("language", list(Language))
def test_the_welcome_names_the_program_and_the_emergency_number(language: Language) -> None:
    welcome = "\n".join(r.text for r in render.say(messages.WELCOME, language))

    assert script.PROGRAM_NAME in welcome and script.EMERGENCY_NUMBER in welcome
    for keyword in ("STOP", "AYUDA" if language is Language.ES else "HELP"):
        assert keyword in welcome
