"""Sessions and accounts under attack: idle and absolute session ends, sign-in throttling
that a stranger cannot turn against the real caseworker, the ceiling alarm, disabling
accounts from the console, closed cases leaving their holder, and bad reassignments.

Everything runs on the live service on both databases; time is a ManualClock the tests
move, so nothing sleeps and no assertion is timed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from starlette.requests import Request

from bot.accounts import FREE_TRIES, Throttled
from handlers.client_address import client_address
from storage import caseworkers
from storage.models import AuditEvent
from storage.states import Action
from tests.clock import ManualClock
from tests.handlers.api_helpers import PASSWORD, audit_rows, make_caseworker, seed_cases
from tests.handlers.sms_helpers import sms_service
from tests.handlers.test_console_casework_v2 import refusal_of
from tests.live import LiveService, eventually, running_service

WRONG = "not the password at all"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
MINUTE = 60
ON_CALL = "+15550104477"


@asynccontextmanager
async def live_service(
    tmp_path: Path, database_url: str, **settings: Any
) -> AsyncIterator[tuple[LiveService, ManualClock, httpx.AsyncClient]]:
    # The clock starts at the real time: rows the clock does not stamp stay in order.
    clock = ManualClock(now=datetime.now(UTC))
    async with (
        running_service(
            data_dir=tmp_path / "data", database_url=database_url, clock=clock, **settings
        ) as live,
        httpx.AsyncClient(base_url=live.base_url, timeout=30) as client,
    ):
        yield live, clock, client


async def api_login(
    client: httpx.AsyncClient, username: str, password: str, *, via: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": via} if via else {}
    return await client.post(
        "/api/v1/login", json={"username": username, "password": password}, headers=headers
    )


def waited(response: httpx.Response) -> int:
    """The Retry-After of a throttled sign-in."""
    assert response.status_code == 429, response.text
    assert response.json() == {"detail": "too many failed sign-ins; try again later"}
    return int(response.headers["Retry-After"])


async def console_login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    page = await client.get("/console/login")
    nonce = CSRF.search(page.text)
    assert nonce is not None
    return await client.post(
        "/console/login",
        data={"csrf": nonce.group(1), "username": username, "password": password},
    )


@asynccontextmanager
async def console_as(live: LiveService, username: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as client:
        signed_in = await console_login(client, username)
        assert signed_in.headers.get("location") == "/console/queues", signed_in.text
        yield client


async def post_form(client: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    """Post a console form with the session's CSRF token, as the page would."""
    page = await client.get("/console/queues")
    token = CSRF.search(page.text)
    assert token is not None
    return await client.post(path, data={"csrf": token.group(1), **fields})


