"""The SMS edge: Twilio's inbound-message and status-callback webhooks.

Every request is checked against X-Twilio-Signature before anything else happens; a
request that fails gets 403 and leaves no trace. Of Twilio's form only MessageSid, From,
Body and NumMedia are read: the location fields Twilio adds (FromCity, FromState,
FromZip, FromCountry, ...) and the rest are dropped here, never stored or logged. Media
is never fetched.

The signature joins names and values with no separator, so text moved from one field to
the next ("MessageSid" = sid + "NumMedia0", NumMedia dropped) keeps it valid. Every field
read is therefore held to the shape Twilio gives it, and a signed form that is not what
Twilio sends for this account gets 400 and leaves no trace either: MessageSid is a
message SID (and equals SmsSid and SmsMessageSid when they come), AccountSid is this
account, From is a phone number in E.164 (the only sender the SMS channel serves;
Twilio's other channels, such as "whatsapp:+1...", are not set up here).
"""

from __future__ import annotations

import functools
import hmac
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator, add_port, remove_port
from twilio.twiml.messaging_response import MessagingResponse

from bot.channels import ChannelPlugin, ChannelTraits, Plugged, Wiring
from bot.delivery import DeliveryReports, StatusReport
from bot.desk import InboundMessage
from bot.intake import messages
from bot.metrics import ACCEPTED, DUPLICATE, ERROR, KNOWN, REFUSED, UNKNOWN, Metrics
from handlers.forms import BadForm, plain_text, read_form
from handlers.twilio_client import OPTED_OUT_CODE
from storage.models import utcnow

if TYPE_CHECKING:
    from bot.desk import IntakeDesk, Receipt
    from bot.settings import Settings
    from storage.crypto import Vault
    from storage.db import Database

log = logging.getLogger(__name__)

SMS = "sms"
# Twilio refuses to delete a message record in its first minute (error 20009).
FORGET_AFTER = timedelta(minutes=1)
SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
# What `twilio configure` puts after the SMS URL: Twilio's connection overrides, so that a
# 5xx (the database was away) or a timeout is tried again rather than the message lost
# (Twilio does not retry inbound messaging webhooks by default): up to 3 retries on connect
# failures, read timeouts (5 s each) and 5xx, all within Twilio's 15 s; a 4xx is our
# considered refusal and is not retried. A retry is answered as a repeated MessageSid.
RETRY_OVERRIDES = "rt=5000&tt=15000&rc=3&rp=ct,rt,5xx"
# A message's SID: SM (text) or MM (with media), then 32 lowercase hex digits.
MESSAGE_SID = re.compile(r"(?:SM|MM)[0-9a-f]{32}")
# A phone number in E.164: "+", a country code that does not start with 0, 15 digits at most.
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
MEDIA_COUNT = re.compile(r"[0-9]{1,2}")


class BadTwilioForm(Exception):
    """A signed form whose fields are not shaped as Twilio sends them for this account."""


@dataclass(frozen=True)
class InboundSms:
    """The only fields of Twilio's inbound-message form the service reads."""

    message_sid: str
    sender: str
    body: str
    media: int


