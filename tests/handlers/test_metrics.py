"""GET /metrics: the operators' series move with real traffic, name no one, and are guarded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import build_services, build_web_app
from handlers.twilio_sms import SMS_PATH, STATUS_PATH
from tests.clock import ManualClock
from tests.conftest import make_settings
from tests.fakes.telegram import FakeTelegram, text_update
from tests.fakes.twilio import FakeTwilio, inbound_sms_form, new_sid, status_callback_form
from tests.handlers.api_helpers import make_caseworker, sign_in
from tests.handlers.sms_helpers import WITNESS, Phone
from tests.handlers.telegram_helpers import (
    SECRET,
    WITNESS_CHAT,
    TelegramUser,
    next_update_id,
    outbox_settled,
)
from tests.intake_scripts import ENGLISH_MOVE, REFERENCE
from tests.live import LiveService, eventually, running_service

Labels = frozenset[tuple[str, str]]


@dataclass
class Scrape:
    """One scrape of /metrics: every sample by name and labels, and every label value."""

    samples: dict[tuple[str, Labels], float]
    label_values: set[str]
    text: str

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def has(self, name: str, **labels: str) -> bool:
        return (name, frozenset(labels.items())) in self.samples

    def total(self, name: str, **labels: str) -> float:
        """The sum over every sample of `name` whose labels include `labels`."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls)


def parse(text: str) -> Scrape:
    samples: dict[tuple[str, Labels], float] = {}
    values: set[str] = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
            values.update(sample.labels.values())
    return Scrape(samples=samples, label_values=values, text=text)


