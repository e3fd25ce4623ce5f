"""The outbox: what the service owes witnesses' channels, claimed atomically by senders.

An item is claimed by moving it to "sending" with a lease; two workers (or two processes
on one PostgreSQL database) never claim the same item. Items for one witness go out in
the order they were written: an item waits while an earlier one for the same witness is
still owed. Keyboard items (re-drawing the buttons under a message already sent) wait
their turn the same way, so they never overtake the message they edit.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import crypto
from storage.crypto import Vault
from storage.models import Message, OutboxItem, Witness
from storage.states import Delivery, OutboxKind, OutboxStatus

# Work that outlives an erased witness: it names no one, and its row goes once done.
TRANSIT_KINDS = (OutboxKind.ERASE, OutboxKind.FORGET)


@dataclass(frozen=True)
class Alert:
    """What an alert item carries, opened: a staff address, the text, and its case."""

    address: str
    text: str
    # None: an alert about the service itself, naming no case.
    case_id: uuid.UUID | None

    def __repr__(self) -> str:
        return f"Alert(case_id={self.case_id}, address=**********)"


async def next_position(session: AsyncSession, *, witness_id: uuid.UUID) -> int:
    """The next place in the order of what the outbox owes this witness.

    One counter per witness, not the time: two turns written within the same clock
    reading, or across a clock stepped back, still go out in the order they were written.
    On PostgreSQL the update holds the witness's row until commit, so two writers for
    one witness take their places one after the other.
    """
    taken = await session.execute(
        update(Witness)
        .where(Witness.id == witness_id)
        .values(outbox_seq=Witness.outbox_seq + 1)
        .returning(Witness.outbox_seq)
    )
    return int(taken.scalar_one())


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Items a worker may take now: due, and not behind anything owed the same witness."""
    earlier = aliased(OutboxItem)
    is_due = or_(
        and_(OutboxItem.status == OutboxStatus.PENDING, OutboxItem.next_attempt_at <= now),
        # A lease that ran out means its worker died mid-send: try again.
        and_(OutboxItem.status == OutboxStatus.SENDING, OutboxItem.lease_until < now),
    )
    # Order matters within what one witness is owed; a staff alert goes to someone else
    # and never waits behind a witness's held or retried messages, nor holds them up.
    waits_for_earlier = exists().where(
        OutboxItem.kind != OutboxKind.ALERT,
        earlier.kind != OutboxKind.ALERT,
        earlier.witness_id == OutboxItem.witness_id,
        earlier.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
        earlier.position < OutboxItem.position,
    )
    return and_(is_due, ~waits_for_earlier)


async def busy(session: AsyncSession, *, now: datetime) -> int:
    """How many items a worker could take now or is sending: 0 once all due work is done."""
    query = (
        select(func.count())
        .select_from(OutboxItem)
        .where(or_(_claimable(now), OutboxItem.status == OutboxStatus.SENDING))
    )
    return int(await session.scalar(query) or 0)


async def claim_due(
    session: AsyncSession, *, limit: int, lease: timedelta, now: datetime
) -> list[OutboxItem]:
    """Claim up to `limit` items that are due by `now`, oldest first, in order for each
    witness."""
    query = (
        select(OutboxItem)
        .where(_claimable(now))
        .order_by(OutboxItem.next_attempt_at, OutboxItem.created_at, OutboxItem.position)
        .limit(limit)
        .with_for_update(skip_locked=True, of=OutboxItem)
    )
    items = list((await session.execute(query)).scalars())
    for item in items:
        item.status = OutboxStatus.SENDING
        item.lease_until = now + lease
        item.attempts += 1
    await session.flush()
    return items


async def mark_sent(session: AsyncSession, *, item_id: uuid.UUID) -> OutboxItem | None:
    item = await session.get(OutboxItem, item_id, with_for_update=True)
    if item is None or item.status != OutboxStatus.SENDING:
        return None
    item.status, item.lease_until, item.last_error = OutboxStatus.SENT, None, None
    item.payload_sealed = None
    if item.message_id is not None and item.kind == OutboxKind.MESSAGE:
        await set_delivery(session, message_id=item.message_id, delivery=Delivery.SENT)
    if item.kind in TRANSIT_KINDS:
        # Even its time of day could be matched against a carrier's records.
        await session.delete(item)
    await session.flush()
    return item


async def mark_retry(
    session: AsyncSession, *, item_id: uuid.UUID, at: datetime, error: str
) -> None:
    await session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id, OutboxItem.status == OutboxStatus.SENDING)
        .values(
            status=OutboxStatus.PENDING, lease_until=None, next_attempt_at=at, last_error=error[:64]
        )
    )


