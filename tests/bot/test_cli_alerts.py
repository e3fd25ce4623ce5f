"""Staff alert contacts from the command line: stored sealed, never printed, on both databases."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from storage import caseworkers
from storage.caseworkers import AlertContact
from storage.crypto import Vault
from storage.db import Database
from storage.keyring import KeySource
from storage.models import Caseworker
from tests.canaries import files_under, find_canaries, table_rows
from tests.cli_runner import run_cli

TYPED_NUMBER = "+1 (555) 010-4477"
NUMBER = "+15550104477"
GROUP_CHAT = "-1001234567890"
PRIVATE_CHAT = "778899001"
STAFF_DATA = [TYPED_NUMBER, NUMBER, GROUP_CHAT, PRIVATE_CHAT]


def vault_for(data_dir: Path) -> Vault:
    return Vault(KeySource(env_value=None, key_file=data_dir / "master.keys", create_missing=True))


async def contacts(database_url: str, data_dir: Path, username: str) -> list[AlertContact]:
    db = Database(database_url)
    try:
        async with db.read() as session:
            query = select(Caseworker).where(Caseworker.username == username)
            account = (await session.execute(query)).scalar_one()
        return caseworkers.alert_contacts(account, vault=vault_for(data_dir))
    finally:
        await db.dispose()


async def stored(database_url: str, data_dir: Path) -> list[tuple[str, bytes]]:
    """What a dump of the database holds, and on SQLite every byte of its files."""
    db = Database(database_url)
    try:
        rows = await table_rows(db)
    finally:
        await db.dispose()
    files = files_under(data_dir) if database_url.startswith("sqlite") else []
    return rows + [(name, blob) for name, blob in files if "master.keys" not in name]


async def test_caseworker_add_stores_alert_contacts_sealed(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    done = run_cli(
        "caseworker",
        "add",
        "dee",
        "--queues",
        "relocation",
        "--alert-sms",
        TYPED_NUMBER,
        "--alert-telegram",
        GROUP_CHAT,
        data_dir=data_dir,
        database_url=database_url,
    )
    assert done.returncode == 0, done.stderr
    assert "alerts by sms, telegram" in done.stdout
    assert find_canaries(STAFF_DATA, [("stdout", done.stdout.encode())]) == []
    assert await contacts(database_url, data_dir, "dee") == [
        AlertContact("sms", NUMBER),
        AlertContact("telegram", GROUP_CHAT),
    ]
    assert find_canaries(STAFF_DATA, await stored(database_url, data_dir)) == []


async def test_caseworker_alerts_sets_replaces_and_clears(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"

    def cli(*args: str) -> tuple[int, str, str]:
        done = run_cli(*args, data_dir=data_dir, database_url=database_url)
        return done.returncode, done.stdout, done.stderr

    assert cli("caseworker", "add", "ana")[0] == 0
    assert await contacts(database_url, data_dir, "ana") == []

    code, out, _ = cli("caseworker", "alerts", "ana", "--alert-telegram", PRIVATE_CHAT)
    assert (code, out.strip()) == (0, "caseworker ana: alerts by telegram")
    code, out, _ = cli("caseworker", "alerts", "ana", "--alert-sms", NUMBER)
    assert (code, out.strip()) == (0, "caseworker ana: alerts by sms, telegram")
    assert await contacts(database_url, data_dir, "ana") == [
        AlertContact("sms", NUMBER),
        AlertContact("telegram", PRIVATE_CHAT),
    ]
    # --clear with a contact replaces both with that one.
    code, out, _ = cli("caseworker", "alerts", "ana", "--clear", "--alert-telegram", GROUP_CHAT)
    assert (code, out.strip()) == (0, "caseworker ana: alerts by telegram")
    assert await contacts(database_url, data_dir, "ana") == [AlertContact("telegram", GROUP_CHAT)]
    code, out, _ = cli("caseworker", "alerts", "ana", "--clear")
    assert (code, out.strip()) == (0, "caseworker ana: alerts off")
    assert await contacts(database_url, data_dir, "ana") == []

    # Refusals name the problem, never the value typed.
    code, _, err = cli("caseworker", "alerts", "ana", "--alert-sms", "555 010 4477")
    assert code == 1 and "international" in err and "010" not in err
    code, _, err = cli("caseworker", "alerts", "nobody", "--alert-sms", NUMBER)
    assert code == 1 and "no caseworker nobody" in err and NUMBER not in err
    assert cli("caseworker", "alerts", "ana")[0] == 2
    code, _, err = cli("caseworker", "add", "bo", "--alert-telegram", "@bo_on_call")
    assert code == 1 and "@bo_on_call" not in err
    assert cli("caseworker", "alerts", "bo", "--clear")[0] == 1  # bo was never added
    assert find_canaries(STAFF_DATA, await stored(database_url, data_dir)) == []


async def test_key_rotation_reseals_alert_contacts_before_the_old_key_is_retired(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    added = run_cli(
        "caseworker",
        "add",
        "ana",
        "--alert-sms",
        NUMBER,
        data_dir=data_dir,
        database_url=database_url,
    )
    assert added.returncode == 0, added.stderr
    # The contact is sealed under version 1: retiring it now would lose the contact.
    early = run_cli("keys", "retire", "1", data_dir=data_dir, database_url=database_url)
    assert early.returncode == 1
    rotated = run_cli("keys", "rotate", data_dir=data_dir, database_url=database_url)
    assert rotated.returncode == 0, rotated.stderr
    assert "1 staff alert contacts resealed" in rotated.stdout
    retired = run_cli("keys", "retire", "1", data_dir=data_dir, database_url=database_url)
    assert retired.returncode == 0, retired.stderr
    assert await contacts(database_url, data_dir, "ana") == [AlertContact("sms", NUMBER)]
