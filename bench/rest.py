"""REST and WebSocket benchmark of the server extension (issue 6).

    python bench/rest.py [--seconds 5] [--rounds 3] [--concurrency 16] [--clients 100]

Starts ``jupyter server`` as a subprocess (free port, a random token, a temporary root dir and
SQLite database, the extension enabled), creates workflows through the REST API, then measures
with an asyncio load generator (httpx, ``--concurrency`` connections, ``--seconds`` per
measurement after a warm-up; ``--rounds`` alternating rounds, medians printed):

(a) authenticated ``GET /workscript/workflows/{id}`` against the server's own ``GET /api/status``
    in the same server: requests/s of each, their ratio (target >= 0.7), p50/p99 latency
    (target p99 < 50 ms);
(b) ``POST /workscript/workflows/{id}/run?wait=5`` of a 10-node workflow: completed runs per
    second, p50/p99 latency;
(c) ``--clients`` WebSocket clients subscribed to ``executions`` while a 1,000-node run goes:
    per client the delay from each event's ``timestamp`` to its delivery (p99 target < 50 ms),
    and the most messages any client received within one second (target <= 25: node events are
    coalesced per 50 ms window).

The load generator shares the machine with the server, so absolute numbers are a floor; the
ratio of (a) compares both endpoints under the same client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

TARGET_RATIO = 0.7
TARGET_P99_MS = 50.0
TARGET_WS_DELAY_P99_MS = 50.0
TARGET_WS_MAX_PER_SECOND = 25


# -- workflows -------------------------------------------------------------------------------


def flat_document(nodes: int, name: str) -> dict[str, Any]:
    """``nodes`` top-level node runs: math and log in turn (no state setters, which are not
    nodes), the same cycle as bench/engine.py's flat workflow."""
    cycle = [
        {"math": {"operation": "add", "values": ["$.i", 1]}},
        {"log": {"message": "i is {{$.mathResult}}"}},
    ]
    return {
        "id": f"bench-{nodes}",
        "name": name,
        "version": "1.0.0",
        "initialState": {"i": 0},
        "workflow": [cycle[n % len(cycle)] for n in range(nodes)],
    }


# -- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    token: str
    log_path: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def start_server(
    workdir: Path, db_url: str | None = None, extra_args: Sequence[str] = ()
) -> Server:
    """``jupyter server`` with the extension on ``db_url`` (default: a SQLite file in
    ``workdir``); ``extra_args`` are more command-line settings."""
    port = free_port()
    token = secrets.token_hex(16)
    root = workdir / "root"
    root.mkdir()
    db_url = db_url or f"sqlite:///{workdir / 'workscript.sqlite'}"
    log_path = workdir / "server.log"
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        "--no-browser",
        "--allow-root",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.jpserver_extensions={'workscript_jupyter': True}",
        f"--WorkscriptApp.db_url={db_url}",
        "--ServerApp.log_level=WARN",
        *extra_args,
    ]
    log = log_path.open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()
    return Server(process, f"http://127.0.0.1:{port}", token, log_path)


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


async def wait_until_ready(client: httpx.AsyncClient, server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"jupyter server exited:\n{server.log_tail()}")
        try:
            status = await client.get("/api/status")
            if status.status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"jupyter server did not answer in {timeout:.0f} s")
        await asyncio.sleep(0.2)
    health = await client.get("/workscript/health")
    while health.status_code != 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)  # the extension's parts may still be starting
        health = await client.get("/workscript/health")
    if health.status_code != 200:
        raise RuntimeError(
            f"GET /workscript/health answered {health.status_code}: the extension is not "
            f"loaded\n{server.log_tail()}"
        )


async def create_workflow(client: httpx.AsyncClient, document: dict[str, Any]) -> str:
    response = await client.post("/workscript/workflows", json={"definition": document})
    if response.status_code != 201:
        raise RuntimeError(f"creating a workflow: {response.status_code} {response.text[:500]}")
    workflow_id: str = response.json()["id"]
    return workflow_id


# -- HTTP load -------------------------------------------------------------------------------


@dataclass
class Measure:
    count: int
    elapsed: float
    latencies: list[float]  # seconds, of the successful requests
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def p(self, q: float) -> float:
        """The q-th percentile of the latencies, in ms."""
        return percentile(self.latencies, q) * 1000


