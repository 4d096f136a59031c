"""Cost as the history grows: a store with a million runs and 2,000 automations.

    python bench/history.py [--rows 1000000] [--skip-mysql] [--plans] [--mysql-url URL]

For SQLite (a temporary file) and MariaDB (database ``workscript_history``, created, emptied and
dropped), through the store API on a schema made by the Alembic migrations:

1. fill: ``--rows`` runs (20 owners, 10 workflows and 100 automations each; mostly completed,
   some failed, cancelled, timed out or interrupted, a few queued and running; cron, webhook,
   manual, api and notebook triggers), a fire for every cron run, and 2,000 automations, half
   of them due. Bulk inserts (not what is measured), indexes built after the rows; fill time
   printed.
2. the runs list (``ExecutionStore.list``, 50 a page) as an admin and as one owner: the first
   page; a page filtered by workflow, by status (one, two), by trigger; a page from a cursor
   taken from far back (the 100,000th oldest run); and a walk following cursors. Median and p99
   of 100 calls each; baselines: a bare ``SELECT 1`` round trip and a bare indexed ``SELECT id
   ... ORDER BY created_at DESC, id DESC LIMIT 51``. Target: median < 50 ms. ``--plans`` prints
   each query's plan (EXPLAIN QUERY PLAN / EXPLAIN) and checks that none scans or sorts a table.
3. a scheduler pass over 1,000 due automations: the store calls a pass makes (``due``, the
   overlap check ``active_for_automations``, ``claim_many`` of 1,000 ticks each with its queued
   run, ``set_run_times``, the next wake's ``due``), each timed; the lateness of the pass's ticks
   is the time until their claims are committed (due + overlap check + claim). Baseline: the same
   1,000 fires and runs by bare INSERTs. Then ``Scheduler.run_pass`` itself with a fire handler
   that only claims (the service's handler minus parsing workflows), to show what the
   scheduler's own code adds. p50/p99 of 20 passes. Target: lateness p99 < 250 ms.
4. retention: ``prune_executions`` deletes the 100,000 oldest runs (batches of 500) in a thread
   while another thread reads the first page in a loop. Target: reader p99 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, Index, create_engine, insert, select, text, update

from workscript_jupyter.store import migrate
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.connection import create_store_engine
from workscript_jupyter.store.records import (
    Automation,
    ExecutionRecord,
    FireClaim,
    Scope,
    new_id,
    new_ordered_id,
)
from workscript_jupyter.store.retention import prune_executions
from workscript_jupyter.store.sql import SqlStore
from workscript_jupyter.store.sql.common import encode_cursor
from workscript_jupyter.store.sql.executions import execution_row
from workscript_jupyter.store.sql.query_plans import explain, problems
from workscript_jupyter.store.sql.run_pages import page_query
from workscript_jupyter.store.tables import automations, schedule_fires, workflow_executions

OWNERS = 20
WORKFLOWS_PER_OWNER = 10
AUTOMATIONS = 2000
DUE = 1000
PRUNED = 100_000
SPACING = timedelta(seconds=30)  # a million runs: about a year
CHUNK = 20_000
REPS = 100
PASSES = 20
PAGE_TARGET_MS = 50.0
PASS_TARGET_MS = 250.0
PRUNE_READ_TARGET_MS = 100.0
STATUSES = {"completed": 86, "failed": 9, "cancelled": 2, "timed_out": 1, "interrupted": 2}
TRIGGERS = {"cron": 55, "webhook": 10, "manual": 15, "api": 15, "notebook": 5}
ACTIVE_NEWEST = 40  # the newest runs are still queued or running
OWNER_INDEX = "ix_workflow_executions_owner_id_created_at_id"  # MySQL: the owner key's index


@dataclass
class History:
    admin: Scope
    owner: Scope
    workflow: str  # one of the owner's workflows
    far_admin: str  # cursors from far back (the PRUNED-th oldest run, and the owner's)
    far_owner: str
    prune_before: datetime  # exactly the PRUNED oldest runs are older
    due_at: datetime
    fill_seconds: float
    index_seconds: float  # of which building the runs' indexes


# -- the fill ------------------------------------------------------------------------------------


def fill(engine: Engine, store: SqlStore, rows: int) -> History:
    started = time.perf_counter()
    rng = random.Random(14)
    now = datetime.now(UTC).replace(microsecond=0)
    admin = store.users.create("history-admin", roles=("admin",))
    owners = [store.users.create(f"owner-{n:02d}").id for n in range(OWNERS)]
    workflows = [[new_id() for _ in range(WORKFLOWS_PER_OWNER)] for _ in owners]
    per_owner = AUTOMATIONS // OWNERS
    autos = [[new_id() for _ in range(per_owner)] for _ in owners]
    due_at = now - timedelta(seconds=1)
    with engine.begin() as connection:
        connection.execute(insert(automations), [
            {"id": autos[o][a], "owner_id": owners[o], "name": f"auto-{o}-{a}",
             "trigger_type": "cron", "workflow_id": workflows[o][a % WORKFLOWS_PER_OWNER],
             "parameters": {}, "cron_expression": "0 * * * * *", "timezone": "UTC",
             "enabled": True, "misfire_policy": "run_once", "misfire_grace_seconds": 3600,
             "overlap_policy": "allow", "retry_count": 0, "retry_delay_seconds": 60.0,
             "retry_backoff": 2.0, "next_run_at": due_at if (o * per_owner + a) % 2 == 0
             else now + timedelta(hours=1), "created_at": now, "updated_at": now}
            for o in range(OWNERS) for a in range(per_owner)
        ])  # fmt: skip

    # attributes in time order (t = 0 is the oldest run); rows go in in id order (sorted random
    # ids), so the clustered index (MariaDB) or rowid order (SQLite) is random in time, as it is
    # when runs get random uuid ids
    owner_of = rng.choices(range(OWNERS), k=rows)
    status_of = rng.choices(list(STATUSES), weights=list(STATUSES.values()), k=rows)
    trigger_of = rng.choices(list(TRIGGERS), weights=list(TRIGGERS.values()), k=rows)
    for t in range(max(0, rows - ACTIVE_NEWEST), rows):
        status_of[t] = "queued" if t % 2 else "running"
    pick = [rng.randrange(per_owner) for _ in range(rows)]
    oldest = now - timedelta(minutes=1) - SPACING * rows
    ids = sorted(new_id() for _ in range(rows))
    times = list(range(rows))
    rng.shuffle(times)
    id_at = [""] * rows
    indexes = [i for i in workflow_executions.indexes if i.name != OWNER_INDEX]
    with engine.begin() as connection:
        for index in indexes:  # built after the rows: a sort, not a million B-tree inserts
            index.drop(connection)
    when = _time_value(engine)
    timeline = '[{"path": "/workflow/0", "type": "math", "durationMs": 0.4}]'
    fires = []
    for start in range(0, rows, CHUNK):
        runs = []
        for j in range(start, min(rows, start + CHUNK)):
            t = times[j]
            o, p = owner_of[t], pick[t]
            at = oldest + SPACING * t
            trigger, status = trigger_of[t], status_of[t]
            automation = autos[o][p] if trigger in ("cron", "webhook") else None
            run_id = id_at[t] = ids[j]
            warned = t % 100 == 7
            runs.append((
                run_id, owners[o], workflows[o][p % WORKFLOWS_PER_OWNER], automation, status,
                trigger, f'{{"n": {t}}}', '{"ok": true}' if status == "completed" else "{}",
                '{"message": "boom"}' if status == "failed" else None, timeline, "{}", 3, 1,
                "bench", when(at), when(at), when(at + timedelta(seconds=2)), 2000.0,
                '[{"code": "w"}]' if warned else None, int(warned),
            ))  # fmt: skip
            if trigger == "cron":
                fires.append((new_id(), automation, when(at), "bench", when(at), "fired", run_id))
        _insert(engine, workflow_executions.name, RUN_COLUMNS, runs)
    fires.sort()  # in primary key order, like the runs
    for start in range(0, len(fires), CHUNK):
        _insert(engine, schedule_fires.name, FIRE_COLUMNS, fires[start : start + CHUNK])
    rows_done = time.perf_counter()
    _build_indexes(engine, indexes)
    indexes_seconds = time.perf_counter() - rows_done
    first_owner = Scope(owners[0])
    far = min(PRUNED, rows // 10)  # the oldest tenth at most
    mine = [t for t in range(far, rows) if owner_of[t] == 0]
    return History(
        admin=Scope(admin.id, is_admin=True),
        owner=first_owner,
        workflow=workflows[0][0],
        far_admin=encode_cursor(oldest + SPACING * far, id_at[far]),
        far_owner=encode_cursor(oldest + SPACING * mine[0], id_at[mine[0]]),
        prune_before=oldest + SPACING * far - SPACING / 2,  # between two runs
        due_at=due_at,
        fill_seconds=time.perf_counter() - started,
        index_seconds=indexes_seconds,
    )


RUN_COLUMNS = (
    "id", "owner_id", "workflow_id", "automation_id", "status", "trigger", "initial_state",
    "final_state", "error", "timeline", "trigger_data", "node_runs", "attempt", "claimed_by",
    "created_at", "started_at", "ended_at", "duration_ms", "warnings", "has_warnings",
)  # fmt: skip
FIRE_COLUMNS = (
    "id", "automation_id", "scheduled_for", "claimed_by", "claimed_at", "outcome", "execution_id"
)  # fmt: skip


def _time_value(engine: Engine) -> Callable[[datetime], Any]:
    """A UTC time as the driver takes it for a ``UtcDateTime`` column (what SQLAlchemy would
    send: SQLite stores text, MySQL a naive DATETIME(6))."""
    if engine.dialect.name == "sqlite":
        return lambda at: at.replace(tzinfo=None).isoformat(" ", "microseconds")
    return lambda at: at.replace(tzinfo=None)


def _build_indexes(engine: Engine, indexes: list[Index]) -> None:
    """The runs' indexes, after the rows: MySQL builds them all in one ALTER TABLE (one read of
    the table); SQLite one CREATE INDEX each."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            for index in indexes:
                index.create(connection)
        return
    quote = engine.dialect.identifier_preparer.quote
    parts = [
        f"ADD INDEX {index.name} ({', '.join(quote(c.name) for c in index.columns)})"
        for index in indexes
    ]
    with engine.begin() as connection:
        connection.exec_driver_sql(f"ALTER TABLE workflow_executions {', '.join(parts)}")


