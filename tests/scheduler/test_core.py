"""The scheduler's passes on the in-memory store with a set clock: ticks on time, missed ticks by
misfire policy and grace, next/last run times, and two schedulers firing each tick once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from workscript_jupyter.scheduler.core import Scheduler, SchedulerSettings, Tick
from workscript_jupyter.scheduler.leader import FileLeaderLock
from workscript_jupyter.store.memory import MemoryStore
from workscript_jupyter.store.records import Automation, FireClaim, ScheduleFire, Scope

T0 = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
EVERY_5S = "*/5 * * * * *"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Firing:
    """The service's part: claim the ticks as fired, in one batch (no run is built here)."""

    def __init__(self, store: MemoryStore, server_id: str) -> None:
        self.store = store
        self.server_id = server_id
        self.ticks: list[datetime] = []
        self.catching_up: list[bool] = []

    async def __call__(self, ticks: Sequence[Tick]) -> list[ScheduleFire | None]:
        claims = [FireClaim(t.automation.id, t.scheduled_for, outcome="fired") for t in ticks]
        fires = self.store.fires.claim_many(claims, self.server_id)
        for tick, fire in zip(ticks, fires, strict=True):
            if fire is not None:
                self.ticks.append(tick.scheduled_for)
                self.catching_up.append(tick.catching_up)
        return fires


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def owner(store: MemoryStore) -> Scope:
    user = store.users.create("alice")
    return Scope(user.id, is_admin=False)


def automation(store: MemoryStore, owner: Scope, **fields: Any) -> Automation:
    values: dict[str, Any] = {
        "cron_expression": EVERY_5S,
        "workflow_id": "wf",
        "next_run_at": T0,
    }
    values.update(fields)
    return store.automations.create(owner, name="every 5 s", trigger_type="cron", **values)


def scheduler(
    store: MemoryStore, tmp_path: Path, clock: Clock, server_id: str = "server-a", **settings: Any
) -> tuple[Scheduler, Firing]:
    firing = Firing(store, server_id)
    lock = FileLeaderLock(tmp_path / f"{server_id}.lock", name="workscript-scheduler")
    options = {"misfire_threshold_seconds": 15.0, **settings}
    return (
        Scheduler(
            store,
            lock,
            firing,
            server_id=server_id,
            settings=SchedulerSettings(**options),
            clock=clock,
        ),
        firing,
    )


def outcomes(store: MemoryStore, owner: Scope, automation_id: str) -> dict[datetime, str]:
    fires = store.fires.list(owner, automation_id, limit=200).items
    return {fire.scheduled_for: fire.outcome for fire in fires}


def ticks(start: datetime, end: datetime) -> list[datetime]:
    out, t = [], start
    while t <= end:
        out.append(t)
        t += timedelta(seconds=5)
    return out


def test_an_on_time_tick_fires_and_the_next_run_is_stored(store, owner, tmp_path) -> None:
    auto = automation(store, owner)
    clock = Clock(T0 + timedelta(milliseconds=80))
    sched, firing = scheduler(store, tmp_path, clock)
    asyncio.run(sched.run_pass())
    assert firing.ticks == [T0]
    after = store.automations.get(owner, auto.id)
    assert after.next_run_at == T0 + timedelta(seconds=5)
    assert after.last_run_at == T0
    assert sched.counters.fired == 1
    asyncio.run(sched.run_pass())  # nothing due any more: nothing fires twice
    assert firing.ticks == [T0]


@pytest.mark.parametrize(
    ("policy", "fired_missed"),
    [("skip", 0), ("run_once", 1), ("run_all", 10)],
)
def test_missed_ticks_follow_the_misfire_policy(
    store, owner, tmp_path, policy: str, fired_missed: int
) -> None:
    auto = automation(store, owner, misfire_policy=policy)
    now = T0 + timedelta(seconds=60, milliseconds=10)
    sched, _ = scheduler(store, tmp_path, Clock(now))
    asyncio.run(sched.run_pass())
    every = ticks(T0, now)  # 13 ticks
    missed = [t for t in every if (now - t).total_seconds() > 15]
    on_time = [t for t in every if t not in missed]
    assert len(missed) == 10 and len(on_time) == 3
    recorded = outcomes(store, owner, auto.id)
    assert sorted(recorded) == every, "every tick has exactly one fire record"
    fired = [t for t, outcome in recorded.items() if outcome == "fired"]
    assert set(on_time) <= set(fired), "ticks within the threshold always fire"
    assert len(fired) == len(on_time) + fired_missed
    if policy == "run_once":
        assert missed[-1] in fired, "run_once runs the latest missed tick"
    skipped = store.fires.list(owner, auto.id, limit=200).items
    reasons = {f.reason for f in skipped if f.outcome == "skipped"}
    assert all(reason and "missed" in reason for reason in reasons)
    assert store.automations.get(owner, auto.id).next_run_at == T0 + timedelta(seconds=65)


def test_ticks_older_than_the_grace_period_are_skipped_whatever_the_policy(
    store, owner, tmp_path
) -> None:
    auto = automation(store, owner, misfire_policy="run_all", misfire_grace_seconds=30)
    now = T0 + timedelta(seconds=60)
    sched, _ = scheduler(store, tmp_path, Clock(now))
    asyncio.run(sched.run_pass())
    fires = store.fires.list(owner, auto.id, limit=200).items
    for fire in fires:
        late = (now - fire.scheduled_for).total_seconds()
        if late > 30:
            assert fire.outcome == "skipped" and "grace" in (fire.reason or ""), fire
        else:
            assert fire.outcome == "fired", fire


