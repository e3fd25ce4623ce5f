"""The intake script as data: a connected graph, every language everywhere, short SMS prompts."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from bot.intake import engine, messages, render, script
from bot.intake.lexicon import LEXICONS, Keyword
from bot.intake.model import Language
from bot.intake.script import (
    DONE,
    LANGUAGE,
    NEEDS_SEPARATOR,
    SAFE_NOW,
    START,
    STEP_BY_NAME,
    STEPS,
    Kind,
    Step,
    Text,
    next_step,
    successors,
)
from bot.intake.sms import MAX_PROMPT_SEGMENTS, Encoding, encoding, segment_count
from tests.bot.chat import REFERENCE, Chat, intake

# The engine's own first move: the language question, or straight to safe_now.
FIRST_STEPS = {LANGUAGE, SAFE_NOW}
ASKING_STEPS = [step for step in STEPS if step.kind is not Kind.FINAL]
CHOICE_STEPS = [step for step in STEPS if step.choices]
PLACEHOLDERS = {"reference", "numbers", "answer", "wait", "crisis_line", "n"}
# The longest "when to expect an answer" the service writes into a message.
LONGEST_WAIT = {language: messages.WAIT_MINUTES[language].format(n=90) for language in Language}


def _texts_in(module: ModuleType) -> Iterator[tuple[str, Text]]:
    """Every Text a module holds as an attribute, alone or in a tuple (a multi-part message)."""
    short = module.__name__.rpartition(".")[2]
    seen: set[int] = set()
    for name, value in vars(module).items():
        if id(value) in seen:
            continue  # an alias, such as HELP for HELP_SMS
        seen.add(id(value))
        if isinstance(value, Text):
            yield f"{short}.{name}", value
        elif isinstance(value, tuple) and value and all(isinstance(t, Text) for t in value):
            yield from ((f"{short}.{name}[{n}]", t) for n, t in enumerate(value))


def _texts_in_steps() -> Iterator[tuple[str, Text]]:
    for step in STEPS:
        for field in ("question", "hint", "summary_label"):
            text = getattr(step, field)
            if text is not None:
                yield f"{step.name}.{field}", text
        for choice in step.choices:
            yield f"{step.name}.choice {choice.number}", choice.label
        for value, follow_up in step.follow_ups.items():
            yield from ((f"{step.name}.follow_up {value}[{n}]", t) for n, t in enumerate(follow_up))


def _all_texts() -> dict[str, Text]:
    """Every Text of the intake by where it lives; an alias (HELP) counts once."""
    found: dict[str, Text] = {}
    seen: set[int] = set()
    for where, text in itertools.chain(_texts_in_steps(), _texts_in(script), _texts_in(messages)):
        if id(text) not in seen:
            seen.add(id(text))
            found[where] = text
    return found


def test_the_scan_finds_every_message_and_every_step_text() -> None:
    found = {id(text) for text in _all_texts().values()}
    listed = [text for message in messages.ALL_MESSAGES.values() for text in message]
    singles = [messages.DID_YOU_MEAN, messages.TAKEN, messages.SKIPPED, script.DANGER_GUIDANCE]
    assert {id(text) for text in listed + singles} <= found
    assert len(found) > 100


def test_every_text_covers_every_language_with_words() -> None:
    for where, text in _all_texts().items():
        assert set(text) == set(Language), where
        for language in Language:
            words = text[language]
            assert words and words.strip() == words and re.search(r"\w", words), where
            assert set(re.findall(r"\{(\w*)\}", words)) <= PLACEHOLDERS, where


def test_english_texts_never_need_ucs2() -> None:
    # A curly quote or a dash would silently cost every English message half its room.
    for where, text in _all_texts().items():
        assert encoding(text[Language.EN]) is Encoding.GSM7, (where, text[Language.EN])


def test_spanish_is_actually_spanish() -> None:
    same = {text[Language.EN] for text in _all_texts().values() if len(set(text.values())) == 1}
    # Only the names of the languages and a bare "No" read the same in both.
    assert same <= {"English", "Español", "No"}, same


# Every SMS the intake can send, in one language, by name


def _longest_multi_value(step: Step, language: Language) -> str:
    """The selection of options whose labels read longest when echoed back."""
    combinations = (
        NEEDS_SEPARATOR.join(c.value for c in chosen)
        for size in range(1, len(step.choices) + 1)
        for chosen in itertools.combinations(step.choices, size)
    )
    return max(combinations, key=lambda value: _cost(render.taken(step, value, language).text))


def _longest_label(step: Step, language: Language) -> str:
    return max(step.choices, key=lambda c: _cost(c.label.in_language(language))).value


def _cost(text: str) -> tuple[int, int]:
    return segment_count(text), len(text)


def _fixed_messages(language: Language) -> Iterator[tuple[str, str]]:
    # Every part of every multi-part message, found by scanning (ALL_MESSAGES may miss
    # one). A single Text is a fragment (a heading, "or", a label), measured inside what
    # it builds, except these two, which are sent alone.
    for where, text in _texts_in(messages):
        if where.endswith("]"):
            yield (
                where,
                text.in_language(language).format(
                    reference=REFERENCE,
                    wait=LONGEST_WAIT[language],
                    crisis_line="+1 800 555 0199",
                ),
            )
    yield "messages.PICK_ONE_FIRST", messages.PICK_ONE_FIRST.in_language(language)
    yield "script.DANGER_GUIDANCE", script.DANGER_GUIDANCE.in_language(language)


def _questions_and_hints(language: Language) -> Iterator[tuple[str, str]]:
    for step in ASKING_STEPS:
        yield f"{step.name} question", render.question(step, language, version=1).text
        for failures in (1, 3):
            hint = render.hint(step, language, failures=failures).text
            yield f"{step.name} hint after {failures} failures", hint


def _confirmations(language: Language) -> Iterator[tuple[str, str]]:
    for step in CHOICE_STEPS:
        values = [choice.value for choice in step.choices]
        if step.kind is Kind.MULTI:
            values.append(_longest_multi_value(step, language))
        for value in values:
            for n, reply in enumerate(render.did_you_mean(step, value, language, version=1)):
                yield f"{step.name} did you mean {value} [{n}]", reply.text
        if step.kind is Kind.MULTI:
            value = values[-1]
            yield f"{step.name} got it: {value}", render.taken(step, value, language).text


def _unclear_safety(language: Language) -> Iterator[tuple[str, str]]:
    # What the engine sends after an unclear "are you safe", one SMS per reply.
    for n, reply in enumerate(render.say(messages.SAFETY_CHECK, language)):
        yield f"SAFETY_CHECK[{n}]", reply.text
    yield "SAFETY_CHECK danger guidance", script.DANGER_GUIDANCE.in_language(language)
    yield (
        "SAFETY_CHECK question again",
        render.question(STEP_BY_NAME[SAFE_NOW], language, version=2).text,
    )


def _longest_summary(language: Language, *, free_text: str) -> Iterator[tuple[str, str]]:
    answers = {step.name: _longest_label(step, language) for step in CHOICE_STEPS}
    answers[script.NEEDS] = _longest_multi_value(STEP_BY_NAME[script.NEEDS], language)
    answers[script.HOUSEHOLD] = str(script.HOUSEHOLD_MAX)
    for step in STEPS:
        if step.kind is Kind.FREE_TEXT:
            answers[step.name] = free_text
    answered = [step.name for step in STEPS if step.name in answers]
    parts = render.summary(answers, answered, language)
    # Only a summary listing every answer, free text at its full shortening, is the longest.
    listed = render.summary_steps(answers, answered)
    assert listed == [step.name for step in STEPS if step.summary_label is not None]
    lines = [line for part in parts for line in part.text.splitlines()]
    for number, name in enumerate(listed, start=1):
        step = STEP_BY_NAME[name]
        assert step.summary_label is not None
        prefix = f"{number} {step.summary_label.in_language(language)}: "
        (line,) = [line for line in lines if line.startswith(prefix)]
        if step.kind is Kind.FREE_TEXT:
            assert len(line.removeprefix(prefix)) == render.SUMMARY_TEXT_LIMIT, line
    for n, part in enumerate(parts, start=1):
        yield f"summary with {free_text[0]} free text, part {n} of {len(parts)}", part.text


# The witness's own words, longer than the summary keeps and with no space to end a word on,
# so each is shown at the full limit: plain GSM-7, GSM-7 characters that cost two units,
# and emoji, which make a message UCS-2 and cost two units each.
FREE_TEXTS = ("x" * 100, "€" * 100, "🙏" * 100)


def _every_sms(language: Language) -> Iterator[tuple[str, str]]:
    yield from _fixed_messages(language)
    yield from _questions_and_hints(language)
    yield from _confirmations(language)
    yield from _unclear_safety(language)
    for free_text in FREE_TEXTS:
        yield from _longest_summary(language, free_text=free_text)


@pytest.mark.parametrize("language", list(Language))
def test_every_sms_the_intake_can_send_fits_in_two_segments(language: Language) -> None:
    sent = list(_every_sms(language))
    names = {name for name, _ in sent}
    for expected in (
        "messages.WELCOME[1]",
        "messages.HELP_TELEGRAM[1]",
        "messages.HELP_TERMINAL[1]",
    ):
        assert expected in names
    too_long = [
        f"{name}: {segment_count(text)} segments ({encoding(text)}, {len(text)} chars): {text!r}"
        for name, text in sent
        if segment_count(text) > MAX_PROMPT_SEGMENTS
    ]
    assert not too_long, "\n".join(too_long)


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
            assert segment_count(reply.text) <= MAX_PROMPT_SEGMENTS, reply.text


# The graph


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


def test_every_answer_in_the_summary_has_a_label() -> None:
    for step in STEPS:
        # A step filling another's answer (the fast path's contact) shows under that one.
        own = step.kept_in_answers and step.answer_key is None
        assert (step.summary_label is not None) == own, step.name


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


# Option phrases that are also a keyword: the keyword is read first and does what the
# option would, so the phrase is harmless (ENGLISH at the language question chooses
# English).
SAME_AS_KEYWORD = {
    (LANGUAGE, Language.EN.value): Keyword.ENGLISH,
    (LANGUAGE, Language.ES.value): Keyword.SPANISH,
}


@pytest.mark.parametrize("language", list(Language))
def test_every_option_has_phrases_in_the_lexicon_of_each_language(language: Language) -> None:
    options = LEXICONS[language].options
    for step in CHOICE_STEPS:
        assert {c.value for c in step.choices} <= set(options.get(step.name, {})), step.name


def test_option_phrases_are_unambiguous_and_not_keywords() -> None:
    keywords = {word: kw for lexicon in LEXICONS.values() for word, kw in lexicon.keywords.items()}
    assert all(" " not in word for word in keywords)
    for lexicon in LEXICONS.values():
        for step, table in lexicon.options.items():
            for (a, a_phrases), (b, b_phrases) in itertools.combinations(table.items(), 2):
                assert not a_phrases & b_phrases, (lexicon.language, step, a, b)
            for value, phrases in table.items():
                for phrase in phrases:
                    # "=ya": the phrase matches only as the whole answer, like a keyword.
                    keyword = keywords.get(phrase.removeprefix("="))
                    allowed = SAME_AS_KEYWORD.get((step, value))
                    assert keyword is None or keyword is allowed, (step, value, phrase, keyword)


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
        "location",
        "role",
        "needs",
        "move_where",
        "household",
        "how_soon",
        "contact",
        "safe_times",
        "story",
        "code_word",
        "duress_word",
    )


@pytest.mark.parametrize(
    ("language", "keywords"),
    [(Language.EN, ("STOP", "HELP", "DELETE")), (Language.ES, ("ALTO", "AYUDA", "BORRAR"))],
)
def test_the_welcome_names_the_program_and_the_emergency_number(
    language: Language, keywords: tuple[str, ...]
) -> None:
    welcome = "\n".join(r.text for r in render.say(messages.WELCOME, language))

    assert script.PROGRAM_NAME in welcome and script.EMERGENCY_NUMBER in welcome
    for keyword in keywords:
        assert keyword in welcome
