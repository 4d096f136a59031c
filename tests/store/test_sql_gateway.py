"""SqlDatabaseGateway against SQLite (a temporary file) and MariaDB (the ``mysql_url`` fixture)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from workscript_jupyter.errors import WorkscriptError
from workscript_jupyter.store import (
    DatabaseQueryError,
    DatabaseUnavailableError,
    MissingDriverError,
    SqlDatabaseGateway,
    UnknownColumnError,
    UnknownTableError,
)

BACKENDS = ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)]


def create_table_sql(backend: str, name: str) -> str:
    key = (
        "INTEGER PRIMARY KEY AUTOINCREMENT"
        if backend == "sqlite"
        else "INTEGER PRIMARY KEY AUTO_INCREMENT"
    )
    return (
        f"CREATE TABLE {name} (id {key}, name VARCHAR(100) NOT NULL, email VARCHAR(200), "
        "age INTEGER, score DECIMAL(10, 2), born DATE, meta TEXT)"
    )


class Db:
    """A gateway and one freshly created table, dropped afterwards."""

    def __init__(self, backend: str, url: str) -> None:
        self.backend = backend
        self.gateway = SqlDatabaseGateway(url)
        self.table = f"t_{uuid.uuid4().hex[:12]}"

    def run(self, coroutine: Any) -> Any:
        return asyncio.run(coroutine)

    def sql(self, statement: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.run(self.gateway.query(statement, params))


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Db]:
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite'}"
    else:
        url = request.getfixturevalue("mysql_url")
    handle = Db(backend, url)
    handle.sql(create_table_sql(backend, handle.table))
    try:
        yield handle
    finally:
        handle.sql(f"DROP TABLE IF EXISTS {handle.table}")
        handle.gateway.dispose()


def seed(db: Db) -> None:
    for name, age in (("ann", 30), ("bob", 25), ("cid", 35)):
        db.run(db.gateway.insert(db.table, {"name": name, "age": age, "email": f"{name}@x.io"}))


# -- operations ---------------------------------------------------------------------------------


def test_insert_returns_the_stored_row_with_its_key(db):
    row = db.run(
        db.gateway.insert(
            db.table,
            {"name": "ann", "age": 30, "score": "12.50", "born": "1990-05-01", "meta": {"a": 1}},
        )
    )
    assert row == {
        "id": 1,
        "name": "ann",
        "email": None,
        "age": 30,
        "score": 12.5,
        "born": "1990-05-01",
        "meta": '{"a": 1}',
    }
    second = db.run(db.gateway.insert(db.table, {"name": "bob"}))
    assert second["id"] == 2


def test_find_and_list(db):
    seed(db)
    gw = db.gateway
    assert db.run(gw.find(db.table, {"name": "bob"}))["age"] == 25
    assert db.run(gw.find(db.table, {"name": "zed"})) is None
    names = [r["name"] for r in db.run(gw.list(db.table, {}, order_by=["-age"]))]
    assert names == ["cid", "ann", "bob"]
    page = db.run(gw.list(db.table, {}, order_by=["name asc"], limit=1, offset=1))
    assert [r["name"] for r in page] == ["bob"]
    skipped = db.run(gw.list(db.table, {}, order_by="id", offset=2))
    assert [r["name"] for r in skipped] == ["cid"]
    chosen = db.run(gw.list(db.table, {"name": ["ann", "cid"]}, order_by=["id"]))
    assert [r["name"] for r in chosen] == ["ann", "cid"]
    db.run(gw.insert(db.table, {"name": "dee"}))
    assert [r["name"] for r in db.run(gw.list(db.table, {"age": None}))] == ["dee"]


def test_update_and_delete_count_rows(db):
    seed(db)
    gw = db.gateway
    assert db.run(gw.update(db.table, {"name": "ann"}, {"age": 31})) == 1
    assert db.run(gw.find(db.table, {"name": "ann"}))["age"] == 31
    assert db.run(gw.update(db.table, {"name": "zed"}, {"age": 1})) == 0
    assert db.run(gw.delete(db.table, {"name": ["bob", "cid"]})) == 2
    assert db.run(gw.delete(db.table, {"name": "bob"})) == 0
    assert [r["name"] for r in db.run(gw.list(db.table, {}))] == ["ann"]


def test_query_select_and_write(db):
    seed(db)
    result = db.sql(f"SELECT name FROM {db.table} WHERE age > :min ORDER BY age", {"min": 26})
    assert result == {"rows": [{"name": "ann"}, {"name": "cid"}], "rowCount": 2}
    written = db.sql(f"UPDATE {db.table} SET age = age + 1 WHERE age < :max", {"max": 33})
    assert written["rowCount"] == 2
    inserted = db.sql(f"INSERT INTO {db.table} (name) VALUES (:n)", {"n": "eve"})
    assert inserted == {"rowCount": 1, "lastInsertId": 4}


def test_schema_changes_made_through_query_are_seen(db):
    seed(db)
    assert db.run(db.gateway.find(db.table, {"name": "ann"})) is not None  # reflected now
    db.sql(f"ALTER TABLE {db.table} ADD COLUMN nickname VARCHAR(20)")
    assert db.run(db.gateway.update(db.table, {"name": "ann"}, {"nickname": "A"})) == 1


# -- refused input ------------------------------------------------------------------------------


def test_unknown_table_and_columns_are_named(db):
    gw = db.gateway
    with pytest.raises(UnknownTableError, match='unknown table "nope"'):
        db.run(gw.list("nope", {}))
    with pytest.raises(UnknownColumnError, match='unknown column "colour" in data'):
        db.run(gw.insert(db.table, {"name": "x", "colour": "red"}))
    with pytest.raises(UnknownColumnError, match='unknown column "colour" in where'):
        db.run(gw.find(db.table, {"colour": "red"}))
    with pytest.raises(UnknownColumnError, match='unknown column "colour" in orderBy'):
        db.run(gw.list(db.table, {}, order_by=["-colour"]))


def test_injection_in_values_is_bound_never_executed(db):
    evil = f"x'); DROP TABLE {db.table}; --"
    row = db.run(db.gateway.insert(db.table, {"name": evil}))
    assert row["name"] == evil
    assert db.run(db.gateway.find(db.table, {"name": evil}))["id"] == row["id"]
    assert db.run(db.gateway.find(db.table, {"name": "' OR '1'='1"})) is None
    rows = db.sql(f"SELECT * FROM {db.table} WHERE name = :n", {"n": "' OR '1'='1"})["rows"]
    assert rows == []
    assert len(db.run(db.gateway.list(db.table, {}))) == 1, "the table is still there"


def test_injection_in_names_is_refused(db):
    seed(db)
    gw = db.gateway
    with pytest.raises(UnknownColumnError):
        db.run(gw.delete(db.table, {"name = 'ann' OR 1=1 --": 1}))
    with pytest.raises(UnknownColumnError):
        db.run(gw.update(db.table, {"id": 1}, {"age = 0, name": "x"}))
    with pytest.raises(UnknownColumnError):
        db.run(gw.list(db.table, {}, order_by=[f"id; DROP TABLE {db.table}"]))
    with pytest.raises(UnknownTableError):
        db.run(gw.list(f"{db.table}; DROP TABLE {db.table}", {}))
    with pytest.raises(DatabaseQueryError):
        db.sql(f"SELECT 1; DROP TABLE {db.table}")
    assert len(db.run(gw.list(db.table, {}))) == 3, "nothing was deleted or dropped"


def test_update_and_delete_need_a_where(db):
    seed(db)
    with pytest.raises(DatabaseQueryError, match="refusing to delete every row"):
        db.run(db.gateway.delete(db.table, {}))
    with pytest.raises(DatabaseQueryError, match="refusing to update every row"):
        db.run(db.gateway.update(db.table, {}, {"age": 0}))
    assert len(db.run(db.gateway.list(db.table, {"age": [25, 30, 35]}))) == 3


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda gw, t: gw.list(t, {}, limit=-1), "limit must be a non-negative integer"),
        (lambda gw, t: gw.list(t, {}, offset="2"), "offset must be a non-negative integer"),
        (lambda gw, t: gw.find(t, {"name": {"gt": 1}}), 'where "name"'),
        (lambda gw, t: gw.insert(t, {}), "data must be a non-empty object"),
        (lambda gw, t: gw.query("SELECT 1 WHERE 1 = ?", [1]), "named parameters"),
        (lambda gw, t: gw.query("  "), "sql must be a non-empty string"),
        (lambda gw, t: gw.insert(t, {"email": "no name"}), "name"),  # NOT NULL
        (lambda gw, t: gw.insert(t, {"name": "x", "born": "soon"}), 'column "born" takes'),
    ],
)
def test_bad_arguments_raise_query_errors(db, call, fragment):
    with pytest.raises(DatabaseQueryError, match=fragment):
        db.run(call(db.gateway, db.table))


def test_errors_are_workscript_errors_with_codes():
    assert issubclass(UnknownTableError, (WorkscriptError, LookupError))
    assert issubclass(DatabaseUnavailableError, ConnectionError)
    assert MissingDriverError.code == "DATABASE_DRIVER_MISSING"


# -- connections --------------------------------------------------------------------------------


def test_in_memory_sqlite_is_one_database_across_threads():
    gateway = SqlDatabaseGateway("sqlite://")

    async def scenario() -> list[dict[str, Any]]:
        await gateway.query("CREATE TABLE m (id INTEGER PRIMARY KEY, v TEXT)")
        await asyncio.gather(*(gateway.insert("m", {"v": str(i)}) for i in range(20)))
        return await gateway.list("m", {})

    assert len(asyncio.run(scenario())) == 20


def test_missing_driver_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymysql", None)  # as if PyMySQL were not installed
    gateway = SqlDatabaseGateway("mysql+pymysql://root:hunter2@127.0.0.1:3306/test")
    with pytest.raises(MissingDriverError) as caught:
        asyncio.run(gateway.list("users", {}))
    message = str(caught.value)
    assert 'pip install "workscript-jupyter[mysql]"' in message
    assert "mysql+pymysql://root:***@127.0.0.1:3306/test" in message
    assert "hunter2" not in message


def test_other_mysql_driver_missing_points_to_pymysql():
    pytest.importorskip("sqlalchemy")
    try:
        import MySQLdb  # noqa: F401

        pytest.skip("mysqlclient is installed here")
    except ImportError:
        pass
    gateway = SqlDatabaseGateway("mysql+mysqldb://u:pw@127.0.0.1/test")
    with pytest.raises(MissingDriverError, match=r"workscript-jupyter\[mysql\]"):
        asyncio.run(gateway.list("users", {}))


def test_unreachable_server_names_the_masked_url():
    gateway = SqlDatabaseGateway(
        "mysql+pymysql://root:hunter2@127.0.0.1:1/test", connect_args={"connect_timeout": 2}
    )
    with pytest.raises(DatabaseUnavailableError) as caught:
        asyncio.run(gateway.find("users", {"id": 1}))
    message = str(caught.value)
    assert message.startswith("cannot connect to mysql+pymysql://root:***@127.0.0.1:1/test")
    assert "hunter2" not in message


@pytest.mark.mysql
def test_wrong_password_names_the_masked_url(mysql_url):
    url = make_url(mysql_url).set(password="wrong-pa55")
    gateway = SqlDatabaseGateway(url.render_as_string(hide_password=False))
    with pytest.raises(DatabaseUnavailableError) as caught:
        asyncio.run(gateway.list("users", {}))
    message = str(caught.value)
    assert "Access denied" in message
    assert ":***@" in message
    assert "wrong-pa55" not in message
    assert "wrong-pa55" not in repr(gateway)


def test_bad_url_is_refused():
    with pytest.raises(WorkscriptError, match="invalid database URL"):
        SqlDatabaseGateway("not a url")
