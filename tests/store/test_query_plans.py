"""The runs list reads an index in page order for every filter, on SQLite and MariaDB.

A page of runs must cost the same with a million runs as with a thousand (``bench/history.py``
measures it; docs/storage.md has the figures). What makes that true is the plan, which does not
depend on the size of the table: each statement ``ExecutionStore.list`` runs is explained
(EXPLAIN QUERY PLAN / EXPLAIN) on a small history made by the migrations, and its plan must
read every table through an index that starts with the filter's columns, with no full scan and
no sort of the table's rows. ``test_a_dropped_index_is_noticed`` proves the check is live.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from workscript_jupyter.store import migrate
from workscript_jupyter.store.connection import create_store_engine
from workscript_jupyter.store.records import ExecutionRecord, Scope, new_id
from workscript_jupyter.store.sql import SqlStore
from workscript_jupyter.store.sql.common import encode_cursor
from workscript_jupyter.store.sql.query_plans import Plan, explain, problems
from workscript_jupyter.store.sql.run_pages import page_query

RUNS = 2000
PLANS_DB = "workscript_query_plans"
STATUSES = ("completed", "completed", "completed", "failed", "cancelled", "interrupted")
TRIGGERS = ("cron", "cron", "manual", "api", "webhook", "notebook")


@dataclass
class History:
    engine: Engine
    admin: Scope
    owner: Scope
    workflow: str
    automation: str
    far: str  # a cursor from far back


def _mysql_database(mysql_url: str) -> str:
    server = make_url(mysql_url).set(database="")
    root = create_engine(server)
    try:
        with root.begin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {PLANS_DB}")
            connection.exec_driver_sql(f"CREATE DATABASE {PLANS_DB} CHARACTER SET utf8mb4")
    finally:
        root.dispose()
    return server.set(database=PLANS_DB).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def _histories() -> Iterator[dict[str, History]]:
    """Each backend's history, made once per module (``mysql_url`` is a per-test fixture)."""
    made: dict[str, History] = {}
    yield made
    for history in made.values():
        history.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def history(
    request: pytest.FixtureRequest,
    _histories: dict[str, History],
    tmp_path_factory: pytest.TempPathFactory,
) -> History:
    if request.param not in _histories:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('plans') / 'plans.sqlite'}"
        else:
            url = _mysql_database(request.getfixturevalue("mysql_url"))
        _histories[request.param] = _make_history(url)
    return _histories[request.param]


