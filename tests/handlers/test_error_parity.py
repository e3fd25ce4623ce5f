"""The API and the console refuse the same input with the same status, and change nothing.

Both front ends answer core exceptions through one table (handlers.errors); the console
shows the refusal on the page the form came from. Nothing typed into the console is cut
to fit: an outcome or reply over its limit is refused, as the API refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.accounts import MAX_PASSWORD, MAX_USERNAME
from bot.casework import MAX_OUTCOME, MAX_REASON, MAX_REPLY
from storage.caseworkers import add_caseworker
from tests.handlers.api_helpers import (
    PASSWORD,
    audit_rows,
    case_row,
    make_caseworker,
    seed_cases,
    sign_in,
)
from tests.handlers.casework_helpers import change_answers, set_case
from tests.handlers.sms_helpers import sms_service
from tests.handlers.test_console import console_sign_in
from tests.handlers.test_console_casework_v2 import CSRF, console_as, post_form, refusal_of

MISSING = "ZZZZ-ZZZZ"


@dataclass(frozen=True)
class Attempt:
    """One refused action, as an API call and as the console's form or page."""

    who: str
    method: str
    api: str
    body: dict[str, Any] | None
    console: str
    form: dict[str, str]
    status: int


def post(who: str, case: str, action: str, body: dict[str, str], status: int) -> Attempt:
    """A change to a case; the API's reply route is `messages`, the console's `reply`."""
    return Attempt(
        who=who,
        method="POST",
        api=f"/api/v1/cases/{{{case}}}/{action}",
        body=body,
        console=f"/console/cases/{{{case}}}/{'reply' if action == 'messages' else action}",
        form=body,
        status=status,
    )


TOO_LONG_OUTCOME = {"outcome": "o" * (MAX_OUTCOME + 1)}
TOO_LONG_REPLY = {"text": "r" * (MAX_REPLY + 1)}
TOO_LONG_REASON = {"reason": "w" * (MAX_REASON + 1)}

# {held} is a case Ana holds (its witness asked to be called), {duress} one she holds whose
# witness may be under duress, {closed} one she closed, {missing} no case at all.
ATTEMPTS: dict[str, Attempt] = {
    "over-long close outcome": post("ana", "held", "close", TOO_LONG_OUTCOME, 422),
    "blank close outcome": post("ana", "held", "close", {"outcome": "   "}, 422),
    "over-long reply": post("ana", "held", "messages", TOO_LONG_REPLY, 422),
    "blank reply": post("ana", "held", "messages", {"text": " \n "}, 422),
    "over-long reason for the number": post("ana", "held", "phone", TOO_LONG_REASON, 422),
    "unknown transfer queue": post("ana", "held", "transfer", {"queue": "nowhere"}, 422),
    "unknown priority": post("ana", "held", "priority", {"priority": "lowest"}, 422),
    "unconfirmed reply under duress": post("ana", "duress", "messages", {"text": "Hi"}, 409),
    "the number, for a supervisor": post("boss", "held", "phone", {"reason": "checking"}, 409),
    "reply on a closed case": post("boss", "closed", "messages", {"text": "Hi"}, 409),
    "close a closed case": post("boss", "closed", "close", {"outcome": "helped"}, 409),
    "transfer a closed case": post("boss", "closed", "transfer", {"queue": "general"}, 409),
    "release a closed case": post("boss", "closed", "release", {}, 409),
    "reply on a case its holder closed": post("ana", "closed", "messages", {"text": "Hi"}, 404),
    "reply on a case that does not exist": post("ana", "missing", "messages", {"text": "Hi"}, 404),
    "close a case that does not exist": post("ana", "missing", "close", {"outcome": "ok"}, 404),
    "read a case that does not exist": Attempt(
        "ana", "GET", "/api/v1/cases/{missing}", None, "/console/cases/{missing}", {}, 404
    ),
    "claim in a queue not worked": Attempt(
        "ana",
        "POST",
        "/api/v1/queues/general/claim",
        None,
        "/console/queues/general/claim",
        {},
        403,
    ),
    "the audit trail, for a caseworker": Attempt(
        "ana", "GET", "/api/v1/audit", None, "/console/audit", {}, 403
    ),
    "an over-long audit filter": Attempt(
        "boss",
        "GET",
        f"/api/v1/audit?ref={MISSING}-Z",
        None,
        f"/console/audit?ref={MISSING}-Z",
        {},
        422,
    ),
}


