"""A fake Twilio REST API on 127.0.0.1, plus builders for the webhooks Twilio sends us.

`FakeTwilio` serves `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` the way
api.twilio.com does: HTTP basic auth with the account SID and auth token (401, code 20003,
on mismatch), a form-encoded body, and a 201 JSON Message resource with a fresh
"SM" + 32-hex SID. Every attempt is kept in `requests`, every accepted message in `sent`,
and `fail_next(...)` scripts the next answers (500, 429 with Retry-After, 400 with a
Twilio error code such as 21610). The account's phone numbers are IncomingPhoneNumbers
resources (list with a PhoneNumber filter, update by SID): `numbers`, `number(...)`, and
every update's form in `number_updates`.

Pointing the real twilio client at a custom base URL
----------------------------------------------------
twilio-python has no constructor argument for the API host. Every resource reached through
`client.messages` lives on the `Api` domain, which builds each URL as
`client.api.base_url + "/2010-04-01/Accounts/{sid}/Messages.json"`; `base_url` is a plain
public attribute of `twilio.base.domain.Domain`, set to "https://api.twilio.com" when the
domain is created. Assigning it is the whole recipe, and assigning TWILIO_API_BASE's
default, "https://api.twilio.com", leaves the client exactly as it was:

    from twilio.rest import Client

    async with TwilioHttpClient() as http:  # handlers.twilio_client; closes its session
        client = Client(account_sid, auth_token, http_client=http)
        client.api.base_url = settings.twilio_api_base  # e.g. fake.base_url
        message = await client.messages.create_async(
            to=witness_number, from_=our_number, body=text, status_callback=callback_url
        )

The synchronous client is the same with the default `TwilioHttpClient` and
`client.messages.create(...)` (it blocks: in an async test run it in a thread). Notes:

- twilio 9.13's `AsyncTwilioHttpClient` passes credentials as `aiohttp.BasicAuth`, which
  aiohttp 3.14 deprecates: every request warns, and `filterwarnings = error` turns that
  into a failure (twilio/twilio-python#931, fix not released). the service's own
  `handlers.twilio_client.TwilioHttpClient` sends the identical Authorization header itself.
- `AsyncTwilioHttpClient()` opens an aiohttp `ClientSession` in its constructor: it raises
  RuntimeError outside a running event loop, and must be closed (`await http.close()` or
  `async with`), or aiohttp's "Unclosed client session" ResourceWarning fails the run.
- Only the `api` domain moves; others (`client.messaging`, `client.lookups`, ...) keep
  their own `base_url` and need the same assignment if they are ever used.
- Leave `edge` / `region` (and the TWILIO_EDGE / TWILIO_REGION environment variables)
  unset: when either is set, `ClientBase.get_hostname` rewrites the host into
  `api.{edge}.{region}.twilio.com` form, which mangles `127.0.0.1:PORT`.
- Without `max_retries` the async client does not retry, so a scripted 429 or 500 reaches
  the caller at once as `TwilioRestException` with `.status`, `.code` and `.msg` (Twilio's
  legacy error JSON, which the fake answers, maps to that class, not
  `TwilioServiceException`). The Retry-After header is not carried on the exception.
- The alternative Twilio's support suggests, an `HttpClient` subclass that rewrites
  "https://api.twilio.com" in each URL, works too but is more code for the same effect.
"""

from __future__ import annotations

import base64
import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from twilio.request_validator import RequestValidator

from tests.fakes import LocalServer

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "fedcba9876543210" * 2
DEFAULT_PHONE_NUMBER = "+15005550006"
DEFAULT_WITNESS_NUMBER = "+15558675310"

ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service unavailable",
    21211: "Invalid 'To' Phone Number",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the "
    "'To' number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    20009: "Cannot delete this resource before it is complete",
}
DEFAULT_CODE_FOR_STATUS = {
    400: 21211,
    401: 20003,
    404: 20404,
    409: 20009,
    429: 20429,
    500: 20500,
    503: 20503,
}
# Characters of the GSM 03.38 basic set that fit one septet; anything else forces UCS-2.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@dataclass(frozen=True)
class TwilioRequest:
    """One HTTP request the fake received, whatever it answered."""

    method: str
    path: str
    form: dict[str, str]
    auth_ok: bool
    status: int


