"""Versioned master keys: they live outside the database, in the environment or a 0600 file.

The key file is JSON: ``{"active": 2, "keys": {"1": "<base64url>", "2": "<base64url>"}}``.
``INTAKE_MASTER_KEY`` holds either one base64url key (version 1) or a list such as
``2:<key>,1:<key>``; the highest version is the active one.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import secrets
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

KEY_BYTES = 32
BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


class MasterKeyError(Exception):
    """The master key setting or key file is malformed or cannot be used."""


class UnknownKeyVersion(MasterKeyError):
    """Something is wrapped under a master key version this process does not hold."""


def encode_key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_key(text: str) -> bytes:
    """A key from its base64url form, strictly: any other character is refused, not skipped."""
    text = text.strip()
    if not BASE64URL.fullmatch(text):
        raise MasterKeyError("a master key is not valid base64url")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MasterKeyError("a master key is not valid base64url") from exc
    if len(raw) != KEY_BYTES:
        raise MasterKeyError(f"a master key must be {KEY_BYTES} bytes, base64url-encoded")
    return raw


def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


@dataclass(frozen=True)
class Keyring:
    """A snapshot of the master keys by version."""

    keys: dict[int, bytes]
    active: int

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise MasterKeyError(f"the active master key version {self.active} is missing")
        if len(set(self.keys.values())) != len(self.keys):
            # Two versions, one key: retiring the "old" one would retire nothing.
            raise MasterKeyError("two master key versions hold the same key")

    def key(self, version: int) -> bytes:
        try:
            return self.keys[version]
        except KeyError:
            raise UnknownKeyVersion(f"master key version {version} is not available") from None

    def __repr__(self) -> str:
        return f"Keyring(versions={sorted(self.keys)}, active={self.active})"


def parse_env_keys(value: str) -> Keyring:
    """Parse ``INTAKE_MASTER_KEY``: one key, or ``version:key`` pairs separated by commas."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts:
        raise MasterKeyError("INTAKE_MASTER_KEY is empty")
    if len(parts) == 1 and ":" not in parts[0]:
        return Keyring(keys={1: decode_key(parts[0])}, active=1)
    keys: dict[int, bytes] = {}
    for part in parts:
        version_text, sep, key_text = part.partition(":")
        if not sep or not version_text.strip().isdigit():
            raise MasterKeyError("INTAKE_MASTER_KEY entries must look like '2:<base64url key>'")
        version = int(version_text)
        if version < 1 or version in keys:
            raise MasterKeyError("INTAKE_MASTER_KEY versions must be positive and distinct")
        keys[version] = decode_key(key_text)
    return Keyring(keys=keys, active=max(keys))


class KeySource:
    """Where the master keys come from; a file source notices when another process rotates."""

    def __init__(
        self, *, env_value: str | None, key_file: Path, create_missing: bool = False
    ) -> None:
        """Read the keys; a missing key file is created only with `create_missing`.

        The service itself never passes it: it creates the first key only after seeing
        that its database holds nothing sealed (`storage.keychecks`).
        """
        self._env_value = env_value
        self._key_file = key_file
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._keyring: Keyring | None = None
        if env_value is not None or key_file.exists() or create_missing:
            self._keyring = self._load(create=create_missing)

    @property
    def from_environment(self) -> bool:
        return self._env_value is not None

    @property
    def configured(self) -> bool:
        """Whether any master key is configured (the variable, or an existing key file)."""
        return self._keyring is not None

    @property
    def describe(self) -> str:
        return "INTAKE_MASTER_KEY" if self.from_environment else f"the key file {self._key_file}"

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            raise MasterKeyError(
                f"no master key: set INTAKE_MASTER_KEY or restore {self._key_file}"
            )
        return self._keyring

    def create_first(self) -> Keyring:
        """Create the key file with a first key (for a database that holds nothing sealed)."""
        with self._lock:
            self._keyring = self._load(create=True)
        return self._keyring

    def refresh(self) -> Keyring:
        """Re-read the key file if it changed (a `keys rotate` in another process).

        A key file gone from under the running service is never replaced by a new key
        (that would seal new data under a key no backup holds, and strand the old): the
        keys already read stay in use, and the loss is logged until the file is back.
        """
        if self._env_value is None and self._keyring is not None:
            with self._lock:
                if not self._key_file.exists():
                    log.error("the key file %s is gone: restore it", self._key_file)
                    return self._keyring
                if self._key_file.stat().st_mtime != self._mtime:
                    self._keyring = self._load()
        return self.keyring

    def add_version(self) -> Keyring:
        """Create a new active master key version in the key file."""
        if self._env_value is not None:
            raise MasterKeyError(
                "master keys come from INTAKE_MASTER_KEY: add the new version there "
                "(e.g. '2:<new>,1:<old>'), restart, then run `keys rotate`"
            )
        with self._lock:
            current = self._load()
            version = max(current.keys) + 1
            keys = {**current.keys, version: generate_key()}
            self._write(Keyring(keys=keys, active=version))
            self._keyring = self._load()
            return self._keyring

    def retire(self, version: int) -> Keyring:
        """Remove a master key version from the key file; callers check nothing still uses it."""
        if self._env_value is not None:
            raise MasterKeyError(
                "master keys come from INTAKE_MASTER_KEY: remove the version there"
            )
        with self._lock:
            current = self._load()
            if version == current.active:
                raise MasterKeyError("the active master key version cannot be retired")
            if version not in current.keys:
                raise UnknownKeyVersion(f"master key version {version} is not in the key file")
            keys = {v: k for v, k in current.keys.items() if v != version}
            self._write(Keyring(keys=keys, active=current.active))
            self._keyring = self._load()
            return self._keyring

    def _load(self, *, create: bool = False) -> Keyring:
        if self._env_value is not None:
            return parse_env_keys(self._env_value)
        if not self._key_file.exists():
            if not create:
                raise MasterKeyError(f"no master key: restore {self._key_file}")
            self._write(Keyring(keys={1: generate_key()}, active=1), create=True)
        status = self._key_file.stat()
        self._mtime = status.st_mtime
        if status.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning(
                "the key file %s can be read by others (mode %o): chmod 600 it",
                self._key_file,
                stat.S_IMODE(status.st_mode),
            )
        try:
            data = json.loads(self._key_file.read_text("utf-8"))
            keys = {int(v): decode_key(k) for v, k in data["keys"].items()}
            return Keyring(keys=keys, active=int(data["active"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise MasterKeyError(f"the key file {self._key_file} is malformed") from exc

    def _write(self, keyring: Keyring, *, create: bool = False) -> None:
        self._key_file.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps(
            {
                "active": keyring.active,
                "keys": {str(v): encode_key(k) for v, k in sorted(keyring.keys.items())},
            },
            indent=2,
        )
        # Write beside the target with 0600 from the first byte, then rename atomically.
        tmp = self._key_file.with_name(f".{self._key_file.name}.{secrets.token_hex(4)}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        fd = os.open(tmp, flags, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        if create and self._key_file.exists():
            # Another process created it first: keep theirs.
            tmp.unlink()
            return
        os.replace(tmp, self._key_file)
