"""Cores: the server runs on core 0, the load generator and this driver on core 1.

On a machine with fewer than two cores nothing is pinned (and the report says so): the
client then competes with the server and the figures read low.
"""

from __future__ import annotations

import os
import shutil

SERVER_CORE = 0
CLIENT_CORE = 1


def can_pin() -> bool:
    return shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


def pinned(command: list[str], core: int | None) -> list[str]:
    """The command run under `taskset -c core` (which execs it: the pid stays the command's)."""
    if core is None or not can_pin():
        return command
    return ["taskset", "-c", str(core), *command]


def pin_self(core: int = CLIENT_CORE) -> bool:
    """Keep this process (and its threads from now on) on `core`; False when it cannot."""
    if not can_pin():
        return False
    os.sched_setaffinity(0, {core})
    return True
