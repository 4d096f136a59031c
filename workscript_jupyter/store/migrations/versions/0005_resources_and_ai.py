"""resources and AI: the resources the original describes, model prices, usage per node.

- ``resources``: a resource is bytes (a prompt, a document, JSON data, an image or a sound), so
  ``content`` becomes binary (LONGBLOB on MySQL); text is stored as UTF-8. It gains the
  original's metadata: ``name``, ``type``, ``mime_type`` (was ``content_type``), ``size``,
  ``checksum`` (SHA-256), ``description``, ``tags`` and ``is_public`` (readable by every user,
  written only by its owner), with an index for the public listing. Rows written before this
  revision keep their text (as UTF-8), get their path as name, type ``document``, and their
  size and checksum computed here.
- ``ai_models``: the fields the catalogue filters on (vendor, modalities, context, prices per
  token) and ``is_active`` (a model gone from the provider's list is kept, inactive, so past
  usage keeps its price).
- ``ai_usage``: the workflow, node path and duration of each completion, and an index by time
  for the admins' summaries.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 16:40:00

"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_BINARY = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
BIG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
PUBLIC_INDEX = "ix_resources_is_public_created_at_id"
USAGE_TIME_INDEX = "ix_ai_usage_created_at_id"
_AI_MODEL_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("description", sa.Text()),
    ("max_completion_tokens", sa.BigInteger()),
    ("input_modalities", sa.JSON()),
    ("output_modalities", sa.JSON()),
    ("prompt_price", sa.Double()),
    ("completion_price", sa.Double()),
)


def upgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("type", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("data", BIG_BINARY, nullable=True))
        batch.add_column(sa.Column("size", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("checksum", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("is_public", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.alter_column(
            "content_type",
            new_column_name="mime_type",
            existing_type=sa.String(length=200),
            existing_nullable=False,
        )
    _fill_resources()
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("content")
    with op.batch_alter_table("resources") as batch:
        batch.alter_column(
            "data", new_column_name="content", existing_type=BIG_BINARY, nullable=False
        )
        shapes: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
            ("name", sa.String(length=255)),
            ("type", sa.String(length=20)),
            ("size", sa.BigInteger()),
            ("checksum", sa.String(length=64)),
        )
        for name, kind in shapes:
            batch.alter_column(name, existing_type=kind, nullable=False)
    op.create_index(PUBLIC_INDEX, "resources", ["is_public", "created_at", "id"], unique=False)

    with op.batch_alter_table("ai_models") as batch:
        for name, kind in _AI_MODEL_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
        batch.add_column(
            sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("ai_usage") as batch:
        batch.add_column(sa.Column("workflow_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("node_path", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("duration_ms", sa.Double(), nullable=True))
    op.create_index(USAGE_TIME_INDEX, "ai_usage", ["created_at", "id"], unique=False)


def _fill_resources() -> None:
    """The new columns of the rows written before this revision, one row at a time (the
    table had no route before: it is empty or nearly so)."""
    bind = op.get_bind()
    table = sa.table(
        "resources",
        sa.column("id", sa.String()),
        sa.column("path", sa.String()),
        sa.column("content", sa.Text()),
        sa.column("name", sa.String()),
        sa.column("type", sa.String()),
        sa.column("data", sa.LargeBinary()),
        sa.column("size", sa.BigInteger()),
        sa.column("checksum", sa.String()),
    )
    rows = bind.execute(sa.select(table.c.id, table.c.path, table.c.content)).all()
    for row in rows:
        data = (row.content or "").encode("utf-8")
        bind.execute(
            table.update()
            .where(table.c.id == row.id)
            .values(
                name=(row.path or "")[-255:] or "resource",
                type="document",
                data=data,
                size=len(data),
                checksum=hashlib.sha256(data).hexdigest(),
            )
        )


def downgrade() -> None:
    op.drop_index(USAGE_TIME_INDEX, table_name="ai_usage")
    with op.batch_alter_table("ai_usage") as batch:
        for name in ("duration_ms", "node_path", "workflow_id"):
            batch.drop_column(name)
    with op.batch_alter_table("ai_models") as batch:
        batch.drop_column("is_active")
        for name, _kind in reversed(_AI_MODEL_COLUMNS):
            batch.drop_column(name)

    op.drop_index(PUBLIC_INDEX, table_name="resources")
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("text", BIG_TEXT, nullable=True))
    bind = op.get_bind()
    table = sa.table(
        "resources",
        sa.column("id", sa.String()),
        sa.column("content", sa.LargeBinary()),
        sa.column("text", sa.Text()),
    )
    for row in bind.execute(sa.select(table.c.id, table.c.content)).all():
        text = bytes(row.content or b"").decode("utf-8", errors="replace")
        bind.execute(table.update().where(table.c.id == row.id).values(text=text))
    with op.batch_alter_table("resources") as batch:
        for name in ("is_public", "tags", "description", "checksum", "size", "type", "name"):
            batch.drop_column(name)
        batch.drop_column("content")
    with op.batch_alter_table("resources") as batch:
        batch.alter_column(
            "text", new_column_name="content", existing_type=BIG_TEXT, nullable=False
        )
        batch.alter_column(
            "mime_type",
            new_column_name="content_type",
            existing_type=sa.String(length=200),
            existing_nullable=False,
        )
