"""The Workscript service on a real JupyterHub: notebook steps in users' servers, and the
scheduler of a whole hub.

    python bench/hub.py [--runs 20] [--cold-reps 3] [--users 50] [--per-user 4]
                        [--minutes 2] [--only abc] [--concurrency N] [--no-owner-servers]
                        [--json PATH]

Needs MariaDB (127.0.0.1:3306 root, or DB_HOST/DB_PORT/DB_USER/DB_PASSWORD) and npm's
configurable-http-proxy, as tests/hub/ does. One hub (tests/hub/harness.py: the deployment
example unchanged, SimpleLocalProcessSpawner, the service on a scratch MariaDB database with
its default settings) with the users u00…u49, alice, bob and ann serves all three parts:

(a) warm notebook step: a one-cell notebook (``output("x", 1)``) in alice's home folder, run
    ``--runs`` times as a one-node workflow (``POST /services/workscript/workscript/workflows/run``
    with her hub token) while her named server ``workscript`` is already running. The anchor,
    measured in the same run on the same machine: the same notebook run ``--runs`` times by
    ``RunnerGateway(root, pool=KernelPool(2))`` in this process (a warm pool, refilled before each
    run); each remote run comes after a pause of ``QUIET_SECONDS`` too, so the user server's own
    warm kernel is ready again. Also measured: ``RunnerGateway(root)`` without a pool (a kernel
    started per run), what a step would cost without the warm kernel. Medians; overhead =
    remote - local; ratio remote/local.
(b) cold start: alice's server ``workscript`` stopped through the hub API (and gone), then one
    run, which makes the service start it; ``--cold-reps`` times, median.
(c) scheduling load: ``--users`` users with ``--per-user`` cron automations each, every 10 s
    (``*/10 * * * * *``, overlapPolicy ``allow``: every tick must run) of a one-step workflow, for
    ``--minutes``; then all disabled, the runs drained, and every fire and run read from the
    database. Ticks expected (every tick boundary at least 1 s after an automation was created
    and 1 s before it was disabled) vs fired; duplicates (a tick with two fires or two runs) and
    lost ticks (expected, or between two fires, without a fire or without a run) must both be 0;
    lateness = run start (and fire claim) minus the tick, p50/p99/max. Goal: p99 < 500 ms.

Prints a table; writes every figure to ``--json`` (default tests/artifacts/hub/bench-hub.json).
Exit status 0 when part (c) ran every tick exactly once within the goal (or was skipped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.hub_schedules import median, scheduling_load  # noqa: E402
from tests.hub.harness import (  # noqa: E402
    Hub,
    http,
    mysql_admin_url,
    scratch_database,
    start_hub,
)
from workscript_jupyter.runner import KernelPool  # noqa: E402
from workscript_jupyter.runner.gateway import RunnerGateway  # noqa: E402

ARTIFACTS = REPO / "tests" / "artifacts" / "hub"
NOTEBOOK = "bench-hub.ipynb"
RUNNER = "alice"  # whose notebook runs parts (a) and (b)
P99_GOAL_MS = 500.0
SERVER_WAIT_SECONDS = 120.0
#: the service's settings that shape these figures (WorkscriptApp's defaults, read below; the
#: harness only sets kernel_pool_size = 0: hub users' steps run in their servers, not the service)
SETTINGS_SHOWN = (
    "max_concurrent_runs",
    "max_concurrent_runs_per_user",
    "max_queued_runs_per_user",
    "scheduler_poll_seconds",
    "scheduler_lock_check_seconds",
    "scheduler_misfire_threshold_seconds",
    "owner_server_spawn_timeout",
    "run_wait_max_seconds",
)


def service_settings() -> dict[str, Any]:
    from workscript_jupyter.server.app import WorkscriptApp

    traits = WorkscriptApp.class_traits()
    settings: dict[str, Any] = {name: traits[name].default_value for name in SETTINGS_SHOWN}
    settings.update(kernel_pool_size=0, store="MariaDB", redis="none (one service process)")
    return settings


# -- helpers ----------------------------------------------------------------------------------


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": median(values),
        "min": min(values, default=float("nan")),
        "max": max(values, default=float("nan")),
        "n": len(values),
    }


def write_notebook(folder: Path) -> None:
    notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    notebook.cells = [
        nbformat.v4.new_code_cell(  # type: ignore[no-untyped-call]
            'from workscript_jupyter import output\noutput("x", 1)'
        )
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / NOTEBOOK)  # type: ignore[no-untyped-call]


def hub_api(hub: Hub, method: str, path: str) -> Any:
    return http(method, f"{hub.url}/hub/api{path}", token=hub.admin_token)


def named_server(hub: Hub, user: str) -> dict[str, Any] | None:
    reply = hub_api(hub, "GET", f"/users/{user}")
    if reply.code != 200:
        raise SystemExit(f"the hub did not describe {user} ({reply.code}): {reply.body}")
    found = (reply.body.get("servers") or {}).get("workscript")
    return found if isinstance(found, dict) else None


def stop_named_server(hub: Hub, user: str) -> None:
    """Stop the user's server ``workscript`` through the hub API; return once it is gone."""
    reply = hub_api(hub, "DELETE", f"/users/{user}/servers/workscript")
    if reply.code not in (202, 204, 404):
        raise SystemExit(f"the hub did not stop {user}'s server ({reply.code}): {reply.body}")
    deadline = time.monotonic() + SERVER_WAIT_SECONDS
    while named_server(hub, user) is not None:
        if time.monotonic() > deadline:
            raise SystemExit(f"{user}'s server 'workscript' did not stop:\n{hub.log_tail()}")
        time.sleep(0.1)


