"""outbox kinds, sealed options and handles

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("options_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("handle_sealed", sa.LargeBinary(), nullable=True))

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        # Rows from before this revision are all plain messages.
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="message")
        )
        batch_op.add_column(sa.Column("payload_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=False, server_default="0"))
        batch_op.alter_column("message_id", existing_type=sa.Uuid(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("message_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("position")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("payload_sealed")
        batch_op.drop_column("kind")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("handle_sealed")
        batch_op.drop_column("options_sealed")
