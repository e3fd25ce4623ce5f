"""Caseworker accounts; passwords kept only as Argon2id hashes.

An account may opt in to alerts (an SMS number, a Telegram chat id). Those are staff
details: sealed under the vault's staff key, bound to the account's row and field, and
never logged or printed.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import DecryptionFailed, KeyUnavailable, Vault, staff_version
from storage.models import Caseworker

log = logging.getLogger(__name__)

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
HASHER = PasswordHasher()
MIN_PASSWORD = 12
# Sign-in refuses anything longer (never cuts it), so no account may be given more.
MAX_PASSWORD = 1024
# E.164: "+" and up to 15 digits. Spaces, dashes, dots and brackets are dropped first.
SMS_NUMBER = re.compile(r"^\+[1-9][0-9]{6,14}$")
# A private chat's id is positive; a staff group's is negative.
TELEGRAM_CHAT = re.compile(r"^-?[1-9][0-9]{0,19}$")
ALERT_FIELDS = {"sms": "alert_sms", "telegram": "alert_telegram"}


class UsernameTaken(Exception):
    """An account with this username already exists."""


class InvalidAccount(ValueError):
    """The username, queues or languages given for an account are not acceptable."""


class InvalidAlertContact(InvalidAccount):
    """An alert number is not an international (E.164) number, or a chat id not a number."""


@dataclass(frozen=True)
class AlertContact:
    """Where one caseworker is alerted on one channel ("sms" or "telegram")."""

    channel: str
    address: str

    def __repr__(self) -> str:
        return f"AlertContact(channel={self.channel!r}, address=**********)"


async def add_caseworker(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    queues: list[str],
    languages: list[str],
    supervisor: bool,
) -> Caseworker:
    if not USERNAME.fullmatch(username):
        raise InvalidAccount("usernames are 2-64 of a-z, 0-9, '.', '_' and '-'")
    account = Caseworker(
        username=username,
        password_hash=_hashed(password),
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


def set_password(account: Caseworker, *, password: str) -> None:
    """Give an account a new password (kept only as its Argon2id hash)."""
    account.password_hash = _hashed(password)


def _hashed(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidAccount(f"passwords must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidAccount(f"passwords must be at most {MAX_PASSWORD} characters")
    return HASHER.hash(password)


async def any_account(session: AsyncSession) -> bool:
    """Whether anyone has an account yet (a new installation has none)."""
    return (await session.scalar(select(Caseworker.id).limit(1))) is not None


async def every_caseworker(session: AsyncSession) -> list[Caseworker]:
    """Every account, enabled or not, by username."""
    query = select(Caseworker).order_by(Caseworker.username)
    return list((await session.execute(query)).scalars())


async def working(session: AsyncSession, *, queue: str, language: str) -> list[Caseworker]:
    """Active accounts that work this queue and speak this language."""
    query = select(Caseworker).where(Caseworker.disabled_at.is_(None)).order_by(Caseworker.username)
    return [
        account
        for account in (await session.execute(query)).scalars()
        if queue in account.queues.split(",") and language in account.languages.split(",")
    ]


async def by_username(session: AsyncSession, *, username: str) -> Caseworker | None:
    """The account of this name; a name no account can have (too long, a NUL) finds none."""
    if not USERNAME.fullmatch(username):
        return None
    query = select(Caseworker).where(Caseworker.username == username)
    return (await session.execute(query)).scalar_one_or_none()


def set_alert_contacts(
    account: Caseworker,
    *,
    vault: Vault,
    sms: str | None = None,
    telegram: str | None = None,
    clear: bool = False,
) -> None:
    """Opt an account in to alerts (sealed); `clear` first removes both contacts."""
    if account.id is None:
        # The seal is bound to the row, so the row needs its id before the first flush.
        account.id = uuid.uuid4()
    number = _sms_number(sms) if sms is not None else None
    chat = _telegram_chat(telegram) if telegram is not None else None
    if clear:
        account.alert_sms_sealed = account.alert_telegram_sealed = None
    if number is not None:
        account.alert_sms_sealed = _seal(vault, account, "sms", number)
    if chat is not None:
        account.alert_telegram_sealed = _seal(vault, account, "telegram", chat)


def alert_contacts(account: Caseworker, *, vault: Vault) -> list[AlertContact]:
    """The account's alert contacts, opened; one sealed under a retired key is skipped."""
    found = []
    for channel, blob in _sealed_contacts(account):
        try:
            address = vault.open_staff(
                blob, table="caseworkers", field=ALERT_FIELDS[channel], row=account.id
            )
        except (KeyUnavailable, DecryptionFailed):
            log.warning(
                "caseworker %s: %s alert contact cannot be opened", account.username, channel
            )
            continue
        found.append(AlertContact(channel=channel, address=address))
    return found


