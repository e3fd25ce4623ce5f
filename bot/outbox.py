"""Delivering what the outbox owes: claim, send through the witness's channel, record.

The worker never holds a database transaction across a network call: it claims items in
one short transaction, sends, then records the outcome in another. Rate limits (429) and
provider errors (5xx, timeouts) are retried with exponential backoff, honouring the
provider's Retry-After; any other refusal is final and visible as "failed".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.batching import GroupCommit
from bot.intake.model import Option, Prompt
from bot.metrics import Metrics
from bot.readiness import Heartbeat
from storage import messages, outbox, witnesses
from storage.crypto import DataKey, DecryptionFailed, KeyUnavailable, Vault
from storage.db import Database, WriteConflict
from storage.models import Case, Message, OutboxItem, Witness, utcnow
from storage.states import CaseStatus, OutboxKind, OutboxStatus

log = logging.getLogger(__name__)

BACKOFF_BASE = 2.0
BACKOFF_CAP = 300.0
MAX_ATTEMPTS = 15
# Tries at recording a send after a deadlock rolled the record back.
RECORD_ATTEMPTS = 3
GIVE_UP_AFTER = timedelta(hours=24)
LEASE = timedelta(seconds=120)
# How long an item owed to a witness who asked for quiet waits before it is looked at again.
PAUSED_RETRY = timedelta(hours=1)


@dataclass(frozen=True)
class Outgoing:
    """One message for one witness, decrypted just long enough to hand to the provider."""

    channel: str
    address: str
    text: str
    options: tuple[Option, ...] = ()
    prompt: Prompt | None = None


@dataclass(frozen=True)
class Keyboard:
    """The buttons stored with a message, and the question they answer (None: unbound)."""

    options: tuple[Option, ...] = ()
    prompt: Prompt | None = None


@dataclass(frozen=True)
class KeyboardEdit:
    """Where a keyboard sits in the witness's chat and what it must show now."""

    address: str
    handle: str
    keyboard: Keyboard


@dataclass(frozen=True)
class Sent:
    """The provider accepted the message: its id (for status callbacks) and chat handle."""

    provider_id: str | None = None
    handle: str | None = None


