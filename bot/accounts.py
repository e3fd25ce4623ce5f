"""Caseworker sign-in: Argon2id passwords, random bearer tokens kept only as hashes, throttling.

Failed sign-ins are counted per username and per client over a sliding window; past the
limit, sign-in answers "too many attempts" until old failures age out, so an attacker
cannot guess for long and the real caseworker is never locked out for good.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from storage import sessions
from storage.caseworkers import USERNAME, by_username
from storage.crypto import Vault
from storage.db import Database
from storage.models import Caseworker, utcnow

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=15)
# Session kinds: API bearer tokens live a fixed time; console cookies end when idle.
API, CONSOLE = "api", "console"
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_CLIENT = 20
HASHER = PasswordHasher()
# Verified when the username does not exist, so both cases take the same time.
_DECOY_HASH = HASHER.hash(secrets.token_urlsafe(16))


class Throttled(Exception):
    """Too many failed sign-ins for this username or from this client; try again later."""


class BadCredentials(Exception):
    """The username or password is wrong (which one is never said)."""


class NotSignedIn(Exception):
    """No token, or a token that is unknown, expired or revoked."""


@dataclass(frozen=True)
class Actor:
    """The signed-in caseworker, as every caseworker action sees them."""

    id: uuid.UUID
    username: str
    queues: frozenset[str]
    languages: frozenset[str]
    supervisor: bool

    @classmethod
    def of(cls, account: Caseworker) -> Actor:
        return cls(
            id=account.id,
            username=account.username,
            queues=frozenset(q for q in account.queues.split(",") if q),
            languages=frozenset(lang for lang in account.languages.split(",") if lang),
            supervisor=account.is_supervisor,
        )


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: datetime
    actor: Actor


class Accounts:
    def __init__(self, *, db: Database, vault: Vault, session_hours: float) -> None:
        self._db = db
        self._vault = vault
        self._lifetime = timedelta(hours=session_hours)

    def _keys(self, username: str, client: str) -> tuple[bytes, bytes]:
        """Throttle keys: keyed hashes, so the table holds neither usernames nor addresses."""
        return (
            self._vault.pseudonym(username.strip().lower(), purpose="throttle-username"),
            self._vault.pseudonym(client, purpose="throttle-client"),
        )

    async def sign_in(
        self,
        *,
        username: str,
        password: str,
        client: str,
        lifetime: timedelta | None = None,
        kind: str = API,
    ) -> Session:
        user_key, client_key = self._keys(username, client)
        since = utcnow() - WINDOW
        # The attempt is counted as a failure before its password is checked, and taken
        # back if it was right or refused: each of many concurrent guesses then sees
        # those noted before it, so no more than the limit are ever checked.
        async with self._db.write() as session:
            attempt = await sessions.note_failure(session, keys=[user_key, client_key])
        async with self._db.read() as session:
            by_user = await sessions.failures_since(session, key=user_key, since=since)
            by_client = await sessions.failures_since(session, key=client_key, since=since)
            name = username.strip().lower()
            # No account can have a name of another form (nor may PostgreSQL see a NUL).
            account = await by_username(session, username=name) if USERNAME.match(name) else None
        if by_user > MAX_FAILURES_PER_USERNAME or by_client > MAX_FAILURES_PER_CLIENT:
            async with self._db.write() as session:
                await sessions.withdraw_failures(session, ids=attempt)
            raise Throttled
        stored = account.password_hash if account and not account.disabled_at else _DECOY_HASH
        if not await asyncio.to_thread(_verify, stored, password) or stored is _DECOY_HASH:
            async with self._db.write() as session:
                await sessions.forget_failures(session, keys=[user_key, client_key], before=since)
            log.info("failed sign-in")
            raise BadCredentials
        assert account is not None  # noqa: S101 - the decoy branch above covers None
        token = secrets.token_urlsafe(32)
        expires_at = utcnow() + (lifetime or self._lifetime)
        async with self._db.write() as session:
            await sessions.withdraw_failures(session, ids=attempt)
            await sessions.open_session(
                session, caseworker_id=account.id, token=token, expires_at=expires_at, kind=kind
            )
        log.info("caseworker %s signed in", account.username)
        return Session(token=token, expires_at=expires_at, actor=Actor.of(account))

    async def actor_for(self, token: str, *, kind: str = API) -> Actor:
        async with self._db.read() as session:
            account = await sessions.caseworker_for(session, token=token, kind=kind)
        if account is None:
            raise NotSignedIn
        return Actor.of(account)

    async def keep_alive(self, token: str, *, idle: timedelta) -> None:
        """Push a sliding session's end to `idle` from now (console sessions end when idle)."""
        async with self._db.write() as session:
            await sessions.extend(session, token=token, until=utcnow() + idle)

    async def sign_out(self, token: str) -> None:
        async with self._db.write() as session:
            await sessions.revoke(session, token=token)


def _verify(stored: str, password: str) -> bool:
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