async def mark_failed(session: AsyncSession, *, item_id: uuid.UUID, error: str) -> None:
    item = await session.get(OutboxItem, item_id, with_for_update=True)
    if item is None or item.status not in (OutboxStatus.PENDING, OutboxStatus.SENDING):
        return
    item.status, item.lease_until, item.last_error = OutboxStatus.FAILED, None, error[:64]
    item.payload_sealed = None
    # A keyboard item only touches the buttons: the message's own delivery stands.
    if item.message_id is not None and item.kind == OutboxKind.MESSAGE:
        await set_delivery(session, message_id=item.message_id, delivery=Delivery.FAILED)
    if item.kind in TRANSIT_KINDS:
        await session.delete(item)
    await session.flush()


async def send_status(session: AsyncSession, *, message_id: uuid.UUID) -> str | None:
    """The status of the item that sends this message itself; None if none was owed."""
    query = select(OutboxItem.status).where(
        OutboxItem.message_id == message_id, OutboxItem.kind == OutboxKind.MESSAGE
    )
    return (await session.execute(query.limit(1))).scalar_one_or_none()


async def set_delivery(session: AsyncSession, *, message_id: uuid.UUID, delivery: str) -> None:
    await session.execute(update(Message).where(Message.id == message_id).values(delivery=delivery))


async def opt_out(session: AsyncSession, *, witness_id: uuid.UUID) -> None:
    """The provider says this witness refuses messages: stop owing them any."""
    await session.execute(update(Witness).where(Witness.id == witness_id).values(opted_out=True))
    pending = select(OutboxItem.id).where(
        OutboxItem.witness_id == witness_id, OutboxItem.status == OutboxStatus.PENDING
    )
    for item_id in list((await session.execute(pending)).scalars()):
        await mark_failed(session, item_id=item_id, error="opted_out")


async def enqueue_alert(
    session: AsyncSession,
    *,
    vault: Vault,
    witness_id: uuid.UUID | None,
    case_id: uuid.UUID | None,
    channel: str,
    address: str,
    text: str,
    now: datetime,
) -> OutboxItem:
    """Owe a staff member an alert about a case, the address and text sealed under the staff key.

    The item names the case's witness only because every outbox item names one: it
    holds nothing of theirs, and is not ordered among their messages.
    """
    item_id = uuid.uuid4()
    work = {"address": address, "text": text, "case": str(case_id) if case_id else None}
    item = OutboxItem(
        id=item_id,
        kind=OutboxKind.ALERT,
        witness_id=witness_id,
        channel=channel,
        payload_sealed=vault.seal_staff(
            json.dumps(work), table="outbox", field="payload", row=item_id
        ),
        created_at=now,
        next_attempt_at=now,
    )
    session.add(item)
    return item


def open_alert(item: OutboxItem, *, vault: Vault) -> Alert | None:
    """The alert an item carries; None once sent or failed (the payload is deleted then)."""
    if item.kind != OutboxKind.ALERT or item.payload_sealed is None:
        return None
    work = json.loads(
        vault.open_staff(item.payload_sealed, table="outbox", field="payload", row=item.id)
    )
    case = uuid.UUID(work["case"]) if work.get("case") else None
    return Alert(address=work["address"], text=work["text"], case_id=case)


async def enqueue_forget(
    session: AsyncSession,
    *,
    vault: Vault,
    channel: str,
    provider_id: str,
    now: datetime,
    at: datetime,
) -> OutboxItem:
    """Owe the provider a delete of its copy of one message, from `at` on.

    The item names no witness and holds the provider's id only sealed under the transit
    key, so it survives (and says nothing about) an erasure in between.
    """
    item_id = uuid.uuid4()
    item = OutboxItem(
        id=item_id,
        kind=OutboxKind.FORGET,
        witness_id=None,
        channel=channel,
        created_at=now,
        next_attempt_at=at,
        payload_sealed=vault.seal_transit(json.dumps({"provider_id": provider_id}), row=item_id),
    )
    session.add(item)
    return item


def open_transit(item: OutboxItem, *, vault: Vault) -> dict[str, object] | None:
    """What an "erase" or "forget" item carries; None once done (the payload goes then)."""
    if item.kind not in TRANSIT_KINDS or item.payload_sealed is None:
        return None
    work: dict[str, object] = json.loads(vault.open_transit(item.payload_sealed, row=item.id))
    return work


async def sealed_items(session: AsyncSession) -> list[OutboxItem]:
    """Items still carrying a payload (transit or staff seal), locked; few at any time."""
    query = select(OutboxItem).where(OutboxItem.payload_sealed.is_not(None)).with_for_update()
    return list((await session.execute(query)).scalars())


def sealed_version(item: OutboxItem) -> int | None:
    """The master key version an item's payload is sealed under (both seals prefix it)."""
    if item.payload_sealed is None:
        return None
    return crypto.sealed_version(item.payload_sealed)
