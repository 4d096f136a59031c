"""Run one notebook headless on a Jupyter kernel, with nbclient's async API.

:func:`run_notebook` reads the notebook (confined to ``root_dir``), injects parameters, runs every
code cell in the notebook's folder, saves the executed copy (never the original) with per-cell
status and timing in its metadata, and returns a :class:`NotebookRun`. Request errors (a path
outside the root, a bad parameter, an unknown kernel) raise a ``NotebookError``; failures *of the
run* (a cell error, a timeout, a dead kernel) come back in ``NotebookRun.error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty
from typing import Any, Literal

import nbformat
from jupyter_client.kernelspec import NoSuchKernel
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from ..errors import KernelNotFoundError, NotebookFormatError, NotebookNotFoundError
from .kernel_env import kernel_env
from .outputs import OutputCollector
from .parameters import PARAMETERS_TAG, find_tagged_cell, inject
from .paths import resolve_inside, resolve_output_path
from .report import NotebookFailure, failure_from_cell, mark_cell

__all__ = ["NotebookProgress", "NotebookRun", "run_notebook"]

log = logging.getLogger(__name__)

DEFAULT_START_TIMEOUT = 60.0
_KILL_GRACE = 5.0


@dataclass(frozen=True, slots=True)
class NotebookProgress:
    """Sent to ``on_progress`` after each executed code cell."""

    run_id: str
    cell_index: int
    cells_done: int
    cells_total: int
    status: str  # "completed" | "failed" | "timeout"
    duration_ms: int


@dataclass(frozen=True, slots=True)
class NotebookRun:
    run_id: str
    status: Literal["completed", "failed"]
    outputs: Mapping[str, Any]
    executed_path: Path | None
    cells_total: int
    cells_done: int
    duration_ms: int
    kernel_name: str
    error: NotebookFailure | None = None
    warnings: tuple[str, ...] = ()


class _StartTimeout(Exception):
    """The kernel did not start (or answer) within ``start_timeout``."""


class _RunnerClient(NotebookClient):
    """nbclient's client, reading ``output()`` values from IOPub as they arrive."""

    collector: OutputCollector

    def process_message(
        self, msg: dict[str, Any], cell: NotebookNode, cell_index: int
    ) -> NotebookNode | None:
        self.collector.feed_message(msg)
        return super().process_message(msg, cell, cell_index)


def _now() -> datetime:
    return datetime.now(UTC)


def _ms(start: float) -> int:
    return int((time.monotonic() - start) * 1000)


def _read_notebook(path: Path) -> NotebookNode:
    try:
        nb: NotebookNode = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
        return nb
    except (OSError, ValueError) as exc:  # nbformat's NotJSONError is a ValueError
        raise NotebookFormatError(f"cannot read notebook {path.name}: {exc}") from None


async def _shutdown(km: AsyncKernelManager) -> None:
    """Kill the kernel and wait for its process; never raises."""
    try:
        if km.has_kernel:
            await asyncio.wait_for(km.shutdown_kernel(now=True), _KILL_GRACE * 2)
    except Exception:
        log.exception("kernel shutdown failed; killing the process")
        provisioner = getattr(km, "provisioner", None)
        with contextlib.suppress(Exception):
            if provisioner is not None:
                await provisioner.kill()
                await provisioner.wait()


async def _wait_connected(kc: Any) -> dict[str, Any] | None:
    """Until IOPub is subscribed: a ``kernel_info`` request whose IOPub ``idle`` comes back.

    ``wait_for_ready`` ends with 0.2 s of waiting for IOPub to go quiet; on a kernel that already
    answered (a warm pool's) the idle status of our own request proves the channel is connected.
    Returns the ``kernel_info`` reply (None if it was not read), so the run need not ask again.
    Raises RuntimeError when the kernel dies; ``run_notebook`` bounds the whole wait.
    """
    while True:
        msg_id = kc.kernel_info()
        deadline = time.monotonic() + 0.5
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await kc.get_iopub_msg(timeout=left)
            except Empty:
                break
            if (
                msg.get("parent_header", {}).get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"].get("execution_state") == "idle"
            ):
                with contextlib.suppress(Empty):  # the matching reply, already sent
                    while True:
                        reply: dict[str, Any] = await kc.get_shell_msg(timeout=0.5)
                        if reply["parent_header"].get("msg_id") == msg_id:
                            return reply
                return None
        if not await kc.is_alive():
            raise RuntimeError("Kernel died before replying to kernel_info")


