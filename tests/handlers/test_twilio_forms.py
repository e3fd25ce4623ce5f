"""Signed Twilio forms are held to Twilio's shapes: text moved between fields is refused.

Twilio's signature joins each name and value with no separator, so a captured request
with text shifted from one field into the one before it still carries a valid signature.
Every field the service reads must look as Twilio writes it, or the request gets 400 and
leaves no trace.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select

from handlers.twilio_sms import SMS_PATH, STATUS_PATH
from storage.models import Case, Message
from tests.canaries import row_counts
from tests.fakes.twilio import DEFAULT_ACCOUNT_SID, inbound_sms_form, new_sid
from tests.handlers.api_helpers import reply_from_caseworker
from tests.handlers.sms_helpers import WITNESS, sms_service
from tests.intake_scripts import ENGLISH_LOCKS
from tests.live import LiveService, eventually


async def test_a_sid_that_swallowed_the_next_field_is_refused(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        sid = new_sid()
        await phone.text("hi", sid=sid)
        before = await row_counts(live.services.db)
        url = live.url(SMS_PATH)
        original = inbound_sms_form(
            from_=WITNESS, to=twilio.phone_number, body="hi", message_sid=sid
        )
        # The replay: "NumMedia" and its value moved into MessageSid, NumMedia dropped.
        # The captured signature still holds, and the SID is new to the de-duplication...
        shifted = {key: value for key, value in original.items() if key != "NumMedia"}
        shifted["MessageSid"] = sid + "NumMedia0"
        signature = twilio.sign(url, original)
        assert twilio.sign(url, shifted) == signature
        response = await phone.post(SMS_PATH, shifted, signature=signature)
        # ...but it is not the shape of a message SID, so nothing is taken from it.
        assert response.status_code == 400
        assert await row_counts(live.services.db) == before


def _refused_forms() -> dict[str, dict[str, str]]:
    form = inbound_sms_form(from_=WITNESS, body="hi", message_sid=new_sid())
    sid = form["MessageSid"]
    without = {key: value for key, value in form.items() if key != "AccountSid"}
    return {
        "short-sid": form | {"MessageSid": "SM1", "SmsSid": "SM1", "SmsMessageSid": "SM1"},
        "sid-with-suffix": form
        | dict.fromkeys(("MessageSid", "SmsSid", "SmsMessageSid"), sid + "x"),
        "upper-hex-sid": form
        | dict.fromkeys(("MessageSid", "SmsSid", "SmsMessageSid"), "SM" + sid[2:].upper()),
        "call-sid": form | dict.fromkeys(("MessageSid", "SmsSid", "SmsMessageSid"), new_sid("CA")),
        "sms-sid-differs": form | {"SmsSid": new_sid()},
        "sms-message-sid-differs": form | {"SmsMessageSid": new_sid()},
        "other-account": form | {"AccountSid": "AC" + "f" * 32},
        "no-account": without,
        "whatsapp-sender": form | {"From": "whatsapp:" + WITNESS},
        "sender-without-plus": form | {"From": WITNESS[1:]},
        "sender-with-text": form | {"From": WITNESS + "FromCityX"},
        "sender-too-long": form | {"From": "+1" + "5" * 15},
        "no-sender": {key: value for key, value in form.items() if key != "From"},
        "media-count-with-text": form | {"NumMedia": "0NumSegments1"},
    }


async def test_signed_forms_twilio_would_not_send_get_400_and_store_nothing(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        before = await row_counts(live.services.db)
        for case, form in _refused_forms().items():
            response = await phone.post(SMS_PATH, form)
            assert response.status_code == 400, (case, response.text)
        assert await row_counts(live.services.db) == before


async def test_realistic_forms_are_taken(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        assert await phone.text("hi")
        media = [("image/jpeg", "https://api.twilio.com/2010-04-01/Accounts/AC1/Media/ME1")]
        assert await phone.text("", media=media)
        # Forms without the older SmsSid / SmsMessageSid aliases are Twilio's too.
        form = inbound_sms_form(from_=WITNESS, body="STATUS", message_sid=new_sid())
        form = {key: value for key, value in form.items() if not key.startswith("Sms")}
        assert (await phone.post(SMS_PATH, form)).status_code == 200
        async with live.services.db.read() as session:
            stored = (await session.execute(select(Message.id))).scalars().all()
        assert len(stored) >= 3


async def test_status_callbacks_are_held_to_the_same_shapes(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        await phone.walk(ENGLISH_LOCKS)
        async with live.services.db.read() as session:
            case_id: uuid.UUID = (await session.execute(select(Case.id))).scalar_one()
        message_id = await reply_from_caseworker(live.services, case_id, "Hello")
        await eventually(lambda: _delivery(live, message_id), what="the send to be recorded")
        sid = twilio.sent[-1].sid
        good = twilio.status_callback_form(sid, "delivered")
        refused = {
            "sid-with-suffix": good | {"MessageSid": sid + "x", "SmsSid": sid + "x"},
            "sms-sid-differs": good | {"SmsSid": new_sid()},
            "other-account": good | {"AccountSid": "AC" + "f" * 32},
            "no-account": {key: value for key, value in good.items() if key != "AccountSid"},
        }
        for case, form in refused.items():
            response = await phone.post(STATUS_PATH, form)
            assert response.status_code == 400, (case, response.text)
        assert await _delivery(live, message_id) == "sent"
        assert good["AccountSid"] == DEFAULT_ACCOUNT_SID
        assert (await phone.post(STATUS_PATH, good)).status_code == 204
        assert await _delivery(live, message_id) == "delivered"


async def _delivery(live: LiveService, message_id: uuid.UUID) -> str | None:
    """The message's delivery state once the outbox has sent it, else None."""
    async with live.services.db.read() as session:
        message = await session.get(Message, message_id)
    state = message.delivery if message else None
    return None if state in (None, "queued") else state
