"""Executions: CRUD, summaries, filters, counts, JSON and time round-trips, concurrent updates."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from workscript_jupyter.errors import ConflictError, RecordNotFoundError
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.records import ExecutionRecord, Scope, new_id

from .conftest import walk

T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def record(owner: Scope, minutes: float, **fields: object) -> ExecutionRecord:
    """A finished run created ``minutes`` after T0."""
    values: dict[str, object] = {"status": "completed", "trigger": "manual"}
    values.update(fields)
    return ExecutionRecord(
        id=new_id(),
        owner_id=owner.user_id,
        created_at=T0 + timedelta(minutes=minutes),
        **values,  # type: ignore[arg-type]
    )


def test_create_defaults_and_get(store: Store, alice: Scope) -> None:
    created = store.executions.create(alice, workflow_id="wf1", initial_state={"x": 1})
    assert len(created.id) == 32
    assert created.owner_id == alice.user_id
    assert (created.status, created.trigger, created.attempt, created.node_runs) == (
        "queued",
        "manual",
        1,
        0,
    )
    assert created.initial_state == {"x": 1}
    assert created.trigger_data == {}
    assert created.timeline == []
    assert created.final_state is None and created.error is None
    assert created.started_at is None and created.ended_at is None
    assert created.created_at.utcoffset() == timedelta(0)
    assert store.executions.get(alice, created.id) == created


def test_create_every_field(store: Store, alice: Scope) -> None:
    wanted = new_id()
    created = store.executions.create(
        alice,
        status="running",
        trigger="webhook",
        workflow_id="wf",
        automation_id="auto",
        initial_state={"in": [1, 2]},
        trigger_data={"headers": {"x-a": "b"}},
        id=wanted,
    )
    got = store.executions.get(alice, wanted)
    assert got == created
    assert (got.status, got.trigger, got.workflow_id, got.automation_id) == (
        "running",
        "webhook",
        "wf",
        "auto",
    )
    assert got.trigger_data == {"headers": {"x-a": "b"}}
    with pytest.raises(ConflictError):
        store.executions.create(alice, id=wanted)
    assert store.executions.get(alice, wanted) == created


def test_update_through_a_run(store: Store, alice: Scope) -> None:
    run = store.executions.create(alice, workflow_id="wf")
    started = datetime(2024, 5, 6, 7, 8, 9, 101112, tzinfo=UTC)
    store.executions.update(
        alice, run.id, status="running", started_at=started, claimed_by="server-1"
    )
    timeline = [{"node": f"n{i}", "status": "completed", "ms": i * 1.5} for i in range(5)]
    done = store.executions.update(
        alice,
        run.id,
        status="failed",
        final_state={"out": {"ok": False}},
        error={"message": "boom", "node_path": "workflow[2]"},
        timeline=timeline,
        node_runs=5,
        attempt=2,
        ended_at=started + timedelta(seconds=1, microseconds=7),
        duration_ms=1000.007,
        trigger_data={"retry": True},
    )
    got = store.executions.get(alice, run.id)
    assert got == done
    assert got.status == "failed" and got.claimed_by == "server-1"
    assert got.started_at == started
    assert got.ended_at == started + timedelta(seconds=1, microseconds=7)
    assert got.timeline == timeline
    assert got.error == {"message": "boom", "node_path": "workflow[2]"}
    assert got.final_state == {"out": {"ok": False}}
    assert (got.node_runs, got.attempt) == (5, 2)
    assert got.duration_ms == pytest.approx(1000.007, rel=1e-3)  # exactness: the test below
    assert got.created_at == run.created_at and got.workflow_id == "wf"


@pytest.mark.parametrize("field", ["owner_id", "workflow_id", "created_at", "initial_state", "x"])
def test_update_refuses_other_fields_and_writes_nothing(
    store: Store, alice: Scope, field: str
) -> None:
    run = store.executions.create(alice)
    with pytest.raises(ValueError, match=field):
        store.executions.update(alice, run.id, status="running", **{field: "x"})
    assert store.executions.get(alice, run.id) == run


def test_delete(store: Store, alice: Scope) -> None:
    run = store.executions.create(alice)
    store.executions.delete(alice, run.id)
    with pytest.raises(RecordNotFoundError):
        store.executions.get(alice, run.id)
    with pytest.raises(RecordNotFoundError):
        store.executions.delete(alice, run.id)
    with pytest.raises(RecordNotFoundError):
        store.executions.update(alice, run.id, status="running")


def test_owner_scoping(store: Store, alice: Scope, bob: Scope, admin: Scope) -> None:
    mine = store.executions.create(alice, workflow_id="shared")
    theirs = store.executions.create(bob, workflow_id="shared")
    for call in (
        lambda: store.executions.get(bob, mine.id),
        lambda: store.executions.update(bob, mine.id, status="cancelled"),
        lambda: store.executions.delete(bob, mine.id),
    ):
        with pytest.raises(RecordNotFoundError):
            call()
    assert store.executions.get(alice, mine.id).status == "queued"
    assert [r.id for r in store.executions.list(alice, workflow_id="shared").items] == [mine.id]
    assert [r.id for r in store.executions.list(bob).items] == [theirs.id]
    assert {r.id for r in store.executions.list(admin).items} == {mine.id, theirs.id}
    assert store.executions.update(admin, mine.id, status="cancelled").owner_id == alice.user_id
    store.executions.delete(admin, theirs.id)
    assert store.executions.list(bob).items == ()


def test_list_returns_summaries(store: Store, alice: Scope) -> None:
    run = store.executions.create(alice, workflow_id="wf", initial_state={"big": "x" * 1000})
    store.executions.update(
        alice,
        run.id,
        status="completed",
        final_state={"result": [1, 2, 3]},
        timeline=[{"node": "a"}],
        node_runs=1,
        error={"message": "kept"},
    )
    (summary,) = store.executions.list(alice).items
    assert summary.id == run.id
    assert summary.timeline == [] and summary.initial_state == {}
    assert not summary.final_state
    assert (summary.status, summary.workflow_id, summary.node_runs) == ("completed", "wf", 1)
    full = store.executions.get(alice, run.id)
    assert full.timeline == [{"node": "a"}] and full.final_state == {"result": [1, 2, 3]}


def test_filters(store: Store, alice: Scope, bob: Scope) -> None:
    rows = {
        "a": record(alice, 0, workflow_id="w1", status="completed", trigger="manual"),
        "b": record(alice, 10, workflow_id="w1", status="failed", trigger="cron"),
        "c": record(alice, 20, workflow_id="w2", status="running", trigger="cron"),
        "d": record(alice, 30, automation_id="au", status="queued", trigger="webhook"),
        "e": record(alice, 40, workflow_id="w2", automation_id="au", status="completed"),
        "f": record(bob, 50, workflow_id="w1", status="completed"),  # never alice's
    }
    store.executions.create_many(list(rows.values()))
    name = {r.id: key for key, r in rows.items()}

    def found(**filters: object) -> list[str]:
        return [name[r.id] for r in walk(store.executions.list, limit=2, scope=alice, **filters)]

    assert found() == ["e", "d", "c", "b", "a"]
    assert found(workflow_id="w1") == ["b", "a"]
    assert found(automation_id="au") == ["e", "d"]
    assert found(status="completed") == ["e", "a"]
    assert found(status=["running", "queued"]) == ["d", "c"]
    assert found(status=("failed",)) == ["b"]
    assert found(trigger="cron") == ["c", "b"]
    assert found(created_after=T0 + timedelta(minutes=5)) == ["e", "d", "c", "b"]
    assert found(created_before=T0 + timedelta(minutes=25)) == ["c", "b", "a"]
    assert found(
        created_after=T0 + timedelta(minutes=5), created_before=T0 + timedelta(minutes=35)
    ) == ["d", "c", "b"]
    assert found(workflow_id="w2", status="completed", trigger="manual") == ["e"]
    assert found(workflow_id="nope") == []


def test_count(store: Store, alice: Scope, bob: Scope) -> None:
    store.executions.create(alice, status="running")
    store.executions.create(alice, status="queued")
    store.executions.create(bob, status="running")
    store.executions.create(bob, status="completed")
    assert store.executions.count(status="running") == 2
    assert store.executions.count(status=["running", "queued"]) == 3
    assert store.executions.count(status="running", owner_id=alice.user_id) == 1
    assert store.executions.count(status=("queued",), owner_id=bob.user_id) == 0


def test_create_many_keeps_records_as_given(store: Store, alice: Scope, bob: Scope) -> None:
    timeline = [{"node": f"n{i}", "output": {"i": i}} for i in range(50)]
    rows = [
        record(alice, 1, workflow_id="w", timeline=timeline, final_state={"n": 1}, node_runs=50),
        record(bob, 2, status="failed", error={"message": "no"}, attempt=3, claimed_by="w-2"),
    ]
    store.executions.create_many(rows)
    assert store.executions.get(alice, rows[0].id) == rows[0]
    assert store.executions.get(bob, rows[1].id) == rows[1]


def test_create_many_with_a_taken_id_inserts_nothing(store: Store, alice: Scope) -> None:
    existing = store.executions.create(alice)
    fresh = record(alice, 1)
    clash = ExecutionRecord(id=existing.id, owner_id=alice.user_id, status="completed")
    with pytest.raises(ConflictError):
        store.executions.create_many([fresh, clash])
    with pytest.raises(RecordNotFoundError):
        store.executions.get(alice, fresh.id)
    assert store.executions.get(alice, existing.id) == existing


def test_json_fields_round_trip(store: Store, alice: Scope) -> None:
    nested = {
        "unicode": "naïve café — 日本語 — emoji 🚀👩‍💻 — nul-free",
        "numbers": [0, -1, 2**53, 3.14159, 1e-12, 1.5e300],
        "flags": [True, False, None],
        "deep": {"a": {"b": {"c": {"d": [[[], {}], [{"e": "f"}]]}}}},
        "empty": {"list": [], "dict": {}, "string": ""},
        "quotes": 'it\'s "quoted" \\ backslashed\nnewline\ttab',
    }
    big = {"rows": [{"i": i, "text": "x" * 90, "ü": "ü"} for i in range(10_000)]}
    assert len(str(big)) > 1_000_000
    run = store.executions.create(
        alice, initial_state=nested, trigger_data={"payload": nested["deep"]}
    )
    store.executions.update(alice, run.id, final_state=big, error={"details": nested})
    got = store.executions.get(alice, run.id)
    assert got.initial_state == nested
    assert got.trigger_data == {"payload": nested["deep"]}
    assert got.final_state == big
    assert got.error == {"details": nested}


def test_times_round_trip_aware_with_microseconds(store: Store, alice: Scope) -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    started = datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=india)
    ended = datetime(2025, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    run = store.executions.create(alice)
    store.executions.update(alice, run.id, started_at=started, ended_at=ended)
    got = store.executions.get(alice, run.id)
    assert got.started_at == started  # the same instant ...
    assert got.started_at is not None and got.started_at.utcoffset() == timedelta(0)  # in UTC
    assert got.started_at.microsecond == 999999
    assert got.ended_at == ended and got.ended_at is not None and got.ended_at.microsecond == 1
    assert got.created_at == run.created_at


def test_float_fields_keep_double_precision(store: Store, alice: Scope) -> None:
    """Durations, costs and delays are doubles: a 4-byte FLOAT column would round them."""
    run = store.executions.create(alice)
    store.executions.update(alice, run.id, duration_ms=123456.789012)
    assert store.executions.get(alice, run.id).duration_ms == pytest.approx(
        123456.789012, rel=1e-12
    )
    usage = store.ai.add_usage(
        alice, model="m", prompt_tokens=1, completion_tokens=1, cost=1234.56789012
    )
    (listed,) = store.ai.list_usage(alice).items
    assert listed.id == usage.id and listed.cost == pytest.approx(1234.56789012, rel=1e-12)
    auto = store.automations.create(
        alice,
        name="a",
        trigger_type="manual",
        retry_delay_seconds=0.123456789,
        retry_backoff=1.000001,
        timeout_seconds=86400.000001,
    )
    got = store.automations.get(alice, auto.id)
    assert got.retry_delay_seconds == pytest.approx(0.123456789, rel=1e-12)
    assert got.retry_backoff == pytest.approx(1.000001, rel=1e-12)
    assert got.timeout_seconds == pytest.approx(86400.000001, rel=1e-12)


def test_naive_times_are_refused(store: Store, alice: Scope) -> None:
    run = store.executions.create(alice)
    with pytest.raises(ValueError):
        store.executions.update(alice, run.id, started_at=datetime(2024, 1, 1, 12, 0))
    assert store.executions.get(alice, run.id).started_at is None


def test_callers_cannot_mutate_stored_state(store: Store, alice: Scope) -> None:
    state = {"items": [1, 2]}
    run = store.executions.create(alice, initial_state=state)
    state["items"].append(3)
    run.initial_state["items"].append(4)
    timeline = [{"node": "a"}]
    store.executions.update(alice, run.id, timeline=timeline)
    timeline.append({"node": "b"})
    got = store.executions.get(alice, run.id)
    got.timeline.clear()
    again = store.executions.get(alice, run.id)
    assert again.initial_state == {"items": [1, 2]}
    assert again.timeline == [{"node": "a"}]


def test_two_threads_update_different_fields(store: Store, alice: Scope) -> None:
    run = store.executions.create(alice, status="running")
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def progress() -> None:
        try:
            barrier.wait()
            for i in range(1, 51):
                store.executions.update(alice, run.id, node_runs=i, timeline=[{"step": i}])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    def heartbeat() -> None:
        try:
            barrier.wait()
            for i in range(1, 51):
                store.executions.update(alice, run.id, claimed_by=f"worker-{i}", attempt=i)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=progress), threading.Thread(target=heartbeat)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    got = store.executions.get(alice, run.id)
    assert (got.node_runs, got.timeline) == (50, [{"step": 50}])
    assert (got.claimed_by, got.attempt) == ("worker-50", 50)
    assert got.status == "running" and got.created_at == run.created_at


def test_a_run_starts_once(store: Store, alice: Scope) -> None:
    queued = store.executions.create(alice, status="queued")
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert store.executions.start(queued.id, "worker-1", at) is True
    assert store.executions.start(queued.id, "worker-2", at) is False  # already running
    started = store.executions.get(alice, queued.id)
    assert (started.status, started.claimed_by, started.started_at) == ("running", "worker-1", at)
    assert store.executions.start(new_id(), "worker-1", at) is False  # no such run


def test_claim_queued_hands_each_run_to_one_worker(store: Store, alice: Scope) -> None:
    ids = [store.executions.create(alice, status="queued").id for _ in range(30)]
    store.executions.create(alice, status="running")
    mine = store.executions.create(alice, status="queued")
    store.executions.update(alice, mine.id, claimed_by="a-server")  # claimed already
    barrier = threading.Barrier(3)
    claimed: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        barrier.wait()
        got: list[str] = []
        try:
            while batch := store.executions.claim_queued(name, limit=4):
                assert all(r.claimed_by == name and r.status == "queued" for r in batch)
                got += [r.id for r in batch]
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        claimed[name] = got

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    everything = [i for got in claimed.values() for i in got]
    assert sorted(everything) == sorted(ids), "each queued run claimed exactly once"
    assert store.executions.get(alice, mine.id).claimed_by == "a-server"
    with pytest.raises(ValueError):
        store.executions.claim_queued("w", limit=0)


def test_start_many_starts_the_queued_ones_only(store: Store, alice: Scope) -> None:
    queued = [store.executions.create(alice, status="queued").id for _ in range(3)]
    running = store.executions.create(alice, status="running").id
    at = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert store.executions.start_many([*queued, running, new_id()], "w", at) == set(queued)
    assert store.executions.start_many(queued, "other", at) == set()
    assert store.executions.start_many([], "w", at) == set()
    for execution_id in queued:
        run = store.executions.get(alice, execution_id)
        assert (run.status, run.claimed_by, run.started_at) == ("running", "w", at)
    assert store.executions.get(alice, running).claimed_by is None


def test_finish_many_writes_each_final_record(store: Store, alice: Scope) -> None:
    ids = [store.executions.create(alice, status="running").id for _ in range(3)]
    ended = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    results = [
        (
            execution_id,
            {
                "status": "completed" if i else "failed",
                "final_state": {"i": i, "rows": [{"n": n} for n in range(i)]},
                "error": None if i else {"message": "boom", "code": "X"},
                "timeline": [{"path": "/workflow/0", "i": i}],
                "node_runs": i + 1,
                "ended_at": ended,
                "duration_ms": 1.5 * i,
            },
        )
        for i, execution_id in enumerate(ids)
    ]
    store.executions.finish_many([*results, (new_id(), results[0][1])])  # a gone run: skipped
    for i, execution_id in enumerate(ids):
        run = store.executions.get(alice, execution_id)
        assert run.status == ("completed" if i else "failed")
        assert run.final_state == {"i": i, "rows": [{"n": n} for n in range(i)]}
        assert run.timeline == [{"path": "/workflow/0", "i": i}]
        assert (run.node_runs, run.ended_at, run.duration_ms) == (i + 1, ended, 1.5 * i)
    assert store.executions.get(alice, ids[0]).error == {"message": "boom", "code": "X"}
    with pytest.raises(ValueError):
        store.executions.finish_many([(ids[0], {"owner_id": "x"})])


WARNING = {
    "code": "UNHANDLED_ERROR_EDGE",
    "message": "boom",
    "nodePath": "/workflow/0",
    "nodeType": "fetchApi",
}


def test_warnings_round_trip_and_filter(store: Store, alice: Scope, bob: Scope) -> None:
    plain = store.executions.create(alice)
    assert plain.warnings == [] and not plain.has_warnings
    assert store.executions.get(alice, plain.id).warnings == []
    warned = store.executions.create(alice, status="running")
    store.executions.update(alice, warned.id, status="completed", warnings=[WARNING])
    batched = store.executions.create(alice, status="running")
    cleared = store.executions.create(alice, status="running")
    store.executions.finish_many(
        [
            (batched.id, {"status": "completed", "warnings": [WARNING, WARNING]}),
            (cleared.id, {"status": "completed", "warnings": []}),
        ]
    )
    given = record(alice, 0, warnings=[WARNING])  # inserted as given (imports, retries)
    other = record(bob, 1, warnings=[WARNING])  # never alice's
    store.executions.create_many([given, other])

    got = store.executions.get(alice, warned.id)
    assert got.warnings == [WARNING] and got.has_warnings
    assert store.executions.get(alice, batched.id).warnings == [WARNING, WARNING]
    assert store.executions.get(alice, cleared.id).warnings == []
    assert store.executions.get(alice, given.id).has_warnings

    def ids(**filters: object) -> set[str]:
        return {r.id for r in walk(store.executions.list, limit=2, scope=alice, **filters)}

    assert ids(has_warnings=True) == {warned.id, batched.id, given.id}
    assert ids(has_warnings=False) == {plain.id, cleared.id}
    assert len(ids()) == 5
    summaries = {r.id: r for r in walk(store.executions.list, limit=50, scope=alice)}
    assert summaries[warned.id].warnings == [WARNING]  # lists show them (small)
    # clearing the warnings clears the flag
    store.executions.update(alice, warned.id, warnings=None)
    assert ids(has_warnings=True) == {batched.id, given.id}


def test_reclaim_is_a_compare_and_set(store: Store, alice: Scope) -> None:
    run = store.executions.create(alice)
    store.executions.update(alice, run.id, claimed_by="dead")
    assert not store.executions.reclaim(run.id, expected="other", claimed_by="me")
    assert store.executions.reclaim(run.id, expected="dead", claimed_by="me")
    assert not store.executions.reclaim(run.id, expected="dead", claimed_by="you")  # taken
    assert store.executions.get(alice, run.id).claimed_by == "me"
    assert store.executions.reclaim(run.id, expected="me", claimed_by=None)  # back to the queue
    assert store.executions.reclaim(run.id, expected=None, claimed_by="w")
    store.executions.update(alice, run.id, status="running")
    assert not store.executions.reclaim(run.id, expected="w", claimed_by="me")  # started
    assert not store.executions.reclaim(new_id(), expected=None, claimed_by="me")  # gone
