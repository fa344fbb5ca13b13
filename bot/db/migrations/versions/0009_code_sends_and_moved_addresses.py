"""code_sends, moved_addresses and web_sessions: one-time codes capped per destination
number (whoever asks, whatever for); the WhatsApp number a number change left, told so and
able to report it; the web chat's server-issued conversation ids

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "code_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_sends")),
    )
    op.create_index(op.f("ix_code_sends_destination_hash"), "code_sends", ["destination_hash"])
    op.create_index(op.f("ix_code_sends_sent_at"), "code_sends", ["sent_at"])
    op.create_table(
        "moved_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("old_sender_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_moved_addresses_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moved_addresses")),
    )
    op.create_index(
        op.f("ix_moved_addresses_participant_id"), "moved_addresses", ["participant_id"]
    )
    op.create_index(
        op.f("ix_moved_addresses_old_sender_hash"), "moved_addresses", ["old_sender_hash"]
    )
    op.create_index(op.f("ix_moved_addresses_report_until"), "moved_addresses", ["report_until"])
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_web_sessions_session_hash")),
    )
    op.create_index(op.f("ix_web_sessions_last_active_at"), "web_sessions", ["last_active_at"])


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_table("moved_addresses")
    op.drop_table("code_sends")
