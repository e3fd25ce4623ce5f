"""The caseworker journey with a witness on Telegram: the reply leaves through the Bot API."""

from __future__ import annotations

from pathlib import Path

from tests.canaries import find_canaries, table_rows
from tests.handlers.api_helpers import make_caseworker, sign_in
from tests.handlers.telegram_helpers import WITNESS_CHAT, telegram_service
from tests.intake_scripts import SPANISH_SUPPORT
from tests.live import eventually

STORY = "Canario-Tamarindo vio todo desde la ventana"


async def test_a_telegram_witness_is_answered_on_telegram(
    tmp_path: Path, database_url: str
) -> None:
    async with telegram_service(tmp_path, database_url) as (live, fake, user):
        script = list(SPANISH_SUPPORT)
        script[9] = STORY  # the story, after the fast path and the first questions
        await user.walk(script)
        await make_caseworker(live.services.db, "lucia", queues=("support",), languages=("es",))
        lucia = await sign_in(user.client, live.base_url, "lucia")

        claimed = await lucia.post("/api/v1/queues/support/claim")
        assert claimed.status_code == 200
        case = claimed.json()
        assert (case["language"], case["priority"]) == ("es", "urgent")
        assert case["answers"]["story"] == STORY
        assert str(WITNESS_CHAT) not in claimed.text

        before = len(fake.texts_to(WITNESS_CHAT))
        sent = await lucia.post(
            f"/api/v1/cases/{case['ref']}/messages", {"text": "Hola, soy Lucía. ¿Está a salvo?"}
        )
        assert sent.status_code == 202
        await eventually(lambda: len(fake.texts_to(WITNESS_CHAT)) > before)
        assert fake.texts_to(WITNESS_CHAT)[-1] == "Hola, soy Lucía. ¿Está a salvo?"

        await user.say("sí, gracias")

        async def transcript_settled() -> bool:
            detail = (await lucia.get(f"/api/v1/cases/{case['ref']}")).json()
            ours = [m for m in detail["messages"] if m["text"] == "Hola, soy Lucía. ¿Está a salvo?"]
            return bool(ours) and ours[0]["delivery"] == "sent"

        await eventually(transcript_settled)
        detail = (await lucia.get(f"/api/v1/cases/{case['ref']}")).json()
        assert ("in", "sí, gracias") in [(m["direction"], m["text"]) for m in detail["messages"]]
        assert "phone" not in detail and detail["may_call"] is False

        closed = await lucia.post(f"/api/v1/cases/{case['ref']}/close", {"outcome": "derivada"})
        assert closed.json()["status"] == "closed"
        rows = await table_rows(live.services.db)
        assert find_canaries([STORY, "sí, gracias", str(WITNESS_CHAT)], rows) == []
