"""participant_addresses and address_links: one participant, several verified chat
addresses; a participant-wide reminder opt-out; addresses a send failed for good

Existing participants keep the address they registered from (preferred). A registration
made on the web chat or Telegram used to be found from WhatsApp by the typed phone number
alone; that unproven link is not carried over: such residents link WhatsApp with a code.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        batch.add_column(sa.Column("phone_verified_by", sa.String(length=24), nullable=True))
        batch.add_column(
            sa.Column("reminders_opted_out_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("channel_contacts") as batch:
        batch.add_column(sa.Column("undeliverable_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("undeliverable_reason", sa.String(length=200), nullable=True))
    op.create_table(
        "participant_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("sender_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("proof", sa.String(length=24), nullable=False),
        sa.Column("preferred", sa.Boolean(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_participant_addresses_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant_addresses")),
        sa.UniqueConstraint(
            "participant_id", "sender_hash", name=op.f("uq_participant_addresses_participant_id")
        ),
    )
    op.create_index(
        op.f("ix_participant_addresses_participant_id"), "participant_addresses", ["participant_id"]
    )
    op.create_index(
        op.f("ix_participant_addresses_sender_hash"), "participant_addresses", ["sender_hash"]
    )
    op.create_table(
        "address_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("target_sender_hash", sa.String(length=64), nullable=False),
        sa.Column("target_sender_encrypted", sa.Text(), nullable=False),
        sa.Column("requester_sender_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_address_links_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_address_links_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_links")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_address_links_participant_id")),
    )
    op.create_index(
        op.f("ix_address_links_target_sender_hash"), "address_links", ["target_sender_hash"]
    )
    op.create_index(
        op.f("ix_address_links_requester_sender_hash"), "address_links", ["requester_sender_hash"]
    )
    op.create_index(op.f("ix_address_links_expires_at"), "address_links", ["expires_at"])
    # Every participant keeps the conversation they registered from.
    op.execute(
        """
        INSERT INTO participant_addresses
            (participant_id, sender_hash, channel, proof, preferred, verified_at)
        SELECT id, sender_hash, channel,
               CASE WHEN registered_by_agent_id IS NULL THEN 'registered_here'
                    ELSE 'agent_walk_in' END,
               true, created_at
        FROM participants
        """
    )
    # A WhatsApp registration's number is the sender's own; an agent's walk-in was confirmed
    # by the resident's code or read aloud by the agent.
    op.execute(
        """
        UPDATE participants SET phone_verified_by =
            CASE WHEN registered_by_agent_id IS NOT NULL THEN 'agent_walk_in'
                 ELSE 'registered_here' END
        WHERE channel = 'wa'
        """
    )
    # "stop pengingat" used to be kept on the conversation only: it now holds for the person.
    op.execute(
        """
        UPDATE participants SET reminders_opted_out_at = (
            SELECT c.reminders_opted_out_at FROM channel_contacts c
            WHERE c.sender_hash = participants.sender_hash
        )
        """
    )


def downgrade() -> None:
    op.drop_table("address_links")
    op.drop_table("participant_addresses")
    with op.batch_alter_table("channel_contacts") as batch:
        batch.drop_column("undeliverable_reason")
        batch.drop_column("undeliverable_at")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("reminders_opted_out_at")
        batch.drop_column("phone_verified_by")
