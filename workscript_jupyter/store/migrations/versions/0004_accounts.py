"""accounts: refresh-token families, per-user permissions, per-key rate limits, rate counters.

What the accounts layer (issue 15) needs from the schema:

- ``refresh_tokens.family_id``: refresh tokens rotate on every use, and all the tokens of one
  login form a family named after its first token; a rotated token presented again revokes the
  whole family (theft detection). Tokens stored before this revision are each the only token
  of their family: ``family_id`` is backfilled with the token's own id, then made NOT NULL and
  indexed (a family is revoked by it). ``refresh_tokens.session_id`` ties a family to its login
  session, so logout ends both; 64 characters, since sessions may live in Redis with longer ids
  (no foreign key for the same reason).
- ``users.permissions``: extra permission strings of a user beyond their roles'; NULL (every
  row before this revision) reads as none.
- ``api_keys.rate_limit``: requests per hour for one key; NULL is the server's default.
- ``rate_counters``: the database fallback of the API-key rate limit when there is no Redis,
  shared by every server on the database: hits per (key, time bucket). The key has a binary
  collation on MySQL, so counters are case-sensitive as in SQLite and Redis.

The downgrade drops all of it (refresh-token families are lost: each token stays valid on its
own, as before).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-17 09:00:00

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_LENGTH = 32
SESSION_ID_LENGTH = 64
COUNTER_KEY_LENGTH = 191  # utf8mb4: 191 x 4 bytes fits MySQL's 767-byte index key
COUNTER_KEY = sa.String(length=COUNTER_KEY_LENGTH).with_variant(
    mysql.VARCHAR(length=COUNTER_KEY_LENGTH, collation="utf8mb4_bin"), "mysql", "mariadb"
)
FAMILY_INDEX = "ix_refresh_tokens_family_id"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("permissions", sa.JSON(), nullable=True))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("rate_limit", sa.Integer(), nullable=True))

    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("family_id", sa.String(length=ID_LENGTH), nullable=True))
        batch.add_column(
            sa.Column("session_id", sa.String(length=SESSION_ID_LENGTH), nullable=True)
        )
    # every token stored so far is the first (and only) token of its own family
    refresh_tokens = sa.table(
        "refresh_tokens", sa.column("id", sa.String()), sa.column("family_id", sa.String())
    )
    op.execute(
        refresh_tokens.update()
        .where(refresh_tokens.c.family_id.is_(None))
        .values(family_id=refresh_tokens.c.id)
    )
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.alter_column("family_id", existing_type=sa.String(length=ID_LENGTH), nullable=False)
        batch.create_index(FAMILY_INDEX, ["family_id"], unique=False)

    op.create_table(
        "rate_counters",
        sa.Column("counter_key", COUNTER_KEY, nullable=False),
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("counter_key", "bucket", name=op.f("pk_rate_counters")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
        mysql_engine="InnoDB",
    )


def downgrade() -> None:
    op.drop_table("rate_counters")
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_index(FAMILY_INDEX)
        batch.drop_column("session_id")
        batch.drop_column("family_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("rate_limit")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("permissions")
