"""triage labels, response targets, staff alert contacts, quiet exit

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("triage", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("previous_holder", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            "fk_cases_previous_holder_caseworkers", "caseworkers", ["previous_holder"], ["id"]
        )
    with op.batch_alter_table("witnesses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("caseworkers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_sms_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("alert_telegram_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("caseworkers", schema=None) as batch_op:
        batch_op.drop_column("alert_telegram_sealed")
        batch_op.drop_column("alert_sms_sealed")
    with op.batch_alter_table("witnesses", schema=None) as batch_op:
        batch_op.drop_column("paused_at")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint("fk_cases_previous_holder_caseworkers", type_="foreignkey")
        batch_op.drop_column("previous_holder")
        batch_op.drop_column("alerted_at")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("due_at")
        batch_op.drop_column("triage")
