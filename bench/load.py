"""wrk, the load generator: pinned to its own core, one thread, results read as JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.pinning import pinned

SCRIPT = Path(__file__).with_name("sms.lua")
MARKER = "WRK_RESULT "


class WrkMissing(Exception):
    """wrk is not installed; `make bench` installs it when run as root."""


class WrkFailed(Exception):
    """wrk exited with an error or printed no result."""


@dataclass(frozen=True)
class Load:
    """What one wrk run measured."""

    requests: int
    seconds: float
    sent: int
    wraps: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int
    bad_status: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def clean(self) -> bool:
        """Every request answered 2xx/3xx, and no pre-signed form was sent twice."""
        return not (self.socket_errors or self.bad_status or self.wraps)


def parse(output: str) -> Load:
    for line in output.splitlines():
        if line.startswith(MARKER):
            raw = json.loads(line[len(MARKER) :])
            return Load(
                requests=raw["requests"],
                seconds=raw["duration_us"] / 1e6,
                sent=raw["sent"],
                wraps=raw["wraps"],
                p50_ms=raw["p50_us"] / 1000,
                p90_ms=raw["p90_us"] / 1000,
                p99_ms=raw["p99_us"] / 1000,
                max_ms=raw["max_us"] / 1000,
                socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
                bad_status=raw["status"],
            )
    raise WrkFailed("wrk printed no result line:\n" + output[-2000:])


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing(
            "wrk is not installed: `apt-get install -y wrk` (make bench does it when run as root)"
        )
    return found


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    requests_file: Path | None = None,
    first_line: int = 1,
    core: int | None = 1,
    timeout_seconds: int = 10,
) -> Load:
    """Drive `url` for `seconds` with `connections` connections; replay `requests_file` if given."""
    command = [
        wrk_path(),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_seconds}s",
        "-s",
        str(SCRIPT),
        url,
    ]
    if requests_file is not None:
        command += ["--", str(requests_file), str(first_line)]
    done = subprocess.run(  # noqa: S603 - wrk from PATH, arguments built here
        pinned(command, core),
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
    )
    if done.returncode != 0:
        raise WrkFailed(f"wrk exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
    return parse(done.stdout)