def _insert(engine: Engine, table: str, columns: tuple[str, ...], rows: list[Any]) -> None:
    """The fill's bulk insert: the driver's executemany (multi-row INSERTs with PyMySQL), one
    transaction per chunk, with MySQL's per-row checks off for the session."""
    quote = engine.dialect.identifier_preparer.quote
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(quote(column) for column in columns)
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(columns))})"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name != "sqlite":
            cursor.execute("SET unique_checks = 0, foreign_key_checks = 0")
        cursor.executemany(sql, rows)
        raw.commit()
        if engine.dialect.name != "sqlite":  # the connection goes back to the pool
            cursor.execute("SET unique_checks = 1, foreign_key_checks = 1")
    finally:
        raw.close()


# -- measuring ------------------------------------------------------------------------------------


def timed(action: Callable[[], Any], reps: int) -> list[float]:
    action()  # warm: the first call compiles the statement
    spent = []
    for _ in range(reps):
        started = time.perf_counter()
        action()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def figure(label: str, values: list[float], target: str = "") -> str:
    med = statistics.median(values)
    return f"  {label:<44} median {med:8.2f} ms   p99 {p99(values):8.2f} ms  {target}"


Case = tuple[str, Scope, dict[str, Any], tuple[str, ...]]


def list_cases(h: History) -> Iterator[Case]:
    """(label, scope, filters, the columns the index read must start with)."""
    for who, scope, far in (("admin", h.admin, h.far_admin), ("owner", h.owner, h.far_owner)):
        own: tuple[str, ...] = () if scope.is_admin else ("owner_id",)
        status = (*own, "status")
        yield f"{who}: first page", scope, {}, own
        yield f"{who}: workflow", scope, {"workflow_id": h.workflow}, ("workflow_id",)
        yield f"{who}: status=failed", scope, {"status": "failed"}, status
        yield f"{who}: status=cancelled", scope, {"status": "cancelled"}, status
        yield f"{who}: status=failed,cancelled", scope, {"status": ["failed", "cancelled"]}, status
        yield f"{who}: status=queued,running", scope, {"status": ["queued", "running"]}, status
        yield f"{who}: trigger=webhook", scope, {"trigger": "webhook"}, (*own, "trigger")
        # a user's runs with warnings: either index will do (the other column tested per row)
        warned: tuple[str, ...] = () if own else ("has_warnings",)
        yield f"{who}: hasWarnings", scope, {"has_warnings": True}, warned
        yield f"{who}: cursor from far back", scope, {"cursor": far}, own


