"""Three real servers on one MariaDB database: each tick of each automation runs exactly once,
the leader can die (kill -9) without losing a tick, and missed ticks follow their policy.

Slow by nature (each test lets the clock run for tens of seconds); they are the proof of the
scheduler's promise, so they run in CI.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from .servers import Server, leader_of, scratch_database, wait_until

EVERY_2S = "*/2 * * * * *"
QUICK = {"id": "quick", "name": "quick", "version": "1.0.0", "workflow": [{"$.done": True}]}


def slow(seconds: float) -> dict[str, Any]:
    return {
        "id": "slow",
        "name": "slow",
        "version": "1.0.0",
        "workflow": [{"wait": {"seconds": seconds}}, {"$.done": True}],
    }


@pytest.fixture
def database(mysql_url: str):
    with scratch_database(mysql_url) as url:
        yield url


@pytest.fixture
def cluster(database: str, tmp_path: Path):
    """``cluster(n, **traits)`` starts n servers on the test database; all stopped at the end."""
    started: list[Server] = []
    logs = tmp_path / "logs"
    logs.mkdir()

    def start(count: int, **options: Any) -> list[Server]:
        names = [f"s{len(started) + i + 1}" for i in range(count)]
        servers = [Server(name, database, tmp_path, logs, **options) for name in names]
        for server in servers:
            started.append(server.start())
        return servers

    yield start
    for server in started:
        server.kill()


def create_automations(
    server: Server, workflow: dict[str, Any], count: int, **fields: Any
) -> list[str]:
    saved = server.post("workflows", json={"definition": workflow})
    assert saved.status_code == 201, saved.text
    ids = []
    for i in range(count):
        body = {
            "name": f"auto {i}",
            "workflowId": saved.json()["id"],
            "triggerType": "cron",
            "cron": EVERY_2S,
            **fields,
        }
        created = server.post("automations", json=body)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    return ids


def disable(server: Server, ids: list[str]) -> None:
    for automation_id in ids:
        reply = server.request(
            "PATCH", "automations", automation_id, "toggle", json={"enabled": False}
        )
        assert reply.status_code == 200, reply.text


def rows(database: str, sql: str, **params: Any) -> list[Any]:
    engine = sa.create_engine(database)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(sql), params))
    finally:
        engine.dispose()


def runs_by_tick(database: str, automation_id: str) -> Counter[str]:
    found = rows(
        database,
        "SELECT trigger_data FROM workflow_executions WHERE automation_id = :a",
        a=automation_id,
    )
    ticks: Counter[str] = Counter()
    for (data,) in found:
        value = json.loads(data) if isinstance(data, str) else data
        ticks[value.get("scheduledFor", "")] += 1
    return ticks


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def fires(database: str, automation_id: str) -> list[tuple[datetime, str, str | None, str, float]]:
    """(scheduled_for, outcome, execution_id, claimed_by, lateness in s) per tick, in order."""
    return [
        (_utc(r[0]), r[1], r[2], r[3], (_utc(r[4]) - _utc(r[0])).total_seconds())
        for r in rows(
            database,
            "SELECT scheduled_for, outcome, execution_id, claimed_by, claimed_at "
            "FROM schedule_fires WHERE automation_id = :a ORDER BY scheduled_for",
            a=automation_id,
        )
    ]


def table(ticks: list[Any]) -> str:
    return "\n".join(f"{t[0].time()} {t[1]:8} late {t[4]:6.2f} s  {t[3]}" for t in ticks)


def assert_consecutive(ticks: list[datetime], step: float = 2.0) -> None:
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ticks)]
    assert all(gap == step for gap in gaps), f"a gap or a repeat among the ticks: {gaps}"


def test_three_servers_fire_every_tick_exactly_once(cluster, database) -> None:
    servers = cluster(3)
    wait_until(lambda: leader_of(servers), 20)
    ids = create_automations(servers[0], QUICK, 5)
    time.sleep(30)
    disable(servers[1], ids)
    time.sleep(2)  # the last runs finish
    for automation_id in ids:
        ticks = fires(database, automation_id)
        assert len(ticks) >= 13, f"only {len(ticks)} ticks in 30 s"
        assert_consecutive([t[0] for t in ticks])
        assert {t[1] for t in ticks} == {"fired"}, ticks
        per_tick = runs_by_tick(database, automation_id)
        assert sum(per_tick.values()) == len(ticks), "one run per tick"
        assert max(per_tick.values()) == 1, "a tick ran twice"
        claimers = Counter(t[3] for t in ticks)
        print(f"automation {automation_id}: {len(ticks)} ticks, {len(per_tick)} runs, {claimers}")
    statuses = rows(database, "SELECT status, COUNT(*) FROM workflow_executions GROUP BY status")
    assert dict(statuses).keys() == {"completed"}, statuses


@pytest.mark.parametrize("lock", ["mysql", "redis"])
def test_the_leader_killed_mid_run_is_replaced_and_no_tick_is_lost(
    cluster, database, lock: str, request: pytest.FixtureRequest
) -> None:
    """With the MySQL lock the database frees it as the connection dies; with Redis the key
    (and the dead server's liveness key) expire after their 10 s TTL."""
    options = {"redis_url": request.getfixturevalue("redis_url")} if lock == "redis" else {}
    servers = cluster(3, **options)
    leader = wait_until(lambda: leader_of(servers), 20)
    assert leader.status()["lock"]["backend"] == lock
    ids = create_automations(leader, slow(1.5), 3, overlapPolicy="allow")
    time.sleep(7)
    wait_until(
        lambda: rows(database, "SELECT 1 FROM workflow_executions WHERE status = 'running' "
                     "AND claimed_by = :s", s=leader.server_id),
        10,
    )  # fmt: skip
    killed_at = datetime.now(UTC)
    leader.kill()
    others = [s for s in servers if s is not leader]
    started = time.monotonic()
    successor = wait_until(lambda: leader_of(others), 25, step=0.1)
    takeover = time.monotonic() - started
    assert successor is not leader
    time.sleep(8)
    disable(successor, ids)
    time.sleep(3)
    # the runs the dead leader was running are interrupted, by the successor's recovery
    orphans = rows(
        database,
        "SELECT status FROM workflow_executions WHERE claimed_by = :s AND started_at <= :t",
        s=leader.server_id,
        t=killed_at.replace(tzinfo=None),
    )
    assert orphans and all(status in ("interrupted", "completed") for (status,) in orphans)
    assert any(status == "interrupted" for (status,) in orphans)
    for automation_id in ids:
        ticks = fires(database, automation_id)
        assert_consecutive([t[0] for t in ticks])  # no tick lost around the takeover
        assert {t[1] for t in ticks} == {"fired"}
        assert max(runs_by_tick(database, automation_id).values()) == 1
        print(
            f"automation {automation_id}: {len(ticks)} ticks, one run each, claimed by "
            f"{dict(Counter(t[3] for t in ticks))}; takeover {takeover:.1f} s"
        )
        after = [t for t in ticks if t[0] > killed_at + timedelta(seconds=takeover + 1)]
        assert after and all(t[3] == successor.server_id for t in after)
    limit = 10 if lock == "mysql" else 16  # Redis: the 10 s TTL, then one 0.5 s check
    assert takeover < limit, f"the takeover took {takeover:.1f} s"


def test_after_an_outage_each_misfire_policy_does_what_it_says(cluster, database) -> None:
    (server,) = cluster(1, scheduler_misfire_threshold_seconds=3)
    wait_until(lambda: leader_of([server]), 20)
    policies = ("skip", "run_once", "run_all")
    ids = {
        policy: create_automations(server, QUICK, 1, misfirePolicy=policy)[0] for policy in policies
    }
    time.sleep(5)
    server.stop()
    time.sleep(60)  # a minute without any scheduler: about 30 ticks of each are missed
    (again,) = cluster(1, scheduler_misfire_threshold_seconds=3)
    wait_until(lambda: leader_of([again]), 20)
    time.sleep(5)
    disable(again, list(ids.values()))
    time.sleep(1)
    for policy, automation_id in ids.items():
        ticks = fires(database, automation_id)
        assert_consecutive([t[0] for t in ticks])  # every tick has its record
        # handled by the restarted server's first pass: late by more than the threshold (3 s),
        # leaving out the one tick that may sit on the border
        missed = [t for t in ticks if t[4] > 4.0]
        on_time = [t for t in ticks if t[4] < 2.5]
        assert len(missed) >= 25, (policy, missed)
        assert {t[1] for t in on_time} == {"fired"}, table(ticks)
        outcomes = Counter(t[1] for t in missed)
        if policy == "skip":
            assert outcomes == {"skipped": len(missed)}, outcomes
        elif policy == "run_once":
            # the missed ticks are skipped up to the latest, which fires; after it only ticks
            # that were on time (one may sit on the border of the threshold) follow
            late = [t for t in ticks if t[4] > 2.5]
            first = next(i for i, t in enumerate(late) if t[1] == "fired")
            assert first >= 7 and {t[1] for t in late[:first]} == {"skipped"}, table(ticks)
            assert {t[1] for t in late[first:]} == {"fired"} and len(late) - first <= 2
        else:
            assert outcomes == {"fired": len(missed)}, outcomes
        assert max(runs_by_tick(database, automation_id).values()) == 1
