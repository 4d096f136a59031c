"""The AI model catalogue and per-user usage in SQL.

The catalogue is refreshed from the provider in bulk: ``upsert_models`` uses the database's own
upsert (``ON DUPLICATE KEY UPDATE`` on MySQL, ``ON CONFLICT DO UPDATE`` on SQLite) in one
executemany, so a sync of hundreds of models is one statement and never races another sync.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, select, update
from sqlalchemy.dialects import mysql, sqlite

from ..base import AiStore
from ..records import AiModel, AiUsage, Page, Scope, new_id, utcnow
from ..tables import ai_models, ai_usage
from .common import Database, Duplicates, keyset, owned, row_values, to_page, to_record

__all__ = ["SqlAiStore"]

_MODEL_COLUMNS = tuple(ai_models.c.keys())
_UPDATED = tuple(name for name in _MODEL_COLUMNS if name != "id")


class SqlAiStore(AiStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    def upsert_models(self, models: Iterable[AiModel]) -> int:
        rows = [{name: getattr(model, name) for name in _MODEL_COLUMNS} for model in models]
        if not rows:
            return 0
        with self._db.begin(Duplicates("AI model", "ai_models")) as connection:
            self._upsert(connection, rows)
        return len(rows)

    @staticmethod
    def _upsert(connection: Connection, rows: list[dict[str, Any]]) -> None:
        dialect = connection.dialect.name
        if dialect in ("mysql", "mariadb"):
            mysql_insert = mysql.insert(ai_models)
            statement: Any = mysql_insert.on_duplicate_key_update(
                {name: mysql_insert.inserted[name] for name in _UPDATED}
            )
            connection.execute(statement, rows)
        elif dialect == "sqlite":
            sqlite_insert = sqlite.insert(ai_models)
            statement = sqlite_insert.on_conflict_do_update(
                index_elements=[ai_models.c.id],
                set_={name: sqlite_insert.excluded[name] for name in _UPDATED},
            )
            connection.execute(statement, rows)
        else:  # any other database: update, then insert what was not there
            for row in rows:
                changed = connection.execute(
                    update(ai_models)
                    .where(ai_models.c.id == row["id"])
                    .values({name: row[name] for name in _UPDATED})
                )
                if changed.rowcount == 0:
                    connection.execute(insert(ai_models).values(row))

    def list_models(self) -> list[AiModel]:
        with self._db.read() as connection:
            rows = connection.execute(select(ai_models).order_by(ai_models.c.id)).all()
        return [to_record(AiModel, row._mapping) for row in rows]

    def add_usage(
        self,
        scope: Scope,
        *,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost: float,
        execution_id: str | None = None,
    ) -> AiUsage:
        usage = AiUsage(
            id=new_id(),
            owner_id=scope.user_id,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost=cost,
            execution_id=execution_id,
            created_at=utcnow(),
        )
        values = row_values(usage, ai_usage)
        with self._db.begin(
            Duplicates("AI usage", "ai_usage", record_id=usage.id, owner_id=scope.user_id)
        ) as connection:
            connection.execute(insert(ai_usage).values(values))
        return usage

    def list_usage(
        self,
        scope: Scope,
        *,
        since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        statement = keyset(
            select(ai_usage).where(*self._conditions(scope, since)),
            ai_usage.c.created_at,
            ai_usage.c.id,
            cursor,
            limit,
        )
        with self._db.read() as connection:
            rows = connection.execute(statement).all()
        return to_page(rows, limit, lambda row: to_record(AiUsage, row))

    def usage_totals(self, scope: Scope, *, since: datetime | None = None) -> dict[str, Any]:
        statement = (
            select(
                ai_usage.c.model,
                func.count().label("requests"),
                func.coalesce(func.sum(ai_usage.c.prompt_tokens), 0).label("prompt_tokens"),
                func.coalesce(func.sum(ai_usage.c.completion_tokens), 0).label("completion_tokens"),
                func.coalesce(func.sum(ai_usage.c.cost), 0.0).label("cost"),
            )
            .where(*self._conditions(scope, since))
            .group_by(ai_usage.c.model)
            .order_by(ai_usage.c.model)
        )
        with self._db.read() as connection:
            rows = connection.execute(statement).all()
        by_model = {
            row.model: {
                "requests": int(row.requests),
                "prompt_tokens": int(row.prompt_tokens),
                "completion_tokens": int(row.completion_tokens),
                "cost": float(row.cost),
            }
            for row in rows
        }
        totals: dict[str, Any] = {
            name: sum(entry[name] for entry in by_model.values())
            for name in ("requests", "prompt_tokens", "completion_tokens")
        }
        totals["cost"] = float(sum(entry["cost"] for entry in by_model.values()))
        totals["by_model"] = by_model
        return totals

    @staticmethod
    def _conditions(scope: Scope, since: datetime | None) -> list[ColumnElement[bool]]:
        conditions = owned(ai_usage, scope)
        if since is not None:
            conditions.append(ai_usage.c.created_at >= since)
        return conditions
