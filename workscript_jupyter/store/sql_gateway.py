"""``SqlDatabaseGateway``: the ``database`` node's view of one SQL database, on SQLAlchemy 2 Core.

One synchronous Engine per gateway, built with the defaults and messages of ``connection``
(``pool_pre_ping``, ``pool_recycle``; SQLite waits on a busy database instead of failing at
once). Every call runs in a worker thread (``asyncio.to_thread``) so the event loop never blocks
on the database.

Safety: table and column names are checked against the reflected schema before any statement
is built, and every value travels as a bound parameter; ``query`` takes named parameters only
(``:name``), and the drivers refuse several statements in one call. Failures surface as
``DatabaseGatewayError`` subclasses (all ``WorkscriptError``) whose messages never carry a
password: a URL is always shown masked.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Column,
    MetaData,
    Table,
    delete,
    exc,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.sql.elements import ColumnElement

from ..errors import (
    DatabaseGatewayError,
    DatabaseQueryError,
    DatabaseUnavailableError,
    MissingDriverError,
    UnknownColumnError,
    UnknownTableError,
)
from .connection import driver_message as _driver_message
from .connection import engine_options, is_sqlite_memory, mask_url, new_engine

__all__ = [
    "DatabaseGatewayError",
    "DatabaseQueryError",
    "DatabaseUnavailableError",
    "MissingDriverError",
    "SqlDatabaseGateway",
    "UnknownColumnError",
    "UnknownTableError",
]

_T = TypeVar("_T")
# spelled here: inside the gateway class, ``list`` is a method
_Rows = list[dict[str, Any]]
_Conditions = list[ColumnElement[bool]]


class SqlDatabaseGateway:
    """A ``DatabaseGateway`` on any SQLAlchemy URL (``sqlite:///file``, ``mysql+pymysql://...``).

    The engine is created on first use, so a missing driver or a bad URL is reported by the
    call that needs it (and reaches the workflow as an ``error`` edge). ``engine_options`` are
    passed to ``create_engine`` and override the defaults.
    """

    def __init__(
        self, url: str, *, busy_timeout_seconds: float = 30.0, **engine_options: Any
    ) -> None:
        try:
            self._url = make_url(url)
        except exc.ArgumentError as error:
            raise DatabaseGatewayError(f"invalid database URL: {error}") from None
        self._busy_timeout = busy_timeout_seconds
        self._engine_options = engine_options
        self._engine: Engine | None = None
        self._metadata = MetaData()
        self._tables: dict[str, Table] = {}
        self._lock = threading.Lock()
        # an in-memory SQLite database lives in one connection: calls take turns on it
        self._serial = threading.Lock() if is_sqlite_memory(self._url) else None

    @property
    def masked_url(self) -> str:
        """The URL with its password replaced by ``***``: the only form ever shown."""
        return mask_url(self._url)

    def __repr__(self) -> str:
        return f"SqlDatabaseGateway({self.masked_url!r})"

    # -- the DatabaseGateway protocol -----------------------------------------------------------

    async def insert(self, table: str, data: Mapping[str, Any]) -> dict[str, Any]:
        return await self._call(self._insert, table, data)

    async def find(self, table: str, where: Mapping[str, Any]) -> dict[str, Any] | None:
        rows: _Rows = await self._call(self._select, table, where, 1, 0, ())
        return rows[0] if rows else None

    async def list(
        self,
        table: str,
        where: Mapping[str, Any],
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: Sequence[str] = (),
    ) -> _Rows:
        return await self._call(self._select, table, where, limit, offset, order_by)

    async def update(self, table: str, where: Mapping[str, Any], data: Mapping[str, Any]) -> int:
        return await self._call(self._update, table, where, data)

    async def delete(self, table: str, where: Mapping[str, Any]) -> int:
        return await self._call(self._delete, table, where)

    async def query(
        self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> dict[str, Any]:
        return await self._call(self._query, sql, params)

    # -- lifecycle --------------------------------------------------------------------------------

    def refresh_schema(self) -> None:
        """Forget the reflected tables (after a migration run outside this gateway)."""
        with self._lock:
            self._tables.clear()
            self._metadata = MetaData()

    def dispose(self) -> None:
        """Close every pooled connection."""
        if self._engine is not None:
            self._engine.dispose()

    # -- plumbing -------------------------------------------------------------------------------

    async def _call(self, work: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.to_thread(self._guarded, work, *args)

    def _guarded(self, work: Callable[..., _T], *args: Any) -> _T:
        if self._serial is None:
            return work(*args)
        with self._serial:
            return work(*args)

    def _get_engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = self._create_engine()
            return self._engine

    def _create_engine(self) -> Engine:
        options = engine_options(self._url, busy_timeout_seconds=self._busy_timeout)
        options.update(self._engine_options)
        return new_engine(self._url, options, invalid=DatabaseGatewayError)

    def _connect(self) -> Connection:
        """A connection in a transaction-ready state; a refused login names the masked URL."""
        engine = self._get_engine()
        try:
            return engine.connect()
        except exc.DBAPIError as error:
            reason = _driver_message(error)
            raise DatabaseUnavailableError(
                f"cannot connect to {self.masked_url}: {reason}"
            ) from None

    def _run(self, work: Callable[[Connection], _T]) -> _T:
        with self._connect() as connection:
            try:
                with connection.begin():
                    return work(connection)
            except exc.DBAPIError as error:
                if error.connection_invalidated:
                    raise DatabaseUnavailableError(
                        f"lost the connection to {self.masked_url}: {_driver_message(error)}"
                    ) from None
                raise DatabaseQueryError(_driver_message(error)) from None
            except exc.StatementError as error:  # a value the column type cannot take
                raise DatabaseQueryError(str(error.orig) or type(error).__name__) from None

    # -- schema ---------------------------------------------------------------------------------

    def _table(self, connection: Connection, name: Any) -> Table:
        if not isinstance(name, str) or not name:
            raise DatabaseQueryError("the table name must be a non-empty string")
        with self._lock:
            cached = self._tables.get(name)
            if cached is not None:
                return cached
            if name not in inspect(connection).get_table_names():
                raise UnknownTableError(f'unknown table "{name}" in {self.masked_url}')
            table = Table(name, self._metadata, autoload_with=connection)
            self._tables[name] = table
            return table

    def _column(self, connection: Connection, table: Table, name: Any, role: str) -> Column[Any]:
        """The column ``name`` of ``table``; reflected again once in case the schema changed."""
        if isinstance(name, str) and name in table.c:
            return table.c[name]
        if isinstance(name, str):
            with self._lock:
                self._tables.pop(table.name, None)
                self._metadata.remove(table)
            table = self._table(connection, table.name)
            if name in table.c:
                return table.c[name]
        raise UnknownColumnError(f'unknown column "{name}" in {role} (table "{table.name}")')

    def _conditions(
        self, connection: Connection, table: Table, where: Mapping[str, Any]
    ) -> _Conditions:
        if not isinstance(where, Mapping):
            raise DatabaseQueryError("where must be an object of column: value")
        conditions: _Conditions = []
        for name, value in where.items():
            column = self._column(connection, table, name, "where")
            if value is None:
                conditions.append(column.is_(None))
            elif isinstance(value, (list, tuple)):
                conditions.append(column.in_([_bindable(column, v) for v in value]))
            elif isinstance(value, Mapping):
                raise DatabaseQueryError(
                    f'where "{name}": use a value or a list of values (for other comparisons, '
                    "use the query operation with bound parameters)"
                )
            else:
                conditions.append(column == _bindable(column, value))
        return conditions

    def _values(
        self, connection: Connection, table: Table, data: Mapping[str, Any], role: str
    ) -> dict[str, Any]:
        if not isinstance(data, Mapping) or not data:
            raise DatabaseQueryError(f"{role} must be a non-empty object of column: value")
        values: dict[str, Any] = {}
        for name, value in data.items():
            column = self._column(connection, table, name, role)
            values[column.name] = _bindable(column, value)
        return values

    # -- operations (run in a worker thread) ------------------------------------------------

    def _insert(self, table_name: str, data: Mapping[str, Any]) -> dict[str, Any]:
        def work(connection: Connection) -> dict[str, Any]:
            table = self._table(connection, table_name)
            values = self._values(connection, table, data, "data")
            result = connection.execute(insert(table).values(values))
            key = result.inserted_primary_key
            primary = list(table.primary_key.columns)
            if primary and key is not None and all(part is not None for part in key):
                match = [column == part for column, part in zip(primary, key, strict=True)]
                row = connection.execute(select(table).where(*match)).mappings().first()
                if row is not None:
                    return _row(row)
            return {name: _jsonable(value) for name, value in values.items()}

        return self._run(work)

    def _select(
        self,
        table_name: str,
        where: Mapping[str, Any],
        limit: int | None,
        offset: int,
        order_by: Sequence[str],
    ) -> _Rows:
        _check_window(limit, offset)
        if isinstance(order_by, str):
            order_by = [order_by]

        def work(connection: Connection) -> _Rows:
            table = self._table(connection, table_name)
            statement = select(table).where(*self._conditions(connection, table, where))
            for spec in order_by:
                name, descending = _parse_order(spec)
                column = self._column(connection, table, name, "orderBy")
                statement = statement.order_by(column.desc() if descending else column.asc())
            if limit is not None:
                statement = statement.limit(limit)
            if offset:
                statement = statement.offset(offset)
            return [_row(row) for row in connection.execute(statement).mappings()]

        return self._run(work)

    def _update(self, table_name: str, where: Mapping[str, Any], data: Mapping[str, Any]) -> int:
        def work(connection: Connection) -> int:
            table = self._table(connection, table_name)
            conditions = _required(self._conditions(connection, table, where), "update")
            values = self._values(connection, table, data, "data")
            return connection.execute(update(table).where(*conditions).values(values)).rowcount

        return self._run(work)

    def _delete(self, table_name: str, where: Mapping[str, Any]) -> int:
        def work(connection: Connection) -> int:
            table = self._table(connection, table_name)
            conditions = _required(self._conditions(connection, table, where), "delete")
            return connection.execute(delete(table).where(*conditions)).rowcount

        return self._run(work)

    def _query(self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None) -> dict[str, Any]:
        if not isinstance(sql, str) or not sql.strip():
            raise DatabaseQueryError("sql must be a non-empty string")
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            raise DatabaseQueryError(
                "params must be an object of named parameters (write :name in the SQL)"
            )
        bound = {str(k): _plain(v) for k, v in params.items()}

        def work(connection: Connection) -> dict[str, Any]:
            result = connection.execute(text(sql), bound)
            if result.returns_rows:
                rows = [_row(row) for row in result.mappings()]
                return {"rows": rows, "rowCount": len(rows)}
            out: dict[str, Any] = {"rowCount": result.rowcount}
            last_id = getattr(result, "lastrowid", None)
            # only an INSERT sets it: SQLite repeats the connection's last one otherwise
            if last_id and sql.lstrip()[:7].lower() in ("insert ", "replace"):
                out["lastInsertId"] = last_id
            return out

        try:
            return self._run(work)
        finally:
            if not sql.lstrip().lower().startswith("select"):
                self.refresh_schema()  # the statement may have changed the schema


def _required(conditions: list[ColumnElement[bool]], operation: str) -> list[ColumnElement[bool]]:
    if not conditions:
        raise DatabaseQueryError(
            f"{operation} needs a where with at least one column (refusing to {operation} "
            "every row; use the query operation for that)"
        )
    return conditions


def _check_window(limit: Any, offset: Any) -> None:
    for name, value in (("limit", limit), ("offset", offset)):
        if value is None and name == "limit":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DatabaseQueryError(f"{name} must be a non-negative integer, got {value!r}")


def _parse_order(spec: Any) -> tuple[str, bool]:
    """``"name"``, ``"-name"``, ``"name desc"`` -> (column name, descending)."""
    if not isinstance(spec, str) or not spec.strip():
        raise DatabaseQueryError(f"orderBy entries must be column names, got {spec!r}")
    spec = spec.strip()
    if spec.startswith("-"):
        return spec[1:].strip(), True
    name, _, direction = spec.rpartition(" ")
    if name and direction.lower() in ("asc", "desc"):
        return name.strip(), direction.lower() == "desc"
    return spec, False


def _bindable(column: Column[Any], value: Any) -> Any:
    """A JSON value as the column wants it.

    Objects and lists go into a JSON column as is, and into any other column as JSON text;
    ISO strings become dates and times for temporal columns (the state has no date type).
    """
    if isinstance(value, (dict, list)) and not isinstance(column.type, JSON):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return _temporal(column, value)
    return value


def _temporal(column: Column[Any], value: str) -> Any:
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return value
    if kind not in (dt.datetime, dt.date, dt.time):
        return value
    try:
        if kind is dt.time:
            return dt.time.fromisoformat(value)
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DatabaseQueryError(
            f'column "{column.name}" takes an ISO {kind.__name__}, got {value!r}'
        ) from None
    return moment.date() if kind is dt.date else moment


def _plain(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value


def _row(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(name): _jsonable(value) for name, value in row.items()}


def _jsonable(value: Any) -> Any:
    """Database values as JSON values: the run state is JSON."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(raw).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
