"""Floods: a witness who writes faster than anyone reads is still heard, not answered each time.

Past `per_minute` messages in a minute (by the desk's clock) a witness is flooding. Each
message is still stored, attached to their case and triaged, so nothing they write is
lost or left unread; what a flood changes is only what the service sends back, so that
a script texting the number (or a witness in a panic) cannot turn the service into an
amplifier that spends the program's SMS budget and buries everyone else's replies:

- The message that finds the witness flooding is answered once, in their language, "we
  got your messages", and then nothing more until the pace falls back. That takes a
  message that finds at most half `per_minute` in its minute, so a witness writing at
  the limit does not flip in and out of a flood, each time with a new notice and alert.
- Staff are alerted once per flood (with the case, once there is one).
- Danger outranks the flood. Every message is still read for danger, and one that reads
  as danger still makes the case urgent and is audited, whatever the pace. The first such
  message in a flood is handled exactly as outside one: its safety reply (911, the crisis
  line) goes out and staff are alerted. Later ones in the same flood add their labels to
  the case but send no further reply or alert: the witness has the safety steps, staff
  know the case is in danger and it stays urgent at the head of its queue, and a flood of
  danger words cannot page staff or text the witness hundreds of times. The safety reply
  never carries the flood notice with it, so a danger word's disguise ("Sorry, wrong
  number.") is never broken by a message saying who we are.
- Erasure stays within reach: the question DELETE asks ("Reply YES to erase") goes out
  once per flood, and the farewell of an erasure always does (it ends the witness's
  record, this one included).

The record lives in the witness's sealed conversation row, beside the engine's state, so
every process serving the witness shares it (their row is locked while a message is
recorded) and erasure destroys it with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.intake import messages, render
from bot.intake.model import (
    CaseAmended,
    CaseOpened,
    DangerReported,
    EraseConfirmed,
    Language,
    Reply,
    Turn,
)

WINDOW = timedelta(minutes=1)
# The key of the record in the stored conversation; the engine's state never uses it.
STATE_KEY = "flood"


@dataclass(frozen=True)
class FloodWatch:
    """One witness's recent pace, and what the flood in progress (if any) has done already."""

    # When their latest messages arrived, within the window; at most per_minute + 1 kept.
    recent: tuple[datetime, ...] = ()
    # When the flood began; None while they write at an ordinary pace.
    since: datetime | None = None
    noticed: bool = False
    warned: bool = False
    erase_asked: bool = False
    alerted: bool = False

    @property
    def flooding(self) -> bool:
        return self.since is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "recent": [at.isoformat() for at in self.recent],
            "since": self.since.isoformat() if self.since else None,
            "noticed": self.noticed,
            "warned": self.warned,
            "erase_asked": self.erase_asked,
            "alerted": self.alerted,
        }

    @classmethod
    def from_dict(cls, data: Any) -> FloodWatch:
        """The stored record; anything unreadable counts as a quiet witness."""
        if not isinstance(data, dict):
            return cls()
        try:
            since = data.get("since")
            return cls(
                recent=tuple(datetime.fromisoformat(at) for at in data.get("recent", ())),
                since=datetime.fromisoformat(since) if since else None,
                noticed=bool(data.get("noticed")),
                warned=bool(data.get("warned")),
                erase_asked=bool(data.get("erase_asked")),
                alerted=bool(data.get("alerted")),
            )
        except (TypeError, ValueError):
            return cls()


def pace(watch: FloodWatch, *, now: datetime, per_minute: int) -> FloodWatch:
    """The record after one more message at `now`: a flood begins above `per_minute`
    messages in a minute and ends with a message that finds at most half that many."""
    recent = (*(at for at in watch.recent if now - at < WINDOW), now)[-(per_minute + 1) :]
    if watch.flooding:
        if len(recent) <= max(1, per_minute // 2):
            return FloodWatch(recent=recent)
        return replace(watch, recent=recent)
    if len(recent) > per_minute:
        return FloodWatch(recent=recent, since=now)
    return FloodWatch(recent=recent)


def reads_as_danger(turn: Turn) -> bool:
    """Whether triage flagged this message (or the answers of the case it opened or amended)."""
    return any(
        isinstance(event, DangerReported)
        or (isinstance(event, CaseOpened | CaseAmended) and event.triage)
        for event in turn.events
    )


@dataclass(frozen=True)
class Screened:
    """What of one turn goes out during a flood, and whether its danger alerts staff."""

    replies: tuple[Reply, ...]
    alert_danger: bool
    watch: FloodWatch


def screen(watch: FloodWatch, turn: Turn, *, language: Language) -> Screened:
    """Hold back a flooding witness's replies, except (once each) the safety reply, the
    erase question and the notice."""
    if not watch.flooding or any(isinstance(e, EraseConfirmed) for e in turn.events):
        return Screened(replies=turn.replies, alert_danger=True, watch=watch)
    if reads_as_danger(turn) and not watch.warned:
        return Screened(replies=turn.replies, alert_danger=True, watch=replace(watch, warned=True))
    if turn.state.confirming_delete and not watch.erase_asked:
        # Only DELETE leaves the conversation waiting for the erase confirmation.
        watch = replace(watch, erase_asked=True)
        return Screened(replies=turn.replies, alert_danger=False, watch=watch)
    if watch.noticed or turn.state.opted_out:
        return Screened(replies=(), alert_danger=False, watch=watch)
    notice = render.say(messages.FLOOD_NOTICE, language)
    return Screened(replies=notice, alert_danger=False, watch=replace(watch, noticed=True))
