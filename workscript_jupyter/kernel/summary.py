"""Static HTML for a run: what a saved notebook, nbviewer or VS Code shows without a kernel.

Self-contained (inline styles, no scripts), so it renders wherever HTML outputs render.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from ..engine import RunResult, TimelineEntry, Workflow
from ..engine.visible_state import visible_state

__all__ = ["STATUS_ICONS", "NodeRow", "aggregate_rows", "rows_table", "state_json", "summary_html"]

STATUS_ICONS = {
    "pending": "○",
    "running": "⋯",
    "completed": "✓",
    "failed": "✗",
    "timed_out": "⏱",
    "cancelled": "⊘",
}
STATUS_COLOURS = {
    "pending": "#666",
    "running": "#1a6fb5",
    "completed": "#1e7d32",
    "failed": "#b3261e",
    "timed_out": "#b35c00",
    "cancelled": "#666",
}
MAX_ROWS = 200
MAX_STATE_CHARS = 20_000
SUMMARY_MARKER = "workscript-run-summary"
# inline, and explicit: notebook front ends restyle tables (JupyterLab right-aligns cells)
_CELL = "text-align:left;padding:1px 10px 1px 0"
_NUM = "text-align:right;padding:1px 0 1px 14px"


@dataclass(slots=True)
class NodeRow:
    """One node of the workflow, summed over every time it ran."""

    path: str
    type: str
    runs: int = 0
    last_edge: str | None = None
    total_ms: float = 0.0
    failed: int = 0
    error: str | None = None


def aggregate_rows(timeline: Iterable[TimelineEntry]) -> list[NodeRow]:
    rows: dict[str, NodeRow] = {}
    for entry in timeline:
        row = rows.get(entry.path)
        if row is None:
            row = rows[entry.path] = NodeRow(entry.path, entry.type)
        row.runs += 1
        row.last_edge = entry.edge
        row.total_ms += entry.duration_ms
        if entry.error is not None:
            row.failed += 1
            row.error = entry.error
    return list(rows.values())


def rows_table(rows: list[NodeRow], *, current: str = "") -> str:
    """The node table: one line per node path (a loop of 4,000 runs is a handful of lines)."""
    if not rows:
        return "<div style='color:#666'>no node has run yet</div>"
    shown = rows[:MAX_ROWS]
    body = []
    for row in shown:
        icon, colour = ("✗", STATUS_COLOURS["failed"]) if row.failed else ("✓", "#1e7d32")
        if row.path == current:
            icon, colour = "⋯", STATUS_COLOURS["running"]
        title = f" title='{escape(row.error)}'" if row.error else ""
        body.append(
            f"<tr{title}><td style='{_CELL};color:{colour}'>{icon}</td>"
            f"<td style='{_CELL}'><code>{escape(row.path)}</code></td>"
            f"<td style='{_CELL}'>{escape(row.type)}</td>"
            f"<td style='{_CELL}'>{escape(row.last_edge or '—')}</td>"
            f"<td style='{_NUM}'>{row.runs:,}</td>"
            f"<td style='{_NUM}'>{row.total_ms:,.1f} ms</td></tr>"
        )
    more = len(rows) - len(shown)
    if more > 0:
        body.append(f"<tr><td></td><td colspan='5'>… {more:,} more nodes</td></tr>")
    head = (
        f"<tr><th style='{_CELL}'></th><th style='{_CELL}'>node path</th>"
        f"<th style='{_CELL}'>type</th><th style='{_CELL}'>edge</th>"
        f"<th style='{_NUM}'>runs</th><th style='{_NUM}'>time</th></tr>"
    )
    return (
        "<table style='border-collapse:collapse;font-size:12px' class='workscript-rows'>"
        f"{head}{''.join(body)}</table>"
    )


def state_json(state: Mapping[str, Any], limit: int = MAX_STATE_CHARS) -> str:
    """The state as a user sees it (no engine bookkeeping), as JSON, cut at ``limit``."""
    text = json.dumps(visible_state(state), indent=2, ensure_ascii=False, default=str)
    if len(text) > limit:
        text = text[:limit] + f"\n… ({len(text) - limit:,} more characters)"
    return text


def status_badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#666")
    icon = STATUS_ICONS.get(status, "")
    return (
        f"<span class='workscript-status' style='color:{colour};font-weight:bold'>"
        f"{icon} {escape(status)}</span>"
    )


def summary_html(
    workflow: Workflow, result: RunResult | None, *, live_state: Mapping[str, Any] | None = None
) -> str:
    name = escape(workflow.name)
    if result is None:
        return f"<div class='{SUMMARY_MARKER}'><b>{name}</b> {status_badge('running')}</div>"
    parts = [
        f"<div class='{SUMMARY_MARKER}' style='font-family:sans-serif;font-size:13px'>",
        f"<div><b>{name}</b> <code>{escape(workflow.id)}</code> {status_badge(result.status)}"
        f" · {result.node_runs:,} node runs · {result.duration_ms:,.1f} ms</div>",
    ]
    if result.error is not None:
        where = escape(result.error.node_path or "the workflow")
        parts.append(
            f"<div style='color:{STATUS_COLOURS['failed']}' class='workscript-error'>"
            f"{escape(result.error.code)} at <code>{where}</code>"
            f" ({escape(result.error.node_type or '-')}): {escape(result.error.message)}</div>"
        )
    for warning in result.warnings[:5]:
        parts.append(
            f"<div style='color:#b35c00'>warning at <code>{escape(warning['nodePath'])}</code>: "
            f"{escape(warning['message'])}</div>"
        )
    state = result.final_state if live_state is None else live_state
    parts.append(
        "<details><summary>node runs and final state</summary>"
        + rows_table(aggregate_rows(result.timeline))
        + f"<pre style='max-height:300px;overflow:auto'>{escape(state_json(state))}</pre>"
        + "</details>"
    )
    parts.append("</div>")
    return "".join(parts)
