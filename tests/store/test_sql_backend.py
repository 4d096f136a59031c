"""Checks specific to the SQLAlchemy backend (the behaviour every backend shares is in the
contract suite): error translation, cursors, summaries, batching, concurrency at the SQL level.

Runs on a SQLite file and on the MariaDB database ``workscript_sqlbackend`` (its tables are
dropped and re-created for each test; skipped when MariaDB is absent, failing when CI=true).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url

from workscript_jupyter.errors import (
    ConflictError,
    FireAlreadyClaimedError,
    RecordNotFoundError,
    StoreUnavailableError,
)
from workscript_jupyter.store.records import ExecutionRecord, OAuthState, Scope, new_id, utcnow
from workscript_jupyter.store.sql import SqlStore
from workscript_jupyter.store.sql.common import decode_cursor, encode_cursor
from workscript_jupyter.store.tables import metadata, users, workflow_executions

DATABASE = "workscript_sqlbackend"


def _sqlite_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _foreign_keys(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    return engine


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mysql)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        built = _sqlite_engine(tmp_path / "store.sqlite")
    else:
        root = make_url(request.getfixturevalue("mysql_url"))
        root_engine = create_engine(root)
        with root_engine.begin() as connection:
            connection.execute(
                text(f"CREATE DATABASE IF NOT EXISTS {DATABASE} CHARACTER SET utf8mb4")
            )
        root_engine.dispose()
        built = create_engine(root.set(database=DATABASE), pool_pre_ping=True)
        metadata.drop_all(built)
    metadata.create_all(built)
    try:
        yield built
    finally:
        built.dispose()


@pytest.fixture
def store(engine: Engine) -> SqlStore:
    return SqlStore(engine)


@pytest.fixture
def alice(store: SqlStore) -> Scope:
    return Scope(store.users.create("Alice", email="Alice@Example.org").id)


def _statements(engine: Engine) -> list[tuple[str, bool]]:
    """Record every statement the engine sends, with whether it was an executemany."""
    seen: list[tuple[str, bool]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _ctx: Any, many: bool
    ) -> None:
        seen.append((statement, many))

    return seen


def _run(owner: str, workflow_id: str, status: str = "completed", **fields: Any) -> ExecutionRecord:
    return ExecutionRecord(
        id=new_id(), owner_id=owner, status=status, workflow_id=workflow_id, **fields
    )


# -- error translation -----------------------------------------------------------------------


def test_usernames_and_emails_are_unique_case_insensitively(
    store: SqlStore, engine: Engine
) -> None:
    user = store.users.create("Alice", email="Alice@Example.org")
    with engine.connect() as connection:
        keys = connection.execute(
            select(users.c.username_key, users.c.email_key).where(users.c.id == user.id)
        ).one()
    assert tuple(keys) == ("alice", "alice@example.org")
    with pytest.raises(ConflictError, match="username 'ALICE'"):
        store.users.create("ALICE")
    with pytest.raises(ConflictError, match=re.escape("email 'alice@EXAMPLE.org'")):
        store.users.create("other", email="alice@EXAMPLE.org")
    assert store.users.find(username="aLiCe") == user
    assert store.users.find(email="ALICE@example.ORG") == user
    assert len(store.users.list().items) == 1
    bob = store.users.create("bob")
    with pytest.raises(ConflictError, match="username 'alice'"):
        store.users.update(bob.id, username="alice")
    assert store.users.get(bob.id).username == "bob"


def test_duplicate_ids_and_paths_name_what_was_duplicated(store: SqlStore, alice: Scope) -> None:
    flow = store.workflows.create(alice, name="a", definition={})
    with pytest.raises(ConflictError, match=f"workflow with id '{flow.id}'"):
        store.workflows.create(alice, name="b", definition={}, id=flow.id)
    assert store.workflows.get(alice, flow.id).name == "a"
    store.resources.create(alice, path="notes/a.txt", name="a", content=b"x")
    with pytest.raises(ConflictError, match=re.escape("path 'notes/a.txt'")):
        store.resources.create(alice, path="notes/a.txt", name="a", content=b"y")


def test_a_second_claim_of_a_tick_is_fire_already_claimed(store: SqlStore, alice: Scope) -> None:
    automation = store.automations.create(alice, name="nightly", trigger_type="cron")
    tick = utcnow().replace(microsecond=0)
    fire = store.fires.claim(automation.id, tick, "server-1")
    with pytest.raises(FireAlreadyClaimedError, match="already claimed"):
        store.fires.claim(automation.id, tick, "server-2")
    assert [f.id for f in store.fires.list(alice, automation.id).items] == [fire.id]
    with pytest.raises(RecordNotFoundError):
        store.fires.claim(new_id(), tick, "server-1")


def test_an_unknown_owner_is_record_not_found(store: SqlStore) -> None:
    ghost = Scope(new_id())
    with pytest.raises(RecordNotFoundError, match=ghost.user_id):
        store.workflows.create(ghost, name="a", definition={})


def test_an_unreachable_sqlite_file_is_store_unavailable(tmp_path: Path) -> None:
    store = SqlStore(create_engine(f"sqlite:///{tmp_path}/missing/dir/store.sqlite"))
    with pytest.raises(StoreUnavailableError, match=re.escape("missing/dir/store.sqlite")):
        store.users.list()


def test_a_missing_schema_says_how_to_create_it(engine: Engine) -> None:
    metadata.drop_all(engine)
    with pytest.raises(StoreUnavailableError, match="workscript db upgrade"):
        SqlStore(engine).users.get(new_id())


def test_a_refused_mysql_login_names_the_masked_url() -> None:
    pytest.importorskip("pymysql")
    url = "mysql+pymysql://someone:s3cret-pass@127.0.0.1:1/nowhere?charset=utf8mb4"
    store = SqlStore(create_engine(url, connect_args={"connect_timeout": 2}))
    with pytest.raises(StoreUnavailableError) as caught:
        store.workflows.list(Scope(new_id()))
    assert "someone:***@127.0.0.1:1/nowhere" in str(caught.value)
    assert "s3cret-pass" not in str(caught.value)


# -- cursors and updates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        "e30",
        encode_cursor(utcnow(), "x")[:-3],
        "WzEsMl0",
        "WyJub3QgYSB0aW1lIiwiYSJd",
    ],
    # stable ids: the truncated cursor holds the time of collection (pytest-xdist compares ids)
    ids=["not-base64", "an-object", "truncated", "no-time", "not-a-time"],
)
def test_a_malformed_cursor_is_a_value_error(store: SqlStore, alice: Scope, cursor: str) -> None:
    with pytest.raises(ValueError, match="malformed cursor"):
        store.executions.list(alice, cursor=cursor)


def test_cursor_round_trip_keeps_microseconds() -> None:
    at = utcnow()
    assert decode_cursor(encode_cursor(at, "abc")) == (at, "abc")


def test_update_with_an_unknown_field_writes_nothing(store: SqlStore, alice: Scope) -> None:
    run = store.executions.create(alice, workflow_id="w")
    with pytest.raises(ValueError, match="owner_id"):
        store.executions.update(alice, run.id, status="completed", owner_id="someone")
    assert store.executions.get(alice, run.id).status == "queued"
    flow = store.workflows.create(alice, name="a", definition={})
    with pytest.raises(ValueError, match="created_at"):
        store.workflows.update(alice, flow.id, name="b", created_at=utcnow())
    assert store.workflows.get(alice, flow.id) == flow


def test_paging_is_stable_while_rows_are_inserted(store: SqlStore, alice: Scope) -> None:
    base = utcnow()
    store.executions.create_many(
        [_run(alice.user_id, "w", created_at=base - timedelta(seconds=i // 3)) for i in range(25)]
    )  # groups of equal created_at: the id breaks the ties
    seen: list[str] = []
    cursor = None
    while True:
        page = store.executions.list(alice, limit=4, cursor=cursor)
        seen.extend(item.id for item in page.items)
        store.executions.create(alice, workflow_id="w")  # newer than everything listed
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 25


# -- executions: summaries, batches, pruning -----------------------------------------------------


def test_list_returns_summaries_without_reading_the_large_columns(
    store: SqlStore, alice: Scope, engine: Engine
) -> None:
    timeline = [{"node": f"n{i}", "status": "completed"} for i in range(50)]
    run = _run(alice.user_id, "w", timeline=timeline, initial_state={"a": 1}, final_state={"b": 2})
    store.executions.create_many([run])
    seen = _statements(engine)
    (summary,) = store.executions.list(alice, workflow_id="w").items
    assert (summary.timeline, summary.initial_state, summary.final_state) == ([], {}, None)
    selects = [s for s, _ in seen if s.lstrip().upper().startswith("SELECT")]
    assert selects and all("timeline" not in s and "final_state" not in s for s in selects)
    full = store.executions.get(alice, run.id)
    assert full.timeline == timeline and full.final_state == {"b": 2}


def test_create_many_is_one_executemany_per_batch(
    store: SqlStore, alice: Scope, engine: Engine
) -> None:
    seen = _statements(engine)
    store.executions.create_many([_run(alice.user_id, "w") for _ in range(2500)])
    inserts = [many for s, many in seen if s.lstrip().upper().startswith("INSERT")]
    assert inserts and all(inserts) and len(inserts) <= 3
    assert store.executions.count(status="completed") == 2500


def test_prune_deletes_in_batches_and_never_active_runs(
    store: SqlStore, alice: Scope, engine: Engine
) -> None:
    old = utcnow() - timedelta(days=40)
    finished = [_run(alice.user_id, "w", created_at=old + timedelta(seconds=i)) for i in range(25)]
    active = [
        _run(alice.user_id, "w", status=status, created_at=old) for status in ("queued", "running")
    ]
    store.executions.create_many(finished + active)
    seen = _statements(engine)
    deleted = store.executions.prune(older_than=utcnow() - timedelta(days=30), batch_size=10)
    assert deleted == 25
    deletes = [s for s, _ in seen if s.lstrip().upper().startswith("DELETE")]
    assert len(deletes) == 3 and all("WITH" not in s.upper() for s in deletes)
    assert store.executions.count(status=("queued", "running")) == 2
    assert store.executions.count(status="completed") == 0


def test_prune_keeps_the_newest_finished_runs_per_workflow(store: SqlStore, alice: Scope) -> None:
    now = utcnow()
    runs = [_run(alice.user_id, "w1", created_at=now - timedelta(minutes=i)) for i in range(10)]
    runs += [_run(alice.user_id, "w2", created_at=now - timedelta(minutes=i)) for i in range(2)]
    runs.append(_run(alice.user_id, "w1", status="running", created_at=now - timedelta(hours=1)))
    store.executions.create_many(runs)
    assert store.executions.prune(keep_per_workflow=3, batch_size=2) == 7
    kept = {r.id for r in store.executions.list(alice, workflow_id="w1").items}
    assert kept == {runs[0].id, runs[1].id, runs[2].id, runs[-1].id}
    assert len(store.executions.list(alice, workflow_id="w2").items) == 2


def test_filters_use_the_summary_columns(store: SqlStore, alice: Scope) -> None:
    now = utcnow()
    store.executions.create_many(
        [
            _run(alice.user_id, "w1", trigger="cron", created_at=now - timedelta(hours=2)),
            _run(alice.user_id, "w1", status="failed", created_at=now - timedelta(hours=1)),
            _run(alice.user_id, "w2", created_at=now),
        ]
    )
    listed = store.executions.list
    assert len(listed(alice, workflow_id="w1").items) == 2
    assert len(listed(alice, status=["failed", "completed"]).items) == 3
    assert len(listed(alice, trigger="cron").items) == 1
    assert len(listed(alice, created_after=now - timedelta(minutes=90)).items) == 2
    assert len(listed(alice, created_before=now - timedelta(minutes=90)).items) == 1


# -- concurrency -------------------------------------------------------------------------------


def _together(*work: Any) -> list[Any]:
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work[index]()
        except Exception as error:  # noqa: BLE001 - handed back to the test, which asserts on it
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_threads_updating_one_execution_lose_no_column(store: SqlStore, alice: Scope) -> None:
    for _ in range(5):
        run = store.executions.create(alice, workflow_id="w")
        results = _together(
            lambda run=run: store.executions.update(alice, run.id, status="completed"),
            lambda run=run: store.executions.update(alice, run.id, node_runs=7, timeline=[{}]),
        )
        assert not [r for r in results if isinstance(r, Exception)], results
        final = store.executions.get(alice, run.id)
        assert (final.status, final.node_runs, final.timeline) == ("completed", 7, [{}])
        results = _together(
            lambda run=run: store.executions.update(alice, run.id, status="failed"),
            lambda run=run: store.executions.update(alice, run.id, status="cancelled"),
        )
        assert not [r for r in results if isinstance(r, Exception)], results
        assert store.executions.get(alice, run.id).status in ("failed", "cancelled")


def test_an_oauth_state_pops_once_under_concurrent_callers(store: SqlStore, alice: Scope) -> None:
    now = utcnow()
    for _ in range(5):
        state = OAuthState(
            state=new_id(),
            user_id=alice.user_id,
            provider="google",
            code_verifier="v",
            redirect_uri="https://example.org/cb",
            created_at=now,
            expires_at=now + timedelta(minutes=10),
        )
        store.integrations.save_oauth_state(state)
        results = _together(
            lambda s=state: store.integrations.pop_oauth_state(s.state, alice.user_id, now),
            lambda s=state: store.integrations.pop_oauth_state(s.state, alice.user_id, now),
        )
        assert sorted(r is None for r in results) == [False, True], results
        assert [r for r in results if r is not None] == [state]
    expired = OAuthState("old", alice.user_id, "google", "v", "u", now, now - timedelta(seconds=1))
    store.integrations.save_oauth_state(expired)
    assert store.integrations.pop_oauth_state("old", alice.user_id, now) is None


def test_from_url_builds_a_working_store(tmp_path: Path) -> None:
    pytest.importorskip("workscript_jupyter.store.connection")
    url = f"sqlite:///{tmp_path}/from-url.sqlite"
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    store = SqlStore.from_url(url)
    try:
        scope = Scope(store.users.create("carol").id)
        store.executions.create(scope)
        assert store.executions.count(status="queued") == 1
        with store.engine.connect() as connection:
            assert connection.execute(select(workflow_executions.c.id)).first() is not None
    finally:
        store.close()
