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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from bot.intake.model import Option
from storage import messages, outbox, witnesses
from storage.crypto import KeyUnavailable, Vault
from storage.db import Database
from storage.models import Message, OutboxItem, Witness, utcnow

log = logging.getLogger(__name__)

BACKOFF_BASE = 2.0
BACKOFF_CAP = 300.0
MAX_ATTEMPTS = 15
GIVE_UP_AFTER = timedelta(hours=24)
LEASE = timedelta(seconds=120)


@dataclass(frozen=True)
class Outgoing:
    """One message for one witness, decrypted just long enough to hand to the provider."""

    channel: str
    address: str
    text: str
    options: tuple[Option, ...] = ()


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
        """Remove the conversation from the witness's device where the channel allows it."""


def backoff(attempts: int) -> float:
    """Seconds before the next try: exponential, capped, with jitter so retries spread out."""
    delay: float = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** max(0, attempts - 1))
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security


def encode_options(options: tuple[Option, ...]) -> str:
    return json.dumps([[o.number, o.label] for o in options], ensure_ascii=False)


def decode_options(text: str | None) -> tuple[Option, ...]:
    if not text:
        return ()
    return tuple(Option(number=int(n), label=str(label)) for n, label in json.loads(text))


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
    ) -> None:
        self._db = db
        self._vault = vault
        self._senders = dict(senders)
        self._batch = batch
        self._idle = idle_seconds
        self._doorbell = doorbell or Doorbell()

    async def run(self) -> None:
        while True:
            # Cleared before looking, so a ring during the pass is not lost.
            self._doorbell.clear()
            try:
                done = await self.run_once()
            except Exception:
                log.exception("outbox pass failed; retrying")
                done = 0
            if not done:
                await self._doorbell.wait(self._idle)

    async def run_once(self) -> int:
        """Claim one batch of due items and deliver them; returns how many were handled."""
        async with self._db.write() as session:
            items = await outbox.claim_due(session, limit=self._batch, lease=LEASE)
            claimed = [(item.id, item.kind, item.channel, item.attempts) for item in items]
        await asyncio.gather(*(self._deliver(*claim) for claim in claimed))
        return len(claimed)

    async def _deliver(self, item_id: uuid.UUID, kind: str, channel: str, attempts: int) -> None:
        sender = self._senders.get(channel)
        if sender is None:
            await self._fail(item_id, f"channel {channel} is off")
            return
        try:
            if kind == "erase":
                await self._erase_chat(item_id, channel, sender)
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
            log.exception("outbox item %s: unexpected send failure", item_id)
            await self._retry(item_id, attempts, RetryLater(type(exc).__name__))
        else:
            await self._record_sent(item_id, message_id, channel, sent)

    async def _load(self, item_id: uuid.UUID) -> tuple[uuid.UUID, Outgoing] | str:
        """The decrypted message an item owes, or why it can no longer be sent."""
        async with self._db.read() as session:
            item = await session.get(OutboxItem, item_id)
            message = await session.get(Message, item.message_id) if item else None
            witness = await session.get(Witness, item.witness_id) if item else None
            if item is None or message is None or witness is None or witness.erased_at:
                return "erased"
            if witness.opted_out:
                return "opted_out"
            try:
                key = await witnesses.data_key_for(
                    session, vault=self._vault, witness_id=witness.id
                )
            except KeyUnavailable:
                return "erased"
            text = messages.open_body(message, key)
            if text is None:
                return "erased"
            options = messages.open_options(message, key)
            return message.id, Outgoing(
                channel=item.channel,
                address=witnesses.reply_address(witness, key),
                text=text,
                options=decode_options(options),
            )

    async def _record_sent(
        self, item_id: uuid.UUID, message_id: uuid.UUID, channel: str, sent: Sent
    ) -> None:
        async with self._db.write() as session:
            item = await outbox.mark_sent(session, item_id=item_id)
            message = await session.get(Message, message_id)
            if item is None or message is None:
                return
            if sent.provider_id is not None:
                message.provider_key = messages.provider_key(
                    self._vault, channel=channel, provider_id=sent.provider_id
                )
            if sent.handle is not None:
                try:
                    key = await witnesses.data_key_for(
                        session, vault=self._vault, witness_id=message.witness_id
                    )
                except KeyUnavailable:
                    return  # erased while the message was in flight: keep nothing
                messages.set_handle(message, key, sent.handle)
        log.info("outbox item %s sent", item_id)

    async def _retry(self, item_id: uuid.UUID, attempts: int, exc: RetryLater) -> None:
        async with self._db.write() as session:
            item = await session.get(OutboxItem, item_id)
            if item is None:
                return
            too_old = utcnow() - item.created_at > GIVE_UP_AFTER
            if attempts >= MAX_ATTEMPTS or too_old:
                await outbox.mark_failed(session, item_id=item_id, error=f"gave up: {exc.reason}")
                log.warning("outbox item %s failed after %d attempts", item_id, attempts)
                return
            delay = max(exc.after or 0.0, backoff(attempts))
            at = utcnow() + timedelta(seconds=delay)
            await outbox.mark_retry(session, item_id=item_id, at=at, error=exc.reason)
        log.info("outbox item %s: %s; retry in %.1fs", item_id, exc.reason, delay)

    async def _fail(self, item_id: uuid.UUID, reason: str, *, opted_out: bool = False) -> None:
        async with self._db.write() as session:
            item = await session.get(OutboxItem, item_id)
            await outbox.mark_failed(session, item_id=item_id, error=reason)
            if opted_out and item is not None:
                await outbox.opt_out(session, witness_id=item.witness_id)
        log.info("outbox item %s failed: %s", item_id, reason)

    async def _erase_chat(self, item_id: uuid.UUID, channel: str, sender: Sender) -> None:
        async with self._db.read() as session:
            item = await session.get(OutboxItem, item_id)
            payload = item.payload_sealed if item else None
        if payload is None:
            await self._fail(item_id, "nothing to erase")
            return
        work = json.loads(self._vault.open_transit(payload, row=item_id))
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


DELIVERY_RANK = {"queued": 0, "sent": 1, "delivered": 2, "failed": 2}
PROVIDER_STATES = {
    "queued": "queued",
    "accepted": "queued",
    "scheduled": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


async def record_status(
    db: Database,
    *,
    vault: Vault,
    channel: str,
    provider_id: str,
    status: str,
    opted_out: bool = False,
) -> bool:
    """A provider's delivery report for a message we sent; False if we know no such message.

    Reports can arrive out of order, so a message's delivery state only ever moves forward.
    """
    delivery = PROVIDER_STATES.get(status.lower())
    async with db.write() as session:
        message = await messages.find_by_provider_id(
            session, vault=vault, channel=channel, provider_id=provider_id
        )
        if message is None or message.direction != "out":
            return False
        current = DELIVERY_RANK.get(message.delivery or "queued", 0)
        if delivery is not None and DELIVERY_RANK[delivery] > current:
            message.delivery = delivery
        if opted_out:
            await outbox.opt_out(session, witness_id=message.witness_id)
    return True
