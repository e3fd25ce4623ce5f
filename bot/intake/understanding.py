"""What an answer to each intake question means: understood, unsure, or not understood.

Every question is read by one function here, on the mechanics in reading.py and the
words in lexicon/. The engine decides what to do with the outcome: take it, confirm it
in one short question, or ask again with a hint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.intake.lexicon import Lexicon
from bot.intake.model import Language
from bot.intake.reading import (
    CALL,
    MOVE,
    MOVE_NOW,
    MOVE_PERMANENT,
    NO,
    NOT_UNDERSTOOD,
    YES,
    Mentions,
    Reading,
    Span,
    Token,
    book,
    lexicons_for,
    mentions,
    number_of,
    picked_numbers,
    rules,
    spans,
    tokens,
    understood,
    unsure,
    words_only,
)
from bot.intake.script import (
    CONTACT,
    HOUSEHOLD_MAX,
    HOUSEHOLD_MIN,
    LANGUAGE,
    NEEDS_SEPARATOR,
    SAFE_NOW,
    Kind,
    Step,
)
from bot.intake.triage import danger_words

DID_YOU_MEAN = "did_you_mean"
CONFIRM_STEP = "confirm"
SEND, START_OVER, CHANGE = "send", "start_over", "change:"
SKIPPED = ""  # a free-text question declined


def read(step: Step, text: str, language: Language | None) -> Reading:
    """What `text` answers to `step`."""
    found = tokens(text)
    if len(words_only(found)) > 40 and step.kind is not Kind.FREE_TEXT:
        return NOT_UNDERSTOOD
    if step.kind is Kind.FREE_TEXT:
        return _free_text(text, found, language)
    if step.kind is Kind.COUNT:
        return read_count(found, language)
    if step.name == SAFE_NOW:
        return _safe_now(text, found, language)
    if step.kind is Kind.MULTI:
        return _several(step, found, language)
    return _one(step, found, language)


# One option


def _one(step: Step, found: Sequence[Token], language: Language | None) -> Reading:
    said = mentions(found, step.name, language)
    values = set(said.positive - said.negative)
    numbers = picked_numbers(found, said.spans, language)
    if numbers is not None:
        by_number = {c.number: c.value for c in step.choices}
        if any(n not in by_number for n in numbers):
            return NOT_UNDERSTOOD
        values |= {by_number[n] for n in numbers}
    if len(values) != 1:
        return _left_over(step, said) if not values else NOT_UNDERSTOOD
    (value,) = values
    sure = not said.hedged
    if step.name == CONTACT and value == CALL:
        # Consent to a call is taken only when said plainly.
        sure = sure and not said.fuzzy and CALL not in said.negative
    if step.name == LANGUAGE and numbers is not None:
        # "uno" (a Spanish word) picking English is more likely a slip than a choice.
        sure = sure and all(_number_language(t) in (None, value) for t in found)
    return Reading(value, sure=sure)


def _number_language(token: Token) -> str | None:
    """The language a number word is written in; None for digits and other words."""
    if token.kind == "number":
        return None
    for lexicon in lexicons_for(None):
        if token.text in lexicon.numbers:
            return lexicon.language.value
    return None


def _left_over(step: Step, said: Mentions) -> Reading:
    """Only refusals: "not out of state" leaves one option on a list of two others."""
    if not said.negative or step.name == CONTACT:
        return NOT_UNDERSTOOD
    rest = [c.value for c in step.choices if c.value not in said.negative]
    return unsure(rest[0]) if len(rest) == 1 else NOT_UNDERSTOOD


# Several options


def _several(step: Step, found: Sequence[Token], language: Language | None) -> Reading:
    said = mentions(found, step.name, language)
    numbers = picked_numbers(found, said.spans, language)
    chosen = set(said.positive)
    by_number = {c.number: c.value for c in step.choices}
    if numbers is not None:
        # "13" on a list of six can only mean 1 and 3.
        numbers = [
            int(digit) if n not in by_number else n
            for n in numbers
            for digit in (str(n) if n not in by_number else "0")
        ]
        if any(n not in by_number for n in numbers):
            return NOT_UNDERSTOOD
        chosen |= {by_number[n] for n in numbers}
    refused = set(said.negative)
    if MOVE in refused:
        refused |= {MOVE_NOW, MOVE_PERMANENT} - chosen
    chosen -= refused
    if MOVE in chosen:
        chosen.discard(MOVE)
        if MOVE_PERMANENT not in chosen:
            chosen.add(MOVE_NOW)
    values = [c.value for c in step.choices if c.value in chosen]
    if not values:
        return NOT_UNDERSTOOD
    return Reading(NEEDS_SEPARATOR.join(values), sure=not said.hedged)


# Yes or no


def _safe_now(text: str, found: Sequence[Token], language: Language | None) -> Reading:
    """Safe only when plainly so; anything else is not safe, to be confirmed."""
    said = mentions(found, SAFE_NOW, language, yes_no=True)
    numbers = picked_numbers(found, said.spans, language)
    positive = set(said.positive)
    if YES in said.negative:
        positive.add(NO)
    if numbers is not None:
        if any(n not in (1, 2) for n in numbers):
            return unsure(NO)
        positive |= {YES if n == 1 else NO for n in numbers}
    grammar = rules(language)
    doubt = said.hedged or said.fuzzy or NO in said.negative
    doubt = doubt or any(t.text in grammar.boundaries for t in found)
    if positive == {NO}:
        return Reading(NO, sure=not said.hedged)
    if positive == {YES} and not doubt and not danger_words(text):
        return understood(YES)
    if not positive and danger_words(text):
        return understood(NO)
    return unsure(NO)


def read_yes_no(text: str, language: Language | None) -> Reading:
    """The answer to "did you mean ...? 1 Yes 2 No"."""
    found = tokens(text)
    said = mentions(found, DID_YOU_MEAN, language, yes_no=True)
    positive = set(said.positive)
    if YES in said.negative:
        positive.add(NO)
    numbers = picked_numbers(found, said.spans, language)
    if numbers is not None:
        positive |= {YES if n == 1 else NO if n == 2 else "?" for n in numbers}
    if said.hedged or len(positive) != 1 or "?" in positive:
        return NOT_UNDERSTOOD
    return understood(positive.pop())


# Free text


def _free_text(text: str, found: Sequence[Token], language: Language | None) -> Reading:
    said = " ".join(t.text for t in found if t.kind != "mark")
    declined = any(said in lex.declines for lex in lexicons_for(language))
    if declined:
        return understood(SKIPPED)
    return understood(text) if said or text.strip() else NOT_UNDERSTOOD


# The summary


def read_confirm(text: str, language: Language | None, *, lines: Sequence[str]) -> Reading:
    """Send, start over, or change one answer ("change 4", "fix the people one"): the value
    is "send", "start_over" or "change:<step>" for a step among the summary's `lines`."""
    found = tokens(text)
    change = _change(found, language, lines)
    if change is not None:
        return change
    said = mentions(found, CONFIRM_STEP, language, yes_no=True)
    values = set(said.positive - said.negative)
    numbers = picked_numbers(found, said.spans, language)
    if numbers is not None:
        values |= {SEND if n == 1 else START_OVER if n == 2 else "?" for n in numbers}
    if len(values) != 1 or said.hedged or values & {"?", NO}:
        return NOT_UNDERSTOOD
    return understood(values.pop())


