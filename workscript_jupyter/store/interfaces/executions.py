"""Runs: one record per run of any trigger, its lifecycle (queued, claimed, started,
finished), the lists and counts, and pruning."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..records import ExecutionRecord, Page, Scope

__all__ = ["EXECUTION_FIELDS", "ExecutionStore"]

_List = list  # the classes below define a method named list

EXECUTION_FIELDS = frozenset(
    {
        "status", "final_state", "error", "timeline", "node_runs", "attempt", "claimed_by",
        "started_at", "ended_at", "duration_ms", "trigger_data", "warnings",
    }
)  # fmt: skip


class ExecutionStore(ABC):
    @abstractmethod
    def create(
        self,
        scope: Scope,
        *,
        status: str = "queued",
        trigger: str = "manual",
        workflow_id: str | None = None,
        automation_id: str | None = None,
        initial_state: dict[str, Any] | None = None,
        trigger_data: dict[str, Any] | None = None,
        id: str | None = None,
    ) -> ExecutionRecord: ...

    @abstractmethod
    def create_many(self, records: Sequence[ExecutionRecord]) -> None:
        """Insert finished records in one batch (imports, benchmarks); owners as given."""

    @abstractmethod
    def get(self, scope: Scope, execution_id: str) -> ExecutionRecord:
        """The whole record, timeline and states included."""

    @abstractmethod
    def update(self, scope: Scope, execution_id: str, **changes: Any) -> ExecutionRecord:
        """Changes among EXECUTION_FIELDS."""

    @abstractmethod
    def delete(self, scope: Scope, execution_id: str) -> None: ...

    @abstractmethod
    def list(
        self,
        scope: Scope,
        *,
        workflow_id: str | None = None,
        automation_id: str | None = None,
        status: str | Sequence[str] | None = None,
        trigger: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        has_warnings: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Summaries, newest first: ``timeline``, ``initial_state`` and ``final_state`` are
        left empty (``get`` has them), so a page stays small however big the runs were.
        ``has_warnings`` keeps only the runs with (True) or without (False) warnings."""

    def start(self, execution_id: str, claimed_by: str, started_at: datetime) -> bool:
        """``queued`` → ``running`` (with ``claimed_by`` and ``started_at``) if the run is still
        queued; False if it is not (cancelled, deleted, or started by another worker). The one
        compare-and-set that makes a run start once, however many workers race for it."""
        return execution_id in self.start_many([execution_id], claimed_by, started_at)

    @abstractmethod
    def start_many(
        self, execution_ids: Sequence[str], claimed_by: str, started_at: datetime
    ) -> set[str]:
        """``start`` for many runs in one transaction; the ids that were started."""

    @abstractmethod
    def finish_many(self, results: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """The final records of many runs, ``(execution_id, changes)`` each with the same
        fields (among EXECUTION_FIELDS), in one statement; gone runs are skipped. A value the
        store cannot hold fails the whole call (callers then record one by one)."""

    @abstractmethod
    def claim_queued(self, claimed_by: str, *, limit: int = 10) -> _List[ExecutionRecord]:
        """Up to ``limit`` of the oldest queued runs nobody has claimed, now claimed by
        ``claimed_by`` (still ``queued``: ``start`` runs them). On MySQL the rows are picked
        with ``FOR UPDATE SKIP LOCKED`` so workers never wait on each other; each run is
        claimed by one worker only."""

    @abstractmethod
    def reclaim(self, execution_id: str, *, expected: str | None, claimed_by: str | None) -> bool:
        """A queued run claimed by ``expected`` (None: nobody) now claimed by ``claimed_by``;
        False, and nothing changed, if it is not queued or someone else holds it. The
        compare-and-set by which a run of a dead server reaches exactly one pool."""

    @abstractmethod
    def active_for_automations(self, automation_ids: Iterable[str]) -> dict[str, str]:
        """For each of these automations with a queued or running run (all owners): the id of
        one such run. The overlap check of a whole scheduler pass in one query."""

    @abstractmethod
    def count(self, *, status: str | Sequence[str], owner_id: str | None = None) -> int:
        """How many runs are in ``status`` (all owners, or one): for concurrency limits."""

    @abstractmethod
    def prune(
        self,
        *,
        older_than: datetime | None = None,
        keep_per_workflow: int | None = None,
        batch_size: int = 500,
    ) -> int:
        """Delete finished runs created before ``older_than`` and, per workflow, all but the
        newest ``keep_per_workflow``, in batches of at most ``batch_size`` rows per
        transaction; return how many were deleted. Queued and running runs are never pruned."""