def rss_mb(pid: int, *, children: bool = True) -> float:
    """Resident memory of a process, with its children (a server's kernels) unless told, in MB."""
    import psutil

    try:
        process = psutil.Process(pid)
        tree = [process, *(process.children(recursive=True) if children else ())]
        return float(sum(item.memory_info().rss for item in tree)) / 2**20
    except psutil.Error:
        return float("nan")


def named_server_pid(hub: Hub, user: str) -> int:
    """The pid of the user's running server ``workscript`` (SimpleLocalProcessSpawner's state)."""
    state = (named_server(hub, user) or {}).get("state") or {}
    return int(state.get("pid") or 0)


# -- (a) and (b): notebook steps ----------------------------------------------------------


async def local_runs(root: Path, runs: int) -> dict[str, list[float]]:
    """The anchor: the notebook run in this process, on a warm pool and without one."""
    figures: dict[str, list[float]] = {"warm_pool_ms": [], "no_pool_ms": []}
    pool = KernelPool(2, kernel_names=("python3",), cwd=str(root))
    await pool.start()
    try:
        pooled = RunnerGateway(root, pool=pool)

        async def pool_ready() -> None:
            await pool.wait_ready(timeout=120)
            while pool._background:  # the last discarded kernel is gone: a quiet machine
                await asyncio.sleep(0.01)

        await timed_local(pooled, runs, figures["warm_pool_ms"], pool_ready)
        await timed_local(RunnerGateway(root), runs, figures["no_pool_ms"], pool_ready)
    finally:
        await pool.stop()
    return figures


async def timed_local(
    gateway: RunnerGateway, runs: int, samples: list[float], between: Any
) -> None:
    for index in range(runs + 1):  # the first is a warm-up
        await between()
        start = time.perf_counter()
        report = await gateway.run_notebook(NOTEBOOK, parameters={}, timeout=120)
        elapsed = (time.perf_counter() - start) * 1000
        if report["status"] != "completed" or report["outputs"].get("x") != 1:
            raise SystemExit(f"the local run failed: {report}")
        if index:
            samples.append(elapsed)


def remote_run(hub: Hub, user: str) -> dict[str, float]:
    """One notebook workflow through the service; its round trip and the durations it reports."""
    definition = {
        "id": f"bench-hub-{uuid.uuid4().hex[:6]}",
        "name": "bench hub notebook",
        "version": "1.0.0",
        "workflow": [{"notebook": {"path": NOTEBOOK, "timeout": 120}}],
    }
    start = time.perf_counter()
    reply = http(
        "POST",
        f"{hub.service_url}/workscript/workflows/run",
        token=hub.tokens[user],
        body={"definition": definition},
        timeout=SERVER_WAIT_SECONDS + 60,
    )
    elapsed = (time.perf_counter() - start) * 1000
    body = reply.body if isinstance(reply.body, dict) else {}
    final = body.get("finalState") or {}
    if reply.code != 200 or body.get("status") != "completed":
        raise SystemExit(f"the remote run failed ({reply.code}): {reply.body}\n{hub.log_tail()}")
    if (final.get("notebookOutputs") or {}).get("x") != 1:
        raise SystemExit(f"the remote run has no output x = 1: {final}")
    return {
        "round_trip_ms": elapsed,
        "run_ms": float(body.get("durationMs") or 0.0),
        "notebook_ms": float((final.get("notebookResult") or {}).get("durationMs") or 0.0),
    }


