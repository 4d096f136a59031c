"""RunHandle: start with or without a loop, await, result(), status, state, timeline, cancel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from workscript_jupyter.engine import Event, RunResult
from workscript_jupyter.kernel import RunHandle

from .conftest import BROKEN, COUNT_TO_TEN, waiting

TIMELINE_KEYS = {"path", "type", "edge", "startedAt", "durationMs", "error"}


@pytest.fixture
def handle_for(make_workflow: Any, registry: Any):
    def _handle(doc: dict[str, Any], **options: Any) -> RunHandle:
        return RunHandle(make_workflow(doc), registry, **options)

    return _handle


def test_start_without_a_running_loop_runs_to_the_end(handle_for: Any) -> None:
    handle = handle_for(COUNT_TO_TEN)
    assert handle.start() is handle
    assert handle.done()
    assert handle.status == "completed"
    result = handle.result()
    assert isinstance(result, RunResult)
    assert result.node_runs == 32
    assert handle.state["total"] == 55
    assert handle.state == {k: v for k, v in result.final_state.items() if k[0] != "_"}


def test_pending_before_start(handle_for: Any) -> None:
    handle = handle_for(COUNT_TO_TEN)
    assert handle.status == "pending"
    assert not handle.done()
    assert handle.state == {"total": 0}, "the initial state is there before the run"
    assert handle.timeline == []
    with pytest.raises(RuntimeError, match="'count-to-ten' is still pending; `await` the handle"):
        handle.result()
    with pytest.raises(RuntimeError, match="this run was never started"):
        asyncio.run(handle._wait())


def test_await_the_handle(handle_for: Any) -> None:
    async def scenario() -> tuple[RunHandle, RunResult, RunResult]:
        handle = handle_for(waiting(0.05)).start()
        first = await handle
        second = await handle  # awaiting an ended run gives the same result
        return handle, first, second

    handle, first, second = asyncio.run(scenario())
    assert first is second is handle.result()
    assert first.status == "completed"
    assert first.final_state["b"] == 2


def test_while_running_status_state_timeline_and_result(handle_for: Any) -> None:
    async def scenario() -> dict[str, Any]:
        handle = handle_for(waiting(0.3)).start()
        seen: dict[str, Any] = {"start": handle.status}
        await asyncio.sleep(0.1)
        seen["status"] = handle.status
        seen["state"] = dict(handle.state)
        seen["timeline"] = handle.timeline
        seen["repr"] = repr(handle)
        seen["html"] = handle._repr_html_()
        try:
            handle.result()
        except RuntimeError as exc:
            seen["error"] = str(exc)
        await handle
        seen["final"] = handle.status
        seen["final_timeline"] = handle.timeline
        return seen

    seen = asyncio.run(scenario())
    assert seen["start"] == "running"
    assert seen["status"] == "running"
    assert seen["state"]["a"] == 1 and "b" not in seen["state"], "the state is live"
    assert [e["path"] for e in seen["timeline"]] == ["/workflow/0/$.a"]
    assert seen["repr"] == "<RunHandle 'waiting' running, 2 node runs>"
    assert "⋯ running" in seen["html"]
    assert seen["error"] == (
        "the run of 'waiting' is still running; "
        "`await` the handle, or call result() once it has ended"
    )
    assert seen["final"] == "completed"
    assert [e["path"] for e in seen["final_timeline"]] == [
        "/workflow/0/$.a",
        "/workflow/1/wait",
        "/workflow/2/$.b",
    ]


def test_timeline_entries(handle_for: Any) -> None:
    handle = handle_for(COUNT_TO_TEN).start()
    timeline = handle.timeline
    assert len(timeline) == 32
    assert all(set(entry) == TIMELINE_KEYS for entry in timeline)
    first, last = timeline[0], timeline[-1]
    assert first["path"] == "/workflow/0/range..."
    assert first["type"] == "range"
    assert first["edge"] == "current_step"
    assert first["error"] is None
    assert first["startedAt"].endswith("Z")
    assert last["path"] == "/workflow/1/log"
    assert sum(1 for e in timeline if e["path"] == "/workflow/0/range...") == 11


def test_cancel_keeps_the_state(handle_for: Any) -> None:
    async def scenario() -> tuple[RunHandle, bool, bool, RunResult]:
        handle = handle_for(waiting(5.0)).start()
        await asyncio.sleep(0.05)
        cancelled = handle.cancel()
        again = handle.cancel()
        result = await handle
        return handle, cancelled, again, result

    handle, cancelled, again, result = asyncio.run(scenario())
    assert cancelled is True
    assert again is False, "a second cancel has nothing to stop"
    assert handle.status == "cancelled"
    assert result.status == "cancelled"
    assert result.duration_ms < 2000, "the wait was interrupted"
    assert result.error is not None
    assert (result.error.code, result.error.node_path) == ("CANCELLED", "/workflow/1/wait")
    assert handle.state["a"] == 1
    assert "b" not in handle.state
    assert handle.cancel() is False, "an ended run cannot be cancelled"


def test_cancel_right_after_start(handle_for: Any) -> None:
    # status is already "running", so cancel() must stop the run before its first node
    async def scenario() -> tuple[str, bool, RunResult]:
        handle = handle_for(waiting(0.3)).start()
        status = handle.status
        cancelled = handle.cancel()
        return status, cancelled, await handle

    status, cancelled, result = asyncio.run(scenario())
    assert status == "running"
    assert cancelled is True
    assert result.status == "cancelled"
    assert "b" not in result.final_state


def test_cancel_before_start_ends_the_run_as_soon_as_it_starts(handle_for: Any) -> None:
    handle = handle_for(waiting(5))
    assert handle.cancel() is True
    assert handle.status == "pending"
    assert handle.cancel() is False  # already asked
    handle.start()  # no running loop: runs to the end at once
    assert handle.status == "cancelled"
    assert handle.result().node_runs == 0


def test_failed_run_result(handle_for: Any) -> None:
    async def scenario() -> tuple[RunHandle, RunResult]:
        handle = handle_for(BROKEN).start()
        return handle, await handle  # a failed run does not raise

    handle, result = asyncio.run(scenario())
    assert handle.status == "failed"
    assert handle.result() is result
    assert result.error is not None
    assert result.error.code == "NODE_EXECUTION_ERROR"
    assert result.error.node_path == "/workflow/1/transform"
    assert result.error.node_type == "transform"
    assert "Expecting property name" in result.error.message
    assert handle.state["before"] == "reached"
    assert "after" not in handle.state
    assert handle.timeline[-1]["error"] == result.error.message
    assert repr(handle) == "<RunHandle 'broken' failed, 2 node runs>"
    html = handle._repr_html_()
    assert "✗ failed" in html
    assert "NODE_EXECUTION_ERROR at <code>/workflow/1/transform</code>" in html


def test_wait_in_cell(handle_for: Any) -> None:
    async def scenario() -> tuple[Any, Any, RunHandle]:
        handle = handle_for(waiting(0.02)).start()
        hidden = await handle.wait_in_cell(show=False)
        shown = await handle.wait_in_cell(show=True)
        return hidden, shown, handle

    hidden, shown, handle = asyncio.run(scenario())
    assert hidden is None
    assert shown is handle
    assert handle.status == "completed"


def test_events_and_on_end(handle_for: Any) -> None:
    events: list[Event] = []
    ended: list[str] = []
    handle = handle_for(
        waiting(0.0), on_event=events.append, on_end=lambda h: ended.append(h.status)
    )
    handle.start()
    kinds = [e.type for e in events]
    assert kinds[0] == "workflow:started"
    assert kinds[-1] == "workflow:completed"
    assert kinds.count("node:started") == kinds.count("node:completed") == 3
    assert ended == ["completed"]


def test_initial_state_is_copied(handle_for: Any) -> None:
    given = {"a": 0, "nested": {"k": [1]}}
    handle = handle_for(
        {"id": "c", "name": "C", "version": "1.0.0", "workflow": [{"$.nested.k": [2]}]},
        initial_state=given,
    )
    handle.start()
    assert handle.state["nested"] == {"k": [2]}
    assert given == {"a": 0, "nested": {"k": [1]}}
