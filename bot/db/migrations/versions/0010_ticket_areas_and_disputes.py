"""tickets know their full area (village, district, regency), so that only that village's
agents can take them; disputes: an agent's "sengketa NIK" waiting for the agent's yes and,
outside their village, an administrator's approval

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("district", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("regency", sa.String(length=100), nullable=True))
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("nik_hash", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_disputes_agent_id", "disputes", ["agent_id"])
    op.create_index("ix_disputes_state", "disputes", ["state"])


def downgrade() -> None:
    op.drop_index("ix_disputes_state", table_name="disputes")
    op.drop_index("ix_disputes_agent_id", table_name="disputes")
    op.drop_table("disputes")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("regency")
        batch.drop_column("district")
