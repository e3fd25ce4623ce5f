"""Witnesses: found by a keyed hash of their channel address, never by the address itself."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.crypto import DataKey, KeyUnavailable, Vault, WrappedKey
from storage.models import (
    Case,
    Conversation,
    DataKeyRow,
    ErasedReference,
    Message,
    OutboxItem,
    Witness,
    utcnow,
)
from storage.outbox import TRANSIT_KINDS
from storage.states import Action, ActorKind, CaseStatus, OutboxStatus

LOOKUP_PURPOSE = "witness-address"
ERASED_REFERENCE_PURPOSE = "erased-case-reference"
ALIAS_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def lookup_value(channel: str, address: str) -> str:
    return f"{channel}\x00{address}"


def new_alias() -> str:
    """A short random name caseworkers and logs use instead of anything identifying."""
    return "W-" + "".join(secrets.choice(ALIAS_ALPHABET) for _ in range(6))


async def find_witness(
    session: AsyncSession, *, vault: Vault, channel: str, address: str, lock: bool = True
) -> Witness | None:
    """The witness behind this address, under any master key version still held."""
    candidates = vault.pseudonym_candidates(lookup_value(channel, address), purpose=LOOKUP_PURPOSE)
    query = select(Witness).where(Witness.lookup_key.in_(list(candidates.values())))
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalars().first()


async def lock(session: AsyncSession, *, witness_id: uuid.UUID) -> None:
    """Take the witness's row lock: whoever writes their messages takes it first."""
    await session.execute(select(Witness.id).where(Witness.id == witness_id).with_for_update())


async def lock_all(session: AsyncSession, *, witness_ids: Iterable[uuid.UUID]) -> None:
    """Take several witnesses' row locks in one statement, in id order: the order every
    batch takes them in, so two batches never hold each other's."""
    ids = sorted(set(witness_ids))
    if ids:
        query = select(Witness.id).where(Witness.id.in_(ids)).order_by(Witness.id)
        await session.execute(query.with_for_update())


async def locked(session: AsyncSession, *, witness_id: uuid.UUID) -> Witness | None:
    """The witness, with their row lock taken."""
    return await session.get(Witness, witness_id, with_for_update=True)


async def create_witness(
    session: AsyncSession, *, vault: Vault, channel: str, address: str
) -> tuple[Witness, DataKey]:
    witness_id = uuid.uuid4()
    key, wrapped = vault.new_data_key(witness_id)
    witness = Witness(
        id=witness_id,
        alias=new_alias(),
        lookup_key=vault.pseudonym(lookup_value(channel, address), purpose=LOOKUP_PURPOSE),
        lookup_version=vault.active_version,
        channel=channel,
        address_sealed=key.seal(address, table="witnesses", field="address", row=witness_id),
        opted_out=False,
    )
    session.add(witness)
    session.add(
        DataKeyRow(
            witness_id=witness_id, master_version=wrapped.master_version, wrapped=wrapped.blob
        )
    )
    return witness, key


async def data_key_for(session: AsyncSession, *, vault: Vault, witness_id: uuid.UUID) -> DataKey:
    """The witness's unwrapped data key; KeyUnavailable once they were erased."""
    return unwrapped(await session.get(DataKeyRow, witness_id), vault=vault, witness_id=witness_id)


def unwrapped(row: DataKeyRow | None, *, vault: Vault, witness_id: uuid.UUID) -> DataKey:
    """The data key a stored row wraps; KeyUnavailable for no row (an erased witness)."""
    wrapped = None if row is None else WrappedKey(row.master_version, row.wrapped)
    return vault.unwrap(wrapped, witness_id)


def reply_address(witness: Witness, key: DataKey) -> str:
    if witness.address_sealed is None:
        raise KeyUnavailable("this witness's address has been destroyed")
    return key.open(witness.address_sealed, table="witnesses", field="address", row=witness.id)