class _Execution:
    """The state of one run, shared with the task that may be cancelled by the total timeout."""

    def __init__(
        self,
        client: _RunnerClient,
        run_id: str,
        cells: list[int],
        on_progress: Callable[[NotebookProgress], Any] | None,
    ) -> None:
        self.client = client
        self.run_id = run_id
        self.cells = cells
        self.on_progress = on_progress
        self.cells_done = 0
        self.current: int | None = None
        self.current_start = 0.0
        self.current_started_at = _now()

    async def _progress(self, index: int, status: str, duration_ms: int) -> None:
        if self.on_progress is None:
            return
        event = NotebookProgress(
            self.run_id, index, self.cells_done, len(self.cells), status, duration_ms
        )
        result = self.on_progress(event)
        if inspect.isawaitable(result):
            await result

    async def run(self, chdir: str | None, info: dict[str, Any] | None) -> None:
        """Run the cells; ``chdir``: move a kernel started elsewhere; ``info``: its kernel_info."""
        client = self.client
        kc = client.kc
        assert kc is not None
        if chdir is not None:  # a kernel started elsewhere (a warm pool): move it
            msg_id = kc.execute(
                f"import os as _ws_os; _ws_os.chdir({chdir!r}); del _ws_os",
                silent=True,
                store_history=False,
            )
            await client.async_wait_for_reply(msg_id)
        if info is None:
            info = await client.async_wait_for_reply(kc.kernel_info())
        if info is not None and "language_info" in info["content"]:
            client.nb.metadata["language_info"] = info["content"]["language_info"]
        for index in self.cells:
            cell = client.nb.cells[index]
            self.current, self.current_start, self.current_started_at = (
                index,
                time.monotonic(),
                _now(),
            )
            try:
                await client.async_execute_cell(
                    cell, index, execution_count=client.code_cells_executed + 1
                )
            except CellExecutionError:
                mark_cell(cell, "failed", self.current_started_at, _ms(self.current_start))
                await self._progress(index, "failed", _ms(self.current_start))
                raise
            duration = _ms(self.current_start)
            mark_cell(cell, "completed", self.current_started_at, duration)
            self.cells_done += 1
            self.current = None
            await self._progress(index, "completed", duration)
        client.set_widgets_metadata()


