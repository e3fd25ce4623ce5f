"""The caseworker console in a real browser (Debian's Chromium, driven by Playwright).

A witness texts in through the fake Twilio; a caseworker signs in, watches the queue
update by itself, claims the case, reads it, replies (the fake Twilio receives the
text), sees the witness's answer appear without reloading, and closes the case. A
supervisor reads the audit log; another caseworker cannot open the case. The tests
write screenshots of the queue and case pages to docs/screenshots/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import IN_CI
from tests.handlers.api_helpers import PASSWORD, make_caseworker
from tests.handlers.sms_helpers import Phone, sms_service
from tests.intake_scripts import ENGLISH_MOVE
from tests.live import eventually, running_service

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        if IN_CI:
            pytest.fail("CI must run the browser tests: apt-get install chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        yield launched
        await launched.close()


async def sign_in(browser: Browser, base_url: str, username: str) -> Page:
    context = await browser.new_context(viewport={"width": 1180, "height": 820})
    page = await context.new_page()
    await page.goto(base_url + "/console")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Queues")).to_be_visible()
    return page


async def console_sign_in(client: httpx.AsyncClient, username: str) -> httpx.Response:
    """Sign in through the console's form without a browser, CSRF nonce and all."""
    login = await client.get("/console/login")
    nonce = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert nonce is not None
    return await client.post(
        "/console/login",
        data={"csrf": nonce.group(1), "username": username, "password": PASSWORD},
    )


async def new_witness(phone: Phone, number: str) -> None:
    other = Phone(live=phone.live, twilio=phone.twilio, client=phone.client, number=number)
    await other.walk(ENGLISH_MOVE)


async def test_a_caseworker_works_a_case_in_the_browser(tmp_path: Path, browser: Browser) -> None:
    async with sms_service(tmp_path, f"sqlite:///{tmp_path / 'data' / 'intake.db'}") as (
        live,
        twilio,
        phone,
    ):
        await phone.walk(ENGLISH_MOVE)
        db = live.services.db
        await make_caseworker(db, "ana", queues=("relocation", "support"))
        await make_caseworker(db, "bob", queues=("relocation",))
        await make_caseworker(db, "sam", queues=("general",), supervisor=True)

        page = await sign_in(browser, live.base_url, "ana")
        cookies = {c["name"]: c for c in await page.context.cookies()}
        assert cookies["intake_console"]["httpOnly"]
        assert cookies["intake_console"]["sameSite"] == "Strict"
        row = page.locator('tr[data-queue="relocation"]')
        await expect(row.locator('[data-field="waiting"]')).to_have_text("1")

        # Another witness writes in while the page is open: the count follows, no reload.
        await new_witness(phone, "+15550143333")
        await expect(row.locator('[data-field="waiting"]')).to_have_text("2", timeout=15_000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "queues.png"), full_page=True)

        await page.get_by_role("button", name="Claim next in relocation").click()
        await expect(
            page.get_by_role("heading", level=1, name=re.compile("^Case "))
        ).to_be_visible()
        ref = (await page.locator(".ref").first.inner_text()).strip()
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", ref)
        assert f"/console/cases/{ref}" in page.url
        answers = page.locator("dl.answers")
        await expect(answers).to_contain_text("Move somewhere safe for now")
        await expect(answers).to_contain_text("someone keeps driving past my house")

        await page.get_by_label("Reply to the witness").fill("Hello, this is Ana. Are you safe?")
        await page.get_by_role("button", name="Send reply").click()
        await expect(page.get_by_text("Your reply is on its way")).to_be_visible()
        await eventually(lambda: len(twilio.sent) >= 2)
        # The claim told the witness someone has their request; then Ana's words went out.
        assert [s.body for s in twilio.sent] == [
            "A caseworker has your request and will write soon.",
            "Hello, this is Ana. Are you safe?",
        ]
        witness_number = twilio.sent[1].to

        # The witness answers by SMS; the message shows up on the open page.
        answering = Phone(live=live, twilio=twilio, client=phone.client, number=witness_number)
        await answering.text("Yes, I am at my cousin's place")
        await expect(page.get_by_text("Yes, I am at my cousin's place")).to_be_visible(
            timeout=15_000
        )
        await page.screenshot(path=str(SCREENSHOTS / "case.png"), full_page=True)

        # Away from the case, a new message from the witness is marked on "My cases".
        await page.get_by_role("link", name="My cases").click()
        mine = page.locator("table.cases")
        await expect(mine.get_by_role("link", name=ref)).to_be_visible()
        await expect(mine.get_by_text("new message")).to_have_count(0)
        await answering.text("They drove past again tonight")
        await page.reload()
        await expect(mine.get_by_text("new message")).to_be_visible()
        await mine.get_by_role("link", name=ref).click()
        await expect(page.get_by_text("They drove past again tonight")).to_be_visible()

        await page.get_by_label("Outcome").fill("helped")
        await page.get_by_role("button", name="Close case").click()
        await expect(page.get_by_text("Case closed.")).to_be_visible()
        # Closing ends Ana's hold: the case leaves her list, and its page with it.
        await expect(page.get_by_role("heading", name="My cases")).to_be_visible()
        await expect(page.locator("table.cases").get_by_role("link", name=ref)).to_have_count(0)
        gone = await page.goto(f"{live.base_url}/console/cases/{ref}")
        assert gone is not None and gone.status == 404

        # Another caseworker cannot open it, even knowing the reference.
        bob = await sign_in(browser, live.base_url, "bob")
        response = await bob.goto(f"{live.base_url}/console/cases/{ref}")
        assert response is not None and response.status == 404
        await expect(bob.get_by_role("heading", name="Not found")).to_be_visible()
        await expect(bob.get_by_text("Yes, I am at my cousin's place")).to_have_count(0)

        # The supervisor sees who did what.
        sam = await sign_in(browser, live.base_url, "sam")
        await sam.get_by_role("link", name="Audit log").click()
        await sam.get_by_label("Case reference").fill(ref)
        await sam.get_by_role("button", name="Filter").click()
        audit = sam.locator("table.audit")
        for action in ("case.claimed", "case.read", "case.replied", "case.closed"):
            await expect(audit.get_by_text(action, exact=True).first).to_be_visible()
        await expect(audit.get_by_text("ana").first).to_be_visible()


