"""The AI model catalogue and per-user usage in SQL.

The catalogue is refreshed from the provider in bulk: ``upsert_models`` uses the database's own
upsert (``ON DUPLICATE KEY UPDATE`` on MySQL, ``ON CONFLICT DO UPDATE`` on SQLite) in one
executemany, so a sync of hundreds of models is one statement and never races another sync; a
full sync then marks the models the provider no longer lists inactive, in the same transaction.

Model ids are compared and ordered byte by byte on every backend (``utf8mb4_bin`` on MySQL,
whose table collation is case- and accent-insensitive), so paging by id gives the same pages
as SQLite and the memory store. Usage summaries and the budget's spend are aggregates the
database computes (``GROUP BY``, ``SUM``) over the ``(owner_id, created_at)`` and
``(created_at)`` indexes, never a read of every row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    cast,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.dialects import mysql, sqlite

from ..base import AiStore
from ..interfaces.ai import USAGE_GROUPS, UsageGroup, UsageGrouping
from ..records import AiModel, AiUsage, Page, Scope
from ..tables import ai_models, ai_usage, users
from .common import Database, Duplicates, keyset, owned, row_values, to_page, to_record

__all__ = ["SqlAiStore"]

_MODEL_COLUMNS = tuple(ai_models.c.keys())
_UPDATED = tuple(name for name in _MODEL_COLUMNS if name != "id")
_MYSQL: Final = ("mysql", "mariadb")
_DEACTIVATE_CHUNK: Final = 500  # ids per UPDATE ... IN (...) of a full sync


class SqlAiStore(AiStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- the catalogue ---------------------------------------------------------------------

    def upsert_models(self, models: Iterable[AiModel], *, full_sync: bool = False) -> int:
        rows = [{name: getattr(model, name) for name in _MODEL_COLUMNS} for model in models]
        if not rows and not full_sync:
            return 0
        with self._db.begin(Duplicates("AI model", "ai_models")) as connection:
            if rows:
                self._upsert(connection, rows)
            if full_sync:
                self._deactivate_missing(connection, {row["id"] for row in rows})
        return len(rows)

    @staticmethod
    def _upsert(connection: Connection, rows: list[dict[str, Any]]) -> None:
        dialect = connection.dialect.name
        if dialect in _MYSQL:
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

    @staticmethod
    def _deactivate_missing(connection: Connection, listed: set[str]) -> None:
        """Mark inactive the active models not in ``listed`` (ids read, the difference taken
        here: a NOT IN of hundreds of ids would be one huge statement)."""
        active = connection.execute(
            select(ai_models.c.id).where(ai_models.c.is_active == true())
        ).scalars()
        missing = sorted(set(active) - listed)
        for start in range(0, len(missing), _DEACTIVATE_CHUNK):
            chunk = missing[start : start + _DEACTIVATE_CHUNK]
            connection.execute(
                update(ai_models).where(ai_models.c.id.in_(chunk)).values(is_active=False)
            )

    def list_models(
        self,
        *,
        provider: str | None = None,
        modality: str | None = None,
        min_context_length: int | None = None,
        max_prompt_price: float | None = None,
        include_inactive: bool = False,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[AiModel]:
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise ValueError(f"limit must be a positive integer, not {limit!r}")
        conditions: list[ColumnElement[bool]] = []
        if not include_inactive:
            conditions.append(ai_models.c.is_active == true())
        if provider is not None:
            conditions.append(ai_models.c.provider == provider)
        if modality is not None:
            # the JSON list as text holds "image" in quotes: portable, and the list is short
            conditions.append(
                cast(ai_models.c.input_modalities, String).contains(
                    f'"{modality}"', autoescape=True
                )
            )
        if min_context_length is not None:
            conditions.append(ai_models.c.context_length >= min_context_length)
        if max_prompt_price is not None:
            conditions.append(ai_models.c.prompt_price <= max_prompt_price)
        with self._db.read() as connection:
            model_id = _binary_id(connection)
            if after is not None:
                conditions.append(model_id > after)
            statement = select(ai_models).where(*conditions).order_by(model_id)
            if limit is not None:
                statement = statement.limit(limit)
            rows = connection.execute(statement).all()
        return [to_record(AiModel, row._mapping) for row in rows]

    def get_model(self, model_id: str) -> AiModel | None:
        with self._db.read() as connection:
            row = connection.execute(
                select(ai_models).where(_binary_id(connection) == model_id)
            ).first()
        return to_record(AiModel, row._mapping) if row is not None else None

    def last_synced_at(self) -> datetime | None:
        with self._db.read() as connection:
            newest: datetime | None = connection.execute(
                select(func.max(ai_models.c.updated_at))
            ).scalar()
        return newest

    # -- usage -----------------------------------------------------------------------------

    def add_usages(self, usages: Sequence[AiUsage]) -> None:
        if not usages:
            return
        rows = [row_values(usage, ai_usage) for usage in usages]
        first = usages[0]
        with self._db.begin(
            Duplicates("AI usage", "ai_usage", record_id=first.id, owner_id=first.owner_id)
        ) as connection:
            connection.execute(insert(ai_usage), rows)

    def list_usage(
        self,
        scope: Scope,
        *,
        since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        statement = keyset(
            select(ai_usage).where(*_conditions(scope, since)),
            ai_usage.c.created_at,
            ai_usage.c.id,
            cursor,
            limit,
        )
        with self._db.read() as connection:
            rows = connection.execute(statement).all()
        return to_page(rows, limit, lambda row: to_record(AiUsage, row))

    def usage_totals(self, scope: Scope, *, since: datetime | None = None) -> dict[str, Any]:
        groups = self.usage_summary(scope, by="model", since=since)
        by_model = {
            group.key: {
                "requests": group.requests,
                "prompt_tokens": group.prompt_tokens,
                "completion_tokens": group.completion_tokens,
                "cost": group.cost,
            }
            for group in groups
        }
        totals: dict[str, Any] = {
            name: sum(entry[name] for entry in by_model.values())
            for name in ("requests", "prompt_tokens", "completion_tokens")
        }
        totals["cost"] = float(sum(entry["cost"] for entry in by_model.values()))
        totals["by_model"] = by_model
        return totals

    def usage_summary(
        self,
        scope: Scope,
        *,
        by: UsageGrouping,
        since: datetime | None = None,
        until: datetime | None = None,
        user_id: str | None = None,
    ) -> list[UsageGroup]:
        if by not in USAGE_GROUPS:
            raise ValueError(f"usage can be grouped by {', '.join(USAGE_GROUPS)}, not {by!r}")
        conditions = _conditions(scope, since, until)
        if user_id is not None:
            conditions.append(ai_usage.c.owner_id == user_id)
        key: Any = {
            "model": ai_usage.c.model,
            "day": func.date(ai_usage.c.created_at),  # stored in UTC: the UTC day
            "user": ai_usage.c.owner_id,
        }[by]
        columns: list[Any] = [
            key.label("key"),
            func.count().label("requests"),
            func.coalesce(func.sum(ai_usage.c.prompt_tokens), 0).label("prompt_tokens"),
            func.coalesce(func.sum(ai_usage.c.completion_tokens), 0).label("completion_tokens"),
            func.coalesce(func.sum(ai_usage.c.cost), 0.0).label("cost"),
        ]
        source: Any = ai_usage
        if by == "user":
            columns.append(func.max(users.c.username).label("label"))
            source = ai_usage.outerjoin(users, users.c.id == ai_usage.c.owner_id)
        statement = select(*columns).select_from(source).where(*conditions).group_by(key)
        with self._db.read() as connection:
            rows = connection.execute(statement).all()
        groups = [
            UsageGroup(
                key=_day_text(row.key) if by == "day" else str(row.key),
                requests=int(row.requests),
                prompt_tokens=int(row.prompt_tokens),
                completion_tokens=int(row.completion_tokens),
                cost=float(row.cost),
                label=row.label if by == "user" else None,
            )
            for row in rows
        ]
        # a handful of groups: ordered here, so every backend (and collation) agrees
        return sorted(groups, key=lambda group: group.key)

    def spent_since(self, owner_id: str, since: datetime) -> float:
        statement = select(func.coalesce(func.sum(ai_usage.c.cost), 0.0)).where(
            ai_usage.c.owner_id == owner_id, ai_usage.c.created_at >= since
        )
        with self._db.read() as connection:
            return float(connection.execute(statement).scalar() or 0.0)


def _conditions(
    scope: Scope, since: datetime | None, until: datetime | None = None
) -> list[ColumnElement[bool]]:
    conditions = owned(ai_usage, scope)
    if since is not None:
        conditions.append(ai_usage.c.created_at >= since)
    if until is not None:
        conditions.append(ai_usage.c.created_at < until)
    return conditions


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: the store takes UTC-aware times only")
    return value.astimezone(UTC)


def _binary_id(connection: Connection) -> ColumnElement[str]:
    """The model id compared byte by byte (MySQL's table collation ignores case)."""
    if connection.dialect.name in _MYSQL:
        return ai_models.c.id.collate("utf8mb4_bin")
    return ai_models.c.id


def _day_text(value: Any) -> str:
    """``YYYY-MM-DD`` from MySQL's DATE (a date) or SQLite's date() (already text)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)[:10]
