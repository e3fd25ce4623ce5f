"""Turning script data into replies: numbered options for SMS, the same options for buttons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.intake import messages
from bot.intake.messages import Message
from bot.intake.model import Language, Option, Reply
from bot.intake.script import STEPS, Kind, Step, Text
from bot.intake.sms import fits


def say(message: Message, language: Language, *, reference: str = "") -> tuple[Reply, ...]:
    """A fixed message as replies, one per SMS."""
    return tuple(
        Reply(text=text.in_language(language).format(reference=reference)) for text in message
    )


def numbers_phrase(numbers: Sequence[int], language: Language) -> str:
    """ "1, 2 or 3" / "1, 2 o 3"."""
    shown = [str(n) for n in numbers]
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} {messages.OR_WORD.in_language(language)} {shown[-1]}"


def question(step: Step, language: Language) -> Reply:
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
    return Reply(text="\n".join(lines), options=options)


def hint(step: Step, language: Language, *, failures: int) -> Reply:
    """What to say after an unclear answer; after a few, a plainer hint."""
    text: Text | None = step.hint
    if failures > 2 and step.kind is not Kind.FREE_TEXT:
        text = messages.SIMPLE_NUMBER_HINT
    return Reply(text=(text or messages.SIMPLE_NUMBER_HINT).in_language(language))


def answer_shown(step: Step, value: str, language: Language) -> str:
    """An answer as the witness would read it: option labels, not stored values."""
    if step.kind is Kind.MULTI:
        chosen = {part.strip() for part in value.split(",")}
        return ", ".join(c.label.in_language(language) for c in step.choices if c.value in chosen)
    for choice in step.choices:
        if choice.value == value:
            return choice.label.in_language(language)
    return value


def summary(answers: Mapping[str, str], language: Language) -> tuple[Reply, ...]:
    """The answers to check before sending, packed into as few two-segment messages as fit."""
    lines = [
        f"{step.summary_label.in_language(language)}: "
        f"{answer_shown(step, answers[step.name], language)}"
        for step in STEPS
        if step.summary_label is not None and step.name in answers
    ]
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
