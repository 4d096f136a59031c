"""Part (c) of bench/hub.py: the scheduler of a whole hub under load.

``scheduling_load`` gives ``users`` hub users ``per_user`` cron automations each, every 10 s, of a
one-step workflow (overlapPolicy ``allow``: every tick must run) for ``minutes``, then disables
them, lets the runs drain and reads every fire and run from the service's database: ticks
expected vs fired, duplicates and lost ticks (both must be 0), and the lateness of each claim and
run start (p50/p99/max).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tests.hub.harness import Hub, http

__all__ = ["median", "percentile", "scheduling_load"]

EVERY_10S = "*/10 * * * * *"
TICK_SECONDS = 10
EDGE_SECONDS = 1.0  # a tick this close to an automation's creation or disabling may go either way
DRAIN_SECONDS = 60.0
SENDERS = 8  # threads creating / disabling automations


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


def create_automations(hub: Hub, user: str, count: int) -> list[dict[str, Any]]:
    token = hub.tokens[user]
    definition: dict[str, Any] = {"id": f"tick-{user}", "name": "tick", "version": "1.0.0"}
    definition["workflow"] = [{"$.done": True}]
    url = f"{hub.service_url}/workscript/workflows"
    saved = http("POST", url, token=token, body={"definition": definition})
    if saved.code != 201:
        raise SystemExit(f"{user}: the workflow was not saved ({saved.code}): {saved.body}")
    made = []
    for index in range(count):
        body = {
            "name": f"tick {user} {index}",
            "workflowId": saved.body["id"],
            "triggerType": "cron",
            "cron": EVERY_10S,
            "overlapPolicy": "allow",
        }
        reply = http("POST", f"{hub.service_url}/workscript/automations", token=token, body=body)
        if reply.code != 201:
            raise SystemExit(f"{user}: the automation was not made ({reply.code}): {reply.body}")
        made.append({"id": reply.body["id"], "user": user, "created": time.time()})
    return made


def disable(hub: Hub, automation: dict[str, Any]) -> None:
    automation["disabling"] = time.time()
    reply = http(
        "PATCH",
        f"{hub.service_url}/workscript/automations/{automation['id']}/toggle",
        token=hub.tokens[automation["user"]],
        body={"enabled": False},
    )
    if reply.code != 200:
        raise SystemExit(f"{automation['id']} was not disabled ({reply.code}): {reply.body}")


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def drain(engine: sa.Engine, ids: list[str]) -> int:
    """Wait until no run of these automations is queued or running; how many still are."""
    query = sa.text(
        "SELECT COUNT(*) FROM workflow_executions WHERE automation_id IN :ids "
        "AND status IN ('queued', 'pending', 'running')"
    ).bindparams(sa.bindparam("ids", expanding=True))
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        with engine.connect() as connection:
            left = int(connection.execute(query, {"ids": ids}).scalar_one())
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def tick_boundaries(after: float, before: float) -> list[float]:
    first = int(after // TICK_SECONDS + 1) * TICK_SECONDS
    return [float(t) for t in range(first, int(before) + 1, TICK_SECONDS) if t <= before]


def measure_schedules(db_url: str, automations: list[dict[str, Any]]) -> dict[str, Any]:
    engine = sa.create_engine(db_url)
    ids = [a["id"] for a in automations]
    still_going = drain(engine, ids)
    fires_query = sa.text(
        "SELECT automation_id, scheduled_for, claimed_at, outcome FROM schedule_fires "
        "WHERE automation_id IN :ids"
    ).bindparams(sa.bindparam("ids", expanding=True))
    runs_query = sa.text(
        "SELECT automation_id, trigger_data, started_at, status FROM workflow_executions "
        "WHERE automation_id IN :ids"
    ).bindparams(sa.bindparam("ids", expanding=True))
    with engine.connect() as connection:
        fires = connection.execute(fires_query, {"ids": ids}).all()
        runs = connection.execute(runs_query, {"ids": ids}).all()
    engine.dispose()

    fire_count: Counter[tuple[str, float]] = Counter()
    outcomes: Counter[str] = Counter()
    claim_ms: list[float] = []
    for automation_id, scheduled, claimed, outcome in fires:
        tick = utc(scheduled).timestamp()
        fire_count[(automation_id, tick)] += 1
        outcomes[outcome] += 1
        claim_ms.append((utc(claimed).timestamp() - tick) * 1000)
    run_count: Counter[tuple[str, float]] = Counter()
    statuses: Counter[str] = Counter()
    start_ms: list[float] = []
    for automation_id, data, started, status in runs:
        value = json.loads(data) if isinstance(data, str) else data
        tick = datetime.fromisoformat(value["scheduledFor"]).timestamp()
        run_count[(automation_id, tick)] += 1
        statuses[status] += 1
        if started is not None:
            start_ms.append((utc(started).timestamp() - tick) * 1000)

    expected = lost = edge_fired = 0
    lost_examples: list[str] = []
    for automation in automations:
        mine = sorted(tick for (owner, tick) in fire_count if owner == automation["id"])
        must = set(
            tick_boundaries(
                automation["created"] + EDGE_SECONDS, automation["disabling"] - EDGE_SECONDS
            )
        )
        if mine:  # a gap between two fires is a lost tick, edges or not
            must |= set(tick_boundaries(mine[0] - 0.5, mine[-1]))
        expected += len(must)
        for tick in sorted(must):
            key = (automation["id"], tick)
            if not fire_count[key] or not run_count[key]:  # more than one: a duplicate
                lost += 1
                if len(lost_examples) < 5:
                    when = datetime.fromtimestamp(tick, UTC).isoformat()
                    lost_examples.append(
                        f"{automation['id']} {when}: {fire_count[key]} fires, {run_count[key]} runs"
                    )
        edge_fired += len(set(mine) - must)
    duplicates = sum(1 for n in fire_count.values() if n > 1) + sum(
        1 for n in run_count.values() if n > 1
    )
    return {
        "automations": len(automations),
        "ticks_expected": expected,
        "ticks_fired": sum(fire_count.values()),
        "ticks_fired_at_edges": edge_fired,
        "runs": sum(run_count.values()),
        "duplicates": duplicates,
        "lost": lost,
        "lost_examples": lost_examples,
        "fire_outcomes": dict(outcomes),
        "run_statuses": dict(statuses),
        "runs_still_going_after_drain": still_going,
        "start_lateness_ms": {
            "p50": median(start_ms),
            "p99": percentile(start_ms, 0.99),
            "max": max(start_ms, default=float("nan")),
        },
        "claim_lateness_ms": {
            "p50": median(claim_ms),
            "p99": percentile(claim_ms, 0.99),
            "max": max(claim_ms, default=float("nan")),
        },
    }


def scheduling_load(
    hub: Hub, db_url: str, users: list[str], per_user: int, minutes: float
) -> dict[str, Any]:
    started = time.monotonic()
    with ThreadPoolExecutor(SENDERS) as senders:
        batches = senders.map(lambda user: create_automations(hub, user, per_user), users)
        made = [automation for batch in batches for automation in batch]
        created_s = time.monotonic() - started
        time.sleep(minutes * 60)
        disabling = time.monotonic()
        list(senders.map(lambda a: disable(hub, a), made))
        disabled_s = time.monotonic() - disabling
    figures = measure_schedules(db_url, made)
    status = http("GET", f"{hub.service_url}/workscript/scheduler/status", token=hub.tokens["ann"])
    figures.update(
        users=len(users),
        per_user=per_user,
        minutes=minutes,
        create_seconds=created_s,
        disable_seconds=disabled_s,
        scheduler_status=status.body if status.code == 200 else {"code": status.code},
    )
    return figures
