"""greetings

The example plugin's first revision: its table. The branch label names the plugin's history;
its revision is kept in its own version table, plugin_example_alembic_version.

Revision ID: example_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "example_0001"
down_revision = None
branch_labels = ("workscript_example",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plugin_example_greetings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("owner_id", sa.String(32), nullable=True),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index(
        "ix_plugin_example_greetings_owner_id", "plugin_example_greetings", ["owner_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_plugin_example_greetings_owner_id", "plugin_example_greetings")
    op.drop_table("plugin_example_greetings")
