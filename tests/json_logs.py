"""Capture every log line the service writes, in the JSON format `serve` uses with
INTAKE_LOG_FORMAT=json."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.logs import log_handler


@contextmanager
def json_logs(level: int = logging.DEBUG) -> Iterator[io.StringIO]:
    """Every record any logger passes to the root while the block runs, as JSON lines."""
    buffer = io.StringIO()
    handler = log_handler("json", buffer)
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)


def parsed(buffer: io.StringIO) -> list[dict[str, Any]]:
    """Each captured line as the object it must be (a line that is not JSON fails here)."""
    # Split as a collector reads: at newlines only (JSON escapes those inside a string).
    return [json.loads(line) for line in buffer.getvalue().split("\n") if line]
