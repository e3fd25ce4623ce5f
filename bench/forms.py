"""Pre-signed Twilio inbound-message forms, written one per line for wrk to replay.

Everything a request needs (the form and its X-Twilio-Signature) is computed here, before
the clock starts, so the load generator only sends bytes. A line is
`signature<TAB>urlencoded body`: url-encoding leaves no tab or newline in a body.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

SMS_PATH = "/webhooks/twilio/sms"
ACCOUNT_SID = "AC" + "0" * 32
SERVICE_NUMBER = "+15005550006"
# Witness numbers are +1 555 and seven digits: room for ten million distinct witnesses.
WITNESS_PREFIX = "+1555"
MAX_WITNESSES = 10**7


@dataclass(frozen=True)
class Twilio:
    """The account the bench's server believes in, and the public URL Twilio signs."""

    auth_token: str
    public_url: str

    @property
    def sms_url(self) -> str:
        return self.public_url.rstrip("/") + SMS_PATH


def witness_number(witness: int) -> str:
    if not 0 <= witness < MAX_WITNESSES:
        raise ValueError(f"witness {witness} is outside 0..{MAX_WITNESSES - 1}")
    return f"{WITNESS_PREFIX}{witness:07d}"


def message_sid(witness: int, step: int) -> str:
    """A Twilio message SID (SM + 32 lowercase hex digits), unique per witness and step."""
    return f"SM{witness:016x}{step:016x}"


def inbound_form(*, witness: int, step: int, text: str) -> dict[str, str]:
    """The fields Twilio posts for one inbound SMS (location fields included, as Twilio does)."""
    sid = message_sid(witness, step)
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "62701",
        "SmsSid": sid,
        "FromState": "IL",
        "SmsStatus": "received",
        "FromCity": "SPRINGFIELD",
        "Body": text,
        "FromCountry": "US",
        "To": SERVICE_NUMBER,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": witness_number(witness),
        "ApiVersion": "2010-04-01",
    }


def round_robin(
    script: Sequence[str], *, witnesses: int, total: int, first_witness: int = 0
) -> Iterator[tuple[int, int, str]]:
    """(witness, step, text) for `total` messages: `witnesses` walk the script side by side.

    Step k goes to every witness of a cohort before step k + 1 goes to any, so a witness's
    next message is `witnesses` requests behind its last one: with fewer connections than
    witnesses, no witness ever has two messages in flight. A cohort that has finished the
    script is followed by a fresh one, so a fast server never runs out of new work.
    """
    if witnesses < 1 or not script:
        raise ValueError("need at least one witness and one message")
    sent = 0
    cohort = 0
    while sent < total:
        base = first_witness + cohort * witnesses
        for step, text in enumerate(script):
            for offset in range(witnesses):
                if sent == total:
                    return
                yield base + offset, step, text
                sent += 1
        cohort += 1


def signed_line(twilio: Twilio, validator: RequestValidator, form: dict[str, str]) -> str:
    signature = validator.compute_signature(twilio.sms_url, form)
    return f"{signature}\t{urlencode(form)}\n"


def write_requests(
    path: Path,
    twilio: Twilio,
    messages: Iterable[tuple[int, int, str]],
) -> int:
    """Sign every message and write the lines wrk replays; returns how many were written."""
    validator = RequestValidator(twilio.auth_token)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for witness, step, text in messages:
            out.write(
                signed_line(twilio, validator, inbound_form(witness=witness, step=step, text=text))
            )
            count += 1
    return count
