"""Caseworker sign-in sessions and the failed sign-ins that throttle guessing."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Caseworker, CaseworkerSession, LoginFailure, utcnow


def token_hash(token: str) -> bytes:
    """Tokens are 256 random bits, so a plain SHA-256 is enough to make the stored copy useless."""
    return hashlib.sha256(token.encode("utf-8")).digest()


async def open_session(
    session: AsyncSession,
    *,
    caseworker_id: uuid.UUID,
    token: str,
    expires_at: datetime,
    kind: str,
) -> None:
    session.add(
        CaseworkerSession(
            token_hash=token_hash(token),
            caseworker_id=caseworker_id,
            expires_at=expires_at,
            kind=kind,
        )
    )


async def caseworker_for(session: AsyncSession, *, token: str, kind: str) -> Caseworker | None:
    """The account behind a live (unexpired, unrevoked) token of this kind, if any."""
    query = (
        select(Caseworker)
        .join(CaseworkerSession, CaseworkerSession.caseworker_id == Caseworker.id)
        .where(
            CaseworkerSession.token_hash == token_hash(token),
            CaseworkerSession.kind == kind,
            CaseworkerSession.revoked_at.is_(None),
            CaseworkerSession.expires_at > utcnow(),
            Caseworker.disabled_at.is_(None),
        )
    )
    return (await session.execute(query)).scalar_one_or_none()


async def revoke(session: AsyncSession, *, token: str) -> None:
    await session.execute(
        update(CaseworkerSession)
        .where(CaseworkerSession.token_hash == token_hash(token))
        .values(revoked_at=utcnow())
    )


async def note_failure(session: AsyncSession, *, keys: list[bytes]) -> list[int]:
    """Count a failed (or not yet checked) sign-in against each key; the new rows' ids."""
    rows = [LoginFailure(key=key) for key in keys]
    session.add_all(rows)
    await session.flush()
    return [row.id for row in rows]


async def withdraw_failures(session: AsyncSession, *, ids: list[int]) -> None:
    """Take back failures noted for an attempt that turned out right or was refused unchecked."""
    await session.execute(delete(LoginFailure).where(LoginFailure.id.in_(ids)))


async def failures_since(session: AsyncSession, *, key: bytes, since: datetime) -> int:
    query = select(func.count()).where(LoginFailure.key == key, LoginFailure.at >= since)
    return int(await session.scalar(query) or 0)


async def forget_failures(session: AsyncSession, *, keys: list[bytes], before: datetime) -> None:
    """Old failures no longer count: drop them so the table stays small."""
    await session.execute(
        delete(LoginFailure).where(LoginFailure.key.in_(keys), LoginFailure.at < before)
    )


async def extend(session: AsyncSession, *, token: str, until: datetime) -> None:
    """Keep a live session alive until `until` (a console session slides while in use)."""
    await session.execute(
        update(CaseworkerSession)
        .where(
            CaseworkerSession.token_hash == token_hash(token),
            CaseworkerSession.kind == "console",
            CaseworkerSession.revoked_at.is_(None),
            # An ended session stays ended, even if it ended since the caller looked.
            CaseworkerSession.expires_at > utcnow(),
        )
        .values(expires_at=until)
    )
