"""operator accounts limited to a regency or a set of villages, and the audit of every
console view of personal data

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("regency", sa.String(100), nullable=True),
        sa.Column("villages", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_operators"),
        sa.UniqueConstraint("username", name="uq_operators_username"),
    )
    op.create_table(
        "admin_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "operator_id",
            sa.Integer(),
            sa.ForeignKey(
                "operators.id", ondelete="SET NULL", name="fk_admin_audit_operator_id_operators"
            ),
            nullable=True,
        ),
        sa.Column("username", sa.String(32), nullable=False),
        sa.Column("page", sa.String(40), nullable=False),
        sa.Column("scope", sa.String(100), nullable=False),
        sa.Column("rows_shown", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_admin_audit"),
    )
    op.create_index("ix_admin_audit_at", "admin_audit", ["at"])
    op.create_index("ix_admin_audit_operator_id", "admin_audit", ["operator_id"])


def downgrade() -> None:
    op.drop_index("ix_admin_audit_operator_id", table_name="admin_audit")
    op.drop_index("ix_admin_audit_at", table_name="admin_audit")
    op.drop_table("admin_audit")
    op.drop_table("operators")
