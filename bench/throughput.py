"""Run throughput of a real server under wrk (issue 14): webhook runs and ``POST .../run``.

    python bench/throughput.py [--seconds 10] [--rounds 3] [--connections 16] [--skip-mysql]

Needs wrk, a load generator in C that leaves the CPU to the server:
``apt-get install -y wrk`` (Debian/Ubuntu), ``brew install wrk`` (macOS).

For each store (the default SQLite file, then MariaDB on the database ``workscript_bench_tp``,
created empty; ``--mysql-url`` or DB_* as for the tests), one ``jupyter server`` with the
extension, a 3-node workflow and a webhook automation on it; then ``--rounds`` alternating
rounds of ``--seconds`` each, after a warm-up:

- baseline: ``GET /api/status`` (Jupyter's own cheapest authenticated route) — what this server
  answers at all on this machine, measured in the same run;
- ``POST /workscript/hooks/{token}`` (202: the run is in the store before the answer);
- ``POST /workscript/workflows/{id}/run`` (202 likewise).

After each round of runs the bench waits until no run is queued or running, then counts in the
store the runs created in the round against wrk's 2xx answers and checks each ended
``completed``. It prints, per target, the medians over rounds of: answers/s, p50/p99 latency,
completed runs/s (runs completed ÷ the time from the round's start to its last run's end), and
the ratio to the baseline; then answered / recorded / completed counts (all must be equal).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import case, create_engine, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from rest import Server, start_server, stop_server, wait_until_ready

from workscript_jupyter.store.tables import workflow_executions

TARGET_RUNS_PER_SECOND = {"sqlite": 440.0, "mariadb": 300.0}
TARGET_P99_MS = 100.0
MYSQL_DATABASE = "workscript_bench_tp"

WORKFLOW = {
    "id": "throughput",
    "name": "three nodes",
    "version": "1.0.0",
    "initialState": {"n": 1},
    "workflow": [
        {"math": {"operation": "add", "values": ["$.n", 1]}},
        {"log": {"message": "n + 1 = {{$.mathResult}}"}},
        {"math": {"operation": "multiply", "values": ["$.mathResult", 2]}},
    ],
}


@dataclass
class WrkResult:
    requests: int
    non_2xx: int
    errors: int
    rate: float  # requests/s
    p50_ms: float
    p99_ms: float


@dataclass
class Round:
    wrk: WrkResult
    recorded: int = 0
    completed: int = 0
    completed_per_second: float = 0.0


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, *, seconds: float, connections: int, script: Path | None) -> WrkResult:
    command = [
        "wrk", "-t2", f"-c{connections}", f"-d{max(int(seconds), 1)}s", "--latency",
        "--timeout", "10s",
    ]  # fmt: skip
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout

    def grab(pattern: str, default: str = "0") -> str:
        found = re.search(pattern, out)
        return found.group(1) if found else default

    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        requests=int(grab(r"(\d+) requests in")),
        non_2xx=int(grab(r"Non-2xx or 3xx responses: (\d+)")),
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
        rate=float(grab(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(*p50.groups()) if p50 else float("nan"),
        p99_ms=_ms(*p99.groups()) if p99 else float("nan"),
    )


def post_script(workdir: Path, name: str, headers: dict[str, str]) -> Path:
    """A wrk Lua script that POSTs a small JSON body with ``headers``."""
    lines = ['wrk.method = "POST"', 'wrk.body = \'{"n": 41, "source": "wrk"}\'']
    lines.append('wrk.headers["Content-Type"] = "application/json"')
    lines += [f'wrk.headers["{key}"] = "{value}"' for key, value in headers.items()]
    path = workdir / f"{name}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def get_script(workdir: Path, headers: dict[str, str]) -> Path:
    path = workdir / "get.lua"
    path.write_text("".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items()))
    return path


# -- the store's view ------------------------------------------------------------------------


class RunCounter:
    """Counts a round's runs straight from the database the server writes."""

    def __init__(self, db_url: str) -> None:
        self.engine = create_engine(db_url)

    def now(self) -> datetime:
        """The newest run's creation time: what a round's runs come after."""
        with self.engine.connect() as connection:
            value = connection.execute(select(func.max(workflow_executions.c.created_at))).scalar()
        return value if isinstance(value, datetime) else datetime.min.replace(tzinfo=UTC)

    def wait_idle(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.engine.connect() as connection:
                active = connection.execute(
                    text(
                        "SELECT COUNT(*) FROM workflow_executions"
                        " WHERE status = 'queued' OR status = 'running'"
                    )
                ).scalar()
            if not active:
                return
            time.sleep(0.2)
        raise RuntimeError(f"runs still active after {timeout:.0f} s")

    def since(self, trigger: str, after: datetime) -> tuple[int, int, float]:
        """(recorded, completed, seconds from the first run's creation to the last run's end)
        of the runs of ``trigger`` created after ``after``."""
        runs = workflow_executions.c
        query = select(
            func.count(),
            func.sum(case((runs.status == "completed", 1), else_=0)),
            func.min(runs.created_at),
            func.max(runs.ended_at),
        ).where(runs.trigger == trigger, runs.created_at > after)
        with self.engine.connect() as connection:
            row = connection.execute(query).one()
        count, completed, first, last = row
        span = (_as_datetime(last) - _as_datetime(first)).total_seconds() if first and last else 0
        return int(count or 0), int(completed or 0), span

    def close(self) -> None:
        self.engine.dispose()


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


# -- one store -------------------------------------------------------------------------------


async def prepare(server: Server) -> tuple[str, str]:
    """(workflow id, webhook token) on a server that is up."""
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=server.headers, timeout=30
    ) as client:
        await wait_until_ready(client, server, timeout=90)
        created = await client.post("/workscript/workflows", json={"definition": WORKFLOW})
        created.raise_for_status()
        workflow_id: str = created.json()["id"]
        automation = await client.post(
            "/workscript/automations",
            json={"name": "bench hook", "workflowId": workflow_id, "triggerType": "webhook"},
        )
        automation.raise_for_status()
        return workflow_id, automation.json()["webhookToken"]


