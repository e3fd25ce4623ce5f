"""master key check values; erased witnesses leave no row, so cases and outbox work may
outlive them

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "master_key_checks",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("check_value", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_master_key_checks")),
    )
    op.create_table(
        "erased_references",
        sa.Column("reference_key", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("reference_key", name=op.f("pk_erased_references")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("witness_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.alter_column("reference", existing_type=sa.String(length=9), nullable=True)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("witness_id", existing_type=sa.Uuid(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("witness_id", existing_type=sa.Uuid(), nullable=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("reference", existing_type=sa.String(length=9), nullable=False)
        batch_op.alter_column("witness_id", existing_type=sa.Uuid(), nullable=False)
    op.drop_table("erased_references")
    op.drop_table("master_key_checks")
