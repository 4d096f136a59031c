"""Engine benchmark (issue 2). Prints medians of 5 runs after a warm-up, and ratios.

    python bench/engine.py

(a) a 999-iteration range... loop whose body is math -> state setter -> log with a template
(b) the same with a 1,000-row list of small objects in initialState
(c) 1,000 flat top-level steps
(d) parse + validate of (c)
baseline: the same number of awaited no-op coroutine calls, to read (a) against this machine

Targets (2 cores): (a) <= 15 us per node run; (b) <= 1.3 x (a); (d) < 20 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workscript_jupyter.engine import (
    Execution,
    load_workflow,
    parse_workflow,
    validate_workflow,
)
from workscript_jupyter.nodes import builtin_registry

RUNS = 5


def loop_document(rows: int = 0) -> dict[str, Any]:
    state: dict[str, Any] = {"total": 0}
    if rows:
        state["rows"] = [{"id": i, "name": f"row {i}", "price": i * 1.5} for i in range(rows)]
    return {
        "id": "bench-loop",
        "name": "bench loop",
        "version": "1.0.0",
        "initialState": state,
        "workflow": [
            {
                "range...": {
                    "stop": 999,
                    "current_step?": [
                        {"math": {"operation": "add", "values": ["$.total", "$.rangeValue"]}},
                        {"$.total": "$.mathResult"},
                        {"log": {"message": "step {{$.rangeIndex}}: total {{$.total}}"}},
                    ],
                }
            }
        ],
    }


def flat_document(steps: int = 1000) -> dict[str, Any]:
    cycle = [
        {"math": {"operation": "add", "values": ["$.i", 1]}},
        {"$.i": "$.mathResult"},
        {"log": {"message": "i is {{$.i}}"}},
    ]
    return {
        "id": "bench-flat",
        "name": "bench flat",
        "version": "1.0.0",
        "initialState": {"i": 0},
        "workflow": [cycle[n % 3] for n in range(steps)],
    }


def medians(actions: dict[str, Callable[[], Any]]) -> dict[str, float]:
    """Median seconds of each action: a warm-up, then RUNS rounds that run each action once.

    Interleaving the rounds spreads the noise of a shared machine over every figure alike, so
    the ratios between them stay meaningful.
    """
    for action in actions.values():
        action()
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(RUNS):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    registry = builtin_registry(plugins=False)
    loop_a = load_workflow(loop_document(), registry)
    loop_b = load_workflow(loop_document(rows=1000), registry)
    flat = flat_document()
    flat_wf = parse_workflow(flat, registry)

    def run(workflow: Any) -> Callable[[], Any]:
        def go() -> Any:
            result = asyncio.run(Execution(workflow, registry, timeline_limit=1000).run())
            assert result.status == "completed", result.error
            return result

        return go

    node_runs_a = run(loop_a)().node_runs
    node_runs_c = run(flat_wf)().node_runs

    async def noop() -> None:
        return None

    async def baseline_calls() -> None:
        for _ in range(node_runs_a):
            await noop()

    def run_observed(workflow: Any) -> Callable[[], Any]:
        events: list[Any] = []

        def go() -> Any:
            events.clear()
            execution = Execution(workflow, registry, timeline_limit=1000, on_event=events.append)
            return asyncio.run(execution.run())

        return go

    figures = medians(
        {
            "a": run(loop_a),
            "b": run(loop_b),
            "c": run(flat_wf),
            "d": lambda: parse_workflow(flat, registry),  # validates as it compiles
            "observed": run_observed(loop_a),
            "base": lambda: asyncio.run(baseline_calls()),
        }
    )
    a, b, c, d = figures["a"], figures["b"], figures["c"], figures["d"]
    a_observed, base = figures["observed"], figures["base"]
    issues = validate_workflow(flat, registry)
    assert issues == [], issues

    per_a = a / node_runs_a * 1e6
    per_b = b / node_runs_a * 1e6
    per_c = c / node_runs_c * 1e6
    per_base = base / node_runs_a * 1e6
    print(f"median of {RUNS} interleaved runs after a warm-up; Python {sys.version.split()[0]}")
    print(f"(a) range loop, {node_runs_a} node runs: {a * 1e3:8.2f} ms  {per_a:6.2f} us/node")
    print(f"(b) same + 1,000-row state:        {b * 1e3:8.2f} ms  {per_b:6.2f} us/node")
    print(f"(c) 1,000 flat steps, {node_runs_c} runs:   {c * 1e3:8.2f} ms  {per_c:6.2f} us/node")
    print(f"(d) parse + validate of (c):       {d * 1e3:8.2f} ms")
    print(f"baseline: {node_runs_a} awaited no-op calls: {base * 1e3:6.2f} ms  {per_base:.2f} us")
    print(f"(a) with an event listener:        {a_observed * 1e3:8.2f} ms")
    print(f"ratio (b)/(a): {b / a:.2f}   (target <= 1.3)")
    print(f"ratio (a) observed/(a) unobserved: {a_observed / a:.2f}  (what events cost)")
    print(f"ratio (a)/baseline: {a / base:.1f}x the cost of an empty awaited call")
    print(
        "targets: (a) <= 15 us/node: "
        + ("met" if per_a <= 15 else "MISSED")
        + "; (b) <= 1.3x (a): "
        + ("met" if b / a <= 1.3 else "MISSED")
        + "; (d) < 20 ms: "
        + ("met" if d < 0.020 else "MISSED")
    )


if __name__ == "__main__":
    main()
