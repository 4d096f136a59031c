"""Three real servers on one MariaDB database: each tick of each automation runs exactly once,
the leader can die (kill -9) without losing a tick, and missed ticks follow their policy.

Slow by nature (real server processes, a real clock); they are the proof of the scheduler's
promise, so they run in CI, marked ``slow`` (``pytest -m "not slow"`` leaves them out). They wait
on conditions (so many ticks fired, the runs ended), never for a fixed time, and the servers of
a cluster boot in parallel. The outage of the misfire test is made, not waited for: the
automations are created while no scheduler runs, and their next tick is moved back in time.
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

pytestmark = pytest.mark.slow

EVERY_2S = "*/2 * * * * *"
EVERY_1S = "* * * * * *"
ENDED = ("completed", "failed", "cancelled", "interrupted", "timed_out")
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
            started.append(server.launch())
        return [server.ready() for server in servers]

    yield start
    for server in started:
        server.kill()


def save_workflow(server: Server, workflow: dict[str, Any]) -> str:
    saved = server.post("workflows", json={"definition": workflow})
    assert saved.status_code == 201, saved.text
    return str(saved.json()["id"])


def create_automations(
    server: Server, workflow: dict[str, Any] | str, count: int, **fields: Any
) -> list[str]:
    """``count`` automations of ``workflow`` (a definition to save, or a saved one's id)."""
    workflow_id = workflow if isinstance(workflow, str) else save_workflow(server, workflow)
    ids = []
    for i in range(count):
        body = {
            "name": f"auto {i}",
            "workflowId": workflow_id,
            "triggerType": "cron",
            "cron": EVERY_2S,
            **fields,  # may set another "cron"
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


def fired_counts(database: str, ids: list[str], after: datetime | None = None) -> list[int]:
    """How many ticks of each automation fired (scheduled after ``after``, if given)."""
    counts = []
    for automation_id in ids:
        ticks = fires(database, automation_id)
        counts.append(sum(1 for t in ticks if t[1] == "fired" and (after is None or t[0] > after)))
    return counts


def all_runs_ended(database: str) -> bool:
    placeholders = ", ".join(f"'{status}'" for status in ENDED)
    found = rows(
        database, f"SELECT COUNT(*) FROM workflow_executions WHERE status NOT IN ({placeholders})"
    )
    return found[0][0] == 0


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
    # overlap allowed: on a loaded machine a run may outlast its second, and an overlap skip
    # (tests/server/test_automation_overlap.py) is not what this test is about
    ids = create_automations(servers[0], QUICK, 5, cron=EVERY_1S, overlapPolicy="allow")
    wait_until(lambda: min(fired_counts(database, ids)) >= 10, 90)
    disable(servers[1], ids)
    wait_until(lambda: all_runs_ended(database), 30)  # the last runs finish
    for automation_id in ids:
        ticks = fires(database, automation_id)
        assert len(ticks) >= 10, f"only {len(ticks)} ticks"
        assert_consecutive([t[0] for t in ticks], step=1.0)
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
    wait_until(
        lambda: min(fired_counts(database, ids)) >= 2
        and rows(database, "SELECT 1 FROM workflow_executions WHERE status = 'running' "
                 "AND claimed_by = :s", s=leader.server_id),
        60,
    )  # fmt: skip
    killed_at = datetime.now(UTC)
    leader.kill()
    others = [s for s in servers if s is not leader]
    started = time.monotonic()
    successor = wait_until(lambda: leader_of(others), 25, step=0.1)
    takeover = time.monotonic() - started
    assert successor is not leader
    taken_over = killed_at + timedelta(seconds=takeover + 1)
    wait_until(lambda: min(fired_counts(database, ids, after=taken_over)) >= 2, 60)
    disable(successor, ids)
    wait_until(lambda: all_runs_ended(database), 30)  # the successor interrupts the orphans
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
        after = [t for t in ticks if t[0] > taken_over]
        assert after and all(t[3] == successor.server_id for t in after)
    limit = 10 if lock == "mysql" else 16  # Redis: the 10 s TTL, then one 0.5 s check
    assert takeover < limit, f"the takeover took {takeover:.1f} s"


OUTAGE = timedelta(seconds=80)
THRESHOLD = 10.0  # s: far above a loaded machine's lateness, far below the outage


def test_after_an_outage_each_misfire_policy_does_what_it_says(cluster, database) -> None:
    """The automations are created on a server that does not schedule, their next tick is then
    moved 80 s back (what 80 s without any scheduler leaves in the table), and a scheduling
    server starts. Overlap is allowed: an overlap skip must not pass for a misfire skip."""
    (creator,) = cluster(1, run_scheduler=False)
    quick = save_workflow(creator, QUICK)
    ids = {
        policy: create_automations(creator, quick, 1, misfirePolicy=policy, overlapPolicy="allow")[
            0
        ]
        for policy in ("skip", "run_once", "run_all")
    }
    creator.stop()
    assert fired_counts(database, list(ids.values())) == [0, 0, 0], "nothing scheduled them"
    for automation_id in ids.values():
        rows_changed = sa.create_engine(database)
        with rows_changed.begin() as connection:
            connection.execute(
                sa.text(
                    "UPDATE automations SET next_run_at = next_run_at - INTERVAL :s SECOND "
                    "WHERE id = :a"
                ),
                {"s": int(OUTAGE.total_seconds()), "a": automation_id},
            )
        rows_changed.dispose()
    started_at = datetime.now(UTC)
    (server,) = cluster(1, scheduler_misfire_threshold_seconds=THRESHOLD)
    wait_until(lambda: leader_of([server]), 30)
    leading_at = datetime.now(UTC)
    wait_until(lambda: min(fired_counts(database, list(ids.values()), after=leading_at)) >= 3, 60)
    disable(server, list(ids.values()))
    wait_until(lambda: all_runs_ended(database), 30)
    # missed for sure: late by more than the threshold when the first pass could run at all
    border = started_at - timedelta(seconds=THRESHOLD)
    for policy, automation_id in ids.items():
        ticks = fires(database, automation_id)
        assert_consecutive([t[0] for t in ticks])  # every tick has its record
        missed = [t for t in ticks if t[0] < border]
        after = [t for t in ticks if t[0] > leading_at]
        assert len(missed) >= 30, (policy, table(ticks))
        assert all(t[4] > THRESHOLD for t in missed), table(ticks)
        assert {t[1] for t in after} == {"fired"}, table(ticks)
        outcomes = [t[1] for t in ticks]
        if policy == "skip":
            assert {t[1] for t in missed} == {"skipped"}, table(ticks)
            first = outcomes.index("fired")
            assert set(outcomes[first:]) == {"fired"}, table(ticks)
            assert ticks[first][4] <= THRESHOLD + 5, table(ticks)  # an on-time tick
        elif policy == "run_once":
            # the missed ticks are skipped up to the latest, which fires; then all fire
            first = outcomes.index("fired")
            assert first >= len(missed) - 1 and set(outcomes[:first]) == {"skipped"}, table(ticks)
            assert set(outcomes[first:]) == {"fired"}, table(ticks)
            assert ticks[first][4] > THRESHOLD, table(ticks)  # the one run for the missed
            assert sum(1 for t in ticks if t[1] == "fired" and t[4] > THRESHOLD + 5) <= 1
        else:
            assert set(outcomes) == {"fired"}, table(ticks)
        per_tick = runs_by_tick(database, automation_id)
        assert max(per_tick.values()) == 1, "a tick ran twice"
        assert sum(per_tick.values()) == outcomes.count("fired"), "one run per fired tick"
