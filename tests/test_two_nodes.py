"""Two `serve` processes on one PostgreSQL database behind nginx; one is killed mid-run.

Witnesses text in over SMS (signed Twilio webhooks) and Telegram (webhook updates with
the secret header), a caseworker claims, replies and closes through /api/v1, and the
replies and staff alerts go out through the outbox to the fake Twilio and Bot API, all
through the proxy. Part-way through, one node is killed with SIGKILL while it holds
webhook deliveries; every client that then gets a 5xx or loses its connection delivers
the same message again (same MessageSid, same update_id), as Twilio and Telegram do, and
the survivor carries on. Afterwards the database and the fakes must agree: every message
acknowledged is stored once, every message owed went out once and is marked sent, and
the background workers of the two nodes (outbox, retention, escalation) did not double up.

The kill comes while no outbox item is leased (see `kill_mid_intake`). A node killed
after the provider accepted a send but before it recorded it leaves the item "sending"
until its lease (bot/outbox.py LEASE, 120 s) runs out; the survivor then sends it again.
That window is longer than this test may run, so it is not exercised here.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select, update

from bot.app import Services, build_services
from handlers.telegram import SECRET_HEADER, WEBHOOK_PATH
from handlers.twilio_sms import SMS_PATH
from storage import messages, witnesses
from storage.caseworkers import add_caseworker, set_alert_contacts
from storage.models import AuditEvent, Case, Message, OutboxItem, Witness, utcnow
from storage.states import Action, CaseStatus, Direction, OutboxKind, OutboxStatus
from tests.cli_runner import free_port, spawn_serve, stop_all, wait_healthy
from tests.conftest import IN_CI, make_settings
from tests.fakes.telegram import FakeTelegram, text_update
from tests.fakes.twilio import FakeTwilio, inbound_sms_form, new_sid
from tests.handlers.api_helpers import PASSWORD, Caseworker, make_caseworker, seed_cases
from tests.intake_scripts import ENGLISH_MOVE
from tests.live import eventually
from tests.proxy import UPSTREAM_HEADER, nginx, nginx_binary

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True),
]

SECRET = "two-nodes_webhook-secret_0123456789"
SMS_WITNESSES = [f"+1555017{n:04d}" for n in range(4)]
TELEGRAM_WITNESSES = [7_100_000 + n for n in range(4)]
STAFF_SMS = "+15550104477"
STAFF_CHAT = 777_000_123
# Steps walked by every witness before the kill, and the one in flight when it comes.
BEFORE_KILL = 7
# A delivery Twilio or Telegram makes again although we answered (its timeout fired
# first): the step at this index is delivered twice, so de-duplication works across nodes.
REDELIVERED = 2
# What the early witnesses write after their intake, as the kill comes.
FOLLOW_UP = "thank you, I will keep my phone on"
# Every client gives up on one message after this long.
DELIVERY_DEADLINE = 60.0
_update_ids = itertools.count(50_000)


@dataclass
class Attempt:
    """One try at one request through the proxy: its status (None: no answer) and node."""

    path: str
    status: int | None
    node: str | None


@dataclass
class Courier:
    """Posts through the proxy like Twilio and Telegram deliver: again, the same request,
    after a 5xx or a lost connection, until a deadline."""

    client: httpx.AsyncClient
    proxy_url: str
    attempts: list[Attempt] = field(default_factory=list)

    async def post(self, path: str, **request: Any) -> httpx.Response:
        deadline = time.monotonic() + DELIVERY_DEADLINE
        while True:
            try:
                response = await self.client.post(self.proxy_url + path, **request)
            except httpx.TransportError:
                self.attempts.append(Attempt(path, None, None))
            else:
                self.attempts.append(Attempt(path, response.status_code, _node(response)))
                if response.status_code < 500:
                    return response
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} was never acknowledged")
            await asyncio.sleep(0.1)

    def refused_by(self, node: str) -> list[Attempt]:
        """Attempts the proxy answered 502 for because `node` failed them mid-request."""
        return [a for a in self.attempts if a.status == 502 and a.node == node]

    def answered_by(self, node: str) -> list[Attempt]:
        return [
            a for a in self.attempts if a.status is not None and a.status < 500 and a.node == node
        ]


def _node(response: httpx.Response) -> str | None:
    """The node that gave the answer (nginx lists every node it tried, the last answered)."""
    tried: str = response.headers.get(UPSTREAM_HEADER, "")
    return tried.split(",")[-1].strip() or None


@dataclass
class SmsWitness:
    """A phone texting the service: each text a signed Twilio webhook form."""

    number: str
    twilio: FakeTwilio
    written: int = 0
    acknowledged: set[str] = field(default_factory=set)

    async def text(self, courier: Courier, body: str, *, again: bool = False) -> None:
        self.written += 1
        form = inbound_sms_form(
            from_=self.number,
            to=self.twilio.phone_number,
            body=body,
            account_sid=self.twilio.account_sid,
            message_sid=new_sid("SM"),
        )
        # Twilio signs the public URL, which is the proxy's.
        signature = self.twilio.sign(courier.proxy_url + SMS_PATH, form)
        request = {"data": form, "headers": {"X-Twilio-Signature": signature}}
        first = await courier.post(SMS_PATH, **request)
        assert first.status_code == 200, first.text
        self.acknowledged.add(form["MessageSid"])
        if again:
            repeated = await courier.post(SMS_PATH, **request)
            assert repeated.status_code == 200, repeated.text
            # A repeated MessageSid is answered exactly as the first delivery was.
            assert _twiml(repeated.text) == _twiml(first.text)


@dataclass
class TelegramWitness:
    """A Telegram user in a private chat with the bot: each message a webhook update."""

    chat_id: int
    written: int = 0
    acknowledged: set[int] = field(default_factory=set)

    async def text(self, courier: Courier, body: str, *, again: bool = False) -> None:
        self.written += 1
        update_id = next(_update_ids)
        update = text_update(update_id, self.chat_id, body, message_id=self.written)
        request = {
            "content": json.dumps(update).encode(),
            "headers": {"Content-Type": "application/json", SECRET_HEADER: SECRET},
        }
        for _ in range(2 if again else 1):
            response = await courier.post(WEBHOOK_PATH, **request)
            assert response.status_code == 200, response.text
            self.acknowledged.add(update_id)


AnyWitness = SmsWitness | TelegramWitness


def _twiml(body: str) -> list[str]:
    root = ElementTree.fromstring(body)  # noqa: S314 - our own service's answer
    return [message.text or "" for message in root.iter("Message")]


async def walk(courier: Courier, witness: AnyWitness, steps: range) -> None:
    for step in steps:
        await witness.text(courier, ENGLISH_MOVE[step], again=step == REDELIVERED)


@dataclass
class Node:
    """One `python -m bot serve` child process."""

    process: subprocess.Popen[bytes]
    address: str  # "127.0.0.1:PORT", as nginx names it
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.address}"


@asynccontextmanager
async def nodes(
    count: int, *, data_dir: Path, database_url: str, env: dict[str, str]
) -> AsyncIterator[list[Node]]:
    """`count` serve processes on one database, each healthy before the block starts."""
    started: list[Node] = []
    try:
        for index in range(count):
            log = data_dir.parent / f"serve-{index}.log"
            process, port = spawn_serve(data_dir, database_url, log=log, **env)
            started.append(Node(process, f"127.0.0.1:{port}", log))
        async with httpx.AsyncClient(timeout=5) as client:
            for node in started:
                await wait_healthy(client, node.url, process=node.process, log=node.log)
        yield started
    finally:
        stop_all(node.process for node in started)


async def prepare(services: Services) -> tuple[str, str]:
    """Accounts, an overdue case and an expired witness, before any node starts.

    Returns the overdue case's reference and the expired one's. Each node runs an
    escalation and a retention pass as it starts, within a moment of the other, so both
    find this work due; which node does it, and how far the passes overlap, is up to
    the timing of the two starts.
    """
    db, vault = services.db, services.vault
    await make_caseworker(db, "ana", queues=("relocation",))
    async with db.write() as session:
        sam = await add_caseworker(
            session,
            username="sam",
            password=PASSWORD,
            queues=["support"],
            languages=["en"],
            supervisor=True,
        )
        set_alert_contacts(sam, vault=vault, sms=STAFF_SMS, telegram=str(STAFF_CHAT))
    long_ago = utcnow() - timedelta(days=3)
    # Urgent, waiting an hour: past its 15-minute target, so the first pass escalates it.
    [overdue] = await seed_cases(
        db, vault, queue="support", priority="urgent", created_at=utcnow() - timedelta(hours=1)
    )
    # Closed three days ago by a witness quiet since: past INTAKE_RETENTION_DAYS=1.
    [expired] = await seed_cases(db, vault, queue="general")
    async with db.write() as session:
        case = (await session.execute(select(Case).where(Case.reference == expired))).scalar_one()
        case.status, case.closed_at, case.outcome = CaseStatus.CLOSED, long_ago, "resolved"
        await session.execute(
            update(Witness).where(Witness.id == case.witness_id).values(last_active_at=long_ago)
        )
    return overdue, expired


async def lock_waiters(connection: Any) -> int:
    """How many sessions on this database wait for a lock."""
    query = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return int(await connection.fetchval(query))


async def outbox_idle(services: Services) -> bool:
    async with services.db.read() as session:
        owed = await session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
        )
    return owed == 0


async def settle(services: Services, *, within: float = 20.0) -> None:
    """Wait for the outbox to send everything owed; if it does not, say what is stuck."""
    try:
        await eventually(lambda: outbox_idle(services), within=within, what="the outbox")
    except AssertionError:
        async with services.db.read() as session:
            stuck = (
                await session.execute(
                    select(
                        OutboxItem.kind,
                        OutboxItem.status,
                        OutboxItem.attempts,
                        OutboxItem.last_error,
                    ).where(OutboxItem.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
                )
            ).all()
        raise AssertionError(
            f"the outbox still owes (kind, status, attempts, error): {stuck}"
        ) from None


async def test_two_nodes_behind_nginx_survive_one_killed_mid_run(
    tmp_path: Path, database_url: str
) -> None:
    if nginx_binary() is None:
        if IN_CI:
            pytest.fail("CI must have nginx: .ci/run installs nginx-light")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    data_dir = tmp_path / "data"
    # Migrate and create the master key before the nodes start, so they find both.
    services = build_services(make_settings(data_dir, database_url))
    await services.start()
    try:
        overdue, expired = await prepare(services)
        async with FakeTwilio() as twilio, FakeTelegram() as telegram:
            proxy_port = free_port()
            proxy_url = f"http://127.0.0.1:{proxy_port}"
            env = {
                "INTAKE_PUBLIC_URL": proxy_url,
                "INTAKE_BURST_SECONDS": "0",
                "INTAKE_RETENTION_DAYS": "1",
                "INTAKE_TWILIO_DELETE": "false",
                "TWILIO_ACCOUNT_SID": twilio.account_sid,
                "TWILIO_AUTH_TOKEN": twilio.auth_token,
                "TWILIO_PHONE_NUMBER": twilio.phone_number,
                "TWILIO_API_BASE": twilio.base_url,
                "TELEGRAM_BOT_TOKEN": telegram.token,
                "TELEGRAM_API_BASE": telegram.base_url,
                "TELEGRAM_WEBHOOK_SECRET": SECRET,
            }
            async with (
                nodes(2, data_dir=data_dir, database_url=database_url, env=env) as (
                    doomed,
                    survivor,
                ),
                nginx(
                    directory=tmp_path / "nginx",
                    port=proxy_port,
                    upstreams=[doomed.address, survivor.address],
                ),
                httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=50)) as client,
            ):
                courier = Courier(client, proxy_url)
                sms = [SmsWitness(number, twilio) for number in SMS_WITNESSES]
                chats = [TelegramWitness(chat_id) for chat_id in TELEGRAM_WITNESSES]
                await run_traffic(
                    courier,
                    early=[*sms[:2], *chats[:2]],
                    late=[*sms[2:], *chats[2:]],
                    services=services,
                    database_url=database_url,
                    doomed=doomed,
                    survivor=survivor,
                )
                await settle(services, within=30)
                await check_everything(
                    services,
                    twilio=twilio,
                    telegram=telegram,
                    sms=sms,
                    chats=chats,
                    overdue=overdue,
                    expired=expired,
                )
    finally:
        await services.close()


async def run_traffic(
    courier: Courier,
    *,
    early: list[AnyWitness],
    late: list[AnyWitness],
    services: Services,
    database_url: str,
    doomed: Node,
    survivor: Node,
) -> None:
    """Intakes and casework on both nodes, the kill, the rest on the survivor.

    The early witnesses finish their intake before the kill and are answered by the
    caseworker then; the late ones are half-way through when it comes.
    """
    await asyncio.gather(
        *(walk(courier, w, range(len(ENGLISH_MOVE))) for w in early),
        *(walk(courier, w, range(BEFORE_KILL)) for w in late),
    )
    ana = await sign_in(courier, "ana")
    answered = await claim_all(ana, count=len(early))
    for ref in answered:
        await reply(ana, ref)
    # Both nodes took webhooks before the kill.
    assert courier.answered_by(doomed.address) and courier.answered_by(survivor.address)

    await kill_mid_intake(
        courier,
        [*((w, FOLLOW_UP) for w in early), *((w, ENGLISH_MOVE[BEFORE_KILL]) for w in late)],
        services=services,
        database_url=database_url,
        doomed=doomed,
    )

    answered_before = len(courier.answered_by(doomed.address))
    await asyncio.gather(
        *(walk(courier, w, range(BEFORE_KILL + 1, len(ENGLISH_MOVE))) for w in late)
    )
    # A caseworker signed in before the kill carries on: sign-ins live in the database.
    for ref in answered:
        await close(ana, ref)
    for ref in await claim_all(ana, count=len(late)):
        await reply(ana, ref)
        await close(ana, ref)
    # The dead node answered nothing more: everything since went to the survivor.
    assert len(courier.answered_by(doomed.address)) == answered_before


async def kill_mid_intake(
    courier: Courier,
    texts: list[tuple[AnyWitness, str]],
    *,
    services: Services,
    database_url: str,
    doomed: Node,
) -> None:
    """SIGKILL the doomed node while it holds deliveries inside uncommitted intakes.

    Nothing is owed when it dies (the outbox is idle, so neither node holds an outbox
    lease). The witnesses' table is locked, so the next text of every witness, sent at
    once and spread over both nodes by round robin, waits inside each node's intake
    transaction. Killed there, the doomed node has stored none of its share and sent
    nothing; nginx answers those deliveries 502, and they come again to the survivor.
    (A kill while a node held an outbox lease would hold that item, and everything
    owed after it to the same witness, until the lease ran out: 120 s.)
    """
    await settle(services)
    lock, watch = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    transaction = lock.transaction()
    await transaction.start()
    await lock.execute("LOCK TABLE witnesses IN EXCLUSIVE MODE")
    in_flight = [asyncio.create_task(witness.text(courier, text)) for witness, text in texts]
    try:
        # Each node's desk writes one batch at a time: one waits on each node.
        async def both_waiting() -> bool:
            return await lock_waiters(watch) >= 2

        await eventually(both_waiting, what="both nodes to wait inside an intake")
        os.kill(doomed.process.pid, signal.SIGKILL)
        doomed.process.wait(timeout=10)
    finally:
        await transaction.rollback()
        await lock.close()
        await watch.close()
    await asyncio.gather(*in_flight)
    # The doomed node was holding deliveries when it died, and they came again.
    assert courier.refused_by(doomed.address)


async def reply(worker: Caseworker, reference: str) -> None:
    sent = await worker.post(f"/api/v1/cases/{reference}/messages", {"text": reply_text(reference)})
    assert sent.status_code == 202, sent.text


async def close(worker: Caseworker, reference: str) -> None:
    closed = await worker.post(f"/api/v1/cases/{reference}/close", {"outcome": "moved"})
    assert closed.status_code == 200, closed.text


async def sign_in(courier: Courier, username: str) -> Caseworker:
    response = await courier.post(
        "/api/v1/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return Caseworker(courier.client, courier.proxy_url, response.json()["token"])


async def claim_all(worker: Caseworker, *, count: int) -> list[str]:
    """Claim `count` cases from relocation, then find it empty.

    Every intake was acknowledged, so its case is committed: each claim must hand one
    over, even one an intake on the other node is still writing to (it is waited for).
    """
    claimed: list[str] = []
    for _ in range(count):
        response = await worker.post("/api/v1/queues/relocation/claim")
        assert response.status_code == 200, f"claim {len(claimed) + 1} of {count}: {response.text}"
        claimed.append(response.json()["ref"])
    assert (await worker.post("/api/v1/queues/relocation/claim")).status_code == 204
    return claimed


def reply_text(reference: str) -> str:
    return f"This is Ana about {reference}. I can help you move tonight."


async def check_everything(
    services: Services,
    *,
    twilio: FakeTwilio,
    telegram: FakeTelegram,
    sms: list[SmsWitness],
    chats: list[TelegramWitness],
    overdue: str,
    expired: str,
) -> None:
    db, vault = services.db, services.vault
    sent_by_twilio = {w.number: Counter(m.body for m in twilio.sent_to(w.number)) for w in sms}
    sent_by_telegram = {w.chat_id: Counter(telegram.texts_to(w.chat_id)) for w in chats}
    async with db.read() as session:
        # Nothing is still owed, and nothing the nodes owed failed.
        statuses = Counter((await session.execute(select(OutboxItem.status))).scalars())
        assert set(statuses) == {OutboxStatus.SENT}, statuses
        witnessed: list[tuple[str, str, AnyWitness, Counter[str]]] = [
            *(("sms", w.number, w, sent_by_twilio[w.number]) for w in sms),
            *(("telegram", str(w.chat_id), w, sent_by_telegram[w.chat_id]) for w in chats),
        ]
        replies: set[str] = set()
        for channel, address, witness, received in witnessed:
            found = await witnesses.find_witness(
                session, vault=vault, channel=channel, address=address, lock=False
            )
            assert found is not None, address
            inbound = await session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.witness_id == found.id, Message.direction == Direction.IN)
            )
            # Every message was acknowledged in the end, and each is stored once: neither
            # the redelivery nor the deliveries that came again after the kill are.
            assert len(witness.acknowledged) == witness.written
            assert inbound == witness.written, (channel, inbound, witness.written)
            owed = await owed_texts(services, session, witness_id=found.id)
            # Everything owed reached the provider exactly once, and nothing else did.
            assert received == owed, (channel, received, owed)
            [case] = (
                await session.execute(select(Case).where(Case.witness_id == found.id))
            ).scalars()
            assert case.status == CaseStatus.CLOSED
            assert received[reply_text(case.reference)] == 1
            replies.add(case.reference)
        assert len(replies) == len(witnessed)
        # A keyboard re-drawn is one Bot API call at most (none when its message's own
        # send carried it).
        redrawn = await session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.kind == OutboxKind.KEYBOARD)
        )
        assert len(telegram.calls_to("editMessageReplyMarkup")) <= redrawn
        await check_workers(session, twilio=twilio, telegram=telegram, overdue=overdue)
        # Retention: the expired witness was erased once, by one of the two nodes.
        gone = await session.scalar(
            select(func.count()).select_from(Case).where(Case.reference == expired)
        )
        assert gone == 0
        assert await audit_count(session, Action.EXPIRED) == 1


async def owed_texts(services: Services, session: Any, *, witness_id: Any) -> Counter[str]:
    """The texts of the messages the outbox owed this witness (all marked sent)."""
    key = await witnesses.data_key_for(session, vault=services.vault, witness_id=witness_id)
    query = (
        select(Message)
        .join(OutboxItem, OutboxItem.message_id == Message.id)
        .where(OutboxItem.witness_id == witness_id, OutboxItem.kind == OutboxKind.MESSAGE)
    )
    found = list((await session.execute(query)).scalars())
    assert all(m.delivery in ("sent", "delivered") for m in found)
    return Counter(messages.open_body(m, key) or "" for m in found)


async def check_workers(
    session: Any, *, twilio: FakeTwilio, telegram: FakeTelegram, overdue: str
) -> None:
    """The escalation passes of both nodes escalated and alerted the overdue case once."""
    [case] = (await session.execute(select(Case).where(Case.reference == overdue))).scalars()
    assert case.escalated_at is not None
    escalations = await session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == Action.ESCALATED, AuditEvent.case_id == case.id)
    )
    assert escalations == 1
    staff_sms = [m.body for m in twilio.sent_to(STAFF_SMS)]
    staff_chat = telegram.texts_to(STAFF_CHAT)
    assert len(staff_sms) == 1 and overdue in staff_sms[0], staff_sms
    assert len(staff_chat) == 1 and overdue in staff_chat[0], staff_chat
    alerts = await session.scalar(
        select(func.count()).select_from(OutboxItem).where(OutboxItem.kind == OutboxKind.ALERT)
    )
    assert alerts == 2


async def audit_count(session: Any, action: str) -> int:
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    return int(await session.scalar(query) or 0)
