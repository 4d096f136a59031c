"""One ``store`` fixture, parametrized over every backend: the contract runs on each.

- ``memory``: a fresh ``MemoryStore``.
- ``sqlite``: ``SqlStore`` on a file of its own; the schema is made once per session (with the
  Alembic migrations when ``store.migrate`` exists, else ``tables.metadata.create_all``) and the
  file is copied for each test, which keeps the suite fast.
- ``mariadb``: ``SqlStore`` on a database of this pytest process's own,
  ``workscript_contract_<pid>``, created on first use and dropped at the end of the session. Its
  tables are dropped and the schema re-created once per test module; each test starts from empty
  tables. Each process holds a ``GET_LOCK`` named after its database while it lives; a database
  whose lock is free belongs to a session that died and is dropped. So pytest processes (xdist
  workers, two terminals) never wait on each other. Marked ``mysql``: skipped when MariaDB is
  absent, failing when CI=true.

The SQL backend is imported lazily: while ``workscript_jupyter.store.sql`` does not exist the SQL
params are skipped (failed when CI=true), so the memory backend can be developed alone.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.ci import in_ci
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.memory import MemoryStore
from workscript_jupyter.store.records import Page, Scope

DATABASE_PREFIX = "workscript_contract_"

BACKENDS = ["memory", "sqlite", pytest.param("mariadb", marks=pytest.mark.mysql)]


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _sql_store_class() -> Any:
    """``SqlStore``, or a skip (a failure in CI) while the SQL backend is not written yet."""
    if not _module_exists("workscript_jupyter.store.sql"):
        message = "workscript_jupyter.store.sql does not exist yet: no SQL backend to test"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return importlib.import_module("workscript_jupyter.store.sql").SqlStore


def _create_schema(url: str) -> None:
    """The schema as the application makes it: migrations if they exist, else the tables."""
    if _module_exists("workscript_jupyter.store.migrate"):
        importlib.import_module("workscript_jupyter.store.migrate").upgrade(url)
        return
    from sqlalchemy import create_engine

    from workscript_jupyter.store.tables import metadata

    engine = create_engine(url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


# -- SQLite: one migrated template per session, copied per test ---------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("contract-template") / "template.sqlite"
    _create_schema(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:  # fold the WAL back in so one file is the copy
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    return path


# -- MariaDB: a database of our own, a session lock, the schema once per module ------------------


class _MariaDb:
    """Session state: the lock connection, the database, and the module whose schema is in
    place."""

    def __init__(self) -> None:
        self.database = f"{DATABASE_PREFIX}{os.getpid()}"
        self.lock_engine: Any = None
        self.lock_connection: Any = None
        self.schema_module: str | None = None

    def ensure(self, url: str, root_url: str, module: str) -> None:
        from sqlalchemy import create_engine, text

        if self.lock_connection is None:
            self.lock_engine = create_engine(root_url, pool_size=1)
            self.lock_connection = self.lock_engine.connect()
            _drop_abandoned_databases(self.lock_connection)
            got = self.lock_connection.execute(
                text("SELECT GET_LOCK(:name, 0)"), {"name": self.database}
            ).scalar()
            if got != 1:
                pytest.fail(f"another process holds the lock of {self.database}")
            self.lock_connection.execute(
                text(f"CREATE DATABASE IF NOT EXISTS {self.database} CHARACTER SET utf8mb4")
            )
        if self.schema_module != module:
            _reset_schema(url)
            self.schema_module = module

    def close(self) -> None:
        if self.lock_connection is not None:
            from sqlalchemy import text

            with contextlib.suppress(Exception):  # a server gone at the end is no failure
                self.lock_connection.execute(text(f"DROP DATABASE IF EXISTS {self.database}"))
            self.lock_connection.close()  # closing the session releases GET_LOCK
            self.lock_engine.dispose()


def _drop_abandoned_databases(connection: Any) -> None:
    """Drop the contract databases of pytest processes that died before their cleanup."""
    from sqlalchemy import text

    pattern = DATABASE_PREFIX.replace("_", "\\_") + "%"
    for (name,) in connection.execute(text("SHOW DATABASES LIKE :p"), {"p": pattern}):
        if connection.execute(text("SELECT IS_FREE_LOCK(:n)"), {"n": name}).scalar() == 1:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))


def _reset_schema(url: str) -> None:
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(url)
    try:
        existing = MetaData()
        existing.reflect(engine)
        existing.drop_all(engine)
    finally:
        engine.dispose()
    _create_schema(url)


def _empty_tables(url: str) -> None:
    from sqlalchemy import create_engine, delete

    from workscript_jupyter.store.tables import metadata

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                connection.execute(delete(table))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _mariadb_session() -> Iterator[_MariaDb]:
    state = _MariaDb()
    yield state
    state.close()


# -- the fixture every contract test takes -------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend = request.param
    if backend == "memory":
        yield MemoryStore()
        return
    if backend == "sqlite":
        sql_store = _sql_store_class()
        path = tmp_path / "contract.sqlite"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        instance = sql_store.from_url(f"sqlite:///{path}")
    else:
        from sqlalchemy.engine import make_url

        root_url = make_url(request.getfixturevalue("mysql_url"))  # skips/fails when absent
        sql_store = _sql_store_class()
        state: _MariaDb = request.getfixturevalue("_mariadb_session")
        url = root_url.set(database=state.database).render_as_string(hide_password=False)
        state.ensure(url, root_url.render_as_string(hide_password=False), request.module.__name__)
        _empty_tables(url)
        instance = sql_store.from_url(url)
    try:
        yield instance
    finally:
        instance.close()


# -- users and scopes ----------------------------------------------------------------------------


@pytest.fixture
def alice(store: Store) -> Scope:
    return Scope(store.users.create("alice", email="alice@example.org").id)


@pytest.fixture
def bob(store: Store) -> Scope:
    return Scope(store.users.create("bob", email="bob@example.org").id)


@pytest.fixture
def admin(store: Store) -> Scope:
    user = store.users.create("root", roles=("admin", "user"))
    return Scope(user.id, is_admin=True)


def walk(list_page: Callable[..., Page], *, limit: int, **kwargs: Any) -> list[Any]:
    """Every item of a paged list, following cursors to the end."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(10_000):
        page = list_page(limit=limit, cursor=cursor, **kwargs)
        assert len(page.items) <= limit
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items
        assert isinstance(cursor, str)
    raise AssertionError("paging never ended")


T = TypeVar("T")


@pytest.fixture
def twin(store: Store) -> Iterator[Store]:
    """A second store on the same database (another server); the same store in memory."""
    engine = getattr(store, "engine", None)
    if engine is None:
        yield store
        return
    other = type(store).from_url(engine.url.render_as_string(hide_password=False))  # type: ignore[attr-defined]
    try:
        yield other
    finally:
        other.close()


def race(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run the calls at once on threads of their own, released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))
