"""payments outlive their participant's erasure: kept for the office's accounting, the
link to the person set NULL (bot/services/erasure.py)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

FK = "fk_payments_participant_id_participants"


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint(FK, type_="foreignkey")
        batch.alter_column("participant_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(
            FK, "participants", ["participant_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    # Payments an erasure unlinked cannot be given back to anyone: they go.
    op.execute("DELETE FROM payments WHERE participant_id IS NULL")
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint(FK, type_="foreignkey")
        batch.alter_column("participant_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(FK, "participants", ["participant_id"], ["id"], ondelete="CASCADE")