def _make_history(url: str) -> History:
    """RUNS runs of four owners by the store's own bulk insert, on a migrated schema."""
    engine = create_store_engine(url)
    migrate.upgrade(engine)
    store = SqlStore(engine)
    admin = store.users.create("plans-admin", roles=("admin",))
    owners = [store.users.create(f"plans-owner-{n}").id for n in range(4)]
    workflows = [new_id() for _ in range(20)]
    automations = [new_id() for _ in range(40)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # runs as big as real ones (a timeline of a few KB): on a table of small rows, MariaDB may
    # judge reading it all and sorting cheaper than an index, a choice it never makes at scale
    timeline = [{"path": f"/workflow/{i}", "type": "math", "durationMs": 0.4} for i in range(40)]
    records = [
        ExecutionRecord(
            id=new_id(), owner_id=owners[n % 4], status=STATUSES[n % 6],
            trigger=TRIGGERS[(n // 6) % 6], workflow_id=workflows[n % 20],
            automation_id=automations[n % 40] if n % 3 == 0 else None,
            created_at=start + timedelta(minutes=n), warnings=[{"w": n}] if n % 50 == 0 else [],
            timeline=timeline,
        )
        for n in range(RUNS)
    ]  # fmt: skip
    store.executions.create_many(records)
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:  # statistics, as a server keeps them on a live table
            connection.execute(text("ANALYZE TABLE workflow_executions"))
    far = records[RUNS // 10]
    return History(
        engine=engine,
        admin=Scope(admin.id, is_admin=True),
        owner=Scope(owners[0]),
        workflow=workflows[0],
        automation=automations[0],
        far=encode_cursor(far.created_at, far.id),
    )


def _cases(h: History) -> Iterator[tuple[str, Scope, dict[str, Any], tuple[str, ...]]]:
    """(name, scope, filters, the columns the index must start with)."""
    for who, scope in (("admin", h.admin), ("owner", h.owner)):
        own: tuple[str, ...] = () if scope.is_admin else ("owner_id",)
        yield f"{who} first page", scope, {}, own
        yield f"{who} workflow", scope, {"workflow_id": h.workflow}, ("workflow_id",)
        yield f"{who} automation", scope, {"automation_id": h.automation}, ("automation_id",)
        yield f"{who} status", scope, {"status": "failed"}, (*own, "status")
        yield f"{who} two statuses", scope, {"status": ["failed", "cancelled"]}, (*own, "status")
        yield f"{who} trigger", scope, {"trigger": "webhook"}, (*own, "trigger")
        # a user's runs with warnings: either index will do (the other column tested per row)
        warned: tuple[str, ...] = () if own else ("has_warnings",)
        yield f"{who} warnings", scope, {"has_warnings": True}, warned
        yield f"{who} from far back", scope, {"cursor": h.far}, own


def _plan(h: History, scope: Scope, filters: dict[str, Any]) -> Plan:
    with h.engine.connect() as connection:
        return explain(connection, page_query(scope, limit=50, **filters))


def test_every_runs_list_query_reads_an_index_in_order(history: History) -> None:
    failures = {}
    for name, scope, filters, leading in _cases(history):
        plan = _plan(history, scope, filters)
        found = problems(plan, leading=leading)
        if not plan.indexes():
            found.append("no index read")
        if found:
            failures[name] = [*found, *plan.lines()]
    assert not failures, failures


def test_a_dropped_index_is_noticed(history: History) -> None:
    """Without ``(trigger, created_at, id)`` a trigger page walks the time index testing each
    row: the check names it (and so fails the test above when an index goes missing)."""
    name, scope, filters, leading = next(c for c in _cases(history) if c[0] == "admin trigger")
    index = "ix_workflow_executions_trigger_created_at_id"
    on_table = "" if history.engine.dialect.name == "sqlite" else " ON workflow_executions"
    trigger = history.engine.dialect.identifier_preparer.quote("trigger")
    _change_schema(history.engine, f"DROP INDEX {index}{on_table}")
    try:
        plan = _plan(history, scope, filters)
    finally:
        _change_schema(
            history.engine,
            f"CREATE INDEX {index} ON workflow_executions ({trigger}, created_at, id)",
        )
    assert problems(plan, leading=leading), f"{name}: judged fine without {index}: {plan.lines()}"


def test_a_workflow_page_reads_its_index_whichever_index_is_newest(history: History) -> None:
    """A user's page of one workflow (or automation) reads that workflow's index, not all of the
    user's runs. Without statistics SQLite breaks the tie between the two indexes by which was
    created last: recreated (as a later migration may do), the owner's index would win if the
    owner test could use it."""
    owner_index = "ix_workflow_executions_owner_id_created_at_id"
    on_table = "" if history.engine.dialect.name == "sqlite" else " ON workflow_executions"
    _change_schema(history.engine, f"DROP INDEX {owner_index}{on_table}")
    _change_schema(
        history.engine,
        f"CREATE INDEX {owner_index} ON workflow_executions (owner_id, created_at, id)",
    )
    for name, scope, filters, leading in _cases(history):
        if "workflow_id" in filters or "automation_id" in filters:
            plan = _plan(history, scope, filters)
            assert not problems(plan, leading=leading), (name, plan.lines())


def _change_schema(engine: Engine, ddl: str) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql(ddl)
    # SQLite connections cache prepared statements, and a cached EXPLAIN is not planned again
    # after the schema changes (it reads no table, so it never sees the change): new connections
    engine.dispose()


def test_the_multi_status_page_merges_its_branches_in_order(history: History) -> None:
    """Two statuses are two index walks merged: the page equals the sorted union of the two
    one-status pages, cursor after cursor."""
    store = SqlStore(history.engine)
    for scope in (history.admin, history.owner):
        cursor = None
        seen: list[str] = []
        for _ in range(5):
            page = store.executions.list(
                scope, status=["cancelled", "failed"], limit=7, cursor=cursor
            )
            seen += [run.id for run in page.items]
            cursor = page.next_cursor
        one = [
            run
            for status in ("failed", "cancelled")
            for run in store.executions.list(scope, status=status, limit=100).items
        ]
        expected = [run.id for run in sorted(one, key=lambda r: (r.created_at, r.id), reverse=True)]
        assert seen == expected[: len(seen)] and len(seen) == 35
