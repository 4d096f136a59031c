"""Migration 0002 backfills ``workflows.definition_id``: old duplicates cannot break the upgrade.

A database is made at 0001 and filled with what 0001 allowed (one owner with the same definition
id three times, another owner with the same id once, odd definitions), then upgraded: the newest
of each owner's duplicates keeps the id, the older ones get NULL, and the unique rule holds after.
Each backend starts empty: a fresh SQLite file, or the MariaDB database
``workscript_migration_0002`` dropped and created again for every test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError

from workscript_jupyter.store import migrate, tables
from workscript_jupyter.store.connection import create_store_engine
from workscript_jupyter.store.records import Scope
from workscript_jupyter.store.sql import SqlStore

DATABASE = "workscript_migration_0002"
BACKENDS = ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'm0002.sqlite'}"
    else:
        server = make_url(request.getfixturevalue("mysql_url")).set(database="")
        root = create_engine(server)
        try:
            with root.begin() as connection:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {DATABASE}")
                connection.exec_driver_sql(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4")
        finally:
            root.dispose()
        url = server.set(database=DATABASE).render_as_string(hide_password=False)
    engine = create_store_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _user(user_id: str) -> dict[str, object]:
    return {
        "id": user_id,
        "username": user_id,
        "username_key": user_id,
        "roles": ["user"],
        "is_active": True,
        "source": "local",
        "created_at": T0,
        "updated_at": T0,
    }


def _workflow(record_id: str, owner: str, definition: object, minutes: int) -> dict[str, object]:
    at = T0 + timedelta(minutes=minutes)
    return {
        "id": record_id,
        "owner_id": owner,
        "name": record_id,
        "description": "",
        "version": "1.0.0",
        "definition": definition,
        "created_at": at,
        "updated_at": at,
    }


def test_upgrade_backfills_definition_ids_and_nulls_older_duplicates(engine: Engine) -> None:
    migrate.upgrade(engine, "0001")
    # the application's tables, writing only the columns 0001 has (their JSON types encode)
    report = {"id": "daily-report", "name": "r", "version": "1.0.0", "workflow": []}
    with engine.begin() as connection:
        connection.execute(insert(tables.users), [_user("alice"), _user("bob")])
        connection.execute(
            insert(tables.workflows),
            [
                _workflow("a-oldest", "alice", report, 1),
                _workflow("a-newest", "alice", report, 3),
                _workflow("a-middle", "alice", report, 2),
                _workflow("b-only", "bob", report, 1),
                _workflow("a-other", "alice", {**report, "id": "other"}, 1),
                _workflow("a-no-id", "alice", {"workflow": []}, 1),
                _workflow("a-not-text", "alice", {**report, "id": 42}, 1),
                _workflow("a-too-long", "alice", {**report, "id": "x" * 201}, 1),
            ],
        )

    migrate.upgrade(engine)

    table = tables.workflows
    with engine.connect() as connection:
        rows = dict(connection.execute(select(table.c.id, table.c.definition_id)).all())
    assert rows == {
        "a-newest": "daily-report",
        "a-middle": None,
        "a-oldest": None,
        "b-only": "daily-report",
        "a-other": "other",
        "a-no-id": None,
        "a-not-text": None,
        "a-too-long": None,
    }
    # the unique rule is in place: a second "daily-report" for alice is refused
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            insert(table).values(
                **_workflow("a-again", "alice", report, 9), definition_id="daily-report"
            )
        )
    # and the store finds the survivor by its definition id
    store = SqlStore(engine)
    assert store.workflows.get(Scope("alice"), "daily-report").id == "a-newest"
    assert store.workflows.get(Scope("bob"), "daily-report").id == "b-only"
