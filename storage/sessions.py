"""Caseworker sign-in sessions and the failed sign-ins that throttle guessing.

Every function takes the time it works at (`now`) from its caller, so the service's one
clock decides when sessions and failures end.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Caseworker, CaseworkerSession, LoginFailure

CONSOLE = "console"


def token_hash(token: str) -> bytes:
    """Tokens are 256 random bits, so a plain SHA-256 is enough to make the stored copy useless."""
    return hashlib.sha256(token.encode("utf-8")).digest()


async def open_session(
    session: AsyncSession,
    *,
    caseworker_id: uuid.UUID,
    token: str,
    now: datetime,
    expires_at: datetime,
    kind: str,
) -> None:
    session.add(
        CaseworkerSession(
            token_hash=token_hash(token),
            caseworker_id=caseworker_id,
            created_at=now,
            expires_at=expires_at,
            kind=kind,
        )
    )


@dataclass(frozen=True)
class SignedIn:
    """The account behind a live token: what every request needs of it, and no more."""

    id: uuid.UUID
    username: str
    queues: str
    languages: str
    is_supervisor: bool


async def signed_in(
    session: AsyncSession, *, token: str, kind: str, now: datetime, max_age: timedelta
) -> SignedIn | None:
    """The account behind a live token of this kind: unexpired, unrevoked, and younger than
    `max_age` however often it was kept alive."""
    query = (
        select(
            Caseworker.id,
            Caseworker.username,
            Caseworker.queues,
            Caseworker.languages,
            Caseworker.is_supervisor,
        )
        .join(CaseworkerSession, CaseworkerSession.caseworker_id == Caseworker.id)
        .where(
            CaseworkerSession.token_hash == token_hash(token),
            CaseworkerSession.kind == kind,
            CaseworkerSession.revoked_at.is_(None),
            CaseworkerSession.expires_at > now,
            CaseworkerSession.created_at > now - max_age,
            Caseworker.disabled_at.is_(None),
        )
    )
    # Plain columns, not the account row: every authenticated request asks this.
    row = (await session.execute(query)).one_or_none()
    return None if row is None else SignedIn(*row)


async def revoke(session: AsyncSession, *, token: str, now: datetime) -> None:
    await session.execute(
        update(CaseworkerSession)
        .where(CaseworkerSession.token_hash == token_hash(token))
        .values(revoked_at=now)
    )


async def revoke_all(session: AsyncSession, *, caseworker_id: uuid.UUID, now: datetime) -> int:
    """End every session and API token of one account at once; how many were live."""
    result = await session.execute(
        update(CaseworkerSession)
        .where(
            CaseworkerSession.caseworker_id == caseworker_id,
            CaseworkerSession.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def extend(
    session: AsyncSession, *, token: str, now: datetime, idle: timedelta, max_age: timedelta
) -> None:
    """Keep a live console session alive for `idle` from now, never past `max_age` from its
    start (a console session slides while in use, up to its absolute lifetime)."""
    live = (
        CaseworkerSession.token_hash == token_hash(token),
        CaseworkerSession.kind == CONSOLE,
        CaseworkerSession.revoked_at.is_(None),
        # An ended session stays ended, even if it ended since the caller looked.
        CaseworkerSession.expires_at > now,
    )
    started = await session.scalar(select(CaseworkerSession.created_at).where(*live))
    if started is None:
        return
    await session.execute(
        update(CaseworkerSession)
        .where(*live)
        .values(expires_at=min(now + idle, started + max_age))
        .execution_options(synchronize_session=False)
    )


async def note_failure(session: AsyncSession, *, keys: list[bytes], now: datetime) -> list[int]:
    """Count a failed (or not yet checked) sign-in against each key; the new rows' ids."""
    rows = [LoginFailure(key=key, at=now) for key in keys]
    session.add_all(rows)
    await session.flush()
    return [row.id for row in rows]


async def withdraw_failures(session: AsyncSession, *, ids: list[int]) -> None:
    """Take back failures noted for an attempt that turned out right or was refused unchecked."""
    await session.execute(delete(LoginFailure).where(LoginFailure.id.in_(ids)))


async def failure_times(
    session: AsyncSession, *, key: bytes, since: datetime, besides: list[int]
) -> list[datetime]:
    """When this key failed since `since`, oldest first, leaving out the rows `besides`."""
    query = (
        select(LoginFailure.at)
        .where(LoginFailure.key == key, LoginFailure.at >= since, LoginFailure.id.not_in(besides))
        .order_by(LoginFailure.at)
    )
    return list((await session.execute(query)).scalars())


async def failures_since(session: AsyncSession, *, key: bytes, since: datetime) -> int:
    query = select(func.count()).where(LoginFailure.key == key, LoginFailure.at >= since)
    return int(await session.scalar(query) or 0)


async def busy_keys(
    session: AsyncSession, *, keys: list[bytes], since: datetime, more_than: int
) -> set[bytes]:
    """Which of these keys failed more than `more_than` times since `since`."""
    if not keys:
        return set()
    query = (
        select(LoginFailure.key)
        .where(LoginFailure.key.in_(keys), LoginFailure.at >= since)
        .group_by(LoginFailure.key)
        .having(func.count() > more_than)
    )
    return set((await session.execute(query)).scalars())


async def forget_failures(session: AsyncSession, *, key: bytes, before: datetime | None) -> None:
    """Failures of this key from before `before` (every one, for None) no longer count."""
    query = delete(LoginFailure).where(LoginFailure.key == key)
    if before is not None:
        query = query.where(LoginFailure.at < before)
    await session.execute(query)
