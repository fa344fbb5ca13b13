"""the registration funnel: each registration's progress without personal data

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "funnel_journeys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_hash", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("on_behalf", sa.Boolean, nullable=False),
        sa.Column("village", sa.String(100), nullable=True),
        sa.Column("district", sa.String(100), nullable=True),
        sa.Column("regency", sa.String(100), nullable=True),
        sa.Column("furthest", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_funnel_journeys_started_at", "funnel_journeys", ["started_at"])
    op.create_index(
        "ix_funnel_journeys_conversation_hash", "funnel_journeys", ["conversation_hash"]
    )
    op.create_table(
        "funnel_marks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "journey_id",
            sa.Integer,
            sa.ForeignKey("funnel_journeys.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_funnel_marks_journey_id", "funnel_marks", ["journey_id"])


def downgrade() -> None:
    op.drop_table("funnel_marks")
    op.drop_table("funnel_journeys")
