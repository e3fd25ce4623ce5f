"""Every value a stored column takes from a fixed set, named once.

The storage layer writes these and the core reads them, so they live here, under both;
the conversation engine imports them too (they are plain enums, no I/O). A StrEnum
member is its own string, so rows written before these types existed read back equal.
"""

from __future__ import annotations

from enum import StrEnum


class Language(StrEnum):
    EN = "en"
    ES = "es"


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


class CaseStatus(StrEnum):
    WAITING = "waiting"
    CLAIMED = "claimed"
    CLOSED = "closed"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Delivery(StrEnum):
    """How far an outgoing message got, as the provider last told us."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxKind(StrEnum):
    """What an outbox item does (storage/models.py OutboxItem says more)."""

    MESSAGE = "message"
    KEYBOARD = "keyboard"
    ERASE = "erase"
    FORGET = "forget"
    ALERT = "alert"


class ActorKind(StrEnum):
    """Who an audit entry says acted."""

    WITNESS = "witness"
    CASEWORKER = "caseworker"
    SYSTEM = "system"
    ADMIN = "admin"


class Action(StrEnum):
    """Every action the audit log records."""

    # A witness's conversation.
    OPENED = "case.opened"
    AMENDED = "case.amended"
    REOPENED = "case.reopened"
    TRIAGED = "case.triaged"
    FLOODED = "case.flooded"
    ERASED = "case.erased"
    # Caseworkers.
    READ = "case.read"
    CLAIM = "case.claimed"
    RELEASE = "case.released"
    TRANSFER = "case.transferred"
    CLOSE = "case.closed"
    REPLY = "case.replied"
    ASSIGN = "case.assigned"
    REVEAL_NUMBER = "case.number_revealed"
    PRIORITY = "case.priority_changed"
    LIST = "cases.listed"
    READ_AUDIT = "audit.read"
    # The service itself.
    CLAIM_EXPIRED = "case.claim_expired"
    ESCALATED = "case.escalated"
    EXPIRED = "case.expired"
    SIGN_IN_CEILING = "account.sign_in_ceiling"
    # Account administration.
    DISABLED = "account.disabled"
    ENABLED = "account.enabled"
    PASSWORD_RESET = "account.password_reset"  # noqa: S105 - an audit action, not a password
