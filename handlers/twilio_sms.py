"""The SMS edge: Twilio's inbound-message and status-callback webhooks.

Every request is checked against X-Twilio-Signature before anything else happens; a
request that fails gets 403 and leaves no trace. Of Twilio's form only MessageSid, From,
Body and NumMedia are read: the location fields Twilio adds (FromCity, FromState,
FromZip, FromCountry, ...) and the rest are dropped here, never stored or logged. Media
is never fetched.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.desk import InboundMessage
from bot.intake.model import Channel
from bot.outbox import record_status
from handlers.forms import BadForm, read_form

if TYPE_CHECKING:
    from bot.desk import IntakeDesk, Receipt
    from storage.crypto import Vault
    from storage.db import Database

log = logging.getLogger(__name__)

SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
# Twilio's own error for "this recipient has opted out".
OPTED_OUT_CODE = "21610"


def _text(status: int, message: str) -> PlainTextResponse:
    return PlainTextResponse(message, status_code=status)


class TwilioWebhooks:
    """The two Twilio endpoints, bound to the desk and the account's auth token."""

    def __init__(
        self, *, desk: IntakeDesk, db: Database, vault: Vault, auth_token: str, public_url: str
    ) -> None:
        self._desk = desk
        self._db = db
        self._vault = vault
        self._validator = RequestValidator(auth_token)
        self._public_url = public_url.rstrip("/")

    def routes(self) -> list[Route]:
        return [
            Route(SMS_PATH, self.inbound, methods=["POST"]),
            Route(STATUS_PATH, self.status, methods=["POST"]),
        ]

    async def _signed_form(self, request: Request) -> dict[str, str] | Response:
        """The form, if Twilio signed it; else the refusal to send back."""
        signature = request.headers.get("x-twilio-signature")
        if not signature:
            return _text(403, "missing signature")
        try:
            form = await read_form(request)
        except BadForm as exc:
            return _text(400, str(exc))
        url = self._public_url + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        if not self._validator.validate(url, form, signature):
            log.warning("refused a Twilio webhook with a bad signature")
            return _text(403, "bad signature")
        return form

    async def inbound(self, request: Request) -> Response:
        form = await self._signed_form(request)
        if isinstance(form, Response):
            return form
        message_sid, sender = form.get("MessageSid", ""), form.get("From", "")
        if not message_sid or not sender:
            return _text(400, "MessageSid and From are required")
        message = InboundMessage(
            channel=Channel.SMS,
            address=sender,
            text=form.get("Body", ""),
            provider_id=message_sid,
            has_media=_media_count(form) > 0,
        )
        del form  # everything else Twilio sent (location included) ends here
        receipt = await self._desk.receive(message)
        return Response(_twiml(receipt), media_type="application/xml")

    async def status(self, request: Request) -> Response:
        form = await self._signed_form(request)
        if isinstance(form, Response):
            return form
        message_sid = form.get("MessageSid") or form.get("SmsSid") or ""
        status = form.get("MessageStatus") or form.get("SmsStatus") or ""
        if not message_sid or not status:
            return _text(400, "MessageSid and MessageStatus are required")
        known = await record_status(
            self._db,
            vault=self._vault,
            channel=Channel.SMS,
            provider_id=message_sid,
            status=status,
            opted_out=form.get("ErrorCode") == OPTED_OUT_CODE,
        )
        if not known:
            log.info("status callback for a message we do not know")
        return Response(status_code=204)


def _media_count(form: dict[str, str]) -> int:
    try:
        return max(0, int(form.get("NumMedia", "0") or "0"))
    except ValueError:
        return 1 if any(key.startswith("MediaUrl") for key in form) else 0


def _twiml(receipt: Receipt) -> str:
    response = MessagingResponse()
    # Twilio answers its opt-out words itself, and will not deliver to an opted-out
    # number: after STOP the reply is an empty <Response/>.
    if not receipt.opted_out:
        for reply in receipt.replies:
            response.message(reply.text)
    return str(response)
