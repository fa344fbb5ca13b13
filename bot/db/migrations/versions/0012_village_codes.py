"""villages carry their Kemendagri code from the national register: on participants (read
at the village step) and on the operator's village table (found at import)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("participants", "villages"):
        column = "village_code" if table == "participants" else "code"
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, sa.String(13), nullable=True))
            batch.create_index(f"ix_{table}_{column}", [column])


def downgrade() -> None:
    for table in ("participants", "villages"):
        column = "village_code" if table == "participants" else "code"
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_{column}")
            batch.drop_column(column)