async def test_the_api_and_the_console_refuse_alike_and_change_nothing(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        db, vault = live.services.db, live.services.vault
        await seed_cases(db, vault, count=3)
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "boss", supervisor=True)
        api = {name: await sign_in(phone.client, live.base_url, name) for name in ("ana", "boss")}
        refs = {}
        for name in ("held", "duress", "closed"):
            claimed = await api["ana"].post("/api/v1/queues/relocation/claim")
            refs[name] = claimed.json()["ref"]
        refs["missing"] = MISSING
        await change_answers(db, vault, refs["held"], contact="call")
        await set_case(db, refs["duress"], triage="duress")
        closed = await api["ana"].post(f"/api/v1/cases/{refs['closed']}/close", {"outcome": "ok"})
        assert closed.status_code == 200
        before = {name: await case_row(db, refs[name]) for name in ("held", "duress", "closed")}

        async with (
            console_as(live.base_url, "ana") as ana,
            console_as(live.base_url, "boss") as boss,
        ):
            console = {"ana": ana, "boss": boss}
            for what, attempt in ATTEMPTS.items():
                caller = api[attempt.who]
                by_api = await caller.client.request(
                    attempt.method,
                    live.url(attempt.api.format(**refs)),
                    headers=caller.headers,
                    json=attempt.body,
                )
                path = attempt.console.format(**refs)
                if attempt.method == "POST":
                    by_console = await post_form(console[attempt.who], path, **attempt.form)
                else:
                    by_console = await console[attempt.who].get(path)

                assert by_api.status_code == attempt.status, (what, by_api.text)
                assert by_console.status_code == attempt.status, (what, by_console.text)
                if attempt.status == 404:
                    assert "Not found" in by_console.text, what
                else:
                    assert refusal_of(by_console, attempt.status), what

        for name, earlier in before.items():
            after = await case_row(db, refs[name])
            assert (after.status, after.queue, after.assigned_to, after.priority) == (
                earlier.status,
                earlier.queue,
                earlier.assigned_to,
                earlier.priority,
            ), name
        # Nothing was sent, closed, shown or moved by any refused attempt, however long.
        for action in ("case.replied", "case.number_revealed", "case.transferred"):
            assert await audit_rows(db, action=action) == 0, action
        assert await audit_rows(db, action="case.closed") == 1


async def test_an_over_long_outcome_is_refused_by_the_console_not_cut(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, _phone):
        db, vault = live.services.db, live.services.vault
        [ref] = await seed_cases(db, vault)
        await make_caseworker(db, "ana", queues=("relocation",))
        async with console_as(live.base_url, "ana") as ana:
            await post_form(ana, "/console/queues/relocation/claim")
            longest = "o" * MAX_OUTCOME
            refused = await post_form(ana, f"/console/cases/{ref}/close", outcome=longest + "!")
            assert refusal_of(refused, 422) == (
                f"Say how the case ended, in 1 to {MAX_OUTCOME} characters, before closing it."
            )
            # The page the form came from, with the case still open on it.
            assert f"/console/cases/{ref}/close" in refused.text
            assert (await case_row(db, ref)).status == "claimed"

            done = await post_form(ana, f"/console/cases/{ref}/close", outcome=longest)
            assert done.status_code == 303
            assert (await case_row(db, ref)).status == "closed"


async def console_login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    page = await client.get("/console/login")
    nonce = CSRF.search(page.text)
    assert nonce is not None
    return await client.post(
        "/console/login",
        data={"csrf": nonce.group(1), "username": username, "password": password},
    )


async def test_sign_in_is_refused_alike_and_nothing_is_cut(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        db = live.services.db
        await make_caseworker(db, "ana")
        longest = "p" * MAX_PASSWORD
        async with db.write() as session:
            await add_caseworker(
                session,
                username="max",
                password=longest,
                queues=["general"],
                languages=["en"],
                supervisor=False,
            )
        attempts = [
            ("ana", "x" * (MAX_PASSWORD + 1), 422),
            ("ana", "", 422),
            ("a" * (MAX_USERNAME + 1), PASSWORD, 422),
            # Cut to fit, as the console once cut it, this would have signed in.
            ("max", longest + "!", 422),
            ("ana", "not the password", 401),
            ("nobody", PASSWORD, 401),
        ]
        async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as browser:
            for username, password, status in attempts:
                by_api = await phone.client.post(
                    live.url("/api/v1/login"), json={"username": username, "password": password}
                )
                by_console = await console_login(browser, username, password)
                assert by_api.status_code == status, (username, len(password), by_api.text)
                assert by_console.status_code == status, (username, len(password))
                assert 'role="alert"' in by_console.text
            assert (await console_sign_in(browser, "ana")).status_code == 303
            assert (await console_login(browser, "max", longest)).status_code == 303