def bench_lists(engine: Engine, store: SqlStore, h: History, show_plans: bool) -> list[str]:
    failures: list[str] = []

    def bare_round_trip() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1")).all()

    bare_page = (
        select(workflow_executions.c.id)
        .order_by(workflow_executions.c.created_at.desc(), workflow_executions.c.id.desc())
        .limit(51)
    )

    def bare_indexed() -> None:
        with engine.connect() as connection:
            connection.execute(bare_page).all()

    round_trip = timed(bare_round_trip, REPS)
    floor = timed(bare_indexed, REPS)
    print(figure("baseline: SELECT 1 round trip", round_trip))
    print(figure("baseline: bare indexed SELECT id LIMIT 51", floor))
    for label, scope, filters, leading in list_cases(h):
        spent = timed(lambda s=scope, f=filters: store.executions.list(s, limit=50, **f), REPS)
        met = statistics.median(spent) < PAGE_TARGET_MS
        ratio = statistics.median(spent) / statistics.median(floor)
        print(figure(label, spent, f"x{ratio:5.1f} bare  {'met' if met else 'MISSED'}"))
        if not met:
            failures.append(label)
        with engine.connect() as connection:
            plan = explain(connection, page_query(scope, limit=50, **filters))
        found = problems(plan)  # a scan, or a sort of a table's rows: a failure
        tested = [p for p in problems(plan, leading=leading) if p not in found]
        if found:
            failures.append(f"{label}: {'; '.join(found)}")
        if show_plans or found or tested:
            for line in plan.lines():
                print(f"      {line}")
            verdict = "; ".join(found) if found else "every table read through an index in order"
            # an index read in order that tests each row for the filter: the database's cost
            # based choice, bounded by how common the value is (its time is the figure above)
            extra = f" (note: {'; '.join(tested)})" if tested else ""
            print(f"      -> {verdict}{extra}")
    for who, scope in (("admin", h.admin), ("owner", h.owner)):
        walk = []
        cursor = None
        for _ in range(REPS):
            started = time.perf_counter()
            page = store.executions.list(scope, limit=50, cursor=cursor)
            walk.append((time.perf_counter() - started) * 1000)
            cursor = page.next_cursor
        print(figure(f"{who}: each of {REPS} pages following cursors", walk))
    return failures


