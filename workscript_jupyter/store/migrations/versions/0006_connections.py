"""connections: Google connections and their OAuth states (issue 18).

- ``integrations``: a user-given ``name`` (filled with the account email, else the provider),
  the account's ``account_id`` and ``account_name``, the access and refresh tokens as two
  ciphertexts (``token_encrypted`` becomes ``access_token_encrypted``, its value kept), a
  ``status`` (``active`` for the rows from before), when it was last used and refreshed, its
  last error, ``refreshing_until`` (the lease that lets one process refresh at a time), and one
  connection per owner, provider and account.
- ``oauth_states``: the ``scopes`` asked for and ``return_to``. A state lives ten minutes and no
  route used them before this revision, so the ones in flight are dropped rather than filled.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 18:40:00

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACCOUNT_UNIQUE = "uq_integrations_owner_id_provider_account_id"
UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
_TIMES = ("last_used_at", "last_refreshed_at", "refreshing_until")


def upgrade() -> None:
    with op.batch_alter_table("integrations") as batch:
        batch.add_column(sa.Column("name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("account_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("account_name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("access_token_encrypted", sa.Text(), nullable=True))
        batch.add_column(sa.Column("refresh_token_encrypted", sa.Text(), nullable=True))
        batch.add_column(sa.Column("status", sa.String(length=20), nullable=True))
        for name in _TIMES:
            batch.add_column(sa.Column(name, UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("last_error", sa.String(length=1000), nullable=True))
    table = sa.table(
        "integrations",
        sa.column("name", sa.String()),
        sa.column("provider", sa.String()),
        sa.column("account_email", sa.String()),
        sa.column("token_encrypted", sa.Text()),
        sa.column("access_token_encrypted", sa.Text()),
        sa.column("status", sa.String()),
    )
    op.get_bind().execute(
        table.update().values(
            name=sa.func.coalesce(table.c.account_email, table.c.provider),
            access_token_encrypted=table.c.token_encrypted,
            status="active",
        )
    )
    with op.batch_alter_table("integrations") as batch:
        batch.drop_column("token_encrypted")
        batch.alter_column("name", existing_type=sa.String(length=255), nullable=False)
        batch.alter_column("status", existing_type=sa.String(length=20), nullable=False)
        batch.create_unique_constraint(ACCOUNT_UNIQUE, ["owner_id", "provider", "account_id"])

    op.execute(sa.text("DELETE FROM oauth_states"))
    with op.batch_alter_table("oauth_states") as batch:
        batch.add_column(sa.Column("scopes", sa.JSON(), nullable=False))
        batch.add_column(sa.Column("return_to", sa.String(length=2048), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_states") as batch:
        batch.drop_column("return_to")
        batch.drop_column("scopes")

    with op.batch_alter_table("integrations") as batch:
        batch.add_column(sa.Column("token_encrypted", sa.Text(), nullable=True))
    table = sa.table(
        "integrations",
        sa.column("token_encrypted", sa.Text()),
        sa.column("access_token_encrypted", sa.Text()),
    )
    op.get_bind().execute(table.update().values(token_encrypted=table.c.access_token_encrypted))
    with op.batch_alter_table("integrations") as batch:
        batch.drop_constraint(ACCOUNT_UNIQUE, type_="unique")
        for name in (
            "last_error",
            *reversed(_TIMES),
            "status",
            "refresh_token_encrypted",
            "access_token_encrypted",
            "account_name",
            "account_id",
            "name",
        ):
            batch.drop_column(name)
