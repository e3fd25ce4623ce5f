"""Caseworker accounts over their life: list, disable, enable, new password; each audited.

The operator runs these from the command line (audited as "admin"); supervisors disable
and enable accounts from the console (audited under their name). Disabling ends every
session and API token of the account at once, and a password reset does the same, so a
lost laptop or a leaked password stops working the moment it is dealt with. Re-enabling
an account revives none of its old sessions: it signs in again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import Actor
from bot.casework import SupervisorsOnly
from storage import audit, caseworkers, sessions
from storage.db import Database
from storage.models import Caseworker, utcnow
from storage.states import Action, ActorKind

log = logging.getLogger(__name__)


class NoSuchAccount(LookupError):
    """No caseworker account has this username."""


class OwnAccount(Exception):
    """A supervisor tried to disable their own account (someone else must)."""


@dataclass(frozen=True)
class AccountView:
    """An account as the roster shows it: never its password hash or alert contacts."""

    username: str
    queues: list[str]
    languages: list[str]
    supervisor: bool
    disabled: bool
    alerts: list[str]

    @classmethod
    def of(cls, account: Caseworker) -> AccountView:
        return cls(
            username=account.username,
            queues=[q for q in account.queues.split(",") if q],
            languages=[lang for lang in account.languages.split(",") if lang],
            supervisor=account.is_supervisor,
            disabled=account.disabled_at is not None,
            alerts=caseworkers.alert_channels(account),
        )


class Roster:
    def __init__(self, *, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def accounts(self, actor: Actor | None = None) -> list[AccountView]:
        """Every account; `actor` None is the operator at the command line."""
        _check(actor)
        async with self._db.read() as session:
            return [AccountView.of(a) for a in await caseworkers.every_caseworker(session)]

    async def disable(self, username: str, *, actor: Actor | None = None) -> int:
        """Disable an account and end all its sessions; how many were live."""
        _check(actor)
        if actor is not None and actor.username == username:
            raise OwnAccount(username)
        now = self._clock()

        async def work(session: AsyncSession) -> int:
            account = await _account(session, username)
            caseworkers.set_disabled(account, at=now)
            ended = await sessions.revoke_all(session, caseworker_id=account.id, now=now)
            await _audit(session, actor, Action.DISABLED, username)
            return ended

        ended = await self._db.transact(work)
        log.info("caseworker %s disabled, %d sessions ended", username, ended)
        return ended

    async def enable(self, username: str, *, actor: Actor | None = None) -> None:
        _check(actor)

        async def work(session: AsyncSession) -> None:
            account = await _account(session, username)
            caseworkers.set_disabled(account, at=None)
            await _audit(session, actor, Action.ENABLED, username)

        await self._db.transact(work)
        log.info("caseworker %s enabled", username)

    async def reset_password(
        self, username: str, password: str, *, actor: Actor | None = None
    ) -> int:
        """Set a new password and end every session signed in with the old one."""
        _check(actor)

        async def work(session: AsyncSession) -> int:
            account = await _account(session, username)
            caseworkers.set_password(account, password=password)
            ended = await sessions.revoke_all(session, caseworker_id=account.id, now=self._clock())
            await _audit(session, actor, Action.PASSWORD_RESET, username)
            return ended

        ended = await self._db.transact(work)
        log.info("caseworker %s has a new password, %d sessions ended", username, ended)
        return ended


def _check(actor: Actor | None) -> None:
    if actor is not None and not actor.supervisor:
        raise SupervisorsOnly


async def _account(session: AsyncSession, username: str) -> Caseworker:
    account = await caseworkers.by_username(session, username=username)
    if account is None:
        raise NoSuchAccount(username)
    return account


async def _audit(session: AsyncSession, actor: Actor | None, action: str, username: str) -> None:
    await audit.record(
        session,
        actor_kind=ActorKind.CASEWORKER if actor else ActorKind.ADMIN,
        actor_id=actor.id if actor else None,
        action=action,
        detail=username,
    )
