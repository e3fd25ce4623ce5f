"""Strict parsing of urlencoded form bodies (Twilio's webhooks, the console's forms), and
the short plain-text refusals webhooks answer with."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import PlainTextResponse

MAX_FIELDS = 200


def plain_text(status: int, message: str) -> PlainTextResponse:
    """A webhook's answer: a status and a few words (never anything the caller sent)."""
    return PlainTextResponse(message, status_code=status)


class BadForm(Exception):
    """The body is not a well-formed urlencoded form in UTF-8."""


async def read_form(request: Request) -> dict[str, str]:
    """The form's fields; repeated fields, bad encodings and other content types are refused."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadForm("expected application/x-www-form-urlencoded")
    body = await request.body()
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=bool(body),
            max_num_fields=MAX_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadForm("malformed form body") from exc
    form = dict(pairs)
    if len(form) != len(pairs):
        raise BadForm("repeated form fields")
    return form