def alert_channels(account: Caseworker) -> list[str]:
    """Which channels an account is alerted on, without opening anything."""
    return [channel for channel, _ in _sealed_contacts(account)]


async def on_call(session: AsyncSession, *, queue: str) -> list[Caseworker]:
    """Enabled accounts that opted in to alerts and work this queue, and every such supervisor."""
    query = (
        select(Caseworker)
        .where(
            Caseworker.disabled_at.is_(None),
            or_(
                Caseworker.alert_sms_sealed.is_not(None),
                Caseworker.alert_telegram_sealed.is_not(None),
            ),
        )
        .order_by(Caseworker.username)
    )
    return [
        account
        for account in (await session.execute(query)).scalars()
        if account.is_supervisor or queue in account.queues.split(",")
    ]


async def reseal_alert_contacts(session: AsyncSession, *, vault: Vault) -> int:
    """Seal every alert contact under the active master key version (after a rotation)."""
    resealed = 0
    for account in await _with_alert_contacts(session):
        for channel, blob in _sealed_contacts(account):
            if staff_version(blob) == vault.active_version:
                continue
            field = ALERT_FIELDS[channel]
            try:
                address = vault.open_staff(blob, table="caseworkers", field=field, row=account.id)
            except (KeyUnavailable, DecryptionFailed):
                continue
            setattr(account, f"{field}_sealed", _seal(vault, account, channel, address))
            resealed += 1
    return resealed


async def alert_contacts_under(session: AsyncSession, *, version: int) -> int:
    """How many alert contacts are sealed under this master key version."""
    return sum(
        1
        for account in await _with_alert_contacts(session)
        for _, blob in _sealed_contacts(account)
        if staff_version(blob) == version
    )


async def _with_alert_contacts(session: AsyncSession) -> list[Caseworker]:
    query = select(Caseworker).where(
        or_(Caseworker.alert_sms_sealed.is_not(None), Caseworker.alert_telegram_sealed.is_not(None))
    )
    return list((await session.execute(query)).scalars())


def _sealed_contacts(account: Caseworker) -> list[tuple[str, bytes]]:
    pairs = [("sms", account.alert_sms_sealed), ("telegram", account.alert_telegram_sealed)]
    return [(channel, blob) for channel, blob in pairs if blob is not None]


def _seal(vault: Vault, account: Caseworker, channel: str, address: str) -> bytes:
    return vault.seal_staff(
        address, table="caseworkers", field=ALERT_FIELDS[channel], row=account.id
    )


def _sms_number(text: str) -> str:
    number = re.sub(r"[\s().-]", "", text)
    if not SMS_NUMBER.fullmatch(number):
        # The value itself is never repeated back: it may be a real number.
        raise InvalidAlertContact("an alert SMS number must be international, like +15551234567")
    return number


def _telegram_chat(text: str) -> str:
    chat = text.strip()
    if not TELEGRAM_CHAT.fullmatch(chat):
        raise InvalidAlertContact("an alert Telegram chat id must be a number, like 123456789")
    return chat


def set_disabled(account: Caseworker, *, at: datetime | None) -> None:
    """Disabled since `at` (kept if already disabled), or enabled again with None."""
    if at is None or account.disabled_at is None:
        account.disabled_at = at
