"""The intake answers in plain words, for the caseworker reading a case (in English)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.intake.model import Language
from bot.intake.script import NEEDS_SEPARATOR, STEP_BY_NAME, STEPS, Kind

# Caseworkers read fuller labels than the witness's summary shows for free-text answers.
_EXTRA_LABELS = {
    "safe_times": "Safe times to contact",
    "story": "What happened / what they need",
    "code_word": "Code word",
}


def describe_answers(answers: Mapping[str, str]) -> list[tuple[str, str]]:
    """(label, words) for every answer, in the order the intake asks them."""
    lines = []
    for step in STEPS:
        if step.name not in answers:
            continue
        value = answers[step.name]
        label = _EXTRA_LABELS.get(step.name)
        if label is None and step.summary_label is not None:
            label = step.summary_label.in_language(Language.EN)
        label = label or step.name.replace("_", " ").capitalize()
        lines.append((label, _words(step.name, value)))
    return lines


def _words(step_name: str, value: str) -> str:
    step = STEP_BY_NAME[step_name]
    if not step.choices:
        return value
    labels = {c.value: c.label.in_language(Language.EN) for c in step.choices}
    if step.kind is Kind.MULTI:
        return "; ".join(labels.get(v, v) for v in value.split(NEEDS_SEPARATOR) if v)
    return labels.get(value, value)
