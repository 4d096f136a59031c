"""run list indexes: every filter of the runs list reads one index in page order.

A page of runs is ``ORDER BY created_at DESC, id DESC LIMIT n``. An index serves it without a
sort only when it starts with the filter's equality columns and ends with ``(created_at, id)``:

- ``(status, created_at)`` and ``(has_warnings, created_at)`` become ``(…, created_at, id)``
  (SQLite sorted the ties of ``created_at`` in a temporary B-tree; the queued-runs claim uses
  the status index in the same order);
- ``(trigger, created_at, id)``: a page filtered by trigger walked the whole time index;
- ``(owner_id, status, created_at, id)`` and ``(owner_id, trigger, created_at, id)``: a user's
  page filtered by status or trigger walked all of the user's runs when the value was rare.

On a large table, building the indexes takes a while (seconds per million runs); MariaDB builds
them online, SQLite holds its write lock meanwhile.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10 09:00:00

"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "workflow_executions"
REPLACED = {  # old index name -> its columns
    "ix_workflow_executions_status_created_at": ["status", "created_at"],
    "ix_workflow_executions_has_warnings_created_at": ["has_warnings", "created_at"],
}
NEW = {
    "ix_workflow_executions_status_created_at_id": ["status", "created_at", "id"],
    "ix_workflow_executions_has_warnings_created_at_id": ["has_warnings", "created_at", "id"],
    "ix_workflow_executions_trigger_created_at_id": ["trigger", "created_at", "id"],
    "ix_workflow_executions_owner_id_status_created_at_id": [
        "owner_id", "status", "created_at", "id",
    ],
    "ix_workflow_executions_owner_id_trigger_created_at_id": [
        "owner_id", "trigger", "created_at", "id",
    ],
}  # fmt: skip


def upgrade() -> None:
    # the new ones first: the lists keep an index to use while the old ones go
    for name, columns in NEW.items():
        op.create_index(name, TABLE, columns)
    for name in REPLACED:
        op.drop_index(name, table_name=TABLE)


def downgrade() -> None:
    for name, columns in REPLACED.items():
        op.create_index(name, TABLE, columns)
    for name in NEW:
        op.drop_index(name, table_name=TABLE)
