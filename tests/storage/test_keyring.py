"""Master keys: where they come from, how they are kept on disk, how versions change."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from storage.keyring import (
    KeySource,
    MasterKeyError,
    UnknownKeyVersion,
    encode_key,
    generate_key,
    parse_env_keys,
)


def test_a_single_env_key_is_version_one() -> None:
    raw = generate_key()
    keyring = parse_env_keys(encode_key(raw))
    assert keyring.active == 1
    assert keyring.key(1) == raw


def test_env_keys_with_versions_make_the_highest_active() -> None:
    old, new = generate_key(), generate_key()
    keyring = parse_env_keys(f"1:{encode_key(old)}, 3:{encode_key(new)}")
    assert keyring.active == 3
    assert keyring.key(1) == old
    with pytest.raises(UnknownKeyVersion):
        keyring.key(2)


@pytest.mark.parametrize(
    "value",
    ["", "not base64 !!", encode_key(b"short"), "x:" + encode_key(generate_key()), "1:a,1:b"],
)
def test_malformed_env_keys_are_refused_without_echoing_them(value: str) -> None:
    with pytest.raises(MasterKeyError) as caught:
        parse_env_keys(value)
    if value:
        assert value not in str(caught.value)


def test_key_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "master.keys"
    KeySource(env_value=None, key_file=path, create_missing=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KeySource(env_value=None, key_file=path, create_missing=True).keyring.active == 1


def test_rotation_in_one_process_is_seen_by_another(tmp_path: Path) -> None:
    path = tmp_path / "master.keys"
    admin, server = (
        KeySource(env_value=None, key_file=path, create_missing=True),
        KeySource(env_value=None, key_file=path, create_missing=True),
    )
    admin.add_version()
    assert server.keyring.active == 1
    assert server.refresh().active == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_active_version_cannot_be_retired(tmp_path: Path) -> None:
    source = KeySource(env_value=None, key_file=tmp_path / "master.keys", create_missing=True)
    with pytest.raises(MasterKeyError):
        source.retire(1)
    source.add_version()
    assert sorted(source.retire(1).keys) == [2]


def test_env_keys_cannot_be_rotated_in_place(tmp_path: Path) -> None:
    source = KeySource(env_value=encode_key(generate_key()), key_file=tmp_path / "k")
    with pytest.raises(MasterKeyError):
        source.add_version()
    assert not (tmp_path / "k").exists()


def test_malformed_key_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "master.keys"
    path.write_text("{not json")
    with pytest.raises(MasterKeyError):
        KeySource(env_value=None, key_file=path, create_missing=True)


def test_a_key_file_gone_from_under_the_service_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "master.keys"
    server = KeySource(env_value=None, key_file=path, create_missing=True)
    before = server.keyring.keys
    path.unlink()

    # The keys already read stay in use; no new key is made to take the file's place.
    assert server.refresh().keys == before
    assert not path.exists()
    with pytest.raises(MasterKeyError, match="restore"):
        server.add_version()
    assert not path.exists()
