"""The result of a run (WORKFLOW-LANGUAGE.md §5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

__all__ = ["RunError", "RunFailure", "RunResult", "RunStatus", "TimelineEntry", "iso_time"]

RunStatus = Literal["completed", "failed", "timed_out", "cancelled"]
FINAL_STATUSES: Final = ("completed", "failed", "timed_out", "cancelled")


_second_cache: list[Any] = [None, ""]
_MILLIS: Final = tuple(f"{millis:03d}Z" for millis in range(1000))


def iso_time(epoch_seconds: float) -> str:
    """UTC ISO 8601 with milliseconds and a Z, as JavaScript's toISOString.

    Called for every state setter, so the formatted second is cached and the milliseconds are
    looked up, never formatted.
    """
    whole = int(epoch_seconds)
    if _second_cache[0] != whole:
        moment = datetime.fromtimestamp(whole, tz=UTC)
        _second_cache[0], _second_cache[1] = whole, moment.strftime("%Y-%m-%dT%H:%M:%S.")
    return _second_cache[1] + _MILLIS[int((epoch_seconds - whole) * 1000)]  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class RunError:
    message: str
    code: str
    node_path: str = ""
    node_type: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "message": self.message,
            "code": self.code,
            "nodePath": self.node_path,
            "nodeType": self.node_type,
        }


class RunFailure(Exception):
    """Raised inside the engine when the run must fail with ``error`` (the run catches it)."""

    def __init__(self, error: RunError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    path: str
    type: str
    edge: str | None
    started_at: float
    duration_ms: float
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "type": self.type,
            "edge": self.edge,
            "startedAt": iso_time(self.started_at),
            "durationMs": round(self.duration_ms, 3),
            "error": self.error,
        }


@dataclass(frozen=True, slots=True, repr=False)
class RunResult:
    execution_id: str
    workflow_id: str
    status: RunStatus
    final_state: dict[str, Any]
    started_at: float
    ended_at: float
    node_runs: int
    error: RunError | None = None
    warnings: tuple[dict[str, str], ...] = ()
    timeline: tuple[TimelineEntry, ...] = ()
    timeline_dropped: int = 0
    logs: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:
        # Short on purpose: the final state may hold 10,000 rows, and asyncio itself reprs the
        # result of the task that ran it (CPython 3.11's asyncio.run signal check).
        error = f", error={self.error.code}" if self.error else ""
        return (
            f"RunResult(workflow_id={self.workflow_id!r}, status={self.status!r}, "
            f"node_runs={self.node_runs}, duration_ms={self.duration_ms:.1f}, "
            f"state_keys={len(self.final_state)}{error})"
        )

    @property
    def duration_ms(self) -> float:
        return (self.ended_at - self.started_at) * 1000

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def to_dict(self, *, timeline: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "executionId": self.execution_id,
            "workflowId": self.workflow_id,
            "status": self.status,
            "finalState": self.final_state,
            "error": self.error.to_dict() if self.error else None,
            "startedAt": iso_time(self.started_at),
            "endedAt": iso_time(self.ended_at),
            "durationMs": round(self.duration_ms, 3),
            "nodeRuns": self.node_runs,
            "warnings": list(self.warnings),
        }
        if timeline:
            out["timeline"] = [entry.to_dict() for entry in self.timeline]
            out["timelineDropped"] = self.timeline_dropped
        return out
