"""AI benchmark (issue 17): what the server adds to an ``ask-ai`` call beyond the provider.

    python bench/ai.py [--calls 200] [--concurrency 20] [--latency 0.05] [--rounds 5] [--mysql]

A stand-in for OpenRouter (tests/standins/openrouter.py) answers every completion after
``--latency`` seconds, on 127.0.0.1, in a process of its own (in this one, its thread would
compete with the code measured for the GIL). Each round makes ``--calls`` calls,
``--concurrency`` at a time, three ways, and times each call from its start to its answer:

(a) the anchor: a bare ``httpx.AsyncClient`` POST of the same request to the stand-in;
(b) the server's gateway, as an ``ask-ai`` node calls it (``AiService.gateway_for(caller).chat``):
    the OpenRouter client (retries, error mapping, answer parsing), the caller's permission,
    the monthly budget check (a budget is set, so it is read), the price from the catalogue and
    the ``ai_usage`` row written off the event loop;
(c) whole runs: a saved one-node ``ask-ai`` workflow started through the service and waited for
    (queue, worker pool, engine, node, gateway, run records);
(d) the same with a state setter instead of ``ask-ai``: what the run machinery costs alone at
    this concurrency.

Printed: the median per-call latency of each, (b) - (a) and (c) - (a) in ms (the goal: the
gateway's overhead (b) - (a) below 5 ms), and (b) / (a). Medians over ``--rounds`` alternating
rounds. The store is SQLite (the default product), and MariaDB too with ``--mysql``. The
process switches threads every 0.5 ms, as the server does (``thread_switch_ms``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from workscript_jupyter.integrations.openrouter_types import AIConfig
from workscript_jupyter.nodes import builtin_registry
from workscript_jupyter.service import RunLimits, WorkscriptService
from workscript_jupyter.service.ai import AiSettings
from workscript_jupyter.store import migrate
from workscript_jupyter.store.sql import SqlStore

MODEL = "openai/gpt-4o"  # one of the stand-in's catalogue: every call is priced
MESSAGES = [{"role": "user", "content": "Say hello"}]
PLAIN = {"id": "bench-plain", "name": "bench plain", "version": "1.0.0", "workflow": [{"$.x": 1}]}
ASKING = {
    "id": "bench-ask",
    "name": "bench ask",
    "version": "1.0.0",
    "workflow": [{"ask-ai": {"userPrompt": "Say hello", "model": MODEL, "stream": False}}],
}


async def timed_calls(
    call: Callable[[int], Awaitable[Any]], calls: int, concurrency: int
) -> list[float]:
    """Each call's latency in ms, ``concurrency`` calls in flight at a time."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(index: int) -> None:
        async with gate:
            started = time.perf_counter()
            await call(index)
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(one(i) for i in range(calls)))
    return latencies


@contextlib.contextmanager
def database(mysql: bool) -> Iterator[str]:
    if not mysql:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        return
    from tests.scheduler.servers import scratch_database

    with scratch_database("mysql+pymysql://root:@127.0.0.1:3306/test?charset=utf8mb4") as url:
        yield url


@dataclass(frozen=True)
class StandIn:
    base_url: str
    key: str


@contextlib.contextmanager
def stand_in_process(latency: float) -> Iterator[StandIn]:
    command = [sys.executable, "-m", "tests.standins.openrouter", f"--latency={latency}"]
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url, key = process.stdout.readline().split()
        yield StandIn(base_url, key)
    finally:
        process.kill()
        process.wait()


