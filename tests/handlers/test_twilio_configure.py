"""`twilio configure`: the number's SMS webhook, with Twilio's retry overrides, through the
REST API (the fake Twilio's IncomingPhoneNumbers), and a webhook signed over that URL."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from handlers.twilio_sms import RETRY_OVERRIDES, SMS_PATH
from tests.cli_runner import run_cli
from tests.fakes.twilio import FakeTwilio, inbound_sms_form, new_sid
from tests.handlers.sms_helpers import WITNESS, sms_service, twiml_messages

PUBLIC_URL = "https://intake.example.org/"


def configure(
    tmp_path: Path, database_url: str, twilio: FakeTwilio, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    settings = {
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_PHONE_NUMBER": twilio.phone_number,
        "TWILIO_API_BASE": twilio.base_url,
        "INTAKE_PUBLIC_URL": PUBLIC_URL,
        **env,
    }
    return run_cli(
        "twilio",
        "configure",
        *args,
        data_dir=tmp_path / "data",
        database_url=database_url,
        **{name: value for name, value in settings.items() if value},
    )


async def test_configure_points_the_number_at_the_service_with_retries(
    tmp_path: Path, database_url: str
) -> None:
    async with FakeTwilio() as twilio:
        other = twilio.add_number("+15005550009")
        done = await asyncio.to_thread(
            configure,
            tmp_path,
            database_url,
            twilio,
            "--fallback-url",
            "https://fallback.example.org/sms",
        )
    assert done.returncode == 0, done.stderr
    number = twilio.number(twilio.phone_number)
    url = urlsplit(number["sms_url"])
    assert url._replace(fragment="").geturl() == "https://intake.example.org/webhooks/twilio/sms"
    overrides = dict(parse_qsl(url.fragment))
    # Twilio retries an inbound-message webhook only when told to: on 5xx and timeouts.
    assert int(overrides["rc"]) >= 1
    assert {"5xx", "ct", "rt"} <= set(overrides["rp"].split(","))
    assert number["sms_method"] == "POST"
    assert number["sms_application_sid"] == ""
    assert number["status_callback"] == "https://intake.example.org/webhooks/twilio/status"
    assert number["sms_fallback_url"] == "https://fallback.example.org/sms"
    assert number["sms_fallback_method"] == "POST"
    # The number was found by the filter, and only it was changed.
    [listing] = [r for r in twilio.requests if r.path.endswith("IncomingPhoneNumbers.json")]
    assert listing.form["PhoneNumber"] == twilio.phone_number
    assert len(twilio.number_updates) == 1
    assert other["sms_url"] == ""
    assert "https://intake.example.org/webhooks/twilio/sms#" in done.stdout
    for output in (done.stdout, done.stderr):
        assert twilio.auth_token not in output
        assert twilio.phone_number not in output


async def test_configure_without_a_fallback_leaves_it_alone(
    tmp_path: Path, database_url: str
) -> None:
    async with FakeTwilio() as twilio:
        twilio.number(twilio.phone_number)["sms_fallback_url"] = "https://kept.example.org/"
        done = await asyncio.to_thread(configure, tmp_path, database_url, twilio)
    assert done.returncode == 0, done.stderr
    [update] = twilio.number_updates
    assert "SmsFallbackUrl" not in update
    assert twilio.number(twilio.phone_number)["sms_fallback_url"] == "https://kept.example.org/"


async def test_configure_says_what_is_wrong(tmp_path: Path, database_url: str) -> None:
    async with FakeTwilio() as twilio:
        runs = {
            "missing": await asyncio.to_thread(
                configure,
                tmp_path,
                database_url,
                twilio,
                TWILIO_PHONE_NUMBER="",
                INTAKE_PUBLIC_URL="",
            ),
            "unknown number": await asyncio.to_thread(
                configure, tmp_path, database_url, twilio, TWILIO_PHONE_NUMBER="+15005550001"
            ),
            "wrong token": await asyncio.to_thread(
                configure, tmp_path, database_url, twilio, TWILIO_AUTH_TOKEN="0" * 32
            ),
            "bad fallback": await asyncio.to_thread(
                configure, tmp_path, database_url, twilio, "--fallback-url", "ftp://x"
            ),
            "unreachable": await asyncio.to_thread(
                configure, tmp_path, database_url, twilio, TWILIO_API_BASE="http://127.0.0.1:9"
            ),
        }
    codes = {name: done.returncode for name, done in runs.items()}
    assert codes == {
        "missing": 1,
        "unknown number": 1,
        "wrong token": 1,
        "bad fallback": 2,
        "unreachable": 1,
    }
    missing = runs["missing"].stderr
    assert "TWILIO_PHONE_NUMBER" in missing and "INTAKE_PUBLIC_URL" in missing
    assert "TWILIO_AUTH_TOKEN" not in missing
    assert "not a number of this Twilio account" in runs["unknown number"].stderr
    assert "refused the credentials" in runs["wrong token"].stderr
    assert "could not reach Twilio" in runs["unreachable"].stderr
    for done in runs.values():
        assert "Traceback" not in done.stderr
        assert "0" * 32 not in done.stderr + done.stdout
        assert twilio.auth_token not in done.stderr + done.stdout
    assert twilio.number_updates == []


async def test_a_webhook_signed_over_the_configured_url_is_taken(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        form = inbound_sms_form(
            from_=WITNESS, to=twilio.phone_number, body="hi", message_sid=new_sid()
        )
        # Whether Twilio signs with the overrides fragment or without, it is Twilio.
        configured = f"{live.url(SMS_PATH)}#{RETRY_OVERRIDES}"
        response = await phone.post(SMS_PATH, form, signature=twilio.sign(configured, form))
        assert response.status_code == 200
        assert twiml_messages(response.text)
        other = f"{live.url(SMS_PATH)}#rc=5"
        forged = await phone.post(SMS_PATH, form, signature=twilio.sign(other, form))
        assert forged.status_code == 403
        # Twilio may sign the URL with its port or without it: both are taken too.
        url = urlsplit(live.url(SMS_PATH))
        portless = urlunsplit(url._replace(netloc=url.hostname or ""))
        again = inbound_sms_form(
            from_=WITNESS, to=twilio.phone_number, body="1", message_sid=new_sid()
        )
        taken = await phone.post(SMS_PATH, again, signature=twilio.sign(portless, again))
        assert (url.port is not None, taken.status_code) == (True, 200)
