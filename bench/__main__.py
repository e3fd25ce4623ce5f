"""`python -m bench`: the bare route beside the SMS webhook, claims and memory, on SQLite
and (with INTAKE_BENCH_POSTGRES_URL) PostgreSQL, printed as one table against the goals.

The server runs on core 0 and wrk (and this driver) on core 1. Every webhook request is
signed before the clock starts. `--help` lists the knobs; the defaults take about five
minutes with PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import claims, memory, webhook
from bench.load import WrkFailed, WrkMissing, wrk_path
from bench.pinning import CLIENT_CORE, SERVER_CORE, pin_self
from bench.report import claim_rows, memory_rows, notes, route_rows, table
from bench.server import SQLITE, Engine, ServiceFailed, new_twilio, postgres

SUITES = ("routes", "claims", "memory")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    add = parser.add_argument
    add("--witnesses", type=int, default=1000, help="witnesses walking the intake side by side")
    add("--connections", type=int, default=64)
    add("--bare-seconds", type=float, default=10)
    add("--webhook-seconds", type=float, default=20)
    add("--max-rate", type=int, default=3000, help="webhook req/s the signed forms last for")
    add("--cases", type=int, default=100_000, help="waiting cases seeded for the claims")
    add("--claims", type=int, default=1000)
    add("--conversations", type=int, default=100_000, help="open conversations for memory")
    add("--memory-seconds", type=float, default=25, help="time limit of the memory check")
    add("--slice-seconds", type=float, default=4, help="memory is read after each slice")
    add(
        "--postgres-url",
        default=os.environ.get("INTAKE_BENCH_POSTGRES_URL") or None,
        help="a PostgreSQL server to create databases on (INTAKE_BENCH_POSTGRES_URL)",
    )
    add("--only", action="append", choices=SUITES, help="run only these suites (repeatable)")
    add("--out", type=Path, default=Path("var/bench"), help="where the table is also written")
    return parser


def _machine(args: argparse.Namespace, pinned: bool) -> str:
    version = subprocess.run(  # noqa: S603 - wrk from PATH
        [wrk_path(), "-v"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    wrk = version[0].split(" [")[0] if version else "wrk"
    where = (
        f"server on core {SERVER_CORE}, wrk on core {CLIENT_CORE}"
        if pinned
        else "NOT pinned (fewer than 2 cores or no taskset): client and server share"
    )
    return (
        f"{os.cpu_count()} cores ({where}); {wrk}, {args.connections} connections, "
        f"{args.witnesses:,} witnesses round-robin; Python {platform.python_version()}"
    )


def run(args: argparse.Namespace) -> int:
    pinned = pin_self()
    engines: list[Engine] = [SQLITE]
    if args.postgres_url:
        engines.append(postgres(args.postgres_url))
    suites = set(args.only or SUITES)
    started = time.monotonic()
    plan = webhook.Plan(
        witnesses=args.witnesses,
        connections=args.connections,
        bare_seconds=args.bare_seconds,
        webhook_seconds=args.webhook_seconds,
        max_rate=args.max_rate,
    )
    with tempfile.TemporaryDirectory(prefix="intake-bench-") as scratch:
        folder = Path(scratch)
        twilio = new_twilio()
        routes, claimed, memories = [], [], []
        if "routes" in suites:
            signed = webhook.sign_requests(folder, twilio, plan)
            for engine in engines:
                print(f"routes on {engine.label} ...", file=sys.stderr, flush=True)
                routes.append(
                    webhook.measure_routes(
                        engine, folder=folder / f"routes-{engine.kind}", requests=signed, plan=plan
                    )
                )
        if "claims" in suites:
            for engine in engines:
                print(f"claims on {engine.label} ...", file=sys.stderr, flush=True)
                claimed.append(
                    claims.measure_claims(
                        engine,
                        folder=folder / f"claims-{engine.kind}",
                        waiting=args.cases,
                        claims=args.claims,
                    )
                )
        if "memory" in suites:
            first = folder / "first-messages.tsv"
            count = memory.sign_first_messages(first, twilio, witnesses=args.conversations)
            for engine in engines:
                print(f"memory on {engine.label} ...", file=sys.stderr, flush=True)
                memories.append(
                    memory.measure_memory(
                        engine,
                        folder=folder / f"memory-{engine.kind}",
                        twilio=twilio,
                        requests_file=first,
                        requests_count=count,
                        target=args.conversations,
                        seconds=args.memory_seconds,
                        slice_seconds=args.slice_seconds,
                        connections=args.connections,
                    )
                )
    columns = [(e.kind, e.label) for e in engines]
    rows = [
        *(route_rows(routes) if routes else []),
        *(claim_rows(claimed) if claimed else []),
        *(memory_rows(memories) if memories else []),
    ]
    lines = [
        _machine(args, pinned),
        "",
        table(rows, columns),
        "",
        *notes(routes, claimed, memories),
    ]
    if not args.postgres_url:
        lines.append("- PostgreSQL not run: set INTAKE_BENCH_POSTGRES_URL to include it.")
    lines.append(f"- whole run: {time.monotonic() - started:.0f} s.")
    report = "\n".join(lines)
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text(report + "\n", encoding="utf-8")
    invalid = any(r.problems for r in routes) or any(c.failures for c in claimed)
    return 1 if invalid else 0


def main() -> int:
    args = _parser().parse_args()
    try:
        return run(args)
    except (WrkMissing, WrkFailed, ServiceFailed) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
