"""Caseworker accounts; passwords kept only as Argon2id hashes."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Caseworker

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
HASHER = PasswordHasher()


class UsernameTaken(Exception):
    """An account with this username already exists."""


class InvalidAccount(ValueError):
    """The username, queues or languages given for an account are not acceptable."""


async def add_caseworker(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    queues: list[str],
    languages: list[str],
    supervisor: bool,
) -> Caseworker:
    if not USERNAME.match(username):
        raise InvalidAccount("usernames are 2-64 of a-z, 0-9, '.', '_' and '-'")
    if len(password) < 12:
        raise InvalidAccount("passwords must be at least 12 characters")
    account = Caseworker(
        username=username,
        password_hash=HASHER.hash(password),
        queues=",".join(queues),
        languages=",".join(languages),
        is_supervisor=supervisor,
    )
    try:
        async with session.begin_nested():
            session.add(account)
            await session.flush()
    except IntegrityError as exc:
        raise UsernameTaken(username) from exc
    return account


async def working(session: AsyncSession, *, queue: str, language: str) -> list[Caseworker]:
    """Active accounts that work this queue and speak this language."""
    query = select(Caseworker).where(Caseworker.disabled_at.is_(None)).order_by(Caseworker.username)
    return [
        account
        for account in (await session.execute(query)).scalars()
        if queue in account.queues.split(",") and language in account.languages.split(",")
    ]


async def by_username(session: AsyncSession, *, username: str) -> Caseworker | None:
    query = select(Caseworker).where(Caseworker.username == username)
    return (await session.execute(query)).scalar_one_or_none()
