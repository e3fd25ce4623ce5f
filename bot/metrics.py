"""What the service counts for its operators, in Prometheus's terms, and nothing about anyone.

Every label takes its values from a small fixed set: channel names, outcome words, queue
names, priorities, worker names and failure categories. Never an id, a reference, a
number, a message's words or an exception's text, so no series grows with witnesses or
cases. Each service builds its own registry (tests build many services in one process).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.intake.triage import QUEUES
from bot.readiness import Heartbeat
from storage import metrics as counts
from storage.db import Database
from storage.states import Priority

# How a webhook request ended.
ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REFUSED = "refused"
ERROR = "error"
# A delivery report about a message the service sent, or about one it has no record of
# (an inline reply's: its id was only ever Twilio's).
KNOWN = "known"
UNKNOWN = "unknown"
# What stands for a value outside a label's fixed set.
OTHER = "other"

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)

# A provider's or the outbox's reason for a failed send, by category; first match wins.
REASONS = (
    ("opted_out", re.compile(r"opted.?out|blocked")),
    ("429", re.compile(r"\b429\b")),
    ("5xx", re.compile(r"\b5(?:[0-9]{2}|xx)\b")),
    ("network", re.compile(r"network|timeout", re.IGNORECASE)),
    ("4xx", re.compile(r"\b4[0-9]{2}\b|refused")),
    ("erased", re.compile(r"erased|nothing to")),
    ("held", re.compile(r"quiet|not sent yet|not complete yet")),
    ("case_closed", re.compile(r"case closed")),
    ("channel_off", re.compile(r"channel .+ is off")),
)


def reason_category(reason: str) -> str:
    """The category a failure's reason falls in; never the reason's own words."""
    for category, pattern in REASONS:
        if pattern.search(reason):
            return category
    return OTHER


class Metrics:
    """The service's series, in one registry; gauges about the database are read at scrape."""

    def __init__(self, *, channels: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._channels = frozenset(channels)
        # Workers' heartbeats by worker name, read into a gauge at each scrape.
        self.heartbeats: dict[str, Heartbeat] = {}
        on = self.registry
        by_outcome = ("channel", "outcome")
        self.webhook_requests = Counter(
            "intake_webhook_requests",
            "Webhook requests by channel and outcome",
            by_outcome,
            registry=on,
        )
        self.webhook_seconds = Histogram(
            "intake_webhook_seconds",
            "Time to answer a webhook request, by channel and outcome",
            by_outcome,
            buckets=LATENCY_BUCKETS,
            registry=on,
        )
        self.delivery_reports = Counter(
            "intake_delivery_reports",
            "Providers' delivery reports by channel and outcome",
            by_outcome,
            registry=on,
        )
        self.outbox_sent = Counter(
            "intake_outbox_sent",
            "Messages and alerts the outbox delivered",
            ("channel",),
            registry=on,
        )
        self.outbox_retries = Counter(
            "intake_outbox_retries",
            "Sends put off to try again, by channel and reason",
            ("channel", "reason"),
            registry=on,
        )
        self.outbox_failures = Counter(
            "intake_outbox_failures",
            "Outbox items given up on for good, by channel and reason",
            ("channel", "reason"),
            registry=on,
        )
        self.outbox_depth = Gauge(
            "intake_outbox_depth",
            "Outbox items owed (pending or being sent)",
            ("channel",),
            registry=on,
        )
        self.outbox_oldest = Gauge(
            "intake_outbox_oldest_age_seconds",
            "How long the oldest owed outbox item has waited",
            ("channel",),
            registry=on,
        )
        by_queue = ("queue", "priority")
        self.cases_waiting = Gauge(
            "intake_cases_waiting", "Cases waiting for a caseworker", by_queue, registry=on
        )
        self.cases_past_target = Gauge(
            "intake_cases_past_target",
            "Open cases past their response target with nobody acting on them",
            by_queue,
            registry=on,
        )
        self.claims = Counter(
            "intake_claims", "Cases claimed by caseworkers", ("queue",), registry=on
        )
        self.escalations = Counter(
            "intake_escalations", "Cases escalated for missing their response target", registry=on
        )
        self.db_write_batch = Histogram(
            "intake_db_write_batch_size",
            "Write transactions committed together",
            buckets=BATCH_BUCKETS,
            registry=on,
        )
        self.db_commit_seconds = Histogram(
            "intake_db_commit_seconds",
            "Time to commit a write",
            buckets=COMMIT_BUCKETS,
            registry=on,
        )
        self.worker_last_success = Gauge(
            "intake_worker_last_success_timestamp_seconds",
            "When each background worker last finished a pass (unix time)",
            ("worker",),
            registry=on,
        )
        for queue in QUEUES:
            self.claims.labels(queue=queue)

    def _channel(self, channel: str) -> str:
        return channel if channel in self._channels else OTHER

    def heartbeat(self, worker: str) -> Heartbeat:
        """The heartbeat a worker beats after each finished pass."""
        return self.heartbeats.setdefault(worker, Heartbeat())

    def webhook(self, channel: str, *, outcome: str, seconds: float) -> None:
        labels = {"channel": self._channel(channel), "outcome": outcome}
        self.webhook_requests.labels(**labels).inc()
        self.webhook_seconds.labels(**labels).observe(seconds)

    def delivery_report(self, channel: str, *, outcome: str) -> None:
        self.delivery_reports.labels(channel=self._channel(channel), outcome=outcome).inc()

    def sent(self, channel: str) -> None:
        self.outbox_sent.labels(channel=self._channel(channel)).inc()

    def retried(self, channel: str, reason: str) -> None:
        self.outbox_retries.labels(
            channel=self._channel(channel), reason=reason_category(reason)
        ).inc()

    def failed(self, channel: str, reason: str, *, opted_out: bool = False) -> None:
        category = "opted_out" if opted_out else reason_category(reason)
        self.outbox_failures.labels(channel=self._channel(channel), reason=category).inc()

    def claimed(self, queue: str) -> None:
        self.claims.labels(queue=queue if queue in QUEUES else OTHER).inc()

    def escalated(self, cases: int) -> None:
        self.escalations.inc(cases)

    def committed(self, batch: int, seconds: float) -> None:
        self.db_write_batch.observe(batch)
        self.db_commit_seconds.observe(seconds)

    async def refresh(self, db: Database, *, now: datetime) -> None:
        """Read the gauges that describe the database and the workers, as of `now`."""
        async with db.read() as session:
            backlog = await counts.outbox_backlog(session)
            waiting = await counts.waiting_cases(session)
            late = await counts.past_target(session, now=now)
        self.outbox_depth.clear()
        self.outbox_oldest.clear()
        for channel in self._channels:
            self.outbox_depth.labels(channel=channel).set(0)
            self.outbox_oldest.labels(channel=channel).set(0)
        oldest: dict[str, float] = {}
        for owed in backlog:
            channel = self._channel(owed.channel)
            self.outbox_depth.labels(channel=channel).inc(owed.owed)
            if owed.oldest_at is not None:
                age = max(0.0, (now - owed.oldest_at).total_seconds())
                oldest[channel] = max(age, oldest.get(channel, 0.0))
        for channel, age in oldest.items():
            self.outbox_oldest.labels(channel=channel).set(age)
        _set_by_queue(self.cases_waiting, waiting)
        _set_by_queue(self.cases_past_target, late)
        for worker, beat in self.heartbeats.items():
            if beat.last is not None:
                self.worker_last_success.labels(worker=worker).set(beat.last.timestamp())

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format."""
        return generate_latest(self.registry)


def _set_by_queue(gauge: Gauge, found: list[counts.CaseCount]) -> None:
    gauge.clear()
    priorities = tuple(level.value for level in Priority)
    for queue in QUEUES:
        for level in priorities:
            gauge.labels(queue=queue, priority=level).set(0)
    for row in found:
        queue = row.queue if row.queue in QUEUES else OTHER
        priority = row.priority if row.priority in priorities else OTHER
        gauge.labels(queue=queue, priority=priority).inc(row.count)
