"""a walk-in's consent code may wait for the resident to write first: outside WhatsApp's
24-hour window with no approved template, the code goes as soon as their number writes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pending_consents") as batch:
        batch.add_column(
            sa.Column("awaiting_contact", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("pending_consents") as batch:
        batch.drop_column("awaiting_contact")
