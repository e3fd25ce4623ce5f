"""The table `make bench` prints: each figure beside its bar, with a pass or miss mark.

It is Markdown, so the README's Performance section is the output as printed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.claims import Claims
from bench.memory import Memory
from bench.webhook import SCRIPT, Routes

# Flat: under this much resident memory per open conversation (10 MB per 100,000).
FLAT_BYTES = 100.0


@dataclass(frozen=True)
class Bar:
    """A goal: `text` as printed; `met` judges a figure; `kinds` are the engines it binds."""

    text: str
    met: Callable[[float], bool]
    kinds: frozenset[str] = frozenset({"sqlite", "postgresql"})


def at_least(limit: float, text: str, kinds: Sequence[str] = ("sqlite", "postgresql")) -> Bar:
    return Bar(text, lambda v: v >= limit, frozenset(kinds))


def below(limit: float, text: str, kinds: Sequence[str] = ("sqlite", "postgresql")) -> Bar:
    return Bar(text, lambda v: v < limit, frozenset(kinds))


WEBHOOK_RATE = at_least(2000, "≥ 2,000 req/s")
RATIO = at_least(0.25, "≥ 0.25 (SQLite)", ("sqlite",))
WEBHOOK_P99 = below(50, "< 50 ms (SQLite)", ("sqlite",))
CLAIM_P99 = below(10, "< 10 ms")
FLAT = below(FLAT_BYTES, f"flat (< {FLAT_BYTES:.0f} B)")


@dataclass(frozen=True)
class Cell:
    value: float | None
    text: str
    valid: bool = True


@dataclass(frozen=True)
class Row:
    figure: str
    bar: Bar | None
    cells: dict[str, Cell]


def mark(bar: Bar | None, kind: str, cell: Cell) -> str:
    if cell.value is None:
        return cell.text
    if not cell.valid:
        return f"{cell.text} (invalid run)"
    if bar is None or kind not in bar.kinds or math.isnan(cell.value):
        return cell.text
    return f"{cell.text} **{'pass' if bar.met(cell.value) else 'miss'}**"


def number(value: float, digits: int = 0) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def route_rows(routes: Sequence[Routes]) -> list[Row]:
    def row(figure: str, bar: Bar | None, cell: Callable[[Routes], Cell]) -> Row:
        return Row(figure, bar, {r.engine.kind: cell(r) for r in routes})

    return [
        row("Bare GET /livez, req/s", None, lambda r: Cell(r.bare.rate, number(r.bare.rate))),
        row(
            "Bare GET /livez, p50 / p99",
            None,
            lambda r: Cell(r.bare.p99_ms, f"{r.bare.p50_ms:.1f} / {r.bare.p99_ms:.1f} ms"),
        ),
        row(
            "SMS webhook, req/s",
            WEBHOOK_RATE,
            lambda r: Cell(r.webhook.rate, number(r.webhook.rate), not r.problems),
        ),
        row(
            "SMS webhook, p50",
            None,
            lambda r: Cell(r.webhook.p50_ms, f"{r.webhook.p50_ms:,.1f} ms", not r.problems),
        ),
        row(
            "SMS webhook, p99 (64 senders)",
            WEBHOOK_P99,
            lambda r: Cell(r.webhook.p99_ms, f"{r.webhook.p99_ms:,.1f} ms", not r.problems),
        ),
        row(
            "Ratio webhook / bare",
            RATIO,
            lambda r: Cell(r.ratio, f"{r.ratio:.3f}", not r.problems),
        ),
        row(
            "Service CPU per webhook request",
            None,
            lambda r: Cell(
                r.cpu_ms_per_request,
                f"{r.cpu_ms_per_request:.1f} ms ({r.cpu_share:.0%} of its core)",
                not r.problems,
            ),
        ),
        row(
            "Server peak RSS (both routes)",
            None,
            lambda r: Cell(r.peak_rss_mib, f"{r.peak_rss_mib:,.0f} MiB"),
        ),
    ]


def claim_rows(claims: Sequence[Claims]) -> list[Row]:
    waiting = f"{claims[0].waiting:,}" if claims else ""
    return [
        Row(
            f"Claim next of {waiting} waiting, p50",
            None,
            {c.engine.kind: Cell(c.p50_ms, f"{c.p50_ms:.1f} ms", not c.failures) for c in claims},
        ),
        Row(
            f"Claim next of {waiting} waiting, p99",
            CLAIM_P99,
            {c.engine.kind: Cell(c.p99_ms, f"{c.p99_ms:.1f} ms", not c.failures) for c in claims},
        ),
    ]


def memory_rows(memories: Sequence[Memory]) -> list[Row]:
    def cell(m: Memory) -> Cell:
        growth = m.bytes_per_conversation
        reached = "" if m.reached >= m.target else f" (from {m.reached:,})"
        return Cell(growth, f"{number(growth)} B{reached}", len(m.samples) >= 3)

    return [
        Row(
            "RSS growth per open conversation",
            FLAT,
            {m.engine.kind: cell(m) for m in memories},
        )
    ]


def table(rows: Sequence[Row], columns: Sequence[tuple[str, str]]) -> str:
    """Markdown: one row a figure, its bar, then one column an engine (kind, label)."""
    head = ["Figure", "Bar", *(label for _, label in columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [
            mark(row.bar, kind, row.cells[kind]) if kind in row.cells else "not run"
            for kind, _ in columns
        ]
        lines.append(
            "| " + " | ".join([row.figure, row.bar.text if row.bar else "", *cells]) + " |"
        )
    return "\n".join(lines)


def notes(
    routes: Sequence[Routes], claims: Sequence[Claims], memories: Sequence[Memory]
) -> list[str]:
    """What each run did, so a reader can judge the figures (and what went wrong, if any)."""
    out = []
    for r in routes:
        out.append(
            f"- {r.engine.label}, routes: bare {r.bare.requests:,} requests in "
            f"{r.bare.seconds:.0f} s; webhook {r.webhook.requests:,} answered in "
            f"{r.webhook.seconds:.0f} s, {r.stored_inbound:,} inbound messages stored, "
            f"{r.cases_opened:,} intakes completed as cases ({r.messages_per_witness:.1f} "
            f"messages a witness of the {len(SCRIPT)}-message intake, on average)."
        )
        out.extend(f"  - problem: {p}" for p in r.problems)
    for c in claims:
        out.append(
            f"- {c.engine.label}, claims: {c.claims:,} claims one after another "
            f"(max {c.max_ms:.1f} ms), {c.failures} without a case; "
            f"{c.waiting:,} cases seeded in {c.seed_seconds:.0f} s."
        )
    for m in memories:
        reached = "reached" if m.reached >= m.target else "time limit, reached"
        out.append(
            f"- {m.engine.label}, memory: {reached} {m.reached:,} of {m.target:,} new "
            f"conversations in {m.seconds:.0f} s; RSS {m.before.rss_kib / 1024:,.1f} → "
            f"{m.after.rss_kib / 1024:,.1f} MiB over {len(m.samples)} samples."
        )
    return out
