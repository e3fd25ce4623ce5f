"""A witness talking to the engine, one message at a time, for the engine's tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.intake.engine import advance
from bot.intake.model import (
    CaseOpened,
    CaseStatus,
    Context,
    ConversationState,
    Inbound,
    Language,
    Turn,
)

REFERENCE = "ABCD-EFGH"
EventT = TypeVar("EventT")


@dataclass
class Chat:
    reference: str = REFERENCE
    language_hint: Language | None = None
    case_status: CaseStatus | None = None
    state: ConversationState | None = None
    turns: list[Turn] = field(default_factory=list)

    def send(self, text: str = "", *, media: bool = False) -> Turn:
        turn = advance(
            self.state,
            Inbound(text=text, language_hint=self.language_hint, has_media=media),
            Context(new_reference=self.reference, case_status=self.case_status),
        )
        self.state = turn.state
        self.turns.append(turn)
        return turn

    def walk(self, *texts: str) -> Turn:
        for text in texts:
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
    confirm: str | None = "1",
) -> list[str]:
    """The messages of one whole intake; `where` and `household` only for a move."""
    parts: list[Any] = [first, language, safe, role, needs, where, household, soon, contact]
    parts += [safe_times, story, code_word, confirm]
    return [part for part in parts if part is not None]
