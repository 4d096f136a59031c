"""``UsageWriter``: AI usage rows written in groups (group commit), each caller awaiting its own.

Every completion costs one ``ai_usage`` row. One by one, each row is a thread hop and a commit
of its own, and a commit waits for the disk: twenty completions ending together queue twenty
commits behind one another. So rows queue here and go to the store together, as the run path's
writes do (``run_writes.py``): at most one group is being written at a time, whatever arrives
meanwhile forms the next one (it grows with the load), and a group is one thread hop and one
transaction (``add_usages``).

A group's first row waits ``linger_seconds`` (0.1 s) for the rows of the calls ending about
then: writing costs the interpreter time that the event loop then lacks (SQLAlchemy builds the
statement in a store thread, under the same GIL), so one write for many rows is what keeps the
calls in flight fast. ``submit`` queues a row and returns its future at once; ``add`` (and
``flush``) writes at once and awaits it. The AI gateway
submits without waiting (ai_usage.py): an answer reaches its run without waiting for the
accounting commit (a few ms under load), and the budget counts the cost in memory at once. A
row is committed within a batch's time after its call; ``flush`` (a server stopping) waits for
every row queued so far, so only a process killed outright can lose the rows of its last
moment — the provider's own account still has them.

A group that fails is written again row by row, so one bad row (an owner deleted meanwhile)
fails its own row only; an unavailable store fails the whole group at once (retrying each row
would only wait on the outage again).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Final

from ..errors import StoreUnavailableError, WorkscriptError
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import AiUsage

__all__ = ["LINGER_SECONDS", "MAX_GROUP", "UsageWriter"]

MAX_GROUP: Final = 500  # rows in one transaction at most
LINGER_SECONDS: Final = 0.1  # how long the first row of a group waits for others


@dataclass
class _Pending:
    usage: AiUsage
    done: asyncio.Future[None]


class UsageWriter:
    """Queues usage rows and writes them in groups (see the module docstring)."""

    def __init__(self, store: Store, *, linger_seconds: float = LINGER_SECONDS) -> None:
        self._store = store
        self.linger_seconds = linger_seconds
        self._hurry = asyncio.Event()  # write what is queued now: a flush, a full group
        self._flushes = 0
        self._pending: list[_Pending] = []
        self._unsettled: set[asyncio.Future[None]] = set()
        self._writer: asyncio.Task[None] | None = None

    def submit(self, usage: AiUsage) -> asyncio.Future[None]:
        """Queue ``usage``; the future is done once it is committed (or holds its error)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append(_Pending(usage, done))
        self._unsettled.add(done)
        done.add_done_callback(self._unsettled.discard)
        if len(self._pending) >= MAX_GROUP:
            self._hurry.set()
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_pending(), name="workscript-ai-usage")
        return done

    async def add(self, usage: AiUsage) -> None:
        """Store ``usage`` now; returns once it is committed, raises what its write raised."""
        done = self.submit(usage)
        await self._hurried(asyncio.shield(done))

    async def flush(self) -> None:
        """Write every row submitted so far now, and wait until each is written (or failed)."""
        if self._unsettled:
            await self._hurried(asyncio.wait(set(self._unsettled)))

    async def settle(self, rows: Iterable[asyncio.Future[None]]) -> None:
        """Write the queue now if ``rows`` (futures of ``submit``) are not all written yet,
        and wait for them: a run's rows are stored before its end is (run_services.py)."""
        waiting = {row for row in rows if not row.done()}
        if waiting:
            await self._hurried(asyncio.wait(waiting))

    async def _hurried(self, waiting: Awaitable[object]) -> None:
        self._flushes += 1
        self._hurry.set()
        try:
            await waiting
        finally:
            self._flushes -= 1

    async def _write_pending(self) -> None:
        while self._pending:
            if self.linger_seconds > 0 and not self._hurry.is_set():
                # let the rows of the calls ending about now join this group: one write
                # (one thread hop, one statement, one commit) for many calls
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), self.linger_seconds)
            if not self._flushes:
                self._hurry.clear()
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
        await self.flush()


def _settle(group: list[_Pending], outcomes: list[BaseException | None]) -> None:
    for item, outcome in zip(group, outcomes, strict=True):
        if item.done.done():
            continue
        if outcome is None:
            item.done.set_result(None)
        else:
            item.done.set_exception(outcome)
