"""Providers' delivery reports (Twilio's status callbacks), recorded in batches.

A busy hour brings a report or more for every message sent. Each is small, so they go
through a group commit (bot/batching.py) as inbound messages do: the reports waiting
together are matched to their messages with one query and written at one commit, and
each callback is answered once its report is durable. Reports for one provider id go
one after another, in the order they came.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.batching import GroupCommit
from storage import messages, outbox, witnesses
from storage.crypto import Vault
from storage.db import Database
from storage.models import Message
from storage.states import Delivery, Direction

DELIVERY_RANK = {Delivery.QUEUED: 0, Delivery.SENT: 1, Delivery.DELIVERED: 2, Delivery.FAILED: 2}
FINAL_STATES = (Delivery.DELIVERED, Delivery.FAILED)
# A provider's words for where a message is (Twilio's and Telegram's), in ours.
PROVIDER_STATES = {
    "queued": Delivery.QUEUED,
    "accepted": Delivery.QUEUED,
    "scheduled": Delivery.QUEUED,
    "sending": Delivery.QUEUED,
    "sent": Delivery.SENT,
    "delivered": Delivery.DELIVERED,
    "read": Delivery.DELIVERED,
    "undelivered": Delivery.FAILED,
    "failed": Delivery.FAILED,
    "canceled": Delivery.FAILED,
}


@dataclass(frozen=True)
class StatusReport:
    """One report: which of our messages (by the provider's id), and where it is now.

    With `forget_after`, a final report (ours, or an inline reply's we never had an id
    for) owes the provider a delete of its copy that long after `now`.
    """

    channel: str
    provider_id: str
    status: str
    now: datetime
    opted_out: bool = False
    forget_after: timedelta | None = None


class DeliveryReports:
    def __init__(self, *, db: Database, vault: Vault) -> None:
        self._db = db
        self._vault = vault
        self._batches: GroupCommit[StatusReport, bool] = GroupCommit(
            run_batch=self._record_all,
            key=lambda report: (report.channel, report.provider_id),
        )

    async def record(self, report: StatusReport) -> bool:
        """Record a report; False if no message we sent has its provider id.

        Reports can arrive out of order, so a message's delivery state only ever moves
        forward.
        """
        return await self._batches.submit(report)

    async def _record_all(self, reports: Sequence[StatusReport]) -> list[bool]:
        async with self._db.write(carrying=len(reports)) as session:
            sent = await messages.by_provider_ids(
                session,
                vault=self._vault,
                wanted=[(report.channel, report.provider_id) for report in reports],
            )
            # The witnesses' rows first, in id order, as every writer of their messages
            # takes them: an opt-out below updates a witness while the desk may be
            # moving the same witness's messages to their case.
            await witnesses.lock_all(
                session, witness_ids=[message.witness_id for message in sent.values()]
            )
            return [
                await self._apply(session, report, sent.get((report.channel, report.provider_id)))
                for report in reports
            ]

    async def _apply(
        self, session: AsyncSession, report: StatusReport, message: Message | None
    ) -> bool:
        delivery = PROVIDER_STATES.get(report.status.lower())
        if report.forget_after is not None and delivery in FINAL_STATES:
            await outbox.enqueue_forget(
                session,
                vault=self._vault,
                channel=report.channel,
                provider_id=report.provider_id,
                now=report.now,
                at=report.now + report.forget_after,
            )
        if message is None or message.direction != Direction.OUT:
            return False
        current = DELIVERY_RANK.get(Delivery(message.delivery or Delivery.QUEUED), 0)
        if delivery is not None and DELIVERY_RANK[delivery] > current:
            messages.set_delivery_state(message, delivery)
        if report.opted_out:
            await outbox.opt_out(session, witness_id=message.witness_id)
        return True