@dataclass(frozen=True)
class SentSms:
    """A message the fake accepted (answered 201)."""

    sid: str
    to: str
    from_: str | None
    body: str
    status_callback: str | None
    messaging_service_sid: str | None
    media_urls: tuple[str, ...]
    form: dict[str, str] = field(repr=False)
    resource: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class MessageRecord:
    """Twilio's record of one message, kept until it is deleted through the API."""

    sid: str
    to: str
    from_: str
    direction: str


@dataclass(frozen=True)
class TwilioFailure:
    """A scripted error answer, used once by the next authenticated Messages request."""

    status: int
    code: int
    message: str
    retry_after: int | None = None


class FakeTwilio(LocalServer):
    """Twilio's Messages REST API for one account, recording what it is asked to send."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        phone_number: str = DEFAULT_PHONE_NUMBER,
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.phone_number = phone_number
        self.requests: list[TwilioRequest] = []
        self.sent: list[SentSms] = []
        self._failures: list[TwilioFailure] = []
        # The account's phone numbers (IncomingPhoneNumber resources) by SID, and the form
        # of every update made to one.
        self.numbers: dict[str, dict[str, Any]] = {}
        self.number_updates: list[dict[str, str]] = []
        self.add_number(phone_number)
        # Records Twilio keeps (sent, received, TwiML replies) until deleted, and deletes.
        self.records: dict[str, MessageRecord] = {}
        self.deleted: list[str] = []
        # SIDs whose delete is refused with 20009 (not complete yet) while listed here.
        self.in_flight: set[str] = set()

    @property
    def api_base(self) -> str:
        """The value for TWILIO_API_BASE (the same as `base_url`)."""
        return self.base_url

    def fail_next(
        self,
        status: int = 500,
        *,
        code: int | None = None,
        message: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next authenticated send with this error; calls queue in order."""
        code = code if code is not None else DEFAULT_CODE_FOR_STATUS.get(status, status)
        text = message or ERROR_MESSAGES.get(code, f"Error {code}")
        self._failures.append(TwilioFailure(status, code, text, retry_after))

    def sent_to(self, number: str) -> list[SentSms]:
        return [sms for sms in self.sent if sms.to == number]

    def message(self, sid: str) -> SentSms:
        for sms in self.sent:
            if sms.sid == sid:
                return sms
        raise KeyError(sid)

    def sign(self, url: str, params: dict[str, str]) -> str:
        """X-Twilio-Signature for a webhook to `url` with this form, under our auth token."""
        return twilio_signature(self.auth_token, url, params)

    def status_callback_form(
        self, sid: str, status: str, *, error_code: int | None = None
    ) -> dict[str, str]:
        """The callback Twilio would post to the StatusCallback of a message we accepted."""
        sms = self.message(sid)
        return status_callback_form(
            sid,
            status,
            to=sms.to,
            from_=sms.from_ or self.phone_number,
            account_sid=self.account_sid,
            messaging_service_sid=sms.messaging_service_sid,
            error_code=error_code,
        )

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(
            f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", self._create_message
        )
        app.router.add_get(
            f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", self._list_messages
        )
        app.router.add_delete(
            f"/{API_VERSION}/Accounts/{{account_sid}}/Messages/{{sid}}.json", self._delete_message
        )
        numbers = f"/{API_VERSION}/Accounts/{{account_sid}}/IncomingPhoneNumbers"
        app.router.add_get(f"{numbers}.json", self._list_numbers)
        app.router.add_post(f"{numbers}/{{sid}}.json", self._update_number)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    # Message records: what Twilio keeps of every message in or out until it is deleted.

    def received(self, form: dict[str, str]) -> None:
        """Twilio keeps a record of an inbound message it delivered to our webhook."""
        sid = form["MessageSid"]
        self.records[sid] = MessageRecord(sid, form.get("To", ""), form.get("From", ""), "inbound")

    def replied(self, to: str, count: int) -> list[str]:
        """Twilio keeps a record of each <Message> of a TwiML reply; their new SIDs."""
        sids = [new_sid() for _ in range(count)]
        for sid in sids:
            self.records[sid] = MessageRecord(sid, to, self.phone_number, "outbound-reply")
        return sids

    def kept_for(self, number: str) -> list[str]:
        """SIDs of the records Twilio still keeps of messages to or from this number."""
        return [sid for sid, r in self.records.items() if number in (r.to, r.from_)]

    async def _list_messages(self, request: web.Request) -> web.Response:
        auth_ok = self._authenticated(request)
        self.requests.append(TwilioRequest("GET", request.path, dict(request.query), auth_ok, 200))
        if not auth_ok:
            return _error(401, 20003)
        to, from_ = request.query.get("To"), request.query.get("From")
        found = [
            {"sid": r.sid, "to": r.to, "from": r.from_, "direction": r.direction, "body": ""}
            for r in self.records.values()
            if (to is None or r.to == to) and (from_ is None or r.from_ == from_)
        ]
        return _one_page(
            "messages", found, f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        )

    async def _delete_message(self, request: web.Request) -> web.Response:
        auth_ok = self._authenticated(request)
        sid = request.match_info["sid"]
        if not auth_ok:
            status, answer = 401, _error(401, 20003)
        elif sid in self.in_flight:
            # Twilio refuses to delete a record it has not finished with.
            status, answer = (
                409,
                _error(409, 20009, "Cannot delete this resource before it is complete"),
            )
        elif self.records.pop(sid, None) is None:
            status, answer = 404, _error(404, 20404)
        else:
            self.deleted.append(sid)
            status, answer = 204, web.Response(status=204)
        self.requests.append(TwilioRequest("DELETE", request.path, {}, auth_ok, status))
        return answer

    def _authenticated(self, request: web.Request) -> bool:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            login, _, password = base64.b64decode(encoded, validate=True).partition(b":")
        except ValueError:
            return False
        # Both comparisons always run, so timing says nothing about which part was wrong.
        sid_ok = secrets.compare_digest(login, self.account_sid.encode())
        token_ok = secrets.compare_digest(password, self.auth_token.encode())
        return sid_ok and token_ok

    async def _create_message(self, request: web.Request) -> web.Response:
        fields = await request.post()
        form = {key: str(fields.getone(key)) for key in fields}
        auth_ok = self._authenticated(request)
        response = self._answer(request, fields.getall("MediaUrl", []), form, auth_ok)
        self.requests.append(
            TwilioRequest(request.method, request.path, form, auth_ok, response.status)
        )
        return response

    def _answer(
        self, request: web.Request, media: list[Any], form: dict[str, str], auth_ok: bool
    ) -> web.Response:
        if not auth_ok:
            return _error(401, 20003, headers={"WWW-Authenticate": 'Basic realm="Twilio API"'})
        if request.match_info["account_sid"] != self.account_sid:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        if self._failures:
            failure = self._failures.pop(0)
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            return _error(failure.status, failure.code, failure.message, headers=headers)
        invalid = _invalid_send(form, has_media=bool(media))
        if invalid is not None:
            return _error(400, invalid)
        sms = self._accept(form, tuple(str(url) for url in media))
        self.sent.append(sms)
        self.records[sms.sid] = MessageRecord(sms.sid, sms.to, sms.from_ or "", "outbound-api")
        return web.json_response(sms.resource, status=201)

    def _accept(self, form: dict[str, str], media: tuple[str, ...]) -> SentSms:
        sid = "SM" + secrets.token_hex(16)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        service = form.get("MessagingServiceSid")
        sender = form.get("From")
        body = form.get("Body", "")
        now = _rfc2822(datetime.now(UTC))
        resource: dict[str, Any] = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": service,
            "num_media": str(len(media)),
            # Through a Messaging Service no sender is picked yet, so Twilio says 0.
            "num_segments": "0" if service else str(_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            # A Messaging Service accepts first; a plain From queues at once.
            "status": "accepted" if service and not sender else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": form["To"],
            "uri": f"{uri}.json",
        }
        return SentSms(
            sid=sid,
            to=form["To"],
            from_=sender,
            body=body,
            status_callback=form.get("StatusCallback"),
            messaging_service_sid=service,
            media_urls=media,
            form=form,
            resource=resource,
        )

    async def _not_found(self, request: web.Request) -> web.Response:
        self.requests.append(TwilioRequest(request.method, request.path, {}, False, 404))
        return _error(404, 20404, f"The requested resource {request.path} was not found")

    # IncomingPhoneNumbers: the account's numbers and where Twilio sends what they receive.

    def add_number(self, phone_number: str) -> dict[str, Any]:
        """Give the account another number, with no webhooks set yet; its resource."""
        sid = new_sid("PN")
        now = _rfc2822(datetime.now(UTC))
        self.numbers[sid] = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
            "date_created": now,
            "date_updated": now,
            "friendly_name": phone_number,
            "phone_number": phone_number,
            "sid": sid,
            "sms_application_sid": "",
            "sms_fallback_method": "POST",
            "sms_fallback_url": "",
            "sms_method": "POST",
            "sms_url": "",
            "status_callback": "",
            "status_callback_method": "POST",
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/IncomingPhoneNumbers/{sid}.json",
            "voice_url": "",
        }
        return self.numbers[sid]

    def number(self, phone_number: str) -> dict[str, Any]:
        """The resource of one of the account's numbers, as Twilio holds it now."""
        for resource in self.numbers.values():
            if resource["phone_number"] == phone_number:
                return resource
        raise KeyError(phone_number)

    async def _list_numbers(self, request: web.Request) -> web.Response:
        auth_ok = self._authenticated(request)
        refused = self._refusal(request, auth_ok)
        self.requests.append(
            TwilioRequest("GET", request.path, dict(request.query), auth_ok, refused or 200)
        )
        if refused:
            return _error(refused, DEFAULT_CODE_FOR_STATUS[refused])
        wanted = request.query.get("PhoneNumber")
        found = [n for n in self.numbers.values() if wanted in (None, n["phone_number"])]
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/IncomingPhoneNumbers.json"
        return _one_page("incoming_phone_numbers", found, uri)

    async def _update_number(self, request: web.Request) -> web.Response:
        fields = await request.post()
        form = {key: str(fields.getone(key)) for key in fields}
        auth_ok = self._authenticated(request)
        resource = self.numbers.get(request.match_info["sid"])
        status = self._refusal(request, auth_ok) or (200 if resource else 404)
        self.requests.append(TwilioRequest("POST", request.path, form, auth_ok, status))
        if status != 200 or resource is None:
            return _error(status, DEFAULT_CODE_FOR_STATUS[status])
        self.number_updates.append(form)
        for key, value in form.items():
            # SmsFallbackUrl -> sms_fallback_url; parameters the resource lacks are ignored.
            name = re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
            if name in resource:
                resource[name] = value
        resource["date_updated"] = _rfc2822(datetime.now(UTC))
        return web.json_response(resource)

    def _refusal(self, request: web.Request, auth_ok: bool) -> int | None:
        if not auth_ok:
            return 401
        if request.match_info["account_sid"] != self.account_sid:
            return 404
        return None


