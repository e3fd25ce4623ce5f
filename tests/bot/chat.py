"""A witness talking to the engine, one message at a time, for the engine's tests."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot.intake import messages
from bot.intake.engine import advance
from bot.intake.messages import Message
from bot.intake.model import (
    Button,
    CaseOpened,
    CaseStatus,
    Context,
    ConversationState,
    Inbound,
    Language,
    Press,
    Priority,
    Turn,
)

REFERENCE = "ABCD-EFGH"
# What Telegram's channel tells the engine (handlers/telegram.py declares it).
ON_TELEGRAM: dict[str, Any] = {"help": messages.HELP_TELEGRAM, "exit_empties_chat": True}
EventT = TypeVar("EventT")


@dataclass
class Chat:
    reference: str = REFERENCE
    language_hint: Language | None = None
    case_status: CaseStatus | None = None
    state: ConversationState | None = None
    turns: list[Turn] = field(default_factory=list)
    # The channel's words for HELP, and whether EXIT empties the chat (as on Telegram).
    help: Message | None = None
    exit_empties_chat: bool = False
    # The witness's clock; None sends every text without a time (no bursts).
    now: datetime | None = None
    burst_seconds: float = 5.0
    case_due_at: datetime | None = None
    due_by_priority: dict[Priority, datetime] = field(default_factory=dict)
    crisis_line: str | None = None
    in_conversation: bool = False

    def send(self, text: str = "", *, media: bool = False, button: Button | None = None) -> Turn:
        turn = advance(
            self.state,
            Inbound(text=text, language_hint=self.language_hint, has_media=media, button=button),
            Context(
                new_reference=self.reference,
                case_status=self.case_status,
                help=self.help,
                exit_empties_chat=self.exit_empties_chat,
                now=self.now,
                burst_seconds=self.burst_seconds,
                case_due_at=self.case_due_at,
                due_by_priority=self.due_by_priority,
                crisis_line=self.crisis_line,
                in_conversation=self.in_conversation,
            ),
        )
        self.state = turn.state
        self.turns.append(turn)
        return turn

    def wait(self, seconds: float) -> None:
        assert self.now is not None
        self.now += timedelta(seconds=seconds)

    def press(
        self, number: int = 0, *, kind: Press = Press.PICK, version: int | None = None
    ) -> Turn:
        """Press a button under the current question (or an older one, by `version`)."""
        assert self.state is not None
        button = Button(
            press=kind,
            step=self.state.step,
            version=self.state.version if version is None else version,
            number=number,
        )
        return self.send(button=button)

    def walk(self, *texts: str) -> Turn:
        """Answer one question after another, each after reading the last (a minute apart)."""
        for text in texts:
            if self.now is not None and self.turns:
                self.wait(60)
            turn = self.send(text)
        return turn

    @property
    def step(self) -> str:
        assert self.state is not None
        return self.state.step

    def events(self, kind: type[EventT]) -> list[EventT]:
        return [e for turn in self.turns for e in turn.events if isinstance(e, kind)]

    def case(self) -> CaseOpened:
        (opened,) = self.events(CaseOpened)
        return opened


def essentials(state: ConversationState | None) -> ConversationState | None:
    """A state without its bookkeeping (question versions, answered steps, last answer)."""
    if state is None:
        return None
    return replace(state, version=0, answered=(), last_answer=None)


def text_of(turn: Turn) -> str:
    return "\n".join(reply.text for reply in turn.replies)


def intake(
    *,
    first: str = "hi",
    language: str | None = "1",
    safe: str = "1",
    role: str = "2",
    needs: str = "3",
    where: str | None = None,
    household: str | None = None,
    soon: str = "3",
    contact: str = "1",
    safe_times: str = "SKIP",
    story: str = "SKIP",
    code_word: str = "SKIP",
    duress_word: str = "SKIP",
    confirm: str | None = "1",
) -> list[str]:
    """The messages of one whole intake; `where` and `household` only for a move.

    `safe` is "1": the "not safe now" fast path has its own tests.
    """
    parts: list[Any] = [first, language, safe, role, needs, where, household, soon, contact]
    parts += [safe_times, story, code_word, duress_word, confirm]
    return [part for part in parts if part is not None]
