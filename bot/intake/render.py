"""Turning script data into replies: numbered options for SMS, the same options for buttons."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.intake import messages
from bot.intake.messages import Message
from bot.intake.model import Language, Option, Prompt, Reply
from bot.intake.script import NEEDS_SEPARATOR, STEPS, Kind, Step, Text
from bot.intake.sms import fits

# Free text in the summary is cut to this many characters, so the summary stays short.
SUMMARY_TEXT_LIMIT = 40


def say(message: Message, language: Language, **values: str) -> tuple[Reply, ...]:
    """A fixed message as replies, one per SMS; {reference}, {wait} and the like filled in."""
    filled = {"reference": "", "wait": "", "crisis_line": "", **values}
    return tuple(Reply(text=text.in_language(language).format(**filled)) for text in message)


def wait_phrase(due: datetime | None, now: datetime | None, language: Language) -> str:
    """ "within about 2 hours" until `due`; "as soon as possible" once it has passed."""
    if due is None or now is None or due <= now:
        return messages.WAIT_SOON.in_language(language)
    minutes = math.ceil((due - now).total_seconds() / 60)
    if minutes <= 90:
        text, n = messages.WAIT_MINUTES, max(5, 5 * math.ceil(minutes / 5))
    elif minutes <= 36 * 60:
        text, n = messages.WAIT_HOURS, math.ceil(minutes / 60)
    else:
        text, n = messages.WAIT_DAYS, math.ceil(minutes / (24 * 60))
    return text.in_language(language).format(n=n)


def numbers_phrase(numbers: Sequence[int], language: Language) -> str:
    """ "1, 2 or 3" / "1, 2 o 3"."""
    shown = [str(n) for n in numbers]
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} {messages.OR_WORD.in_language(language)} {shown[-1]}"


def question(
    step: Step, language: Language, *, version: int, selected: tuple[int, ...] = ()
) -> Reply:
    """The step's question; options are listed in the text for SMS and attached for buttons."""
    asked = step.question.in_language(language) if step.question else ""
    options = tuple(Option(c.number, c.label.in_language(language)) for c in step.choices)
    lines = [asked]
    if step.kind is Kind.CHOICE:
        numbers = numbers_phrase([c.number for c in step.choices], language)
        lines.append(messages.CHOICE_INSTRUCTION.in_language(language).format(numbers=numbers))
    if step.kind is Kind.FREE_TEXT:
        lines = [f"{asked} {messages.SKIP_INSTRUCTION.in_language(language)}"]
    lines.extend(f"{option.number} {option.label}" for option in options)
    prompt = Prompt(
        step=step.name,
        version=version,
        multi=step.kind is Kind.MULTI,
        selected=selected,
        done_label=messages.DONE_BUTTON.in_language(language) if step.kind is Kind.MULTI else "",
    )
    return Reply(text="\n".join(lines), options=options, prompt=prompt if options else None)


def yes_or_no(asked: str, language: Language, *, step: str, version: int) -> tuple[Reply, ...]:
    """A yes-or-no question about the answer just given, bound like any other question; in
    two messages when one would not fit two SMS segments."""
    options = (
        Option(1, messages.YES_LABEL.in_language(language)),
        Option(2, messages.NO_LABEL.in_language(language)),
    )
    instruction = messages.CHOICE_INSTRUCTION.in_language(language).format(
        numbers=numbers_phrase([1, 2], language)
    )
    choices = [instruction, *(f"{o.number} {o.label}" for o in options)]
    prompt = Prompt(step=step, version=version)
    whole = "\n".join([asked, *choices])
    if fits(whole):
        return (Reply(text=whole, options=options, prompt=prompt),)
    return (Reply(text=asked), Reply(text="\n".join(choices), options=options, prompt=prompt))


def did_you_mean(step: Step, value: str, language: Language, *, version: int) -> tuple[Reply, ...]:
    asked = messages.DID_YOU_MEAN.in_language(language).format(
        answer=answer_shown(step, value, language, joiner=" + ")
    )
    return yes_or_no(asked, language, step=step.name, version=version)


def taken(step: Step, value: str, language: Language) -> Reply:
    """ "Got it: Move somewhere safe for now + Change locks", after a multiple choice."""
    shown = answer_shown(step, value, language, joiner=" + ")
    return Reply(text=messages.TAKEN.in_language(language).format(answer=shown))


def hint(step: Step, language: Language, *, failures: int) -> Reply:
    """What to say after an unclear answer; after a few, a plainer hint."""
    text: Text | None = step.hint
    if failures > 2 and step.kind not in (Kind.FREE_TEXT, Kind.COUNT):
        text = messages.SIMPLE_NUMBER_HINT
    return Reply(text=(text or messages.SIMPLE_NUMBER_HINT).in_language(language))


def answer_shown(step: Step, value: str, language: Language, *, joiner: str = ", ") -> str:
    """An answer as the witness would read it: option labels, not stored values."""
    if step.kind is Kind.MULTI:
        chosen = {part.strip() for part in value.split(NEEDS_SEPARATOR.strip())}
        return joiner.join(c.label.in_language(language) for c in step.choices if c.value in chosen)
    for choice in step.choices:
        if choice.value == value:
            return choice.label.in_language(language)
    return value


def summary_steps(answers: Mapping[str, str], answered: Sequence[str]) -> list[str]:
    """The steps the summary lists, in order; their position is the number to change them."""
    return [
        step.name
        for step in STEPS
        if step.summary_label is not None and (step.name in answers or step.name in answered)
    ]


def _shortened(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) <= SUMMARY_TEXT_LIMIT:
        return flat
    cut = flat[: SUMMARY_TEXT_LIMIT - 3]
    # End on a whole word when there is one to end on.
    words = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return words.rstrip(" ,.;:") + "..."


def summary(
    answers: Mapping[str, str], answered: Sequence[str], language: Language
) -> tuple[Reply, ...]:
    """Every answer, numbered, packed into as few two-segment messages as fit."""
    lines = []
    by_name = {step.name: step for step in STEPS}
    for number, name in enumerate(summary_steps(answers, answered), start=1):
        step = by_name[name]
        label = step.summary_label.in_language(language) if step.summary_label else name
        if name not in answers:
            shown = messages.SKIPPED.in_language(language)
        elif step.kind is Kind.FREE_TEXT:
            shown = _shortened(answers[name])
        else:
            shown = answer_shown(step, answers[name], language)
        lines.append(f"{number} {label}: {shown}")
    parts: list[str] = []
    current = messages.SUMMARY_HEADING.in_language(language)
    for line in lines:
        candidate = f"{current}\n{line}"
        if fits(candidate):
            current = candidate
        else:
            parts.append(current)
            current = line
    parts.append(current)
    return tuple(Reply(text=part) for part in parts)
