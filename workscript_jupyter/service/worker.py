"""The queue worker: runs that nobody has claimed, taken from the database and run here.

A server with ``run_workers`` on claims the runs it creates itself (``claimed_by`` at once) and
runs them in its pool. A server with ``run_workers`` off leaves them unclaimed, and any process
with a ``QueueWorker`` takes them: ``workscript worker`` on any machine that reaches the
database, or a server. ``claim_queued`` hands each run to one worker (``FOR UPDATE SKIP
LOCKED`` on MySQL), and ``executions.start`` starts it once even if two ever held it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from ..errors import RecordNotFoundError, StoreError
from ..store.base import Store
from ..store.records import ExecutionRecord
from .common import store_call
from .owners import OwnerCallers
from .pool import Job, RunPool
from .values import Caller

__all__ = ["QueueWorker"]

log = logging.getLogger(__name__)

_IDLE_POLL: Final = 1.0


class QueueWorker:
    """Keeps ``pool`` supplied with unclaimed queued runs while it has room."""

    def __init__(
        self,
        store: Store,
        pool: RunPool,
        server_id: str,
        owners: OwnerCallers,
        *,
        poll_seconds: float = _IDLE_POLL,
    ) -> None:
        self.store = store
        self.pool = pool
        self.server_id = server_id  # what the runs it claims get in ``claimed_by``
        self.owners = owners
        self.poll_seconds = poll_seconds
        self.claimed = 0
        self.last_claim_at = 0.0  # loop time of the last claim that got runs
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._loop(), name="workscript-queue-worker")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            pool = self.pool
            room = pool.limits.max_concurrent_runs - pool.running_count - pool.queued_count
            got = 0
            if room > 0:
                try:
                    got = await self._take(room)
                except StoreError as error:
                    log.warning("queue worker: cannot claim runs: %s", error)
            if got:
                self.last_claim_at = loop.time()
            if got and got >= room:
                # full: wait for a run to end, then ask for more at once
                pool.room_freed.clear()
                wait = pool.room_freed.wait()
            else:
                wait = self._stop.wait()  # idle (or nothing more queued): poll again later
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wait, self.poll_seconds)

    async def _take(self, room: int) -> int:
        records = await store_call(self.store.executions.claim_queued, self.server_id, limit=room)
        for record in records:
            caller = await self._caller(record)
            if caller is None:
                continue
            self.pool.submit(_job(record, caller))
        self.claimed += len(records)
        return len(records)

    async def _caller(self, record: ExecutionRecord) -> Caller | None:
        try:
            return await self.owners.caller_for_run(record)
        except RecordNotFoundError:  # its owner was deleted: the run cannot be attributed
            log.warning("queue worker: run %s has no owner any more", record.id)
            return None


def _job(record: ExecutionRecord, caller: Caller) -> Job:
    definition = record.trigger_data.get("definition") or {}
    workflow_id = record.workflow_id or str(definition.get("id", ""))
    job = Job(record.id, caller, workflow_id, record=record)
    job.automation_id = record.automation_id
    return job
