"""Delivery reports recorded in batches, on both databases: one commit for reports that
arrive together, each message's state only moving forward, a provider delete owed for
every final report."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from bot.app import Services
from bot.delivery import DeliveryReports, StatusReport
from bot.desk import InboundMessage
from storage import messages
from storage.models import Message, OutboxItem, utcnow
from storage.states import Direction, OutboxKind


def commits(services: Services) -> tuple[float, float]:
    registry = services.metrics.registry
    return (
        registry.get_sample_value("intake_db_write_batch_size_count") or 0.0,
        registry.get_sample_value("intake_db_write_batch_size_sum") or 0.0,
    )


async def sent_messages(services: Services, count: int) -> list[str]:
    """`count` witnesses' first replies, given provider ids as the outbox would."""
    await asyncio.gather(
        *(
            services.desk.receive(
                InboundMessage(channel="sms", address=f"+1555016{n:04d}", text="hi")
            )
            for n in range(count)
        )
    )
    ids = [f"SM{n:032x}" for n in range(count)]
    async with services.db.write() as session:
        query = select(Message).where(Message.direction == Direction.OUT).order_by(Message.id)
        outbound = list((await session.execute(query)).scalars())
        for message, provider_id in zip(outbound, ids, strict=False):
            messages.set_provider_id(
                message, vault=services.vault, channel="sms", provider_id=provider_id
            )
    return ids


def report(provider_id: str, status: str, *, forget: bool = False) -> StatusReport:
    return StatusReport(
        channel="sms",
        provider_id=provider_id,
        status=status,
        now=utcnow(),
        forget_after=timedelta(minutes=1) if forget else None,
    )


async def delivery_of(services: Services, provider_id: str) -> str | None:
    async with services.db.read() as session:
        found = await messages.find_by_provider_id(
            session, vault=services.vault, channel="sms", provider_id=provider_id
        )
    assert found is not None
    return found.delivery


async def test_reports_arriving_together_share_one_commit(services: Services) -> None:
    ids = await sent_messages(services, 12)
    reports = DeliveryReports(db=services.db, vault=services.vault)
    before = commits(services)
    known = await asyncio.gather(*(reports.record(report(i, "delivered")) for i in ids))
    after = commits(services)
    assert known == [True] * 12
    assert (after[0] - before[0], after[1] - before[1]) == (1, 12)
    assert {await delivery_of(services, i) for i in ids} == {"delivered"}


async def test_one_messages_reports_go_in_order_and_only_forward(services: Services) -> None:
    (first, second) = await sent_messages(services, 2)
    reports = DeliveryReports(db=services.db, vault=services.vault)
    # Sent then delivered for one; delivered then a late "sent" for the other.
    await asyncio.gather(
        reports.record(report(first, "sent")),
        reports.record(report(first, "delivered")),
        reports.record(report(second, "delivered")),
        reports.record(report(second, "sent")),
    )
    assert (await delivery_of(services, first), await delivery_of(services, second)) == (
        "delivered",
        "delivered",
    )


async def test_final_reports_owe_deletes_even_for_ids_we_never_had(services: Services) -> None:
    reports = DeliveryReports(db=services.db, vault=services.vault)
    unknown = [f"SM{n + 100:032x}" for n in range(5)]
    known = await asyncio.gather(
        *(reports.record(report(i, "delivered", forget=True)) for i in unknown),
        reports.record(report(f"SM{999:032x}", "sending", forget=True)),
    )
    assert known == [False] * 6
    async with services.db.read() as session:
        owed = await session.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.kind == OutboxKind.FORGET)
        )
    # Five final reports, five deletes; "sending" is not final.
    assert owed == 5
