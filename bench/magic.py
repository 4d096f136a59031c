"""The widget must not slow a run down (issue 4). Prints medians and the ratio.

    python bench/magic.py

In a real IPython kernel (started here with jupyter_client), the 4,000-node loop of
bench/engine.py runs through ``%%workflow`` five times with the RunMonitor attached and five
times with ``--quiet`` (no widget, no event listener), interleaved, after a warm-up of each.
The figure is the run's own duration as the engine measures it (start to end, including every
widget push made during the run), and the wall time of the whole cell as the client sees it.
Target: with the widget at most 1.5x without it.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import loop_document

RUNS = 5
TARGET = 1.5


def execute(client, code: str) -> dict:
    """Run ``code``; return the text/plain of its result, failing loudly on an error."""
    msg_id = client.execute(code, store_history=False)
    result = None
    while True:
        msg = client.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "error":
            raise RuntimeError("\n".join(content["traceback"]))
        if kind == "execute_result":
            result = content["data"].get("text/plain")
        if kind == "status" and content["execution_state"] == "idle":
            return {"result": result}


def run_once(client, body: str, options: str) -> tuple[float, float]:
    started = time.perf_counter()
    execute(client, f"%%workflow --name bench_run {options}\n{body}")
    wall = time.perf_counter() - started
    reply = execute(client, "bench_run.result().duration_ms, bench_run.status")
    duration_ms, status = eval(reply["result"])
    assert status == "completed", status
    return duration_ms / 1000, wall


def main() -> None:
    body = json.dumps(loop_document())
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        execute(client, "%load_ext workscript_jupyter")
        figures: dict[str, list[tuple[float, float]]] = {"widget": [], "quiet": []}
        run_once(client, body, "")  # warm-up of both paths
        run_once(client, body, "--quiet")
        for _ in range(RUNS):
            figures["widget"].append(run_once(client, body, ""))
            figures["quiet"].append(run_once(client, body, "--quiet"))
        updates = execute(client, "len(bench_run.timeline)")["result"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    run = {k: statistics.median(d for d, _ in v) for k, v in figures.items()}
    wall = {k: statistics.median(w for _, w in v) for k, v in figures.items()}
    print(f"median of {RUNS} interleaved runs in a real kernel, 3,997 node runs each")
    for name, label in (("widget", "with the RunMonitor:"), ("quiet", "--quiet (no widget):")):
        print(f"  {label:<22}run {run[name] * 1e3:7.1f} ms   cell {wall[name] * 1e3:7.1f} ms")
    ratio = run["widget"] / run["quiet"]
    verdict = "met" if ratio <= TARGET else "MISSED"
    print(f"ratio run widget/quiet: {ratio:.2f} (target <= {TARGET}: {verdict})")
    cell_ratio = wall["widget"] / wall["quiet"]
    print(f"ratio cell widget/quiet: {cell_ratio:.2f} (the cell also builds and shows the widget)")
    print(f"timeline entries of the last run: {updates}")


if __name__ == "__main__":
    main()
