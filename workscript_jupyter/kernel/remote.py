"""A run on the workscript server followed from the notebook, and the views of the server's side.

``RemoteRunHandle`` subscribes to the saved workflow's WebSocket channel *before* it asks for the
run, so even a run that ends in milliseconds is seen from its first event; events of other runs
of the same workflow (a schedule firing meanwhile) are set aside by execution id. Node events
arrive coalesced (the latest per run per 50 ms), so the live view is a sketch: at the end the run
is read once over REST and the monitor's rows are rebuilt from its timeline. The socket is not
trusted to tell the end either: the run is also read every ``poll_seconds``, so a missed final
event (a socket closed, a proxy without WebSockets) costs at most that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

import httpx
from IPython.core.error import UsageError

from ..engine import Event, RunResult, Workflow
from .server_client import ServerClient, ServerError, format_server_error, parse_time, to_run_result
from .summary import aggregate_rows, summary_html

__all__ = [
    "FINAL_STATUSES",
    "RemoteRunHandle",
    "Schedule",
    "automations_table",
    "saved_html",
    "show_end",
    "when",
]

FINAL_STATUSES = frozenset({"completed", "failed", "timed_out", "cancelled", "interrupted"})
_FINAL_EVENTS = frozenset({"workflow:completed", "workflow:failed", "workflow:cancelled"})
_SUBSCRIBE_SECONDS = 10.0


class RemoteRunHandle:
    """One run of a saved workflow on the server.

    ``await handle`` gives the final execution (the REST JSON), as ``handle.result()`` does once
    it has ended; ``status``, ``execution_id``, ``state`` (the final state), ``run_result`` (as
    the engine's RunResult) and ``cancel()``. Given an ``execution_id``, the handle follows a run
    started elsewhere (a schedule's), which may have ended already.
    """

    def __init__(
        self,
        client: ServerClient,
        workflow: Workflow,
        workflow_record_id: str,
        *,
        initial_state: Mapping[str, Any] | None = None,
        execution_id: str | None = None,
        on_event: Callable[[Event], None] | None = None,
        on_end: Callable[[RemoteRunHandle], None] | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self.client = client
        self.workflow = workflow
        self.workflow_record_id = workflow_record_id
        self.initial_state = dict(initial_state or {})
        self.execution_id = execution_id
        self.poll_seconds = poll_seconds
        self.events = 0  # the WebSocket events of this run received
        self.error: ServerError | None = None
        self._on_event = on_event
        self._on_end = on_end
        self._status = "pending"
        self._execution: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None

    # -- running ----------------------------------------------------------------------------

    def start(self) -> RemoteRunHandle:
        """Follow on the running loop (a kernel's), or to the end if there is none."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(self._run())
            return self
        self._task = loop.create_task(self._run(), name=f"workscript-remote:{self.workflow.id}")
        return self

    async def _run(self) -> None:
        try:
            self._execution = await self._follow()
            self._status = str(self._execution.get("status", "failed"))
        except httpx.HTTPError as error:
            name = type(error).__name__
            self.error = ServerError(f"lost the server at {self.client.base_url} ({name}: {error})")
        except ServerError as error:
            self.error = error
        finally:
            if self.error is not None:
                self._status = "failed"
            if self._on_end is not None:
                self._on_end(self)

    async def _follow(self) -> dict[str, Any]:
        async with self.client.async_client() as http:
            queue: asyncio.Queue[Any] = asyncio.Queue()
            socket = await self._subscribe()
            reader = asyncio.ensure_future(_read_into(socket, queue)) if socket else None
            try:
                early = await _until_subscribed(queue) if reader is not None else []
                if self.execution_id is None:
                    body = {"initialState": self.initial_state} if self.initial_state else None
                    path = f"workscript/workflows/{self.workflow_record_id}/run"
                    started = self.client.answer(await http.post(path, json=body))
                    self.execution_id = str(started["id"])
                    self._status = str(started.get("status", "queued"))
                ended = any([self._take(message) for message in early])
                return await self._until_end(http, queue if reader else None, ended)
            finally:
                if socket is not None:
                    socket.close()
                if reader is not None:
                    reader.cancel()
                    await asyncio.gather(reader, return_exceptions=True)

    async def _subscribe(self) -> Any:
        """Connect and ask for the run's (or the workflow's) events; None without a socket."""
        from tornado.websocket import websocket_connect

        try:
            socket = await asyncio.wait_for(
                websocket_connect(self.client.websocket_request()), _SUBSCRIBE_SECONDS
            )
        except Exception:  # noqa: BLE001 - refused, unreachable, no WebSockets: polling will do
            return None
        run, flow = self.execution_id, self.workflow_record_id
        channel = f"execution:{run}" if run else f"workflow:{flow}"
        await socket.write_message(json.dumps({"type": "subscribe", "channel": channel}))
        return socket

    def _take(self, message: dict[str, Any] | None) -> bool:
        """Pass one message of this run to the listener; True for the run's final event."""
        payload = (message or {}).get("payload")
        kind = str((message or {}).get("type", ""))
        if not isinstance(payload, dict) or not kind.startswith(("workflow:", "node:")):
            return False
        if payload.get("executionId") != self.execution_id:
            return False  # another run of the same workflow
        self.events += 1
        if kind == "workflow:started":
            self._status = "running"
        if self._on_event is not None:
            stamp = (message or {}).get("timestamp")
            seconds = stamp / 1000 if isinstance(stamp, int | float) else None
            workflow_id = str(payload.get("workflowId"))
            self._on_event(Event(kind, str(self.execution_id), workflow_id, payload, seconds))
        return kind in _FINAL_EVENTS

    async def _until_end(
        self, http: Any, queue: asyncio.Queue[Any] | None, ended: bool
    ) -> dict[str, Any]:
        path = f"workscript/executions/{self.execution_id}"
        next_read = time.monotonic()  # read at once: the run may be over already
        while not ended:
            wait = next_read - time.monotonic()
            if wait > 0 and queue is not None:
                with contextlib.suppress(TimeoutError):
                    message = await asyncio.wait_for(queue.get(), wait)
                    if message is None:
                        queue = None  # the socket closed: reading only
                    ended = self._take(message)
                continue
            await asyncio.sleep(max(wait, 0))
            execution = self.client.answer(await http.get(path))
            next_read = time.monotonic() + self.poll_seconds
            if execution.get("status") in FINAL_STATUSES:
                return dict(execution)
            if execution.get("status") == "running":
                self._status = "running"
        return dict(self.client.answer(await http.get(path)))

    def __await__(self) -> Any:
        return self._wait().__await__()

    async def _wait(self) -> dict[str, Any]:
        if not self.done():
            if self._task is None:
                raise RuntimeError("this run was never started")
            await asyncio.shield(self._task)
        if self.error is not None:
            raise self.error
        if self._on_end is not None:
            self._on_end(self)  # again, from the awaiting cell (see RunHandle._wait)
        return self.result()

    async def wait_in_cell(self, show: bool) -> RemoteRunHandle | None:
        """What a waiting ``%%workflow --server`` cell awaits; server errors as a UsageError."""
        try:
            await self._wait()
        except ServerError as error:
            raise UsageError(f"%%workflow --server: {format_server_error(error)}") from None
        return self if show else None

    def cancel(self) -> bool:
        """Ask the server to cancel the run. False if it is not running (or not started yet)."""
        if self.execution_id is None or self.done():
            return False
        try:
            self.client.cancel_execution(self.execution_id)
        except ServerError as error:
            if error.status == 422:  # it ended meanwhile
                return False
            raise
        return True

    # -- reading ------------------------------------------------------------------------------

    def done(self) -> bool:
        return self._execution is not None or self.error is not None

    def result(self) -> dict[str, Any]:
        """The final execution JSON (``status``, ``finalState``, ``timeline``, ``error``...)."""
        if self.error is not None:
            raise self.error
        if self._execution is None:
            raise RuntimeError(
                f"the server run of {self.workflow.id!r} is still {self.status}; "
                "`await` the handle, or call result() once it has ended"
            )
        return self._execution

    @property
    def run_result(self) -> RunResult | None:
        return to_run_result(self._execution) if self._execution is not None else None

    @property
    def status(self) -> str:
        return self._status

    @property
    def state(self) -> dict[str, Any]:
        """The final state once the run has ended ({} before: the server holds the live one)."""
        return dict((self._execution or {}).get("finalState") or {})

    def __repr__(self) -> str:
        execution = self.execution_id or "-"
        return f"<RemoteRunHandle {self.workflow.id!r} {self.status}, execution {execution}>"

    def _repr_html_(self) -> str:
        if self.error is not None:
            return (
                "<div class='workscript-run-summary' style='color:#b3261e'>"
                f"<b>{escape(self.workflow.name)}</b>: {escape(self.error.message)}</div>"
            )
        return summary_html(self.workflow, self.run_result) + (
            "<div style='color:#666;font-size:12px'>on the server: execution "
            f"<code>{escape(self.execution_id or '-')}</code> of workflow "
            f"<code>{escape(self.workflow_record_id)}</code></div>"
        )


def show_end(monitor: Any, handle: RemoteRunHandle) -> None:
    """Complete a RunMonitor from the run's record (or its refusal): status, exact rows, state."""
    result = handle.run_result
    if result is not None:
        monitor.finish_with(result)  # if the final event was missed
        # the socket's node events were coalesced: the exact rows come from the timeline
        monitor.rows = {row.path: row for row in aggregate_rows(result.timeline)}
        monitor.node_runs = result.node_runs
        monitor.attach(result.final_state)
        monitor.push()
    elif handle.error is not None:
        error = {"code": handle.error.code, "message": handle.error.message}
        ended = {"status": "failed", "error": error}
        monitor.on_event(Event("workflow:failed", "", handle.workflow.id, ended))


async def _read_into(socket: Any, queue: asyncio.Queue[Any]) -> None:
    """Move parsed messages from the socket to the queue; None once it closed."""
    try:
        while (text := await socket.read_message()) is not None:
            with contextlib.suppress(ValueError):
                message = json.loads(text)
                if isinstance(message, dict):
                    queue.put_nowait(message)
    finally:
        queue.put_nowait(None)


async def _until_subscribed(queue: asyncio.Queue[Any]) -> list[dict[str, Any]]:
    """Wait for the ``subscribed`` (or ``error``) answer; events that come first are kept."""
    kept: list[dict[str, Any]] = []
    deadline = time.monotonic() + _SUBSCRIBE_SECONDS
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await asyncio.wait_for(queue.get(), left)
        except TimeoutError:
            break
        if message is None or message.get("type") in ("subscribed", "error"):
            if message is None:
                queue.put_nowait(None)  # still tell the follower the socket closed
            break
        kept.append(message)
    return kept


# -- views ------------------------------------------------------------------------------------


def when(value: Any, zone: str) -> str:
    """An API time in the automation's zone, with how far it is from now."""
    epoch = parse_time(value)
    if epoch is None:
        return "—"
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    with contextlib.suppress(ValueError, KeyError, OSError):
        from zoneinfo import ZoneInfo

        moment = moment.astimezone(ZoneInfo(zone))
    delta = epoch - time.time()
    span = abs(delta)
    amount = f"{span:.0f} s" if span < 90 else f"{span / 60:.0f} min"
    if span >= 5400:
        amount = f"{span / 3600:.1f} h"
    return f"{moment:%Y-%m-%d %H:%M:%S %Z} ({f'in {amount}' if delta >= 0 else f'{amount} ago'})"


def saved_html(record: dict[str, Any], created: bool) -> str:
    return (
        "<div class='workscript-saved' style='font-family:sans-serif;font-size:13px'>"
        f"✓ {'saved' if created else 'updated'} <b>{escape(str(record.get('name')))}</b> on the "
        f"server as <code>{escape(str(record.get('id')))}</code></div>"
    )


@dataclass(frozen=True)
class Schedule:
    """What ``%%workflow --schedule`` did: the saved workflow and its cron automation."""

    workflow: dict[str, Any]
    automation: dict[str, Any]
    created: bool
    check: dict[str, Any]  # POST /workscript/cron/validate: description, nextRuns
    running: bool = False

    def _repr_html_(self) -> str:
        auto = self.automation
        zone = str(auto.get("timezone") or "UTC")
        runs = "".join(f"<li>{when(t, zone)}</li>" for t in self.check.get("nextRuns") or [])
        now = (
            "It also runs now on the server (--server)."
            if self.running
            else "The cell did not run it: the server runs it on this schedule."
        )
        return (
            "<div class='workscript-schedule' style='font-family:sans-serif;font-size:13px'>"
            f"⏰ <b>{escape(str(auto.get('name')))}</b> "
            f"({'created' if self.created else 'updated'}, automation "
            f"<code>{escape(str(auto.get('id')))}</code>): <code>{escape(str(auto.get('cron')))}"
            f"</code> — {escape(str(self.check.get('description', '')))}, "
            f"{'enabled' if auto.get('enabled') else 'disabled'}.<br>"
            f"Next run: {when(auto.get('nextRunAt'), zone)}. {now}"
            f"<details><summary>next runs</summary><ul>{runs}</ul></details></div>"
        )


def automations_table(items: list[dict[str, Any]], client: ServerClient) -> str:
    """The user's automations: name, trigger, schedule and its wording, zone, next and last run."""
    if not items:
        return "<div class='workscript-automations'>no automation on the server yet</div>"
    described: dict[tuple[str, str], str] = {}
    rows = []
    for auto in items:
        zone, cron = str(auto.get("timezone") or "UTC"), auto.get("cron")
        text = ""
        if cron:
            key = (str(cron), zone)
            if key not in described:
                try:
                    described[key] = str(client.validate_cron(*key, count=1).get("description"))
                except ServerError:
                    described[key] = ""
            text = f"<code>{escape(key[0])}</code> {escape(described[key])}"
        cells = (
            escape(str(auto.get("name"))),
            escape(str(auto.get("triggerType"))),
            text,
            escape(zone),
            "✓" if auto.get("enabled") else "✗",
            when(auto.get("nextRunAt"), zone),
            when(auto.get("lastRunAt"), zone),
        )
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    head = "".join(
        f"<th style='text-align:left'>{h}</th>"
        for h in ("name", "trigger", "schedule", "zone", "enabled", "next run", "last run")
    )
    return (
        "<table class='workscript-automations' style='font-size:12px'>"
        f"<tr>{head}</tr>{''.join(rows)}</table>"
    )
