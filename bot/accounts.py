"""Caseworker sign-in: Argon2id passwords, random bearer tokens kept only as hashes, throttling.

Failed sign-ins are throttled where a stranger cannot reach the real caseworker:

- per username *and* client address: three tries, then a wait that doubles with every
  further failure (2 s, 4 s, 8 s, ... up to 15 minutes); a right password clears it.
  Someone guessing from another address slows only themselves.
- per client address: 20 failures in 15 minutes, whatever the usernames, and that
  address waits until the oldest of them ages out.
- per username, from every address together: past the ceiling (100 in an hour by
  default) supervisors are alerted, once an hour per account: on-call supervisors'
  phones (bot/alerts.py, "many failed sign-ins"), a banner on their console pages naming
  the account, an audit row `account.sign_in_ceiling` and a log warning, so a person
  can act, by disabling the account or changing its password. The ceiling locks no one
  out: locking out is what a stranger would want.

Every session ends `session_hours` after sign-in, however much it is used; a console
session also ends sooner when idle (see `keep_alive`). All of it runs on the injected clock.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, sessions
from storage.caseworkers import MAX_PASSWORD as MAX_PASSWORD
from storage.caseworkers import any_account, by_username, every_caseworker
from storage.crypto import Vault
from storage.db import Database
from storage.models import Caseworker, utcnow
from storage.states import Action, ActorKind

# What a new installation is told, at start and on the sign-in page, and nothing more.
FIRST_ACCOUNT = "python -m bot caseworker add NAME --supervisor"

log = logging.getLogger(__name__)

# Session kinds: API bearer tokens live a fixed time; console cookies end when idle.
API, CONSOLE = "api", sessions.CONSOLE
# Per username and client: free tries, then a doubling wait, remembered for a day.
FREE_TRIES = 3
FIRST_WAIT = timedelta(seconds=2)
LONGEST_WAIT = timedelta(minutes=15)
PAIR_MEMORY = timedelta(hours=24)
# Per client, whatever the usernames.
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_CLIENT = 20
# Per username, from every client: supervisors are alerted past the ceiling.
CEILING_WINDOW = timedelta(hours=1)
# What supervisors' phones are told: a label, no account name (the console shows it).
CEILING_ALERT = "many failed sign-ins"
HASHER = PasswordHasher()
# No account's username or password is longer: longer is refused, never cut.
MAX_USERNAME = 64


@functools.cache
def _decoy_hash() -> str:
    """Verified when the username does not exist, so both cases take the same time.

    Made on first use, not at import: importing the module costs nothing.
    """
    return HASHER.hash(secrets.token_urlsafe(16))


class Throttled(Exception):
    """Too many failed sign-ins for this username from this client, or from this client."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__("too many failed sign-ins")
        # Whole seconds, rounded up, and never 0: "try again in 0 seconds" invites a loop.
        self.retry_after = max(1, math.ceil(wait.total_seconds()))


class BadCredentials(Exception):
    """The username or password is wrong (which one is never said)."""


class NotSignedIn(Exception):
    """No token, or a token that is unknown, expired or revoked."""


class BadCredentialsLength(ValueError):
    """A sign-in whose username or password is empty or longer than any account's can be."""


@dataclass(frozen=True)
class Actor:
    """The signed-in caseworker, as every caseworker action sees them."""

    id: uuid.UUID
    username: str
    queues: frozenset[str]
    languages: frozenset[str]
    supervisor: bool

    @classmethod
    def of(cls, account: Caseworker | sessions.SignedIn) -> Actor:
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


@dataclass(frozen=True)
class _Keys:
    """Throttle keys: keyed hashes, so the table holds neither usernames nor addresses."""

    username: bytes
    client: bytes
    pair: bytes
    alarm: bytes


