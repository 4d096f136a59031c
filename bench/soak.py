"""Soak: webhook runs at a steady rate for minutes, with WebSocket clients watching (issue 14).

    python bench/soak.py [--minutes 10] [--rate R] [--clients 20] [--mysql]

Needs wrk (``apt-get install -y wrk``). One ``jupyter server`` with the extension (SQLite by
default, MariaDB with ``--mysql``), a 3-node workflow behind a webhook. Without ``--rate``, a
10-second wrk burst measures the maximum webhook rate first and the soak runs at half of it.
``--clients`` WebSocket clients subscribe to ``executions`` and read every message.

wrk holds the rate with its Lua ``delay()`` hook (each of its connections waits
connections/rate seconds between requests). Every ``--every`` seconds the bench prints the
series: the server's RSS, open file descriptors and threads (from ``/proc``), the asyncio tasks
the server reports (``GET /workscript/health``, ``process.tasks``), the runs recorded so far and
the WebSocket messages received. At the end: every run recorded and final, RSS growth after the
warm-up (the first ``--warmup`` seconds; target < 10 %), and file descriptors and tasks before
the load against after it (both idle, clients still connected, then after they disconnect).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rest import Server, start_server, stop_server, ws_connect, ws_subscribe
from throughput import RunCounter, mysql_url, post_script, prepare, wrk

TARGET_RSS_GROWTH = 0.10
CLOSE_TRY_AGAIN_LATER = 1013  # the server's close code for a reader that fell behind


@dataclass
class Sample:
    at: float  # seconds since the load started
    rss_mb: float
    fds: int
    threads: int
    tasks: int | None
    runs: int
    messages: int


@dataclass
class Watchers:
    """WebSocket clients on a loop of their own (a thread): they read while wrk loads."""

    count: int
    server: Server
    messages: int = 0
    closed: int = 0
    dropped: int = 0  # closed by the server as too slow, then reconnected
    stopping: bool = False
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _clients: list[Any] = field(default_factory=list)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self._connect())
            ready.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=main, daemon=True)
        self._thread.start()
        if not ready.wait(120):
            raise RuntimeError("the WebSocket clients did not connect")

    async def _connect(self) -> None:
        for _ in range(self.count):
            client = await ws_connect(self.server)
            await ws_subscribe(client, "executions")
            self._clients.append(client)
            self.loop.create_task(self._read(client))

    async def _read(self, client: Any) -> None:
        """Read every message; when the server drops this client as too slow (close code 1013,
        "try again later": it protects itself from readers that fall behind), reconnect and
        subscribe again, as a real client would."""
        while not self.stopping:
            text = await client.connection.read_message()
            if text is not None:
                self.messages += 1
                continue
            if self.stopping or client.connection.close_code != CLOSE_TRY_AGAIN_LATER:
                self.closed += 1
                return
            self.dropped += 1
            await asyncio.sleep(0.5)
            fresh = await ws_connect(self.server)
            await ws_subscribe(fresh, "executions")
            self._clients[self._clients.index(client)] = fresh
            client = fresh

    def stop(self) -> None:
        self.stopping = True

        async def close() -> None:
            for client in self._clients:
                client.connection.close()
            await asyncio.sleep(0.5)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(30)


def proc_figures(pid: int) -> tuple[float, int, int]:
    """(RSS in MB, open file descriptors, threads) of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss_kb = int(fields["VmRSS"].split()[0])
    threads = int(fields["Threads"].strip())
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss_kb / 1024, fds, threads


def server_tasks(server: Server) -> int | None:
    try:
        reply = httpx.get(
            server.base_url + "/workscript/health", headers=server.headers, timeout=10
        ).json()
    except (httpx.HTTPError, json.JSONDecodeError):
        return None
    process = reply.get("process") or {}
    tasks = process.get("tasks")
    return int(tasks) if isinstance(tasks, int) else None


def sample(
    server: Server, counter: RunCounter, watchers: Watchers, began: float, epoch: Any
) -> Sample:
    rss, fds, threads = proc_figures(server.process.pid)
    runs, _, _ = counter.since("webhook", epoch)
    return Sample(
        at=time.monotonic() - began, rss_mb=rss, fds=fds, threads=threads,
        tasks=server_tasks(server), runs=runs, messages=watchers.messages,
    )  # fmt: skip


