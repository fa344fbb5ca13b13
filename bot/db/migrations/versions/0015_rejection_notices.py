"""a refused registration is told to its resident (and the walk-in's agent) once per
refusal, like an acceptance

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("rejected_notice_at", sa.DateTime(timezone=True), nullable=True))
    # Refusals recorded before this revision were seen in "cek status" and by agents on
    # request; they are not pushed now, days later.
    op.execute("UPDATE submissions SET rejected_notice_at = state_at WHERE state = 'rejected'")


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("rejected_notice_at")
