"""The master key a database was written with is recognised at start, or the service refuses.

Each refusal is run through the real command line on a database that already holds a
witness: it must exit with a clear message, generate no key, and write nothing.
"""

from __future__ import annotations

import json
import logging
import stat
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.app import build_services
from storage import messages, outbox, rotation, witnesses
from storage.crypto import DecryptionFailed
from storage.db import Database
from storage.keyring import KeySource, MasterKeyError, encode_key, generate_key, parse_env_keys
from storage.models import Message, OutboxItem
from tests.canaries import table_rows
from tests.cli_runner import run_cli
from tests.conftest import make_settings


async def _dump(database_url: str) -> list[tuple[str, bytes]]:
    db = Database(database_url)
    try:
        return await table_rows(db)
    finally:
        await db.dispose()


@pytest.fixture
def written(tmp_path: Path, database_url: str) -> Path:
    """A data dir whose database holds a witness sealed under the key file's key."""
    data_dir = tmp_path / "data"
    done = run_cli(
        "chat", "--as", "ana", data_dir=data_dir, database_url=database_url, stdin="hi\n1\n"
    )
    assert done.returncode == 0, done.stderr
    assert (data_dir / "master.keys").exists()
    return data_dir


@pytest.mark.parametrize("case", ["wrong key", "blank key", "missing key", "wrong key file"])
async def test_start_is_refused_without_the_right_key(
    written: Path, database_url: str, case: str
) -> None:
    key_file = written / "master.keys"
    before = await _dump(database_url)
    extra: dict[str, str] = {}
    if case == "wrong key":
        extra["INTAKE_MASTER_KEY"] = encode_key(generate_key())
    elif case == "blank key":
        extra["INTAKE_MASTER_KEY"] = ""
    elif case == "missing key":
        key_file.unlink()
    else:
        key_file.write_text(json.dumps({"active": 1, "keys": {"1": encode_key(generate_key())}}))
        key_file.chmod(0o600)
    kept = key_file.read_bytes() if key_file.exists() else None

    refused = run_cli("serve", "--port", "0", data_dir=written, database_url=database_url, **extra)

    assert refused.returncode == 2, refused.stdout + refused.stderr
    said = refused.stderr.lower()
    assert "master key" in said or "intake_master_key" in said
    assert "traceback" not in said
    assert (key_file.read_bytes() if key_file.exists() else None) == kept  # none generated
    assert await _dump(database_url) == before  # nothing written


async def test_the_right_key_from_the_environment_is_recognised(
    written: Path, database_url: str
) -> None:
    stored = json.loads((written / "master.keys").read_text())
    (written / "master.keys").unlink()
    # The same key, now given in the environment instead of the file, opens the database.
    again = run_cli(
        "chat",
        "--as",
        "ana",
        data_dir=written,
        database_url=database_url,
        stdin="STATUS\n",
        INTAKE_MASTER_KEY=stored["keys"]["1"],
    )
    assert again.returncode == 0, again.stderr
    assert not (written / "master.keys").exists()


def test_keys_decode_strictly_and_never_twice() -> None:
    key = encode_key(generate_key())
    for bad in (key[:-2] + "+/", key[:10] + "!" + key[11:], key + "AAAA", " ", "1:" + key + ",2:"):
        with pytest.raises(MasterKeyError):
            parse_env_keys(bad)
    with pytest.raises(MasterKeyError, match="same key"):
        parse_env_keys(f"1:{key},2:{key}")
    assert parse_env_keys(f"1:{key},2:{encode_key(generate_key())}").active == 2


def test_a_key_file_others_can_read_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "master.keys"
    KeySource(env_value=None, key_file=path, create_missing=True)
    with caplog.at_level(logging.WARNING, logger="storage.keyring"):
        KeySource(env_value=None, key_file=path)
    assert not caplog.records
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="storage.keyring"):
        KeySource(env_value=None, key_file=path)
    assert any("chmod 600" in r.getMessage() for r in caplog.records)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # warned, not silently changed


async def test_rotation_reseals_the_outbox_and_retire_counts_it(
    tmp_path: Path, database_url: str
) -> None:
    services = build_services(make_settings(tmp_path / "data", database_url))
    await services.start()
    try:
        item_id = uuid.uuid4()
        async with services.db.write() as session:
            farewell = await outbox.enqueue_forget(
                session,
                vault=services.vault,
                channel="sms",
                provider_id="SM" + "ab" * 16,
                now=services.clock(),
                at=services.clock(),
            )
            item_id = farewell.id
        assert await rotation.still_using(services.db, version=1) == 1

        services.keys.add_version()
        assert await rotation.reseal_outbox(services.db, vault=services.vault) == 1
        assert await rotation.still_using(services.db, version=1) == 0
        services.keys.retire(1)
        async with services.db.read() as session:
            item = await session.get(OutboxItem, item_id)
            assert item is not None
            assert outbox.open_transit(item, vault=services.vault) == {
                "provider_id": "SM" + "ab" * 16
            }
    finally:
        await services.close()


async def test_a_message_cannot_change_direction_or_case(tmp_path: Path, database_url: str) -> None:
    services = build_services(make_settings(tmp_path / "data", database_url))
    await services.start()
    try:
        from bot.desk import InboundMessage

        await services.desk.receive(
            InboundMessage(channel="sms", address="+15550100001", text="hi")
        )
        async with services.db.write() as session:
            inbound = (
                await session.execute(select(Message).where(Message.direction == "in"))
            ).scalar_one()
            key = await witnesses.data_key_for(
                session, vault=services.vault, witness_id=inbound.witness_id
            )
            assert messages.open_body(inbound, key) == "hi"
            # A database writer turns the witness's message into one "we" sent.
            await session.execute(
                update(Message).where(Message.id == inbound.id).values(direction="out")
            )
        async with services.db.read() as session:
            forged = await session.get(Message, inbound.id)
            assert forged is not None
            with pytest.raises(DecryptionFailed):
                messages.open_body(forged, key)
            session.expunge(forged)  # moved to another case in memory only
            forged.direction, forged.case_id = "in", uuid.uuid4()
            with pytest.raises(DecryptionFailed):
                messages.open_body(forged, key)
            forged.case_id = None
            assert messages.open_body(forged, key) == "hi"  # the control: back in place
    finally:
        await services.close()
