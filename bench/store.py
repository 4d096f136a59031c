"""Store benchmark (issue 5). Prints rates, median page latencies, and ratios to a baseline.

    python bench/store.py [--mysql-url URL] [--skip-mysql]

For SQLite (a temporary file) and MariaDB (database ``workscript_bench``, created and emptied):
1. insert 10,000 executions with 50-node timelines through ``ExecutionStore.create_many`` in
   batches of 500 → executions per second; baseline: the same rows through a bare SQLAlchemy
   ``executemany`` on the same table (the floor the store can reach);
2. fill the table to 100,000 rows (short timelines, not timed);
3. median of 20 requests of: the newest page (50 rows), one workflow's newest page, and the
   page after that via its cursor → milliseconds; baseline: a bare ``SELECT id ... LIMIT 50``.
Targets: ≥ 1,000 inserts/s on MariaDB in batches; a page under 20 ms with 100,000 rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, select, text

from workscript_jupyter.store.records import ExecutionRecord, Scope, new_id, utcnow
from workscript_jupyter.store.tables import metadata, workflow_executions

TIMED_ROWS = 10_000
TOTAL_ROWS = 100_000
BATCH = 500
WORKFLOWS = 20


def timeline(nodes: int) -> list[dict[str, Any]]:
    return [
        {"path": f"/workflow/0/range.../current_step?/{i % 3}/math", "type": "math",
         "edge": "success", "startedAt": "2026-11-26T10:00:00.000Z", "durationMs": 0.01,
         "error": None}
        for i in range(nodes)
    ]  # fmt: skip


def records(owner: str, count: int, nodes: int, start: Any) -> list[ExecutionRecord]:
    line = timeline(nodes)
    return [
        ExecutionRecord(
            id=new_id(), owner_id=owner, status="completed", trigger="cron",
            workflow_id=f"wf{n % WORKFLOWS:02d}", initial_state={"n": n},
            final_state={"n": n, "total": n * 2}, timeline=line, node_runs=nodes,
            created_at=start + timedelta(milliseconds=n), started_at=start, ended_at=start,
            duration_ms=1.0,
        )
        for n in range(count)
    ]  # fmt: skip


def median_ms(action: Any, runs: int = 20) -> float:
    action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def bench(label: str, url: str) -> None:
    from workscript_jupyter.store.sql import SqlStore

    engine = create_engine(url, pool_pre_ping=True)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    store = SqlStore(engine)
    owner = store.users.create(f"bench-{new_id()[:6]}")
    scope = Scope(owner.id)
    start = utcnow()

    rows = records(owner.id, TIMED_ROWS, 50, start)
    started = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        store.executions.create_many(rows[i : i + BATCH])
    store_rate = TIMED_ROWS / (time.perf_counter() - started)

    raw_rows = [
        {**{k: getattr(r, k) for k in (
            "owner_id", "status", "trigger", "workflow_id", "automation_id", "initial_state",
            "final_state", "error", "timeline", "trigger_data", "node_runs", "attempt",
            "claimed_by", "created_at", "started_at", "ended_at", "duration_ms")}, "id": new_id()}
        for r in rows[:2000]
    ]  # fmt: skip
    started = time.perf_counter()
    with engine.begin() as connection:
        for i in range(0, len(raw_rows), BATCH):
            connection.execute(insert(workflow_executions), raw_rows[i : i + BATCH])
    raw_rate = len(raw_rows) / (time.perf_counter() - started)

    filler = records(owner.id, TOTAL_ROWS - TIMED_ROWS - len(raw_rows), 2, start)
    for i in range(0, len(filler), 2000):
        store.executions.create_many(filler[i : i + 2000])
    with engine.connect() as connection:
        total = connection.execute(text("SELECT COUNT(*) FROM workflow_executions")).scalar()

    newest = median_ms(lambda: store.executions.list(scope, limit=50))
    one_workflow = median_ms(lambda: store.executions.list(scope, workflow_id="wf07", limit=50))
    first = store.executions.list(scope, workflow_id="wf07", limit=50)
    second = median_ms(
        lambda: store.executions.list(scope, workflow_id="wf07", limit=50, cursor=first.next_cursor)
    )
    query = (
        select(workflow_executions.c.id)
        .order_by(workflow_executions.c.created_at.desc(), workflow_executions.c.id.desc())
        .limit(50)
    )

    def bare_page() -> None:
        with engine.connect() as connection:
            connection.execute(query).all()

    floor = median_ms(bare_page)
    print(f"{label}: {total:,} rows")
    print(f"  inserts, store.create_many: {store_rate:9,.0f} executions/s (50-node timelines)")
    ratio = store_rate / raw_rate
    print(f"  inserts, bare executemany:  {raw_rate:9,.0f} executions/s   ratio {ratio:.2f}")
    print(f"  newest page (50):           {newest:7.2f} ms")
    print(f"  one workflow's page:        {one_workflow:7.2f} ms")
    print(f"  its next page (cursor):     {second:7.2f} ms")
    print(f"  bare SELECT id LIMIT 50:    {floor:7.2f} ms   ratio newest/bare {newest / floor:.1f}")
    worst = max(newest, one_workflow, second)
    print(f"  targets: page < 20 ms: {'met' if worst < 20 else 'MISSED'}", end="")
    if label == "MariaDB":
        print(f"; inserts >= 1,000/s: {'met' if store_rate >= 1000 else 'MISSED'}")
    else:
        print()
    metadata.drop_all(engine)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mysql-url", default="mysql+pymysql://root:@127.0.0.1:3306/")
    parser.add_argument("--skip-mysql", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bench("SQLite", f"sqlite:///{folder}/bench.sqlite")
    if not args.skip_mysql:
        server = create_engine(args.mysql_url)
        with server.begin() as connection:
            connection.execute(
                text("CREATE DATABASE IF NOT EXISTS workscript_bench CHARACTER SET utf8mb4")
            )
        server.dispose()
        bench("MariaDB", args.mysql_url.rstrip("/") + "/workscript_bench?charset=utf8mb4")


if __name__ == "__main__":
    main()
