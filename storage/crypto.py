"""Envelope encryption and pseudonyms.

Every witness has a random 256-bit data key, stored only wrapped (AES-256-GCM) by a
versioned master key. Every sensitive field is sealed with AES-256-GCM under the
witness's data key, with a random 96-bit nonce and associated data naming the table,
field, row and data key, so a ciphertext moved anywhere else fails to open. Lookups use
HMAC-SHA256 under a key derived (HKDF) from the master key with its own purpose label;
staff details (where on-call caseworkers are alerted) are sealed under another such key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.keyring import KeySource, UnknownKeyVersion

FORMAT_V1 = b"\x01"
# Sealed with a context beyond table, field and row (a message's direction and case).
FORMAT_V2 = b"\x02"
NONCE_BYTES = 12
DATA_KEY_BYTES = 32
PSEUDONYM_LABEL = b"witness-intake/pseudonym/v1"
TRANSIT_LABEL = b"witness-intake/transit/v1"
STAFF_LABEL = b"witness-intake/staff/v1"
CHECK_LABEL = b"witness-intake/check/v1"


def master_check_value(master: bytes) -> bytes:
    """The check value of one master key (derived afresh: a key file swapped under a running
    service must not be vouched for by a key derived from the one it replaced)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=CHECK_LABEL).derive(master)
    return hmac.new(key, b"witness-intake master key check", hashlib.sha256).digest()


class DecryptionFailed(Exception):
    """A ciphertext was altered, moved to another row or field, or sealed under another key."""


class KeyUnavailable(Exception):
    """The data key is gone (the witness was erased) or its master key version was retired."""


@dataclass(frozen=True)
class WrappedKey:
    master_version: int
    blob: bytes


def _aad(*parts: str) -> bytes:
    return "|".join(parts).encode("utf-8")


def _seal(key: bytes, plaintext: bytes, aad: bytes, *, form: bytes = FORMAT_V1) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return form + nonce + AESGCM(key).encrypt(nonce, plaintext, form + aad)


def _open(key: bytes, blob: bytes, aad: bytes, *, form: bytes = FORMAT_V1) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != form:
        raise DecryptionFailed("not a sealed value")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, form + aad)
    except InvalidTag:
        raise DecryptionFailed("ciphertext does not open under this key and place") from None


def _form(context: tuple[str, ...]) -> bytes:
    return FORMAT_V2 if context else FORMAT_V1


def is_legacy(blob: bytes) -> bool:
    """Sealed before its field took a context: opened without one, then sealed anew."""
    return blob[:1] == FORMAT_V1


def sealed_version(blob: bytes) -> int:
    """The master key version a transit payload or staff detail was sealed under (its
    first two bytes)."""
    return int.from_bytes(blob[:2], "big")


def staff_version(blob: bytes) -> int:
    """The master key version a staff detail was sealed under."""
    return sealed_version(blob)


class DataKey:
    """An unwrapped per-witness key; seals and opens that witness's fields."""

    __slots__ = ("_key", "owner")

    def __init__(self, *, owner: UUID, key: bytes) -> None:
        self.owner = owner
        self._key = key

    def seal(
        self,
        plaintext: str,
        *,
        table: str,
        field: str,
        row: UUID | str,
        context: tuple[str, ...] = (),
    ) -> bytes:
        """Seal a field; `context` binds more of the row (changing it later fails to open)."""
        aad = self._field_aad(table, field, row, context)
        return _seal(self._key, plaintext.encode("utf-8"), aad, form=_form(context))

    def open(
        self,
        blob: bytes,
        *,
        table: str,
        field: str,
        row: UUID | str,
        context: tuple[str, ...] = (),
    ) -> str:
        aad = self._field_aad(table, field, row, context)
        return _open(self._key, blob, aad, form=_form(context)).decode("utf-8")

    def _field_aad(
        self, table: str, field: str, row: UUID | str, context: tuple[str, ...]
    ) -> bytes:
        return _aad("field", table, field, str(row), f"dk:{self.owner}", *context)

    def __repr__(self) -> str:
        return f"DataKey(owner={self.owner})"


