"""``UsageWriter``: AI usage rows written in groups (group commit), each caller awaiting its own.

Every completion costs one ``ai_usage`` row. One by one, each row is a thread hop and a commit
of its own, and a commit waits for the disk: twenty completions ending together queue twenty
commits behind one another. So rows queue here and go to the store together, as the run path's
writes do (``run_writes.py``): at most one group is being written at a time, whatever arrives
meanwhile forms the next one (it grows with the load), and a group is one thread hop and one
transaction (``add_usages``).

Each caller still awaits its own row: the answer reaches the run only once its cost is stored.
A group that fails is written again row by row, so one bad row (an owner deleted meanwhile)
fails its own caller only; an unavailable store fails the whole group at once (retrying each
row would only wait on the outage again).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Final

from ..errors import StoreUnavailableError, WorkscriptError
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import AiUsage

__all__ = ["MAX_GROUP", "UsageWriter"]

MAX_GROUP: Final = 500  # rows in one transaction at most


@dataclass
class _Pending:
    usage: AiUsage
    done: asyncio.Future[None]


class UsageWriter:
    """Queues usage rows and writes them in groups (see the module docstring)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, usage: AiUsage) -> None:
        """Store ``usage``; returns once it is committed, raises what its write raised."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(usage, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write_pending(), name="workscript-ai-usage-writer"
            )
        await asyncio.shield(done)

    async def _write_pending(self) -> None:
        while self._pending:
            group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
            outcomes: list[BaseException | None]
            try:
                outcomes = await run_off_loop(self._write, [item.usage for item in group])
            except BaseException as failure:  # never leave a caller waiting
                _settle(group, [failure] * len(group))
                if not isinstance(failure, Exception):
                    raise  # cancelled: the callers know, the task ends
                continue
            _settle(group, outcomes)

    def _write(self, usages: list[AiUsage]) -> list[BaseException | None]:
        """In a store thread: the group at once, else row by row; each row's outcome."""
        try:
            self._store.ai.add_usages(usages)
            return [None] * len(usages)
        except StoreUnavailableError as error:
            return [error] * len(usages)
        except WorkscriptError as error:
            if len(usages) == 1:
                return [error]
        return [self._write_one(usage) for usage in usages]

    def _write_one(self, usage: AiUsage) -> BaseException | None:
        try:
            self._store.ai.add_usages([usage])
        except WorkscriptError as error:
            return error
        return None

    async def close(self) -> None:
        """Wait for the rows queued so far to be written (a server stopping)."""
        writer = self._writer
        if writer is not None and not writer.done():
            with contextlib.suppress(Exception):
                await writer


def _settle(group: list[_Pending], outcomes: list[BaseException | None]) -> None:
    for item, outcome in zip(group, outcomes, strict=True):
        if item.done.done():
            continue
        if outcome is None:
            item.done.set_result(None)
        else:
            item.done.set_exception(outcome)
