"""Messages in and out, sealed; provider ids kept only as keyed hashes for de-duplication."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.crypto import DataKey, Vault, is_legacy
from storage.models import Message, OutboxItem
from storage.states import Delivery, Direction, OutboxKind

PROVIDER_PURPOSE = "provider-message-id"
SEALED_FIELDS = ("body", "options", "handle")


@dataclass(frozen=True)
class TranscriptLine:
    direction: str
    text: str | None
    at: datetime
    delivery: str | None


def provider_key(vault: Vault, *, channel: str, provider_id: str) -> bytes:
    """The keyed hash stored for a provider's message id, under the active master key."""
    return vault.pseudonym(f"{channel}\x00{provider_id}", purpose=PROVIDER_PURPOSE)


def provider_lookup(vault: Vault, *, channel: str, provider_id: str) -> dict[int, bytes]:
    return vault.pseudonym_candidates(f"{channel}\x00{provider_id}", purpose=PROVIDER_PURPOSE)


def set_provider_id(message: Message, *, vault: Vault, channel: str, provider_id: str) -> None:
    """Remember (as a keyed hash) the provider's id for a message we sent."""
    message.provider_key = provider_key(vault, channel=channel, provider_id=provider_id)


def set_delivery_state(message: Message, delivery: str) -> None:
    message.delivery = delivery


async def find_by_provider_id(
    session: AsyncSession, *, vault: Vault, channel: str, provider_id: str
) -> Message | None:
    """The inbound message a provider already delivered under this id, if any."""
    keys = provider_lookup(vault, channel=channel, provider_id=provider_id)
    query = select(Message).where(Message.provider_key.in_(list(keys.values())))
    return (await session.execute(query)).scalars().first()


async def by_provider_ids(
    session: AsyncSession, *, vault: Vault, wanted: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Message]:
    """The messages stored under these (channel, provider id) pairs, in one query."""
    pairs: dict[bytes, tuple[str, str]] = {}
    for channel, provider_id in wanted:
        for key in provider_lookup(vault, channel=channel, provider_id=provider_id).values():
            pairs[key] = (channel, provider_id)
    if not pairs:
        return {}
    query = select(Message).where(Message.provider_key.in_(list(pairs)))
    return {
        pairs[message.provider_key]: message
        for message in (await session.execute(query)).scalars()
        if message.provider_key in pairs
    }


