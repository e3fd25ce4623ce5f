"""The benchmark's pure helpers: signed forms the service would accept, in the right order,
and the report's reading of wrk and its marks, and the stub of Twilio's API the bench's
service sends to. No service, no clock."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator

from bench.forms import (
    ACCOUNT_SID,
    SERVICE_NUMBER,
    Twilio,
    message_sid,
    round_robin,
    witness_number,
    write_requests,
)
from bench.load import parse
from bench.provider import AcceptingProvider
from bench.report import CLAIM_P99, RATIO, Cell, mark
from bench.stats import percentile, slope
from bot.outbox import Outgoing
from handlers.twilio_client import TwilioSender
from handlers.twilio_sms import read_inbound

TWILIO = Twilio(auth_token="test-token-0123456789abcdef", public_url="https://intake.example.org")


def test_every_line_is_a_form_twilio_signed_and_the_service_reads(tmp_path: Path) -> None:
    path = tmp_path / "requests.tsv"
    written = write_requests(path, TWILIO, round_robin(["hi", "1"], witnesses=3, total=6))
    validator = RequestValidator(TWILIO.auth_token)
    lines = path.read_text().splitlines()
    assert written == len(lines) == 6
    for line in lines:
        signature, body = line.split("\t")
        form = dict(parse_qsl(body, keep_blank_values=True))
        assert validator.validate(TWILIO.sms_url, form, signature)
        sms = read_inbound(form, account_sid=ACCOUNT_SID)
        assert sms.sender.startswith("+1555")


def test_a_form_signed_for_another_token_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "requests.tsv"
    write_requests(path, TWILIO, [(0, 0, "hi")])
    signature, body = path.read_text().rstrip("\n").split("\t")
    form = dict(parse_qsl(body, keep_blank_values=True))
    assert not RequestValidator("another-token").validate(TWILIO.sms_url, form, signature)


def test_round_robin_keeps_each_witness_one_message_behind_all_others() -> None:
    sent = list(round_robin(["a", "b", "c"], witnesses=4, total=14))
    assert [w for w, _, _ in sent[:4]] == [0, 1, 2, 3]
    assert [(w, step) for w, step, _ in sent[4:8]] == [(0, 1), (1, 1), (2, 1), (3, 1)]
    # A cohort that finished the script is followed by new witnesses, from step 0.
    assert sent[12:] == [(4, 0, "a"), (5, 0, "a")]
    for index, (witness, _, _) in enumerate(sent):
        assert witness not in [w for w, _, _ in sent[max(0, index - 3) : index]]


def test_message_sids_and_numbers_have_twilio_shapes_and_never_repeat() -> None:
    sids = {message_sid(w, s) for w in range(50) for s in range(15)}
    assert len(sids) == 750
    assert all(len(sid) == 34 and sid.startswith("SM") for sid in sids)
    assert witness_number(42) == "+15550000042"


def test_wrk_result_line_is_read() -> None:
    output = (
        "Running 1s test\n"
        'WRK_RESULT {"requests": 2000, "duration_us": 2000000, "sent": 2010, "wraps": 0, '
        '"p50_us": 1500, "p90_us": 2500, "p99_us": 9000, "max_us": 12000, "connect": 0, '
        '"read": 1, "write": 0, "status": 3, "timeout": 0}\n'
    )
    load = parse(output)
    assert load.rate == 1000
    assert (load.p50_ms, load.p99_ms) == (1.5, 9.0)
    assert (load.socket_errors, load.bad_status) == (1, 3)
    assert not load.clean


def test_marks_say_pass_or_miss_only_where_the_bar_applies() -> None:
    assert mark(CLAIM_P99, "sqlite", Cell(4.0, "4.0 ms")).endswith("**pass**")
    assert mark(CLAIM_P99, "postgresql", Cell(12.0, "12.0 ms")).endswith("**miss**")
    assert mark(RATIO, "postgresql", Cell(0.1, "0.100")) == "0.100"
    assert "invalid" in mark(RATIO, "sqlite", Cell(0.3, "0.300", valid=False))


def test_statistics() -> None:
    assert percentile([5, 1, 4, 2, 3], 50) == 3
    assert percentile(list(range(1, 101)), 99) == 99
    assert slope([(0, 10.0), (10, 30.0), (20, 50.0)]) == 2.0


async def test_the_stub_provider_accepts_what_the_services_twilio_client_sends() -> None:
    # The bench's service sends claim notices and deletes through the real client: each
    # must be one request answered as Twilio answers, not a failure retried all run long.
    with AcceptingProvider() as provider:
        sender = TwilioSender(
            account_sid=ACCOUNT_SID,
            auth_token=TWILIO.auth_token,
            from_number=SERVICE_NUMBER,
            api_base=provider.url,
            status_callback=None,
        )
        try:
            first = await sender.send(Outgoing(channel="sms", address="+15550100001", text="hi"))
            second = await sender.send(Outgoing(channel="sms", address="+15550100002", text="hi"))
            await sender.forget(str(first.provider_id))
        finally:
            await sender.close()
    assert first.provider_id != second.provider_id
    assert str(first.provider_id).startswith("SM") and len(str(first.provider_id)) == 34
