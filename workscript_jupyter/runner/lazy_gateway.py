"""The ``notebook`` and ``python`` nodes' gateway, built when such a node first runs.

Importing the runner (nbclient, jupyter_client, zmq) costs a tenth of a second that a workflow
without those nodes should not pay: ``%%workflow`` cells and ``workscript run`` take this
stand-in, which imports it on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["LazyNotebookGateway"]


class LazyNotebookGateway:
    """A ``RunnerGateway`` built on first use; each run's ``python`` kernel, like the runner's own,
    is shut down when the run ends. Used by ``%%workflow`` runs and ``workscript run``."""

    def __init__(self, root_dir: Path) -> None:
        self.root_dir = root_dir
        self._gateway: Any = None

    def _runner(self) -> Any:
        if self._gateway is None:
            from .gateway import RunnerGateway

            self._gateway = RunnerGateway(self.root_dir)
        return self._gateway

    async def run_notebook(
        self,
        path: str,
        *,
        parameters: Mapping[str, Any],
        kernel: str | None = None,
        timeout: float | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        report: dict[str, Any] = await self._runner().run_notebook(
            path, parameters=parameters, kernel=kernel, timeout=timeout, on_progress=on_progress
        )
        return report

    async def run_python(self, run_key: str, code: str, state: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._runner().run_python(run_key, code, state)
        return result

    async def close_run(self, run_key: str) -> None:
        if self._gateway is not None:
            await self._gateway.close_run(run_key)
