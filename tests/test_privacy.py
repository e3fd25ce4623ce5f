"""The witness promise, tested as a promise: canaries go in, nothing readable comes out.

Full intakes run with canary values (a phone number, a narrative, a code word); then
every byte of the database files (main, -wal, -shm), the key file's folder, and every log
line (as records, and as the JSON lines INTAKE_LOG_FORMAT=json writes) is searched for
each canary in raw, digits-only and UTF-16 forms.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.app import Services, build_services
from bot.desk import InboundMessage
from handlers.twilio_sms import SMS_PATH
from storage import witnesses
from storage.models import AuditEvent, Case, Message, utcnow
from storage.retention import purge
from storage.witnesses import day_of
from tests.canaries import files_under, find_canaries, log_lines, row_counts, table_rows
from tests.conftest import make_settings
from tests.handlers.sms_helpers import sms_service
from tests.intake_scripts import ENGLISH_MOVE, SPANISH_SUPPORT
from tests.json_logs import json_logs, parsed
from tests.live import finish_outbox

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
            InboundMessage(channel="sms", address=PHONE, text=text, provider_id=f"SM{i:032x}")
        )
    spanish = list(SPANISH_SUPPORT)
    spanish[9] = NARRATIVE_ES  # the story
    for text in spanish:
        await services.desk.receive(
            InboundMessage(channel="telegram", address=TELEGRAM_CHAT, text=text)
        )


async def test_canaries_never_reach_sqlite_files_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data_dir = tmp_path / "data"
    services = build_services(make_settings(data_dir, f"sqlite:///{data_dir / 'intake.db'}"))
    await services.start()
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
    await services.start()
    try:
        await run_intakes(services)
        rows = await table_rows(services.db)
        assert len(rows) > 100
        assert find(rows) == []
        assert find(log_lines(caplog)) == []
    finally:
        await services.close()


async def test_canaries_never_reach_json_logs(tmp_path: Path, database_url: str) -> None:
    """With INTAKE_LOG_FORMAT=json, over real webhooks: every line is JSON, none a canary."""
    english = list(ENGLISH_MOVE)
    english[10], english[11] = NARRATIVE, CODE_WORD
    with json_logs() as buffer:
        async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
            phone = dataclasses.replace(phone, number="+" + PHONE_DIGITS)
            await phone.walk(english)
            await phone.text("more: " + NARRATIVE)
            # A forged webhook carrying the canaries is refused, and its refusal logged.
            forged = await phone.post(
                SMS_PATH,
                {"From": phone.number, "Body": NARRATIVE, "MessageSid": "SM" + "f" * 32},
                signature="forged",
            )
            assert forged.status_code == 403
            await run_intakes(live.services)
            await finish_outbox(live)
    lines = parsed(buffer)
    assert len(lines) > 10
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    during_requests = [line for line in lines if "request_id" in line]
    assert any(line["message"].startswith("refused a Twilio") for line in during_requests)
    assert find([("json log", buffer.getvalue().encode("utf-8"))]) == []


def test_the_search_finds_what_it_looks_for() -> None:
    # The detector itself must be able to fail, or the tests above prove nothing.
    assert find([("plain", f"x{CODE_WORD}y".encode())])
    assert find([("utf16", PHONE_DIGITS.encode("utf-16-le"))])
    assert find([("digits", b"..15550139876..")])
    assert find([("upper", NARRATIVE.upper().encode())])
    assert not find([("clean", b"nothing to see")])


@dataclass(frozen=True)
class Traces:
    """What could link rows back to one witness or their provider records."""

    hashes: list[bytes]
    provider_ids: list[str]
    times: list[str]
    words: list[str]

    def found_in(self, blobs: list[tuple[str, bytes]]) -> list[str]:
        hits = [f"hash in {where}" for where, blob in blobs for h in self.hashes if h in blob]
        hits += find_canaries([*self.provider_ids, *self.words], blobs)
        # A time of day to the microsecond, in the dump's rendering of a timestamp.
        hits += [
            f"{t} in {where}" for where, blob in blobs for t in self.times if t.encode() in blob
        ]
        return hits


async def traces_of(services: Services, address: str) -> Traces:
    async with services.db.read() as session:
        witness = await witnesses.find_witness(
            session, vault=services.vault, channel="sms", address=address, lock=False
        )
        assert witness is not None and witness.lookup_key is not None
        sent = list(
            (
                await session.execute(select(Message).where(Message.witness_id == witness.id))
            ).scalars()
        )
        case = (
            await session.execute(select(Case).where(Case.witness_id == witness.id))
        ).scalar_one()
    moments = [witness.created_at, witness.last_active_at, case.updated_at]
    moments += [m.created_at for m in sent]
    assert case.reference is not None
    return Traces(
        hashes=[witness.lookup_key, *(m.provider_key for m in sent if m.provider_key)],
        provider_ids=[f"SM{i:032x}" for i in range(len(ENGLISH_MOVE))],
        times=sorted({m.strftime("%H:%M:%S.%f") for m in moments if m.microsecond}),
        words=[witness.alias, case.reference, str(witness.id), str(witness.id.hex)],
    )


@pytest.mark.parametrize("how", ["erasure", "retention"])
async def test_nothing_linkable_is_left_after_erasure_or_retention(
    tmp_path: Path, db_kind: str, database_url: str, how: str
) -> None:
    services = build_services(make_settings(tmp_path / "data", database_url))
    await services.start()
    try:
        await run_intakes(services)
        traces = await traces_of(services, PHONE)
        assert len(traces.hashes) > len(ENGLISH_MOVE) and traces.times
        rows = await table_rows(services.db)
        assert traces.found_in(rows)  # the search can find them while they are there

        if how == "erasure":
            for text in ("DELETE", "YES"):
                await services.desk.receive(InboundMessage(channel="sms", address=PHONE, text=text))
        else:
            async with services.db.write() as session:
                await session.execute(
                    update(Case)
                    .where(Case.reference.is_not(None), Case.language == "en")
                    .values(status="closed", closed_at=utcnow() - timedelta(days=200))
                )
            later = utcnow() + timedelta(days=120)
            assert await purge(services.db, vault=services.vault, retention_days=90, now=later) == 1

        rows = await table_rows(services.db)
        assert traces.found_in(rows) == []
        counts = await row_counts(services.db)
        assert counts["witnesses"] == 1  # the Spanish-speaking witness stays whole
        assert counts["cases"] == 2  # the erased one keeps its aggregate facts
        async with services.db.read() as session:
            gone = (
                await session.execute(select(Case).where(Case.witness_id.is_(None)))
            ).scalar_one()
            audit = list((await session.execute(select(AuditEvent))).scalars())
        assert (gone.queue, gone.language, gone.status) == ("relocation", "en", "closed")
        assert gone.needs and gone.outcome == ("erased" if how == "erasure" else None)
        days = [e.at for e in audit if e.case_id is None]
        assert days and all(at == day_of(at) for at in days)
    finally:
        await services.close()
    if db_kind == "sqlite":
        # Not even the file's free pages keep them.
        files = [(n, b) for n, b in files_under(tmp_path / "data") if "intake.db" in n]
        assert [h for h in traces.hashes if any(h in blob for _, blob in files)] == []