async def scrape(client: httpx.AsyncClient, live: LiveService) -> Scrape:
    response = await client.get(live.url("/metrics"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert response.headers["cache-control"] == "no-store"
    return parse(response.text)


@asynccontextmanager
async def both_channels(
    tmp_path: Path, database_url: str, **settings: Any
) -> AsyncIterator[tuple[LiveService, Phone, TelegramUser, httpx.AsyncClient]]:
    """The live service with SMS and Telegram on, a witness on each, and a plain client."""
    async with (
        FakeTwilio() as twilio,
        FakeTelegram() as telegram,
        running_service(
            data_dir=tmp_path / "data",
            database_url=database_url,
            twilio_account_sid=twilio.account_sid,
            twilio_auth_token=twilio.auth_token,
            twilio_phone_number=twilio.phone_number,
            twilio_api_base=twilio.base_url,
            telegram_bot_token=telegram.token,
            telegram_api_base=telegram.base_url,
            telegram_webhook_secret=SECRET,
            public_url=True,
            # Twilio's copies would be deleted a minute on: owed, but not due in the test.
            twilio_delete=False,
            **settings,
        ) as live,
        httpx.AsyncClient(timeout=30) as client,
    ):
        phone = Phone(live=live, twilio=twilio, client=client)
        user = TelegramUser(live=live, fake=telegram, client=client)
        yield live, phone, user, client


WEBHOOKS = "intake_webhook_requests_total"
LATENCY = "intake_webhook_seconds_count"
REPORTS = "intake_delivery_reports_total"
STORY = "someone keeps driving past my house"


async def test_series_move_under_a_short_load_and_name_no_one(tmp_path, database_url):
    async with both_channels(tmp_path, database_url) as (live, phone, user, client):
        await make_caseworker(live.services.db, "maria")
        before = await scrape(client, live)

        # A whole SMS intake (a case waits in relocation, high), then the same delivery again.
        replies = await phone.walk(ENGLISH_MOVE)
        reference = REFERENCE.search(" ".join(replies))
        assert reference is not None
        await phone.text("1", sid=phone.sids[-1])
        # A forged delivery: refused, nothing stored.
        form = inbound_sms_form(
            from_=WITNESS,
            to=phone.twilio.phone_number,
            body="forged words",
            account_sid=phone.twilio.account_sid,
            message_sid="SM" + "0" * 32,
        )
        forged = await phone.post(SMS_PATH, form, signature="not-the-signature")
        assert forged.status_code == 403
        # Delivery reports: one for an inline reply (only Twilio had its id), one forged.
        report = status_callback_form(
            new_sid(), "delivered", to=WITNESS, account_sid=phone.twilio.account_sid
        )
        assert (await phone.post(STATUS_PATH, report)).status_code == 204
        assert (await phone.post(STATUS_PATH, report, signature="forged")).status_code == 403
        # A Telegram witness writes, and one delivery comes without the secret.
        update = text_update(next_update_id(), WITNESS_CHAT, "hello there", language_code="en")
        await user.deliver(update)
        await user.deliver(update)
        refused = await user.post({"update_id": 1}, headers={})
        assert refused.status_code == 401
        await eventually(lambda: outbox_settled(live), what="the outbox to send")
        waiting = await scrape(client, live)

        caseworker = await sign_in(client, live.base_url, "maria")
        claimed = await caseworker.post("/api/v1/queues/relocation/claim")
        assert claimed.status_code == 200, claimed.text
        # The claim's notice went out through the outbox: its report is about a message
        # the service knows.
        notice = await eventually(
            lambda: [sms for sms in phone.twilio.sent if sms.to == WITNESS], what="the notice"
        )
        assert await phone.status(notice[0].sid, "delivered") == 204
        after = await scrape(client, live)

    def grew(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    steps = len(ENGLISH_MOVE)
    assert grew(WEBHOOKS, channel="sms", outcome="accepted") == steps
    assert grew(LATENCY, channel="sms", outcome="accepted") == steps
    assert grew(WEBHOOKS, channel="sms", outcome="duplicate") == 1
    assert grew(WEBHOOKS, channel="sms", outcome="refused") == 1
    assert grew(WEBHOOKS, channel="telegram", outcome="accepted") == 1
    assert grew(WEBHOOKS, channel="telegram", outcome="duplicate") == 1
    assert grew(LATENCY, channel="telegram", outcome="accepted") == 1
    assert grew(WEBHOOKS, channel="telegram", outcome="refused") == 1
    assert after.value("intake_webhook_seconds_sum", channel="sms", outcome="accepted") > 0
    assert grew(REPORTS, channel="sms", outcome="unknown") == 1
    assert grew(REPORTS, channel="sms", outcome="refused") == 1
    assert grew(REPORTS, channel="sms", outcome="known") == 1

    # The Telegram witness's replies went out through the outbox; nothing is owed now.
    assert grew("intake_outbox_sent_total", channel="telegram") >= 1
    assert after.value("intake_outbox_depth", channel="telegram") == 0
    assert after.has("intake_outbox_oldest_age_seconds", channel="sms")

    # The case waited in its queue, then a caseworker claimed it.
    assert before.value("intake_cases_waiting", queue="relocation", priority="high") == 0
    assert waiting.value("intake_cases_waiting", queue="relocation", priority="high") == 1
    assert after.value("intake_cases_waiting", queue="relocation", priority="high") == 0
    assert waiting.total("intake_cases_waiting") == 1
    assert grew("intake_claims_total", queue="relocation") == 1
    assert after.total("intake_cases_past_target") == 0

    # Every transaction committed was timed, one transaction per commit.
    commits = grew("intake_db_commit_seconds_count")
    assert commits >= steps
    assert grew("intake_db_write_batch_size_count") == commits
    assert grew("intake_db_write_batch_size_sum") == commits

    # The workers that run at start have each finished a pass.
    for worker in ("outbox", "retention", "claim-timeout", "escalation"):
        assert after.value("intake_worker_last_success_timestamp_seconds", worker=worker) > 0

    # No label anywhere carries a witness's number, words, chat or case reference.
    canaries = [WITNESS, WITNESS.lstrip("+"), str(WITNESS_CHAT), reference.group(0), STORY]
    canaries += ["bluebird", "hello there", "forged words", "maria"]
    for scraped in (before, waiting, after):
        for value in scraped.label_values:
            for canary in canaries:
                assert canary.lower() not in value.lower(), (canary, value)
        for canary in canaries:
            assert canary not in scraped.text


async def test_cases_past_their_target_are_counted_by_queue_and_priority(tmp_path, database_url):
    clock = ManualClock()
    async with both_channels(tmp_path, database_url, clock=clock) as (live, phone, _user, client):
        await phone.walk(ENGLISH_MOVE)
        on_time = await scrape(client, live)
        # High priority: two hours to answer (the defaults, around the clock).
        clock.advance(3 * 3600)
        late = await scrape(client, live)

    assert on_time.value("intake_cases_past_target", queue="relocation", priority="high") == 0
    assert late.value("intake_cases_past_target", queue="relocation", priority="high") == 1
    assert late.value("intake_cases_waiting", queue="relocation", priority="high") == 1
    assert late.has("intake_escalations_total")


@asynccontextmanager
async def app_client(
    tmp_path: Path, database_url: str, *, client: tuple[str, int], **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The app in process, seen from `client` (the peer's address and port)."""
    services = build_services(make_settings(tmp_path / "data", database_url, **settings))
    await services.start()
    try:
        transport = httpx.ASGITransport(app=build_web_app(services), client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as http:
            yield http
    finally:
        await services.close()


TOKEN = "metrics-token-for-tests-0123456789"


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer wrong-token", 401),
        (f"Basic {TOKEN}", 401),
        (f"Bearer {TOKEN}x", 401),
        (f"Bearer {TOKEN}", 200),
        (f"bearer {TOKEN}", 200),
    ],
)
async def test_with_a_token_only_its_bearer_reads_the_series(
    tmp_path, database_url, authorization, status
):
    headers = {"Authorization": authorization} if authorization else {}
    # From anywhere, loopback included: the token is what counts once it is set.
    for peer in ("127.0.0.1", "203.0.113.5"):
        async with app_client(
            tmp_path, database_url, client=(peer, 1234), metrics_token=TOKEN
        ) as http:
            response = await http.get("/metrics", headers=headers)
        assert response.status_code == status, (peer, response.text)
        assert response.headers["cache-control"] == "no-store"
        if status == 200:
            assert "intake_webhook_requests" in response.text
        else:
            assert response.headers["www-authenticate"] == "Bearer"
            assert "intake_" not in response.text


@pytest.mark.parametrize(
    ("peer", "forwarded", "status"),
    [
        ("127.0.0.1", None, 200),
        ("::1", None, 200),
        ("203.0.113.5", None, 403),
        # A client cannot claim to be this machine by writing the header itself.
        ("203.0.113.5", "127.0.0.1", 403),
        # Through a trusted proxy, the address the proxy saw counts.
        ("10.0.0.2", "203.0.113.5", 403),
        ("10.0.0.2", "127.0.0.1", 200),
    ],
)
async def test_without_a_token_only_this_machine_reads_the_series(
    tmp_path, database_url, peer, forwarded, status
):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    async with app_client(
        tmp_path, database_url, client=(peer, 1234), trusted_proxies="10.0.0.0/8"
    ) as http:
        response = await http.get("/metrics", headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    if status == 200:
        assert response.headers["content-type"].startswith("text/plain; version=")
        scraped = parse(response.text)
        assert scraped.value("intake_cases_waiting", queue="relocation", priority="urgent") == 0
    else:
        assert "intake_" not in response.text
