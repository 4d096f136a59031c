"""Failure reports and the per-cell metadata of an executed notebook."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from nbformat import NotebookNode

__all__ = ["FailureKind", "NotebookFailure", "failure_from_cell", "mark_cell", "strip_ansi"]

FailureKind = Literal[
    "cell_error", "cell_timeout", "timeout", "kernel_died", "kernel_start_timeout"
]

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
SOURCE_HEAD_LINES = 5


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


@dataclass(frozen=True, slots=True)
class NotebookFailure:
    """Why a run failed. ``cell_index`` is the notebook cell (None when no cell was running)."""

    kind: FailureKind
    message: str
    cell_index: int | None = None
    source_head: str | None = None
    ename: str | None = None
    evalue: str | None = None
    traceback: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def failure_from_cell(cell: NotebookNode, index: int, fallback: str) -> NotebookFailure:
    """A ``cell_error`` from the error output the kernel left in ``cell``."""
    head = "\n".join(cell.source.splitlines()[:SOURCE_HEAD_LINES])
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            ename = str(out.get("ename", ""))
            evalue = strip_ansi(str(out.get("evalue", "")))
            traceback = strip_ansi("\n".join(out.get("traceback", [])))
            return NotebookFailure(
                kind="cell_error",
                message=f"cell {index} raised {ename}: {evalue}",
                cell_index=index,
                source_head=head,
                ename=ename,
                evalue=evalue,
                traceback=traceback,
            )
    return NotebookFailure(
        kind="cell_error",
        message=f"cell {index} failed",
        cell_index=index,
        source_head=head,
        traceback=strip_ansi(fallback),
    )


def mark_cell(
    cell: NotebookNode,
    status: str,
    started: datetime,
    duration_ms: int,
    error: NotebookFailure | None = None,
) -> None:
    """Write ``metadata.workscript`` of an executed cell: status, start, duration, error."""
    meta: dict[str, Any] = {
        "status": status,
        "started": started.isoformat(),
        "duration_ms": duration_ms,
    }
    if error is not None:
        meta["error"] = {"kind": error.kind, "ename": error.ename, "evalue": error.evalue}
    cell.metadata["workscript"] = meta
