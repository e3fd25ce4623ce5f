"""How the service writes its log lines: text for people, or one JSON object a line.

Either way a line carries only what the code logged (ids and aliases, never witness
data) and, in JSON, the id of the HTTP request it was written while handling. A logged
exception is named by its type only: its text can quote what it was working on, and a
traceback quotes the values in it.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Literal

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The id of the HTTP request being handled, set by the web app for each request.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


class JsonLines(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, request id."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False)


def log_handler(log_format: LogFormat, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing lines in `log_format` to `stream` (standard error by default)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(*, log_format: LogFormat, level: int) -> None:
    """Send every logger's lines (uvicorn's too: it is given no config of its own) through
    one handler in `log_format`."""
    logging.basicConfig(level=level, handlers=[log_handler(log_format)], force=True)
    # Alembic narrates every plugin it loads; only its problems matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)