QUIET_SECONDS = 2.0


def remote_warm(hub: Hub, runs: int) -> dict[str, list[float]]:
    remote_run(hub, RUNNER)  # starts her server when it is not running yet; a warm-up either way
    samples: dict[str, list[float]] = {"round_trip_ms": [], "run_ms": [], "notebook_ms": []}
    for _ in range(runs):
        # as for the anchor, a quiet machine: her server's pool has started the next kernel
        # (one kernel start, ~0.6 s here) and the last one is gone
        time.sleep(QUIET_SECONDS)
        for name, value in remote_run(hub, RUNNER).items():
            samples[name].append(value)
    return samples


def remote_cold(hub: Hub, reps: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"round_trip_ms": [], "run_ms": [], "notebook_ms": []}
    for _ in range(reps):
        stop_named_server(hub, RUNNER)
        for name, value in remote_run(hub, RUNNER).items():
            samples[name].append(value)
    return samples


# -- the run ------------------------------------------------------------------------------


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    result: dict[str, Any] = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "service_settings": service_settings(),
        "command": "python bench/hub.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    users = [f"u{i:02d}" for i in range(args.users)]
    with scratch_database(mysql_admin_url(), prefix="workscript_bench_hub") as db_url:
        hub_started = time.monotonic()
        (folder / "hub").mkdir()
        overrides = {} if args.concurrency is None else {"max_concurrent_runs": args.concurrency}
        result["service_settings"].update(overrides)
        hub_env = {}
        if args.no_owner_servers:  # no hub round trips for runs: notebook steps in the service
            hub_env["WORKSCRIPT_OWNER_SERVERS"] = "0"
            result["service_settings"]["owner_servers"] = False
        with start_hub(
            folder / "hub",
            db_url,
            users=(*users, "alice", "bob", "ann"),
            extra_env=hub_env,
            service_config=overrides,
        ) as hub:
            result["hub_start_seconds"] = time.monotonic() - hub_started
            write_notebook(hub.home / RUNNER)
            if "a" in args.only:
                result["local"] = asyncio.run(local_runs(hub.home / RUNNER, args.runs))
                result["remote_warm"] = remote_warm(hub, args.runs)
                result["memory_mb"] = {
                    "user_workscript_server_idle": rss_mb(named_server_pid(hub, RUNNER)),
                    "service_idle": rss_mb(hub.service_pid),
                    # alone: the service and the users' servers are its children
                    "hub_process": rss_mb(hub.process.pid, children=False),
                }
            if "b" in args.only:
                result["remote_cold"] = remote_cold(hub, args.cold_reps)
            if named_server(hub, RUNNER) is not None:
                stop_named_server(hub, RUNNER)  # (c) on a machine without her server
            if "c" in args.only:
                result["schedules"] = scheduling_load(
                    hub, db_url, users, args.per_user, args.minutes
                )
                result["schedules"]["service_rss_mb_after"] = rss_mb(hub.service_pid)
    return result