def wrk_measure(
    server: Server, path: str, seconds: float, connections: int
) -> tuple[float, float] | None:
    """(requests/s, p99 ms) of ``path`` from wrk, a load generator in C that leaves the CPU to
    the server; None where wrk is not installed (apt package wrk)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    out = subprocess.run(
        [wrk, "-t2", f"-c{connections}", f"-d{max(int(seconds), 1)}s", "--latency",
         "-H", f"Authorization: token {server.token}", server.base_url + path],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rate, float(value) * scale


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


Request = Callable[[httpx.AsyncClient], Awaitable[str | None]]  # None = success, else a failure


async def load(
    client: httpx.AsyncClient, request: Request, *, seconds: float, concurrency: int
) -> Measure:
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    start = time.perf_counter()
    deadline = start + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                problem = await request(client)
            except httpx.HTTPError as error:
                problem = type(error).__name__
            if problem is None:
                latencies.append(time.perf_counter() - began)
            else:
                failures[problem] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return Measure(len(latencies), elapsed, latencies, failures)


def get_ok(path: str) -> Request:
    async def request(client: httpx.AsyncClient) -> str | None:
        response = await client.get(path)
        await response.aread()
        return None if response.status_code == 200 else f"HTTP {response.status_code}"

    return request


def run_ok(workflow_id: str, wait: float) -> Request:
    path = f"/workscript/workflows/{workflow_id}/run"

    async def request(client: httpx.AsyncClient) -> str | None:
        response = await client.post(path, params={"wait": str(wait)}, json={})
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        status = response.json().get("status")
        return None if status == "completed" else f"run {status}"

    return request


# -- WebSocket ---------------------------------------------------------------------------------


@dataclass
class WsClient:
    connection: WebSocketClientConnection
    delays_ms: list[float] = field(default_factory=list)
    delays_by_type: dict[str, list[float]] = field(default_factory=dict)
    received_at: list[float] = field(default_factory=list)
    types: Counter[str] = field(default_factory=Counter)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    closed_code: int | None = None


async def ws_connect(server: Server) -> WsClient:
    url = server.base_url.replace("http://", "ws://", 1) + "/workscript/ws"
    request = HTTPRequest(url, headers=server.headers, connect_timeout=30, request_timeout=30)
    connection = await websocket_connect(request, max_message_size=64 * 1024 * 1024)
    return WsClient(connection)


async def ws_subscribe(client: WsClient, channel: str) -> None:
    await client.connection.write_message(json.dumps({"type": "subscribe", "channel": channel}))
    while True:
        text = await asyncio.wait_for(client.connection.read_message(), timeout=30)
        if text is None:
            raise RuntimeError(f"the WebSocket closed while subscribing: {client.connection}")
        message = json.loads(text)
        if message.get("type") == "subscribed":
            return
        if message.get("type") == "error":
            raise RuntimeError(f"subscribing to {channel}: {message}")


async def ws_read(client: WsClient, execution_ids: set[str]) -> None:
    """Record every run event until ``workflow:*`` ends a run listed in ``execution_ids``
    (filled in once the run is started) or the socket closes."""
    final = ("workflow:completed", "workflow:failed", "workflow:cancelled")
    while True:
        text = await client.connection.read_message()
        now = time.time()
        if text is None:
            client.closed_code = client.connection.close_code
            client.done.set()
            return
        message = json.loads(text)
        kind = message.get("type", "")
        if ":" not in kind:  # pong, subscribed, error...
            continue
        client.types[kind] += 1
        client.received_at.append(now)
        delay = now * 1000 - float(message["timestamp"])
        client.delays_ms.append(delay)
        client.delays_by_type.setdefault(kind, []).append(delay)
        if kind in final and message.get("payload", {}).get("executionId") in execution_ids:
            client.done.set()
            return


def max_per_second(times: list[float]) -> int:
    """The most messages inside any 1-second window (sliding, not aligned to clock seconds)."""
    ordered = sorted(times)
    best = start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclass
class WsResult:
    clients: int
    node_runs: int
    run_ms: float
    delays_ms: list[float]
    delays_by_type: dict[str, list[float]]
    per_client_p99_ms: list[float]
    max_per_second: int
    messages: int
    missing: int
    closed: Counter[int]


async def ws_benchmark(
    server: Server, client: httpx.AsyncClient, workflow_id: str, clients: int
) -> WsResult:
    sockets = await asyncio.gather(*(ws_connect(server) for _ in range(clients)))
    try:
        await asyncio.gather(*(ws_subscribe(ws, "executions") for ws in sockets))
        execution_ids: set[str] = set()
        readers = [asyncio.create_task(ws_read(ws, execution_ids)) for ws in sockets]
        response = await client.post(
            f"/workscript/workflows/{workflow_id}/run", params={"wait": "120"}, json={}
        )
        if response.status_code != 200:
            raise RuntimeError(f"the WebSocket run: {response.status_code} {response.text[:300]}")
        run = response.json()
        execution_ids.add(run["id"])
        for ws in sockets:  # an event that arrived before the id was known
            if ws.types["workflow:completed"] + ws.types["workflow:failed"]:
                ws.done.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(ws.done.wait() for ws in sockets)), timeout=30)
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    finally:
        for ws in sockets:
            ws.connection.close()
    delays = [d for ws in sockets for d in ws.delays_ms]
    by_type: dict[str, list[float]] = {}
    for ws in sockets:
        for kind, values in ws.delays_by_type.items():
            by_type.setdefault(kind, []).extend(values)
    return WsResult(
        clients=clients,
        node_runs=int(run.get("nodeRuns") or 0),
        run_ms=float(run.get("durationMs") or 0.0),
        delays_ms=delays,
        delays_by_type=by_type,
        per_client_p99_ms=[percentile(ws.delays_ms, 99) for ws in sockets if ws.delays_ms],
        max_per_second=max((max_per_second(ws.received_at) for ws in sockets), default=0),
        messages=len(delays),
        missing=sum(1 for ws in sockets if not ws.done.is_set()),
        closed=Counter(ws.closed_code for ws in sockets if ws.closed_code is not None),
    )


# -- the report ------------------------------------------------------------------------------


def row(name: str, value: str, target: str = "", ok: bool | None = None) -> str:
    verdict = "" if ok is None else ("ok" if ok else "MISSED")
    return f"  {name:<54} {value:>14}   {target:<10} {verdict}"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def failures_text(measures: list[Measure]) -> str:
    total: Counter[str] = Counter()
    for measure in measures:
        total.update(measure.failures)
    return ", ".join(f"{k} x{v}" for k, v in total.most_common()) or "none"


async def main_async(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="workscript-bench-") as tmp:
        server = start_server(Path(tmp))
        try:
            return await bench(server, args)
        except BaseException:
            print(f"--- server log (tail) ---\n{server.log_tail()}", file=sys.stderr)
            raise
        finally:
            stop_server(server)


async def bench(server: Server, args: argparse.Namespace) -> int:
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=server.headers, limits=limits, timeout=60.0
    ) as client:
        await wait_until_ready(client, server, timeout=90)
        small = await create_workflow(client, flat_document(args.run_nodes, "bench small"))
        large = await create_workflow(client, flat_document(args.ws_nodes, "bench large"))
        workflow_path = f"/workscript/workflows/{small}"
        print(
            f"jupyter server {server.base_url} (pid {server.process.pid}); "
            f"{args.rounds} rounds x {args.seconds:g} s, {args.concurrency} connections"
        )

        # (a) the workflow GET against /api/status, alternating, after a warm-up of each
        status_request, workflow_request = get_ok("/api/status"), get_ok(workflow_path)
        for request in (status_request, workflow_request):
            await load(client, request, seconds=args.warmup, concurrency=args.concurrency)
        status_runs: list[Measure] = []
        workflow_runs: list[Measure] = []
        for _ in range(args.rounds):
            status_runs.append(
                await load(
                    client, status_request, seconds=args.seconds, concurrency=args.concurrency
                )
            )
            workflow_runs.append(
                await load(
                    client, workflow_request, seconds=args.seconds, concurrency=args.concurrency
                )
            )

        # (a') the same pair with wrk, when installed: the Python generator above shares the
        # machine's two cores with the server and caps both endpoints alike
        wrk_status = wrk_measure(server, "/api/status", args.seconds, args.concurrency)
        wrk_workflow = wrk_measure(server, workflow_path, args.seconds, args.concurrency)

        # (b) runs of the 10-node workflow, each waiting for its end
        run_request = run_ok(small, 5.0)
        await load(client, run_request, seconds=args.warmup, concurrency=args.concurrency)
        run_runs = [
            await load(client, run_request, seconds=args.seconds, concurrency=args.concurrency)
            for _ in range(args.rounds)
        ]

        # (c) WebSocket fan-out during a large run
        ws = await ws_benchmark(server, client, large, args.clients)

    status_rate = median([m.rate for m in status_runs])
    workflow_rate = median([m.rate for m in workflow_runs])
    ratio = workflow_rate / status_rate if status_rate else float("nan")
    workflow_p99 = median([m.p(99) for m in workflow_runs])
    run_p99 = median([m.p(99) for m in run_runs])
    ws_p99 = percentile(ws.delays_ms, 99)
    python_ratio, python_p99 = ratio, workflow_p99
    if wrk_status is not None and wrk_workflow is not None:  # wrk's figures decide when present
        ratio, workflow_p99 = wrk_workflow[0] / wrk_status[0], wrk_workflow[1]
    checks = [
        ratio >= TARGET_RATIO,
        workflow_p99 < TARGET_P99_MS,
        ws_p99 < TARGET_WS_DELAY_P99_MS,
        ws.max_per_second <= TARGET_WS_MAX_PER_SECOND,
        ws.missing == 0,
    ]

    print()
    print(f"  {'measurement (median of rounds)':<54} {'value':>14}   {'target':<10}")
    print("  " + "-" * 88)
    print(row("GET /api/status  requests/s", f"{status_rate:,.0f}"))
    print(row("GET /api/status  p50 / p99 ms", _pair(status_runs)))
    print(row("GET /workscript/workflows/{id}  requests/s", f"{workflow_rate:,.0f}"))
    print(row("GET /workscript/workflows/{id}  p50 / p99 ms", _pair(workflow_runs)))
    print(row("  ratio / p99 with this Python generator", f"{python_ratio:.2f} / {python_p99:.1f}"))
    if wrk_status is not None and wrk_workflow is not None:
        print(
            row(
                "wrk GET /api/status  requests/s, p99 ms",
                f"{wrk_status[0]:,.0f}, {wrk_status[1]:.1f}",
            )
        )
        print(
            row(
                "wrk GET /workscript/workflows/{id}  req/s, p99",
                f"{wrk_workflow[0]:,.0f}, {wrk_workflow[1]:.1f}",
            )
        )
    source = "wrk" if wrk_workflow is not None else "python"
    print(
        row(
            f"  ratio workflows / status ({source})",
            f"{ratio:.2f}",
            f">= {TARGET_RATIO}",
            checks[0],
        )
    )
    print(
        row(f"  p99 of the workflow GET, ms ({source})", f"{workflow_p99:.1f}", "< 50", checks[1])
    )
    print(row("  failed requests", failures_text(status_runs + workflow_runs)))
    print(row(f"POST .../run?wait=5 ({args.run_nodes} nodes)  runs/s", _rate(run_runs)))
    print(row("POST .../run?wait=5  p50 / p99 ms", _pair(run_runs)))
    print(row("  p99 of a run, ms", f"{run_p99:.1f}"))
    print(row("  failed runs", failures_text(run_runs)))
    print(
        row(
            f"WebSocket: {ws.clients} clients, run of {ws.node_runs} nodes",
            f"{ws.run_ms:,.0f} ms run",
        )
    )
    print(row("  messages delivered (all clients)", f"{ws.messages:,}"))
    print(row("  event delay p50 ms (all clients)", f"{percentile(ws.delays_ms, 50):.1f}"))
    print(row("  event delay p99 ms (all clients)", f"{ws_p99:.1f}", "< 50", checks[2]))
    for kind, values in sorted(ws.delays_by_type.items()):
        pair = f"{percentile(values, 50):.1f} / {percentile(values, 99):.1f}"
        print(row(f"    {kind} delay p50 / p99 ms (n={len(values)})", pair))
    print(row("  worst client's own p99 ms", f"{max(ws.per_client_p99_ms, default=0):.1f}"))
    print(
        row(
            "  max messages/s of any client",
            f"{ws.max_per_second}",
            f"<= {TARGET_WS_MAX_PER_SECOND}",
            checks[3],
        )
    )
    print(row("  clients without the final event", f"{ws.missing}", "0", checks[4]))
    if ws.closed:
        print(row("  clients closed by the server (code x n)", str(dict(ws.closed))))
    print()
    return 0 if all(checks) else 1


def _pair(measures: list[Measure]) -> str:
    p50 = median([m.p(50) for m in measures])
    p99 = median([m.p(99) for m in measures])
    return f"{p50:.1f} / {p99:.1f}"


def _rate(measures: list[Measure]) -> str:
    return f"{median([m.rate for m in measures]):,.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds of warm-up")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--clients", type=int, default=100, help="WebSocket clients")
    parser.add_argument("--run-nodes", type=int, default=10)
    parser.add_argument("--ws-nodes", type=int, default=1000)
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
