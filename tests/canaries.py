"""Searching stored bytes and log lines for canary values, in every form they could take."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import Base


def forms(canary: str) -> list[bytes]:
    """Every way a canary could sit in a file: raw, digits only, UTF-16 either way round."""
    variants = {canary}
    digits = "".join(ch for ch in canary if ch.isdigit())
    if len(digits) >= 7:
        variants.add(digits)
    # Long free text might be split or truncated; a distinctive slice must not appear either.
    if len(canary) > 24:
        variants.add(canary[:20])
    out = []
    for variant in variants:
        out += [
            variant.encode("utf-8"),
            variant.lower().encode("utf-8"),
            variant.encode("utf-16-le"),
            variant.encode("utf-16-be"),
        ]
    return out


def find_canaries(canaries: Sequence[str], blobs: Iterable[tuple[str, bytes]]) -> list[str]:
    """Where any canary appears, in any form; an empty list is the promise kept."""
    hits = []
    for where, blob in blobs:
        lowered = blob.lower()
        for canary in canaries:
            for form in forms(canary):
                if form in blob or form.lower() in lowered:
                    hits.append(f"{canary!r} in {where}")
    return hits


def files_under(folder: Path) -> list[tuple[str, bytes]]:
    return [(str(p), p.read_bytes()) for p in folder.rglob("*") if p.is_file()]


def log_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, bytes]]:
    lines = []
    for record in caplog.records:
        text = f"{record.name} {record.getMessage()} {record.exc_text or ''}"
        lines.append((f"log {record.name}", text.encode("utf-8")))
    return lines


async def table_rows(db: Database) -> list[tuple[str, bytes]]:
    """Every value of every row of every table, as bytes: what a database dump would hold."""
    rows: list[tuple[str, bytes]] = []
    async with db.read() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                for column, value in zip(table.columns, row, strict=True):
                    blob = value if isinstance(value, bytes) else str(value).encode()
                    rows.append((f"{table.name}.{column.name}", blob))
    return rows


async def row_counts(db: Database) -> dict[str, int]:
    """How many rows each table holds: equal before and after means nothing was stored."""
    from sqlalchemy import func

    counts = {}
    async with db.read() as session:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = int(
                await session.scalar(select(func.count()).select_from(table)) or 0
            )
    return counts