def signed_out(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"] == "/console/login"


# -- sessions ------------------------------------------------------------------------


async def test_console_polls_do_not_keep_an_idle_session_alive(
    tmp_path: Path, database_url: str
) -> None:
    async with live_service(tmp_path, database_url, console_idle_minutes=30) as (live, clock, _):
        await make_caseworker(live.services.db, "ana")
        async with console_as(live, "ana") as ana:
            # A page load is use: the session slides.
            clock.advance(20 * MINUTE)
            assert (await ana.get("/console/queues")).status_code == 200
            clock.advance(20 * MINUTE)
            assert (await ana.get("/console/queues")).status_code == 200
            # An open tab polling every few seconds is not: 31 idle minutes end it.
            for _ in range(5):
                clock.advance(5 * MINUTE)
                assert (await ana.get("/console/queues.json")).status_code == 200
            clock.advance(6 * MINUTE)
            polled = await ana.get("/console/queues.json")
            assert polled.status_code == 401
            assert signed_out(await ana.get("/console/queues", follow_redirects=False))


async def test_sessions_end_after_session_hours_however_busy(
    tmp_path: Path, database_url: str
) -> None:
    async with live_service(tmp_path, database_url, console_idle_minutes=30, session_hours=1) as (
        live,
        clock,
        client,
    ):
        await make_caseworker(live.services.db, "ana")
        token = (await api_login(client, "ana", PASSWORD)).json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        async with console_as(live, "ana") as ana:
            for _ in range(2):
                clock.advance(20 * MINUTE)
                assert (await ana.get("/console/queues")).status_code == 200
                assert (await client.get("/api/v1/queues", headers=bearer)).status_code == 200
            # Used every 20 minutes, yet an hour after signing in both are over.
            clock.advance(20 * MINUTE)
            assert signed_out(await ana.get("/console/queues", follow_redirects=False))
            assert (await client.get("/api/v1/queues", headers=bearer)).status_code == 401
        # Signing in again starts a new hour.
        async with console_as(live, "ana") as again:
            assert (await again.get("/console/queues")).status_code == 200


# -- sign-in throttling ----------------------------------------------------------------


async def test_forwarded_addresses_are_ignored_unless_the_peer_is_a_trusted_proxy(
    tmp_path: Path, database_url: str
) -> None:
    async with live_service(tmp_path, database_url) as (live, _clock, client):
        await make_caseworker(live.services.db, "ana")
        for i in range(FREE_TRIES):
            wrong = await api_login(client, "ana", WRONG, via=f"203.0.113.{i}")
            assert wrong.status_code == 401
        # Every one came from 127.0.0.1, whatever the header said: the next one waits.
        assert waited(await api_login(client, "ana", WRONG, via="203.0.113.99")) == 2
        assert waited(await api_login(client, "ana", PASSWORD, via="198.51.100.7")) == 2


async def test_a_stranger_rotating_forwarded_addresses_cannot_lock_out_the_real_caseworker(
    tmp_path: Path, database_url: str
) -> None:
    async with live_service(tmp_path, database_url, trusted_proxies="127.0.0.1") as (
        live,
        _clock,
        client,
    ):
        await make_caseworker(live.services.db, "ana")
        for i in range(12):
            wrong = await api_login(client, "ana", WRONG, via=f"203.0.113.{i}")
            assert wrong.status_code == 401
        # From one address the stranger is slowed down, even claiming to be someone else:
        # the proxy appends the address it saw, and that one counts.
        forged = "198.51.100.7, 203.0.113.50"
        for _ in range(FREE_TRIES):
            assert (await api_login(client, "ana", WRONG, via=forged)).status_code == 401
        assert waited(await api_login(client, "ana", WRONG, via=forged)) == 2
        # Ana, at her own address, is not.
        mine = await api_login(client, "ana", PASSWORD, via="198.51.100.7")
        assert mine.status_code == 200, mine.text
        async with console_as(live, "ana"):
            pass


async def test_the_wait_doubles_with_each_failure_and_retry_after_is_what_is_left(
    tmp_path: Path, database_url: str
) -> None:
    async with live_service(tmp_path, database_url) as (live, clock, client):
        await make_caseworker(live.services.db, "ana")
        for _ in range(FREE_TRIES):
            assert (await api_login(client, "ana", WRONG)).status_code == 401
        assert waited(await api_login(client, "ana", WRONG)) == 2
        clock.advance(1.5)
        assert waited(await api_login(client, "ana", PASSWORD)) == 1
        clock.advance(0.5)
        assert (await api_login(client, "ana", WRONG)).status_code == 401
        assert waited(await api_login(client, "ana", WRONG)) == 4
        clock.advance(4)
        assert (await api_login(client, "ana", WRONG)).status_code == 401
        assert waited(await api_login(client, "ana", WRONG)) == 8
        # The console says the same wait in words.
        page = await console_login(client, "ana")
        assert page.status_code == 429
        assert "Too many attempts. Wait 8 seconds and try again." in page.text
        # The wait keeps doubling up to 15 minutes, never more.
        waits = []
        for _ in range(12):
            wait = waited(await api_login(client, "ana", WRONG))
            waits.append(wait)
            clock.advance(wait)
            assert (await api_login(client, "ana", WRONG)).status_code == 401
        assert waits == [8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900, 900]
        clock.advance(5 * MINUTE)
        assert waited(await api_login(client, "ana", PASSWORD)) == 10 * MINUTE
        assert "Wait 10 minutes and try again." in (await console_login(client, "ana")).text
        # The right password, once allowed, forgives the slips made from this address.
        clock.advance(10 * MINUTE)
        assert (await api_login(client, "ana", PASSWORD)).status_code == 200
        for _ in range(FREE_TRIES):
            assert (await api_login(client, "ana", WRONG)).status_code == 401


async def test_past_the_ceiling_supervisors_are_alerted_and_nobody_is_locked_out(
    tmp_path: Path, database_url: str
) -> None:
    clock = ManualClock(now=datetime.now(UTC))
    async with (
        sms_service(
            tmp_path, database_url, clock=clock, trusted_proxies="127.0.0.1", sign_in_ceiling=5
        ) as (live, twilio, _phone),
        httpx.AsyncClient(base_url=live.base_url, timeout=30) as client,
    ):
        db = live.services.db
        await make_caseworker(db, "ana")
        await make_caseworker(db, "ben")
        await make_caseworker(db, "sam", supervisor=True)
        async with db.write() as session:
            sam_account = await caseworkers.by_username(session, username="sam")
            assert sam_account is not None
            caseworkers.set_alert_contacts(sam_account, vault=live.services.vault, sms=ON_CALL)
        async with console_as(live, "sam") as sam, console_as(live, "ben") as ben:
            banner = "Many failed sign-ins"
            for i in range(5):
                wrong = await api_login(client, "ana", WRONG, via=f"203.0.113.{i}")
                assert wrong.status_code == 401
            calm = await sam.get("/console/queues")
            assert calm.status_code == 200 and banner not in calm.text
            assert await audit_rows(db, action=Action.SIGN_IN_CEILING) == 0
            assert twilio.sent_to(ON_CALL) == []

            # The sixth within the hour crosses it: once, however many follow.
            for i in range(5, 9):
                wrong = await api_login(client, "ana", WRONG, via=f"203.0.113.{i}")
                assert wrong.status_code == 401
            [alert] = await eventually(lambda: twilio.sent_to(ON_CALL), what="the alert")
            assert "many failed sign-ins" in alert.body and "ana" not in alert.body
            page = (await sam.get("/console/queues")).text
            assert banner in page and "<strong>ana</strong>" in page
            theirs = await ben.get("/console/queues")
            assert theirs.status_code == 200 and banner not in theirs.text
            query = select(AuditEvent).where(AuditEvent.action == Action.SIGN_IN_CEILING)
            async with db.read() as session:
                rows = (await session.execute(query)).scalars().all()
            assert [(r.actor_kind, r.actor_id, r.detail) for r in rows] == [("system", None, "ana")]
            assert Action.SIGN_IN_CEILING in (await sam.get("/console/audit")).text

            # Ana herself still signs in from her own address.
            mine = await api_login(client, "ana", PASSWORD, via="198.51.100.7")
            assert mine.status_code == 200

        # An hour later the alarm has run its course; a new crossing alerts again.
        clock.advance(61 * MINUTE)
        async with console_as(live, "sam") as sam:
            quiet = await sam.get("/console/queues")
            assert quiet.status_code == 200 and banner not in quiet.text
            for i in range(6):
                wrong = await api_login(client, "ana", WRONG, via=f"203.0.114.{i}")
                assert wrong.status_code == 401
            assert len(twilio.sent_to(ON_CALL)) == 2
            assert banner in (await sam.get("/console/queues")).text


# -- accounts from the console ---------------------------------------------------------


async def test_a_supervisor_disables_an_account_and_all_its_sessions_end(
    tmp_path: Path, database_url: str
) -> None:
    async with live_service(tmp_path, database_url) as (live, _clock, client):
        db = live.services.db
        await make_caseworker(db, "ana")
        await make_caseworker(db, "sam", supervisor=True)
        await make_caseworker(db, "tia", supervisor=True)
        token = (await api_login(client, "ana", PASSWORD)).json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        async with console_as(live, "sam") as sam, console_as(live, "ana") as ana:
            listed = await sam.get("/console/caseworkers")
            assert listed.status_code == 200
            assert 'data-account="ana"' in listed.text and "Disable ana" in listed.text
            # Not a caseworker's page, nor their form, whatever their CSRF token.
            assert (await ana.get("/console/caseworkers")).status_code == 404
            refused = await post_form(ana, "/console/caseworkers/disable", username="sam")
            assert refused.status_code == 404
            forged = await sam.post(
                "/console/caseworkers/disable", data={"csrf": "forged", "username": "ana"}
            )
            assert forged.status_code == 403
            assert (await client.get("/api/v1/queues", headers=bearer)).status_code == 200

            done = await post_form(sam, "/console/caseworkers/disable", username="ana")
            assert done.headers["location"] == "/console/caseworkers?notice=disabled"
            assert (await client.get("/api/v1/queues", headers=bearer)).status_code == 401
            assert signed_out(await ana.get("/console/queues", follow_redirects=False))
            assert (await api_login(client, "ana", PASSWORD)).status_code == 401
            assert "Enable ana" in (await sam.get("/console/caseworkers")).text

            own = await post_form(sam, "/console/caseworkers/disable", username="sam")
            assert "ask another supervisor" in refusal_of(own, 409)
            missing = await post_form(sam, "/console/caseworkers/disable", username="x" * 300)
            assert refusal_of(missing, 404) == "No such account."

            back = await post_form(sam, "/console/caseworkers/enable", username="ana")
            assert back.headers["location"] == "/console/caseworkers?notice=enabled"
            # Enabling revives none of the old sessions: Ana signs in again.
            assert (await client.get("/api/v1/queues", headers=bearer)).status_code == 401
            assert (await api_login(client, "ana", PASSWORD)).status_code == 200
            trail = (await sam.get("/console/audit")).text
            assert "account.disabled" in trail and "account.enabled" in trail
        assert await audit_rows(db, action="account.disabled") == 1
        assert await audit_rows(db, action="account.enabled") == 1


# -- closed cases and reassignments ----------------------------------------------------


async def test_closing_a_case_ends_its_holders_access_but_not_a_supervisors(
    tmp_path: Path, database_url: str
) -> None:
    async with live_service(tmp_path, database_url) as (live, _clock, client):
        db = live.services.db
        first, second = await seed_cases(db, live.services.vault, count=2)
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "sam", supervisor=True)
        ana = {
            "Authorization": f"Bearer {(await api_login(client, 'ana', PASSWORD)).json()['token']}"
        }
        sam = {
            "Authorization": f"Bearer {(await api_login(client, 'sam', PASSWORD)).json()['token']}"
        }
        ref = (await client.post("/api/v1/queues/relocation/claim", headers=ana)).json()["ref"]
        assert (await client.get(f"/api/v1/cases/{ref}", headers=ana)).status_code == 200
        closing = await client.post(
            f"/api/v1/cases/{ref}/close", json={"outcome": "helped"}, headers=ana
        )
        assert closing.status_code == 200

        for method, path, body in (
            ("GET", f"/api/v1/cases/{ref}", None),
            ("POST", f"/api/v1/cases/{ref}/phone", {"reason": "to call about the move"}),
            ("POST", f"/api/v1/cases/{ref}/messages", {"text": "one more thing"}),
        ):
            gone = await client.request(method, path, json=body, headers=ana)
            assert (gone.status_code, gone.json()) == (404, {"detail": "no such case"}), path
        seen = await client.get(f"/api/v1/cases/{ref}", headers=sam)
        assert (seen.status_code, seen.json()["status"]) == (200, "closed")

        # The console: closing sends the holder to their list; the case page is gone.
        async with console_as(live, "ana") as page:
            claimed = await post_form(page, "/console/queues/relocation/claim")
            other = claimed.headers["location"].rsplit("/", 1)[1]
            assert other in (first, second) and other != ref
            closed = await post_form(page, f"/console/cases/{other}/close", outcome="helped")
            assert closed.headers["location"] == "/console/cases?notice=closed-now"
            assert "Case closed." in (await page.get("/console/cases?notice=closed-now")).text
            assert (await page.get(f"/console/cases/{other}")).status_code == 404
            assert (await page.get(f"/console/cases/{other}/activity.json")).status_code == 404
        async with console_as(live, "sam") as boss:
            assert (await boss.get(f"/console/cases/{other}")).status_code == 200