def _change(
    found: Sequence[Token], language: Language | None, lines: Sequence[str]
) -> Reading | None:
    """A request to change one answer, by its number or its name; None if it is none."""
    lexicons = lexicons_for(language)
    asked = sorted(
        (s for lex in lexicons for s in spans(found, book("change", lex.change_words), language)),
        key=lambda span: span.start,
    )
    if not asked:
        return None
    named: list[Span] = []
    for step in lines:
        for lex in lexicons:
            named += spans(found, book(step, lex.step_names.get(step, frozenset())), language)
    steps = {s.meaning for s in named}
    if len(steps) == 1:
        return understood(CHANGE + steps.pop())
    after = asked[0].end
    for token in found[after : after + 2]:
        number = number_of(token, language)
        if number is not None and token.kind == "number" or number is not None and not steps:
            if 1 <= number <= len(lines):
                return understood(CHANGE + lines[number - 1])
            return NOT_UNDERSTOOD
    numbers = [n for n in (number_of(t, language) for t in found) if n is not None]
    if len(numbers) == 1 and 1 <= numbers[0] <= len(lines) and not steps:
        return understood(CHANGE + lines[numbers[0] - 1])
    return NOT_UNDERSTOOD


# How many people


@dataclass
class _Tally:
    people: int = 0
    self_named: bool = False


