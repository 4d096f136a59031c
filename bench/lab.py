"""The Workscript panel in a real JupyterLab and Chromium: a big history, then a stream of runs.

    python bench/lab.py [--seed 10000] [--rate 50] [--seconds 20] [--click-ms 100]
                        [--open-reps 5] [--venv PATH] [--json PATH]

Run by hand, not by CI. Builds the wheel, installs it with its ``lab`` extra into a venv (new,
or ``--venv``'s, kept between runs: then only the package is reinstalled), seeds the SQLite
store through the store API before Lab starts, starts ``jupyter lab`` of that venv and drives
Debian's Chromium (tests/lab/harness.py does all of that for the browser tests too):

(a) ``--seed`` finished runs (default 10,000) in the store. In a freshly loaded Lab, the time
    from running ``workscript:open-panel`` to the first page of Runs rows in the DOM (timed in
    the page), median of ``--open-reps`` loads. Target: < 1 s. The rows must be the server's
    newest page (GET /workscript/executions), in order.
(b) With the Runs list open, runs started over REST at ``--rate`` per second for ``--seconds``
    (a one-step workflow, started by a pacing thread and 4 senders, so ``rate`` runs finish
    each second), while every ``--click-ms`` a key press (a real input event: ArrowDown /
    ArrowUp on the focused select) moves the Runs list's workflow filter between a workflow
    that never runs and the stream's workflow. Timed in the page from the key's event time (so
    time spent queued behind the stream counts) to the DOM showing the filter's result: the
    empty text for the idle workflow, rows for the stream's (each a new page read over REST).
    Target: p99 < 200 ms. The presses end on the stream's workflow; once no run is going, that
    list (built from its page and then live events) must equal the server's newest page of the
    workflow, ids and statuses in order.

Prints a table; writes every figure to ``--json`` (default tests/artifacts/lab/bench-lab.json).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.lab.harness import (  # noqa: E402
    ARTIFACTS,
    VIEWPORT,
    ConsoleLog,
    LabServer,
    Rest,
    Sel,
    build_wheel,
    chromium_present,
    launch_browser,
    open_lab,
    prepare_venv,
    start_lab,
)
from workscript_jupyter.service.identity import JUPYTER_SOURCE  # noqa: E402
from workscript_jupyter.store import migrate  # noqa: E402
from workscript_jupyter.store.connection import create_store_engine  # noqa: E402
from workscript_jupyter.store.records import ExecutionRecord, Scope, new_id  # noqa: E402
from workscript_jupyter.store.sql import SqlStore  # noqa: E402

OPEN_TARGET_MS = 1000.0
CLICK_P99_TARGET_MS = 200.0
PAGE = 50  # the Runs section's page size (labextension/src/sections.tsx)
SENDERS = 4
OWNER = "owner"  # the single-user server's owner (WorkscriptApp: Identities.owner_username)
# the workflow filter lists "Any workflow", then the workflows by name: these two come first
IDLE_NAME = "000 idle (bench)"  # never run: its list is empty
BUSY_NAME = "001 stream (bench)"  # the stream's runs
SERVER_SETTINGS = {
    # the stream is one user's: the per-user defaults (2 going, 100 queued) would measure
    # the run queue's limits rather than the panel
    "max_concurrent_runs": 8,
    "max_concurrent_runs_per_user": 8,
    "max_queued_runs_per_user": 100_000,
}


# -- the store, before Lab starts -------------------------------------------------------------


def seed(db_url: str, runs: int) -> float:
    """``runs`` finished runs of two workflows, one a second back from now, owned by the user
    the server maps its token to; the seconds it took."""
    started = time.perf_counter()
    engine = create_store_engine(db_url)
    try:
        migrate.upgrade(engine)
        store = SqlStore(engine)
        owner = store.users.create(
            OWNER, roles=("admin",), source=JUPYTER_SOURCE, external_id=OWNER
        )
        scope = Scope(owner.id, is_admin=True)
        workflows = [
            store.workflows.create(
                scope,
                name=f"seeded {n}",
                definition={
                    "id": f"seeded-{n}",
                    "name": f"seeded {n}",
                    "version": "1.0.0",
                    "workflow": [{"$.n": n}],
                },
            ).id
            for n in range(2)
        ]
        now = datetime.now(UTC)
        line = [{"path": "/workflow/0", "type": "setState", "durationMs": 0.1}]
        records = [
            ExecutionRecord(
                id=new_id(), owner_id=owner.id, status="completed" if i % 20 else "failed",
                trigger="api" if i % 3 else "cron", workflow_id=workflows[i % 2],
                initial_state={"i": i}, final_state={"i": i}, timeline=line, node_runs=1,
                created_at=now - timedelta(seconds=runs - i + 60),
                started_at=now - timedelta(seconds=runs - i + 60),
                ended_at=now - timedelta(seconds=runs - i + 59), duration_ms=1000.0,
                error={"message": "seeded failure"} if i % 20 == 0 else None,
            )
            for i in range(runs)
        ]  # fmt: skip
        for start in range(0, runs, 1000):
            store.executions.create_many(records[start : start + 1000])
    finally:
        engine.dispose()
    return time.perf_counter() - started


# -- in the page -------------------------------------------------------------------------------

OPEN_AND_TIME = """
async ([command, rows, want, timeoutMs]) => {
  const t0 = performance.now();
  await window.jupyterapp.commands.execute(command);
  return await new Promise((resolve, reject) => {
    const check = () => {
      const dt = performance.now() - t0;
      if (document.querySelectorAll(rows).length >= want) resolve(dt);
      else if (dt > timeoutMs) reject(new Error('no ' + want + ' rows after ' + dt + ' ms'));
      else requestAnimationFrame(check);
    };
    check();
  });
}
"""

ROW_IDS = """
(rows) => [...document.querySelectorAll(rows)].map(r => [r.dataset.runId, r.dataset.status])
"""

# Records, for each key press on the filter, the time from the key's event time to the DOM
# showing the chosen filter's result (checked on every mutation of the Runs section): no row
# for the idle workflow (its empty text), rows for the busy one.
CLICK_RECORDER = """
([runsSel, filterSel, idleId, busyId]) => {
  const runs = document.querySelector(runsSel);
  const select = runs.querySelector(filterSel);
  const bench = (window.__bench = { samples: [], pending: null, keys: 0, missed: 0 });
  const shown = () => {
    const rows = runs.querySelectorAll('[data-run-id]').length;
    const state = runs.querySelector('.jp-Workscript-state:not([role])');
    if (select.value === idleId) return rows === 0 && !!state;
    if (select.value === busyId) return rows > 0;
    return false;
  };
  const settle = () => {
    const p = bench.pending;
    if (p && select.value === p.want && shown()) {
      bench.samples.push(performance.now() - p.t0);
      bench.pending = null;
    }
  };
  select.addEventListener('keydown', e => {
    bench.keys += 1;
    if (bench.pending) bench.missed += 1;  // the previous press never showed its result
    const to = select.selectedIndex + (e.key === 'ArrowDown' ? 1 : -1);
    bench.pending = { t0: e.timeStamp, want: select.options[to].value };
  }, true);
  select.addEventListener('change', () => queueMicrotask(settle));
  new MutationObserver(settle).observe(runs, {
    subtree: true, childList: true, characterData: true, attributes: true
  });
}
"""


@dataclass
class Stream:
    """Runs started at a steady rate from a pacing thread and a few senders."""

    rest: Rest
    workflow_id: str
    rate: float
    seconds: float
    sent: int = 0
    refused: list[str] = field(default_factory=list)
    late_ms: list[float] = field(default_factory=list)  # start of the POST after its slot
    ids: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        begin = time.monotonic()
        total = int(self.rate * self.seconds)
        with ThreadPoolExecutor(SENDERS) as senders:
            for i in range(total):
                slot = begin + i / self.rate
                delay = slot - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                senders.submit(self._send, slot)

    def _send(self, slot: float) -> None:
        late = (time.monotonic() - slot) * 1000
        try:
            run = self.rest.run_workflow(self.workflow_id)
        except Exception as exc:  # noqa: BLE001 (counted and shown, not raised in a thread)
            with self._lock:
                self.refused.append(str(exc)[:200])
            return
        with self._lock:
            self.sent += 1
            self.late_ms.append(late)
            self.ids.append(run["id"])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def finished(rest: Rest, workflow_id: str) -> dict[str, Any]:
    """The stream's runs as the server has them: how many completed, and how fast they ended
    (completed runs over the span from the first start to the last end)."""
    runs: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"workflowId": workflow_id, "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = rest.executions(**params)
        runs.extend(page["items"])
        cursor = page.get("nextCursor")
        if not cursor:
            break
    done = [r for r in runs if r["status"] == "completed"]
    span = (
        (max(_time(r["endedAt"]) for r in done) - min(_time(r["createdAt"]) for r in done))
        if done
        else timedelta(0)
    )
    waits = [(_time(r["endedAt"]) - _time(r["createdAt"])).total_seconds() * 1000 for r in done]
    return {
        "runs": len(runs),
        "completed": len(done),
        "finished_per_s": len(done) / span.total_seconds() if span else float("nan"),
        "start_to_end_p99_ms": percentile(waits, 99),
    }


def wait_idle(rest: Rest, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        going = rest.executions(status="queued,running", limit=1)["items"]
        if not going:
            return
        time.sleep(0.25)
    raise SystemExit(f"runs still going {timeout:.0f} s after the stream ended")


def bench_open(browser: Any, lab: LabServer, rest: Rest, reps: int) -> dict[str, Any]:
    times: list[float] = []
    loads: list[float] = []
    correct = True
    errors: list[str] = []
    for rep in range(reps):
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        console = ConsoleLog()
        console.attach(page)
        try:
            loads.append(open_lab(page, lab, f"bench-open-{rep}"))
            times.append(page.evaluate(OPEN_AND_TIME, [Sel.OPEN_PANEL, Sel.RUN_ROWS, PAGE, 30_000]))
            page.wait_for_timeout(300)  # the rows' names
            shown = [row[0] for row in page.evaluate(ROW_IDS, Sel.RUN_ROWS)][:PAGE]
            newest = [run["id"] for run in rest.executions(limit=PAGE)["items"]]
            correct = correct and shown == newest
            if rep == reps - 1:
                page.screenshot(path=str(ARTIFACTS / "bench-lab-open.png"))
        finally:
            context.close()
        errors.extend(console.errors)
    return {
        "open_ms": times,
        "open_median_ms": statistics.median(times),
        "lab_load_median_s": statistics.median(loads),
        "first_page_is_the_newest": correct,
        "console_errors": errors,
    }


def bench_stream(
    browser: Any, lab: LabServer, rest: Rest, args: argparse.Namespace
) -> dict[str, Any]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    idle = rest.create_workflow(IDLE_NAME)  # before the panel opens: the filter reads them once
    busy = rest.create_workflow(BUSY_NAME, [{"$.done": True}])
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    console = ConsoleLog()
    console.attach(page)
    try:
        open_lab(page, lab, "bench-stream")
        page.evaluate(OPEN_AND_TIME, [Sel.OPEN_PANEL, Sel.RUN_ROWS, PAGE, 30_000])
        page.wait_for_selector(Sel.RUNS_LIVE, timeout=15_000)
        select = page.locator(f"{Sel.RUNS} {Sel.RUNS_WORKFLOW_FILTER}")
        select.locator(f'option[value="{busy["id"]}"]').wait_for(state="attached")
        select.select_option(idle["id"])  # then ArrowDown / ArrowUp: busy, idle, busy...
        page.evaluate(CLICK_RECORDER, [Sel.RUNS, Sel.RUNS_WORKFLOW_FILTER, idle["id"], busy["id"]])
        select.focus()

        stream = Stream(rest, busy["id"], args.rate, args.seconds)
        sender = threading.Thread(target=stream.run, name="stream")
        started = time.monotonic()
        sender.start()
        presses = 0
        down = True  # from idle to busy
        while sender.is_alive() or down:  # the last press selects busy: its list is checked
            pressed = time.monotonic()
            page.keyboard.press("ArrowDown" if down else "ArrowUp")
            presses += 1
            down = not down
            # the next press once this one's result shows (an overtaken press would go
            # untimed and hide the slowest), and not before --click-ms
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_function("() => window.__bench.pending === null", timeout=5000)
            rest_ms = args.click_ms - (time.monotonic() - pressed) * 1000
            if rest_ms > 0:
                page.wait_for_timeout(rest_ms)
        sender.join()
        stream_seconds = time.monotonic() - started
        page.wait_for_timeout(1000)  # the last press's answer
        bench = page.evaluate("() => window.__bench")
        page.screenshot(path=str(ARTIFACTS / "bench-lab-stream.png"))

        wait_idle(rest)
        page.wait_for_timeout(2000)  # the last events and the reads they cause
        shown = page.evaluate(ROW_IDS, Sel.RUN_ROWS)[:PAGE]
        server = rest.executions(workflowId=busy["id"], limit=PAGE)["items"]
        newest = [[r["id"], r["status"]] for r in server]
        ended = finished(rest, busy["id"])
        page.screenshot(path=str(ARTIFACTS / "bench-lab-end.png"))
    finally:
        context.close()
    samples = list(bench["samples"])
    mismatch = [i for i, (a, b) in enumerate(zip(shown, newest, strict=False)) if a != b]
    return {
        "runs_sent": stream.sent,
        "runs_refused": len(stream.refused),
        "refusals": stream.refused[:5],
        "send_rate_per_s": stream.sent / stream_seconds,
        "send_late_p99_ms": percentile(stream.late_ms, 99),
        "server_runs": ended["runs"],
        "server_completed": ended["completed"],
        "finished_per_s": ended["finished_per_s"],
        "run_start_to_end_p99_ms": ended["start_to_end_p99_ms"],
        "presses": presses,
        "click_samples": len(samples),
        "presses_reaching_the_filter": bench["keys"],
        "click_missed": bench["missed"],
        "click_ms": samples,
        "click_p50_ms": percentile(samples, 50),
        "click_p95_ms": percentile(samples, 95),
        "click_p99_ms": percentile(samples, 99),
        "click_max_ms": max(samples, default=float("nan")),
        "list_equals_newest_page": shown == newest,
        "list_rows_compared": len(newest),
        "list_rows_shown": len(shown),
        "list_mismatches": [{"shown": shown[i], "server": newest[i]} for i in mismatch[:5]],
        "console_errors": console.errors,
    }


def row(name: str, value: str, target: str = "", ok: bool | None = None) -> str:
    verdict = "" if ok is None else ("ok" if ok else "MISSED")
    return f"  {name:<52} {value:>16}   {target:<10} {verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=10_000, help="finished runs in the store")
    parser.add_argument("--rate", type=float, default=50.0, help="runs started per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the stream")
    parser.add_argument("--click-ms", type=float, default=100.0, help="between key presses")
    parser.add_argument("--open-reps", type=int, default=5, help="Lab loads for (a)")
    parser.add_argument("--venv", type=Path, help="keep the venv here between runs")
    parser.add_argument("--json", type=Path, default=ARTIFACTS / "bench-lab.json")
    args = parser.parse_args(argv)
    if not chromium_present():
        raise SystemExit("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="workscript-bench-lab-") as tmp:
        base = Path(tmp)
        started = time.monotonic()
        wheel = build_wheel(base / "wheel")
        venv = args.venv.resolve() if args.venv else base / "venv"
        prepare_venv(venv, wheel, reuse=args.venv is not None)
        install_s = time.monotonic() - started
        db_url = f"sqlite:///{base / 'workscript.sqlite'}"
        seed_s = seed(db_url, args.seed)
        lab = start_lab(
            venv, base / "lab", ARTIFACTS / "bench-lab-jupyterlab.log", db_url=db_url,
            workscript=SERVER_SETTINGS,
        )  # fmt: skip
        rest = Rest(lab.url, lab.token)
        try:
            with sync_playwright() as playwright:
                browser = launch_browser(playwright, base / "chromium-home")
                try:
                    opened = bench_open(browser, lab, rest, args.open_reps)
                    streamed = bench_stream(browser, lab, rest, args)
                finally:
                    browser.close()
        except BaseException:
            print(f"--- server log (tail) ---\n{lab.log_tail()}", file=sys.stderr)
            raise
        finally:
            rest.close()
            lab.stop()

    checks = {
        "open": opened["open_median_ms"] < OPEN_TARGET_MS,
        "open_correct": opened["first_page_is_the_newest"],
        "click": streamed["click_p99_ms"] < CLICK_P99_TARGET_MS,
        "list_correct": streamed["list_equals_newest_page"],
        "no_console_errors": not (opened["console_errors"] or streamed["console_errors"]),
    }
    result = {
        "when": datetime.now(UTC).isoformat(),
        "settings": {k: str(v) for k, v in vars(args).items()},
        "install_s": install_s,
        "seed_s": seed_s,
        "open": opened,
        "stream": streamed,
        "checks": checks,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    s = streamed
    errors = len(opened["console_errors"]) + len(s["console_errors"])
    lines = [
        ("wheel build + venv install, s", f"{install_s:.1f}", "", None),
        (f"seed {args.seed:,} runs through the store API, s", f"{seed_s:.1f}", "", None),
        ("(a) Lab load to app.restored, median s", f"{opened['lab_load_median_s']:.2f}", "", None),
        (
            f"(a) open panel -> first {PAGE} Runs rows, median ms",
            f"{opened['open_median_ms']:.0f}",
            f"< {OPEN_TARGET_MS:.0f}",
            checks["open"],
        ),
        ("    each load, ms", " ".join(f"{t:.0f}" for t in opened["open_ms"]), "", None),
        (
            "    rows are the server's newest page",
            str(opened["first_page_is_the_newest"]),
            "True",
            checks["open_correct"],
        ),
        (
            f"(b) runs started ({args.rate:g}/s for {args.seconds:g} s)",
            f"{s['runs_sent']:,}",
            "",
            None,
        ),
        ("    achieved rate, runs/s", f"{s['send_rate_per_s']:.1f}", "", None),
        ("    refused starts", str(s["runs_refused"]), "", None),
        ("    completed (server)", f"{s['server_completed']:,}", "", None),
        ("    finished, runs/s", f"{s['finished_per_s']:.1f}", "", None),
        ("    run created -> ended, p99 ms", f"{s['run_start_to_end_p99_ms']:.0f}", "", None),
        (
            "    key presses / reaching the filter / timed",
            f"{s['presses']} / {s['presses_reaching_the_filter']} / {s['click_samples']}",
            "",
            None,
        ),
        ("    presses whose result never showed (5 s)", str(s["click_missed"]), "0", None),
        (
            "    press -> filter result shown, p50 / p95 ms",
            f"{s['click_p50_ms']:.0f} / {s['click_p95_ms']:.0f}",
            "",
            None,
        ),
        (
            "    press -> filter result shown, p99 ms",
            f"{s['click_p99_ms']:.0f}",
            f"< {CLICK_P99_TARGET_MS:.0f}",
            checks["click"],
        ),
        ("    max ms", f"{s['click_max_ms']:.0f}", "", None),
        (
            f"    list = server's newest {s['list_rows_compared']} (ids, status)",
            str(s["list_equals_newest_page"]),
            "True",
            checks["list_correct"],
        ),
        ("console errors", str(errors), "0", checks["no_console_errors"]),
    ]
    print()
    print(f"  {'measurement':<52} {'value':>16}   {'target':<10}")
    print("  " + "-" * 90)
    for line in lines:
        print(row(*line))
    print(f"\n  figures: {args.json}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
