"""``AutomationHistory``: automations' runs, fire log and statistics, and cron validation.

Read-only: it needs only the store."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from ..errors import BadRequestError, InvalidCronError
from ..scheduler.cron import CronSchedule
from ..store.base import Store
from ..store.records import Automation, Page, utcnow
from .common import check_limit, optional_str, store_call
from .values import ACTIVE_STATUSES, Caller

__all__ = ["AutomationHistory"]


class AutomationHistory:
    """Read-only views of automations."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def _visible(self, caller: Caller, automation_id: str) -> Automation:
        if not isinstance(automation_id, str) or not automation_id:
            raise BadRequestError(f"an id must be a non-empty string, not {automation_id!r}")
        return await store_call(self.store.automations.get, caller.scope, automation_id)

    async def list_automation_executions(
        self,
        caller: Caller,
        automation_id: str,
        *,
        status: list[str] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        automation = await self._visible(caller, automation_id)
        return await store_call(
            self.store.executions.list,
            caller.scope,
            automation_id=automation.id,
            status=status,
            limit=check_limit(limit),
            cursor=optional_str("cursor", cursor),
        )

    async def list_fires(
        self, caller: Caller, automation_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        return await store_call(
            self.store.fires.list,
            caller.scope,
            automation_id,
            limit=check_limit(limit),
            cursor=optional_str("cursor", cursor),
        )

    async def automation_stats(self, caller: Caller, automation_id: str) -> dict[str, Any]:
        """Counts by status and by fire outcome, success rate, durations, last and next run
        (over the newest 1,000 runs and 200 fires)."""
        automation = await self._visible(caller, automation_id)
        runs = await store_call(
            self.store.executions.list, caller.scope, automation_id=automation.id, limit=200
        )
        items = list(runs.items)
        cursor = runs.next_cursor
        while cursor is not None and len(items) < 1000:
            page = await store_call(
                self.store.executions.list,
                caller.scope,
                automation_id=automation.id,
                limit=200,
                cursor=cursor,
            )
            items += page.items
            cursor = page.next_cursor
        fires = await store_call(self.store.fires.list, caller.scope, automation.id, limit=200)
        by_status: dict[str, int] = {}
        for run in items:
            by_status[run.status] = by_status.get(run.status, 0) + 1
        by_outcome: dict[str, int] = {}
        for fire in fires.items:
            by_outcome[fire.outcome] = by_outcome.get(fire.outcome, 0) + 1
        finished = [r for r in items if r.status not in ACTIVE_STATUSES]
        durations = sorted(r.duration_ms for r in finished if r.duration_ms is not None)
        completed = by_status.get("completed", 0)
        return {
            "automationId": automation.id,
            "runs": len(items),
            "byStatus": by_status,
            "fires": by_outcome,
            "successRate": (completed / len(finished)) if finished else None,
            "medianDurationMs": durations[len(durations) // 2] if durations else None,
            "lastRunAt": automation.last_run_at,
            "nextRunAt": automation.next_run_at,
            "lastStatus": items[0].status if items else None,
        }

    # -- cron ---------------------------------------------------------------------------------

    @staticmethod
    def validate_cron(expression: Any, timezone: Any = None, count: Any = 5) -> dict[str, Any]:
        """``{valid, description, nextRuns}`` or ``{valid: false, error, field}``."""
        if not isinstance(expression, str):
            raise BadRequestError(
                "expression must be a cron expression (a string)",
                details=[{"field": "expression", "message": "a string"}],
            )
        if timezone is not None and not isinstance(timezone, str):
            raise BadRequestError(
                "timezone must be an IANA time zone name",
                details=[{"field": "timezone", "message": "a string"}],
            )
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 50:
            raise BadRequestError(
                "count must be an integer from 1 to 50",
                details=[{"field": "count", "message": "1..50"}],
            )
        try:
            schedule = CronSchedule.parse(expression, timezone or "UTC")
        except InvalidCronError as error:
            details = error.details if isinstance(error.details, dict) else {}
            return {"valid": False, "error": error.message, "field": details.get("field")}
        runs = schedule.next_times(count, utcnow())
        zone = ZoneInfo(schedule.timezone)
        return {
            "valid": True,
            **schedule.to_dict(),
            "nextRuns": runs,
            "nextRunsLocal": [t.astimezone(zone).isoformat() for t in runs],
        }
