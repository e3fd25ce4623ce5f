"""Keep listening, end to end: danger after the intake, a closed case written to, the
danger word, and the quick exit, over signed SMS webhooks and Telegram updates, checked
through the caseworker API."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from storage.models import OutboxItem
from tests.clock import ManualClock
from tests.handlers.api_helpers import Caseworker, make_caseworker, sign_in
from tests.handlers.sms_helpers import WITNESS, sms_service
from tests.handlers.telegram_helpers import WITNESS_CHAT, telegram_service
from tests.intake_scripts import ENGLISH_LOCKS, REFERENCE
from tests.live import LiveService, eventually

CRISIS_LINE = "+1 800 555 0199"
SPANISH_LOCKS = ["hola", "1", "1", "3", "3", "1", "OMITIR", "OMITIR", "OMITIR", "OMITIR", "1"]
QUOTES = [
    ("he is outside my house with a gun right now", ENGLISH_LOCKS),
    ("ya viene para acá y tiene una pistola", SPANISH_LOCKS),
    ("they found out where i live", ENGLISH_LOCKS),
]


async def supervisor(live: LiveService, client: httpx.AsyncClient) -> Caseworker:
    await make_caseworker(live.services.db, "sam", supervisor=True)
    return await sign_in(client, live.base_url, "sam")


def reference_in(replies: list[str]) -> str:
    found = REFERENCE.search("\n".join(replies))
    assert found is not None, replies
    return found.group(0)


@pytest.mark.parametrize(("quote", "script"), QUOTES, ids=["gun", "pistola", "found"])
async def test_danger_over_sms_is_answered_in_the_same_round_trip(
    tmp_path: Path, database_url: str, quote: str, script: list[str]
) -> None:
    clock = ManualClock()
    async with sms_service(tmp_path, database_url, clock=clock, crisis_line=CRISIS_LINE) as (
        live,
        _twilio,
        phone,
    ):
        ref = reference_in(await phone.walk(script))
        clock.advance(3600)
        replies = await phone.text(quote)

        assert "911" in replies[0] and CRISIS_LINE in "\n".join(replies)
        sam = await supervisor(live, phone.client)
        case = (await sam.get(f"/api/v1/cases/{ref}")).json()
        assert case["priority"] == "urgent"
        assert case["triage"] and all(word not in case["triage"] for word in quote.split()[2:])
        waiting = (await sam.get("/api/v1/cases", status="waiting")).json()
        assert [c["ref"] for c in waiting][0] == ref


@pytest.mark.parametrize(("quote", "script"), QUOTES, ids=["gun", "pistola", "found"])
async def test_danger_over_telegram_is_answered_at_once(
    tmp_path: Path, database_url: str, quote: str, script: list[str]
) -> None:
    async with telegram_service(tmp_path, database_url, crisis_line=CRISIS_LINE) as (
        live,
        _fake,
        user,
    ):
        user.language_code = "es" if script is SPANISH_LOCKS else "en"
        ref = reference_in(await user.walk(script))
        replies = await user.say(quote)  # waits until the outbox has sent the replies

        assert "911" in replies[0] and CRISIS_LINE in "\n".join(replies)
        sam = await supervisor(live, user.client)
        case = (await sam.get(f"/api/v1/cases/{ref}")).json()
        assert case["priority"] == "urgent" and case["triage"]


@pytest.mark.parametrize("thanks", ["thank you", "ok gracias"])
async def test_thanks_change_nothing(tmp_path: Path, database_url: str, thanks: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        ref = reference_in(await phone.walk(ENGLISH_LOCKS))
        sam = await supervisor(live, phone.client)
        before = (await sam.get(f"/api/v1/cases/{ref}")).json()
        replies = await phone.text(thanks)

        after = (await sam.get(f"/api/v1/cases/{ref}")).json()
        assert (after["priority"], after["triage"], after["status"]) == (
            before["priority"],
            before["triage"],
            before["status"],
        )
        assert "911" not in "\n".join(replies)


async def test_a_closed_case_written_to_is_waiting_again(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        ref = reference_in(await phone.walk(ENGLISH_LOCKS))
        await make_caseworker(live.services.db, "ana", queues=("home-security",))
        ana = await sign_in(phone.client, live.base_url, "ana")
        assert (await ana.post("/api/v1/queues/home-security/claim")).status_code == 200
        closed = await ana.post(f"/api/v1/cases/{ref}/close", {"outcome": "locks changed"})
        assert closed.status_code == 200

        replies = await phone.text("I need help again please")

        assert replies[0].startswith("Thank you for writing. Your request is open again")
        sam = await supervisor(live, phone.client)
        case = (await sam.get(f"/api/v1/cases/{ref}")).json()
        assert (case["status"], case["assigned_to"]) == ("waiting", None)
        queues = (await ana.get("/api/v1/queues")).json()
        assert {q["name"]: q["waiting"] for q in queues}["home-security"] == 1


async def test_the_danger_word_end_to_end(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        script = list(ENGLISH_LOCKS)
        script[-2] = "Pineapple"  # the danger word, instead of SKIP
        ref = reference_in(await phone.walk(script))

        replies = await phone.text("pineapple")

        assert replies == ["Sorry, wrong number."]
        await make_caseworker(live.services.db, "ana", queues=("home-security",))
        ana = await sign_in(phone.client, live.base_url, "ana")
        claimed = (await ana.post("/api/v1/queues/home-security/claim")).json()
        assert claimed["ref"] == ref and claimed["priority"] == "urgent"
        assert "duress" in claimed["triage"]
        refused = await ana.post(f"/api/v1/cases/{ref}/messages", {"text": "Are you ok?"})
        assert refused.status_code == 409
        sent = await ana.post(
            f"/api/v1/cases/{ref}/messages", {"text": "Are you ok?", "confirm_duress": True}
        )
        assert sent.status_code == 202
        await eventually(lambda: any(m.body == "Are you ok?" for m in twilio.sent_to(WITNESS)))
        bodies = [m.body for m in twilio.sent_to(WITNESS)]
        assert all("Pineapple" not in body for body in bodies)
        # No automatic "a caseworker has your request" to a phone someone else may hold.
        assert not any("has your request" in body for body in bodies)


async def test_exit_on_telegram_empties_the_chat_and_goes_quiet(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        await user.walk(ENGLISH_LOCKS)
        ours = [m["message_id"] for m in fake.sent_messages(WITNESS_CHAT)]
        replies = await user.say("EXIT")

        assert replies == []
        deleted: set[int] = set()
        for call in fake.calls_to("deleteMessages"):
            deleted.update(int(i) for i in call.params["message_ids"])
        for call in fake.calls_to("deleteMessage"):
            deleted.add(int(call.params["message_id"]))
        assert set(ours) <= deleted and set(user.message_ids[:-1]) <= deleted
        back = await user.say("hi again")
        assert back  # writing again ends the quiet


async def test_exit_over_sms_holds_replies_until_the_witness_writes_again(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        ref = reference_in(await phone.walk(ENGLISH_LOCKS))
        replies = await phone.text("EXIT")
        assert "delete this thread" in replies[0]
        await make_caseworker(live.services.db, "ana", queues=("home-security",))
        ana = await sign_in(phone.client, live.base_url, "ana")
        assert (await ana.post("/api/v1/queues/home-security/claim")).status_code == 200
        sent = await ana.post(f"/api/v1/cases/{ref}/messages", {"text": "Checking in"})
        assert sent.status_code == 202

        async def held() -> bool:
            async with live.services.db.read() as session:
                items = (await session.execute(select(OutboxItem))).scalars().all()
            return any(i.status == "pending" and i.attempts >= 1 for i in items)

        await eventually(held, what="the outbox to hold the reply")
        assert not any(m.body == "Checking in" for m in twilio.sent_to(WITNESS))
        await phone.text("I can talk now")
        await eventually(
            lambda: any(m.body == "Checking in" for m in twilio.sent_to(WITNESS)),
            what="the held reply",
        )