def read_count(found: Sequence[Token], language: Language | None) -> Reading:
    """How many people, the witness always included: "me and my 2 kids" is 3, "somos 4" is 4,
    "my wife and 4 kids" is 6. A vague or conditional answer is not a count."""
    lexicons = lexicons_for(language)
    people = [lex.people for lex in lexicons]
    grammar = rules(language)
    words = [t for t in found if t.kind != "mark"]
    if not words:
        return NOT_UNDERSTOOD
    numbers = [
        (i, n)
        for i, n in ((i, number_of(t, language)) for i, t in enumerate(words))
        if n is not None
    ]
    if any(not HOUSEHOLD_MIN <= n <= HOUSEHOLD_MAX for _, n in numbers):
        return NOT_UNDERSTOOD
    texts = [t.text for t in words]

    def phrases_in(group_name: str) -> list[Span]:
        found: list[Span] = []
        for group in people:
            found += spans(words, book(group_name, getattr(group, group_name)), language)
        return found

    vague = phrases_in("vague")
    own = {word for group in people for word in group.self_words}
    significant = [
        t
        for t in texts
        if t in own or (t not in grammar.fillers and t not in grammar.function_words)
    ]
    tally = _tally(words, numbers, lexicons, language)
    if not numbers and phrases_in("alone") and tally is not None and tally.people == 0:
        return understood("1")
    totals = _totals(words, numbers, phrases_in("total_before"), phrases_in("total_after"))
    excluded = [n for i, n in numbers if any(s.start == i + 1 for s in phrases_in("excluding"))]
    if len(set(totals)) > 1 or (vague and len(numbers) != 1) or len(numbers) > 3:
        return NOT_UNDERSTOOD
    if totals:
        return Reading(str(totals[0]), sure=not vague)
    if excluded and len(numbers) == 1:
        return _count(excluded[0] + 1, vague=bool(vague))
    if len(numbers) == 1 and len(significant) == 1:
        return _count(numbers[0][1], vague=bool(vague))
    if tally is None:
        return NOT_UNDERSTOOD
    if tally.people == 0:
        if len(numbers) == 1 and tally.self_named:
            return _count(numbers[0][1] + 1, vague=bool(vague))
        return NOT_UNDERSTOOD
    return _count(tally.people + 1, vague=bool(vague))


def _count(number: int, *, vague: bool) -> Reading:
    if not HOUSEHOLD_MIN <= number <= HOUSEHOLD_MAX:
        return NOT_UNDERSTOOD
    return Reading(str(number), sure=not vague)


def _totals(
    words: Sequence[Token],
    numbers: Sequence[tuple[int, int]],
    before: Sequence[Span],
    after: Sequence[Span],
) -> list[int]:
    """Numbers said as everyone: "somos 4", "4 of us", "family of 5", "6 en total"."""
    found = []
    for index, number in numbers:
        if any(s.end == index for s in before) or any(s.start == index + 1 for s in after):
            found.append(number)
    return found


def _tally(
    words: Sequence[Token],
    numbers: Sequence[tuple[int, int]],
    lexicons: Sequence[Lexicon],
    language: Language | None,
) -> _Tally | None:
    """Everyone named besides the witness; None when a group is named without its number."""
    own = lexicons[0]
    tally = _Tally()
    used: set[int] = set()
    groups: dict[str, int | None] = {}
    for index, token in enumerate(words):
        kind = _person_kind(token.text, lexicons, own)
        if kind == "self_words" or (kind == "with_words" and index + 1 < len(words)):
            tally.self_named = True
        elif kind == "one":
            tally.people += 1
        elif kind == "two":
            tally.people += 2
        elif kind == "group":
            # "my kids ... 2 kids" names one group twice.
            number = _number_near(index, numbers, used)
            if groups.get(token.text) is None:
                groups[token.text] = number
    free = [n for i, n in numbers if i not in used]
    uncounted = [word for word, number in groups.items() if number is None]
    tally.people += sum(number for number in groups.values() if number is not None)
    if uncounted:
        if len(uncounted) == 1 and len(free) == 1:
            tally.people += free[0]
            return tally
        return None
    if free and tally.people:
        return None
    return tally


def _person_kind(word: str, lexicons: Sequence[Lexicon], own: Lexicon) -> str | None:
    for lex in lexicons:
        if lex is not own and (word in own.common or word in own.function_words):
            return None
        for kind in ("self_words", "with_words", "two", "one", "group"):
            if word in getattr(lex.people, kind):
                return kind
    return None


def _number_near(index: int, numbers: Sequence[tuple[int, int]], used: set[int]) -> int | None:
    """The number saying how many of a group: "my 2 kids", "2 of my kids", "kids: 2"."""
    for position, number in numbers:
        if position in used:
            continue
        if index - 3 <= position < index or position == index + 1:
            used.add(position)
            return number
    return None
