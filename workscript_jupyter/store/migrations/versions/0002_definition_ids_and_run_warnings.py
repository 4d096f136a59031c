"""definition ids and run warnings.

- ``workflows.definition_id``: the ``id`` written inside a workflow's definition (the original's
  clients create ``{definition: {id: "daily-report"}}`` and run ``{workflowId: "daily-report"}``),
  unique per owner. Existing rows are backfilled from their definition; when an owner already
  has several workflows with the same definition id, the newest keeps it and the older ones get
  NULL (NULLs never collide), so the upgrade cannot fail on old duplicates.
- ``workflow_executions.warnings`` (JSON list) and ``has_warnings`` (a flag the runs list can
  filter on): e.g. an ``error`` edge that found no handler.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 06:00:00

"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFINITION_ID_LENGTH = 200


def upgrade() -> None:
    with op.batch_alter_table("workflows") as batch:
        batch.add_column(sa.Column("definition_id", sa.String(length=DEFINITION_ID_LENGTH)))
    _backfill_definition_ids()
    with op.batch_alter_table("workflows") as batch:
        batch.create_unique_constraint(
            op.f("uq_workflows_owner_id_definition_id"), ["owner_id", "definition_id"]
        )
    with op.batch_alter_table("workflow_executions") as batch:
        batch.add_column(sa.Column("warnings", sa.JSON()))
        batch.add_column(
            sa.Column("has_warnings", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index(
            op.f("ix_workflow_executions_has_warnings_created_at"),
            ["has_warnings", "created_at"],
        )


def downgrade() -> None:
    with op.batch_alter_table("workflow_executions") as batch:
        batch.drop_index(op.f("ix_workflow_executions_has_warnings_created_at"))
        batch.drop_column("has_warnings")
        batch.drop_column("warnings")
    with op.batch_alter_table("workflows") as batch:
        batch.drop_constraint(op.f("uq_workflows_owner_id_definition_id"), type_="unique")
        batch.drop_column("definition_id")


def _backfill_definition_ids() -> None:
    connection = op.get_bind()
    workflows = sa.table(
        "workflows",
        sa.column("id", sa.String()),
        sa.column("owner_id", sa.String()),
        sa.column("definition", sa.JSON()),
        sa.column("created_at", sa.DateTime()),
        sa.column("definition_id", sa.String()),
    )
    rows = connection.execute(
        sa.select(workflows.c.id, workflows.c.owner_id, workflows.c.definition).order_by(
            workflows.c.created_at.desc(), workflows.c.id.desc()
        )
    ).all()
    taken: set[tuple[str, str]] = set()
    for record_id, owner_id, definition in rows:
        if isinstance(definition, str):  # some drivers hand JSON back as text
            try:
                definition = json.loads(definition)
            except ValueError:
                continue
        value = definition.get("id") if isinstance(definition, dict) else None
        if not isinstance(value, str) or not value or len(value) > DEFINITION_ID_LENGTH:
            continue
        if (owner_id, value) in taken:
            continue  # an older duplicate: the newest keeps the id
        taken.add((owner_id, value))
        connection.execute(
            workflows.update().where(workflows.c.id == record_id).values(definition_id=value)
        )
