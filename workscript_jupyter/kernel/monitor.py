"""RunMonitor: an ipywidgets view of a run, updated live from the engine's events.

Events arrive synchronously from the executor, often thousands a second. The monitor only
counts on each one (a few attribute writes) and pushes to the widgets at most ``max_rate``
times a second, inline (a run that never awaits gives the loop no chance to run a timer), plus
once at the end. Node rows are summed per node path, so a 4,000-run loop is a few lines.
"""

from __future__ import annotations

import asyncio
import time
from html import escape
from typing import Any

import ipywidgets as widgets

from ..engine import Event, RunResult, Workflow
from .graph import workflow_svg
from .summary import NodeRow, rows_table, state_json, status_badge

__all__ = ["RunMonitor"]

_TEXT_TAIL = 160  # characters of a streamed answer shown beside the counter


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _progress_text(payload: dict[str, Any]) -> str:
    """``<path>: 2/5 cells`` from a node:progress payload; for a node streaming text (ask-ai),
    ``<path>: …the last words (1234 chars)``."""
    text = payload.get("text")
    if isinstance(text, str):
        tail = " ".join(text[-_TEXT_TAIL:].split())
        cut = "…" if len(text) > _TEXT_TAIL or payload.get("truncated") else ""
        chars = payload.get("chars", len(text))
        return f"{payload.get('nodePath', '')}: {cut}{tail} ({chars} chars)"
    done, total = payload.get("done"), payload.get("total")
    amount = f"{done}/{total}" if total is not None else f"{done}"
    unit = payload.get("unit")
    return f"{payload.get('nodePath', '')}: {amount}" + (f" {unit}" if unit else "")