async def measure(url: str, stand_in: StandIn, args: argparse.Namespace) -> dict[str, list[float]]:
    migrate.upgrade(url)
    store = SqlStore.from_url(url)
    config = AIConfig(api_key=stand_in.key, base_url=stand_in.base_url, timeout=30.0)
    service = WorkscriptService(
        store,
        builtin_registry(plugins=False),
        limits=RunLimits(
            max_concurrent_runs=args.concurrency,
            max_concurrent_runs_per_user=args.concurrency,
            max_queued_runs_per_user=args.calls * 2,
        ),
        ai=AiSettings(config=config, model_sync_interval=0.0, monthly_budget_usd=1_000_000.0),
    )
    await service.start()
    try:
        caller = await service.identities.caller_for("bench")
        await service.ai.sync_models(caller)  # prices known: every call is priced
        gateway = service.ai.gateway_for(caller)
        assert gateway is not None
        saved = await service.workflows.create_workflow(caller, ASKING)
        plain = await service.workflows.create_workflow(caller, PLAIN)
        body = {"model": MODEL, "messages": MESSAGES}
        headers = {"Authorization": f"Bearer {stand_in.key}"}
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(base_url=stand_in.base_url, limits=limits) as bare:

            async def anchor(_: int) -> None:
                reply = await bare.post("/chat/completions", json=body, headers=headers)
                reply.raise_for_status()
                reply.json()

            async def gateway_call(index: int) -> None:
                await gateway.chat(
                    model=MODEL,
                    messages=MESSAGES,
                    options={},
                    execution_id=f"bench{index:027d}",
                    workflow_id="bench-ask",
                    node_path="workflow/0/ask-ai",
                )

            async def run(_: int, workflow_id: str = saved.id) -> None:
                queued = await service.runs.start_run(caller, workflow_id=workflow_id)
                done = await service.runs.wait_for(caller, queued.id, 60)
                if done.status != "completed":
                    raise RuntimeError(f"run {done.id} ended {done.status}: {done.error}")

            async def plain_run(index: int) -> None:
                await run(index, plain.id)

            figures: dict[str, list[float]] = {"anchor": [], "gateway": [], "run": [], "plain": []}
            await timed_calls(anchor, args.concurrency, args.concurrency)  # warm connections
            await timed_calls(gateway_call, args.concurrency, args.concurrency)
            # the calls first, then the runs: what a round of runs leaves going (its final
            # writes, the queue's sweeps) would otherwise weigh on the next round of calls
            for pair in ((("anchor", anchor), ("gateway", gateway_call)),
                         (("run", run), ("plain", plain_run))):  # fmt: skip
                for _ in range(args.rounds):
                    for name, call in pair:
                        latencies = await timed_calls(call, args.calls, args.concurrency)
                        figures[name].append(statistics.median(latencies))
        return figures
    finally:
        await service.stop()
        store.close()


def report(label: str, figures: dict[str, list[float]], latency_ms: float) -> None:
    anchor, gateway, run, plain = (
        statistics.median(figures[k]) for k in ("anchor", "gateway", "run", "plain")
    )
    print(f"\n{label}: median per-call latency (stand-in answers in {latency_ms:.0f} ms)")
    print(f"  (a) bare httpx (anchor)         {anchor:8.2f} ms   rounds {_r(figures['anchor'])}")
    print(f"  (b) server gateway + usage row  {gateway:8.2f} ms   rounds {_r(figures['gateway'])}")
    print(f"  (c) whole one-node run          {run:8.2f} ms   rounds {_r(figures['run'])}")
    print(f"  (d) the same run, no AI step    {plain:8.2f} ms   rounds {_r(figures['plain'])}")
    verdict = "meets" if gateway - anchor < 5 else "MISSES"
    print(f"  overhead (b) - (a): {gateway - anchor:6.2f} ms  ({verdict} the < 5 ms goal)")
    print(
        f"  overhead (c) - (a): {run - anchor:6.2f} ms  (the run machinery alone, (d): {plain:.2f})"
    )
    print(f"  ratio (b) / (a): {gateway / anchor:.3f}")


def _r(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05, help="stand-in latency, s")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mysql", action="store_true", help="MariaDB at 127.0.0.1:3306 too")
    args = parser.parse_args()
    # the server's own setting (WorkscriptApp.thread_switch_ms, 0.5 by default): store threads
    # get the interpreter back within 0.5 ms instead of Python's 5
    sys.setswitchinterval(0.0005)
    print(
        f"{args.calls} calls, {args.concurrency} at a time, {args.rounds} rounds; "
        f"Python {sys.version.split()[0]}"
    )
    stores = [("SQLite", False)] + ([("MariaDB", True)] if args.mysql else [])
    with stand_in_process(args.latency) as stand_in:
        for label, mysql in stores:
            with database(mysql) as url:
                figures = asyncio.run(measure(url, stand_in, args))
            report(label, figures, args.latency * 1000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
