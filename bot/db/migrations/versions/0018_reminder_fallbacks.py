"""a reminder sent to another address after the first refused it keeps that fact, for the
console's delivery figures (a delivery report replaces its reason)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminders") as batch:
        batch.add_column(sa.Column("fell_back", sa.Boolean(), server_default="0", nullable=False))
    op.execute("UPDATE reminders SET fell_back = true WHERE reason LIKE 'sent after:%'")


def downgrade() -> None:
    with op.batch_alter_table("reminders") as batch:
        batch.drop_column("fell_back")
