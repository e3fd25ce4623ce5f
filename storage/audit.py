"""The audit trail: who did what to which case, and when. Callers pass no witness content.

A detail that is a caseworker's own words (why they asked for a witness's number) may
touch the witness's story, so it is never kept readable: `seal_detail` seals it under
the witness's data key, bound to the case and the audit column, and stores it in
`detail` as `sealed:` followed by base64url. Erasing the witness shreds it with the
rest of their data. The column holds 255 characters, so a long text is shortened to fit.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import DataKey, DecryptionFailed
from storage.models import AuditEvent, Case, Caseworker

SEALED = "sealed:"
DETAIL_CHARS = 255
# AES-GCM adds a format byte, a 12-byte nonce and a 16-byte tag; base64 makes 3 bytes 4.
_SEAL_OVERHEAD = 1 + 12 + 16
SEALED_TEXT_BYTES = (DETAIL_CHARS - len(SEALED)) // 4 * 3 - _SEAL_OVERHEAD
_ELLIPSIS = "…"


async def record(
    session: AsyncSession,
    *,
    actor_kind: str,
    action: str,
    actor_id: uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
    detail: str | None = None,
    at: datetime | None = None,
) -> None:
    event = AuditEvent(
        actor_kind=actor_kind, actor_id=actor_id, action=action, case_id=case_id, detail=detail
    )
    if at is not None:
        event.at = at
    session.add(event)


async def keep_day_only(
    session: AsyncSession, *, case_ids: list[uuid.UUID], day_of: Callable[[datetime], datetime]
) -> None:
    """Strip an erased witness's entries to the action and the day: who, which case, a
    sealed detail and the time of day all go."""
    query = select(AuditEvent).where(AuditEvent.case_id.in_(case_ids))
    for event in (await session.execute(query)).scalars():
        event.at = day_of(event.at)
        event.actor_id = event.case_id = event.detail = None


def _fit(text: str, budget: int) -> str:
    """The text, shortened at a character boundary (and marked) to fit `budget` UTF-8 bytes."""
    if len(text.encode("utf-8")) <= budget:
        return text
    room = budget - len(_ELLIPSIS.encode("utf-8"))
    shortened = text.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return shortened + _ELLIPSIS


def seal_detail(key: DataKey, text: str, *, case_id: uuid.UUID) -> str:
    """A detail column value holding `text` sealed under the witness's data key."""
    blob = key.seal(
        _fit(text, SEALED_TEXT_BYTES), table="audit_events", field="detail", row=case_id
    )
    return SEALED + base64.urlsafe_b64encode(blob).decode("ascii")


def is_sealed(detail: str | None) -> bool:
    return detail is not None and detail.startswith(SEALED)


def open_detail(key: DataKey, detail: str, *, case_id: uuid.UUID) -> str | None:
    """The text of a sealed detail; None when it does not open here."""
    try:
        blob = base64.urlsafe_b64decode(detail[len(SEALED) :].encode("ascii"))
        return key.open(blob, table="audit_events", field="detail", row=case_id)
    except (binascii.Error, ValueError, DecryptionFailed):
        return None


@dataclass(frozen=True)
class TrailEntry:
    """One audit row as supervisors see it: who (by name), which case (by reference)."""

    event: AuditEvent
    username: str | None
    reference: str | None
    witness_id: uuid.UUID | None


async def trail(
    session: AsyncSession,
    *,
    limit: int,
    reference: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
) -> list[TrailEntry]:
    """The newest entries first, with their caseworker's name and case's reference."""
    query = (
        select(AuditEvent, Caseworker.username, Case.reference, Case.witness_id)
        .outerjoin(Caseworker, Caseworker.id == AuditEvent.actor_id)
        .outerjoin(Case, Case.id == AuditEvent.case_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    if reference is not None:
        query = query.where(Case.reference == reference)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    rows = (await session.execute(query)).all()
    return [TrailEntry(event, username, ref, witness) for event, username, ref, witness in rows]
