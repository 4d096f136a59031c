"""What a node leaves in a state is stored as valid JSON (issue 13, item 3).

``NaN`` and the infinities are not JSON: ``json.dumps`` writes them anyway, SQLite then keeps
invalid JSON and MariaDB refuses the row. The store's engine writes them ``null`` (JavaScript's
``JSON.stringify`` rule), on a SQLite file and on MariaDB (the database
``workscript_jsonvalues``; skipped when MariaDB is absent, failing when CI=true).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from workscript_jupyter.errors import ValueTooDeepError
from workscript_jupyter.store.connection import create_store_engine, store_json
from workscript_jupyter.store.records import Scope
from workscript_jupyter.store.sql import SqlStore
from workscript_jupyter.store.tables import metadata, workflow_executions

DATABASE = "workscript_jsonvalues"


def _strict(raw: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} is not JSON: {raw[:200]!r}")

    return json.loads(raw, parse_constant=refuse)


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mysql)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        built = create_store_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    else:
        root = make_url(request.getfixturevalue("mysql_url"))
        root_engine = create_engine(root)
        with root_engine.begin() as connection:
            connection.execute(
                text(f"CREATE DATABASE IF NOT EXISTS {DATABASE} CHARACTER SET utf8mb4")
            )
        root_engine.dispose()
        built = create_store_engine(root.set(database=DATABASE))
        metadata.drop_all(built)
    metadata.create_all(built)
    try:
        yield built
    finally:
        built.dispose()


def test_a_state_with_nan_is_stored_and_read_back_as_null(engine: Engine) -> None:
    store = SqlStore(engine)
    owner = Scope(store.users.create("alice").id)
    record = store.executions.create(owner, status="running")
    state = {"ratio": math.nan, "big": [math.inf, -math.inf, 1.5], "ok": "x"}

    store.executions.update(owner, record.id, status="completed", final_state=state)

    read = store.executions.get(owner, record.id)
    assert read.status == "completed"
    assert read.final_state == {"ratio": None, "big": [None, None, 1.5], "ok": "x"}
    with engine.connect() as connection:
        raw = connection.execute(
            select(workflow_executions.c.final_state.cast(text_type())).where(
                workflow_executions.c.id == record.id
            )
        ).scalar_one()
    assert _strict(raw) == {"ratio": None, "big": [None, None, 1.5], "ok": "x"}


def text_type() -> Any:
    from sqlalchemy import Text

    return Text()


def test_the_serializer_writes_valid_json_and_refuses_what_is_too_deep() -> None:
    assert _strict(store_json({"a": math.nan, "b": (1, math.inf)})) == {"a": None, "b": [1, None]}
    assert store_json({"a": 1}) == json.dumps({"a": 1})  # the usual case is json.dumps' text
    deep: list[Any] = []
    inner = deep
    for _ in range(10_000):
        inner.append([])
        inner = inner[0]
    with pytest.raises(ValueTooDeepError, match="nested more than 512 levels"):
        store_json({"state": deep})
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(ValueTooDeepError, match="contains itself"):
        store_json(loop)