def reset_due(engine: Engine, due_at: datetime | None) -> None:
    """Untimed, between passes: the last pass's queued runs finished, and DUE automations due at
    ``due_at`` (the others an hour later; None: none due)."""
    runs = workflow_executions
    with engine.begin() as connection:
        connection.execute(
            update(runs)
            .where(runs.c.status == "queued", runs.c.claimed_by == "pass")
            .values(status="completed")
        )
        later = (due_at or datetime.now(UTC)) + timedelta(hours=1)
        connection.execute(update(automations).values(next_run_at=later))
        if due_at is None:
            return
        chosen = select(automations.c.id).order_by(automations.c.id).limit(DUE)
        ids = [row[0] for row in connection.execute(chosen)]
        connection.execute(
            update(automations).where(automations.c.id.in_(ids)).values(next_run_at=due_at)
        )


def fired(automation: Automation, tick: datetime, now: datetime) -> FireClaim:
    """A tick claimed with its queued run, as the service's fire handler builds it (the run id
    time-ordered: ``new_ordered_id``)."""
    run = ExecutionRecord(
        id=new_ordered_id(),
        owner_id=automation.owner_id,
        status="queued",
        trigger="cron",
        workflow_id=automation.workflow_id,
        automation_id=automation.id,
        claimed_by="pass",
        created_at=now,
    )
    return FireClaim(automation.id, tick, outcome="fired", run=run)


