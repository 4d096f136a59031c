"""The scheduler: one leader among the servers, APScheduler for timing, the table for the truth.

Every server runs a ``Scheduler``; the one holding the leader lock is active. APScheduler (3.x,
on the server's event loop) only wakes it: at the soonest ``next_run_at`` of the enabled cron
automations, and every ``poll_seconds`` to pick up changes made by other servers. Each wake is
a *pass*: the automations due now are read from the store and every tick since their
``next_run_at`` is handled once:

- a tick late by at most ``misfire_threshold_seconds`` is on time: it fires;
- a later one was missed (no leader at the time) and follows the automation's misfire policy:
  ``skip`` records it skipped, ``run_once`` fires the latest missed tick and records the others
  skipped, ``run_all`` fires each (at most ``catch_up_limit``); ticks older than the
  automation's ``misfire_grace_seconds`` are recorded skipped whatever the policy.

Firing is the ``fire`` callback's (the service): it claims the tick in the fires table together
with its run, so even two leaders at once (a lock lost and retaken) fire a tick exactly once.
Then ``next_run_at`` and ``last_run_at`` are stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ..errors import InvalidCronError, StoreError
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import Automation, FireClaim, ScheduleFire, utcnow
from .cron import CronSchedule
from .leader import LeaderLock
from .ticks import plan_ticks

__all__ = ["FireHandler", "Scheduler", "SchedulerSettings", "Tick"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Tick:
    """One tick to fire. ``catching_up``: a further tick of the same automation in this pass
    (missed ticks fired by ``run_all``)."""

    automation: Automation
    scheduled_for: datetime
    catching_up: bool = False


class FireHandler(Protocol):
    """Claims the ticks with their runs (or records why not), in one batch; for each tick its
    fire, or None if another server won it."""

    def __call__(self, ticks: Sequence[Tick]) -> Awaitable[Sequence[ScheduleFire | None]]: ...


_FAR_FUTURE = timedelta(days=3660)


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    poll_seconds: float = 5.0
    lock_check_seconds: float = 2.0
    recovery_seconds: float = 30.0
    misfire_threshold_seconds: float = 15.0
    catch_up_limit: int = 100
    due_batch: int = 1000


@dataclass
class _Counters:
    passes: int = 0
    fired: int = 0
    skipped: int = 0
    failed: int = 0
    lost: int = 0  # ticks another server claimed first
    last_pass_at: datetime | None = None
    leader_since: datetime | None = None
    recent_errors: list[str] = field(default_factory=list)
    # per automation owner: fired/skipped/failed/lost counts and their recent errors
    owners: dict[str, dict[str, int]] = field(default_factory=dict)
    owner_errors: list[tuple[str, str]] = field(default_factory=list)

    def owner_count(self, owner_id: str, key: str, n: int = 1) -> None:
        counts = self.owners.setdefault(owner_id, {"fired": 0, "skipped": 0, "failed": 0})
        counts[key] = counts.get(key, 0) + n


class Scheduler:
    def __init__(
        self,
        store: Store,
        lock: LeaderLock,
        fire: FireHandler,
        *,
        server_id: str,
        settings: SchedulerSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
        recover: Callable[[], Awaitable[Any]] | None = None,
        liveness: LeaderLock | None = None,
    ) -> None:
        self.store = store
        self.lock = lock
        self.fire = fire
        self.server_id = server_id
        self.settings = settings or SchedulerSettings()
        self.clock = clock
        self.recover = recover
        self.liveness = liveness
        self.counters = _Counters()
        self._aps: AsyncIOScheduler | None = None
        self._leader_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._pass_lock = asyncio.Lock()
        self._pass_again = False
        self._pass_tasks: set[asyncio.Task[None]] = set()
        self._schedules: dict[tuple[str, str], CronSchedule] = {}
        self._next_wake: datetime | None = None
        self._leading = False
        self._last_recovery = 0.0

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def leading(self) -> bool:
        return self._leading

    @property
    def running(self) -> bool:
        """Started, and its leader loop alive (the health check reports it)."""
        return self._leader_task is not None and not self._leader_task.done()

    async def start(self) -> None:
        if self._leader_task is not None:
            return
        self._stopping.clear()
        self._leader_task = asyncio.create_task(self._leader_loop(), name="workscript-leader")

    async def stop(self) -> None:
        self._stopping.set()
        if self._leader_task is not None:
            self._leader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._leader_task
            self._leader_task = None
        await self._step_down()
        await self.lock.release()
        if self.liveness is not None:
            await self.liveness.release()

    def notify_changed(self) -> None:
        """An automation was created, changed or deleted here: a pass re-reads the table."""
        if self._leading:
            self._request_pass()

    def status(self, owner_id: str | None = None) -> dict[str, Any]:
        """This server's scheduler figures; with ``owner_id`` (a non-admin asking) the counts
        and errors of that user's automations only, and the lock without backend details."""
        c = self.counters
        if owner_id is not None:
            own = c.owners.get(owner_id, {})
            lock = self.lock.describe()
            return {
                **self.status(),
                "lock": {k: lock[k] for k in ("backend", "name", "held") if k in lock},
                "fired": own.get("fired", 0),
                "skipped": own.get("skipped", 0),
                "failed": own.get("failed", 0),
                "lostToOtherServers": own.get("lost", 0),
                "recentErrors": [text for who, text in c.owner_errors if who == owner_id],
            }
        return {
            "serverId": self.server_id,
            "leader": self._leading,
            "lock": self.lock.describe(),
            "leaderSince": c.leader_since,
            "passes": c.passes,
            "lastPassAt": c.last_pass_at,
            "nextWakeAt": self._next_wake,
            "fired": c.fired,
            "skipped": c.skipped,
            "failed": c.failed,
            "lostToOtherServers": c.lost,
            "pollSeconds": self.settings.poll_seconds,
            "misfireThresholdSeconds": self.settings.misfire_threshold_seconds,
            "recentErrors": list(c.recent_errors),
        }

    # -- leadership ---------------------------------------------------------------------------

    async def _leader_loop(self) -> None:
        while not self._stopping.is_set():
            await self._keep_alive()
            try:
                held = await (self.lock.check() if self.lock.held else self.lock.try_acquire())
            except Exception:  # the loop must survive any backend failure
                log.exception("scheduler: leader lock failed")
                held = False
            if held and not self._leading:
                await self._become_leader()
            elif not held and self._leading:
                log.warning("scheduler: %s lost the leader lock", self.server_id)
                await self._step_down()
            elif self._leading:
                await self._recover_if_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.lock_check_seconds)

    async def _become_leader(self) -> None:
        log.info("scheduler: %s is the leader (%s lock)", self.server_id, self.lock.backend)
        self._leading = True
        self.counters.leader_since = utcnow()
        self._last_recovery = 0.0
        await self._recover_if_due()
        aps = AsyncIOScheduler(timezone="UTC")
        aps.add_job(
            self._wake,
            IntervalTrigger(seconds=self.settings.poll_seconds),
            id="reconcile",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        aps.start()
        self._aps = aps
        self._request_pass()

    async def _step_down(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        self._leading = False
        self._next_wake = None
        self.counters.leader_since = None
        tasks = tuple(self._pass_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep_alive(self) -> None:
        """Hold (and renew) this server's liveness lock: others read its death from it."""
        if self.liveness is None:
            return
        try:
            lock = self.liveness
            ok = await (lock.check() if lock.held else lock.try_acquire())
        except Exception:  # a liveness failure must not stop the scheduler
            log.exception("scheduler: liveness lock failed")
            return
        if not ok:
            self._note_error(f"cannot hold the liveness lock of {self.server_id}")

    async def _recover_if_due(self) -> None:
        """At takeover and every ``recovery_seconds``: take over the runs of dead servers."""
        now = asyncio.get_running_loop().time()
        if self.recover is None or now - self._last_recovery < self.settings.recovery_seconds:
            return
        self._last_recovery = now
        try:
            await self.recover()
        except Exception as error:  # recovery failing must not stop scheduling
            log.exception("scheduler: recovering the runs of dead servers failed")
            self._note_error(f"recovery failed: {error!r}")

    # -- passes -------------------------------------------------------------------------------

    async def _wake(self) -> None:
        """APScheduler's job: a coroutine, so that it runs on the loop, not in a thread."""
        self._request_pass()

    def _request_pass(self) -> None:
        if not self._leading:
            return
        if self._pass_lock.locked():
            self._pass_again = True  # the running pass goes round once more
            return
        task = asyncio.get_running_loop().create_task(self._run_passes())
        self._pass_tasks.add(task)
        task.add_done_callback(self._pass_tasks.discard)

    async def _run_passes(self) -> None:
        async with self._pass_lock:
            while True:
                self._pass_again = False
                try:
                    await self.run_pass()
                except StoreError as error:
                    self._note_error(f"pass failed: {error}")
                except Exception as error:  # the next pass tries again
                    log.exception("scheduler: a pass failed")
                    self._note_error(f"pass failed: {error!r}")
                if not self._pass_again or not self._leading:
                    break

    async def run_pass(self) -> None:
        """Fire every due tick of every due automation in one batch, then arm the next wake."""
        now = self.clock()
        due = await run_off_loop(self.store.automations.due, now, limit=self.settings.due_batch)
        if due:
            await self._fire_due(due, now)
        self.counters.passes += 1
        self.counters.last_pass_at = now
        await self._arm()
        if len(due) >= self.settings.due_batch:
            self._pass_again = True

    async def _fire_due(self, due: list[Automation], now: datetime) -> None:
        ticks: list[Tick] = []
        skipped: list[FireClaim] = []
        times: dict[str, tuple[datetime | None, datetime | None]] = {}
        for automation in due:
            try:
                plan = plan_ticks(
                    automation,
                    self._schedule(automation),
                    now,
                    threshold_seconds=self.settings.misfire_threshold_seconds,
                    catch_up_limit=self.settings.catch_up_limit,
                )
            except InvalidCronError as error:  # stored before a rule changed: stop it firing
                self._note_error(
                    f"automation {automation.id}: {error.message}", owner_id=automation.owner_id
                )
                times[automation.id] = (None, automation.last_run_at)
                continue
            ticks += [
                Tick(automation, tick, catching_up=i > 0) for i, tick in enumerate(plan.to_fire)
            ]
            skipped += [
                FireClaim(automation.id, tick, outcome="skipped", reason=reason)
                for tick, reason in plan.skipped
            ]
            times[automation.id] = (plan.next_run, automation.last_run_at)
        if skipped:
            owners = {automation.id: automation.owner_id for automation in due}
            claimed = await run_off_loop(self.store.fires.claim_many, skipped, self.server_id)
            self.counters.skipped += sum(1 for fire in claimed if fire is not None)
            self.counters.lost += sum(1 for fire in claimed if fire is None)
            for claim, fire in zip(skipped, claimed, strict=False):
                owner = owners.get(claim.automation_id)
                if owner is not None:
                    self.counters.owner_count(owner, "skipped" if fire is not None else "lost")
        if ticks:
            fires = await self.fire(ticks)
            for tick, fire in zip(ticks, fires, strict=True):
                self._count(fire, tick.automation.owner_id)
                if fire is not None and fire.outcome == "fired":
                    next_run, _ = times[tick.automation.id]
                    times[tick.automation.id] = (next_run, tick.scheduled_for)
        try:
            await run_off_loop(
                self.store.automations.set_run_times,
                [(automation_id, nxt, last) for automation_id, (nxt, last) in times.items()],
            )
        except StoreError as error:  # the database is away: the next pass does it again
            self._note_error(f"could not store the next run times: {error}")

    def _count(self, fire: ScheduleFire | None, owner_id: str) -> None:
        if fire is None:
            key = "lost"
        elif fire.outcome in ("fired", "skipped"):
            key = fire.outcome
        else:
            key = "failed"
        setattr(self.counters, key, getattr(self.counters, key) + 1)
        self.counters.owner_count(owner_id, key)

    async def _arm(self) -> None:
        soonest = await run_off_loop(
            self.store.automations.due, self.clock() + _FAR_FUTURE, limit=1
        )
        wake = soonest[0].next_run_at if soonest else None
        self._next_wake = wake
        if self._aps is None:
            return
        if wake is None:
            with contextlib.suppress(Exception):
                self._aps.remove_job("wake")
            return
        self._aps.add_job(
            self._wake,
            DateTrigger(run_date=wake),
            id="wake",
            replace_existing=True,
            misfire_grace_time=None,
        )

    def _schedule(self, automation: Automation) -> CronSchedule:
        key = (automation.cron_expression or "", automation.timezone)
        schedule = self._schedules.get(key)
        if schedule is None:
            schedule = CronSchedule.parse(key[0], key[1])
            if len(self._schedules) > 10_000:
                self._schedules.clear()
            self._schedules[key] = schedule
        return schedule

    def _note_error(self, message: str, *, owner_id: str | None = None) -> None:
        log.warning("scheduler: %s", message)
        errors = self.counters.recent_errors
        text = f"{utcnow().isoformat()} {message}"
        errors.append(text)
        del errors[:-20]
        if owner_id is not None:
            owned = self.counters.owner_errors
            owned.append((owner_id, text))
            del owned[:-200]
