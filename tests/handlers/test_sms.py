"""The SMS channel end to end: signed Twilio webhooks in, TwiML out, on both databases."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from handlers.twilio_sms import SMS_PATH, STATUS_PATH
from storage.models import Case, Witness
from tests.canaries import files_under, find_canaries, log_lines, row_counts, table_rows
from tests.fakes.twilio import inbound_sms_form, new_sid
from tests.handlers.sms_helpers import WITNESS, sms_service
from tests.intake_scripts import ENGLISH_MOVE, REFERENCE, SPANISH_SUPPORT
from tests.live import running_service


async def test_a_whole_intake_over_sms(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        first = await phone.text("hi")
        assert any("911" in text for text in first)
        done = await phone.walk(ENGLISH_MOVE[1:])
        reference = REFERENCE.search(" ".join(done))
        assert reference is not None
        async with live.services.db.read() as session:
            case = (await session.execute(select(Case))).scalar_one()
        assert (case.reference, case.queue, case.priority) == (
            reference.group(0),
            "relocation",
            "high",
        )


async def test_spanish_over_sms(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        done = await phone.walk(SPANISH_SUPPORT)
        assert REFERENCE.search(" ".join(done))
        async with live.services.db.read() as session:
            case = (await session.execute(select(Case))).scalar_one()
        assert (case.queue, case.priority, case.language) == ("support", "urgent", "es")


async def test_forged_or_missing_signatures_store_nothing(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        before = await row_counts(live.services.db)
        form = inbound_sms_form(from_=WITNESS, body="hi", message_sid=new_sid())
        url = live.url(SMS_PATH)
        forged = twilio_like_signature = phone.twilio.sign(url + "?x=1", form)
        cases = [
            {"X-Twilio-Signature": forged},
            {"X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
            {},
        ]
        for headers in cases:
            response = await phone.client.post(url, data=form, headers=headers)
            assert response.status_code == 403
        # A body changed after signing is a forgery too.
        signature = twilio.sign(url, form)
        tampered = {**form, "Body": "something else"}
        response = await phone.client.post(
            url, data=tampered, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 403
        status = await phone.client.post(
            live.url(STATUS_PATH), data={"MessageSid": "SM1", "MessageStatus": "delivered"}
        )
        assert status.status_code == 403
        assert await row_counts(live.services.db) == before
        assert twilio_like_signature


async def test_a_repeated_message_sid_answers_the_same_and_stores_nothing(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        sid = new_sid()
        first = await phone.text("hi", sid=sid)
        before = await row_counts(live.services.db)
        again = await phone.text("hi", sid=sid)
        assert again == first
        assert await row_counts(live.services.db) == before


async def test_location_fields_are_dropped_at_the_edge(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Whole words only: a two-letter canary would turn up by chance in a random case
    # reference or alias.
    canaries = ["Xochimilcoville", "QZ-Canary", "98765", "Atlantisland", "Wombatford"]
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        for body in ENGLISH_MOVE:
            await phone.text(
                body,
                from_city="Xochimilcoville",
                from_state="QZ-Canary",
                from_zip="98765",
                from_country="Atlantisland",
                to_city="Wombatford",
            )
        stored = await table_rows(live.services.db)
        assert find_canaries(canaries, stored) == []
    assert find_canaries(canaries, files_under(tmp_path / "data")) == []
    assert find_canaries([*canaries, WITNESS], log_lines(caplog)) == []


async def test_pictures_are_not_kept_or_fetched(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (_live, twilio, phone):
        await phone.text("hi")
        media = twilio.base_url + "/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
        replies = await phone.text("", media=[("image/jpeg", media)])
        assert replies
        assert any(word in " ".join(replies).lower() for word in ("picture", "photo", "media"))
        assert all(request.method != "GET" for request in twilio.requests)


async def test_stop_silences_and_start_resumes(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        await phone.text("hi")
        assert await phone.text("STOP") == []
        assert await phone.text("1") == []
        async with live.services.db.read() as session:
            assert (await session.execute(select(Witness))).scalar_one().opted_out
        assert await phone.text("START")
        assert await phone.text("HELP")


@pytest.mark.parametrize("size", [64 * 1024 + 1, 1024 * 1024])
async def test_huge_bodies_get_413(tmp_path: Path, database_url: str, size: int) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        before = await row_counts(live.services.db)
        form = inbound_sms_form(from_=WITNESS, body="x" * size, message_sid=new_sid())
        response = await phone.post(SMS_PATH, form)
        assert response.status_code == 413

        async def chunks():  # no Content-Length: the limit applies while streaming
            for _ in range(size // 8192 + 1):
                yield b"Body=" + b"x" * 8192

        streamed = await phone.client.post(
            live.url(SMS_PATH),
            content=chunks(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": "x",
            },
        )
        assert streamed.status_code == 413
        assert await row_counts(live.services.db) == before


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"Body=\xff\xfe&From=%2B1555"),
        ("application/x-www-form-urlencoded", b"Body=%FF%FE&From=x"),
        ("application/x-www-form-urlencoded", b"&&&=&=="),
        ("application/x-www-form-urlencoded", b"Body=a&Body=b"),
        ("application/x-www-form-urlencoded", b"just some text"),
        ("application/json", b'{"Body": "hi"}'),
        ("multipart/form-data; boundary=x", b"--x--"),
        ("", b""),
    ],
)
async def test_malformed_requests_get_4xx_and_store_nothing(
    tmp_path: Path, database_url: str, content_type: str, body: bytes
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        before = await row_counts(live.services.db)
        for path in (SMS_PATH, STATUS_PATH):
            response = await phone.client.post(
                live.url(path),
                content=body,
                headers={"Content-Type": content_type, "X-Twilio-Signature": "c2lnbmF0dXJl"},
            )
            assert 400 <= response.status_code < 500, (path, response.status_code)
        assert await row_counts(live.services.db) == before


async def test_signed_but_incomplete_forms_get_400(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        before = await row_counts(live.services.db)
        assert (await phone.post(SMS_PATH, {"Body": "hi"})).status_code == 400
        assert (await phone.post(STATUS_PATH, {"MessageSid": "SM1"})).status_code == 400
        assert await row_counts(live.services.db) == before


async def test_unicode_and_emoji_get_a_polite_reply(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (_live, _twilio, phone):
        for body in ["🙏🏽🔥", "", " ", "ñ" * 1600, "\u202e\u0000x", "１"]:
            assert await phone.text(body)


async def test_sms_channel_off_without_settings(tmp_path: Path, database_url: str) -> None:
    async with running_service(data_dir=tmp_path / "data", database_url=database_url) as live:
        async with httpx.AsyncClient() as client:
            response = await client.post(live.url(SMS_PATH), data={"Body": "hi"})
        assert response.status_code == 404