async def witnesses_of(session: AsyncSession, *, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Whose these messages are (the messages themselves are not loaded)."""
    if not ids:
        return []
    query = select(Message.witness_id).where(Message.id.in_(list(set(ids)))).distinct()
    return list((await session.execute(query)).scalars())


async def by_ids(session: AsyncSession, *, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Message]:
    """These messages, in one query; those that no longer exist are missing."""
    if not ids:
        return {}
    query = select(Message).where(Message.id.in_(list(set(ids))))
    return {message.id: message for message in (await session.execute(query)).scalars()}


async def add_message(
    session: AsyncSession,
    *,
    key: DataKey,
    direction: str,
    text: str,
    case_id: uuid.UUID | None = None,
    provider_key: bytes | None = None,
    reply_to_id: uuid.UUID | None = None,
    delivery: str | None = None,
    options: str | None = None,
    handle: str | None = None,
) -> Message:
    message = Message(
        id=uuid.uuid4(),
        witness_id=key.owner,
        case_id=case_id,
        direction=direction,
        provider_key=provider_key,
        reply_to_id=reply_to_id,
        delivery=delivery,
    )
    message.body_sealed = _seal(message, key, "body", text)
    set_options(message, key, options)
    if handle is not None:
        set_handle(message, key, handle)
    session.add(message)
    return message


async def enqueue(
    session: AsyncSession,
    *,
    message: Message,
    channel: str,
    now: datetime,
    kind: OutboxKind = OutboxKind.MESSAGE,
) -> OutboxItem:
    """Owe the witness this outbound message, after all they are owed already; the outbox
    worker delivers it from `now`.

    With kind KEYBOARD the item re-draws the buttons under a message already sent. The
    outbox draws them from what the message stores when it is delivered, so a later item
    shows the latest state and an earlier one at worst repeats it (Telegram answers "not
    modified", which counts as done). No existing item is locked or looked up: on
    PostgreSQL that would wait on the worker recording the message's own send, while the
    worker waits on this transaction's change to the message.
    """
    item = OutboxItem(
        kind=kind,
        message_id=message.id,
        witness_id=message.witness_id,
        channel=channel,
        position=await outbox.next_position(session, witness_id=message.witness_id),
        created_at=now,
        next_attempt_at=now,
    )
    session.add(item)
    return item


async def enqueue_erasure(
    session: AsyncSession,
    *,
    vault: Vault,
    witness_id: uuid.UUID,
    channel: str,
    address: str,
    farewell: list[str],
    handles: list[str],
    now: datetime,
    at: datetime | None = None,
) -> OutboxItem:
    """Owe a just-erased witness a goodbye and a cleaned chat, sealed under the transit key."""
    item_id = uuid.uuid4()
    work = {"address": address, "farewell": farewell, "handles": handles}
    item = OutboxItem(
        id=item_id,
        kind=OutboxKind.ERASE,
        witness_id=witness_id,
        channel=channel,
        position=await outbox.next_position(session, witness_id=witness_id),
        payload_sealed=vault.seal_transit(json.dumps(work), row=item_id),
        created_at=now,
        next_attempt_at=at or now,
    )
    session.add(item)
    return item


async def recent_handles(session: AsyncSession, *, key: DataKey, since: datetime) -> list[str]:
    """The chat handles of this witness's messages (both ways) written since a moment."""
    query = select(Message).where(
        Message.witness_id == key.owner,
        Message.handle_sealed.is_not(None),
        Message.created_at >= since,
    )
    handles = [open_handle(m, key) for m in (await session.execute(query)).scalars()]
    return [h for h in handles if h is not None]


def _context(message: Message) -> tuple[str, ...]:
    """What a message's sealed fields are bound to beyond their row: which way it went and
    whose case it belongs to, so a database writer cannot turn an inbound message into an
    outbound one, or move it to another case."""
    return (f"direction:{message.direction}", f"case:{message.case_id or '-'}")


def _seal(message: Message, key: DataKey, field: str, text: str) -> bytes:
    return key.seal(text, table="messages", field=field, row=message.id, context=_context(message))


def _open(message: Message, key: DataKey, field: str, blob: bytes | None) -> str | None:
    if blob is None:
        return None
    return key.open(blob, table="messages", field=field, row=message.id, context=_context(message))


def _sealed(message: Message, field: str) -> bytes | None:
    blob: bytes | None = getattr(message, f"{field}_sealed")
    return blob


def _reseal(message: Message, key: DataKey, *, case_id: uuid.UUID | None) -> None:
    """Give a message to another case (or none), its sealed fields bound anew."""
    opened = {field: _open(message, key, field, _sealed(message, field)) for field in SEALED_FIELDS}
    message.case_id = case_id
    for field, text in opened.items():
        setattr(
            message, f"{field}_sealed", None if text is None else _seal(message, key, field, text)
        )


def reseal_legacy(message: Message, key: DataKey) -> bool:
    """Bind a message sealed before fields took a context; False if it already was."""
    legacy = False
    for field in SEALED_FIELDS:
        blob = _sealed(message, field)
        if blob is not None and is_legacy(blob):
            text = key.open(blob, table="messages", field=field, row=message.id)
            setattr(message, f"{field}_sealed", _seal(message, key, field, text))
            legacy = True
    return legacy


def open_body(message: Message, key: DataKey) -> str | None:
    return _open(message, key, "body", message.body_sealed)


def open_options(message: Message, key: DataKey) -> str | None:
    return _open(message, key, "options", message.options_sealed)


async def with_keyboards(session: AsyncSession, *, witness_id: uuid.UUID) -> list[Message]:
    """The witness's outbound messages that still store buttons, oldest first, locked."""
    query = (
        select(Message)
        .where(
            Message.witness_id == witness_id,
            Message.direction == Direction.OUT,
            Message.options_sealed.is_not(None),
        )
        .order_by(Message.created_at)
        .with_for_update()
    )
    return list((await session.execute(query)).scalars())


def set_options(message: Message, key: DataKey, options: str | None) -> None:
    """Store the message's buttons anew, sealed; None means it has none any more."""
    message.options_sealed = _seal(message, key, "options", options) if options else None


def set_handle(message: Message, key: DataKey, handle: str) -> None:
    """Keep, sealed, the provider's handle for this message in the witness's chat."""
    message.handle_sealed = _seal(message, key, "handle", handle)


def open_handle(message: Message, key: DataKey) -> str | None:
    return _open(message, key, "handle", message.handle_sealed)


async def replies_to(session: AsyncSession, *, message_id: uuid.UUID) -> list[Message]:
    query = select(Message).where(Message.reply_to_id == message_id).order_by(Message.created_at)
    return list((await session.execute(query)).scalars())


async def attach_to_case(session: AsyncSession, *, key: DataKey, case_id: uuid.UUID) -> None:
    """Give the intake's messages to the case it opened, so the transcript is whole."""
    query = select(Message).where(Message.witness_id == key.owner, Message.case_id.is_(None))
    for message in (await session.execute(query)).scalars():
        _reseal(message, key, case_id=case_id)


async def transcript(
    session: AsyncSession, *, key: DataKey, case_id: uuid.UUID
) -> list[TranscriptLine]:
    query = select(Message).where(Message.case_id == case_id).order_by(Message.created_at)
    return [
        TranscriptLine(
            direction=m.direction, text=open_body(m, key), at=m.created_at, delivery=m.delivery
        )
        for m in (await session.execute(query)).scalars()
    ]


async def count_for_case(session: AsyncSession, *, case_id: uuid.UUID) -> tuple[int, int]:
    """How many messages a case has, and how many of its replies have a final delivery state."""
    query = select(
        func.count(),
        func.count().filter(Message.delivery.in_((Delivery.DELIVERED, Delivery.FAILED))),
    ).where(Message.case_id == case_id)
    total, settled = (await session.execute(query)).one()
    return int(total), int(settled)


async def caseworker_wrote_since(
    session: AsyncSession, *, case_id: uuid.UUID, since: datetime
) -> bool:
    """Whether a caseworker wrote to the witness of this case since a moment.

    A caseworker's message goes out on its own; the intake's replies answer a witness's
    message (`reply_to_id`).
    """
    query = (
        select(Message.id)
        .where(
            Message.case_id == case_id,
            Message.direction == Direction.OUT,
            Message.reply_to_id.is_(None),
            Message.created_at >= since,
        )
        .limit(1)
    )
    return (await session.execute(query)).first() is not None