async def run_notebook(
    path: str | Path,
    *,
    root_dir: str | Path,
    parameters: Mapping[str, Any] | None = None,
    kernel_name: str | None = None,
    timeout: float | None = None,
    cell_timeout: float | None = None,
    output_path: str | None = None,
    run_id: str | None = None,
    on_progress: Callable[[NotebookProgress], Any] | None = None,
    kernel_manager: AsyncKernelManager | None = None,
    start_timeout: float = DEFAULT_START_TIMEOUT,
    env: Mapping[str, str] | None = None,
) -> NotebookRun:
    """Run the notebook at ``path`` (relative to, and confined in, ``root_dir``).

    ``output_path`` is a template relative to ``root_dir`` with ``{run_id}``, ``{time}``
    (UTC, ``20240102T030405Z``), ``{stem}``, ``{name}`` and ``{dir}`` (the notebook's folder);
    the default is ``.workscript/runs/{stem}-{time}-{run_id}.ipynb``. ``timeout`` bounds the whole
    run, ``cell_timeout`` each cell, ``start_timeout`` the kernel start (seconds).
    ``kernel_manager``: an already-started kernel to use; the caller owns it, except that it is
    killed when the run times out or the kernel dies. Without it a kernel is started here and
    always shut down before returning. ``env``: the environment of a kernel started here
    (default: ``kernel_env(shared=False)``, the server's minus Workscript's secrets).
    """
    root, nb_path = resolve_inside(root_dir, path)
    if not nb_path.is_file():
        raise NotebookNotFoundError(f"no notebook at {nb_path.relative_to(root)}")
    original = _read_notebook(nb_path)
    warnings: list[str] = []
    nb = original
    if parameters is not None:
        # no parameters to place ({}, as every notebook step without them passes): no warning
        if parameters and find_tagged_cell(original, PARAMETERS_TAG) is None:
            message = (
                f"{nb_path.name} has no cell tagged {PARAMETERS_TAG!r}: "
                "the parameters were injected as the first cell"
            )
            log.warning(message)
            warnings.append(message)
        nb = inject(original, parameters)
    else:
        nb = nbformat.from_dict(original)  # type: ignore[no-untyped-call]  # a copy; the original stays untouched

    run_id = run_id or uuid.uuid4().hex
    started_at = _now()
    target = resolve_output_path(root, nb_path, output_path, run_id, started_at)
    spec = nb.metadata.get("kernelspec", {})
    name = kernel_name or spec.get("name") or "python3"
    cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]

    owned = kernel_manager is None
    km = kernel_manager if kernel_manager is not None else AsyncKernelManager(kernel_name=name)
    client = _RunnerClient(
        nb,
        km=km,
        kernel_name=name,
        timeout=int(cell_timeout) if cell_timeout else None,
        startup_timeout=int(start_timeout) or 1,
        allow_errors=False,
        interrupt_on_timeout=False,
        record_timing=True,
        resources={"metadata": {"path": str(nb_path.parent)}},
    )
    client.collector = OutputCollector()
    execution = _Execution(client, run_id, cells, on_progress)
    clock = time.monotonic()
    error: NotebookFailure | None = None
    kill = False

    async def _start() -> dict[str, Any] | None:
        if owned:
            try:
                await km.start_kernel(
                    cwd=str(nb_path.parent),
                    env=dict(env) if env is not None else kernel_env(shared=False),
                )
            except NoSuchKernel:
                raise KernelNotFoundError(f"no kernel named {name!r} is installed") from None
        client.kc = km.client()
        client.kc.start_channels()
        if owned:
            await client.kc.wait_for_ready(timeout=start_timeout)
            return None
        # a started, ready kernel: skip wait_for_ready's 0.2 s IOPub flush
        return await _wait_connected(client.kc)

    async def _go() -> None:
        try:
            try:
                info = await asyncio.wait_for(_start(), timeout=start_timeout)
            except TimeoutError:
                raise _StartTimeout from None
            await execution.run(None if owned else str(nb_path.parent), info)
        finally:
            if client.kc is not None:
                client.kc.stop_channels()

    task = asyncio.ensure_future(_go())
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            kill = True
            task.cancel()
            await _shutdown(km)  # the cell may be stuck: the kernel goes first
            await asyncio.wait({task}, timeout=_KILL_GRACE)
            error = NotebookFailure(
                kind="timeout",
                message=f"the notebook ran past its timeout of {timeout:g} s",
                **_current(execution),
            )
        else:
            error, kill = _classify(task, execution, km, start_timeout)
    finally:
        if not task.done():  # the caller cancelled us
            task.cancel()
            kill = True
        if owned or kill:
            await _shutdown(km)
    duration = _ms(clock)
    if error is not None and error.cell_index is not None:
        status = "timeout" if error.kind in ("timeout", "cell_timeout") else "failed"
        cell = nb.cells[error.cell_index]
        mark_cell(cell, status, execution.current_started_at, _ms(execution.current_start), error)
    nb.metadata["workscript"] = {
        "run_id": run_id,
        "status": "failed" if error else "completed",
        "started": started_at.isoformat(),
        "duration_ms": duration,
        "kernel_name": name,
        "cells_total": len(cells),
        "cells_done": execution.cells_done,
        "source": str(nb_path.relative_to(root)),
        "error": error.to_dict() if error else None,
        "warnings": warnings,
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)  # type: ignore[no-untyped-call]
    return NotebookRun(
        run_id=run_id,
        status="failed" if error else "completed",
        outputs=dict(client.collector.values),
        executed_path=target,
        cells_total=len(cells),
        cells_done=execution.cells_done,
        duration_ms=duration,
        kernel_name=name,
        error=error,
        warnings=tuple(warnings),
    )


def _current(execution: _Execution) -> dict[str, Any]:
    index = execution.current
    if index is None:
        return {"cell_index": None, "source_head": None}
    return {"cell_index": index, "source_head": _head(execution.client.nb.cells[index].source)}


def _head(source: str, lines: int = 5) -> str:
    return "\n".join(source.splitlines()[:lines])


def _classify(
    task: asyncio.Future[None], execution: _Execution, km: AsyncKernelManager, start_timeout: float
) -> tuple[NotebookFailure | None, bool]:
    """The failure of a finished execution task, and whether its kernel must be killed."""
    exc = task.exception()
    if exc is None:
        return None, False
    if isinstance(exc, KernelNotFoundError):
        raise exc
    where = _current(execution)
    if isinstance(exc, CellExecutionError) and where["cell_index"] is not None:
        cell = execution.client.nb.cells[where["cell_index"]]
        return failure_from_cell(cell, where["cell_index"], str(exc)), False
    if isinstance(exc, CellTimeoutError):
        message = f"cell {where['cell_index']} ran past its timeout"
        return NotebookFailure(kind="cell_timeout", message=message, **where), True
    if isinstance(exc, DeadKernelError):
        return NotebookFailure(kind="kernel_died", message="the kernel died", **where), True
    if isinstance(exc, RuntimeError) and "died" in str(exc).lower():
        return NotebookFailure(kind="kernel_died", message=str(exc), **where), True
    if where["cell_index"] is None and isinstance(exc, _StartTimeout | RuntimeError):
        # wait_for_ready: "Kernel didn't respond" (RuntimeError) or wait_for(start_kernel)
        message = f"the kernel did not start within {start_timeout:g} s ({exc})"
        return NotebookFailure(kind="kernel_start_timeout", message=message, **where), True
    raise exc
