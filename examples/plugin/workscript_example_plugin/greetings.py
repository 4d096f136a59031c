"""The plugin's table, ``plugin_example_greetings``, and the queries on it.

The table is created by the plugin's migration (``migrations/``), never by ``create_all``: the
definition here is only what the queries are written against. Every query of a user's rows is
scoped to its owner; the rows without an owner are the plugin's own (written by its start hook)
and every user may read them. These functions block: call them through
``PluginContext.run_off_loop``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, func, or_, select
from sqlalchemy.engine import Engine

__all__ = ["MAX_TEXT", "add_greeting", "count_greetings", "greetings", "list_greetings"]

MAX_TEXT = 200
LIST_LIMIT = 100

metadata = MetaData()
greetings = Table(
    "plugin_example_greetings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner_id", String(32), nullable=True, index=True),
    Column("text", String(MAX_TEXT), nullable=False),
    Column("created_at", DateTime, nullable=False),
)


def add_greeting(engine: Engine, text: str, *, owner_id: str | None) -> dict[str, Any]:
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        result = connection.execute(
            greetings.insert().values(owner_id=owner_id, text=text, created_at=now)
        )
        new_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
    return {"id": new_id, "text": text, "ownerId": owner_id, "createdAt": _iso(now)}


def list_greetings(engine: Engine, *, owner_id: str) -> list[dict[str, Any]]:
    """The caller's greetings and the plugin's own, newest first (at most ``LIST_LIMIT``)."""
    query = (
        select(greetings)
        .where(or_(greetings.c.owner_id == owner_id, greetings.c.owner_id.is_(None)))
        .order_by(greetings.c.id.desc())
        .limit(LIST_LIMIT)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        {
            "id": row["id"],
            "text": row["text"],
            "ownerId": row["owner_id"],
            "createdAt": _iso(row["created_at"]),
        }
        for row in rows
    ]


def count_greetings(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(greetings)).scalar_one())


def _iso(value: datetime) -> str:
    return value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
