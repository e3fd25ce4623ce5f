"""The values the conversation engine reads and returns; no transport, no storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Language(StrEnum):
    EN = "en"
    ES = "es"


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


class CaseStatus(StrEnum):
    WAITING = "waiting"
    CLAIMED = "claimed"
    CLOSED = "closed"


@dataclass(frozen=True)
class Inbound:
    """One message from a witness, already stripped of everything but its text."""

    text: str
    language_hint: Language | None = None
    has_media: bool = False


@dataclass(frozen=True)
class Context:
    """What the engine may know of the world: a fresh random reference and the case status."""

    new_reference: str
    case_status: CaseStatus | None = None


@dataclass(frozen=True)
class Option:
    """A choice the witness can make; SMS shows the number, Telegram a button."""

    number: int
    label: str


@dataclass(frozen=True)
class Reply:
    text: str
    options: tuple[Option, ...] = ()


@dataclass(frozen=True)
class CaseOpened:
    """The witness confirmed the intake: open a case with these facts."""

    reference: str
    queue: str
    priority: Priority
    language: Language
    needs: tuple[str, ...]
    answers: dict[str, str]


@dataclass(frozen=True)
class WitnessWrote:
    """A message after intake, to be appended to the witness's case."""

    reference: str


@dataclass(frozen=True)
class OptedOut:
    """The witness asked for no further messages."""


@dataclass(frozen=True)
class OptedIn:
    """The witness asked to receive messages again."""


@dataclass(frozen=True)
class EraseConfirmed:
    """The witness confirmed DELETE: destroy everything about them."""


@dataclass(frozen=True)
class LanguageChosen:
    language: Language


Event = CaseOpened | WitnessWrote | OptedOut | OptedIn | EraseConfirmed | LanguageChosen


@dataclass(frozen=True)
class ConversationState:
    """Where one witness is in the intake; serialisable to JSON through to_dict/from_dict."""

    step: str = "start"
    language: Language | None = None
    answers: dict[str, str] = field(default_factory=dict)
    opted_out: bool = False
    confirming_delete: bool = False
    reference: str | None = None
    retries: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "language": self.language.value if self.language else None,
            "answers": dict(self.answers),
            "opted_out": self.opted_out,
            "confirming_delete": self.confirming_delete,
            "reference": self.reference,
            "retries": self.retries,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        language = data.get("language")
        return cls(
            step=str(data.get("step", "start")),
            language=Language(language) if language else None,
            answers={str(k): str(v) for k, v in dict(data.get("answers", {})).items()},
            opted_out=bool(data.get("opted_out", False)),
            confirming_delete=bool(data.get("confirming_delete", False)),
            reference=data.get("reference"),
            retries=int(data.get("retries", 0)),
        )


@dataclass(frozen=True)
class Turn:
    """What one inbound message did: the new state, what to say back, what to record."""

    state: ConversationState
    replies: tuple[Reply, ...]
    events: tuple[Event, ...] = ()
