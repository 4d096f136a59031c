"""The ``NotebookGateway`` of the engine's ``Services``, built on the runner and the kernel pool.

``run_notebook`` runs a notebook headless (on a pool kernel when a pool is given) and turns the
:class:`NotebookRun` into the JSON report the ``notebook`` node writes to the state.
``run_python`` keeps one kernel per workflow run (``run_key``): the first call starts it, later
calls of the same run reuse it (so a variable defined by one ``python`` step is seen by the
next), and ``close_run`` shuts it down. The state travels as JSON both ways: in as a literal the
kernel parses, back through a ``user_expressions`` ``json.dumps(state)``.

Every kernel runs in ``root_dir`` (a pooled kernel, started elsewhere, is moved there with
``os.chdir`` before the first code) and starts with ``env`` (see ``kernel_env.py``; pooled
kernels get the pool's, which the server builds the same way).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import logging
import queue
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import NoSuchKernel
from jupyter_client.manager import AsyncKernelManager

from ..errors import KernelNotFoundError, PythonCodeError
from .execute import NotebookProgress, NotebookRun, run_notebook
from .kernel_env import kernel_env
from .paths import resolve_inside
from .pool import KernelPool
from .report import strip_ansi

__all__ = ["RunnerGateway"]

log = logging.getLogger(__name__)

_START_TIMEOUT = 60.0
_POLL = 0.5
_STATE_EXPRESSION = "__import__('json').dumps(dict(state), allow_nan=False)"


@dataclass
class _RunKernel:
    km: AsyncKernelManager
    kc: Any
    pooled: bool
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _progress_reporter(
    on_progress: Callable[[dict[str, Any]], None],
) -> Callable[[NotebookProgress], None]:
    def report(event: NotebookProgress) -> None:
        on_progress(
            {
                "cellIndex": event.cell_index,
                "cellsDone": event.cells_done,
                "cellsTotal": event.cells_total,
                "status": event.status,
                "durationMs": event.duration_ms,
            }
        )

    return report


class RunnerGateway:
    """Jupyter kernels for the ``notebook`` and ``python`` nodes, confined to ``root_dir``."""

    def __init__(
        self,
        root_dir: Path,
        pool: KernelPool | None = None,
        *,
        kernel_name: str = "python3",
        python_timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.root_dir = Path(root_dir).resolve()
        self.env = None if env is None else dict(env)
        self.pool = pool
        self.kernel_name = kernel_name
        self.python_timeout = python_timeout
        self._runs: dict[str, _RunKernel] = {}
        self._starting: dict[str, asyncio.Future[_RunKernel]] = {}

    # -- notebooks ---------------------------------------------------------------------------

    async def run_notebook(
        self,
        path: str,
        *,
        parameters: Mapping[str, Any],
        kernel: str | None = None,
        timeout: float | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        progress = None if on_progress is None else _progress_reporter(on_progress)
        if self.pool is None:
            run = await run_notebook(
                path,
                root_dir=self.root_dir,
                parameters=parameters,
                kernel_name=kernel,
                timeout=timeout,
                on_progress=progress,
                env=self.env,
            )
            return self._report(run)
        name = kernel or self._declared_kernel(path) or self.kernel_name
        km = await self.pool.acquire(name)
        try:
            run = await run_notebook(
                path,
                root_dir=self.root_dir,
                parameters=parameters,
                kernel_name=name,
                timeout=timeout,
                kernel_manager=km,
                on_progress=progress,
            )
        finally:
            await self.pool.discard(km)
        return self._report(run)

    def _declared_kernel(self, path: str) -> str | None:
        """The kernelspec name the notebook declares, or None (run_notebook reports errors)."""
        try:
            _, nb_path = resolve_inside(self.root_dir, path)
            nb = nbformat.read(nb_path, as_version=4)  # type: ignore[no-untyped-call]
            name = nb.metadata.get("kernelspec", {}).get("name")
        except Exception:  # noqa: BLE001 - run_notebook reports the real error
            return None
        return name if isinstance(name, str) and name else None

    def _report(self, run: NotebookRun) -> dict[str, Any]:
        executed: str | None = None
        if run.executed_path is not None:
            try:
                executed = run.executed_path.relative_to(self.root_dir).as_posix()
            except ValueError:
                executed = str(run.executed_path)
        error: dict[str, Any] | None = None
        if run.error is not None:
            e = run.error
            error = {
                "kind": e.kind,
                "message": e.message,
                "cellIndex": e.cell_index,
                "sourceHead": e.source_head,
                "ename": e.ename,
                "evalue": e.evalue,
                "traceback": e.traceback,
            }
        return {
            "status": run.status,
            "outputs": dict(run.outputs),
            "executedPath": executed,
            "cellsDone": run.cells_done,
            "cellsTotal": run.cells_total,
            "durationMs": run.duration_ms,
            "kernel": run.kernel_name,
            "warnings": list(run.warnings),
            "error": error,
        }

    # -- python steps ------------------------------------------------------------------------

    async def run_python(self, run_key: str, code: str, state: dict[str, Any]) -> dict[str, Any]:
        try:
            state_json = json.dumps(state, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise PythonCodeError(
                f"the state cannot be passed to Python: it holds a value that is not JSON ({exc})"
            ) from None
        run = await self._kernel(run_key)
        async with run.lock:
            setup = f"state = __import__('json').loads({state_json!r})"
            reply = await self._execute(run_key, run, setup, silent=True)
            if reply["status"] != "ok":
                raise self._code_error(reply, "binding the state failed")
            reply = await self._execute(
                run_key, run, code, user_expressions={"state": _STATE_EXPRESSION}
            )
        if reply["status"] != "ok":
            raise self._code_error(reply, "the code failed")
        result = reply.get("user_expressions", {}).get("state", {})
        if result.get("status") != "ok":
            ename, evalue = result.get("ename", "Error"), strip_ansi(str(result.get("evalue", "")))
            raise PythonCodeError(
                "the code left a `state` that cannot be read back as a JSON object "
                f"({ename}: {evalue}); keep only JSON values (str, numbers, bool, None, "
                "lists, dicts with string keys) in state",
                ename=ename,
                evalue=evalue,
            )
        text = result.get("data", {}).get("text/plain", "")
        try:  # the repr of the JSON string
            loaded = json.loads(ast.literal_eval(text))
        except (ValueError, SyntaxError, TypeError) as exc:
            raise PythonCodeError(f"cannot read the state back from the kernel: {exc}") from None
        if not isinstance(loaded, dict):
            raise PythonCodeError("the code left a `state` that is not a dict")
        return loaded

    async def close_run(self, run_key: str) -> None:
        starting = self._starting.pop(run_key, None)
        if starting is not None and not starting.done():
            starting.cancel()
        run = self._runs.pop(run_key, None)
        if run is not None:
            await self._stop(run)

    async def close(self) -> None:
        """Shut down every run's kernel."""
        for key in list(self._runs):
            await self.close_run(key)

    async def _kernel(self, run_key: str) -> _RunKernel:
        run = self._runs.get(run_key)
        if run is not None:
            return run
        pending = self._starting.get(run_key)
        if pending is None:
            pending = asyncio.ensure_future(self._start())
            self._starting[run_key] = pending
        try:
            run = await asyncio.shield(pending)
        finally:
            if self._starting.get(run_key) is pending and pending.done():
                del self._starting[run_key]
        if run_key not in self._runs:
            self._runs[run_key] = run
        return self._runs[run_key]

    async def _start(self) -> _RunKernel:
        name = self.kernel_name
        if self.pool is not None:
            km = await self.pool.acquire(name)
            pooled = True
        else:
            km = AsyncKernelManager(kernel_name=name)
            pooled = False
            try:
                await km.start_kernel(
                    cwd=str(self.root_dir),
                    env=dict(self.env) if self.env is not None else kernel_env(shared=False),
                )
            except NoSuchKernel:
                raise KernelNotFoundError(f"no kernel named {name!r} is installed") from None
        kc = km.client()
        run = _RunKernel(km, kc, pooled)
        try:
            kc.start_channels()
            await kc.wait_for_ready(timeout=_START_TIMEOUT)
            if pooled:
                reply = await self._execute(
                    "",
                    run,
                    f"import os as _o; _o.chdir({str(self.root_dir)!r}); del _o",
                    silent=True,
                )
                if reply["status"] != "ok":
                    raise self._code_error(reply, "moving the kernel to the run root failed")
        except BaseException:
            await self._stop(run)
            raise
        return run

    async def _stop(self, run: _RunKernel) -> None:
        with contextlib.suppress(Exception):
            run.kc.stop_channels()
        if run.pooled and self.pool is not None:
            await self.pool.discard(run.km)
            return
        try:
            if run.km.has_kernel:
                await asyncio.wait_for(run.km.shutdown_kernel(now=True), 10)
        except Exception:
            log.exception("python kernel shutdown failed")
            provisioner = getattr(run.km, "provisioner", None)
            with contextlib.suppress(Exception):
                if provisioner is not None:
                    await provisioner.kill()
                    await provisioner.wait()

    async def _execute(
        self,
        run_key: str,
        run: _RunKernel,
        code: str,
        *,
        silent: bool = False,
        user_expressions: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send ``code``, wait for its reply; drains IOPub so nothing piles up."""
        kc = run.kc
        # stop_on_error=False: after a failed step the kernel would otherwise abort the requests
        # that reach it in the next instant (ipykernel's abort window) — the next step's state
        # binding, sent as soon as the error reply came, failed as "aborted" under load
        msg_id = kc.execute(
            code,
            silent=silent,
            store_history=False,
            user_expressions=user_expressions or {},
            stop_on_error=False,
        )
        deadline = None if self.python_timeout is None else time.monotonic() + self.python_timeout
        try:
            while True:
                try:
                    msg = await kc.get_shell_msg(timeout=_POLL)
                except queue.Empty:
                    await self._drain(kc)
                    if not await run.km.is_alive():
                        raise PythonCodeError("the kernel died while running the code") from None
                    if deadline is not None and time.monotonic() > deadline:
                        raise PythonCodeError(
                            f"the code ran past its timeout of {self.python_timeout:g} s"
                        ) from None
                    continue
                if msg.get("parent_header", {}).get("msg_id") == msg_id:
                    await self._drain(kc)
                    content: dict[str, Any] = msg["content"]
                    return content
        except PythonCodeError:
            # the kernel is dead or stuck: it goes, the next call of this run starts a new one
            if self._runs.get(run_key) is run:
                del self._runs[run_key]
            await self._stop(run)
            raise

    @staticmethod
    async def _drain(kc: Any) -> None:
        while True:
            try:
                await kc.get_iopub_msg(timeout=0)
            except queue.Empty:
                return

    @staticmethod
    def _code_error(reply: Mapping[str, Any], what: str) -> PythonCodeError:
        ename = str(reply.get("ename", "Error"))
        evalue = strip_ansi(str(reply.get("evalue", "")))
        traceback = strip_ansi("\n".join(reply.get("traceback", [])))
        return PythonCodeError(
            f"{what}: {ename}: {evalue}", ename=ename, evalue=evalue, traceback=traceback
        )
