"""Headless notebook benchmark. Prints medians of 20 runs after a warm-up, and ratios.

    pip install -e .[bench]   # papermill
    python bench/notebook.py

A trivial 3-cell notebook (a ``parameters`` cell, one sum, one ``output()``), run with
parameters, each way:

(a) warm: a KernelPool(size 2) started ahead; acquire -> run_notebook(kernel_manager=km) ->
    discard. The pool is refilled before each timed run (an idle pool, the common case).
(b) cold: run_notebook without kernel_manager (starts and shuts down its own kernel).
(c) papermill.execute_notebook (its own kernel per run, like (b)).

Then 100 runs at concurrency 4 on the pool: total time, runs/s, and the ipykernel_launcher
processes (children of this process) alive at the end, once the discarded kernels are gone: it
must equal the pool size.

Targets (2 cores): warm median <= 60 ms; papermill / warm >= 12.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workscript_jupyter.runner import KernelPool, run_notebook

RUNS = 20
CONCURRENT_RUNS = 100
CONCURRENCY = 4
POOL_SIZE = 2
PARAMETERS = {"n": 20}
WARM_TARGET_MS = 60.0
PAPERMILL_RATIO_TARGET = 12.0


def write_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    params = nbformat.v4.new_code_cell("n = 1")  # type: ignore[no-untyped-call]
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell("total = n + 1"),  # type: ignore[no-untyped-call]
        nbformat.v4.new_code_cell(  # type: ignore[no-untyped-call]
            "from workscript_jupyter import output\noutput('total', total)"
        ),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / "bench.ipynb"
    nbformat.write(nb, path)  # type: ignore[no-untyped-call]
    return path


def kernel_children() -> int:
    """ipykernel_launcher processes whose parent is this process."""
    me = os.getpid()
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and b"ipykernel_launcher" in cmdline:
            count += 1
    return count


async def timed(
    fn: Callable[[], Awaitable[Any]], runs: int, between: Callable[[], Awaitable[Any]]
) -> list[float]:
    await between()
    await fn()  # warm-up
    samples = []
    for _ in range(runs):
        await between()
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def check(run: Any) -> None:
    if run.status != "completed" or run.outputs.get("total") != PARAMETERS["n"] + 1:
        raise SystemExit(f"bench run failed: {run.status} {run.outputs} {run.error}")


async def bench_runner(root: Path, notebook: Path) -> dict[str, Any]:
    out = ".workscript/bench/{run_id}.ipynb"
    figures: dict[str, Any] = {}
    pool = KernelPool(POOL_SIZE, kernel_names=("python3",), cwd=str(root))
    await pool.start()
    try:

        async def warm() -> None:
            km = await pool.acquire("python3")
            try:
                check(
                    await run_notebook(
                        notebook,
                        root_dir=root,
                        parameters=PARAMETERS,
                        kernel_manager=km,
                        output_path=out,
                    )
                )
            finally:
                await pool.discard(km)

        async def pool_ready() -> None:
            await pool.wait_ready(timeout=120)
            while pool._background:  # the last discarded kernel is gone: a quiet machine
                await asyncio.sleep(0.01)

        figures["warm"] = await timed(warm, RUNS, pool_ready)

        async def cold() -> None:
            check(
                await run_notebook(notebook, root_dir=root, parameters=PARAMETERS, output_path=out)
            )

        figures["cold"] = await timed(cold, RUNS, pool_ready)

        # 100 runs, 4 at a time, on the pool
        await pool_ready()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(CONCURRENT_RUNS):
            queue.put_nowait(i)

        async def worker() -> None:
            while True:
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await warm()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        figures["concurrent_s"] = time.perf_counter() - start
        await pool_ready()
        figures["kernels_at_end"] = kernel_children()
    finally:
        await pool.stop()
    figures["kernels_after_stop"] = kernel_children()
    return figures


def bench_papermill(root: Path, notebook: Path) -> list[float] | None:
    try:
        import papermill  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    logging.getLogger("papermill").setLevel(logging.WARNING)
    target = root / ".workscript" / "bench" / "papermill.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)

    def once() -> None:
        papermill.execute_notebook(
            str(notebook),
            str(target),
            parameters=PARAMETERS,
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            cwd=str(root),
        )

    once()  # warm-up
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        once()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="ws-bench-nb-"))
    try:
        notebook = write_notebook(root)
        figures = asyncio.run(bench_runner(root, notebook))
        papermill = bench_papermill(root, notebook)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    warm = statistics.median(figures["warm"])
    cold = statistics.median(figures["cold"])
    print(
        f"notebook benchmark: 3 cells, median of {RUNS} runs after a warm-up "
        f"({os.cpu_count()} cores)"
    )
    print(
        f"(a) warm pool    median {warm:8.1f} ms  (min {min(figures['warm']):.1f}, "
        f"max {max(figures['warm']):.1f})  target <= {WARM_TARGET_MS:g} ms: "
        f"{'ok' if warm <= WARM_TARGET_MS else 'MISSED'}"
    )
    print(
        f"(b) cold kernel  median {cold:8.1f} ms  (min {min(figures['cold']):.1f}, "
        f"max {max(figures['cold']):.1f})"
    )
    ok = warm <= WARM_TARGET_MS
    if papermill is None:
        print("(c) papermill    not installed (pip install -e .[bench])")
    else:
        pm = statistics.median(papermill)
        ratio = pm / warm
        ok = ok and ratio >= PAPERMILL_RATIO_TARGET
        print(
            f"(c) papermill    median {pm:8.1f} ms  (min {min(papermill):.1f}, "
            f"max {max(papermill):.1f})"
        )
    print(f"cold / warm      {cold / warm:6.1f} x")
    if papermill is not None:
        print(
            f"papermill / warm {ratio:6.1f} x  target >= {PAPERMILL_RATIO_TARGET:g}: "
            f"{'ok' if ratio >= PAPERMILL_RATIO_TARGET else 'MISSED'}"
        )
    total = figures["concurrent_s"]
    kernels = figures["kernels_at_end"]
    print(
        f"{CONCURRENT_RUNS} runs at concurrency {CONCURRENCY} on the pool (size {POOL_SIZE}): "
        f"{total:.2f} s, {CONCURRENT_RUNS / total:.1f} runs/s"
    )
    print(
        f"ipykernel_launcher processes alive at the end: {kernels} (pool size {POOL_SIZE}: "
        f"{'ok' if kernels == POOL_SIZE else 'MISMATCH'}); after pool.stop(): "
        f"{figures['kernels_after_stop']}"
    )
    ok = ok and kernels == POOL_SIZE and figures["kernels_after_stop"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