def paced_script(workdir: Path, connections: int, rate: float) -> Path:
    """The webhook POST with a per-connection delay that holds ``rate`` requests/s in all."""
    path = post_script(workdir, "paced", {})
    delay_ms = max(1, round(connections / rate * 1000))
    with path.open("a") as script:
        script.write(f"function delay()\n  return {delay_ms}\nend\n")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, help="requests/s (default: half the maximum)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument("--mysql", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk (or brew install wrk)")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    db_url = mysql_url(None) if args.mysql else None
    server = start_server(workdir, db_url)
    counter: RunCounter | None = None
    watchers: Watchers | None = None
    try:
        _, token = asyncio.run(prepare(server))
        counter = RunCounter(db_url or f"sqlite:///{workdir / 'workscript.sqlite'}")
        url = f"{server.base_url}/workscript/hooks/{token}"
        rate = args.rate
        if rate is None:
            burst = wrk(url, seconds=10, connections=args.connections,
                        script=post_script(workdir, "burst", {}))  # fmt: skip
            counter.wait_idle()
            rate = burst.rate / 2
            print(f"maximum webhook rate {burst.rate:.0f}/s: the soak runs at {rate:.0f}/s")
        epoch = counter.now()  # the runs of this soak come after
        idle_no_clients = proc_figures(server.process.pid), server_tasks(server)
        watchers = Watchers(args.clients, server)
        watchers.start()
        time.sleep(2)
        idle_before = proc_figures(server.process.pid), server_tasks(server)
        seconds = args.minutes * 60
        load = subprocess.Popen(
            ["wrk", "-t2", f"-c{args.connections}", f"-d{int(seconds)}s", "--timeout", "10s",
             "-s", str(paced_script(workdir, args.connections, rate)), url],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        began = time.monotonic()
        series: list[Sample] = []
        print(f"{'t (s)':>7} {'RSS MB':>8} {'fds':>5} {'threads':>7} {'tasks':>6} {'runs':>8}"
              f" {'ws msgs':>9}")  # fmt: skip
        while load.poll() is None:
            time.sleep(min(args.every, max(0.5, seconds + began - time.monotonic() + 0.5)))
            point = sample(server, counter, watchers, began, epoch)
            series.append(point)
            print(f"{point.at:7.0f} {point.rss_mb:8.1f} {point.fds:5d} {point.threads:7d} "
                  f"{point.tasks if point.tasks is not None else '-':>6} {point.runs:8d} "
                  f"{point.messages:9d}", flush=True)  # fmt: skip
        out = load.communicate()[0]
        counter.wait_idle()
        time.sleep(2)
        idle_after = proc_figures(server.process.pid), server_tasks(server)
        recorded, completed, _ = counter.since("webhook", epoch)
        watchers_dropped = watchers.dropped
        watchers.stop()
        time.sleep(2)
        idle_no_clients_after = proc_figures(server.process.pid), server_tasks(server)
        watchers = None
        report(series, out, recorded, completed, args,
               (idle_no_clients, idle_before, idle_after, idle_no_clients_after))  # fmt: skip
        print(f"WebSocket: {args.clients} clients, {watchers_dropped} drops of a client that "
              "fell behind (close 1013, reconnected)")  # fmt: skip
        return 0
    finally:
        if watchers is not None:
            watchers.stop()
        if counter is not None:
            counter.close()
        stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)


def report(
    series: list[Sample],
    wrk_out: str,
    recorded: int,
    completed: int,
    args: argparse.Namespace,
    idle: tuple[Any, Any, Any, Any],
) -> None:
    answered = int(re.search(r"(\d+) requests in", wrk_out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk_out)
    refused = int(non_2xx.group(1)) if non_2xx else 0
    final = "every run final" if recorded == completed else "MISMATCH"
    print(f"\nwrk: {answered} answers, {refused} non-2xx; store: {recorded} runs recorded, "
          f"{completed} completed ({final})")  # fmt: skip
    after_warmup = [s for s in series if s.at >= args.warmup] or series
    base = after_warmup[0].rss_mb
    peak = max(s.rss_mb for s in after_warmup)
    last = statistics.median(s.rss_mb for s in after_warmup[-3:])
    growth = (last - base) / base
    verdict = "met" if growth < TARGET_RSS_GROWTH else "MISSED"
    print(f"RSS after the warm-up: {base:.1f} MB, at the end {last:.1f} MB (median of the last"
          f" 3 samples), peak {peak:.1f} MB: growth {growth * 100:+.1f} % (target < 10 %:"
          f" {verdict})")  # fmt: skip
    names = ("idle, no clients", "idle, clients connected (before)",
             "idle, clients connected (after)", "idle, clients gone (after)")  # fmt: skip
    for name, ((rss, fds, threads), tasks) in zip(names, idle, strict=True):
        print(f"  {name:34} RSS {rss:7.1f} MB  fds {fds:4d}  threads {threads:3d}  tasks "
              f"{tasks if tasks is not None else '-'}")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