def _one_page(key: str, found: list[Any], uri: str) -> web.Response:
    """A list answer the way Twilio pages them, everything on the first (and last) page."""
    page = {
        key: found,
        "end": max(0, len(found) - 1),
        "first_page_uri": uri,
        "next_page_uri": None,
        "page": 0,
        "page_size": max(len(found), 50),
        "previous_page_uri": None,
        "start": 0,
        "uri": uri,
    }
    return web.json_response(page)


def _invalid_send(form: dict[str, str], *, has_media: bool) -> int | None:
    """Twilio's error code for a create-message form it would refuse, else None."""
    if not form.get("To"):
        return 21604
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return 21603
    if not form.get("Body") and not has_media and not form.get("ContentSid"):
        return 21602
    if len(form.get("Body", "")) > 1600:
        return 21617
    return None


def _error(
    status: int, code: int, message: str | None = None, *, headers: dict[str, str] | None = None
) -> web.Response:
    payload = {
        "code": code,
        "message": message or ERROR_MESSAGES.get(code, f"Error {code}"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(payload, status=status, headers=headers)


def _segments(body: str) -> int:
    gsm = all(char in _GSM_BASIC for char in body)
    single, multi = (160, 153) if gsm else (70, 67)
    return 1 if len(body) <= single else math.ceil(len(body) / multi)


def _rfc2822(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


def new_sid(prefix: str = "SM") -> str:
    """A Twilio-shaped SID: two letters and 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """The X-Twilio-Signature Twilio sends with a POST of `params` to `url`."""
    signature: str = RequestValidator(auth_token).compute_signature(url, params)
    return signature


def inbound_sms_form(
    *,
    from_: str = DEFAULT_WITNESS_NUMBER,
    to: str = DEFAULT_PHONE_NUMBER,
    body: str = "",
    account_sid: str = DEFAULT_ACCOUNT_SID,
    message_sid: str | None = None,
    messaging_service_sid: str | None = None,
    media: list[tuple[str, str]] | None = None,
    num_segments: int | None = None,
    from_city: str = "BROOKLYN",
    from_state: str = "NY",
    from_zip: str = "11201",
    from_country: str = "US",
    to_city: str = "",
    to_state: str = "CA",
    to_zip: str = "",
    to_country: str = "US",
) -> dict[str, str]:
    """The form Twilio posts to an incoming-message webhook, in the order Twilio sends it.

    `media` is a list of (content type, URL) pairs; with media the SID starts with "MM".
    Geography Twilio cannot resolve arrives as empty strings, as here for the city of a
    toll-free or short "To" number.
    """
    media = media or []
    sid = message_sid or new_sid("MM" if media else "SM")
    form = {
        "ToCountry": to_country,
        "ToState": to_state,
        "SmsMessageSid": sid,
        "NumMedia": str(len(media)),
        "ToCity": to_city,
        "FromZip": from_zip,
        "SmsSid": sid,
        "FromState": from_state,
        "SmsStatus": "received",
        "FromCity": from_city,
        "Body": body,
        "FromCountry": from_country,
        "To": to,
    }
    if messaging_service_sid is not None:
        form["MessagingServiceSid"] = messaging_service_sid
    form |= {
        "ToZip": to_zip,
        "NumSegments": str(num_segments if num_segments is not None else _segments(body)),
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    for index, (content_type, url) in enumerate(media):
        form[f"MediaContentType{index}"] = content_type
        form[f"MediaUrl{index}"] = url
    return form


def media_url(account_sid: str, message_sid: str) -> str:
    """Where Twilio keeps one attachment of an inbound MMS."""
    return (
        f"https://api.twilio.com/{API_VERSION}/Accounts/{account_sid}"
        f"/Messages/{message_sid}/Media/{new_sid('ME')}"
    )


def status_callback_form(
    sid: str,
    status: str,
    *,
    to: str = DEFAULT_WITNESS_NUMBER,
    from_: str = DEFAULT_PHONE_NUMBER,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    messaging_service_sid: str | None = None,
    error_code: int | None = None,
) -> dict[str, str]:
    """The form Twilio posts to a message's StatusCallback when its status changes.

    `status` is one of queued, sending, sent, delivered, undelivered, failed (or read on
    channels with receipts). ErrorCode comes with undelivered and failed, e.g. 30003
    (unreachable handset), 30005 (unknown handset) or 30007 (carrier filtered).
    """
    form = {
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": to,
    }
    if messaging_service_sid is not None:
        form["MessagingServiceSid"] = messaging_service_sid
    form |= {
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    if error_code is not None:
        form["ErrorCode"] = str(error_code)
    if status == "delivered":
        form["RawDlrDoneDate"] = datetime.now(UTC).strftime("%y%m%d%H%M")
    return form
