"""Runs that did not end well: retries of automation runs, and the runs of dead servers.

- An automation's run that ends ``failed``, ``timed_out`` or ``interrupted`` is run again, as a
  new run with ``attempt + 1``, while ``attempt <= retry_count``, after ``retry_delay *
  retry_backoff ** (attempt - 1)`` seconds. The pause is held in memory: a server that stops
  during it drops the retry (the failed run stays in the history).
- When this server becomes the scheduler's leader (and every ``recovery_interval`` while it is),
  the runs claimed by servers that are gone are taken over: a ``running`` one becomes
  ``interrupted`` (then retried if its policy says so), a ``queued`` one that never started is
  claimed and run here. "Gone" is decided by each server's liveness lock (a lock every server
  holds while it lives): if this server can take it, its holder is dead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from ..errors import RecordNotFoundError, StoreError
from ..store.base import Store
from ..store.records import Automation, ExecutionRecord, Scope, new_ordered_id, utcnow
from .automations import retry_delay
from .common import store_call
from .owners import OwnerCallers
from .pool import Job
from .run_queue import RunQueue
from .stranded_runs import interrupted_error
from .values import ACTIVE_STATUSES

__all__ = ["RETRY_STATUSES", "RunRecovery"]

log = logging.getLogger(__name__)

RETRY_STATUSES: Final = frozenset({"failed", "timed_out", "interrupted"})
_SCOPE: Final = Scope(user_id="server:recovery", is_admin=True)
_PAGE: Final = 200

IsAlive = Callable[[str], Awaitable[bool]]


class RunRecovery:
    """Retries of automation runs, and the runs of dead servers taken over."""

    def __init__(self, store: Store, queue: RunQueue, owners: OwnerCallers) -> None:
        self.store = store
        self._queue = queue
        self._pool = queue.pool
        self._owners = owners
        self._retry_tasks: set[asyncio.Task[None]] = set()

    # -- retries ------------------------------------------------------------------------------

    def run_finished(self, job: Job, status: str) -> None:
        """Called by the executor once a run's final record is written."""
        if job.automation_id is not None and status in RETRY_STATUSES:
            self.spawn_retry(job.execution_id, job.automation_id)

    def retry_interrupted(self, record: ExecutionRecord) -> None:
        """A run found interrupted (at start, or by the stranded-runs sweep): an automation's
        run is retried if its policy says so."""
        if record.automation_id is not None:
            self.spawn_retry(record.id, record.automation_id)

    def spawn_retry(self, execution_id: str, automation_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._retry(execution_id, automation_id))
        self._retry_tasks.add(task)
        task.add_done_callback(self._retry_tasks.discard)

    async def _retry(self, execution_id: str, automation_id: str) -> None:
        try:
            record = await store_call(self.store.executions.get, _SCOPE, execution_id)
            automation = await store_call(self.store.automations.get, _SCOPE, automation_id)
        except RecordNotFoundError:
            return  # deleted meanwhile: nothing to retry
        if record.attempt > automation.retry_count:
            return
        await asyncio.sleep(retry_delay(automation, record.attempt).total_seconds())
        await self._queue_again(automation, record)

    async def _queue_again(self, automation: Automation, record: ExecutionRecord) -> None:
        retry = dataclasses.replace(
            record,
            id=new_ordered_id(),  # time-ordered: appended at the index's edge
            status="queued",
            attempt=record.attempt + 1,
            trigger_data={**record.trigger_data, "retryOf": record.id},
            final_state=None,
            error=None,
            timeline=[],
            node_runs=0,
            claimed_by=self._queue.claimed_by,
            created_at=utcnow(),
            started_at=None,
            ended_at=None,
            duration_ms=None,
        )
        try:
            await store_call(self.store.executions.create_many, [retry])
        except StoreError:
            log.exception("could not queue the retry of run %s", record.id)
            return
        owner = await self._owners.caller_for_run(record)
        self._queue.submit_automation_run(owner, automation, retry)

    async def stop_retries(self) -> None:
        tasks = tuple(self._retry_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- dead servers -------------------------------------------------------------------------

    async def recover_dead_servers(self, is_alive: IsAlive) -> dict[str, int]:
        """Take over the active runs of servers that are gone (see the module doc)."""
        leftovers = await self._active_runs_of_others()
        verdicts: dict[str, bool] = {}
        interrupted = requeued = 0
        for record in leftovers:
            server = record.claimed_by or ""
            if server not in verdicts:
                verdicts[server] = bool(server) and await is_alive(server)
            if verdicts[server]:
                continue
            if record.status == "queued":
                requeued += await self._adopt(record)
            else:
                interrupted += await self._interrupt(record)
        if interrupted or requeued:
            log.warning(
                "recovered the runs of dead servers: %d interrupted, %d taken over",
                interrupted,
                requeued,
            )
        return {"interrupted": interrupted, "takenOver": requeued}

    async def _active_runs_of_others(self) -> list[ExecutionRecord]:
        found: list[ExecutionRecord] = []
        cursor: str | None = None
        while True:
            page = await store_call(
                self.store.executions.list,
                _SCOPE,
                status=list(ACTIVE_STATUSES),
                limit=_PAGE,
                cursor=cursor,
            )
            found += [
                r
                for r in page.items
                if r.claimed_by != self._queue.server_id and self._pool.job(r.id) is None
            ]
            cursor = page.next_cursor
            if cursor is None:
                return found

    async def _interrupt(self, record: ExecutionRecord) -> int:
        ended_at = utcnow()
        started = record.started_at
        try:
            await store_call(
                self.store.executions.update,
                _SCOPE,
                record.id,
                status="interrupted",
                error=interrupted_error(record),
                ended_at=ended_at,
                duration_ms=(ended_at - started).total_seconds() * 1000 if started else None,
            )
        except RecordNotFoundError:
            return 0
        if record.automation_id is not None:
            self.spawn_retry(record.id, record.automation_id)
        return 1

    async def _adopt(self, record: ExecutionRecord) -> int:
        """A queued run of a dead server: run here, or (no workers here) back to the queue."""
        claimer = self._queue.claimed_by
        reclaim = self.store.executions.reclaim
        # compare-and-set: only the one recovery that takes it from the dead server runs it
        if not await store_call(reclaim, record.id, expected=record.claimed_by, claimed_by=claimer):
            return 0  # started, cancelled, deleted or taken over by someone else meanwhile
        if claimer is None:
            return 1
        try:
            owner = await self._owners.caller_for_run(record)
        except RecordNotFoundError:
            return 0
        workflow_id = record.workflow_id or str(
            (record.trigger_data.get("definition") or {}).get("id", "")
        )
        self._pool.submit(Job(record.id, owner, workflow_id, automation_id=record.automation_id))
        return 1