def store_pass(store: SqlStore, now: datetime) -> dict[str, float]:
    """The store calls of one scheduler pass, in its order; milliseconds spent in each."""
    spent: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        spent[name] = (time.perf_counter() - clock) * 1000
        clock = time.perf_counter()

    due = store.automations.due(now, limit=1000)
    lap("due")
    store.executions.active_for_automations([a.id for a in due])
    lap("overlap check")
    claims = [fired(a, a.next_run_at, now) for a in due if a.next_run_at is not None]
    store.fires.claim_many(claims, "bench")
    lap("claim_many")
    later = now + timedelta(minutes=1)
    store.automations.set_run_times([(a.id, later, a.next_run_at) for a in due])
    lap("set_run_times")
    store.automations.due(now + timedelta(days=3660), limit=1)
    lap("next wake")
    return spent


def bare_claims(engine: Engine, store: SqlStore, now: datetime) -> None:
    """The floor of a claim: the same 1,000 fires and runs by a bare executemany."""
    due = store.automations.due(now, limit=1000)
    claims = [fired(a, a.next_run_at, now) for a in due if a.next_run_at is not None]
    fires = [
        {"id": new_ordered_id(), "automation_id": c.automation_id, "scheduled_for": c.scheduled_for,
         "claimed_by": "bench", "claimed_at": now, "outcome": "fired", "execution_id": c.run.id}
        for c in claims if c.run is not None
    ]  # fmt: skip
    runs = [execution_row(c.run) for c in claims if c.run is not None]
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(insert(schedule_fires), fires)
        connection.execute(insert(workflow_executions), runs)
    return (time.perf_counter() - started) * 1000


def scheduler_pass(store: Store, now: datetime) -> None:
    """``Scheduler.run_pass`` itself, with a fire handler that claims what it is given."""
    from workscript_jupyter.scheduler.core import Scheduler
    from workscript_jupyter.scheduler.lock_file import FileLeaderLock
    from workscript_jupyter.store.aio import run_off_loop

    async def fire(ticks: Any) -> Any:
        await run_off_loop(
            store.executions.active_for_automations, [t.automation.id for t in ticks]
        )
        claims = [fired(t.automation, t.scheduled_for, now) for t in ticks]
        return await run_off_loop(store.fires.claim_many, claims, "bench")

    async def one_pass() -> None:
        lock = FileLeaderLock(Path(tempfile.gettempdir()) / "workscript-history-bench.lock")
        scheduler = Scheduler(store, lock, fire, server_id="bench", clock=lambda: now)
        await scheduler.run_pass()

    asyncio.run(one_pass())


def memory_pass(rounds: int) -> list[float]:
    """``Scheduler.run_pass`` over DUE due automations on the memory store: what the
    scheduler's own code costs (planning each automation's ticks) when the store costs ~0."""
    from workscript_jupyter.store.memory import MemoryStore

    store = MemoryStore()
    owner = Scope(store.users.create("memory-owner").id)
    minute = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=10)
    made = [
        store.automations.create(owner, name=f"m{n}", trigger_type="cron",
                                 cron_expression="0 * * * * *", overlap_policy="allow")
        for n in range(DUE)
    ]  # fmt: skip
    spent = []
    for n in range(rounds):
        due_at = minute + timedelta(minutes=n)
        store.automations.set_run_times([(a.id, due_at, None) for a in made])
        started = time.perf_counter()
        scheduler_pass(store, due_at + timedelta(milliseconds=500))
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def bench_passes(engine: Engine, store: SqlStore, h: History) -> list[str]:
    """Lateness of a pass's ticks: from the pass's start until their claims (with their runs)
    are committed; then the pass's last store calls, then ``Scheduler.run_pass`` whole."""
    minute = h.due_at.replace(second=0) + timedelta(minutes=10)  # ticks of "0 * * * * *"
    laps: list[dict[str, float]] = []
    bare: list[float] = []
    for n in range(PASSES):
        reset_due(engine, minute + timedelta(minutes=n))
        laps.append(store_pass(store, minute + timedelta(minutes=n, milliseconds=500)))
        reset_due(engine, minute + timedelta(minutes=PASSES + n))
        bare.append(bare_claims(engine, store, minute + timedelta(minutes=PASSES + n)))
    whole = []
    for n in range(2 * PASSES, 3 * PASSES):
        reset_due(engine, minute + timedelta(minutes=n))
        started = time.perf_counter()
        scheduler_pass(store, minute + timedelta(minutes=n, milliseconds=500))
        whole.append((time.perf_counter() - started) * 1000)
    reset_due(engine, None)
    late = [lap["due"] + lap["overlap check"] + lap["claim_many"] for lap in laps]
    calls = [sum(lap.values()) for lap in laps]
    met = p99(late) < PASS_TARGET_MS
    print(figure(f"baseline: bare INSERTs of {DUE} fires + runs", bare))
    for name in laps[0]:
        print(figure(f"  {name}", [lap[name] for lap in laps]))
    verdict = f"p99 < {PASS_TARGET_MS:.0f} ms: {'met' if met else 'MISSED'}"
    ratio = statistics.median(late) / statistics.median(bare)
    print(
        figure(
            f"lateness: due + overlap + claim, {DUE} due", late, f"x{ratio:4.1f} bare  {verdict}"
        )
    )
    print(figure("all the store calls of the pass", calls))
    print(figure("Scheduler.run_pass (scheduler code + store)", whole))
    print(figure("Scheduler.run_pass on the memory store", memory_pass(PASSES)))
    return [] if met else ["scheduler pass lateness"]