def report(result: dict[str, Any]) -> bool:
    machine = result["machine"]
    settings = result["service_settings"]
    overridden = "--concurrency" in result["command"] or "--no-owner" in result["command"]
    print(
        f"hub benchmark: {machine['cores']} cores, Python {machine['python']}; the service with "
        f"{'these' if overridden else 'its default'} settings on MariaDB (max_concurrent_runs "
        f"{settings['max_concurrent_runs']}, {settings['max_concurrent_runs_per_user']} per user, "
        f"no Redis{'' if settings.get('owner_servers', True) else ', owner_servers off'})"
    )
    print(f"  hub + service start: {result['hub_start_seconds']:.1f} s")
    ok = True
    if "local" in result:
        local = median(result["local"]["warm_pool_ms"])
        no_pool = median(result["local"]["no_pool_ms"])
        warm = result["remote_warm"]
        remote = median(warm["round_trip_ms"])
        n = len(warm["round_trip_ms"])
        print(f"(a) one-cell notebook, median of {n} runs")
        print(f"    local, warm pool (anchor)       {local:8.1f} ms")
        print(f"    local, no pool (kernel per run) {no_pool:8.1f} ms")
        print(
            f"    remote, server warm: round trip {remote:8.1f} ms  (run durationMs "
            f"{median(warm['run_ms']):.1f}, notebook in her server "
            f"{median(warm['notebook_ms']):.1f})"
        )
        print(
            f"    overhead remote - local         {remote - local:8.1f} ms   ratio "
            f"{remote / local:5.1f} x   (remote - no pool: {remote - no_pool:.1f} ms)"
        )
        result["a_summary"] = {
            "local_warm_pool_median_ms": local,
            "local_no_pool_median_ms": no_pool,
            "remote_round_trip_median_ms": remote,
            "remote_run_duration_median_ms": median(warm["run_ms"]),
            "remote_notebook_duration_median_ms": median(warm["notebook_ms"]),
            "overhead_ms": remote - local,
            "ratio": remote / local,
            "overhead_vs_no_pool_ms": remote - no_pool,
        }
    if "memory_mb" in result:
        memory = result["memory_mb"]
        print(
            "    memory (RSS): her idle `workscript` server "
            f"{memory['user_workscript_server_idle']:.0f} MB, the idle service "
            f"{memory['service_idle']:.0f} MB, the hub process {memory['hub_process']:.0f} MB"
        )
    if "remote_cold" in result:
        cold = result["remote_cold"]
        print(
            f"(b) cold start (her server stopped), median of {len(cold['round_trip_ms'])}: "
            f"round trip {median(cold['round_trip_ms']):.0f} ms (min "
            f"{min(cold['round_trip_ms']):.0f}, max {max(cold['round_trip_ms']):.0f}); run "
            f"durationMs {median(cold['run_ms']):.0f}"
        )
        result["b_summary"] = {
            "round_trip": spread(cold["round_trip_ms"]),
            "run_duration": spread(cold["run_ms"]),
        }
    if "schedules" in result:
        s = result["schedules"]
        once = s["lost"] == 0 and s["duplicates"] == 0 and s["ticks_expected"] > 0
        start, claim = s["start_lateness_ms"], s["claim_lateness_ms"]
        print(
            f"(c) {s['users']} users x {s['per_user']} automations every 10 s for "
            f"{s['minutes']:g} min (made in {s['create_seconds']:.1f} s, disabled in "
            f"{s['disable_seconds']:.1f} s)"
        )
        print(
            f"    ticks expected {s['ticks_expected']}, fired {s['ticks_fired']} "
            f"({s['ticks_fired_at_edges']} at the edges), runs {s['runs']}, duplicates "
            f"{s['duplicates']}, lost {s['lost']}: "
            f"{'100 % exactly once' if once else 'NOT exactly once'}"
        )
        print(f"    fire outcomes {s['fire_outcomes']}, run statuses {s['run_statuses']}")
        for example in s["lost_examples"]:
            print(f"      lost: {example}")
        print(
            f"    lateness, run start: p50 {start['p50']:.1f} ms  p99 {start['p99']:.1f} ms  "
            f"max {start['max']:.1f} ms;  claim: p50 {claim['p50']:.1f}  p99 {claim['p99']:.1f}"
            f"  max {claim['max']:.1f}"
        )
        print(f"    the service's RSS afterwards: {s['service_rss_mb_after']:.0f} MB")
        met = start["p99"] < P99_GOAL_MS
        print(f"    goal p99 < {P99_GOAL_MS:g} ms: {'met' if met else 'MISSED'}")
        ok = once and met
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs of (a), each way")
    parser.add_argument("--cold-reps", type=int, default=3, help="cold starts of (b)")
    parser.add_argument("--users", type=int, default=50, help="users of (c)")
    parser.add_argument("--per-user", type=int, default=4, help="automations per user in (c)")
    parser.add_argument("--minutes", type=float, default=2.0, help="how long (c) fires")
    parser.add_argument("--only", default="abc", help="the parts to run, e.g. 'ab' or 'c'")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="the service's max_concurrent_runs (default: its own default, 4)",
    )
    parser.add_argument("--json", type=Path, default=ARTIFACTS / "bench-hub.json")
    parser.add_argument(
        "--no-owner-servers",
        action="store_true",
        help="WORKSCRIPT_OWNER_SERVERS=0 (for (c) only: notebook steps would run in the service)",
    )
    args = parser.parse_args()
    if args.no_owner_servers and set(args.only) & {"a", "b"}:
        parser.error("--no-owner-servers measures (c) only: add --only c")
    if shutil.which("configurable-http-proxy") is None:
        raise SystemExit("configurable-http-proxy is not on PATH (npm install -g ...)")
    # the runner warns that the notebook has no parameters cell, once per local run
    logging.getLogger("workscript_jupyter").setLevel(logging.ERROR)
    folder = Path(tempfile.mkdtemp(prefix="ws-bench-hub-"))
    started = time.monotonic()
    try:
        result = run(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result["total_seconds"] = time.monotonic() - started
    ok = report(result)
    print(f"  total {result['total_seconds']:.0f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"  figures: {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
