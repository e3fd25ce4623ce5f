"""A caseworker's whole journey through the API, against a witness on the fake Twilio."""

from __future__ import annotations

from pathlib import Path

from tests.canaries import find_canaries, table_rows
from tests.handlers.api_helpers import make_caseworker, sign_in
from tests.handlers.sms_helpers import WITNESS, sms_service
from tests.intake_scripts import ENGLISH_MOVE
from tests.live import eventually

STORY = "Juniper-Canary saw them by the laundromat"


async def test_claim_read_reply_and_close(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        script = list(ENGLISH_MOVE)
        script[10] = STORY
        await phone.walk(script)
        await make_caseworker(live.services.db, "ana", queues=("relocation",))
        await make_caseworker(live.services.db, "boss", supervisor=True)
        ana = await sign_in(phone.client, live.base_url, "ana")

        queues = (await ana.get("/api/v1/queues")).json()
        assert queues == [
            {
                "name": "relocation",
                "waiting": 1,
                "urgent": 0,
                "oldest_waiting_seconds": queues[0]["oldest_waiting_seconds"],
            }
        ]
        claimed = await ana.post("/api/v1/queues/relocation/claim")
        assert claimed.status_code == 200
        case = claimed.json()
        assert (case["status"], case["assigned_to"], case["queue"]) == (
            "claimed",
            "ana",
            "relocation",
        )
        assert case["answers"]["story"] == STORY
        assert "phone" not in case  # the number is only ever asked for, with a reason
        assert WITNESS not in claimed.text
        nothing = await ana.post("/api/v1/queues/relocation/claim")
        assert nothing.status_code == 204

        ref = case["ref"]
        sent = await ana.post(
            f"/api/v1/cases/{ref}/messages", {"text": "Hi, this is Ana. Are you safe?"}
        )
        assert sent.status_code == 202
        await eventually(lambda: len(twilio.sent_to(WITNESS)) >= 2)
        # The witness was told of the claim, then got Ana's words.
        assert [m.body for m in twilio.sent_to(WITNESS)] == [
            "A caseworker has your request and will write soon.",
            "Hi, this is Ana. Are you safe?",
        ]

        await phone.text("yes, at my sister's")
        detail = (await ana.get(f"/api/v1/cases/{ref}")).json()
        texts = [(m["direction"], m["text"]) for m in detail["messages"]]
        assert ("out", "Hi, this is Ana. Are you safe?") in texts
        assert [t for t in texts if t[0] == "in"][-1] == ("in", "yes, at my sister's")

        closed = await ana.post(f"/api/v1/cases/{ref}/close", {"outcome": "moved to a safe place"})
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        # Closing ends Ana's hold; the case and its outcome are the supervisors' now.
        assert (await ana.get(f"/api/v1/cases/{ref}")).status_code == 404
        boss = await sign_in(phone.client, live.base_url, "boss")
        assert (await boss.get(f"/api/v1/cases/{ref}")).json()["outcome"] == "moved to a safe place"

        listed = (await ana.get("/api/v1/cases", status="closed")).json()
        assert [c["ref"] for c in listed] == [ref]
        # Nothing the witness said, nor the outcome, sits readable in any table.
        rows = await table_rows(live.services.db)
        assert (
            find_canaries([STORY, "at my sister's", "moved to a safe place", WITNESS], rows) == []
        )