class RunMonitor(widgets.VBox):  # type: ignore[misc]
    """Header, progress, workflow graph, node table, error and state of one run."""

    def __init__(self, workflow: Workflow, *, max_rate: float = 10.0) -> None:
        self.workflow = workflow
        self.min_interval = 1.0 / max_rate
        self.status = "pending"
        self.node_runs = 0
        self.current_path = ""
        self.rows: dict[str, NodeRow] = {}
        self.error: dict[str, Any] | None = None
        self.detail = ""  # the running node's own progress ("2/5 cells"), from node:progress
        self.updates = 0  # how many times the widgets were pushed: the throttle is tested on it
        self._started = time.monotonic()
        self._ended: float | None = None
        self._last_push = 0.0
        self._graph_for: str | None = None
        self._state: dict[str, Any] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._last_path = ""

        self.header = widgets.HTML()
        self.progress = widgets.IntProgress(
            min=0, max=max(len(workflow.steps), 1), layout=widgets.Layout(width="50%")
        )
        self.counter = widgets.HTML()
        self.graph = widgets.HTML()
        self.table = widgets.HTML()
        self.error_box = widgets.HTML()
        self.state_view = widgets.HTML()
        self.state_panel = widgets.Accordion(children=[self.state_view], selected_index=None)
        self.state_panel.set_title(0, "State")
        self.state_panel.observe(self._render_state, names="selected_index")
        super().__init__(
            [
                self.header,
                widgets.HBox([self.progress, self.counter]),
                self.graph,
                self.table,
                self.error_box,
                self.state_panel,
            ]
        )
        self.push()

    # -- events -------------------------------------------------------------------------------

    def attach(self, state: dict[str, Any]) -> None:
        """The live state of the run, shown when the State panel is open."""
        self._state = state

    def on_event(self, event: Event) -> None:
        kind = event.type
        payload = event.payload
        if kind == "node:started":
            self.current_path = self._last_path = payload["nodePath"]
        elif kind == "node:completed" or kind == "node:failed":
            self.detail = ""
            self._count(payload, failed=kind == "node:failed")
        elif kind == "node:progress":
            self.detail = _progress_text(payload)
        elif kind == "workflow:started":
            self.status = "running"
            self._started = time.monotonic()
        else:
            self._finish(payload)
            return
        now = time.monotonic()
        waited = now - self._last_push
        if waited >= self.min_interval:
            self.push(now)
        elif self._timer is None:
            self._push_later(self.min_interval - waited)

    def _push_later(self, delay: float) -> None:
        """Push what a throttled event changed once the loop is free (a slow node awaiting)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the next event or the end pushes it
        self._timer = loop.call_later(delay, self._deferred_push)

    def _deferred_push(self) -> None:
        self._timer = None
        if self._ended is None:
            self.push()

    def _count(self, payload: dict[str, Any], *, failed: bool) -> None:
        self.node_runs += 1
        path = payload["nodePath"]
        row = self.rows.get(path)
        if row is None:
            row = self.rows[path] = NodeRow(path, payload["nodeType"])
        row.runs += 1
        row.last_edge = payload["edge"]
        row.total_ms += payload["durationMs"]
        if failed:
            row.failed += 1
            row.error = payload.get("error")

    def _finish(self, payload: dict[str, Any]) -> None:
        self.status = payload.get("status", "completed")
        self.error = payload.get("error")
        self._ended = time.monotonic()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._last_path = self.current_path or self._last_path  # where a failed run stopped
        self.current_path = ""
        self.push()

    def finish_with(self, result: RunResult) -> None:
        """Make sure the widget shows the end, even if the last event was missed."""
        if self._ended is None:
            self._finish(
                {"status": result.status, "error": result.error.to_dict() if result.error else None}
            )

    # -- drawing ------------------------------------------------------------------------------

    def push(self, now: float | None = None) -> None:
        """Send the current picture to the front end."""
        self._last_push = time.monotonic() if now is None else now
        self.updates += 1
        with self.hold_sync():
            self.header.value = self._header_html()
            self.progress.value = self._progress_value()
            detail = (
                f" · <span class='workscript-detail'>{escape(self.detail)}</span>"
                if self.detail
                else ""
            )
            self.counter.value = (
                f"<span class='workscript-count'>{self.node_runs:,} node runs</span>{detail}"
            )
            self.table.value = rows_table(list(self.rows.values()), current=self.current_path)
            self.error_box.value = self._error_html()
            self._render_graph()
            if self.state_panel.selected_index == 0 or self._ended is not None:
                self.state_view.value = self._state_html()

    def _header_html(self) -> str:
        end = self._ended if self._ended is not None else time.monotonic()
        elapsed = end - self._started if self.status != "pending" else 0.0
        return (
            f"<div class='workscript-header'><b>{escape(self.workflow.name)}</b> "
            f"<code>{escape(self.workflow.id)}</code> {status_badge(self.status)} "
            f"<span class='workscript-elapsed'>{_duration(elapsed)}</span></div>"
        )

    def _progress_value(self) -> int:
        if self._ended is not None and self.status == "completed":
            return self.progress.max  # type: ignore[no-any-return]
        parts = (self.current_path or self._last_path).split("/")
        if len(parts) > 2 and parts[1] == "workflow" and parts[2].isdigit():
            return int(parts[2])
        return self.progress.value  # type: ignore[no-any-return]

    def _error_html(self) -> str:
        if not self.error:
            return ""
        return (
            "<div class='workscript-error' style='color:#b3261e'>"
            f"<b>{escape(str(self.error.get('code', 'ERROR')))}</b> at "
            f"<code>{escape(str(self.error.get('nodePath') or 'the workflow'))}</code> "
            f"({escape(str(self.error.get('nodeType') or '-'))}): "
            f"{escape(str(self.error.get('message', '')))}</div>"
        )

    def _render_graph(self) -> None:
        if self._graph_for == self.current_path:
            return  # the SVG only changes when the running node does
        self._graph_for = self.current_path
        self.graph.value = workflow_svg(self.workflow, self.current_path)

    def _state_html(self) -> str:
        return (
            f"<pre style='max-height:300px;overflow:auto'>{escape(state_json(self._state))}</pre>"
        )

    def _render_state(self, change: dict[str, Any]) -> None:
        if change.get("new") == 0:
            self.state_view.value = self._state_html()