class TwilioWebhooks:
    """The two Twilio endpoints, bound to the desk and the account's auth token."""

    def __init__(
        self,
        *,
        desk: IntakeDesk,
        db: Database,
        vault: Vault,
        account_sid: str,
        auth_token: str,
        public_url: str,
        forget: bool = False,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        self._desk = desk
        self._metrics = metrics or Metrics()
        self._reports = DeliveryReports(db=db, vault=vault)
        # Twilio's copies are deleted: inline replies ask for status callbacks, so their
        # records (whose ids only Twilio knows) can be deleted once final too.
        self._forget = forget
        self._clock = clock
        self._account_sid = account_sid
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
            return plain_text(403, "missing signature")
        try:
            form = await read_form(request)
        except BadForm as exc:
            return plain_text(400, str(exc))
        url = self._public_url + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        if not self._signed(url, form, signature):
            log.warning("refused a Twilio webhook with a bad signature")
            return plain_text(403, "bad signature")
        return form

    def _signed(self, url: str, form: dict[str, str], signature: str) -> bool:
        """Whether Twilio signed this form for this URL, in any of the URL's forms Twilio
        signs (with the port or without it, and with the retry overrides' fragment or
        without it), as the library's `validate` accepts them. Each form is tried in turn
        and the first match ends it: `validate` computes two signatures every time."""
        params = _SingleValued(form)
        expected = signature.encode("utf-8")
        return any(
            hmac.compare_digest(
                self._validator.compute_signature(candidate, params).encode("utf-8"), expected
            )
            for candidate in _signed_urls(url)
        )

    async def inbound(self, request: Request) -> Response:
        started = time.perf_counter()
        outcome = ERROR
        try:
            response, outcome = await self._inbound(request)
        finally:
            self._metrics.webhook(SMS, outcome=outcome, seconds=time.perf_counter() - started)
        return response

    async def _inbound(self, request: Request) -> tuple[Response, str]:
        """The answer to an inbound message, and how it ended (accepted, duplicate, refused)."""
        form = await self._signed_form(request)
        if isinstance(form, Response):
            return form, REFUSED
        try:
            sms = read_inbound(form, account_sid=self._account_sid)
        except BadTwilioForm as exc:
            log.warning("refused a signed Twilio webhook: %s", exc)
            return plain_text(400, str(exc)), REFUSED
        del form  # everything else Twilio sent (location included) ends here
        message = InboundMessage(
            channel=SMS,
            address=sms.sender,
            text=sms.body,
            provider_id=sms.message_sid,
            has_media=sms.media > 0,
        )
        receipt = await self._desk.receive(message)
        callback = self._public_url + STATUS_PATH if self._forget else None
        twiml = Response(_twiml(receipt, status_callback=callback), media_type="application/xml")
        return twiml, DUPLICATE if receipt.duplicate else ACCEPTED

    async def status(self, request: Request) -> Response:
        outcome = ERROR
        try:
            response, outcome = await self._status(request)
        finally:
            self._metrics.delivery_report(SMS, outcome=outcome)
        return response

    async def _status(self, request: Request) -> tuple[Response, str]:
        """The answer to a delivery report, and how it ended (known, unknown, refused)."""
        form = await self._signed_form(request)
        if isinstance(form, Response):
            return form, REFUSED
        try:
            _check_account(form, account_sid=self._account_sid)
            message_sid = _message_sid(form)
        except BadTwilioForm as exc:
            log.warning("refused a signed Twilio status callback: %s", exc)
            return plain_text(400, str(exc)), REFUSED
        status = form.get("MessageStatus") or form.get("SmsStatus") or ""
        if not status:
            return plain_text(400, "MessageStatus is required"), REFUSED
        known = await self._reports.record(
            StatusReport(
                channel=SMS,
                provider_id=message_sid,
                status=status,
                opted_out=form.get("ErrorCode") == str(OPTED_OUT_CODE),
                now=self._clock(),
                forget_after=FORGET_AFTER if self._forget else None,
            )
        )
        if not known:
            log.info("status callback for a message we do not know")
        return Response(status_code=204), KNOWN if known else UNKNOWN


class _SingleValued(dict[str, str]):
    """A form as the signature reads it: every field has one value (forms with repeated
    fields are refused before this). The method is the one the library looks for first
    (Flask's MultiDict's), so it does not fail over through two AttributeErrors a field."""

    def getall(self, name: str) -> list[str]:
        return [self[name]]


@functools.lru_cache(maxsize=32)
def _signed_urls(url: str) -> tuple[str, ...]:
    """The URLs Twilio may have signed for a request to `url`, most likely first.

    The URL `twilio configure` registers carries the retry overrides as a fragment, which
    never reaches us; whether Twilio signs with it or without, both are ours.
    """
    candidates: list[str] = []
    for signed in (url, f"{url}#{RETRY_OVERRIDES}"):
        parsed = urlparse(signed)
        candidates += [remove_port(parsed), add_port(parsed)]
    return tuple(dict.fromkeys(candidates))


def read_inbound(form: dict[str, str], *, account_sid: str) -> InboundSms:
    """The fields of an inbound-message form, each as Twilio shapes it, or BadTwilioForm."""
    _check_account(form, account_sid=account_sid)
    message_sid = _message_sid(form)
    sender = form.get("From", "")
    if not E164.fullmatch(sender):
        raise BadTwilioForm("From is not a phone number in E.164")
    media = form.get("NumMedia", "0")
    if not MEDIA_COUNT.fullmatch(media):
        raise BadTwilioForm("NumMedia is not a count")
    return InboundSms(
        message_sid=message_sid, sender=sender, body=form.get("Body", ""), media=int(media)
    )


def _check_account(form: dict[str, str], *, account_sid: str) -> None:
    if form.get("AccountSid") != account_sid:
        raise BadTwilioForm("AccountSid is not this account")


def _message_sid(form: dict[str, str]) -> str:
    sid = form.get("MessageSid", "")
    if not MESSAGE_SID.fullmatch(sid):
        raise BadTwilioForm("MessageSid is not a Twilio message SID")
    for alias in ("SmsSid", "SmsMessageSid"):
        if alias in form and form[alias] != sid:
            raise BadTwilioForm(f"{alias} differs from MessageSid")
    return sid


def _twiml(receipt: Receipt, *, status_callback: str | None) -> str:
    response = MessagingResponse()
    # Twilio answers its opt-out words itself, and will not deliver to an opted-out
    # number: after STOP the reply is an empty <Response/>.
    if not receipt.opted_out:
        for reply in receipt.replies:
            if status_callback is None:
                response.message(reply.text)
            else:
                response.message(reply.text, status_callback=status_callback)
    return str(response)


def describe(settings: Settings) -> ChannelTraits:
    return ChannelTraits(
        name=SMS,
        help=messages.HELP_SMS,
        inline=True,
        phone_number=True,
        forget_after=FORGET_AFTER if settings.sms_enabled and settings.twilio_delete else None,
    )


def report(settings: Settings) -> str:
    if settings.sms_enabled:
        inbound = "on" if settings.public_url else "off until INTAKE_PUBLIC_URL is set"
        return f"SMS channel: on (sending on; inbound webhook {inbound})"
    missing = [
        name
        for name, value in (
            ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
            ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
            ("TWILIO_PHONE_NUMBER", settings.twilio_phone_number),
        )
        if not value
    ]
    return f"SMS channel: off ({', '.join(missing)} not set)"


def plug(wiring: Wiring) -> Plugged | None:
    """Twilio's sender, and its webhooks once the service has a public address."""
    settings = wiring.settings
    if not settings.sms_enabled:
        return None
    from handlers.twilio_client import TwilioSender

    assert settings.twilio_account_sid and settings.twilio_auth_token  # noqa: S101 - sms_enabled
    assert settings.twilio_phone_number  # noqa: S101 - sms_enabled
    token = settings.twilio_auth_token.get_secret_value()
    public_url = settings.public_url.rstrip("/") if settings.public_url else None
    sender = TwilioSender(
        account_sid=settings.twilio_account_sid,
        auth_token=token,
        from_number=settings.twilio_phone_number.get_secret_value(),
        api_base=settings.twilio_api_base,
        status_callback=public_url + STATUS_PATH if public_url else None,
    )
    plugged = Plugged(sender=sender, closers=[sender.close])
    if public_url:
        webhooks = TwilioWebhooks(
            desk=wiring.desk,
            db=wiring.db,
            vault=wiring.vault,
            account_sid=settings.twilio_account_sid,
            auth_token=token,
            public_url=public_url,
            forget=describe(settings).forget_after is not None,
            clock=wiring.clock,
            metrics=wiring.metrics,
        )
        plugged.routes.extend(webhooks.routes())
    return plugged


PLUGIN = ChannelPlugin(name=SMS, describe=describe, report=report, plug=plug)