async def test_console_pages_carry_a_strict_policy(tmp_path: Path) -> None:
    async with (
        sms_service(tmp_path, f"sqlite:///{tmp_path / 'data' / 'intake.db'}") as (
            live,
            _twilio,
            _phone,
        ),
        httpx.AsyncClient(base_url=live.base_url) as client,
    ):
        page = await client.get("/console/login")
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "<script>" not in page.text and " style=" not in page.text
        assert page.headers["cache-control"] == "no-store"
        # Forms without the CSRF token are refused, signed in or not.
        refused = await client.post("/console/login", data={"username": "x", "password": "y"})
        assert refused.status_code == 401
        away = await client.get("/console/queues", follow_redirects=False)
        assert away.status_code == 303 and away.headers["location"] == "/console/login"


async def test_a_new_installation_says_how_to_make_the_first_account(
    tmp_path: Path, database_url: str
) -> None:
    async with (
        running_service(data_dir=tmp_path / "data", database_url=database_url) as live,
        httpx.AsyncClient(base_url=live.base_url) as client,
    ):
        first = await client.get("/console/login")
        assert first.status_code == 200
        assert "No one has an account yet" in first.text
        assert "python -m bot caseworker add NAME --supervisor" in first.text

        await make_caseworker(live.services.db, "ana")
        later = await client.get("/console/login")
        # Once anyone has an account, the page says nothing about accounts at all.
        assert "account" not in later.text.lower() and "caseworker add" not in later.text


async def test_forms_without_the_csrf_token_are_refused(tmp_path: Path, browser: Browser) -> None:
    async with sms_service(tmp_path, f"sqlite:///{tmp_path / 'data' / 'intake.db'}") as (
        live,
        _twilio,
        phone,
    ):
        await phone.walk(ENGLISH_MOVE)
        await make_caseworker(live.services.db, "ana", queues=("relocation",))
        page = await sign_in(browser, live.base_url, "ana")
        forged = await page.request.post(
            live.base_url + "/console/queues/relocation/claim", form={"csrf": "forged"}
        )
        assert forged.status == 403
        missing = await page.request.post(live.base_url + "/console/queues/relocation/claim")
        assert missing.status in (400, 403)
        # Nothing was claimed by the forged requests.
        row = page.locator('tr[data-queue="relocation"]')
        await page.reload()
        await expect(row.locator('[data-field="waiting"]')).to_have_text("1")


