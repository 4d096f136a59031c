"""Runs: start, wait, list, cancel, rerun, delete; events on the bus; start/stop of the service."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.service.conftest import Recorder, document, waiting
from workscript_jupyter.errors import (
    BadRequestError,
    RecordNotFoundError,
    TooManyRunsError,
    UnprocessableError,
    WorkflowValidationError,
)
from workscript_jupyter.service import RunLimits, WorkscriptService
from workscript_jupyter.store.records import Scope

ADMIN = Scope("test", is_admin=True)


async def until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_a_run_of_a_definition_merges_state_and_keeps_a_snapshot(serve):
    definition = document(
        {"math": {"operation": "add", "values": ["$.a", "$.b"]}},
        id="adhoc",
        initialState={"a": 1, "b": 2, "keep": "x"},
    )

    async def body(service: WorkscriptService) -> Any:
        caller = await service.identities.caller_for("me")
        queued = await service.runs.start_run(
            caller, definition=definition, initial_state={"b": 40}
        )
        assert queued.status == "queued" and queued.claimed_by == "test-server"
        done = await service.runs.wait_for(caller, queued.id, 5)
        return caller, queued, done

    caller, queued, done = serve(body)
    assert queued.trigger == "api" and queued.workflow_id is None
    assert queued.initial_state == {"a": 1, "b": 40, "keep": "x"}  # the caller wins
    assert queued.trigger_data == {"definition": definition}
    assert done.status == "completed" and done.error is None
    assert done.final_state["mathResult"] == 41
    assert done.final_state["keep"] == "x"
    assert done.node_runs == 1 and len(done.timeline) == 1
    assert done.timeline[0]["type"] == "math"
    assert done.started_at and done.ended_at and done.duration_ms is not None
    assert done.owner_id == caller.user.id


def test_a_run_of_a_saved_workflow_and_its_events(serve, store):
    recorder = Recorder(store)

    async def body(service: WorkscriptService) -> Any:
        service.bus.subscribe(recorder)
        caller = await service.identities.caller_for("me")
        saved = await service.workflows.create_workflow(
            caller, document({"$.x": 1}, {"log": {"message": "hi"}}, id="doc")
        )
        run = await service.runs.start_run(
            caller, workflow_id=saved.id, trigger="notebook", trigger_data={"cell": 3}
        )
        return caller, saved, await service.runs.wait_for(caller, run.id, 5)

    caller, saved, done = serve(body)
    assert done.status == "completed" and done.workflow_id == saved.id
    assert done.trigger == "notebook" and done.trigger_data["cell"] == 3
    types = recorder.types(done.id)
    assert types == [
        "workflow:started",
        "node:started",
        "node:completed",
        "node:started",
        "node:completed",
        "workflow:completed",
    ]
    for event in recorder.of(done.id):
        assert event.workflow_id == saved.id  # the record's id, not the definition's "doc"
        assert event.payload["ownerId"] == caller.user.id
        assert event.to_message()["payload"]["executionId"] == done.id
    # the store was already running at workflow:started, and final at workflow:completed
    assert recorder.status_at_event == [
        ("workflow:started", "running"),
        ("workflow:completed", "completed"),
    ]
    final = recorder.of(done.id)[-1]
    assert final.payload["status"] == "completed" and "durationMs" in final.payload


def test_a_failing_run_is_recorded_before_workflow_failed(serve, store):
    recorder = Recorder(store)

    async def body(service: WorkscriptService) -> Any:
        service.bus.subscribe(recorder)
        caller = await service.identities.caller_for("me")
        definition = document({"end": {"status": "failed", "message": "no"}}, id="f")
        run = await service.runs.start_run(caller, definition=definition)
        return await service.runs.wait_for(caller, run.id, 5)

    done = serve(body)
    assert done.status == "failed" and done.error["code"] == "WORKFLOW_ENDED"
    assert recorder.types(done.id)[-1] == "workflow:failed"
    assert recorder.status_at_event[-1] == ("workflow:failed", "failed")
    assert recorder.of(done.id)[-1].payload["error"]["code"] == "WORKFLOW_ENDED"


def test_start_run_arguments(serve):
    async def body(service: WorkscriptService) -> None:
        caller = await service.identities.caller_for("me")
        saved = await service.workflows.create_workflow(caller, document("empty"))
        with pytest.raises(BadRequestError):
            await service.runs.start_run(caller)
        with pytest.raises(BadRequestError):
            await service.runs.start_run(caller, workflow_id=saved.id, definition=document("empty"))
        with pytest.raises(BadRequestError):
            await service.runs.start_run(caller, workflow_id=saved.id, initial_state=[1])  # type: ignore[arg-type]
        with pytest.raises(BadRequestError):
            await service.runs.start_run(caller, workflow_id=saved.id, trigger="x" * 21)
        with pytest.raises(BadRequestError):  # not JSON
            await service.runs.start_run(caller, workflow_id=saved.id, initial_state={"s": {1, 2}})
        with pytest.raises(WorkflowValidationError):
            await service.runs.start_run(caller, definition={"id": "x", "workflow": []})
        with pytest.raises(RecordNotFoundError):
            await service.runs.start_run(caller, workflow_id="0" * 32)
        assert (await service.runs.list_executions(caller)).items == ()

    serve(body)


def test_owner_scoping_of_runs(serve):
    async def body(service: WorkscriptService) -> None:
        alice = await service.identities.caller_for("alice")
        bob = await service.identities.caller_for("bob")
        root = await service.identities.caller_for("root")
        run = await service.runs.start_run(alice, definition=document("empty"))
        await service.runs.wait_for(alice, run.id, 5)
        for call in (
            service.runs.get_execution(bob, run.id),
            service.runs.wait_for(bob, run.id, 1),
            service.runs.cancel_execution(bob, run.id),
            service.runs.rerun_execution(bob, run.id),
            service.runs.delete_execution(bob, run.id),
        ):
            with pytest.raises(RecordNotFoundError):
                await call
        assert (await service.runs.list_executions(bob)).items == ()
        assert [r.id for r in (await service.runs.list_executions(alice)).items] == [run.id]
        assert (await service.runs.get_execution(root, run.id)).id == run.id
        assert len((await service.runs.list_executions(root)).items) == 1

    serve(body, single_user=False, admin_users={"root"})


def test_list_filters(serve):
    async def body(service: WorkscriptService) -> None:
        caller = await service.identities.caller_for("me")
        saved = await service.workflows.create_workflow(caller, document("empty"))
        a = await service.runs.start_run(caller, workflow_id=saved.id)
        b = await service.runs.start_run(caller, definition=document("empty"), trigger="cron")
        c = await service.runs.start_run(caller, definition=document({"end": {"status": "failed"}}))
        for run in (a, b, c):
            await service.runs.wait_for(caller, run.id, 5)

        async def ids(**filters: Any) -> set[str]:
            return {r.id for r in (await service.runs.list_executions(caller, **filters)).items}

        assert await ids(workflow_id=saved.id) == {a.id}
        assert await ids(trigger="cron") == {b.id}
        assert await ids(status="failed") == {c.id}
        assert await ids(status="completed,failed") == {a.id, b.id, c.id}
        assert await ids(status=["completed"]) == {a.id, b.id}
        page = await service.runs.list_executions(caller, limit=1)
        assert page.items[0].final_state is None and page.next_cursor  # summaries
        with pytest.raises(BadRequestError):
            await service.runs.list_executions(caller, status="done")
        with pytest.raises(BadRequestError):
            await service.runs.list_executions(caller, limit=0)
        with pytest.raises(BadRequestError):
            await service.runs.list_executions(caller, created_after="yesterday")  # type: ignore[arg-type]

    serve(body)


def test_cancel_queued_running_and_finished(serve, store):
    recorder = Recorder(store)

    async def body(service: WorkscriptService) -> None:
        service.bus.subscribe(recorder)
        caller = await service.identities.caller_for("me")
        running = await service.runs.start_run(caller, definition=waiting(30))
        queued = await service.runs.start_run(caller, definition=waiting(30))
        await until(lambda: service.pool.is_started(running.id))
        await until(lambda: recorder.types(running.id)[:1] == ["workflow:started"])
        assert (await service.runs.get_execution(caller, queued.id)).status == "queued"

        cancelled = await service.runs.cancel_execution(caller, queued.id)
        assert cancelled.status == "cancelled" and cancelled.error["code"] == "CANCELLED"
        assert recorder.types(queued.id) == ["workflow:cancelled"]

        started = time.monotonic()
        stopped = await service.runs.cancel_execution(caller, running.id)
        assert time.monotonic() - started < 2
        assert stopped.status == "cancelled" and stopped.ended_at is not None
        assert stopped.error["code"] == "CANCELLED"
        assert recorder.types(running.id)[-1] == "workflow:cancelled"
        assert recorder.status_at_event[-1] == ("workflow:cancelled", "cancelled")

        with pytest.raises(UnprocessableError) as caught:
            await service.runs.cancel_execution(caller, running.id)
        assert caught.value.details == {"status": "cancelled"}

    serve(body, limits=RunLimits(max_concurrent_runs=1))


def test_rerun(serve):
    async def body(service: WorkscriptService) -> None:
        caller = await service.identities.caller_for("me")
        definition = document({"$.out": "$.in"}, initialState={"in": 1, "other": 0})
        saved = await service.workflows.create_workflow(caller, definition)
        first = await service.runs.start_run(caller, workflow_id=saved.id, initial_state={"in": 5})
        await service.runs.wait_for(caller, first.id, 5)
        # editing the workflow afterwards does not change what the rerun runs
        await service.workflows.update_workflow(
            caller, saved.id, {"definition": document({"$.out": 0})}
        )
        again = await service.runs.rerun_execution(caller, first.id)
        assert again.id != first.id and again.trigger == "manual"
        assert again.trigger_data == {"rerunOf": first.id, "definition": definition}
        assert again.initial_state == {"in": 5, "other": 0}
        assert again.workflow_id == saved.id
        done = await service.runs.wait_for(caller, again.id, 5)
        assert done.status == "completed" and done.final_state["out"] == 5

        await service.workflows.delete_workflow(caller, saved.id)
        with pytest.raises(UnprocessableError):
            await service.runs.rerun_execution(caller, first.id)

        adhoc = await service.runs.start_run(caller, definition=document("empty"))
        await service.runs.wait_for(caller, adhoc.id, 5)
        rerun = await service.runs.rerun_execution(caller, adhoc.id)
        assert (await service.runs.wait_for(caller, rerun.id, 5)).status == "completed"

    serve(body)


def test_delete(serve):
    async def body(service: WorkscriptService) -> None:
        caller = await service.identities.caller_for("me")
        running = await service.runs.start_run(caller, definition=waiting(30))
        queued = await service.runs.start_run(caller, definition=waiting(0))
        await until(lambda: service.pool.is_started(running.id))
        with pytest.raises(UnprocessableError):
            await service.runs.delete_execution(caller, running.id)
        await service.runs.delete_execution(caller, queued.id)  # out of the queue, never runs
        with pytest.raises(RecordNotFoundError):
            await service.runs.get_execution(caller, queued.id)
        assert service.pool.job(queued.id) is None
        await service.runs.cancel_execution(caller, running.id)
        await service.runs.delete_execution(caller, running.id)
        assert (await service.runs.list_executions(caller)).items == ()

    serve(body, limits=RunLimits(max_concurrent_runs=1))


def test_too_many_runs(serve):
    async def body(service: WorkscriptService) -> None:
        alice = await service.identities.caller_for("alice")
        bob = await service.identities.caller_for("bob")
        first = await service.runs.start_run(alice, definition=waiting(30))
        await service.runs.start_run(alice, definition=waiting(30))
        with pytest.raises(TooManyRunsError) as caught:
            await service.runs.start_run(alice, definition=waiting(0))
        assert caught.value.retry_after >= 1 and caught.value.code == "TOO_MANY_RUNS"
        assert caught.value.details == {"active": 2, "limit": 2}
        other = await service.runs.start_run(bob, definition=waiting(0))  # bob is not limited
        assert (await service.runs.wait_for(bob, other.id, 5)).status == "completed"
        await service.runs.cancel_execution(alice, first.id)
        await service.runs.start_run(alice, definition=waiting(0))  # room again

    limits = RunLimits(max_concurrent_runs=4, max_queued_runs_per_user=2)
    serve(body, single_user=False, limits=limits)


def test_wait_for_returns_at_its_timeout(serve):
    async def body(service: WorkscriptService) -> None:
        caller = await service.identities.caller_for("me")
        run = await service.runs.start_run(caller, definition=waiting(30))
        started = time.monotonic()
        record = await service.runs.wait_for(caller, run.id, 0.2)
        assert 0.15 < time.monotonic() - started < 2
        assert record.status in ("queued", "running")
        assert (await service.runs.wait_for(caller, run.id, 0)).status in ("queued", "running")

    serve(body)


def test_start_marks_leftovers_interrupted(store, make_service):
    user = store.users.create("u")
    scope = Scope(user.id)

    def leftover(status: str, claimed_by: str | None) -> str:
        record = store.executions.create(scope, status=status, trigger_data={})
        store.executions.update(scope, record.id, claimed_by=claimed_by)
        return record.id

    mine_queued = leftover("queued", "test-server")
    mine_running = leftover("running", "test-server")
    other = leftover("running", "other-server")
    finished = leftover("completed", "test-server")

    async def main(single_user: bool) -> None:
        service = make_service(single_user=single_user)
        await service.start()
        await service.stop()

    asyncio.run(main(single_user=False))
    status = {i: store.executions.get(ADMIN, i) for i in (mine_queued, mine_running, other)}
    assert status[mine_queued].status == status[mine_running].status == "interrupted"
    # what happened to each: never started, or stopped while it ran (issue 13, item 13)
    assert status[mine_running].error["code"] == "INTERRUPTED"
    assert status[mine_running].error["message"] == "the server stopped during the run"
    assert status[mine_queued].error["code"] == "NOT_STARTED"
    assert status[mine_queued].error["message"] == "the server stopped before the run started"
    assert status[mine_running].ended_at is not None
    assert status[other].status == "running"  # another server's run is not ours to judge
    assert store.executions.get(ADMIN, finished).status == "completed"

    asyncio.run(main(single_user=True))  # a single-user server owns every run
    assert store.executions.get(ADMIN, other).status == "interrupted"


def test_stop_cancels_and_records_running_runs(store, make_service):
    recorder = Recorder(store)

    async def main() -> tuple[str, str]:
        service = make_service(limits=RunLimits(max_concurrent_runs=1))
        service.bus.subscribe(recorder)
        await service.start()
        caller = await service.identities.caller_for("me")
        running = await service.runs.start_run(caller, definition=waiting(30))
        queued = await service.runs.start_run(caller, definition=waiting(30))
        await until(lambda: recorder.types(running.id)[:1] == ["workflow:started"])
        started = time.monotonic()
        await service.stop()
        assert time.monotonic() - started < 2
        current = asyncio.current_task()
        assert [t for t in asyncio.all_tasks() if t is not current] == []
        assert not service.pool.accepting
        waited = await service.runs.wait_for(caller, queued.id, 5)  # already final: no waiting
        assert waited.status == "cancelled"
        return running.id, queued.id

    running_id, queued_id = asyncio.run(main())
    running = store.executions.get(ADMIN, running_id)
    assert running.status == "cancelled" and running.ended_at is not None
    assert isinstance(running.final_state, dict) and running.error["code"] == "CANCELLED"
    assert store.executions.get(ADMIN, queued_id).status == "cancelled"
    assert recorder.types(running_id)[-1] == "workflow:cancelled"
    assert ("workflow:cancelled", "cancelled") in recorder.status_at_event


def test_on_sqlite(tmp_path, registry):
    """The same service on SqlStore (SQLite file, schema by the migrations)."""
    from workscript_jupyter.store.migrate import upgrade
    from workscript_jupyter.store.sql import SqlStore

    url = f"sqlite:///{tmp_path / 'service.sqlite'}"
    upgrade(url)
    store = SqlStore.from_url(url)
    recorder = Recorder(store)

    async def main() -> None:
        service = WorkscriptService(store, registry, server_id="sql-server", single_user=False)
        service.bus.subscribe(recorder)
        await service.start()
        try:
            alice = await service.identities.caller_for("alice")
            bob = await service.identities.caller_for("bob")
            saved = await service.workflows.create_workflow(
                alice, document({"$.x": "$.y"}, initialState={"y": 1})
            )
            run = await service.runs.start_run(alice, workflow_id=saved.id, initial_state={"y": 2})
            done = await service.runs.wait_for(alice, run.id, 10)
            assert done.status == "completed" and done.final_state["x"] == 2
            assert done.claimed_by == "sql-server" and done.timeline
            with pytest.raises(RecordNotFoundError):
                await service.runs.get_execution(bob, run.id)
            slow = await service.runs.start_run(alice, definition=waiting(30))
            await until(lambda: recorder.types(slow.id)[:1] == ["workflow:started"], 10)
            cancelled = await service.runs.cancel_execution(alice, slow.id)
            assert cancelled.status == "cancelled"
            rerun = await service.runs.rerun_execution(alice, run.id)
            assert (await service.runs.wait_for(alice, rerun.id, 10)).final_state["x"] == 2
            page = await service.runs.list_executions(alice, status="completed")
            assert {r.id for r in page.items} == {run.id, rerun.id}
        finally:
            await service.stop()

    try:
        asyncio.run(main())
    finally:
        store.close()
    assert recorder.status_at_event[:2] == [
        ("workflow:started", "running"),
        ("workflow:completed", "completed"),
    ]


def test_concurrent_starts_never_overshoot_the_queue_limit(serve):
    async def body(service: WorkscriptService) -> list[Any]:
        caller = await service.identities.caller_for("me")
        starts = [service.runs.start_run(caller, definition=waiting(30)) for _ in range(6)]
        return await asyncio.gather(*starts, return_exceptions=True)

    results = serve(body, limits=RunLimits(max_queued_runs_per_user=3))
    refused = [r for r in results if isinstance(r, TooManyRunsError)]
    assert len(refused) == 3 and len(results) - len(refused) == 3
