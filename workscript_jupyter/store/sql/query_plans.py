"""What the database plans to do with a statement, and whether that plan reads the table whole.

``explain(connection, statement)`` runs the statement once to learn the exact SQL and
parameters the driver receives, then asks the database for its plan of that SQL (``EXPLAIN
QUERY PLAN`` on SQLite, ``EXPLAIN`` on MySQL/MariaDB). ``problems(plan)`` names what would make
the statement's cost grow with the table: a full scan, a table read without an index, or a sort
(SQLite's temporary B-tree, MySQL's filesort or temporary table) over a table's rows. A sort of
a derived result (the few rows that branches of a UNION return, each limited by its index) is
not a problem: its size is bounded by the branches' limits, not by the table.

The benchmark (``bench/history.py --plans``) and the tests of the query plans use both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Executable, event

from ..tables import metadata

__all__ = ["Plan", "explain", "problems"]

_SQLITE_SORT = "USE TEMP B-TREE"
_SQLITE_INDEX = re.compile(r"USING (?:COVERING )?INDEX (\w+)")
_MYSQL_SORTS = ("Using filesort", "Using temporary")


@dataclass(frozen=True, slots=True)
class Plan:
    """A statement's plan: ``rows`` as the database gave them (dicts of its columns)."""

    dialect: str
    sql: str
    rows: tuple[dict[str, Any], ...]

    def indexes(self, tables: Iterable[str] | None = None) -> list[str]:
        """The indexes through which the plan reads the real tables (default: the store's),
        in the plan's order."""
        real = _real_tables(tables)
        if self.dialect == "sqlite":
            found = []
            for row in self.rows:
                verb, _, rest = str(row["detail"]).partition(" ")
                if verb in ("SCAN", "SEARCH") and rest.split(" ", 1)[0] in real:
                    match = _SQLITE_INDEX.search(rest)
                    if match:
                        found.append(match.group(1))
            return found
        return [str(row["key"]) for row in self.rows if row.get("table") in real and row.get("key")]

    def lines(self) -> list[str]:
        """The plan, readable: SQLite's tree indented, MySQL's table one row per line."""
        if self.dialect == "sqlite":
            depth: dict[int, int] = {}
            out = []
            for row in self.rows:
                level = depth.get(row["parent"], -1) + 1
                depth[row["id"]] = level
                out.append("  " * level + str(row["detail"]))
            return out
        names = ("id", "select_type", "table", "type", "key", "rows", "Extra")
        return [" | ".join(f"{name}={row.get(name)}" for name in names) for row in self.rows]


def explain(connection: Connection, statement: Executable) -> Plan:
    """The plan of ``statement`` as this connection's database would run it."""
    sent: list[tuple[str, Any]] = []

    def capture(
        conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, many: bool
    ) -> None:
        sent.append((sql, parameters))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        connection.execute(statement).all()
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    sql, parameters = sent[-1]
    dialect = connection.dialect.name
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    cursor = connection.connection.cursor()
    try:
        cursor.execute(prefix + sql, parameters)
        names = [column[0] for column in cursor.description]
        rows = tuple(dict(zip(names, row, strict=True)) for row in cursor.fetchall())
    finally:
        cursor.close()
    return Plan(dialect, sql, rows)


def problems(
    plan: Plan, *, leading: Iterable[str] = (), tables: Iterable[str] | None = None
) -> list[str]:
    """What in ``plan`` reads a whole table or sorts a table's rows; empty when every table is
    read through an index in the order asked for.

    ``leading``: columns the statement compares for equality that every index it reads must
    have before its order columns (``created_at``): without that, the database walks the index
    in order and tests each row, which costs as many rows as it must skip (a rare status, a
    trigger) — not a sort, not a scan, but a cost that grows with the table all the same.
    ``tables``: the real tables (default: the store's), as opposed to derived results.
    """
    real = _real_tables(tables)
    found = (
        _sqlite_problems(plan.rows, real)
        if plan.dialect == "sqlite"
        else _mysql_problems(plan.rows, real)
    )
    wanted = set(leading)
    for index in plan.indexes(real) if wanted else ():
        missing = sorted(wanted - set(_equality_columns(index)))
        if missing:
            found.append(
                f"{index} does not start with {', '.join(missing)}: rows tested one by one"
            )
    return found


def _real_tables(tables: Iterable[str] | None) -> set[str]:
    return set(metadata.tables if tables is None else tables)


def _equality_columns(index_name: str) -> tuple[str, ...]:
    """The columns of one of the store's indexes before its order columns (``created_at``)."""
    for table in metadata.tables.values():
        for index in table.indexes:
            if index.name == index_name:
                names = [column.name for column in index.columns]
                return tuple(names[: names.index("created_at")] if "created_at" in names else names)
    return ()


def _sqlite_problems(rows: Sequence[dict[str, Any]], real: set[str]) -> list[str]:
    found = []
    reads_table: set[int] = set()  # parents of steps that read a real table
    for row in rows:
        verb, _, rest = str(row["detail"]).partition(" ")
        table = rest.split(" ", 1)[0]
        if verb in ("SCAN", "SEARCH") and table in real:
            reads_table.add(row["parent"])
            if verb == "SCAN" and " USING " not in rest:
                found.append(f"full scan of {table}: {row['detail']}")
    for row in rows:
        detail = str(row["detail"])
        if detail.startswith(_SQLITE_SORT) and row["parent"] in reads_table:
            found.append(f"sort over a table's rows: {detail}")
    return found


def _mysql_problems(rows: Sequence[dict[str, Any]], real: set[str]) -> list[str]:
    found = []
    for row in rows:
        table = row.get("table")
        if table not in real:
            continue  # a derived result (<derived2>, <union2,3>): bounded by its branches
        extra = str(row.get("Extra") or "")
        if row.get("type") == "ALL":
            found.append(f"full scan of {table}: type=ALL {extra}".rstrip())
        elif row.get("key") is None:
            found.append(f"{table} read without an index: type={row.get('type')} {extra}")
        for sort in _MYSQL_SORTS:
            if sort in extra:
                found.append(f"sort over {table}'s rows: {extra}")
    return found
