"""How a witness's channel plugs in: what the core must know of it, and how it is wired.

Each handler module declares one `ChannelPlugin`: the channel's traits (what the desk,
the engine and casework read instead of comparing names) and a `plug` function that
builds its webhooks, sender and workers from the running service. The composition root
(bot/app.py) registers the plugins; adding a channel is one handler module and its
settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.intake.messages import Message
from bot.metrics import Metrics

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from bot.desk import IntakeDesk
    from bot.outbox import Sender
    from bot.settings import Settings
    from bot.workers import Worker
    from storage.crypto import Vault
    from storage.db import Database


@dataclass(frozen=True)
class ChannelTraits:
    """What the core needs to know of one channel, so that it never compares names."""

    # The name stored with each witness and outbox item ("sms", "telegram").
    name: str
    # What HELP says about who can see the conversation on this channel.
    help: Message
    # Replies go back in the response to the provider's request (TwiML, the terminal)
    # rather than through the outbox.
    inline: bool = False
    # The address is a phone number: one a caseworker may be shown, to call back.
    phone_number: bool = False
    # How long after sending the service can still delete its messages from the
    # witness's chat (Telegram: 48 hours); None where nothing can be deleted.
    erase_window: timedelta | None = None
    # The provider keeps a copy of each message: deleted through the outbox this long
    # after it is stored (Twilio refuses in the first minute); None where it keeps none,
    # or where its copies are kept by the settings.
    forget_after: timedelta | None = None
    # A witness's new message clears their opt-out (on Telegram, blocking the bot is the
    # opt-out and writing again unblocks it; SMS opt-outs stay with the carrier until
    # the witness texts START).
    message_clears_opt_out: bool = False
    # Questions carry buttons that are redrawn or removed as the conversation moves.
    keyboards: bool = False


class UnknownChannel(LookupError):
    """A witness or message names a channel this service has not registered."""


class Channels(Mapping[str, ChannelTraits]):
    """The registered channels by name."""

    def __init__(self, traits: Iterable[ChannelTraits]) -> None:
        self._by_name: dict[str, ChannelTraits] = {}
        for channel in traits:
            if channel.name in self._by_name:
                raise ValueError(f"two channels are named {channel.name!r}")
            self._by_name[channel.name] = channel

    def __getitem__(self, name: str) -> ChannelTraits:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownChannel(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)


@dataclass(frozen=True)
class Wiring:
    """What a channel's plug is given: the running service's parts it may use."""

    settings: Settings
    desk: IntakeDesk
    db: Database
    vault: Vault
    clock: Callable[[], datetime]
    # Tell on-call supervisors about the service itself (a poison update set aside).
    alert_supervisors: Callable[[str], Awaitable[int]]
    # How a channel's workers wait out a backoff (tests pass one that returns at once).
    sleep: Callable[[float], Awaitable[None]]
    # The operators' counts: webhook outcomes and latency, workers' heartbeats.
    metrics: Metrics = field(default_factory=Metrics)


@dataclass
class Plugged:
    """A channel's running parts: its inbound routes, its sender, its workers."""

    sender: Sender | None = None
    routes: list[BaseRoute] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


@dataclass(frozen=True)
class ChannelPlugin:
    """One channel as a handler module declares it."""

    name: str
    # The traits under these settings (a setting may turn a trait off).
    describe: Callable[[Settings], ChannelTraits]
    # One line for the start-up log: on or off, and if off, what is missing.
    report: Callable[[Settings], str] | None = None
    # The running parts, or None when the settings leave the channel off.
    plug: Callable[[Wiring], Plugged | None] | None = None
