"""Runs stranded by a store outage: final records retried until written, and a sweep.

A run's end must reach the store even when the database is away for a while, or the run stays
``queued``/``running`` for ever and keeps counting against its owner's quota.

- ``write(...)`` records a final record. While the store is unavailable
  (``StoreUnavailableError``) it tries again after each of ``RETRY_DELAYS``; still unavailable,
  the record is kept *pending* (in memory, at most ``MAX_PENDING``) and written by the next sweep.
  ``after()`` (the run's final event) is called once the record is written.
- ``sweep()``, every ``sweep_seconds`` while the service runs: the pending records first, then
  every run this server claimed that is still active in the store but that neither its pool nor
  the pending list holds (its start or its end was lost in an outage): it is marked
  ``interrupted`` with what happened (``NOT_STARTED`` or ``INTERRUPTED``, see
  ``execute.interrupted_error``). Runs younger than ``min_age_seconds`` are left alone (a run
  is stored a moment before it is handed to the pool).

Quotas (``max_queued_runs_per_user``) count the store's queued and running rows, so once the
sweep has run they are right again without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from ..errors import RecordNotFoundError, StoreError, StoreUnavailableError
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import ExecutionRecord, Scope, utcnow
from .execute import run_error
from .pool import RunPool
from .values import ACTIVE_STATUSES

__all__ = ["MAX_PENDING", "RETRY_DELAYS", "StrandedRuns", "interrupted_error", "lost_error"]

log = logging.getLogger(__name__)

RETRY_DELAYS: Final = (0.2, 0.5, 1.0, 2.0)  # seconds between the tries of one final record
MAX_PENDING: Final = 10_000  # final records kept for the sweep; beyond, the sweep re-marks them
_PAGE: Final = 200


def interrupted_error(record: ExecutionRecord) -> dict[str, Any]:
    """The error of a run found active after its server stopped: one that never started says
    so (``NOT_STARTED``), one that was running was interrupted (``INTERRUPTED``)."""
    if record.status == "queued":
        return run_error("NOT_STARTED", "the server stopped before the run started")
    return run_error("INTERRUPTED", "the server stopped during the run")


def lost_error(record: ExecutionRecord) -> dict[str, Any]:
    """The error of a run whose start or end a store outage lost (its server still runs)."""
    if record.status == "queued":
        return run_error("NOT_STARTED", "the run was not started: the store was unavailable")
    return run_error(
        "INTERRUPTED", "the end of the run could not be recorded: the store was unavailable"
    )


@dataclass(frozen=True, slots=True)
class _Pending:
    scope: Scope
    changes: Mapping[str, Any]
    after: Callable[[], None] | None


class StrandedRuns:
    """The final records an outage held back, and the sweep of this server's lost runs."""

    def __init__(
        self,
        store: Store,
        pool: RunPool,
        server_id: str,
        *,
        on_interrupted: Callable[[ExecutionRecord], None] | None = None,
        sweep_seconds: float = 15.0,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.store = store
        self.pool = pool
        self.server_id = server_id
        self.on_interrupted = on_interrupted  # e.g. an automation's retry policy
        self.sweep_seconds = sweep_seconds
        self.min_age_seconds = sweep_seconds
        self.retry_delays = retry_delays
        self.swept = 0  # runs re-marked by sweeps
        self.last_sweep_ok: bool | None = None
        self._pending: dict[str, _Pending] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def is_pending(self, execution_id: str) -> bool:
        return execution_id in self._pending

    # -- final records ------------------------------------------------------------------------

    async def write(
        self,
        scope: Scope,
        execution_id: str,
        changes: Mapping[str, Any],
        after: Callable[[], None] | None = None,
    ) -> bool:
        """The final record of a run; True once written, False if kept pending (the store is
        unavailable). Another error of the store (a value it refuses) is raised."""
        for delay in (*self.retry_delays, None):
            try:
                await self._update(scope, execution_id, changes)
            except StoreUnavailableError as error:
                if delay is None:
                    self._keep(scope, execution_id, changes, after, error)
                    return False
                await asyncio.sleep(delay)
                continue
            if after is not None:
                after()
            return True
        return False  # pragma: no cover - the loop always returns

    def _keep(
        self,
        scope: Scope,
        execution_id: str,
        changes: Mapping[str, Any],
        after: Callable[[], None] | None,
        error: StoreError,
    ) -> None:
        if len(self._pending) >= MAX_PENDING:
            log.error(
                "run %s: end not recorded (%s); the sweep will re-mark it", execution_id, error
            )
            return
        log.warning(
            "run %s: end not recorded yet (%s): kept for the next sweep", execution_id, error
        )
        self._pending[execution_id] = _Pending(scope, dict(changes), after)

    async def _update(self, scope: Scope, execution_id: str, changes: Mapping[str, Any]) -> None:
        with contextlib.suppress(RecordNotFoundError):  # deleted meanwhile: nothing to record
            await run_off_loop(self.store.executions.update, scope, execution_id, **changes)

    # -- the sweep ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._loop(), name="workscript-stranded-runs"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                await self.sweep()
            except StoreError as error:
                log.warning("sweep of stranded runs: the store is unavailable: %s", error)
            except Exception:
                log.exception("sweep of stranded runs failed")

    async def sweep(self) -> int:
        """Write the pending final records, then re-mark this server's lost runs; how many runs
        were re-marked. Raises StoreError while the store is still unavailable."""
        self.last_sweep_ok = False
        for execution_id, pending in list(self._pending.items()):
            await self._update(pending.scope, execution_id, pending.changes)
            del self._pending[execution_id]
            if pending.after is not None:
                pending.after()
        lost = await run_off_loop(self._lost_runs)
        marked = 0
        for record in lost:
            # checked again on the loop: a run may have reached the pool meanwhile
            if self.pool.job(record.id) is not None or record.id in self._pending:
                continue
            if await self._mark(record):
                marked += 1
        self.swept += marked
        self.last_sweep_ok = True
        if marked:
            log.warning("%d run(s) stranded by a store outage were marked interrupted", marked)
        return marked

    def _lost_runs(self) -> list[ExecutionRecord]:
        """In a store thread: this server's active runs older than ``min_age_seconds``."""
        scope = Scope(user_id=f"server:{self.server_id}", is_admin=True)
        before = utcnow() - timedelta(seconds=self.min_age_seconds)
        found: list[ExecutionRecord] = []
        cursor: str | None = None
        while True:
            page = self.store.executions.list(
                scope, status=ACTIVE_STATUSES, created_before=before, limit=_PAGE, cursor=cursor
            )
            found += [r for r in page.items if r.claimed_by == self.server_id]
            cursor = page.next_cursor
            if cursor is None:
                return found

    async def _mark(self, record: ExecutionRecord) -> bool:
        ended_at = utcnow()
        started = record.started_at
        error = lost_error(record)
        scope = Scope(user_id=f"server:{self.server_id}", is_admin=True)
        try:
            current = await run_off_loop(self.store.executions.get, scope, record.id)
            if current.status not in ACTIVE_STATUSES:
                return False  # ended meanwhile
            await run_off_loop(
                self.store.executions.update,
                scope,
                record.id,
                status="interrupted",
                error=error,
                ended_at=ended_at,
                duration_ms=(ended_at - started).total_seconds() * 1000 if started else None,
            )
        except RecordNotFoundError:
            return False
        if self.on_interrupted is not None:
            self.on_interrupted(record)
        return True