def test_a_long_outage_is_summarised_not_recorded_tick_by_tick(store, owner, tmp_path) -> None:
    auto = automation(store, owner, misfire_policy="skip", misfire_grace_seconds=86400)
    now = T0 + timedelta(hours=2)  # 1,441 ticks
    sched, firing = scheduler(store, tmp_path, Clock(now))
    asyncio.run(sched.run_pass())
    fires = store.fires.list(owner, auto.id, limit=200).items
    page_total = len(fires)
    assert page_total <= 110, "at most ~100 skipped ticks one by one, plus one summary"
    summary = min(fires, key=lambda f: f.scheduled_for)
    assert summary.scheduled_for == T0 and "ticks from" in (summary.reason or "")
    assert len(firing.ticks) == 4  # the on-time ones


def test_two_schedulers_fire_each_tick_once(store, owner, tmp_path) -> None:
    autos = [automation(store, owner) for _ in range(5)]
    clock = Clock(T0)
    a, fired_a = scheduler(store, tmp_path, clock, "server-a")
    b, fired_b = scheduler(store, tmp_path, clock, "server-b")

    async def both() -> None:
        for step in range(12):  # a minute of 5 s ticks, both "leaders" at once
            clock.now = T0 + timedelta(seconds=5 * step, milliseconds=30)
            await asyncio.gather(a.run_pass(), b.run_pass())

    asyncio.run(both())
    assert len(fired_a.ticks) + len(fired_b.ticks) == 5 * 12
    for auto in autos:
        recorded = outcomes(store, owner, auto.id)
        assert sorted(recorded) == ticks(T0, T0 + timedelta(seconds=55))
        assert set(recorded.values()) == {"fired"}


def test_a_disabled_automation_does_not_fire(store, owner, tmp_path) -> None:
    automation(store, owner, enabled=False)
    sched, firing = scheduler(store, tmp_path, Clock(T0 + timedelta(seconds=1)))
    asyncio.run(sched.run_pass())
    assert firing.ticks == []


def test_leadership_passes_between_schedulers(store, owner, tmp_path) -> None:
    """One lock file, two schedulers: one leads; when it stops the other takes over."""
    lock_path = tmp_path / "shared.lock"

    def make(server_id: str) -> Scheduler:
        lock = FileLeaderLock(lock_path, name="workscript-scheduler")
        return Scheduler(
            store,
            lock,
            Firing(store, server_id),
            server_id=server_id,
            settings=SchedulerSettings(lock_check_seconds=0.05, poll_seconds=1),
        )

    async def scenario() -> tuple[bool, bool, bool]:
        first, second = make("a"), make("b")
        await first.start()
        await asyncio.sleep(0.3)
        await second.start()
        await asyncio.sleep(0.3)
        before = (first.leading, second.leading)
        await first.stop()
        for _ in range(100):
            if second.leading:
                break
            await asyncio.sleep(0.05)
        took_over = second.leading
        status = second.status()
        await second.stop()
        assert status["leader"] is True and status["serverId"] == "b"
        return before[0], before[1], took_over

    first_led, second_led, took_over = asyncio.run(scenario())
    assert first_led and not second_led
    assert took_over


@pytest.mark.parametrize(
    ("expression", "start", "day"),
    [
        ("30 2 * * *", datetime(2026, 3, 7, 17, 0, tzinfo=UTC), (2026, 3, 8)),  # spring forward
        ("30 1 * * *", datetime(2026, 10, 31, 17, 0, tzinfo=UTC), (2026, 11, 1)),  # fall back
        ("30 2 * * *", datetime(2026, 10, 31, 17, 0, tzinfo=UTC), (2026, 11, 1)),
    ],
)
def test_a_daily_job_runs_once_on_a_dst_day_with_a_frozen_clock(
    store, owner, tmp_path, expression: str, start: datetime, day: tuple[int, int, int]
) -> None:
    """The real clock (``utcnow``) frozen by time-machine and moved to each wake-up the
    scheduler arms (as APScheduler would wake it), over two days in New York around a DST
    change: one run per local day, each on time."""
    from zoneinfo import ZoneInfo

    import time_machine

    from workscript_jupyter.scheduler.cron import CronSchedule

    zone = ZoneInfo("America/New_York")
    first = CronSchedule.parse(expression, "America/New_York").next_after(start)
    auto = automation(store, owner, cron_expression=expression, timezone="America/New_York",
                      next_run_at=first)  # fmt: skip
    firing = Firing(store, "server-a")
    lock = FileLeaderLock(tmp_path / "dst.lock", name="workscript-scheduler")
    sched = Scheduler(store, lock, firing, server_id="server-a")  # clock: the real utcnow
    with time_machine.travel(start, tick=False) as traveller:
        asyncio.run(sched.run_pass())  # arms the first wake-up
        while (wake := sched.status()["nextWakeAt"]) < start + timedelta(days=2):
            traveller.move_to(wake + timedelta(milliseconds=50))
            asyncio.run(sched.run_pass())
    assert sched.counters.skipped == 0, "every tick was on time: none missed"
    local_days = [t.astimezone(zone).date() for t in firing.ticks]
    assert local_days.count(datetime(*day).date()) == 1, firing.ticks
    assert len(firing.ticks) == 2, "one run on each of the two days"
    recorded = outcomes(store, owner, auto.id)
    assert sorted(recorded) == sorted(firing.ticks) and set(recorded.values()) == {"fired"}
