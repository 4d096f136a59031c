"""Execution retention: what the server prunes, and how often.

Pruning is batched inside ``ExecutionStore.prune`` (a few hundred ids per transaction), so a
large backlog never holds a lock on the runs table for long; this module decides the limits and
repeats the pruning on an interval, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from ..errors import StoreError
from .aio import run_off_loop
from .base import Store
from .records import utcnow

__all__ = ["prune_executions", "prune_periodically"]

log = logging.getLogger(__name__)


def prune_executions(
    store: Store,
    *,
    retention_days: float,
    max_per_workflow: int,
    now: datetime | None = None,
    batch_size: int = 500,
) -> int:
    """Delete finished runs older than ``retention_days`` and, per workflow, beyond the newest
    ``max_per_workflow``; 0 turns either limit off. Returns how many runs were deleted."""
    if retention_days <= 0 and max_per_workflow <= 0:
        return 0
    older_than = (now or utcnow()) - timedelta(days=retention_days) if retention_days > 0 else None
    return store.executions.prune(
        older_than=older_than,
        keep_per_workflow=max_per_workflow if max_per_workflow > 0 else None,
        batch_size=batch_size,
    )


async def prune_periodically(
    store: Store, *, interval_seconds: float, retention_days: float, max_per_workflow: int
) -> None:
    """Prune now, then every ``interval_seconds``, until cancelled. A database that is away
    is logged and tried again at the next interval, never fatal to the server."""
    while True:
        try:
            deleted = await run_off_loop(
                prune_executions,
                store,
                retention_days=retention_days,
                max_per_workflow=max_per_workflow,
            )
        except StoreError as error:
            log.warning("workscript: pruning old runs failed: %s", error.message)
        else:
            if deleted:
                log.info("workscript: pruned %d old runs", deleted)
        await asyncio.sleep(interval_seconds)