async def test_the_console_works_by_keyboard_on_a_narrow_screen(
    tmp_path: Path, browser: Browser
) -> None:
    async with sms_service(tmp_path, f"sqlite:///{tmp_path / 'data' / 'intake.db'}") as (
        live,
        _twilio,
        phone,
    ):
        await phone.walk(ENGLISH_MOVE)
        await make_caseworker(live.services.db, "ana", queues=("relocation",))
        context = await browser.new_context(viewport={"width": 360, "height": 740})
        page = await context.new_page()
        await page.goto(live.base_url + "/console/login")
        # Keyboard only: tab into the fields, type, press Enter.
        await page.keyboard.press("Tab")  # the skip link comes first
        await page.keyboard.press("Tab")
        await page.keyboard.type("ana")
        await page.keyboard.press("Tab")
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="Queues")).to_be_visible()
        claim = page.get_by_role("button", name="Claim next in relocation")
        await claim.focus()
        await page.keyboard.press("Enter")
        await expect(
            page.get_by_role("heading", level=1, name=re.compile("^Case "))
        ).to_be_visible()
        # Nothing runs off the side of a phone-sized screen.
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        await expect(page.get_by_label("Reply to the witness")).to_be_visible()
        await context.close()


async def test_console_and_api_tokens_do_not_stand_in_for_each_other(tmp_path: Path) -> None:
    async with sms_service(tmp_path, f"sqlite:///{tmp_path / 'data' / 'intake.db'}") as (
        live,
        _twilio,
        _phone,
    ):
        await make_caseworker(live.services.db, "ana", queues=("relocation",))
        async with httpx.AsyncClient(base_url=live.base_url) as client:
            await console_sign_in(client, "ana")
            cookie = client.cookies["intake_console"]
            api = await client.get("/api/v1/queues", headers={"Authorization": f"Bearer {cookie}"})
            assert api.status_code == 401
            bearer = await client.post(
                "/api/v1/login", json={"username": "ana", "password": PASSWORD}
            )
            token = bearer.json()["token"]
        async with httpx.AsyncClient(
            base_url=live.base_url, cookies={"intake_console": token}
        ) as other:
            refused = await other.get("/console/queues", follow_redirects=False)
            assert refused.status_code == 303 and refused.headers["location"] == "/console/login"


async def test_a_supervisor_reassigns_a_case(tmp_path: Path, browser: Browser) -> None:
    async with sms_service(tmp_path, f"sqlite:///{tmp_path / 'data' / 'intake.db'}") as (
        live,
        _twilio,
        phone,
    ):
        await phone.walk(ENGLISH_MOVE)
        db = live.services.db
        await make_caseworker(db, "bob", queues=("relocation",))
        await make_caseworker(db, "kim", queues=("support",))
        await make_caseworker(db, "sam", queues=("general",), supervisor=True)
        sam = await sign_in(browser, live.base_url, "sam")
        await sam.get_by_role("link", name="All cases").click()
        await sam.locator("table.cases a").first.click()
        ref = (await sam.locator(".ref").first.inner_text()).strip()
        choices = sam.get_by_label("Reassign to caseworker").locator("option")
        # Only someone who works the case's queue can be chosen.
        await expect(choices).to_have_text(["bob"])
        await sam.get_by_role("button", name="Reassign").click()
        await expect(sam.get_by_text("handed to the caseworker you chose")).to_be_visible()
        await expect(sam.get_by_text("held by bob")).to_be_visible()

        bob = await sign_in(browser, live.base_url, "bob")
        await bob.get_by_role("link", name="My cases").click()
        await expect(bob.locator("table.cases").get_by_role("link", name=ref)).to_be_visible()
        await sam.goto(f"{live.base_url}/console/audit?ref={ref}&action=case.assigned")
        await expect(sam.locator("table.audit").get_by_text("case.assigned")).to_be_visible()
