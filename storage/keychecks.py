"""Recognising the master keys a database was written with, before anything is sealed.

Each master key version leaves a check value in the database (an HMAC under a key derived
from it). At start the configured keys must reproduce every check value they claim, and
must hold every version the database still depends on; a database that holds anything
sealed is never given a freshly generated key. A mistake here would make every returning
witness a stranger and orphan their case, so the service refuses to start instead, and
writes nothing.
"""

from __future__ import annotations

import hmac

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import (
    DecryptionFailed,
    Vault,
    WrappedKey,
    master_check_value,
    sealed_version,
)
from storage.db import Database
from storage.keyring import KeySource, MasterKeyError
from storage.models import DataKeyRow, MasterKeyCheck, OutboxItem, Witness


async def open_keys(db: Database, *, keys: KeySource, vault: Vault) -> None:
    """Check the configured master keys against the database; MasterKeyError says why not."""
    async with db.read() as session:
        checks = {
            row.version: row.check_value
            for row in (await session.execute(select(MasterKeyCheck))).scalars()
        }
        in_use = await versions_in_use(session)
    if not keys.configured:
        if checks or in_use:
            seen = ", ".join(str(v) for v in sorted({*checks, *in_use}))
            raise MasterKeyError(
                f"this database holds data sealed under master key version {seen} and no "
                f"master key is configured: restore {keys.describe} or set INTAKE_MASTER_KEY "
                "(a new key would make every witness a stranger)"
            )
        keys.create_first()
    keyring = keys.keyring
    for version, value in checks.items():
        if version in keyring.keys and not hmac.compare_digest(vault.check_value(version), value):
            raise MasterKeyError(
                f"master key version {version} in {keys.describe} is not the key this "
                "database was written with"
            )
    missing = sorted(v for v in {*in_use, max(checks, default=0)} if v and v not in keyring.keys)
    if missing:
        raise MasterKeyError(
            f"this database depends on master key version {', '.join(map(str, missing))}, "
            f"which {keys.describe} does not hold"
        )
    unchecked = [v for v in keyring.keys if v not in checks]
    async with db.read() as session:
        for version in unchecked:
            await _verify_by_unwrapping(session, vault=vault, version=version, keys=keys)
    if unchecked:
        async with db.write() as session:
            for version in unchecked:
                session.add(MasterKeyCheck(version=version, check_value=vault.check_value(version)))


async def versions_in_use(session: AsyncSession) -> set[int]:
    """Master key versions that wrap a data key, derive a lookup key or seal outbox work."""
    wrapped = await session.execute(select(DataKeyRow.master_version).distinct())
    looked = await session.execute(
        select(Witness.lookup_version).where(Witness.lookup_version.is_not(None)).distinct()
    )
    payloads = await session.execute(
        select(OutboxItem.payload_sealed).where(OutboxItem.payload_sealed.is_not(None))
    )
    versions = {int(v) for v in wrapped.scalars()} | {int(v) for v in looked.scalars() if v}
    return versions | {sealed_version(blob) for blob in payloads.scalars() if blob}


async def _verify_by_unwrapping(
    session: AsyncSession, *, vault: Vault, version: int, keys: KeySource
) -> None:
    """A version with no check value yet (a database from before them, or a version just
    added): if it wraps a data key, it must open it."""
    row = (
        await session.execute(
            select(DataKeyRow).where(DataKeyRow.master_version == version).limit(1)
        )
    ).scalar_one_or_none()
    if row is None:
        return
    try:
        vault.unwrap(WrappedKey(row.master_version, row.wrapped), row.witness_id)
    except DecryptionFailed:
        raise MasterKeyError(
            f"master key version {version} in {keys.describe} does not open the data keys "
            "this database holds under it"
        ) from None


async def keys_match(db: Database, *, keys: KeySource) -> bool:
    """Whether the master keys in use (the key file re-read if it changed) still match the
    database: they reproduce every check value they claim, the active version has one, and
    they hold the newest version the database records.

    Cheap enough for a readiness probe: one small read and one derivation per version.
    """
    async with db.read() as session:
        checks = {
            row.version: row.check_value
            for row in (await session.execute(select(MasterKeyCheck))).scalars()
        }
    try:
        keyring = keys.refresh()
    except MasterKeyError:
        return False
    if keyring.active not in checks or max(checks) not in keyring.keys:
        return False
    return all(
        hmac.compare_digest(master_check_value(key), checks[version])
        for version, key in keyring.keys.items()
        if version in checks
    )
