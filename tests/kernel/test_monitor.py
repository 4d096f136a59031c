"""RunMonitor: the widget's model after a run, read from Python, and the throttle."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from workscript_jupyter.kernel import RunHandle
from workscript_jupyter.kernel.monitor import RunMonitor

from .conftest import BROKEN, COUNT_TO_TEN, document, waiting


def rows_of(monitor: RunMonitor) -> dict[str, int]:
    return {path: row.runs for path, row in monitor.rows.items()}


@pytest.fixture
def watched(make_workflow: Any, registry: Any):
    """``watched(doc, **monitor_options)`` → (monitor, handle) wired as %%workflow wires them."""

    def _watched(doc: dict[str, Any], **options: Any) -> tuple[RunMonitor, RunHandle]:
        workflow = make_workflow(doc)
        monitor = RunMonitor(workflow, **options)
        handle = RunHandle(
            workflow,
            registry,
            on_event=monitor.on_event,
            on_end=lambda h: monitor.finish_with(h.result()),
        )
        monitor.attach(handle.state)
        return monitor, handle

    return _watched


def test_a_new_monitor_is_pending(make_workflow: Any) -> None:
    monitor = RunMonitor(make_workflow(COUNT_TO_TEN))
    assert monitor.status == "pending"
    assert monitor.updates == 1, "the first picture is pushed at once"
    assert "○ pending" in monitor.header.value
    assert "<b>Count to ten</b> <code>count-to-ten</code>" in monitor.header.value
    assert (monitor.progress.min, monitor.progress.max, monitor.progress.value) == (0, 2, 0)
    assert "0 node runs" in monitor.counter.value
    assert "no node has run yet" in monitor.table.value
    assert monitor.graph.value.startswith("<svg")
    assert monitor.error_box.value == ""
    assert monitor.state_view.value == "", "the closed State panel is not rendered"


def test_after_a_completed_run(watched: Any) -> None:
    monitor, handle = watched(COUNT_TO_TEN)
    handle.start()
    assert monitor.status == "completed"
    assert "✓ completed" in monitor.header.value
    assert re.search(
        r"<span class='workscript-elapsed'>(\d+ ms|\d+\.\d s)</span>", monitor.header.value
    )
    assert monitor.progress.value == monitor.progress.max == 2
    assert monitor.node_runs == 32
    assert "32 node runs" in monitor.counter.value
    assert rows_of(monitor) == {
        "/workflow/0/range...": 11,
        "/workflow/0/range.../current_step?/0/math": 10,
        "/workflow/0/range.../current_step?/1/$.total": 10,
        "/workflow/1/log": 1,
    }
    range_row = monitor.rows["/workflow/0/range..."]
    assert (range_row.type, range_row.last_edge, range_row.failed) == ("range", "complete", 0)
    assert monitor.table.value.count("</td></tr>") == 4  # one line per node path
    assert "✗" not in monitor.table.value and "⋯" not in monitor.table.value
    assert monitor.error_box.value == ""
    assert monitor.error is None
    assert "&quot;total&quot;: 55" in monitor.state_view.value, "the state is shown at the end"
    assert "ws-running" not in monitor.graph.value


def test_after_a_failed_run(watched: Any) -> None:
    monitor, handle = watched(BROKEN)
    handle.start()
    assert monitor.status == "failed"
    assert "✗ failed" in monitor.header.value
    assert monitor.progress.value != monitor.progress.max
    assert rows_of(monitor) == {"/workflow/0/$.before": 1, "/workflow/1/transform": 1}
    failed_row = monitor.rows["/workflow/1/transform"]
    assert failed_row.failed == 1
    assert failed_row.last_edge is None
    assert failed_row.error is not None and "Expecting property name" in failed_row.error
    assert "<tr title='Expecting property name" in monitor.table.value
    assert monitor.error is not None and monitor.error["code"] == "NODE_EXECUTION_ERROR"
    box = re.sub(r"<[^>]+>", "", monitor.error_box.value)
    assert box.startswith(
        "NODE_EXECUTION_ERROR at /workflow/1/transform (transform): Expecting property name"
    )
    assert "&quot;before&quot;: &quot;reached&quot;" in monitor.state_view.value
    assert "after" not in monitor.state_view.value


def test_failed_run_progress_shows_the_failing_step(watched: Any) -> None:
    # The run failed on top-level step 1 (of 3); the final picture must say so, whatever the
    # throttle dropped before it.
    monitor, handle = watched(BROKEN)
    handle.start()
    assert monitor.progress.value == 1


def test_after_a_cancelled_run(watched: Any) -> None:
    monitor, handle = watched(waiting(5.0))

    async def scenario() -> None:
        handle.start()
        await asyncio.sleep(0.05)
        handle.cancel()
        await handle

    asyncio.run(scenario())
    assert monitor.status == "cancelled"
    assert "⊘ cancelled" in monitor.header.value
    assert "CANCELLED" in monitor.error_box.value
    assert "/workflow/1/wait" in monitor.error_box.value
    assert rows_of(monitor) == {"/workflow/0/$.a": 1, "/workflow/1/wait": 1}


def test_finish_with_shows_an_end_whose_event_was_missed(make_workflow: Any, registry: Any) -> None:
    workflow = make_workflow(COUNT_TO_TEN)
    monitor = RunMonitor(workflow)
    handle = RunHandle(workflow, registry).start()  # no events reach this monitor
    monitor.finish_with(handle.result())
    assert monitor.status == "completed"
    assert "✓ completed" in monitor.header.value
    assert monitor.progress.value == monitor.progress.max
    updates = monitor.updates
    monitor.finish_with(handle.result())  # once only
    assert monitor.updates == updates


def test_the_picture_is_fresh_while_a_node_runs(watched: Any) -> None:
    # Three quick events, then a 0.4 s wait: the events of the first 0.1 s fall inside the
    # throttle window; while the wait node runs the widget must show it running, not the
    # "pending" picture pushed when the monitor was built.
    monitor, handle = watched(waiting(0.4))

    async def scenario() -> tuple[str, str, str]:
        handle.start()
        await asyncio.sleep(0.25)
        seen = (monitor.header.value, monitor.counter.value, monitor.graph.value)
        await handle
        return seen

    header, counter, graph = asyncio.run(scenario())
    assert "⋯ running" in header
    assert "1 node runs" in counter
    assert "<g data-path='/workflow/1/wait' class='ws-node ws-step ws-running'>" in graph


def test_state_panel_renders_when_opened(watched: Any) -> None:
    monitor, handle = watched(waiting(0.3))

    async def scenario() -> tuple[str, str]:
        handle.start()
        await asyncio.sleep(0.1)
        closed = monitor.state_view.value
        monitor.state_panel.selected_index = 0  # the user opens the State panel
        opened = monitor.state_view.value
        await handle
        return closed, opened

    closed, opened = asyncio.run(scenario())
    assert closed == ""
    assert "&quot;a&quot;: 1" in opened
    assert "&quot;b&quot;" not in opened
    assert "&quot;b&quot;: 2" in monitor.state_view.value


def test_throttle_under_the_4000_node_loop(watched: Any, bench_engine: Any) -> None:
    monitor, handle = watched(bench_engine.loop_document())
    started = time.monotonic()
    handle.start()
    elapsed = time.monotonic() - started
    assert handle.result().node_runs == 3997
    assert monitor.updates <= elapsed * 10 + 3, (monitor.updates, elapsed)
    # the final push happened
    assert monitor.status == "completed"
    assert "✓ completed" in monitor.header.value
    assert monitor.node_runs == 3997
    assert "3,997 node runs" in monitor.counter.value
    assert monitor.progress.value == monitor.progress.max == 1
    assert rows_of(monitor) == {
        "/workflow/0/range...": 1000,
        "/workflow/0/range.../current_step?/0/math": 999,
        "/workflow/0/range.../current_step?/1/$.total": 999,
        "/workflow/0/range.../current_step?/2/log": 999,
    }
    assert ">1,000</td>" in monitor.table.value
    assert "&quot;total&quot;: 498501" in monitor.state_view.value


def test_throttle_over_a_slower_run(watched: Any) -> None:
    # ~0.5 s of node events: pushed live, at most 10 times a second (and 2 with max_rate=2)
    body = {
        "range...": {"stop": 25, "current_step?": [{"wait": {"seconds": 0.02}}]},
    }
    results = []
    for rate in (10.0, 2.0):
        monitor, handle = watched(document([body]), max_rate=rate)
        started = time.monotonic()
        handle.start()
        elapsed = time.monotonic() - started
        results.append((rate, monitor.updates, elapsed))
        assert monitor.node_runs == 51
        assert monitor.updates <= elapsed * rate + 3, (rate, monitor.updates, elapsed)
        assert "51 node runs" in monitor.counter.value
    fast, slow = results
    assert fast[1] >= 4, "the widget is updated during the run, not only at its ends"
    assert slow[1] < fast[1]


def test_node_progress_shows_beside_the_counter_until_the_node_ends(make_workflow: Any) -> None:
    from workscript_jupyter.engine import Event

    monitor = RunMonitor(make_workflow(COUNT_TO_TEN), max_rate=1e9)  # push on every event
    node = {"nodePath": "/workflow/0/notebook", "nodeType": "notebook"}
    monitor.on_event(Event("workflow:started", "e1", "w"))
    monitor.on_event(Event("node:started", "e1", "w", dict(node)))
    progress = {**node, "done": 2, "total": 5, "unit": "cells", "cellIndex": 1}
    monitor.on_event(Event("node:progress", "e1", "w", progress))
    assert monitor.status == "running", "a progress event is not the end of the run"
    assert "/workflow/0/notebook: 2/5 cells" in monitor.counter.value
    done = {**node, "edge": "success", "durationMs": 12.0}
    monitor.on_event(Event("node:completed", "e1", "w", done))
    assert "cells" not in monitor.counter.value
    assert "1 node runs" in monitor.counter.value