async def test_reassigning_to_a_name_no_account_can_have_is_a_notice_not_a_crash(
    tmp_path: Path, database_url: str
) -> None:
    async with live_service(tmp_path, database_url) as (live, _clock, _client):
        db = live.services.db
        [ref] = await seed_cases(db, live.services.vault)
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "sam", supervisor=True)
        async with console_as(live, "sam") as sam:
            for name in ("x" * 65, "y" * 300, "ana\x00", "ana\n", "ANA"):
                refused = await post_form(sam, f"/console/cases/{ref}/assign", username=name)
                assert "does not work this queue" in refusal_of(refused, 422), name
            assert await audit_rows(db, action="case.assigned") == 0
            handed = await post_form(sam, f"/console/cases/{ref}/assign", username="ana")
            assert handed.headers["location"].endswith("?notice=assigned")
        assert await audit_rows(db, action="case.assigned") == 1


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    assert Throttled(timedelta(seconds=0.2)).retry_after == 1
    assert Throttled(timedelta(seconds=2.01)).retry_after == 3
    assert Throttled(timedelta(0)).retry_after == 1


def test_the_client_is_the_first_untrusted_address_from_the_right() -> None:
    def seen(peer: str, *forwarded: str, trusted: str = "10.0.0.0/8, ::1") -> str:
        headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
        request = Request({"type": "http", "client": (peer, 5000), "headers": headers})
        networks = [ip_network(part.strip()) for part in trusted.split(",") if part.strip()]
        return client_address(request, trusted=networks)

    # An untrusted peer is the client, whatever it claims.
    assert seen("203.0.113.5", "198.51.100.7") == "203.0.113.5"
    assert seen("10.1.2.3", "198.51.100.7", trusted="") == "10.1.2.3"
    # Behind trusted proxies, the first address they did not add themselves.
    assert seen("10.1.2.3", "198.51.100.7") == "198.51.100.7"
    assert seen("10.1.2.3", "6.6.6.6, 198.51.100.7, 10.9.9.9") == "198.51.100.7"
    assert seen("::1", "6.6.6.6", "198.51.100.7") == "198.51.100.7"
    assert seen("::ffff:10.1.2.3", "198.51.100.7") == "198.51.100.7"
    # Nothing but proxies, or no header: as far as anyone can tell.
    assert seen("10.1.2.3", "10.0.0.1, 10.0.0.2") == "10.0.0.1"
    assert seen("10.1.2.3") == "10.1.2.3"
    assert seen("10.1.2.3", "x" * 500) == "x" * 64
