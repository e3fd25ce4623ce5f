"""the first tables

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("detail", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_case_id"), ["case_id"], unique=False)

    op.create_table(
        "caseworkers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("queues", sa.String(length=255), nullable=False),
        sa.Column("languages", sa.String(length=64), nullable=False),
        sa.Column("is_supervisor", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caseworkers")),
        sa.UniqueConstraint("username", name=op.f("uq_caseworkers_username")),
    )
    op.create_table(
        "witnesses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("alias", sa.String(length=16), nullable=False),
        sa.Column("lookup_key", sa.LargeBinary(length=32), nullable=True),
        sa.Column("lookup_version", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_witnesses")),
        sa.UniqueConstraint("alias", name=op.f("uq_witnesses_alias")),
        sa.UniqueConstraint("lookup_key", name=op.f("uq_witnesses_lookup_key")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=9), nullable=False),
        sa.Column("witness_id", sa.Uuid(), nullable=False),
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("needs", sa.String(length=200), nullable=False),
        sa.Column("answers_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("assigned_to", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("witness_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_to"], ["caseworkers.id"], name=op.f("fk_cases_assigned_to_caseworkers")
        ),
        sa.ForeignKeyConstraint(
            ["witness_id"], ["witnesses.id"], name=op.f("fk_cases_witness_id_witnesses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("reference", name=op.f("uq_cases_reference")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_queue_order", ["queue", "status", "priority_rank", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_witness_id"), ["witness_id"], unique=False)

    op.create_table(
        "conversations",
        sa.Column("witness_id", sa.Uuid(), nullable=False),
        sa.Column("state_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["witness_id"],
            ["witnesses.id"],
            name=op.f("fk_conversations_witness_id_witnesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("witness_id", name=op.f("pk_conversations")),
    )
    op.create_table(
        "data_keys",
        sa.Column("witness_id", sa.Uuid(), nullable=False),
        sa.Column("master_version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["witness_id"],
            ["witnesses.id"],
            name=op.f("fk_data_keys_witness_id_witnesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("witness_id", name=op.f("pk_data_keys")),
    )
    with op.batch_alter_table("data_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_keys_master_version"), ["master_version"], unique=False
        )

    op.create_table(
        "messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("witness_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("body_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("provider_key", sa.LargeBinary(length=32), nullable=True),
        sa.Column("reply_to_id", sa.Uuid(), nullable=True),
        sa.Column("delivery", sa.String(length=12), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_messages_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["witness_id"],
            ["witnesses.id"],
            name=op.f("fk_messages_witness_id_witnesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("provider_key", name=op.f("uq_messages_provider_key")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_reply_to_id"), ["reply_to_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_witness_id"), ["witness_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("witness_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_outbox_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["witness_id"],
            ["witnesses.id"],
            name=op.f("fk_outbox_witness_id_witnesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_witness_id"), ["witness_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_witness_id"))
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_witness_id"))
        batch_op.drop_index(batch_op.f("ix_messages_reply_to_id"))
        batch_op.drop_index(batch_op.f("ix_messages_case_id"))

    op.drop_table("messages")
    with op.batch_alter_table("data_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_keys_master_version"))

    op.drop_table("data_keys")
    op.drop_table("conversations")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_witness_id"))
        batch_op.drop_index("ix_cases_queue_order")

    op.drop_table("cases")
    op.drop_table("witnesses")
    op.drop_table("caseworkers")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_case_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_actor_id"))

    op.drop_table("audit_events")
