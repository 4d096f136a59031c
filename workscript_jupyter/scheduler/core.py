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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ..errors import FireAlreadyClaimedError, InvalidCronError, StoreError
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import Automation, ScheduleFire, Scope, utcnow
from .cron import CronSchedule
from .leader import LeaderLock

__all__ = ["FireHandler", "Scheduler", "SchedulerSettings"]

log = logging.getLogger(__name__)


class FireHandler(Protocol):
    """Claims one tick with its run (or records why not); None if another server won it.
    ``catching_up``: a further tick fired in the same pass as an earlier one."""

    def __call__(
        self, automation: Automation, scheduled_for: datetime, *, catching_up: bool = False
    ) -> Awaitable[ScheduleFire | None]: ...


_FAR_FUTURE = timedelta(days=3660)
_SKIPPED_DETAIL_LIMIT = 100  # skipped ticks recorded one by one; beyond, one summary fire


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

    def status(self) -> dict[str, Any]:
        c = self.counters
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
        """Handle every due automation, then arm the next wake-up."""
        now = self.clock()
        due = await run_off_loop(self.store.automations.due, now, limit=self.settings.due_batch)
        if due:
            await asyncio.gather(*(self._handle(automation, now) for automation in due))
        self.counters.passes += 1
        self.counters.last_pass_at = now
        await self._arm()
        if len(due) >= self.settings.due_batch:
            self._pass_again = True

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

    async def _handle(self, automation: Automation, now: datetime) -> None:
        first = automation.next_run_at
        if first is None:
            return
        try:
            schedule = self._schedule(automation)
        except InvalidCronError as error:
            self._note_error(f"automation {automation.id}: {error.message}")
            await self._store_times(automation, None, automation.last_run_at)
            return
        ticks = [first, *schedule.ticks_between(first, now, limit=10_000)]
        threshold = timedelta(seconds=self.settings.misfire_threshold_seconds)
        grace = timedelta(seconds=automation.misfire_grace_seconds)
        on_time = [t for t in ticks if now - t <= threshold]
        missed = [t for t in ticks if now - t > threshold]
        expired = [t for t in missed if now - t > grace]
        missed = [t for t in missed if now - t <= grace]
        to_fire: list[datetime] = []
        skipped: list[tuple[datetime, str]] = [
            (t, "missed by more than the misfire grace period") for t in expired
        ]
        policy = automation.misfire_policy
        if missed:
            if policy == "run_all":
                limit = self.settings.catch_up_limit
                to_fire += missed[-limit:]
                skipped += [(t, "missed: beyond the catch-up limit") for t in missed[:-limit]]
            elif policy == "run_once":
                to_fire.append(missed[-1])
                skipped += [(t, "missed: run once for all missed ticks") for t in missed[:-1]]
            else:
                reason = "missed while no scheduler ran (misfire policy skip)"
                skipped += [(t, reason) for t in missed]
        to_fire += on_time
        await self._record_skipped(automation, skipped)
        last = automation.last_run_at
        for position, tick in enumerate(to_fire):
            fire = await self.fire(automation, tick, catching_up=position > 0)
            if fire is None:
                self.counters.lost += 1
                continue
            if fire.outcome == "fired":
                self.counters.fired += 1
                last = tick
            elif fire.outcome == "skipped":
                self.counters.skipped += 1
            else:
                self.counters.failed += 1
        await self._store_times(automation, schedule.next_after(now), last)

    async def _record_skipped(
        self, automation: Automation, skipped: list[tuple[datetime, str]]
    ) -> None:
        if not skipped:
            return
        skipped.sort()
        if len(skipped) > _SKIPPED_DETAIL_LIMIT:
            head = skipped[: len(skipped) - _SKIPPED_DETAIL_LIMIT + 1]
            summary = (
                f"{len(head)} ticks from {head[0][0].isoformat()} to {head[-1][0].isoformat()} "
                f"missed ({head[-1][1]})"
            )
            skipped = [(head[0][0], summary), *skipped[len(head) :]]
        for tick, reason in skipped:
            try:
                await run_off_loop(
                    self.store.fires.claim,
                    automation.id,
                    tick,
                    self.server_id,
                    outcome="skipped",
                    reason=reason,
                )
                self.counters.skipped += 1
            except FireAlreadyClaimedError:
                self.counters.lost += 1

    async def _store_times(
        self, automation: Automation, next_run: datetime | None, last_run: datetime | None
    ) -> None:
        scope = Scope(user_id=f"server:{self.server_id}", is_admin=True)
        try:
            await run_off_loop(
                self.store.automations.update,
                scope,
                automation.id,
                next_run_at=next_run,
                last_run_at=last_run,
            )
        except StoreError as error:  # deleted meanwhile, or the database is away
            log.debug("scheduler: could not store the times of %s: %s", automation.id, error)

    def _schedule(self, automation: Automation) -> CronSchedule:
        key = (automation.cron_expression or "", automation.timezone)
        schedule = self._schedules.get(key)
        if schedule is None:
            schedule = CronSchedule.parse(key[0], key[1])
            if len(self._schedules) > 10_000:
                self._schedules.clear()
            self._schedules[key] = schedule
        return schedule

    def _note_error(self, message: str) -> None:
        log.warning("scheduler: %s", message)
        errors = self.counters.recent_errors
        errors.append(f"{utcnow().isoformat()} {message}")
        del errors[:-20]