def bench_retention(engine: Engine, store: SqlStore, h: History) -> list[str]:
    alone = timed(lambda: store.executions.list(h.admin, limit=50), REPS)
    done = threading.Event()
    deleted: list[int] = []
    pruning: list[float] = []

    def prune() -> None:
        started = time.perf_counter()
        now = datetime.now(UTC)
        days = (now - h.prune_before).total_seconds() / 86400
        deleted.append(prune_executions(store, retention_days=days, max_per_workflow=0, now=now))
        pruning.append(time.perf_counter() - started)
        done.set()

    reads = []
    thread = threading.Thread(target=prune)
    thread.start()
    while not done.is_set():
        started = time.perf_counter()
        store.executions.list(h.admin, limit=50)
        reads.append((time.perf_counter() - started) * 1000)
    thread.join()
    met = p99(reads) < PRUNE_READ_TARGET_MS
    print(
        f"  pruned {deleted[0]:,} runs in {pruning[0]:.1f} s "
        f"({deleted[0] / pruning[0]:,.0f}/s, batches of 500)"
    )
    print(figure("first page alone (baseline)", alone))
    print(
        figure(
            f"first page while pruning ({len(reads)} reads)",
            reads,
            f"p99 < {PRUNE_READ_TARGET_MS:.0f} ms: {'met' if met else 'MISSED'}",
        )
    )
    return [] if met else ["reads while pruning"]


def bench(label: str, url: str, rows: int, show_plans: bool) -> list[str]:
    engine = create_store_engine(url)
    migrate.upgrade(engine)
    store = SqlStore(engine)
    h = fill(engine, store, rows)
    with engine.connect() as connection:
        total = connection.execute(text("SELECT COUNT(*) FROM workflow_executions")).scalar()
        fires = connection.execute(text("SELECT COUNT(*) FROM schedule_fires")).scalar()
    print(
        f"{label}: {total:,} runs, {fires:,} fires, {AUTOMATIONS:,} automations; "
        f"filled in {h.fill_seconds:.0f} s ({h.index_seconds:.0f} s of it building indexes)"
    )
    failures = bench_lists(engine, store, h, show_plans)
    failures += bench_passes(engine, store, h)
    failures += bench_retention(engine, store, h)
    engine.dispose()
    return [f"{label}: {failure}" for failure in failures]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--mysql-url", default="mysql+pymysql://root:@127.0.0.1:3306/")
    parser.add_argument("--skip-mysql", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--plans", action="store_true", help="print every query's plan")
    args = parser.parse_args()
    failures = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            failures += bench("SQLite", f"sqlite:///{folder}/history.sqlite", args.rows, args.plans)
    if not args.skip_mysql:
        server = create_engine(args.mysql_url)
        with server.begin() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS workscript_history"))
            connection.execute(text("CREATE DATABASE workscript_history CHARACTER SET utf8mb4"))
        try:
            url = args.mysql_url.rstrip("/") + "/workscript_history?charset=utf8mb4"
            failures += bench("MariaDB", url, args.rows, args.plans)
        finally:
            with server.begin() as connection:
                connection.execute(text("DROP DATABASE IF EXISTS workscript_history"))
            server.dispose()
    print("targets: " + ("all met" if not failures else "MISSED: " + " | ".join(failures)))


if __name__ == "__main__":
    main()
