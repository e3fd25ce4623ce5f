"""Tables. Columns named `*_sealed` hold AES-GCM ciphertext; `*_key` columns hold keyed hashes.

Nothing here holds a phone number, a Telegram id, a name or message text in readable form.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.states import CaseStatus, OutboxKind, OutboxStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


def _parent(target: str) -> Mapped[object]:
    """A many-to-one link that is never loaded (lazy="raise").

    It exists so the unit of work inserts a parent row before its children within one
    flush: without it, rows of different tables go out in no particular order.
    """
    return relationship(target, lazy="raise", viewonly=False)


class Witness(Base):
    """A person who wrote in, known only by a keyed hash of their address."""

    __tablename__ = "witnesses"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    alias: Mapped[str] = mapped_column(String(16), unique=True)
    lookup_key: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    lookup_version: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    address_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    language: Mapped[str | None] = mapped_column(String(2))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # EXIT: nothing is sent to this witness until they write again.
    paused_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column()
    # The last place handed out in the order of what the outbox owes this witness.
    outbox_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DataKeyRow(Base):
    """A witness's data key, wrapped by a master key version; deleting it is erasure."""

    __tablename__ = "data_keys"

    witness_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("witnesses.id", ondelete="CASCADE"), primary_key=True
    )
    master_version: Mapped[int] = mapped_column(Integer, index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    witness: Mapped[object] = _parent("Witness")


class MasterKeyCheck(Base):
    """A value only the right master key version reproduces: a wrong or missing key is
    refused at start instead of silently sealing new data under a stranger's key."""

    __tablename__ = "master_key_checks"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    check_value: Mapped[bytes] = mapped_column(LargeBinary(32))


class ErasedReference(Base):
    """A keyed hash of the reference of a case whose witness was erased, and nothing else:
    a caseworker who still holds the reference is told the case is closed, while the case
    row itself no longer carries it."""

    __tablename__ = "erased_references"

    reference_key: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)


class Conversation(Base):
    """The engine's state for one witness, sealed."""

    __tablename__ = "conversations"

    witness_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("witnesses.id", ondelete="CASCADE"), primary_key=True
    )
    state_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    witness: Mapped[object] = _parent("Witness")


class Caseworker(Base):
    __tablename__ = "caseworkers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    queues: Mapped[str] = mapped_column(String(255), default="")
    languages: Mapped[str] = mapped_column(String(64), default="en")
    is_supervisor: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column()
    # Where an on-call caseworker is alerted (opt-in); staff details, sealed like any.
    alert_sms_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    alert_telegram_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)


class Case(Base):
    """A request for help, waiting in a queue, claimed by a caseworker, or closed."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_queue_order", "queue", "status", "priority_rank", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Both go when the witness is erased: only the aggregate facts stay.
    reference: Mapped[str | None] = mapped_column(String(9), unique=True)
    witness_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("witnesses.id"), index=True)
    queue: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(8))
    # 0 = urgent, 1 = high, 2 = normal: orders a queue without a CASE expression.
    priority_rank: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), default=CaseStatus.WAITING)
    language: Mapped[str] = mapped_column(String(2))
    needs: Mapped[str] = mapped_column(String(200), default="")
    answers_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # "erased" or "expired" when the system closed it; else the caseworker's words, sealed.
    outcome: Mapped[str | None] = mapped_column(String(32))
    outcome_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("caseworkers.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column()
    # The holder's last read or action: a claim left untouched returns to its queue.
    touched_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    witness_active_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Why triage raised it: short labels ("not safe now,weapon,duress"), never the
    # witness's words.
    triage: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # The response target, and when it was missed and staff last alerted.
    due_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    alerted_at: Mapped[datetime | None] = mapped_column()
    # Who held it before it closed, shown when the witness writes again and it reopens.
    previous_holder: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("caseworkers.id"))
    witness: Mapped[object] = _parent("Witness")


class Message(Base):
    """One message in or out; the text is sealed, the provider's id only kept as a keyed hash."""

    __tablename__ = "messages"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    witness_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("witnesses.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    provider_key: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    # Reply options (buttons) and the provider's own handle for this message in the
    # witness's chat (a Telegram message id, to delete it on erasure), both sealed.
    options_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    handle_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    reply_to_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    delivery: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    witness: Mapped[object] = _parent("Witness")
    case: Mapped[object] = _parent("Case")


class OutboxItem(Base):
    """Work the service owes a witness's channel, written in the same transaction that caused it.

    `kind` "message" delivers a stored message; "keyboard" re-draws (or removes) the
    buttons under a message already sent, from what that message stores now; "erase"
    carries, sealed under the transit key, what is needed to say goodbye and clean the
    chat after a witness's data key is gone; "forget" carries, sealed the same way, the id
    of a message whose copy the provider keeps, to delete it there; "alert" tells staff.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(
        String(16), default=OutboxKind.MESSAGE, server_default=OutboxKind.MESSAGE.value
    )
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    payload_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # None for work that outlives an erased witness ("erase", "forget"): it names no one.
    witness_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("witnesses.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column()
    # Place in the order of what its witness is owed (witnesses.outbox_seq hands it out).
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    message: Mapped[object] = _parent("Message")
    witness: Mapped[object] = _parent("Witness")


class CaseworkerSession(Base):
    """A signed-in caseworker; the bearer token itself is never stored, only its hash."""

    __tablename__ = "caseworker_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    caseworker_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("caseworkers.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    # "api" (a bearer token with a fixed life) or "console" (a cookie that ends when
    # idle): a token of one kind is refused by the other.
    kind: Mapped[str] = mapped_column(String(8), default="api", server_default="api")
    caseworker: Mapped[object] = _parent("Caseworker")


class LoginFailure(Base):
    """A failed sign-in, keyed by a hash of the username or of the client, for throttling."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    key: Mapped[bytes] = mapped_column(LargeBinary(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who did what to which case, and when; never any witness content."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    action: Mapped[str] = mapped_column(String(48))
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    detail: Mapped[str | None] = mapped_column(String(255))