async def erase_witness(
    session: AsyncSession,
    *,
    vault: Vault,
    witness_id: uuid.UUID,
    actor_kind: ActorKind = ActorKind.WITNESS,
) -> list[uuid.UUID]:
    """Crypto-shred a witness, then remove everything that could link rows back to them.

    Deleting the data key is what makes every copy (backups included, once the master
    key version of that time is retired) unreadable. Then the witness row (and with it
    the lookup hash), their conversation and every message row (provider id hashes,
    sealed handles and options, to-the-microsecond times) are deleted; their cases keep
    only the aggregate facts (queue, needs, priority, language, the days they opened and
    closed, the outcome) and their audit entries only the action and the day. Work that
    must outlive them ("erase", "forget") stays in the outbox, naming no one. Cases still
    open close as "erased" (a witness's request) or "expired" (retention, the "system"
    actor), audited the same day-only way. Returns the ids of their cases.
    """
    outcome, action = (
        ("expired", Action.EXPIRED) if actor_kind == ActorKind.SYSTEM else ("erased", Action.ERASED)
    )
    case_ids = list(
        (await session.execute(select(Case.id).where(Case.witness_id == witness_id))).scalars()
    )
    await session.execute(delete(DataKeyRow).where(DataKeyRow.witness_id == witness_id))
    await session.execute(delete(Conversation).where(Conversation.witness_id == witness_id))
    await session.execute(
        update(OutboxItem)
        .where(OutboxItem.witness_id == witness_id, OutboxItem.kind.in_(TRANSIT_KINDS))
        .values(witness_id=None)
    )
    await session.execute(delete(OutboxItem).where(OutboxItem.witness_id == witness_id))
    await session.execute(delete(Message).where(Message.witness_id == witness_id))
    today = day_of(utcnow())
    for case in (await session.execute(select(Case).where(Case.id.in_(case_ids)))).scalars():
        if case.reference is not None:
            session.add(ErasedReference(reference_key=erased_reference_key(vault, case.reference)))
        _keep_aggregate_facts(case, outcome=outcome, today=today)
    await session.flush()
    await audit.keep_day_only(session, case_ids=case_ids, day_of=day_of)
    for _case_id in case_ids:
        await audit.record(session, actor_kind=actor_kind, action=action, at=today)
    await session.execute(delete(Witness).where(Witness.id == witness_id))
    return case_ids


def _keep_aggregate_facts(case: Case, *, outcome: str, today: datetime) -> None:
    if case.status != CaseStatus.CLOSED:
        case.status, case.outcome, case.closed_at = CaseStatus.CLOSED, outcome, today
    opened = day_of(case.created_at)
    case.created_at = case.updated_at = case.witness_active_at = opened
    case.closed_at = day_of(case.closed_at) if case.closed_at else today
    case.witness_id = case.reference = None
    case.answers_sealed = case.outcome_sealed = None
    case.assigned_to = case.previous_holder = None
    case.claimed_at = case.touched_at = case.due_at = None
    case.escalated_at = case.alerted_at = None
    case.triage = ""


def erased_reference_key(vault: Vault, reference: str, *, version: int | None = None) -> bytes:
    return vault.pseudonym(reference, purpose=ERASED_REFERENCE_PURPOSE, version=version)


async def was_erased(session: AsyncSession, *, vault: Vault, reference: str) -> bool:
    """Whether a case of this reference existed and its witness was erased."""
    keys = vault.pseudonym_candidates(reference, purpose=ERASED_REFERENCE_PURPOSE)
    query = select(ErasedReference.reference_key).where(
        ErasedReference.reference_key.in_(list(keys.values()))
    )
    return (await session.execute(query.limit(1))).first() is not None


def day_of(moment: datetime) -> datetime:
    """Midnight UTC of a moment's day: all that erased records keep of a time."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def touch(session: AsyncSession, *, witness: Witness, when: datetime | None = None) -> None:
    witness.last_active_at = when or utcnow()


def set_language(witness: Witness, language: str) -> None:
    witness.language = language


def set_opted_out(witness: Witness, opted_out: bool) -> None:
    """STOP (or the provider's word that they refuse messages); START or a new message
    where the channel allows it undoes it."""
    witness.opted_out = opted_out


async def pause(session: AsyncSession, *, witness: Witness, now: datetime) -> None:
    """EXIT: nothing is sent to this witness until they write again."""
    witness.paused_at = now


async def resume(session: AsyncSession, *, witness: Witness, now: datetime) -> None:
    """They wrote again: what was held for them goes out now."""
    witness.paused_at = None
    await session.execute(
        update(OutboxItem)
        .where(OutboxItem.witness_id == witness.id, OutboxItem.status == OutboxStatus.PENDING)
        .values(next_attempt_at=now)
    )
