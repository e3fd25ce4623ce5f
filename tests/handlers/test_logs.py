"""Request ids and JSON log lines: every answer names its request, and every line written
while handling it names the same one.

The real app is driven over HTTP (httpx's ASGI transport, the app's own lifespan running),
with both webhooks on and both providers pointed at a closed port: nothing is sent.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from starlette.requests import Request
from starlette.routing import Route

from bot.app import build_services, build_web_app
from bot.logs import JsonLines
from bot.settings import Settings
from handlers.limits import MAX_BODY_BYTES
from handlers.web import create_app
from storage.db import Database
from tests.cli_runner import cli_env, run_cli, serve_once
from tests.conftest import make_settings
from tests.fakes.telegram import DEFAULT_TOKEN, text_update
from tests.fakes.twilio import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_PHONE_NUMBER,
    inbound_sms_form,
)
from tests.json_logs import json_logs, parsed

GENERATED = re.compile(r"[0-9a-f]{16}")
SECRET = "logs-webhook-secret"


@asynccontextmanager
async def web(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        tmp_path / "data",
        f"sqlite:///{tmp_path / 'intake.db'}",
        public_url="http://intake.test",
        twilio_account_sid=DEFAULT_ACCOUNT_SID,
        twilio_auth_token=DEFAULT_AUTH_TOKEN,
        twilio_phone_number=DEFAULT_PHONE_NUMBER,
        twilio_api_base="http://127.0.0.1:9",
        telegram_bot_token=DEFAULT_TOKEN,
        telegram_api_base="http://127.0.0.1:9",
        telegram_webhook_secret=SECRET,
    )
    services = build_services(settings)
    await services.start()
    app = build_web_app(services)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://intake.test"
            ) as client,
        ):
            yield client
    finally:
        await services.close()


async def test_a_normal_route_answers_with_a_new_request_id_each_time(tmp_path: Path) -> None:
    async with web(tmp_path) as client:
        first = await client.get("/healthz")
        second = await client.get("/healthz")
    assert first.status_code == second.status_code == 200
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(GENERATED.fullmatch(i) for i in ids) and ids[0] != ids[1]


async def test_a_404_an_api_refusal_and_a_413_carry_a_request_id(tmp_path: Path) -> None:
    async with web(tmp_path) as client:
        missing = await client.get("/nowhere")
        unsigned = await client.get("/api/v1/queues")
        huge = await client.post("/api/v1/login", content=b"x" * (MAX_BODY_BYTES + 1))
    assert (missing.status_code, unsigned.status_code, huge.status_code) == (404, 401, 413)
    for answer in (missing, unsigned, huge):
        assert GENERATED.fullmatch(answer.headers["x-request-id"])
        assert answer.headers.get_list("x-request-id") == [answer.headers["x-request-id"]]


async def test_a_refused_webhook_logs_under_the_id_it_answers_with(tmp_path: Path) -> None:
    async with web(tmp_path) as client:
        with json_logs() as buffer:
            telegram = await client.post(
                "/webhooks/telegram",
                json=text_update(1, 4242, "hello"),
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            )
            twilio = await client.post(
                "/webhooks/twilio/sms",
                data=inbound_sms_form(
                    from_="+15550142299",
                    to=DEFAULT_PHONE_NUMBER,
                    body="hello",
                    account_sid=DEFAULT_ACCOUNT_SID,
                    message_sid="SM" + "0" * 32,
                ),
                headers={"X-Twilio-Signature": "forged"},
            )
    assert (telegram.status_code, twilio.status_code) == (401, 403)
    lines = parsed(buffer)
    for answer, wanted in ((telegram, "refused a Telegram"), (twilio, "refused a Twilio")):
        request_id = answer.headers["x-request-id"]
        assert GENERATED.fullmatch(request_id)
        [refusal] = [line for line in lines if line["message"].startswith(wanted)]
        assert refusal["request_id"] == request_id
        assert refusal["level"] == "WARNING"
        assert refusal["logger"].startswith("handlers.")
    assert telegram.headers["x-request-id"] != twilio.headers["x-request-id"]


@pytest.mark.parametrize("given", ["req-0123456789abcdef", "A1B2C3D4_e5f6", "a" * 64])
async def test_a_safe_incoming_request_id_is_kept(tmp_path: Path, given: str) -> None:
    async with web(tmp_path) as client:
        with json_logs() as buffer:
            answer = await client.post(
                "/webhooks/telegram", content=b"{}", headers={"X-Request-ID": given}
            )
    assert answer.headers["x-request-id"] == given
    assert [line["request_id"] for line in parsed(buffer) if "request_id" in line] == [given]


@pytest.mark.parametrize(
    "given",
    [
        "short",
        "a" * 65,
        "has spaces in it",
        'quote"and{json}',
        "semi;colon;separated",
        "caf\u00e9-latin1-id",
        "",
    ],
)
async def test_an_unsafe_incoming_request_id_is_replaced(tmp_path: Path, given: str) -> None:
    async with web(tmp_path) as client:
        answer = await client.get("/healthz", headers=[(b"X-Request-ID", given.encode("latin-1"))])
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] != given
    assert GENERATED.fullmatch(answer.headers["x-request-id"])


async def test_two_incoming_request_ids_are_both_replaced(tmp_path: Path) -> None:
    async with web(tmp_path) as client:
        answer = await client.get(
            "/nowhere", headers=[("X-Request-ID", "first-id-123"), ("X-Request-ID", "second-id-45")]
        )
    assert answer.status_code == 404
    assert GENERATED.fullmatch(answer.headers["x-request-id"])


async def test_an_unhandled_error_answers_500_with_its_request_id(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'intake.db'}")

    async def broken(_request: Request) -> None:
        logging.getLogger("handlers.broken").warning("about to fail")
        raise RuntimeError("details that must stay out of the logs")

    app = create_app(db=db, routes=[Route("/broken", broken)])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as client:
            with json_logs() as buffer:
                answer = await client.get("/broken")
    finally:
        await db.dispose()
    assert (answer.status_code, answer.text) == (500, "Internal Server Error")
    request_id = answer.headers["x-request-id"]
    [line] = [line for line in parsed(buffer) if line["logger"] == "handlers.broken"]
    assert line["request_id"] == request_id


def test_a_json_line_names_an_exception_by_type_only() -> None:
    try:
        raise ValueError("+15550139876 said something private")
    except ValueError:
        record = logging.getLogger("bot.test").makeRecord(
            "bot.test", logging.ERROR, __file__, 1, "pass failed", (), sys.exc_info()
        )
    line = JsonLines().format(record)
    assert "\n" not in line and "15550139876" not in line and "Traceback" not in line
    parsed_line = json.loads(line)
    assert parsed_line["exception"] == "ValueError"
    assert (parsed_line["level"], parsed_line["logger"], parsed_line["message"]) == (
        "ERROR",
        "bot.test",
        "pass failed",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", parsed_line["time"])
    assert "request_id" not in parsed_line


@pytest.mark.parametrize("value", ["xml", "JSON", "", "text,json"])
def test_the_log_format_setting_refuses_other_values(value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, log_format=value)
    assert [error["type"] for error in refused.value.errors()] == ["literal_error"]
    assert Settings(_env_file=None).log_format == "text"
    assert Settings(_env_file=None, log_format="json").log_format == "json"


def test_the_command_line_names_a_bad_log_format_and_its_choices(tmp_path: Path) -> None:
    done = run_cli(
        "migrate",
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        INTAKE_LOG_FORMAT="yaml",
    )
    assert done.returncode == 2
    assert "INTAKE_LOG_FORMAT (Input should be 'text' or 'json')" in done.stderr, done.stderr
    assert "yaml" not in done.stderr


def test_serve_with_json_logs_writes_only_json_lines_uvicorns_too(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    env = cli_env(data_dir, f"sqlite:///{data_dir / 'intake.db'}", INTAKE_LOG_FORMAT="json")
    health, returncode, output = serve_once(tmp_path, env, "/nowhere")
    assert health.status_code == 404
    assert returncode in (0, -signal.SIGTERM), output
    lines = [json.loads(line) for line in output.split("\n") if line]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    loggers = {line["logger"] for line in lines}
    assert {"bot", "uvicorn.error"} <= loggers, loggers
    assert any(line["message"] == "Application shutdown complete." for line in lines)