class Accounts:
    def __init__(
        self,
        *,
        db: Database,
        vault: Vault,
        session_hours: float,
        sign_in_ceiling: int = 100,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._vault = vault
        # The absolute lifetime of every session, console or API.
        self.lifetime = timedelta(hours=session_hours)
        self._ceiling = sign_in_ceiling
        self._clock = clock
        self._alert: Callable[[str], Awaitable[int]] | None = None

    def alert_supervisors_by(self, alert: Callable[[str], Awaitable[int]]) -> None:
        """How supervisors' phones are alerted past the ceiling (the app gives it once the
        channels are built; without it, the console banner and the audit row remain)."""
        self._alert = alert

    def _keys(self, username: str, client: str) -> _Keys:
        pair = json.dumps([username, client])
        return _Keys(
            username=self._vault.pseudonym(username, purpose="throttle-username"),
            client=self._vault.pseudonym(client, purpose="throttle-client"),
            pair=self._vault.pseudonym(pair, purpose="throttle-username-client"),
            alarm=self._alarm_key(username),
        )

    def _alarm_key(self, username: str) -> bytes:
        return self._vault.pseudonym(username, purpose="throttle-ceiling-alarm")

    async def sign_in(
        self,
        *,
        username: str,
        password: str,
        client: str,
        lifetime: timedelta | None = None,
        kind: str = API,
    ) -> Session:
        # Refused before it is counted: no account could match, so it is no guess.
        if not (0 < len(username) <= MAX_USERNAME and 0 < len(password) <= MAX_PASSWORD):
            raise BadCredentialsLength
        now = self._clock()
        name = username.strip().lower()
        keys = self._keys(name, client)
        # The attempt is counted as a failure before its password is checked, and taken
        # back if it was right or refused: each of many concurrent guesses then sees
        # those noted before it, so no more than the limit are ever checked.
        async with self._db.write() as session:
            attempt = await sessions.note_failure(
                session, keys=[keys.username, keys.client, keys.pair], now=now
            )
        async with self._db.read() as session:
            by_pair = await sessions.failure_times(
                session, key=keys.pair, since=now - PAIR_MEMORY, besides=attempt
            )
            by_client = await sessions.failure_times(
                session, key=keys.client, since=now - WINDOW, besides=attempt
            )
            account = await by_username(session, username=name)
        wait = max(_pair_wait(by_pair, now=now), _client_wait(by_client, now=now))
        if wait > timedelta(0):
            async with self._db.write() as session:
                await sessions.withdraw_failures(session, ids=attempt)
            raise Throttled(wait)
        decoy = _decoy_hash()
        stored = account.password_hash if account and not account.disabled_at else decoy
        if not await asyncio.to_thread(_verify, stored, password) or stored is decoy:
            async with self._db.write() as session:
                await self._forget_old(session, keys, now=now)
                crossed = account is not None and await self._check_ceiling(
                    session, keys, account=account, now=now
                )
            log.info("failed sign-in")
            if crossed:
                await self._alert_supervisors()
            raise BadCredentials
        assert account is not None  # noqa: S101 - the decoy branch above covers None
        token = secrets.token_urlsafe(32)
        expires_at = now + min(lifetime or self.lifetime, self.lifetime)
        async with self._db.write() as session:
            await sessions.withdraw_failures(session, ids=attempt)
            # The right password from this address: its earlier slips are forgiven.
            await sessions.forget_failures(session, key=keys.pair, before=None)
            await sessions.open_session(
                session,
                caseworker_id=account.id,
                token=token,
                now=now,
                expires_at=expires_at,
                kind=kind,
            )
        log.info("caseworker %s signed in", account.username)
        return Session(token=token, expires_at=expires_at, actor=Actor.of(account))

    async def _forget_old(self, session: AsyncSession, keys: _Keys, *, now: datetime) -> None:
        """Failures no longer counted are dropped, so the table stays small."""
        for key, kept in (
            (keys.username, CEILING_WINDOW),
            (keys.client, WINDOW),
            (keys.pair, PAIR_MEMORY),
            (keys.alarm, CEILING_WINDOW),
        ):
            await sessions.forget_failures(session, key=key, before=now - kept)

    async def _check_ceiling(
        self, session: AsyncSession, keys: _Keys, *, account: Caseworker, now: datetime
    ) -> bool:
        """Past the ceiling, once per window: the alarm noted, audited and logged; whether
        it was raised now (and supervisors' phones are to be alerted)."""
        since = now - CEILING_WINDOW
        if await sessions.failures_since(session, key=keys.username, since=since) <= self._ceiling:
            return False
        if await sessions.failures_since(session, key=keys.alarm, since=since):
            return False
        # The alarm is noted in the throttle table under its own key, on the same clock.
        await sessions.note_failure(session, keys=[keys.alarm], now=now)
        await audit.record(
            session,
            actor_kind=ActorKind.SYSTEM,
            action=Action.SIGN_IN_CEILING,
            detail=account.username,
        )
        log.warning(
            "caseworker %s: more than %d failed sign-ins within an hour",
            account.username,
            self._ceiling,
        )
        return True

    async def _alert_supervisors(self) -> None:
        if self._alert is None:
            return
        try:
            await self._alert(CEILING_ALERT)
        except Exception as exc:
            # The alarm is noted and shown in the console already; a failure here must
            # not turn a refused sign-in into a server error.
            log.error(
                "alerting supervisors of many failed sign-ins failed (%s)", type(exc).__name__
            )

    async def first_run(self) -> bool:
        """True until the first caseworker account exists."""
        async with self._db.read() as session:
            return not await any_account(session)

    async def sign_in_alarms(self, actor: Actor) -> list[str]:
        """Accounts past the sign-in ceiling within the last hour (for supervisors only)."""
        if not actor.supervisor:
            return []
        async with self._db.read() as session:
            names = {
                self._alarm_key(account.username): account.username
                for account in await every_caseworker(session)
            }
            raised = await sessions.busy_keys(
                session, keys=list(names), since=self._clock() - CEILING_WINDOW, more_than=0
            )
        return sorted(names[key] for key in raised)

    async def actor_for(self, token: str, *, kind: str = API) -> Actor:
        async with self._db.read() as session:
            account = await sessions.signed_in(
                session, token=token, kind=kind, now=self._clock(), max_age=self.lifetime
            )
        if account is None:
            raise NotSignedIn
        return Actor.of(account)

    async def keep_alive(self, token: str, *, idle: timedelta) -> None:
        """Push a console session's end to `idle` from now, never past its absolute lifetime."""
        async with self._db.write() as session:
            await sessions.extend(
                session, token=token, now=self._clock(), idle=idle, max_age=self.lifetime
            )

    async def sign_out(self, token: str) -> None:
        async with self._db.write() as session:
            await sessions.revoke(session, token=token, now=self._clock())


def _pair_wait(earlier: list[datetime], *, now: datetime) -> timedelta:
    """How long this username must wait at this address: doubling after the free tries."""
    if len(earlier) < FREE_TRIES:
        return timedelta(0)
    # The exponent is capped so a long history cannot overflow a timedelta.
    doubled = FIRST_WAIT * (1 << min(len(earlier) - FREE_TRIES, 20))
    return earlier[-1] + min(doubled, LONGEST_WAIT) - now


def _client_wait(earlier: list[datetime], *, now: datetime) -> timedelta:
    """How long this address must wait: until enough of its failures leave the window."""
    if len(earlier) < MAX_FAILURES_PER_CLIENT:
        return timedelta(0)
    return earlier[len(earlier) - MAX_FAILURES_PER_CLIENT] + WINDOW - now


def _verify(stored: str, password: str) -> bool:
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