class Vault:
    """Wraps data keys with the master keys and derives the pseudonym keys."""

    def __init__(self, source: KeySource) -> None:
        self._source = source
        self._derived_keys: dict[tuple[bytes, int], bytes] = {}

    @property
    def active_version(self) -> int:
        return self._source.keyring.active

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self._source.refresh().keys))

    def new_data_key(self, owner: UUID) -> tuple[DataKey, WrappedKey]:
        raw = secrets.token_bytes(DATA_KEY_BYTES)
        return DataKey(owner=owner, key=raw), self._wrap(raw, owner)

    def unwrap(self, wrapped: WrappedKey | None, owner: UUID) -> DataKey:
        if wrapped is None:
            raise KeyUnavailable("this witness's data key has been destroyed")
        try:
            master = self._master(wrapped.master_version)
        except UnknownKeyVersion as exc:
            raise KeyUnavailable(str(exc)) from None
        raw = _open(master, wrapped.blob, self._wrap_aad(owner, wrapped.master_version))
        return DataKey(owner=owner, key=raw)

    def rewrap(self, wrapped: WrappedKey, owner: UUID) -> WrappedKey:
        """The same data key, wrapped under the active master key version."""
        key = self.unwrap(wrapped, owner)
        # Same module: the raw key bytes never leave storage.crypto.
        return self._wrap(key._key, owner)

    def pseudonym(self, value: str, *, purpose: str, version: int | None = None) -> bytes:
        """A keyed hash of an identifier: stable for lookups, useless without the master key."""
        key = self._pseudonym_key(self.active_version if version is None else version)
        return hmac.new(key, _aad(purpose, value), hashlib.sha256).digest()

    def pseudonym_candidates(self, value: str, *, purpose: str) -> dict[int, bytes]:
        """The keyed hash under every master version held, for lookups across a rotation."""
        return {v: self.pseudonym(value, purpose=purpose, version=v) for v in self.versions}

    def seal_transit(self, plaintext: str, *, row: UUID) -> bytes:
        """Seal short-lived work that must outlive a witness's data key (the erase farewell).

        Sealed under a key derived from the active master key, and deleted once done.
        """
        version = self.active_version
        key = self._derived(TRANSIT_LABEL, version)
        body = _seal(key, plaintext.encode("utf-8"), _aad("transit", str(row), f"mk:{version}"))
        return version.to_bytes(2, "big") + body

    def open_transit(self, blob: bytes, *, row: UUID) -> str:
        version = sealed_version(blob)
        try:
            key = self._derived(TRANSIT_LABEL, version)
        except UnknownKeyVersion as exc:
            raise KeyUnavailable(str(exc)) from None
        aad = _aad("transit", str(row), f"mk:{version}")
        return _open(key, blob[2:], aad).decode("utf-8")

    def reseal_transit(self, blob: bytes, *, row: UUID) -> bytes:
        """The same transit payload, sealed under the active master key version."""
        return self.seal_transit(self.open_transit(blob, row=row), row=row)

    def check_value(self, version: int) -> bytes:
        """A value only this master key version reproduces, stored to recognise it at start."""
        return master_check_value(self._master(version))

    def seal_staff(self, plaintext: str, *, table: str, field: str, row: UUID) -> bytes:
        """Seal a staff detail (an on-call caseworker's alert number or chat).

        Staff have no data key of their own; their details are sealed under a key derived
        from the active master key, bound to their table, field and row, and carry the
        master version so a rotation can reseal them.
        """
        version = self.active_version
        key = self._derived(STAFF_LABEL, version)
        aad = _aad("staff", table, field, str(row), f"mk:{version}")
        return version.to_bytes(2, "big") + _seal(key, plaintext.encode("utf-8"), aad)

    def open_staff(self, blob: bytes, *, table: str, field: str, row: UUID) -> str:
        version = staff_version(blob)
        try:
            key = self._derived(STAFF_LABEL, version)
        except UnknownKeyVersion as exc:
            raise KeyUnavailable(str(exc)) from None
        aad = _aad("staff", table, field, str(row), f"mk:{version}")
        return _open(key, blob[2:], aad).decode("utf-8")

    def _wrap(self, raw: bytes, owner: UUID) -> WrappedKey:
        version = self.active_version
        blob = _seal(self._master(version), raw, self._wrap_aad(owner, version))
        return WrappedKey(master_version=version, blob=blob)

    def _master(self, version: int) -> bytes:
        try:
            return self._source.keyring.key(version)
        except UnknownKeyVersion:
            return self._source.refresh().key(version)

    def _pseudonym_key(self, version: int) -> bytes:
        return self._derived(PSEUDONYM_LABEL, version)

    def _derived(self, label: bytes, version: int) -> bytes:
        """A key for one purpose, derived (HKDF-SHA256) from a master key version."""
        master = self._master(version)  # raises once the version is retired
        key = self._derived_keys.get((label, version))
        if key is None:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label)
            key = self._derived_keys[(label, version)] = hkdf.derive(master)
        return key

    @staticmethod
    def _wrap_aad(owner: UUID, version: int) -> bytes:
        return _aad("data-key", str(owner), f"mk:{version}")
