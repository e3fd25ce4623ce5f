"""The console's v2 case page and banner: escalations for supervisors, triage badges,
"previously handled by", safe times and office hours by the reply box, the number only
on purpose, duress confirmation and the priority control.

Most tests drive the console's forms over HTTP; one drives the case page in Chromium.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from bot.app import build_services, build_web_app
from bot.casework import Casework
from tests.conftest import make_settings
from tests.handlers.api_helpers import audit_rows, case_row, make_caseworker, seed_cases
from tests.handlers.casework_helpers import change_answers, set_case
from tests.handlers.sms_helpers import WITNESS, sms_service
from tests.handlers.test_console import browser, console_sign_in, sign_in
from tests.intake_scripts import ENGLISH_MOVE
from tests.live import eventually

__all__ = ["browser"]  # the fixture, shared with the console's own browser tests

CALL_ME = [*ENGLISH_MOVE[:8], "2", *ENGLISH_MOVE[9:]]  # 2: call this number
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
REFUSAL = re.compile(r'<p class="notice error" role="alert" data-refused>([^<]*)</p>')
SATURDAY_NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
MONDAY_TEN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@asynccontextmanager
async def console_as(base_url: str, username: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        assert (await console_sign_in(client, username)).status_code == 303
        yield client


async def post_form(client: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    """Post a console form with the session's CSRF token, as the page would."""
    page = await client.get("/console/queues")
    token = CSRF.search(page.text)
    assert token is not None
    return await client.post(path, data={"csrf": token.group(1), **fields})


def notice_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    found = re.search(r"notice=([\w-]+)", response.headers["location"])
    assert found is not None, response.headers["location"]
    return found.group(1)


def refusal_of(response: httpx.Response, status: int) -> str:
    """What a refused console form says, once its answer has the status it should."""
    assert response.status_code == status, response.text
    found = REFUSAL.search(response.text)
    assert found is not None, response.text
    return html.unescape(found.group(1))


async def test_supervisors_see_escalated_cases_on_every_page(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, _phone):
        db, vault = live.services.db, live.services.vault
        late = (await seed_cases(db, vault, created_at=datetime.now(UTC) - timedelta(minutes=40)))[
            0
        ]
        calm = (await seed_cases(db, vault))[0]
        await set_case(
            db,
            late,
            priority="urgent",
            priority_rank=0,
            due_at=datetime.now(UTC) - timedelta(minutes=25),
            escalated_at=datetime.now(UTC) - timedelta(minutes=5),
        )
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "boss", supervisor=True)
        async with (
            console_as(live.base_url, "boss") as boss,
            console_as(live.base_url, "ana") as ana,
        ):
            for path in ("/console/queues", "/console/all", "/console/audit", "/console/cases"):
                page = await boss.get(path)
                assert "Past their response target" in page.text, path
                banner = page.text.split("Past their response target")[1].split("</section>")[0]
                assert late in banner and calm not in banner
                assert "relocation" in banner and "urgent" in banner
                assert re.search(r"waiting 4[01] min", banner), banner
            assert "Past their response target" not in (await ana.get("/console/queues")).text

            # Claimed, it stays on the banner until the caseworker answers.
            claimed = await post_form(ana, "/console/queues/relocation/claim")
            assert claimed.headers["location"] == f"/console/cases/{late}"
            assert late in (await boss.get("/console/queues")).text
            sent = await post_form(ana, f"/console/cases/{late}/reply", text="I am on it.")
            assert notice_of(sent) == "sent"
            assert "Past their response target" not in (await boss.get("/console/queues")).text


