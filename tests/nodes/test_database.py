"""database node: every operation and edge, on SQLite (a temporary file) and MariaDB."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from workscript_jupyter.engine import Edge, NodeContext, Services
from workscript_jupyter.nodes.database import DatabaseNode
from workscript_jupyter.store import SqlDatabaseGateway

BACKENDS = ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)]


class Db:
    def __init__(self, backend: str, url: str) -> None:
        self.gateway = SqlDatabaseGateway(url)
        self.services = Services(databases={"default": self.gateway})
        self.table = f"users_{uuid.uuid4().hex[:12]}"
        key = "AUTOINCREMENT" if backend == "sqlite" else "AUTO_INCREMENT"
        self.sql(
            f"CREATE TABLE {self.table} (id INTEGER PRIMARY KEY {key}, "
            "name VARCHAR(100) NOT NULL, email VARCHAR(200), age INTEGER)"
        )

    def sql(self, statement: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return asyncio.run(self.gateway.query(statement, params))

    def call(
        self, params: dict[str, Any], state: dict[str, Any] | None = None
    ) -> tuple[Edge, dict[str, Any]]:
        return call({"table": self.table, **params}, self.services, state)

    def names(self) -> list[str]:
        return [r["name"] for r in self.sql(f"SELECT name FROM {self.table} ORDER BY id")["rows"]]


def call(
    params: dict[str, Any], services: Any, state: dict[str, Any] | None = None
) -> tuple[Edge, dict[str, Any]]:
    state = {} if state is None else state
    ctx = NodeContext(
        state, node_id="database", node_type="database", node_path="/0", services=services
    )
    edge = asyncio.run(DatabaseNode().execute(ctx, params))
    assert edge is not None
    return edge, state


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Db]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'nodes.sqlite'}"
    else:
        url = request.getfixturevalue("mysql_url")
    handle = Db(request.param, url)
    try:
        yield handle
    finally:
        handle.sql(f"DROP TABLE IF EXISTS {handle.table}")
        handle.gateway.dispose()


def seed(db: Db) -> None:
    for name, age in (("ann", 30), ("bob", 25), ("cid", 35)):
        edge, _ = db.call({"operation": "insert", "data": {"name": name, "age": age}})
        assert edge.name == "success"


# -- operations ---------------------------------------------------------------------------------


def test_insert(db):
    edge, state = db.call({"operation": "insert", "data": {"name": "ann", "age": 30}})
    record = {"id": 1, "name": "ann", "email": None, "age": 30}
    assert edge.name == "success"
    assert edge.data == {"inserted": 1, "table": db.table, "record": record}
    assert state == {"dbInserted": {"table": db.table, "id": 1, "record": record}}


def test_find_found_and_not_found(db):
    seed(db)
    edge, state = db.call({"operation": "find", "where": {"name": "bob"}})
    assert edge.name == "found"
    assert edge.data == {
        "record": {"id": 2, "name": "bob", "email": None, "age": 25},
        "table": db.table,
    }
    assert state == {"dbRecord": edge.data["record"]}
    edge, state = db.call({"operation": "find", "where": {"name": "zed"}})
    assert edge.name == "not_found"
    assert edge.data == {"table": db.table, "where": {"name": "zed"}, "id": None}
    assert state == {}


def test_original_style_query_and_data_id_still_locate_rows(db):
    seed(db)
    edge, _ = db.call({"operation": "find", "query": {"name": "cid"}})
    assert edge.data["record"]["id"] == 3
    edge, _ = db.call({"operation": "find", "data": {"id": 1}})
    assert edge.data["record"]["name"] == "ann"
    edge, state = db.call({"operation": "update", "data": {"id": 2, "age": 26}})
    assert edge.name == "success"
    assert state["dbUpdated"] == {"table": db.table, "where": {"id": 2}, "count": 1, "id": 2}


def test_update(db):
    seed(db)
    edge, state = db.call({"operation": "update", "where": {"name": "ann"}, "data": {"age": 31}})
    assert edge.name == "success"
    assert edge.data == {"updated": 1, "table": db.table, "where": {"name": "ann"}}
    assert state == {"dbUpdated": {"table": db.table, "where": {"name": "ann"}, "count": 1}}
    assert db.sql(f"SELECT age FROM {db.table} WHERE name = 'ann'")["rows"] == [{"age": 31}]
    edge, state = db.call({"operation": "update", "where": {"id": 99}, "data": {"age": 1}})
    assert (edge.name, edge.data["id"], state) == ("not_found", 99, {})


def test_delete(db):
    seed(db)
    edge, state = db.call({"operation": "delete", "where": {"name": ["ann", "cid"]}})
    assert edge.name == "success"
    assert edge.data == {"deleted": 2, "table": db.table, "where": {"name": ["ann", "cid"]}}
    assert state["dbDeleted"]["count"] == 2
    assert db.names() == ["bob"]
    edge, _ = db.call({"operation": "delete", "where": {"name": "ann"}})
    assert edge.name == "not_found"


def test_list_with_where_order_limit_offset(db):
    seed(db)
    edge, state = db.call({"operation": "list", "orderBy": "-age", "limit": 2, "offset": 1})
    assert edge.name == "success"
    assert [r["name"] for r in edge.data["records"]] == ["ann", "bob"]
    assert edge.data["count"] == 2
    assert edge.data["table"] == db.table
    assert state["dbRecords"] == edge.data["records"]
    edge, _ = db.call({"operation": "list", "where": {"age": [25, 35]}, "orderBy": ["name desc"]})
    assert [r["name"] for r in edge.data["records"]] == ["cid", "bob"]
    db.sql(f"DELETE FROM {db.table}")
    edge, state = db.call({"operation": "list"})
    assert (edge.name, edge.data["count"], state["dbRecords"]) == ("success", 0, [])


def test_query_select_and_write(db):
    seed(db)
    sql = f"SELECT name, age FROM {db.table} WHERE age >= :min ORDER BY age"
    edge, state = db.call({"operation": "query", "sql": sql, "params": {"min": 30}})
    rows = [{"name": "ann", "age": 30}, {"name": "cid", "age": 35}]
    assert edge.name == "success"
    assert edge.data == {"rows": rows, "rowCount": 2}
    assert state == {"dbQueryResult": {"rows": rows, "rowCount": 2}, "dbRecords": rows}
    sql = f"UPDATE {db.table} SET age = :age WHERE name = :name"
    edge, state = db.call({"operation": "query", "sql": sql, "params": {"age": 1, "name": "bob"}})
    assert edge.data == {"rowCount": 1}
    assert state == {"dbQueryResult": {"rowCount": 1}}


# -- injection ----------------------------------------------------------------------------------


def test_injection_in_values_is_stored_as_text(db):
    evil = f"bob'; DROP TABLE {db.table}; --"
    edge, _ = db.call({"operation": "insert", "data": {"name": evil}})
    assert edge.data["record"]["name"] == evil
    edge, _ = db.call({"operation": "find", "where": {"name": "' OR '1'='1"}})
    assert edge.name == "not_found"
    sql = f"SELECT id FROM {db.table} WHERE name = :n"
    edge, _ = db.call({"operation": "query", "sql": sql, "params": {"n": "x' OR 1=1 --"}})
    assert edge.data == {"rows": [], "rowCount": 0}
    assert db.names() == [evil]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"operation": "delete", "where": {"1=1 OR name": "x"}}, 'unknown column "1=1 OR name"'),
        ({"operation": "find", "where": {"name = 'ann' --": 1}}, "unknown column"),
        (
            {"operation": "update", "where": {"id": 1}, "data": {"age=0, name": "x"}},
            "unknown column",
        ),
        ({"operation": "list", "orderBy": "id; DROP TABLE x"}, "unknown column"),
        ({"operation": "list", "table": "users; DROP TABLE users"}, "unknown table"),
        ({"operation": "query", "sql": "SELECT 1; DELETE FROM {t}"}, ""),
    ],
)
def test_injection_in_names_and_stacked_sql_is_refused(db, params, fragment):
    seed(db)
    if "sql" in params:
        params = {**params, "sql": params["sql"].format(t=db.table)}
    edge, state = db.call(params)
    assert edge.name == "error"
    assert fragment in edge.data["error"]
    assert state == {}
    assert db.names() == ["ann", "bob", "cid"], "nothing ran"


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({}, "Missing required parameter: operation"),
        ({"operation": "upsert"}, 'Parameter "operation" must be one of'),
        ({"operation": "insert", "table": ""}, "Missing required parameter: table"),
        ({"operation": "list", "table": 5}, "Missing required parameter: table"),
        ({"operation": "insert"}, "Missing required parameter: data"),
        ({"operation": "insert", "data": {}}, "Missing required parameter: data"),
        ({"operation": "insert", "data": [1]}, 'Parameter "data" must be an object'),
        ({"operation": "find"}, "Missing required parameter: where"),
        ({"operation": "find", "where": "id=1"}, 'Parameter "where" must be an object'),
        ({"operation": "delete", "where": {}}, "Missing required parameter: where"),
        ({"operation": "update", "where": {"id": 1}}, "Missing required parameter: data"),
        ({"operation": "list", "limit": -1}, 'Parameter "limit"'),
        ({"operation": "list", "limit": True}, 'Parameter "limit"'),
        ({"operation": "list", "offset": 1.5}, 'Parameter "offset"'),
        ({"operation": "list", "orderBy": [1]}, 'Parameter "orderBy"'),
        ({"operation": "query"}, "Missing required parameter: sql"),
        ({"operation": "query", "sql": "SELECT 1", "params": [1]}, 'Parameter "params"'),
        (
            {"operation": "insert", "data": {"colour": "red", "name": "x"}},
            'unknown column "colour"',
        ),
        ({"operation": "list", "table": "missing_table"}, 'unknown table "missing_table"'),
        ({"operation": "list", "connection": "reports"}, 'no database connection named "reports"'),
        ({"operation": "query", "sql": "SELEC nonsense"}, ""),
    ],
)
def test_bad_input_takes_the_error_edge(db, params, fragment):
    edge, state = db.call(params)
    assert edge.name == "error"
    assert fragment in edge.data["error"]
    assert state == {}


def test_without_services_no_connection_is_configured():
    edge, _ = call({"operation": "list", "table": "users"}, None)
    assert edge.name == "error"
    assert 'Parameter "connection": no database connection named "default"' in edge.data["error"]
    assert "(configured: none)" in edge.data["error"]


def test_named_connection(tmp_path):
    gateway = SqlDatabaseGateway(f"sqlite:///{tmp_path / 'r.sqlite'}")
    asyncio.run(gateway.query("CREATE TABLE r (id INTEGER PRIMARY KEY, v TEXT)"))
    services = Services(databases={"reports": gateway})
    edge, state = call(
        {"operation": "insert", "connection": "reports", "table": "r", "data": {"v": "x"}}, services
    )
    assert (edge.name, state["dbInserted"]["id"]) == ("success", 1)


def test_missing_driver_reaches_the_error_edge_masked(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymysql", None)
    gateway = SqlDatabaseGateway("mysql+pymysql://app:hunter2@127.0.0.1:3306/test")
    edge, state = call(
        {"operation": "list", "table": "users"}, Services(databases={"default": gateway})
    )
    assert edge.name == "error"
    assert 'pip install "workscript-jupyter[mysql]"' in edge.data["error"]
    assert edge.data["code"] == "DATABASE_DRIVER_MISSING"
    assert "hunter2" not in json.dumps(edge.data)
    assert state == {}


@pytest.mark.mysql
def test_wrong_password_reaches_the_error_edge_masked(mysql_url):
    url = make_url(mysql_url).set(password="not-the-pa55").render_as_string(hide_password=False)
    services = Services(databases={"default": SqlDatabaseGateway(url)})
    edge, _ = call({"operation": "find", "table": "users", "where": {"id": 1}}, services)
    assert edge.name == "error"
    assert edge.data["code"] == "DATABASE_UNAVAILABLE"
    assert "cannot connect to mysql+pymysql://root:***@" in edge.data["error"]
    assert "not-the-pa55" not in json.dumps(edge.data)


# -- through the engine -------------------------------------------------------------------------


def test_example_runs_in_a_workflow(run, tmp_path):
    gateway = SqlDatabaseGateway(f"sqlite:///{tmp_path / 'example.sqlite'}")
    asyncio.run(gateway.query("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)"))
    asyncio.run(gateway.insert("users", {"name": "Ann", "email": "ann@x.io"}))
    document = {
        "id": "example",
        "name": "example",
        "version": "1.0.0",
        "initialState": {"email": "ann@x.io"},
        "workflow": [{"database": dict(DatabaseNode.metadata.example)}],
    }
    services = Services(databases={"default": gateway})
    result = run(document, services=services)
    assert result.status == "completed", result.error
    assert result.final_state["lastLoggedMessage"] == "hello Ann"
    result = run(document, state={"email": "nobody@x.io"}, services=services)
    assert result.final_state["lastLoggedMessage"] == "no such user"
