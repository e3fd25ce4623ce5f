"""Benchmark: the SMS webhook under many concurrent witnesses, beside a bare route.

Starts the real service (`python -m bot serve`) on a fresh SQLite database, then drives
  1. the bare route GET /livez (no database, no work): the ceiling of this server here;
  2. POST /webhooks/twilio/sms: many simulated witnesses, each a whole intake of signed
     Twilio requests, several witnesses at once;
and prints throughput, p50/p99 latency, the server's peak memory and the ratio between
the two. Every request is signed before the clock starts, so the client's work is only
sending. Run with `make bench`; `--help` shows the knobs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.intake_scripts import ENGLISH_MOVE, SPANISH_SUPPORT  # noqa: E402

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"  # noqa: S105 - a throwaway local server
SERVICE_NUMBER = "+15005550006"
REFERENCE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"{self.name:<22} {self.requests:>7} req  {self.throughput:>8.0f} req/s  "
            f"p50 {self.percentile(50):>7.1f} ms  p99 {self.percentile(99):>7.1f} ms  "
            f"mean {statistics.fmean(self.latencies) * 1000:>7.1f} ms  errors {self.errors}"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(port: int, data_dir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTAKE_", "TWILIO_"))}
    env.update(
        INTAKE_DATA_DIR=str(data_dir),
        INTAKE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_PHONE_NUMBER=SERVICE_NUMBER,
        # Nothing is sent through the REST API here; replies ride in the TwiML.
        TWILIO_API_BASE="http://127.0.0.1:9",
    )
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        env=env,
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


async def wait_ready(session: aiohttp.ClientSession, base: str) -> None:
    for _ in range(300):
        try:
            async with session.get(base + "/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the server did not start")


async def bare(
    session: aiohttp.ClientSession, base: str, *, total: int, concurrency: int
) -> Result:
    latencies: list[float] = []
    errors = 0
    remaining = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for _ in remaining:
            started = time.perf_counter()
            async with session.get(base + "/livez") as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result("bare route /livez", total, time.perf_counter() - started, latencies, errors)


def signed_conversations(base: str, witnesses: int) -> list[list[tuple[bytes, str]]]:
    """Every witness's whole intake as (body, signature) pairs, signed ahead of time."""
    validator = RequestValidator(AUTH_TOKEN)
    url = base + "/webhooks/twilio/sms"
    conversations = []
    for w in range(witnesses):
        script = SPANISH_SUPPORT if w % 3 == 2 else ENGLISH_MOVE
        steps = []
        for i, text in enumerate(script):
            form = {
                "MessageSid": f"SM{w:016x}{i:016x}",
                "AccountSid": ACCOUNT_SID,
                "From": f"+1555{w:07d}",
                "To": SERVICE_NUMBER,
                "Body": text,
                "NumMedia": "0",
                "FromCity": "SPRINGFIELD",
                "FromState": "IL",
                "FromZip": "62701",
                "FromCountry": "US",
            }
            steps.append((urlencode(form).encode(), validator.compute_signature(url, form)))
        conversations.append(steps)
    return conversations


async def sms(
    session: aiohttp.ClientSession, base: str, *, witnesses: int, concurrency: int
) -> tuple[Result, int]:
    conversations = signed_conversations(base, witnesses)
    latencies: list[float] = []
    errors = references = 0
    queue = iter(conversations)

    async def witness() -> None:
        nonlocal errors, references
        for steps in queue:
            for body, signature in steps:
                started = time.perf_counter()
                async with session.post(
                    base + "/webhooks/twilio/sms",
                    data=body,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "X-Twilio-Signature": signature,
                    },
                ) as response:
                    text = await response.text()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - started)
            references += bool(REFERENCE.search(text))

    started = time.perf_counter()
    await asyncio.gather(*(witness() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    name = f"SMS webhook ({concurrency} at once)"
    return Result(name, len(latencies), seconds, latencies, errors), references


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="intake-bench-") as folder:
        data_dir = Path(folder)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(port, data_dir)
        connector = aiohttp.TCPConnector(limit=0)
        try:
            async with aiohttp.ClientSession(connector=connector) as session:
                await wait_ready(session, base)
                await bare(session, base, total=500, concurrency=args.concurrency)  # warm-up
                baseline = await bare(
                    session, base, total=args.bare_requests, concurrency=args.concurrency
                )
                webhook, references = await sms(
                    session, base, witnesses=args.witnesses, concurrency=args.concurrency
                )
                peak = peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        with sqlite3.connect(data_dir / "intake.db") as db:
            cases = db.execute("SELECT count(*) FROM cases").fetchone()[0]
            stored = db.execute("SELECT count(*) FROM messages WHERE direction='in'").fetchone()[0]

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, SQLite (WAL)")
    print(baseline.line())
    print(webhook.line())
    print(f"{'ratio SMS / bare':<22} {webhook.throughput / baseline.throughput:>16.2f}")
    print(f"server peak memory (VmHWM): {peak:.0f} MiB")
    print(
        f"witnesses {args.witnesses}: {references} got a case reference, {cases} cases stored, "
        f"{stored} inbound messages stored (expected {webhook.requests})"
    )
    ok = not webhook.errors and cases == args.witnesses and stored == webhook.requests
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--witnesses", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--bare-requests", type=int, default=5000)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