async def test_the_case_page_shows_triage_the_last_holder_and_safe_times(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, _phone):
        db, vault = live.services.db, live.services.vault
        ref = (await seed_cases(db, vault))[0]
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "bob", queues=("relocation",))
        await change_answers(db, vault, ref, safe_times="weekdays after 6pm <b>")
        await set_case(db, ref, triage="not safe now,weapon", previous_holder_username="bob")
        async with console_as(live.base_url, "ana") as ana:
            await post_form(ana, "/console/queues/relocation/claim")
            page = (await ana.get(f"/console/cases/{ref}")).text

        assert '<span class="badge triage">not safe now</span>' in page
        assert '<span class="badge triage">weapon</span>' in page
        assert "Previously handled by bob" in page
        # The witness's own words, escaped, beside the reply box.
        assert "Safe times the witness gave: <strong>weekdays after 6pm &lt;b&gt;</strong>" in page
        assert page.index("Safe times the witness gave") < page.index("Reply to the witness")
        # No office hours configured: the office is always open, so no warning.
        assert "outside office hours" not in page
        # The witness chose "text me": there is no number to ask for.
        assert "Show number" not in page
        assert '<option value="normal" selected>' in page


@asynccontextmanager
async def office_console(
    tmp_path: Path, database_url: str, clock: Callable[[], datetime]
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The app with office hours Mon-Fri 09:00-17:00 UTC and a clock the test moves."""
    settings = make_settings(
        tmp_path / "data", database_url, office_hours="Mon-Fri 09:00-17:00 UTC"
    )
    services = build_services(settings)
    await services.start()
    casework = Casework(
        db=services.db,
        vault=services.vault,
        doorbell=services.doorbell,
        targets=settings.targets,
        channels=services.channels,
        clock=clock,
    )
    services = dataclasses.replace(services, casework=casework)
    ref = (await seed_cases(services.db, services.vault))[0]
    await make_caseworker(services.db, "ana", queues=("relocation",))
    transport = httpx.ASGITransport(app=build_web_app(services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as ana:
            assert (await console_sign_in(ana, "ana")).status_code == 303
            await post_form(ana, "/console/queues/relocation/claim")
            yield ana, ref
    finally:
        await services.close()


async def test_outside_office_hours_the_reply_box_warns(tmp_path: Path, database_url: str) -> None:
    now = [SATURDAY_NOON]
    async with office_console(tmp_path, database_url, lambda: now[0]) as (ana, ref):
        closed = (await ana.get(f"/console/cases/{ref}")).text
        assert "It is outside office hours now." in closed
        assert "The witness gave no safe times" in closed

        now[0] = MONDAY_TEN
        opened = (await ana.get(f"/console/cases/{ref}")).text
        assert "outside office hours" not in opened


async def test_the_number_is_shown_only_to_the_holder_who_gives_a_reason(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        await phone.walk(CALL_ME)
        db = live.services.db
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "olga", queues=("relocation",))
        await make_caseworker(db, "boss", supervisor=True)
        async with (
            console_as(live.base_url, "ana") as ana,
            console_as(live.base_url, "boss") as boss,
            console_as(live.base_url, "olga") as olga,
        ):
            claimed = await post_form(ana, "/console/queues/relocation/claim")
            ref = claimed.headers["location"].rsplit("/", 1)[1]
            page = (await ana.get(f"/console/cases/{ref}")).text
            assert "Show number" in page and WITNESS not in page
            assert "Show number" not in (await boss.get(f"/console/cases/{ref}")).text

            blank = await post_form(ana, f"/console/cases/{ref}/phone", reason="   ")
            assert "why you need the number" in refusal_of(blank, 422)
            assert await audit_rows(db, action="case.number_revealed", reference=ref) == 0

            shown = await post_form(ana, f"/console/cases/{ref}/phone", reason="to plan the move")
            assert shown.status_code == 200
            assert f"<strong data-phone>{WITNESS}</strong>" in shown.text
            assert "/phone" in str(shown.url) and WITNESS not in str(shown.url)
            assert await audit_rows(db, action="case.number_revealed", reference=ref) == 1
            # Reading the case again does not show it again.
            assert WITNESS not in (await ana.get(f"/console/cases/{ref}")).text

            overseen = await post_form(boss, f"/console/cases/{ref}/phone", reason="checking")
            assert refusal_of(overseen, 409) == (
                "Only the caseworker holding the case may see the number."
            )
            stranger = await post_form(olga, f"/console/cases/{ref}/phone", reason="checking")
            assert stranger.status_code == 404 and WITNESS not in stranger.text
            assert await audit_rows(db, action="case.number_revealed", reference=ref) == 1


async def test_duress_needs_the_box_ticked_and_priority_has_a_control(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, _phone):
        db, vault = live.services.db, live.services.vault
        ref = (await seed_cases(db, vault))[0]
        await set_case(db, ref, triage="duress", priority="urgent", priority_rank=0)
        await make_caseworker(db, "ana", queues=("relocation",))
        async with console_as(live.base_url, "ana") as ana:
            await post_form(ana, "/console/queues/relocation/claim")
            page = (await ana.get(f"/console/cases/{ref}")).text
            assert "Possible duress" in page
            assert re.search(
                r'<input type="checkbox" name="confirm_duress" value="yes" required>', page
            )
            assert '<span class="badge triage duress">duress</span>' in page

            unticked = await post_form(ana, f"/console/cases/{ref}/reply", text="Are you safe?")
            assert "may be under duress" in refusal_of(unticked, 409)
            assert await audit_rows(db, action="case.replied", reference=ref) == 0
            ticked = await post_form(
                ana,
                f"/console/cases/{ref}/reply",
                text="Wrong number, sorry.",
                confirm_duress="yes",
            )
            assert notice_of(ticked) == "sent"
            await eventually(lambda: [m for m in twilio.sent if m.body == "Wrong number, sorry."])
            assert not [m for m in twilio.sent if m.body == "Are you safe?"]

            bogus = await post_form(ana, f"/console/cases/{ref}/priority", priority="lowest")
            assert refusal_of(bogus, 422) == "No such priority."
            lowered = await post_form(ana, f"/console/cases/{ref}/priority", priority="high")
            assert notice_of(lowered) == "priority-changed"
            row = await case_row(db, ref)
            assert (row.priority, row.priority_rank) == ("high", 1)
            assert await audit_rows(db, action="case.priority_changed", reference=ref) == 1
            again = (await ana.get(f"/console/cases/{ref}?notice=priority-changed")).text
            assert "Priority changed" in again and '<option value="high" selected>' in again


async def test_the_case_page_in_the_browser(
    tmp_path: Path, database_url: str, browser: Browser
) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        await phone.walk(CALL_ME)
        db = live.services.db
        await make_caseworker(db, "ana", queues=("relocation",))
        page = await sign_in(browser, live.base_url, "ana")
        await page.get_by_role("button", name="Claim next in relocation").click()
        ref = (await page.locator(".ref").first.inner_text()).strip()
        await set_case(db, ref, triage="not safe now,duress", priority="urgent", priority_rank=-1)
        await page.reload()

        triage = page.locator(".triage-list")
        await expect(triage.get_by_text("not safe now")).to_be_visible()
        await expect(triage.get_by_text("duress")).to_be_visible()
        await expect(
            page.get_by_text("Safe times the witness gave: evenings after 6")
        ).to_be_visible()

        await page.get_by_label("Why do you need the number?").fill("to plan the move by phone")
        await page.get_by_role("button", name="Show number").click()
        await expect(page.locator("[data-phone]")).to_have_text(WITNESS)
        assert WITNESS not in page.url

        await page.get_by_label("Reply to the witness").fill("Sorry, wrong number.")
        await page.get_by_role("button", name="Send reply").click()
        # The browser holds the form back until the duress box is ticked.
        box = page.get_by_label("I have read the duress warning")
        assert await box.evaluate("box => box.validity.valueMissing")
        await expect(page.get_by_text("Your reply is on its way")).to_have_count(0)
        assert await audit_rows(db, action="case.replied", reference=ref) == 0
        await box.check()
        await page.get_by_role("button", name="Send reply").click()
        await expect(page.get_by_text("Your reply is on its way")).to_be_visible()
        await eventually(lambda: [m for m in twilio.sent if m.body == "Sorry, wrong number."])
        await expect(page.locator("[data-phone]")).to_have_count(0)

        await page.get_by_label("Priority").select_option("normal")
        await page.get_by_role("button", name="Change priority").click()
        await expect(page.get_by_text("Priority changed")).to_be_visible()
        await expect(page.locator(".facts .priority")).to_have_text("normal")
