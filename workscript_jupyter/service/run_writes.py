"""``RunWrites``: the run path's writes, committed in groups (group commit).

Every run costs the store an insert (answered 202 only once it is stored), a start and a final
record; a webhook's run also touches its automation's ``last_run_at``. One by one, each is a
commit of its own, and a commit waits for the disk (an ``fsync``: about 4 ms here on SQLite and
on MariaDB alike) — that, not Python, capped the server near 200 runs/s. So they queue here
and go to the store together: at most one batch is being written at a time, and whatever
arrives meanwhile forms the next batch, which therefore grows with the load. A batch is one
thread hop and, when the store offers ``one_transaction``, one commit.

Per item the outcome is exactly what a call of its own would give: a batch that fails is
written again part by part, and a part that fails item by item, so one bad record fails its
own caller only. An unavailable store fails every item of the part at once (retrying each
would only wait on the outage again).

Admission (``max_queued_runs_per_user``) is decided here too, in the thread that inserts:
the active runs of each owner in a batch are counted once, then the batch's runs of that owner
are admitted up to the limit, in arrival order. Batches are written one at a time, so counting
and inserting never interleave within this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from ..errors import BadRequestError, StoreUnavailableError, TooManyRunsError, WorkscriptError
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import ExecutionRecord, Scope, utcnow
from .values import ACTIVE_STATUSES

__all__ = ["RETRY_AFTER_SECONDS", "RunWrites"]

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS: Final = 5  # what a refused run's answer suggests (Retry-After)


@dataclass
class _Insert:
    record: ExecutionRecord
    admission_limit: int | None  # None: not counted (an automation's run)
    automation_id: str | None  # its last_run_at becomes the run's created_at
    future: asyncio.Future[None]


@dataclass
class _Batch:
    inserts: list[_Insert] = field(default_factory=list)
    starts: dict[str, asyncio.Future[tuple[bool, datetime]]] = field(default_factory=dict)
    finishes: dict[str, tuple[Mapping[str, Any], asyncio.Future[None]]] = field(
        default_factory=dict
    )

    def __bool__(self) -> bool:
        return bool(self.inserts or self.starts or self.finishes)


@dataclass
class _Outcome:
    """What the store thread decided, set on the futures back on the loop."""

    results: list[tuple[asyncio.Future[Any], Any]] = field(default_factory=list)
    errors: list[tuple[asyncio.Future[Any], BaseException]] = field(default_factory=list)


class RunWrites:
    """Inserts, starts and final records of runs, written in groups (see the module)."""

    def __init__(self, store: Store, server_id: str) -> None:
        self.store = store
        self.server_id = server_id
        self._server_scope = Scope(user_id=f"server:{server_id}", is_admin=True)
        self._pending = _Batch()
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # how many batches were written (a figure for tests and benchmarks)

    # -- the calls ----------------------------------------------------------------------------

    async def insert(
        self,
        record: ExecutionRecord,
        *,
        admission_limit: int | None = None,
        automation_id: str | None = None,
    ) -> None:
        """Store a new run; ``TooManyRunsError`` when its owner already has
        ``admission_limit`` runs queued or running."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.inserts.append(_Insert(record, admission_limit, automation_id, future))
        self._wake()
        try:
            await future
        except WorkscriptError:
            raise
        except ValueError as exc:  # a value the store cannot hold: the caller's mistake
            raise BadRequestError(str(exc)) from exc

    async def start(self, execution_id: str) -> tuple[bool, datetime]:
        """Mark a queued run ``running`` for this server: (whether it was started, when)."""
        future: asyncio.Future[tuple[bool, datetime]] = asyncio.get_running_loop().create_future()
        self._pending.starts[execution_id] = future
        self._wake()
        return await future

    async def finish(self, execution_id: str, changes: Mapping[str, Any]) -> None:
        """A run's final record (``finish_many``'s rules: a gone run is skipped)."""
        await self.enqueue_finish(execution_id, changes)

    def enqueue_finish(self, execution_id: str, changes: Mapping[str, Any]) -> asyncio.Future[None]:
        """``finish``, queued now: a run started in this turn of the loop (the one taking the
        slot this run leaves) is started in the same batch, and its start is answered after
        this end, so their events keep that order."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.finishes[execution_id] = (changes, future)
        self._wake()
        return future

    # -- the writer ---------------------------------------------------------------------------

    def _wake(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_pending())

    async def _write_pending(self) -> None:
        await asyncio.sleep(0)  # the calls of this turn of the loop join the first batch
        while self._pending:
            batch, self._pending = self._pending, _Batch()
            try:
                outcome = await run_off_loop(self._write, batch)
            except asyncio.CancelledError:  # the server stopping: nobody is left to answer
                for future in _futures(batch):
                    future.cancel()
                raise
            except Exception as failure:  # noqa: BLE001 - never leave a caller waiting
                outcome = _Outcome(errors=[(future, failure) for future in _futures(batch)])
            else:
                self.batches += 1
            for future, result in outcome.results:
                if not future.done():
                    future.set_result(result)
            for future, error in outcome.errors:
                if not future.done():
                    future.set_exception(error)

    def _write(self, batch: _Batch) -> _Outcome:
        """In a store thread: the batch in one transaction if the store offers one and it goes
        through; else part by part, and item by item within a failing part."""
        one_transaction = getattr(self.store, "one_transaction", None)
        if one_transaction is not None:
            try:
                return self._write_at_once(batch, one_transaction)
            except Exception:
                log.debug("a batch of run writes failed as one transaction", exc_info=True)
        return self._write_by_parts(batch)

    def _write_at_once(
        self, batch: _Batch, one_transaction: Callable[[], contextlib.AbstractContextManager[Any]]
    ) -> _Outcome:
        outcome = _Outcome()
        with one_transaction():
            admitted = self._admit(batch.inserts, outcome, fail_fast=True)
            self.store.executions.create_many([i.record for i in admitted])
            self._touch_automations(admitted)
            started_at, started = self._start_all(list(batch.starts))
            finishes = [(run_id, changes) for run_id, (changes, _) in batch.finishes.items()]
            if finishes:
                self.store.executions.finish_many(finishes)
        # ends first: a run that took the slot of one ending in this batch reports its start
        # (workflow:started) after that run's end (its final event)
        outcome.results += [(future, None) for _, future in batch.finishes.values()]
        outcome.results += [(i.future, None) for i in admitted]
        outcome.results += [
            (future, (run_id in started, started_at)) for run_id, future in batch.starts.items()
        ]
        return outcome

    def _write_by_parts(self, batch: _Batch) -> _Outcome:
        outcome = _Outcome()
        admitted = self._admit(batch.inserts, outcome)
        _each(
            outcome,
            [(i.future, i) for i in admitted],
            lambda items: self.store.executions.create_many([i.record for i in items]),
        )
        stored = [i for i in admitted if any(f is i.future for f, _ in outcome.results)]
        try:
            self._touch_automations(stored)
        except Exception:  # the run is stored; its automation's last_run_at only informs
            log.warning("could not update the last run of automations", exc_info=True)

        def start(run_ids: list[str]) -> list[tuple[bool, datetime]]:
            at, started = self._start_all(run_ids)
            return [(run_id in started, at) for run_id in run_ids]

        ends = _Outcome()  # answered first, as in _write_at_once
        finishes = [(f, (run_id, changes)) for run_id, (changes, f) in batch.finishes.items()]
        _each(ends, finishes, self.store.executions.finish_many)
        _each(outcome, [(f, run_id) for run_id, f in batch.starts.items()], start)
        outcome.results[:0] = ends.results
        outcome.errors[:0] = ends.errors
        return outcome

    def _admit(
        self, inserts: Sequence[_Insert], outcome: _Outcome, *, fail_fast: bool = False
    ) -> list[_Insert]:
        """The inserts within their owner's limit; the others fail with TooManyRunsError.
        A count that fails fails that insert (or, ``fail_fast``, the whole batch)."""
        counts: dict[str, int] = {}
        admitted: list[_Insert] = []
        for insert in inserts:
            limit, owner = insert.admission_limit, insert.record.owner_id
            if limit is not None:
                if owner not in counts:
                    try:
                        counts[owner] = self.store.executions.count(
                            status=ACTIVE_STATUSES, owner_id=owner
                        )
                    except Exception as error:
                        if fail_fast:
                            raise
                        outcome.errors.append((insert.future, error))
                        continue
                if counts[owner] >= limit:
                    outcome.errors.append((insert.future, _too_many(counts[owner], limit)))
                    continue
                counts[owner] += 1
            admitted.append(insert)
        return admitted

    def _touch_automations(self, inserts: Sequence[_Insert]) -> None:
        latest: dict[str, datetime] = {}
        for insert in inserts:
            if insert.automation_id is not None:
                at = insert.record.created_at
                latest[insert.automation_id] = max(at, latest.get(insert.automation_id, at))
        for automation_id, at in latest.items():
            self.store.automations.update(self._server_scope, automation_id, last_run_at=at)

    def _start_all(self, run_ids: list[str]) -> tuple[datetime, set[str]]:
        at = utcnow()
        if not run_ids:
            return at, set()
        return at, self.store.executions.start_many(run_ids, self.server_id, at)


def _each(
    outcome: _Outcome,
    items: list[tuple[asyncio.Future[Any], Any]],
    write: Callable[[list[Any]], Any],
) -> None:
    """``write`` all ``items`` at once; if that fails, each one alone, to find the culprit.
    ``write`` returns None or a list of per-item results."""
    if not items:
        return
    try:
        results = write([value for _, value in items])
    except StoreUnavailableError as error:  # every one would fail the same way
        outcome.errors += [(future, error) for future, _ in items]
        return
    except Exception as error:  # noqa: BLE001 - the caller's to handle
        if len(items) == 1:
            outcome.errors.append((items[0][0], error))
            return
        for item in items:
            _each(outcome, [item], write)
        return
    for index, (future, _) in enumerate(items):
        outcome.results.append((future, None if results is None else results[index]))


def _too_many(active: int, limit: int) -> TooManyRunsError:
    return TooManyRunsError(
        f"you already have {active} runs queued or running (at most {limit}); "
        f"try again in {RETRY_AFTER_SECONDS} s",
        retry_after=RETRY_AFTER_SECONDS,
        details={"active": active, "limit": limit},
    )


def _futures(batch: _Batch) -> Iterator[asyncio.Future[Any]]:
    yield from (i.future for i in batch.inserts)
    yield from batch.starts.values()
    yield from (future for _, future in batch.finishes.values())
