"""Which ticks of an automation a pass fires, and which it records skipped, and why.

Pure: the automation, its schedule, the time of the pass and two settings in, a ``TickPlan``
out. A tick late by at most ``threshold`` is on time and fires. A later one was missed (no
leader at the time) and follows the misfire policy: ``skip`` records it skipped, ``run_once``
fires the latest missed tick and skips the others, ``run_all`` fires each (at most
``catch_up_limit``, the latest ones). Ticks older than the automation's grace period are skipped
whatever the policy. More than ``detail_limit`` skipped ticks are summed up in one record (at
the earliest tick), so a month of downtime of a per-second job is not 2.6 million rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..store.records import Automation
from .cron import CronSchedule

__all__ = ["TickPlan", "plan_ticks"]

_SCAN_LIMIT = 100_000  # ticks looked at in one pass; beyond, the next pass goes on


@dataclass(frozen=True, slots=True)
class TickPlan:
    to_fire: tuple[datetime, ...]  # in order; all but the first are "catching up"
    skipped: tuple[tuple[datetime, str], ...]
    next_run: datetime | None


def plan_ticks(
    automation: Automation,
    schedule: CronSchedule,
    now: datetime,
    *,
    threshold_seconds: float,
    catch_up_limit: int,
    detail_limit: int = 100,
) -> TickPlan:
    first = automation.next_run_at
    if first is None or first > now:
        return TickPlan((), (), first)
    ticks = [first, *schedule.ticks_between(first, now, limit=_SCAN_LIMIT)]
    threshold = timedelta(seconds=threshold_seconds)
    grace = timedelta(seconds=automation.misfire_grace_seconds)
    on_time = [t for t in ticks if now - t <= threshold]
    late = [t for t in ticks if now - t > threshold]
    skipped = [(t, "missed by more than the misfire grace period") for t in late if now - t > grace]
    missed = [t for t in late if now - t <= grace]
    to_fire: list[datetime] = []
    if missed:
        policy = automation.misfire_policy
        if policy == "run_all":
            to_fire += missed[-catch_up_limit:]
            skipped += [(t, "missed: beyond the catch-up limit") for t in missed[:-catch_up_limit]]
        elif policy == "run_once":
            to_fire.append(missed[-1])
            skipped += [(t, "missed: run once for all missed ticks") for t in missed[:-1]]
        else:
            reason = "missed while no scheduler ran (misfire policy skip)"
            skipped += [(t, reason) for t in missed]
    to_fire += on_time
    skipped.sort()
    if len(skipped) > detail_limit:
        head = skipped[: len(skipped) - detail_limit + 1]
        summary = (
            f"{len(head)} ticks from {head[0][0].isoformat()} to {head[-1][0].isoformat()} "
            f"missed ({head[-1][1]})"
        )
        skipped = [(head[0][0], summary), *skipped[len(head) :]]
    last_seen = ticks[-1]
    next_run = schedule.next_after(max(now, last_seen))
    return TickPlan(tuple(to_fire), tuple(skipped), next_run)
