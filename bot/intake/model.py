"""The values the conversation engine reads and returns; no transport, no storage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from storage.states import CaseStatus as CaseStatus
from storage.states import Language as Language
from storage.states import Priority as Priority

if TYPE_CHECKING:
    from bot.intake.messages import Message


class Press(StrEnum):
    """What a button does: pick one option, toggle one of several, or finish a selection."""

    PICK = "p"
    TOGGLE = "t"
    DONE = "d"


@dataclass(frozen=True)
class Button:
    """A pressed button, bound to the question (step and version) it was shown under."""

    press: Press
    step: str
    version: int
    number: int = 0


@dataclass(frozen=True)
class Inbound:
    """One message from a witness, already stripped of everything but its text."""

    text: str
    language_hint: Language | None = None
    has_media: bool = False
    button: Button | None = None


@dataclass(frozen=True)
class Context:
    """What the engine may know of the world: a reference, the case, the channel and the time.

    `now` comes from the caller's clock (tests control it); without it, no message is
    ever read as part of a burst.
    """

    new_reference: str
    case_status: CaseStatus | None = None
    # HELP's words on who can see this channel (None: the SMS wording), and whether EXIT
    # empties the witness's chat itself (then no last word is sent into it).
    help: Message | None = None
    exit_empties_chat: bool = False
    now: datetime | None = None
    burst_seconds: float = 0.0
    # When the open case is due an answer, and how long a new one of each priority waits
    # (minutes); both let the witness be told when to expect a reply.
    case_due_at: datetime | None = None
    due_by_priority: Mapping[Priority, datetime] = field(default_factory=dict)
    # A civilian 24/7 line offered beside 911, when the program has one.
    crisis_line: str | None = None
    # The case's caseworker wrote recently: no automatic "got it" to each message.
    in_conversation: bool = False


@dataclass(frozen=True)
class Option:
    """A choice the witness can make; SMS shows the number, Telegram a button."""

    number: int
    label: str


@dataclass(frozen=True)
class Prompt:
    """The question a reply asks, so buttons can be bound to it (and refused once it closes)."""

    step: str
    version: int
    multi: bool = False
    selected: tuple[int, ...] = ()
    done_label: str = ""


@dataclass(frozen=True)
class Reply:
    text: str
    options: tuple[Option, ...] = ()
    prompt: Prompt | None = None


@dataclass(frozen=True)
class CaseOpened:
    """The witness confirmed the intake: open a case with these facts."""

    reference: str
    queue: str
    priority: Priority
    language: Language
    needs: tuple[str, ...]
    answers: dict[str, str]
    triage: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseAmended:
    """The witness changed a case still open (RESTART, or the questions after a fast path)."""

    reference: str
    queue: str
    priority: Priority
    needs: tuple[str, ...]
    answers: dict[str, str]
    triage: tuple[str, ...] = ()


@dataclass(frozen=True)
class WitnessWrote:
    """A message after intake, to be appended to the witness's case."""

    reference: str


@dataclass(frozen=True)
class DangerReported:
    """A message signalled danger: the case goes urgent, to the head of its queue, and
    staff are alerted. `reasons` are short labels, never the witness's words."""

    reasons: tuple[str, ...]


@dataclass(frozen=True)
class QuietRequested:
    """EXIT: keep the case, send nothing until the witness writes again."""


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


Event = (
    CaseOpened
    | CaseAmended
    | WitnessWrote
    | DangerReported
    | QuietRequested
    | OptedOut
    | OptedIn
    | EraseConfirmed
    | LanguageChosen
)


@dataclass(frozen=True)
class LastAnswer:
    """The answer most recently taken, kept so a burst of texts can continue it."""

    step: str
    text: str
    at: datetime
    # Whether the witness was changing an answer from the summary when they gave it.
    editing: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "text": self.text,
            "at": self.at.isoformat(),
            "editing": self.editing,
        }

    @classmethod
    def from_dict(cls, data: Any) -> LastAnswer | None:
        if not isinstance(data, dict):
            return None
        try:
            at = datetime.fromisoformat(data["at"])
            return cls(str(data["step"]), str(data["text"]), at, bool(data.get("editing")))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class ConversationState:
    """Where one witness is in the intake; serialisable to JSON through to_dict/from_dict.

    `version` counts the questions asked, so a button bound to an older one is refused.
    `pending` is an answer the engine was unsure of, awaiting "did you mean"; `selection`
    holds the toggles of a multiple choice on buttons; `editing` means the witness came
    from the summary to change one answer; `answered` lists every step answered or
    skipped, so an edit can return to the summary.
    """

    step: str = "start"
    language: Language | None = None
    answers: dict[str, str] = field(default_factory=dict)
    opted_out: bool = False
    confirming_delete: bool = False
    reference: str | None = None
    retries: int = 0
    version: int = 0
    pending: str | None = None
    selection: tuple[int, ...] = ()
    editing: bool = False
    answered: tuple[str, ...] = ()
    last_answer: LastAnswer | None = None
    # The open case this intake will change rather than open a new one.
    amending: bool = False
    # Danger seen in answers before any case exists, kept until the case opens.
    triage: tuple[str, ...] = ()
    # A word that, sent later, means someone is forcing the witness to write.
    duress_word: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "language": self.language.value if self.language else None,
            "answers": dict(self.answers),
            "opted_out": self.opted_out,
            "confirming_delete": self.confirming_delete,
            "reference": self.reference,
            "retries": self.retries,
            "version": self.version,
            "pending": self.pending,
            "selection": list(self.selection),
            "editing": self.editing,
            "answered": list(self.answered),
            "last_answer": self.last_answer.to_dict() if self.last_answer else None,
            "amending": self.amending,
            "triage": list(self.triage),
            "duress_word": self.duress_word,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        language = data.get("language")
        pending = data.get("pending")
        return cls(
            step=str(data.get("step", "start")),
            language=Language(language) if language else None,
            answers={str(k): str(v) for k, v in dict(data.get("answers", {})).items()},
            opted_out=bool(data.get("opted_out", False)),
            confirming_delete=bool(data.get("confirming_delete", False)),
            reference=data.get("reference"),
            retries=int(data.get("retries", 0)),
            version=int(data.get("version", 0)),
            pending=str(pending) if pending is not None else None,
            selection=tuple(int(n) for n in data.get("selection", ())),
            editing=bool(data.get("editing", False)),
            answered=tuple(str(s) for s in data.get("answered", ())),
            last_answer=LastAnswer.from_dict(data.get("last_answer")),
            amending=bool(data.get("amending", False)),
            triage=tuple(str(label) for label in data.get("triage", ())),
            duress_word=str(duress) if (duress := data.get("duress_word")) else None,
        )


@dataclass(frozen=True)
class Turn:
    """What one inbound message did: the new state, what to say back, what to record."""

    state: ConversationState
    replies: tuple[Reply, ...]
    events: tuple[Event, ...] = ()
