"""The ``workscript`` command: run and validate workflows, run a notebook headless
(``workscript run-notebook``), list the node catalogue, migrate the
database (``workscript db upgrade | downgrade | current | history``), execute queued runs
(``workscript worker``, cli_worker.py).

Exit codes: 0 completed (or valid), 1 the run failed (failed, timed out, cancelled), 2 the workflow
or the command line is invalid. Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .errors import ValidationIssue, WorkflowValidationError, WorkscriptError

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
BOOKKEEPING = ("_edgeContext", "_lastStateSet")  # shown by --json, hidden from the plain state


class UsageError(WorkscriptError):
    code = "USAGE_ERROR"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workscript",
        description="Run, validate and inspect Workscript JSON/YAML workflows.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="run a workflow file and print its final state")
    run.add_argument("file", help="workflow file (JSON or YAML); - reads standard input")
    run.add_argument(
        "--state",
        "-s",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a key of the initial state (VALUE is JSON, or else a string; KEY may be a.b)",
    )
    run.add_argument(
        "--state-file", metavar="FILE", help="a JSON/YAML object merged into the state"
    )
    run.add_argument("--json", action="store_true", help="print the whole run result as JSON")
    run.add_argument("--timeline", action="store_true", help="with --json, include the timeline")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress and no log lines")
    run.add_argument(
        "--root",
        metavar="DIR",
        default=".",
        help="the only folder the filesystem node may touch (default: the current folder)",
    )
    run.add_argument(
        "--db",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a named connection for the database node, e.g. default=sqlite:///data.db",
    )
    run.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="PATTERN",
        help="hosts fetchApi may call (example.com, *.example.com); default: any",
    )
    run.add_argument(
        "--deny-host",
        action="append",
        default=[],
        metavar="PATTERN",
        help="hosts fetchApi may never call; wins over --allow-host",
    )

    validate = commands.add_parser("validate", help="check a workflow file, listing every error")
    validate.add_argument("file", help="workflow file (JSON or YAML); - reads standard input")
    validate.add_argument("--json", action="store_true", help="print the errors as JSON")

    nodes = commands.add_parser("nodes", help="list the node catalogue")
    nodes.add_argument("--json", action="store_true", help="the full metadata as JSON")
    nodes.add_argument("--markdown", action="store_true", help="the catalogue as docs/nodes.md")

    _add_db_parser(commands)
    _add_worker_parser(commands)
    _add_notebook_parser(commands)
    return parser


def _add_notebook_parser(commands: Any) -> None:
    notebook = commands.add_parser(
        "run-notebook",
        help="run a notebook headless and print its output() values as JSON",
        description="Run NOTEBOOK on a fresh kernel, print the values its cells passed to "
        "output() as a JSON object, and save the executed copy under the root. Exit codes: "
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


def _add_worker_parser(commands: Any) -> None:
    from .cli_worker import add_worker_parser

    add_worker_parser(commands)


def _add_db_parser(commands: Any) -> None:
    db = commands.add_parser("db", help="the workscript database: migrate its schema (Alembic)")
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    from .cli_worker import add_db_url_argument

    target = argparse.ArgumentParser(add_help=False)
    add_db_url_argument(target)
    upgrade = db_commands.add_parser(
        "upgrade", parents=[target], help="migrate up to REVISION (default: head)"
    )
    upgrade.add_argument("revision", nargs="?", default="head", metavar="REVISION")
    downgrade = db_commands.add_parser(
        "downgrade", parents=[target], help="migrate down to REVISION (base: drop every table)"
    )
    downgrade.add_argument("revision", metavar="REVISION")
    db_commands.add_parser("current", parents=[target], help="print the database's revision")
    db_commands.add_parser("history", help="list the migrations, oldest first")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "validate":
            return _validate(args)
        if args.command == "db":
            return _db(args)
        if args.command == "run-notebook":
            return _run_notebook(args)
        if args.command == "worker":
            from .cli_worker import run_worker

            return run_worker(args)
        return _nodes(args)
    except WorkflowValidationError as exc:
        _print_issues(exc.issues, sys.stderr)
        return EXIT_INVALID
    except WorkscriptError as exc:
        if args.debug:
            raise
        print(f"workscript: error: {exc.message}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("workscript: interrupted", file=sys.stderr)
        return 130


# -- commands ----------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    from .engine import Execution, parse_workflow
    from .nodes import builtin_registry

    registry = builtin_registry()
    document = _read_document(args.file)
    workflow = parse_workflow(document, registry)
    state = _initial_state(args.state, args.state_file)
    progress = None if args.quiet or args.json else Progress(sys.stderr)
    execution = Execution(
        workflow,
        registry,
        initial_state=state,
        services=_services(args),
        copy_initial_state=False,  # parsed for this run alone
        on_event=progress.on_event if progress and progress.live else None,
        on_log=progress.on_log if progress else None,
    )
    if progress is not None:
        progress.attach(execution)
    result = asyncio.run(execution.run())
    if progress is not None:
        progress.finish(result)
    if args.json:
        _print_json(result.to_dict(timeline=args.timeline))
    else:
        _print_json({k: v for k, v in result.final_state.items() if k not in BOOKKEEPING})
        if result.error is not None:
            where = f" at {result.error.node_path}" if result.error.node_path else ""
            kind = f" ({result.error.node_type})" if result.error.node_type else ""
            print(
                f"workscript: run {result.status}{where}{kind}: {result.error.message}",
                file=sys.stderr,
            )
    return EXIT_OK if result.ok else EXIT_FAILED


def _validate(args: argparse.Namespace) -> int:
    from .engine import validate_workflow
    from .nodes import builtin_registry

    document = _read_document(args.file)
    issues = validate_workflow(document, builtin_registry())
    if args.json:
        _print_json({"valid": not issues, "errors": [i.to_dict() for i in issues]})
    elif issues:
        _print_issues(issues, sys.stdout)
    else:
        print(f"{args.file}: valid")
    return EXIT_INVALID if issues else EXIT_OK


def _nodes(args: argparse.Namespace) -> int:
    from .nodes import builtin_registry

    catalogue = builtin_registry(plugins=not args.markdown).metadata()
    if args.markdown:
        from .nodes.catalogue import catalogue_markdown

        sys.stdout.write(catalogue_markdown(catalogue))
        return EXIT_OK
    if args.json:
        _print_json([meta.to_dict() for meta in catalogue])
        return EXIT_OK
    width = max(len(meta.id) for meta in catalogue)
    for meta in catalogue:
        edges = ", ".join(meta.edges) or "-"
        print(f"{meta.id:<{width}}  {meta.description}  [edges: {edges}]")
    return EXIT_OK


def _db(args: argparse.Namespace) -> int:
    from .store import migrate

    head = migrate.head()
    if args.db_command == "history":
        for revision in reversed(migrate.revisions()):
            mark = " (head)" if revision.id == head else ""
            parent = revision.down_revision or "<base>"
            print(f"{parent} -> {revision.id}{mark}: {revision.message}")
        return EXIT_OK

    from .store.connection import create_store_engine, mask_url, resolve_db_url

    url = resolve_db_url(args.db_url)
    print(f"workscript: database {mask_url(url)}", file=sys.stderr)
    engine = create_store_engine(url)
    try:
        before = migrate.current(engine)
        if args.db_command == "upgrade":
            migrate.upgrade(engine, args.revision)
        elif args.db_command == "downgrade":
            migrate.downgrade(engine, args.revision)
        after = migrate.current(engine)
    finally:
        engine.dispose()

    def describe(revision: str | None) -> str:
        if revision is None:
            return "base (no workscript tables)"
        return f"{revision} (head)" if revision == head else revision

    if args.db_command == "current":
        print(describe(after))
        if after != head:
            print(f"the newest revision is {head}: run `workscript db upgrade`", file=sys.stderr)
    elif before == after:
        print(f"already at {describe(after)}")
    else:
        print(f"{args.db_command}d from {describe(before)} to {describe(after)}")
    return EXIT_OK


def _run_notebook(args: argparse.Namespace) -> int:
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
    progress = NotebookProgressBar(sys.stderr, Path(args.notebook).name)
    progress.start()
    try:
        result = asyncio.run(
            run_notebook(
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
    _print_json(dict(result.outputs))
    if result.error is not None:
        _print_notebook_failure(result.error, sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


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


# -- input -------------------------------------------------------------------------------------


def _read_document(file: str) -> dict[str, Any]:
    from .engine import load_document

    if file == "-":
        return load_document(sys.stdin.read(), source="<stdin>")
    path = Path(file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{file}: is a directory, not a workflow file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{file}: not a UTF-8 text file") from None
    except OSError as exc:
        raise UsageError(f"{file}: {exc.strerror}") from None
    return load_document(text, source=file)


def _initial_state(pairs: list[str], state_file: str | None) -> dict[str, Any]:
    from .engine.state import parse_path, set_path

    state: dict[str, Any] = {}
    if state_file:
        loaded = _read_document(state_file)
        state.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--state {pair!r}: expected KEY=VALUE")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        try:
            path = parse_path("$." + key.removeprefix("$."))
        except WorkscriptError:
            raise UsageError(
                f"--state {pair!r}: {key!r} is not a state key (a, a.b, a[0])"
            ) from None
        set_path(state, path, value)
    return state


def _services(args: argparse.Namespace) -> Any:
    from .engine import Services

    root = Path(args.root)
    if not root.is_dir():
        raise UsageError(f"--root {args.root}: not a folder")
    databases = {}
    for pair in args.db:
        name, sep, url = pair.partition("=")
        if not sep or not name or not url:
            raise UsageError(f"--db {pair!r}: expected NAME=URL")
        from .store import SqlDatabaseGateway

        databases[name] = SqlDatabaseGateway(url)
    from .runner import RunnerGateway

    return Services(
        root_dir=root.resolve(),
        http_allow=tuple(args.allow_host),
        http_deny=tuple(args.deny_host),
        databases=databases,
        notebooks=RunnerGateway(root.resolve()),
    )


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _print_issues(issues: Sequence[ValidationIssue], stream: TextIO) -> None:
    print(f"invalid workflow: {len(issues)} error{'s' if len(issues) != 1 else ''}", file=stream)
    for issue in issues:
        print(f"  {issue.path or '/'}: {issue.message} [{issue.code}]", file=stream)


# -- progress ----------------------------------------------------------------------------------


class Progress:
    """Log lines always; on a terminal also one status line, redrawn at most 10 times a second."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.execution: Any = None
        self.started = time.monotonic()
        self.drawn = 0.0

    def attach(self, execution: Any) -> None:
        self.execution = execution

    def on_log(self, message: str) -> None:
        self._clear()
        print(f"[log] {message}", file=self.stream)

    def on_event(self, event: Any) -> None:
        now = time.monotonic()
        if self.live and now - self.drawn >= 0.1 and self.execution is not None:
            self.drawn = now
            self.stream.write(
                f"\r\x1b[K▶ {self.execution.node_runs} node runs · "
                f"{now - self.started:.1f}s · {self.execution.current_path}"
            )
            self.stream.flush()

    def finish(self, result: Any) -> None:
        self._clear()
        if self.live:
            print(
                f"■ {result.status} · {result.node_runs} node runs · {result.duration_ms:.1f} ms",
                file=self.stream,
            )

    def _clear(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")


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


if __name__ == "__main__":
    raise SystemExit(main())
