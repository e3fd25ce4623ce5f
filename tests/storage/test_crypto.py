"""Sealing, wrapping and pseudonyms: the promises of encryption at rest, tested directly."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from storage.crypto import DecryptionFailed, KeyUnavailable, Vault, WrappedKey
from storage.keyring import KeySource, encode_key, generate_key

CANARY = "Canary-7341 the blue door on Elm"


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return Vault(KeySource(env_value=None, key_file=tmp_path / "master.keys", create_missing=True))


def test_sealed_value_opens_only_in_its_own_place(vault: Vault) -> None:
    owner, row = uuid.uuid4(), uuid.uuid4()
    key, _ = vault.new_data_key(owner)
    blob = key.seal(CANARY, table="messages", field="body", row=row)

    assert CANARY.encode() not in blob
    assert key.open(blob, table="messages", field="body", row=row) == CANARY
    with pytest.raises(DecryptionFailed):
        key.open(blob, table="messages", field="body", row=uuid.uuid4())
    with pytest.raises(DecryptionFailed):
        key.open(blob, table="messages", field="other", row=row)
    with pytest.raises(DecryptionFailed):
        key.open(blob, table="cases", field="body", row=row)


def test_another_witness_key_cannot_open(vault: Vault) -> None:
    row = uuid.uuid4()
    mine, _ = vault.new_data_key(uuid.uuid4())
    theirs, _ = vault.new_data_key(uuid.uuid4())
    blob = mine.seal(CANARY, table="messages", field="body", row=row)
    with pytest.raises(DecryptionFailed):
        theirs.open(blob, table="messages", field="body", row=row)


def test_tampered_or_truncated_ciphertext_is_refused(vault: Vault) -> None:
    row = uuid.uuid4()
    key, _ = vault.new_data_key(uuid.uuid4())
    blob = bytearray(key.seal(CANARY, table="t", field="f", row=row))
    blob[-1] ^= 0x01
    with pytest.raises(DecryptionFailed):
        key.open(bytes(blob), table="t", field="f", row=row)
    with pytest.raises(DecryptionFailed):
        key.open(b"\x01short", table="t", field="f", row=row)


def test_same_plaintext_seals_differently_each_time(vault: Vault) -> None:
    key, _ = vault.new_data_key(uuid.uuid4())
    row = uuid.uuid4()
    assert key.seal("yes", table="t", field="f", row=row) != key.seal(
        "yes", table="t", field="f", row=row
    )


def test_wrapped_key_is_bound_to_its_owner(vault: Vault) -> None:
    owner = uuid.uuid4()
    key, wrapped = vault.new_data_key(owner)
    blob = key.seal(CANARY, table="t", field="f", row=owner)
    assert vault.unwrap(wrapped, owner).open(blob, table="t", field="f", row=owner) == CANARY
    with pytest.raises(DecryptionFailed):
        vault.unwrap(wrapped, uuid.uuid4())


def test_a_destroyed_data_key_is_unavailable(vault: Vault) -> None:
    with pytest.raises(KeyUnavailable):
        vault.unwrap(None, uuid.uuid4())


def test_rewrap_moves_a_key_to_the_new_master_version(tmp_path: Path) -> None:
    source = KeySource(env_value=None, key_file=tmp_path / "master.keys", create_missing=True)
    vault = Vault(source)
    owner = uuid.uuid4()
    key, wrapped = vault.new_data_key(owner)
    blob = key.seal(CANARY, table="t", field="f", row=owner)

    source.add_version()
    rewrapped = vault.rewrap(wrapped, owner)
    assert (wrapped.master_version, rewrapped.master_version) == (1, 2)
    source.retire(1)

    assert vault.unwrap(rewrapped, owner).open(blob, table="t", field="f", row=owner) == CANARY
    # An old backup still holding the version-1 wrapping is now unreadable.
    with pytest.raises(KeyUnavailable):
        vault.unwrap(wrapped, owner)


def test_pseudonyms_are_keyed_and_purpose_bound(tmp_path: Path) -> None:
    one = Vault(KeySource(env_value=encode_key(generate_key()), key_file=tmp_path / "a"))
    two = Vault(KeySource(env_value=encode_key(generate_key()), key_file=tmp_path / "b"))
    number = "+15551234567"
    assert one.pseudonym(number, purpose="p") == one.pseudonym(number, purpose="p")
    assert one.pseudonym(number, purpose="p") != one.pseudonym(number, purpose="q")
    assert one.pseudonym(number, purpose="p") != two.pseudonym(number, purpose="p")
    assert number.encode() not in one.pseudonym(number, purpose="p")


def test_wrapped_key_repr_and_data_key_repr_hide_key_bytes(vault: Vault) -> None:
    key, wrapped = vault.new_data_key(uuid.uuid4())
    assert "DataKey(owner=" in repr(key)
    assert isinstance(wrapped, WrappedKey)
    assert "keys=" not in repr(vault._source.keyring)