def measure_store(label: str, db_url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-tp-{label}-"))
    server = start_server(workdir, db_url, extra_args=args.server_arg)
    counter: RunCounter | None = None
    try:
        workflow_id, token = asyncio.run(prepare(server))
        counter = RunCounter(db_url or f"sqlite:///{workdir / 'workscript.sqlite'}")
        auth = {"Authorization": f"token {server.token}"}
        targets = {
            "GET /api/status (baseline)": (
                server.base_url + "/api/status", get_script(workdir, auth), None),
            "webhook POST /workscript/hooks/{token}": (
                f"{server.base_url}/workscript/hooks/{token}",
                post_script(workdir, "hook", {}), "webhook"),
            "POST /workscript/workflows/{id}/run": (
                f"{server.base_url}/workscript/workflows/{workflow_id}/run",
                post_script(workdir, "run", auth), "api"),
        }  # fmt: skip
        for url, script, _ in targets.values():  # warm-up
            wrk(url, seconds=2, connections=args.connections, script=script)
            counter.wait_idle()
        rounds: dict[str, list[Round]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (url, script, trigger) in targets.items():
                before = counter.now()
                result = Round(wrk(url, seconds=args.seconds, connections=args.connections,
                                   script=script))  # fmt: skip
                if trigger is not None:
                    counter.wait_idle()
                    recorded, completed, span = counter.since(trigger, before)
                    result.recorded, result.completed = recorded, completed
                    result.completed_per_second = completed / span if span else 0.0
                rounds[name].append(result)
        return {"label": label, "rounds": rounds, "log": server.log_tail(10)}
    finally:
        if counter is not None:
            counter.close()
        stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)


def report(result: dict[str, Any], connections: int) -> None:
    label = result["label"]
    rounds: dict[str, list[Round]] = result["rounds"]
    baseline = statistics.median(r.wrk.rate for r in next(iter(rounds.values())))
    print(f"\n== {label}: wrk -t2 -c{connections}, medians of {len(next(iter(rounds.values())))}"
          " rounds")  # fmt: skip
    for name, measured in rounds.items():
        rate = statistics.median(r.wrk.rate for r in measured)
        p50 = statistics.median(r.wrk.p50_ms for r in measured)
        p99 = statistics.median(r.wrk.p99_ms for r in measured)
        line = f"  {name:42} {rate:8.0f} answers/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
        line += f"  ({rate / baseline:.2f}x baseline)"
        print(line)
        if measured[0].recorded or "baseline" not in name:
            done = statistics.median(r.completed_per_second for r in measured)
            answered = sum(r.wrk.requests - r.wrk.non_2xx for r in measured)
            refused = sum(r.wrk.non_2xx for r in measured)
            errors = sum(r.wrk.errors for r in measured)
            recorded = sum(r.recorded for r in measured)
            completed = sum(r.completed for r in measured)
            goal = TARGET_RUNS_PER_SECOND.get(label, 0.0)
            verdict = "met" if done >= goal and p99 < TARGET_P99_MS else "MISSED"
            print(f"  {'':42} {done:8.0f} runs completed/s (goal >= {goal:.0f}/s, p99 < "
                  f"{TARGET_P99_MS:.0f} ms: {verdict})")  # fmt: skip
            # wrk stops counting at its deadline; the requests then in flight (at most one per
            # connection) still make runs: recorded may exceed answered by that much, no more
            in_flight = recorded - answered
            whole = completed == recorded and 0 <= in_flight <= connections * len(measured)
            print(f"  {'':42} answered 2xx {answered}, recorded {recorded} ({in_flight} in flight"
                  f" when wrk stopped), completed {completed}, non-2xx {refused}, socket errors "
                  f"{errors}: {'nothing lost' if whole else 'MISMATCH'}")  # fmt: skip


def mysql_url(explicit: str | None) -> str:
    if explicit:
        base = make_url(explicit)
    else:
        env = os.environ
        base = make_url(
            f"mysql+pymysql://{env.get('DB_USER', 'root')}:{env.get('DB_PASSWORD', '')}@"
            f"{env.get('DB_HOST', '127.0.0.1')}:{env.get('DB_PORT', '3306')}/test?charset=utf8mb4"
        )
    root = create_engine(base.set(database=""))
    try:
        with root.begin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {MYSQL_DATABASE}")
            connection.exec_driver_sql(f"CREATE DATABASE {MYSQL_DATABASE} CHARACTER SET utf8mb4")
    finally:
        root.dispose()
    return base.set(database=MYSQL_DATABASE).render_as_string(hide_password=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--skip-mysql", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--mysql-url")
    parser.add_argument(
        "--server-arg", action="append", default=[],
        help="one more jupyter server setting, e.g. --WorkscriptApp.max_concurrent_runs=8",
    )  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk (or brew install wrk)")
        return 2
    stores: list[tuple[str, str | None]] = []
    if not args.skip_sqlite:
        stores.append(("sqlite", None))
    if not args.skip_mysql:
        stores.append(("mariadb", mysql_url(args.mysql_url)))
    for label, db_url in stores:
        report(measure_store(label, db_url, args), args.connections)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
