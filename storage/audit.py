"""The audit trail: who did what to which case, and when. Callers pass no witness content."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent


async def record(
    session: AsyncSession,
    *,
    actor_kind: str,
    action: str,
    actor_id: uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        AuditEvent(
            actor_kind=actor_kind,
            actor_id=actor_id,
            action=action,
            case_id=case_id,
            detail=detail,
        )
    )
