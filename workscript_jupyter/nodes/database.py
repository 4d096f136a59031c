"""database: insert, find, update, delete, list and bound-parameter query on a named connection.

The original kept an in-memory mock keyed by ``data.id``; this node talks to a real database
through ``ctx.services.databases[connection]`` (a ``DatabaseGateway``), which checks table and
column names against the schema and binds every value. ``where`` selects rows; for old
workflows, ``query`` (the original's parameter name) and ``data.id`` still work as a where.
``query`` runs SQL with named parameters (``:name``) and is new.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from ..errors import WorkscriptError

__all__ = ["NODES", "DatabaseNode"]

_OPERATIONS = ("insert", "find", "update", "delete", "list", "query")
# what a gateway raises for a refused call: its message is safe to show
_GATEWAY_ERRORS = (WorkscriptError, ValueError, LookupError, OSError)


class _BadInput(Exception):
    """Internal: a parameter is missing or malformed; becomes the error edge."""


def _error(message: str, params: Mapping[str, Any], **extra: Any) -> Edge:
    data = {"error": message, "operation": params.get("operation"), "table": params.get("table")}
    return Edge("error", {**data, **extra})


def _object(params: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _BadInput(f'Parameter "{name}" must be an object, got {type(value).__name__}')
    return value


def _where(params: Mapping[str, Any], *, required: bool) -> dict[str, Any]:
    """``where``, else ``query`` (the original's name), else ``{"id": data.id}``."""
    where = _object(params, "where")
    if where is None:
        where = _object(params, "query")
    if where is None:
        data = _object(params, "data")
        if data is not None and data.get("id") is not None:
            where = {"id": data["id"]}
    if required and not where:
        raise _BadInput("Missing required parameter: where (an object of column: value)")
    return where or {}


def _window(params: Mapping[str, Any]) -> tuple[int | None, int, list[str]]:
    limit, offset, order = params.get("limit"), params.get("offset", 0), params.get("orderBy")
    for name, value in (("limit", limit), ("offset", offset)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise _BadInput(f'Parameter "{name}" must be a non-negative integer, got {value!r}')
        if value is not None and value < 0:
            raise _BadInput(f'Parameter "{name}" must be a non-negative integer, got {value!r}')
    if order is None:
        order = []
    elif isinstance(order, str):
        order = [order]
    if not isinstance(order, list) or not all(isinstance(o, str) for o in order):
        raise _BadInput('Parameter "orderBy" must be a column name or a list of column names')
    return limit, offset or 0, order


def _located(where: Mapping[str, Any], table: str, count: int) -> dict[str, Any]:
    """The original wrote ``{table, id}``; with a real where we add it and the row count."""
    out: dict[str, Any] = {"table": table, "where": dict(where), "count": count}
    if "id" in where:
        out["id"] = where["id"]
    return out


class DatabaseNode(Node):
    metadata = NodeMetadata(
        id="database",
        name="Database Operations",
        category="data",
        description=(
            "Inserts, finds, updates, deletes or lists rows of a table on a named connection, "
            "or runs SQL with named bound parameters (query). Table and column names are "
            "checked against the schema; values are always bound, never formatted into SQL."
        ),
        inputs=(
            ParamSpec("operation", "string", "what to do", True, choices=_OPERATIONS),
            ParamSpec(
                "connection", "string", "name of the connection in services", default="default"
            ),
            ParamSpec("table", "string", "the table (every operation but query)"),
            ParamSpec("data", "object", "insert: the row; update: the columns to change"),
            ParamSpec(
                "where",
                "object",
                "find/update/delete/list: column: value (a list means IN, null IS NULL); "
                "falls back to query, then to {id: data.id}",
            ),
            ParamSpec("query", "object", "the original's name for where"),
            ParamSpec("sql", "string", "query: the SQL, with :name placeholders"),
            ParamSpec("params", "object", "query: values for the :name placeholders"),
            ParamSpec("limit", "number", "list: at most this many rows"),
            ParamSpec("offset", "number", "list: skip this many rows", default=0),
            ParamSpec("orderBy", "string|string[]", 'list: "col", "-col" or "col desc"'),
        ),
        outputs=("dbInserted", "dbRecord", "dbUpdated", "dbDeleted", "dbRecords", "dbQueryResult"),
        edges=("success", "found", "not_found", "error"),
        example={
            "operation": "find",
            "table": "users",
            "where": {"email": "$.email"},
            "found?": {"log": {"message": "hello {{$.dbRecord.name}}"}},
            "not_found?": {"log": {"message": "no such user"}},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        operation = params.get("operation")
        if not operation:
            return _error("Missing required parameter: operation", params)
        if operation not in _OPERATIONS:
            return _error(
                f'Parameter "operation" must be one of {", ".join(_OPERATIONS)}, got {operation!r}',
                params,
            )
        table = params.get("table")
        if operation != "query" and (not isinstance(table, str) or not table):
            return _error("Missing required parameter: table (a table name)", params)
        name = params.get("connection", "default")
        gateway = self._gateway(ctx, name)
        if isinstance(gateway, str):
            return _error(gateway, params, connection=name)
        try:
            handler: Callable[..., Awaitable[Edge]] = getattr(self, f"_{operation}")
            return await handler(ctx, gateway, params)
        except _BadInput as problem:
            return _error(str(problem), params)
        except _GATEWAY_ERRORS as failure:
            code = getattr(failure, "code", type(failure).__name__)
            return _error(str(failure), params, connection=name, code=code)

    @staticmethod
    def _gateway(ctx: NodeContext, name: Any) -> Any:
        """The gateway named ``name``, or a message saying why there is none."""
        if not isinstance(name, str) or not name:
            return 'Parameter "connection" must be a connection name'
        databases = getattr(ctx.services, "databases", None) or {}
        if name not in databases:
            known = ", ".join(sorted(databases)) or "none"
            return (
                f'Parameter "connection": no database connection named "{name}" is configured '
                f"(configured: {known})"
            )
        return databases[name]

    async def _insert(self, ctx: NodeContext, gateway: Any, params: dict[str, Any]) -> Edge:
        data = _object(params, "data")
        if not data:
            raise _BadInput("Missing required parameter: data (the row to insert, an object)")
        table = params["table"]
        record = await gateway.insert(table, data)
        row_id = record.get("id", data.get("id"))
        ctx.state["dbInserted"] = {"table": table, "id": row_id, "record": record}
        return Edge("success", {"inserted": row_id, "table": table, "record": record})

    async def _find(self, ctx: NodeContext, gateway: Any, params: dict[str, Any]) -> Edge:
        table, where = params["table"], _where(params, required=True)
        record = await gateway.find(table, where)
        if record is None:
            return Edge("not_found", {"table": table, "where": where, "id": where.get("id")})
        ctx.state["dbRecord"] = record
        return Edge("found", {"record": record, "table": table})

    async def _update(self, ctx: NodeContext, gateway: Any, params: dict[str, Any]) -> Edge:
        data = _object(params, "data")
        if not data:
            raise _BadInput("Missing required parameter: data (the columns to change)")
        table, where = params["table"], _where(params, required=True)
        count = await gateway.update(table, where, data)
        if not count:
            return Edge("not_found", {"table": table, "where": where, "id": where.get("id")})
        ctx.state["dbUpdated"] = _located(where, table, count)
        return Edge("success", {"updated": count, "table": table, "where": where})

    async def _delete(self, ctx: NodeContext, gateway: Any, params: dict[str, Any]) -> Edge:
        table, where = params["table"], _where(params, required=True)
        count = await gateway.delete(table, where)
        if not count:
            return Edge("not_found", {"table": table, "where": where, "id": where.get("id")})
        ctx.state["dbDeleted"] = _located(where, table, count)
        return Edge("success", {"deleted": count, "table": table, "where": where})

    async def _list(self, ctx: NodeContext, gateway: Any, params: dict[str, Any]) -> Edge:
        table, where = params["table"], _where(params, required=False)
        limit, offset, order_by = _window(params)
        records = await gateway.list(table, where, limit=limit, offset=offset, order_by=order_by)
        ctx.state["dbRecords"] = records
        return Edge("success", {"records": records, "count": len(records), "table": table})

    async def _query(self, ctx: NodeContext, gateway: Any, params: dict[str, Any]) -> Edge:
        sql = params.get("sql")
        if not isinstance(sql, str) or not sql.strip():
            raise _BadInput("Missing required parameter: sql (a SQL statement with :name params)")
        bound = _object(params, "params") or {}
        result = await gateway.query(sql, bound)
        ctx.state["dbQueryResult"] = result
        if "rows" in result:
            ctx.state["dbRecords"] = result["rows"]
        return Edge("success", dict(result))


NODES: tuple[type[Node], ...] = (DatabaseNode,)
