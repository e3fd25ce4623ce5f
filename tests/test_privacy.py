"""The witness promise, tested as a promise: canaries go in, nothing readable comes out.

Full intakes run with canary values (a phone number, a narrative, a code word); then
every byte of the database files (main, -wal, -shm), the key file's folder, and every log
line is searched for each canary in raw, digits-only and UTF-16 forms.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import pytest

from bot.app import Services, build_services
from bot.desk import InboundMessage
from bot.intake.model import Channel
from tests.canaries import files_under, find_canaries, log_lines, table_rows
from tests.conftest import make_settings
from tests.intake_scripts import ENGLISH_MOVE, SPANISH_SUPPORT

PHONE = "+1 (555) 013-9876"
PHONE_DIGITS = "15550139876"
TELEGRAM_CHAT = "778899112233"
NARRATIVE = "Quetzalcoatl-Canary saw the red truck at 4417 Juniper"
NARRATIVE_ES = "Vi a Canario-Zanahoria con una pistola"
CODE_WORD = "marmalade-osprey"
CANARIES = [PHONE, PHONE_DIGITS, TELEGRAM_CHAT, NARRATIVE, NARRATIVE_ES, CODE_WORD]


def find(blobs: Iterable[tuple[str, bytes]]) -> list[str]:
    return find_canaries(CANARIES, blobs)


async def run_intakes(services: Services) -> None:
    english = list(ENGLISH_MOVE)
    english[10], english[11] = NARRATIVE, CODE_WORD
    for i, text in enumerate([*english, "more: " + NARRATIVE, "STATUS", "HELP"]):
        await services.desk.receive(
            InboundMessage(channel=Channel.SMS, address=PHONE, text=text, provider_id=f"SM{i:032x}")
        )
    spanish = list(SPANISH_SUPPORT)
    spanish[9] = NARRATIVE_ES  # the story
    for text in spanish:
        await services.desk.receive(
            InboundMessage(channel=Channel.TELEGRAM, address=TELEGRAM_CHAT, text=text)
        )


async def test_canaries_never_reach_sqlite_files_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data_dir = tmp_path / "data"
    services = build_services(make_settings(data_dir, f"sqlite:///{data_dir / 'intake.db'}"))
    await services.db.migrate()
    await run_intakes(services)

    # While the service runs, the newest pages sit in the -wal and -shm files.
    live = files_under(data_dir)
    assert any(name.endswith("-wal") for name, _ in live)
    assert find(live) == []

    await services.close()
    assert find(files_under(data_dir)) == []
    assert find(log_lines(caplog)) == []


async def test_canaries_never_reach_table_rows_or_logs(
    tmp_path: Path, db_kind: str, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    services = build_services(make_settings(tmp_path / "data", database_url))
    await services.db.migrate()
    try:
        await run_intakes(services)
        rows = await table_rows(services.db)
        assert len(rows) > 100
        assert find(rows) == []
        assert find(log_lines(caplog)) == []
    finally:
        await services.close()


def test_the_search_finds_what_it_looks_for() -> None:
    # The detector itself must be able to fail, or the tests above prove nothing.
    assert find([("plain", f"x{CODE_WORD}y".encode())])
    assert find([("utf16", PHONE_DIGITS.encode("utf-16-le"))])
    assert find([("digits", b"..15550139876..")])
    assert find([("upper", NARRATIVE.upper().encode())])
    assert not find([("clean", b"nothing to see")])
