"""a witness's outbox items are ordered by a sequence the witness row hands out, not by
the time they were written

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = ("pending", "sending")


def upgrade() -> None:
    with op.batch_alter_table("witnesses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("outbox_seq", sa.Integer(), server_default="0", nullable=False)
        )
    # Work still owed keeps the order it had (time written, then place in its turn), now
    # as one count per witness.
    bind = op.get_bind()
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Uuid()),
        sa.column("witness_id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("status", sa.String()),
        sa.column("created_at", sa.DateTime()),
        sa.column("position", sa.Integer()),
    )
    witnesses = sa.table("witnesses", sa.column("id", sa.Uuid()), sa.column("outbox_seq"))
    rows = bind.execute(
        sa.select(outbox.c.id, outbox.c.witness_id)
        .where(
            outbox.c.witness_id.is_not(None),
            outbox.c.kind != "alert",
            outbox.c.status.in_(OPEN),
        )
        .order_by(outbox.c.witness_id, outbox.c.created_at, outbox.c.position, outbox.c.id)
    ).all()
    counts: dict[object, int] = defaultdict(int)
    for item_id, witness_id in rows:
        counts[witness_id] += 1
        bind.execute(
            sa.update(outbox).where(outbox.c.id == item_id).values(position=counts[witness_id])
        )
    for witness_id, count in counts.items():
        bind.execute(
            sa.update(witnesses).where(witnesses.c.id == witness_id).values(outbox_seq=count)
        )


def downgrade() -> None:
    with op.batch_alter_table("witnesses", schema=None) as batch_op:
        batch_op.drop_column("outbox_seq")
