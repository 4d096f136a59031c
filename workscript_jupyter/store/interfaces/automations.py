"""Automations (a trigger and what it runs) and their fires: the scheduler's bookkeeping and
the exactly-once claim of each tick."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...errors import FireAlreadyClaimedError, RecordNotFoundError
from ..records import Automation, ExecutionRecord, FireClaim, Page, ScheduleFire, Scope

__all__ = ["AUTOMATION_FIELDS", "AutomationStore", "FireStore"]

_List = list  # the classes below define a method named list

AUTOMATION_FIELDS = frozenset(
    {
        "name", "trigger_type", "workflow_id", "notebook_path", "parameters", "cron_expression",
        "timezone", "webhook_token_hash", "enabled", "misfire_policy", "misfire_grace_seconds",
        "overlap_policy", "retry_count", "retry_delay_seconds", "retry_backoff",
        "timeout_seconds", "next_run_at", "last_run_at",
    }
)  # fmt: skip


class AutomationStore(ABC):
    @abstractmethod
    def create(self, scope: Scope, *, name: str, trigger_type: str, **fields: Any) -> Automation:
        """Other fields among AUTOMATION_FIELDS."""

    @abstractmethod
    def get(self, scope: Scope, automation_id: str) -> Automation: ...

    @abstractmethod
    def update(self, scope: Scope, automation_id: str, **changes: Any) -> Automation: ...

    @abstractmethod
    def delete(self, scope: Scope, automation_id: str) -> None:
        """Also deletes its fires."""

    @abstractmethod
    def list(
        self,
        scope: Scope,
        *,
        enabled: bool | None = None,
        trigger_type: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page: ...

    @abstractmethod
    def due(self, now: datetime, *, limit: int = 100) -> _List[Automation]:
        """Enabled automations whose ``next_run_at`` is at or before ``now`` (all owners),
        soonest first."""

    @abstractmethod
    def find_by_webhook_hash(self, token_hash: str) -> Automation | None: ...

    @abstractmethod
    def set_run_times(self, times: Sequence[tuple[str, datetime | None, datetime | None]]) -> None:
        """The scheduler's bookkeeping, ``(automation_id, next_run_at, last_run_at)`` each, in
        one go; ``updated_at`` is left alone (it dates the owner's edits). Gone ids are
        ignored."""


class FireStore(ABC):
    @abstractmethod
    def claim(
        self,
        automation_id: str,
        scheduled_for: datetime,
        claimed_by: str,
        *,
        outcome: str = "claimed",
        reason: str | None = None,
        run: ExecutionRecord | None = None,
    ) -> ScheduleFire:
        """Claim one tick. Raises FireAlreadyClaimedError if any server claimed it before.

        ``outcome``/``reason`` record at once what became of the tick, and ``run`` (a new
        record, usually ``queued``) is inserted in the same transaction: a tick is never
        claimed without its outcome, so a server dying after the claim loses nothing."""

    def claim_many(
        self, claims: Sequence[FireClaim], claimed_by: str
    ) -> _List[ScheduleFire | None]:
        """Claim many ticks (with their outcomes and runs) at once; for each, the fire, or None
        when another server had claimed that tick (or its automation is gone). Backends do it in
        one transaction when no tick is taken; this default claims one by one."""
        fires: _List[ScheduleFire | None] = []
        for claim in claims:
            try:
                fires.append(
                    self.claim(
                        claim.automation_id,
                        claim.scheduled_for,
                        claimed_by,
                        outcome=claim.outcome,
                        reason=claim.reason,
                        run=claim.run,
                    )
                )
            except (FireAlreadyClaimedError, RecordNotFoundError):
                fires.append(None)
        return fires

    @abstractmethod
    def record(
        self,
        fire_id: str,
        outcome: str,
        *,
        reason: str | None = None,
        execution_id: str | None = None,
    ) -> ScheduleFire: ...

    @abstractmethod
    def list(
        self, scope: Scope, automation_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        """Newest tick first. An automation the scope cannot see is RecordNotFoundError."""