class RetryLater(Exception):
    """The provider is busy or failing (429, 5xx, network); try again, after `after` seconds."""

    def __init__(self, reason: str, *, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after


class Undeliverable(Exception):
    """The provider refused the message for good (a 4xx other than 429)."""

    def __init__(self, reason: str, *, opted_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.opted_out = opted_out


class Sender(Protocol):
    async def send(self, message: Outgoing) -> Sent: ...

    async def erase_chat(self, *, address: str, handles: list[str]) -> None:
        """Remove the conversation from the witness's device where the channel allows it,
        and the provider's own copies of it where the provider keeps them."""

    async def forget(self, provider_id: str) -> None:
        """Delete the provider's copy of one message; a copy already gone counts as done."""

    async def edit_keyboard(
        self,
        *,
        address: str,
        handle: str,
        options: tuple[Option, ...],
        prompt: Prompt | None,
    ) -> None:
        """Re-draw the buttons under a message already sent; no options removes them."""


def backoff(
    attempts: int,
    *,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
    jitter: bool = True,
) -> float:
    """Seconds before the next try: exponential, capped, with jitter so retries spread out."""
    delay: float = min(cap, base * 2.0 ** max(0, attempts - 1))
    if not jitter:
        return delay
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security


def encode_options(options: tuple[Option, ...], prompt: Prompt | None = None) -> str:
    """A message's buttons as stored (sealed): the options and the question they answer."""
    bound = None
    if prompt is not None:
        bound = {
            "step": prompt.step,
            "version": prompt.version,
            "multi": prompt.multi,
            "selected": list(prompt.selected),
            "done_label": prompt.done_label,
        }
    stored = {"options": [[o.number, o.label] for o in options], "prompt": bound}
    return json.dumps(stored, ensure_ascii=False)


def decode_options(text: str | None) -> Keyboard:
    """The stored buttons; the older form, a bare list of [number, label], has no question."""
    if not text:
        return Keyboard()
    stored = json.loads(text)
    if isinstance(stored, list):
        return Keyboard(options=_options(stored))
    return Keyboard(
        options=_options(stored.get("options", [])), prompt=_prompt(stored.get("prompt"))
    )


def _options(pairs: list[Any]) -> tuple[Option, ...]:
    return tuple(Option(number=int(n), label=str(label)) for n, label in pairs)


def _prompt(bound: dict[str, Any] | None) -> Prompt | None:
    if bound is None:
        return None
    return Prompt(
        step=str(bound["step"]),
        version=int(bound["version"]),
        multi=bool(bound.get("multi", False)),
        selected=tuple(int(n) for n in bound.get("selected", ())),
        done_label=str(bound.get("done_label", "")),
    )


class Doorbell:
    """Rung when something is owed, so the outbox worker looks now instead of next tick."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ring(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=timeout)


@dataclass(frozen=True)
class Delivered:
    """A message the provider accepted, to be recorded as sent."""

    item_id: uuid.UUID
    message_id: uuid.UUID
    channel: str
    sent: Sent


class OutboxWorker:
    """Sends owed messages in the background of the serving process."""

    name = "outbox"

    def __init__(
        self,
        *,
        db: Database,
        vault: Vault,
        senders: Mapping[str, Sender],
        doorbell: Doorbell | None = None,
        batch: int = 32,
        idle_seconds: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
        heartbeat: Heartbeat | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        # Sends, retries and failures are counted by channel and reason category.
        self._metrics = metrics or Metrics()
        # The time items fall due by: the wall clock in service (rows are stamped with it).
        self._clock = clock
        # Beaten after every finished pass, for the readiness check.
        self._heartbeat = heartbeat or Heartbeat()
        self._db = db
        self._vault = vault
        self._senders = dict(senders)
        self._batch = batch
        self._idle = idle_seconds
        self._doorbell = doorbell or Doorbell()
        self._records: GroupCommit[Delivered, None] = GroupCommit(
            run_batch=self._record_all, key=lambda done: done.item_id
        )

    async def run(self) -> None:
        while True:
            # Cleared before looking, so a ring during the pass is not lost.
            self._doorbell.clear()
            try:
                done = await self.run_once()
            except Exception as exc:
                # The type only: an exception's text can quote what it was handling.
                log.error("outbox pass failed (%s); retrying", type(exc).__name__)
                done = 0
            if not done:
                await self._doorbell.wait(self._idle)

    async def run_once(self) -> int:
        """Claim one batch of due items and deliver them; returns how many were handled."""
        async with self._db.write() as session:
            items = await outbox.claim_due(
                session, limit=self._batch, lease=LEASE, now=self._clock()
            )
            claimed = [(item.id, item.kind, item.channel, item.attempts) for item in items]
        await asyncio.gather(*(self._deliver(*claim) for claim in claimed))
        self._heartbeat.beat(self._clock())
        return len(claimed)

    async def _deliver(self, item_id: uuid.UUID, kind: str, channel: str, attempts: int) -> None:
        sender = self._senders.get(channel)
        if sender is None:
            await self._fail(item_id, f"channel {channel} is off")
            return
        try:
            if kind == OutboxKind.ERASE:
                await self._erase_chat(item_id, channel, sender)
                return
            if kind == OutboxKind.FORGET:
                await self._forget(item_id, sender)
                return
            if kind == OutboxKind.KEYBOARD:
                await self._redraw_keyboard(item_id, sender)
                return
            if kind == OutboxKind.ALERT:
                await self._send_alert(item_id, channel, sender)
                return
            loaded = await self._load(item_id)
            if isinstance(loaded, str):
                await self._fail(item_id, loaded)
                return
            message_id, outgoing = loaded
            sent = await sender.send(outgoing)
        except RetryLater as exc:
            await self._retry(item_id, attempts, exc)
        except Undeliverable as exc:
            await self._fail(item_id, exc.reason, opted_out=exc.opted_out)
        except Exception as exc:
            log.error("outbox item %s: unexpected send failure (%s)", item_id, type(exc).__name__)
            await self._retry(item_id, attempts, RetryLater(type(exc).__name__))
        else:
            await self._record_sent(Delivered(item_id, message_id, channel, sent))
            self._metrics.sent(channel)

    async def _load(self, item_id: uuid.UUID) -> tuple[uuid.UUID, Outgoing] | str:
        """The decrypted message an item owes, or why it can no longer be sent."""
        async with self._db.read() as session:
            opened = await self._open(session, item_id)
            if isinstance(opened, str):
                return opened
            item, message, witness, key = opened
            text = messages.open_body(message, key)
            if text is None:
                return "erased"
            keyboard = decode_options(messages.open_options(message, key))
            return message.id, Outgoing(
                channel=item.channel,
                address=witnesses.reply_address(witness, key),
                text=text,
                options=keyboard.options,
                prompt=keyboard.prompt,
            )

    async def _record_sent(self, done: Delivered) -> None:
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                await self._records.submit(done)
                return
            except WriteConflict as exc:
                # Rolled back whole (PostgreSQL broke a deadlock): record it again, now,
                # rather than leave the item to its lease and send the message twice.
                log.info(
                    "outbox item %s: recording conflicted (%s), try %d", done.item_id, exc, attempt
                )
        log.warning("outbox item %s: sent, but not recorded; its lease will expire", done.item_id)

    async def _record_all(self, batch: Sequence[Delivered]) -> list[None]:
        """Sends finished together, recorded in one transaction (bot/batching.py)."""
        async with self._db.write(carrying=len(batch)) as session:
            ids = [done.message_id for done in batch]
            # The witnesses' rows first, as the desk takes them: everything that writes a
            # witness's messages queues on them, so no two writers lock them crosswise.
            # Only then the messages themselves: read before the lock, a message an
            # intake was moving to its case (sealed anew, bound to the case) would be
            # seen as it was, and its handle sealed to the old binding, unreadable after.
            await witnesses.lock_all(
                session, witness_ids=await messages.witnesses_of(session, ids=ids)
            )
            found = await messages.by_ids(session, ids=ids)
            for done in batch:
                await self._record(session, done, found.get(done.message_id))
        for done in batch:
            log.info("outbox item %s sent", done.item_id)
        return [None] * len(batch)

    async def _record(
        self, session: AsyncSession, done: Delivered, message: Message | None
    ) -> None:
        item = await outbox.mark_sent(session, item_id=done.item_id)
        if message is None or item is None:
            return
        sent = done.sent
        if sent.provider_id is not None:
            messages.set_provider_id(
                message, vault=self._vault, channel=done.channel, provider_id=sent.provider_id
            )
        if sent.handle is not None:
            try:
                key = await witnesses.data_key_for(
                    session, vault=self._vault, witness_id=message.witness_id
                )
            except KeyUnavailable:
                return  # erased while the message was in flight: keep nothing
            messages.set_handle(message, key, sent.handle)

    async def _retry(self, item_id: uuid.UUID, attempts: int, exc: RetryLater) -> None:
        async with self._db.write() as session:
            item = await session.get(OutboxItem, item_id)
            if item is None:
                return
            now = self._clock()
            too_old = now - item.created_at > GIVE_UP_AFTER
            if attempts >= MAX_ATTEMPTS or too_old:
                await outbox.mark_failed(session, item_id=item_id, error=f"gave up: {exc.reason}")
                self._metrics.failed(item.channel, exc.reason)
                log.warning("outbox item %s failed after %d attempts", item_id, attempts)
                return
            delay = max(exc.after or 0.0, backoff(attempts))
            at = now + timedelta(seconds=delay)
            await outbox.mark_retry(session, item_id=item_id, at=at, error=exc.reason)
            self._metrics.retried(item.channel, exc.reason)
        log.info("outbox item %s: %s; retry in %.1fs", item_id, exc.reason, delay)

    async def _fail(self, item_id: uuid.UUID, reason: str, *, opted_out: bool = False) -> None:
        async with self._db.write() as session:
            item = await session.get(OutboxItem, item_id)
            await outbox.mark_failed(session, item_id=item_id, error=reason)
            if item is not None:
                self._metrics.failed(item.channel, reason, opted_out=opted_out)
            if opted_out and item is not None and item.witness_id is not None:
                await outbox.opt_out(session, witness_id=item.witness_id)
        log.info("outbox item %s failed: %s", item_id, reason)

    async def _redraw_keyboard(self, item_id: uuid.UUID, sender: Sender) -> None:
        loaded = await self._load_keyboard(item_id)
        if isinstance(loaded, str):
            await self._fail(item_id, loaded)
            return
        if loaded is not None:
            await sender.edit_keyboard(
                address=loaded.address,
                handle=loaded.handle,
                options=loaded.keyboard.options,
                prompt=loaded.keyboard.prompt,
            )
        async with self._db.write() as session:
            await outbox.mark_sent(session, item_id=item_id)
        outcome = "re-drawn" if loaded is not None else "left to its message's send"
        log.info("outbox item %s: keyboard %s", item_id, outcome)

    async def _open(
        self, session: AsyncSession, item_id: uuid.UUID
    ) -> tuple[OutboxItem, Message, Witness, DataKey] | str:
        """An item's message, its witness and their data key; or why none can be used."""
        item = await session.get(OutboxItem, item_id)
        message = await session.get(Message, item.message_id) if item and item.message_id else None
        witness = await session.get(Witness, item.witness_id) if item else None
        if item is None or message is None or witness is None or witness.erased_at:
            return "erased"
        if witness.opted_out:
            return "opted_out"
        if witness.paused_at is not None:
            # EXIT: held until the witness writes again (which makes the item due at once).
            raise RetryLater("witness asked for quiet", after=PAUSED_RETRY.total_seconds())
        try:
            key = await witnesses.data_key_for(session, vault=self._vault, witness_id=witness.id)
        except KeyUnavailable:
            return "erased"
        return item, message, witness, key

    async def _load_keyboard(self, item_id: uuid.UUID) -> KeyboardEdit | str | None:
        """The keyboard a message must show now, or why it cannot be edited.

        None means there is nothing to edit: the message's own send, still owed, will show
        the keyboard as stored now.
        """
        async with self._db.read() as session:
            opened = await self._open(session, item_id)
            if isinstance(opened, str):
                return opened
            _item, message, witness, key = opened
            handle = messages.open_handle(message, key)
            if handle is None:
                status = await outbox.send_status(session, message_id=message.id)
                if status == OutboxStatus.SENDING:
                    # Its send may carry the keyboard as it was before this change.
                    raise RetryLater("message not sent yet")
                if status == OutboxStatus.PENDING:
                    # Its send has not read the message yet, so it will carry the
                    # keyboard as stored now; waiting for it here could wait forever,
                    # as an item never overtakes an earlier one.
                    return None
                return "message never sent"
            return KeyboardEdit(
                address=witnesses.reply_address(witness, key),
                handle=handle,
                keyboard=decode_options(messages.open_options(message, key)),
            )

    async def _send_alert(self, item_id: uuid.UUID, channel: str, sender: Sender) -> None:
        """Alert a staff member about a case (by the time it goes, the case may be closed), or
        about the service itself."""
        async with self._db.read() as session:
            item = await session.get(OutboxItem, item_id)
            try:
                alert = outbox.open_alert(item, vault=self._vault) if item else None
            except (KeyUnavailable, DecryptionFailed):
                alert = None
            case = await session.get(Case, alert.case_id) if alert and alert.case_id else None
        if alert is None:
            await self._fail(item_id, "alert unreadable")
            return
        if alert.case_id is not None and (case is None or case.status == CaseStatus.CLOSED):
            await self._fail(item_id, "case closed")
            return
        try:
            await sender.send(Outgoing(channel=channel, address=alert.address, text=alert.text))
        except Undeliverable as exc:
            # A staff number that refuses texts says nothing about the witness: the
            # item fails, and the witness is not marked opted out.
            await self._fail(item_id, exc.reason)
            return
        async with self._db.write() as session:
            await outbox.mark_sent(session, item_id=item_id)
        self._metrics.sent(channel)
        log.info("outbox item %s: alert sent", item_id)

    async def _transit(self, item_id: uuid.UUID) -> dict[str, Any] | None:
        async with self._db.read() as session:
            item = await session.get(OutboxItem, item_id)
            return outbox.open_transit(item, vault=self._vault) if item else None

    async def _forget(self, item_id: uuid.UUID, sender: Sender) -> None:
        work = await self._transit(item_id)
        if work is None:
            await self._fail(item_id, "nothing to forget")
            return
        await sender.forget(str(work["provider_id"]))
        async with self._db.write() as session:
            await outbox.mark_sent(session, item_id=item_id)
        log.info("outbox item %s: the provider's copy deleted", item_id)

    async def _erase_chat(self, item_id: uuid.UUID, channel: str, sender: Sender) -> None:
        work = await self._transit(item_id)
        if work is None:
            await self._fail(item_id, "nothing to erase")
            return
        # Deleting first and saying goodbye second keeps a retry harmless: deleting an
        # already deleted message is a no-op.
        await sender.erase_chat(address=work["address"], handles=list(work["handles"]))
        # One message, so a retry can never repeat part of the goodbye.
        farewell = "\n\n".join(work["farewell"])
        if farewell:
            await sender.send(Outgoing(channel=channel, address=work["address"], text=farewell))
        async with self._db.write() as session:
            await outbox.mark_sent(session, item_id=item_id)
        log.info("outbox item %s: chat erased", item_id)
