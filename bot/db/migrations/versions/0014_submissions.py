"""submissions: each registration's hand-over to BPJS Ketenagakerjaan and its history;
every participant already registered gets a pending one

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 14:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "participant_id",
            sa.Integer(),
            sa.ForeignKey(
                "participants.id",
                ondelete="SET NULL",
                name="fk_submissions_participant_id_participants",
            ),
            nullable=True,
        ),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("regency", sa.String(100), nullable=False),
        sa.Column("village", sa.String(100), nullable=False),
        sa.Column("batch_id", sa.String(40), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("kpj_encrypted", sa.Text(), nullable=True),
        sa.Column("payment_code_encrypted", sa.Text(), nullable=True),
        sa.Column("reason_code", sa.String(32), nullable=True),
        sa.Column("reason_detail_encrypted", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_notice_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawal", sa.String(8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_submissions"),
        sa.UniqueConstraint("participant_id", name="uq_submissions_participant_id"),
        sa.UniqueConstraint("reference", name="uq_submissions_reference"),
    )
    for column in ("state", "regency", "batch_id", "next_attempt_at", "withdrawal"):
        op.create_index(f"ix_submissions_{column}", "submissions", [column])
    op.create_table(
        "submission_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "submission_id",
            sa.Integer(),
            sa.ForeignKey(
                "submissions.id",
                ondelete="CASCADE",
                name="fk_submission_events_submission_id_submissions",
            ),
            nullable=False,
        ),
        sa.Column("from_state", sa.String(20), nullable=True),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False, server_default=""),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_submission_events"),
    )
    op.create_index("ix_submission_events_submission_id", "submission_events", ["submission_id"])
    # Registrations made before this revision have never been handed over: they wait.
    now = datetime.now(UTC)
    op.execute(
        sa.text(
            "INSERT INTO submissions (participant_id, reference, state, regency, village, "
            "attempts, created_at, state_at) "
            "SELECT id, reference, 'pending', regency, village, 0, :now, :now FROM participants"
        ).bindparams(now=now)
    )
    op.execute(
        sa.text(
            "INSERT INTO submission_events (submission_id, from_state, to_state, detail, "
            "actor, created_at) SELECT id, NULL, 'pending', 'registered before 0014', "
            "'migration', :now FROM submissions"
        ).bindparams(now=now)
    )


def downgrade() -> None:
    op.drop_index("ix_submission_events_submission_id", table_name="submission_events")
    op.drop_table("submission_events")
    for column in ("state", "regency", "batch_id", "next_attempt_at", "withdrawal"):
        op.drop_index(f"ix_submissions_{column}", table_name="submissions")
    op.drop_table("submissions")
