"""``workscript run-notebook``: run a notebook headless (the runner), print its report as JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from .cli_common import EXIT_FAILED, EXIT_OK, UsageError
from .cli_common import print_json as _print_json

__all__ = ["NotebookProgressBar", "add_notebook_parser", "run_notebook_command"]


def add_notebook_parser(commands: Any) -> None:
    notebook = commands.add_parser(
        "run-notebook",
        help="run a notebook headless and print its report (status, outputs...) as JSON",
        description="Run NOTEBOOK on a fresh kernel, save the executed copy under the root and "
        "print the run as a JSON object: status, outputs (the values its cells passed to "
        "output()), executedPath, cellsDone, cellsTotal, durationMs, kernel, runId, warnings "
        "and error (the full failure report goes to stderr). Exit codes: "
        "0 completed, 1 a cell failed or timed out, 2 a bad command line or notebook.",
    )
    notebook.add_argument("notebook", metavar="NOTEBOOK", help="the .ipynb file")
    notebook.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter injected after the cell tagged 'parameters' (VALUE is JSON, or else "
        "a string)",
    )
    notebook.add_argument(
        "--output",
        metavar="PATH",
        help="where the executed copy goes, relative to the root; may use {run_id}, {time}, "
        "{stem}, {name}, {dir} (default: .workscript/runs/{stem}-{time}-{run_id}.ipynb)",
    )
    notebook.add_argument(
        "--timeout", type=float, metavar="S", help="seconds the whole run may take"
    )
    notebook.add_argument(
        "--cell-timeout", type=float, metavar="S", help="seconds each cell may take"
    )
    notebook.add_argument(
        "--kernel", metavar="NAME", help="kernel name (default: the notebook's kernelspec)"
    )
    notebook.add_argument(
        "--root",
        metavar="DIR",
        default=".",
        help="the folder the notebook and its executed copy must be in (default: the current "
        "folder)",
    )
    notebook.add_argument(
        "--gateway-url",
        metavar="URL",
        help="run the kernel on this Jupyter Kernel/Enterprise Gateway (default: "
        "WORKSCRIPT_GATEWAY_URL; token: WORKSCRIPT_GATEWAY_AUTH_TOKEN)",
    )


def run_notebook_command(args: argparse.Namespace) -> int:
    import asyncio  # here: every command builds this parser, and most never need asyncio

    from .runner import run_notebook

    parameters = _notebook_parameters(args.parameter)
    for option, value in (("--timeout", args.timeout), ("--cell-timeout", args.cell_timeout)):
        if value is not None and not value > 0:
            raise UsageError(f"{option} {value:g}: must be a number of seconds above 0")
    root = Path(args.root)
    if not root.is_dir():
        raise UsageError(f"--root {args.root}: not a folder")
    # NOTEBOOK is a path as typed (relative to the current folder); run_notebook confines it
    notebook = Path(os.path.abspath(args.notebook))
    run = run_notebook
    gateway = _gateway(args.gateway_url)
    if gateway is not None:
        from .runner.remote_kernels import configure_gateway, run_notebook_remotely

        configure_gateway(gateway)
        run = run_notebook_remotely
    progress = NotebookProgressBar(sys.stderr, Path(args.notebook).name)
    progress.start()
    try:
        result = asyncio.run(
            run(
                notebook,
                root_dir=root,
                parameters=parameters,
                kernel_name=args.kernel,
                timeout=args.timeout,
                cell_timeout=args.cell_timeout,
                output_path=args.output,
                on_progress=progress.on_progress,
            )
        )
    finally:
        progress.clear()
    progress.finish(result)
    _print_json(notebook_report(result, root.resolve()))
    if result.error is not None:
        _print_notebook_failure(result.error, sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _gateway(url: str | None) -> Any:
    """The kernel gateway's settings (``--gateway-url``, else the environment), or None."""
    from .errors import ConfigurationError
    from .runner.remote_kernels import gateway_settings

    try:
        return gateway_settings(url, os.environ)
    except ConfigurationError as exc:
        raise UsageError(str(exc)) from None


def notebook_report(result: Any, root: Path) -> dict[str, Any]:
    """What ``run-notebook`` prints: the run as the ``notebook`` node reports it (its
    ``notebookResult``, with the outputs), the executed copy's path relative to the root."""
    executed: str | None = None
    if result.executed_path is not None:
        path = Path(result.executed_path)
        executed = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    error = result.error
    return {
        "status": result.status,
        "outputs": dict(result.outputs),
        "executedPath": executed,
        "cellsDone": result.cells_done,
        "cellsTotal": result.cells_total,
        "durationMs": result.duration_ms,
        "kernel": result.kernel_name,
        "runId": result.run_id,
        "warnings": list(result.warnings),
        "error": None
        if error is None
        else {
            "kind": error.kind,
            "message": error.message,
            "cellIndex": error.cell_index,
            "ename": error.ename,
            "evalue": error.evalue,
        },
    }


def _notebook_parameters(pairs: list[list[str]]) -> dict[str, Any] | None:
    if not pairs:
        return None
    parameters: dict[str, Any] = {}
    for name, raw in pairs:
        if not name.isidentifier():
            raise UsageError(f"-p {name!r}: the name must be a Python identifier")
        try:
            parameters[name] = json.loads(raw)
        except json.JSONDecodeError:
            parameters[name] = raw
    return parameters


def _print_notebook_failure(error: Any, stream: TextIO) -> None:
    where = f" in cell {error.cell_index}" if error.cell_index is not None else ""
    print(f"workscript: notebook failed{where} [{error.kind}]: {error.message}", file=stream)
    if error.source_head:
        print("  source:", file=stream)
        for line in error.source_head.splitlines():
            print(f"    {line}", file=stream)
    if error.ename:
        print(f"  {error.ename}: {error.evalue}", file=stream)
    if error.traceback:
        print("  traceback:", file=stream)
        for line in error.traceback.splitlines():
            print(f"    {line}", file=stream)


class NotebookProgressBar:
    """On a terminal, one redrawn line: a bar of the code cells done; always a final line."""

    WIDTH = 20

    def __init__(self, stream: TextIO, name: str) -> None:
        self.stream = stream
        self.name = name
        self.live = stream.isatty()
        self.started = time.monotonic()

    def start(self) -> None:
        self._draw(f"▶ {self.name} · starting the kernel")

    def on_progress(self, event: Any) -> None:
        total = max(event.cells_total, 1)
        filled = round(self.WIDTH * event.cells_done / total)
        bar = "█" * filled + "·" * (self.WIDTH - filled)
        elapsed = time.monotonic() - self.started
        self._draw(
            f"▶ {self.name} [{bar}] {event.cells_done}/{event.cells_total} cells · "
            f"cell {event.cell_index} {event.status} · {elapsed:.1f}s"
        )

    def clear(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def finish(self, result: Any) -> None:
        saved = f" · saved {result.executed_path}" if result.executed_path else ""
        print(
            f"■ {self.name} {result.status} · {result.cells_done}/{result.cells_total} cells · "
            f"{result.duration_ms} ms{saved}",
            file=self.stream,
        )

    def _draw(self, text: str) -> None:
        if self.live:
            self.stream.write(f"\r\x1b[K{text}")
            self.stream.flush()
