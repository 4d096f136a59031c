"""The ``workscript`` command: run and validate workflows, run a notebook headless
(``workscript run-notebook``), list the node catalogue, migrate the
database (``workscript db upgrade | downgrade | current | history``), execute queued runs
(``workscript worker``, cli_worker.py), run a JupyterHub's service yourself
(``workscript service``, cli_service.py).

Exit codes: 0 completed (or valid), 1 the run failed (failed, timed out, cancelled), 2 the workflow
or the command line is invalid. Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .cli_common import EXIT_FAILED, EXIT_INVALID, EXIT_OK, UsageError
from .cli_common import print_json as _print_json
from .errors import (
    DocumentError,
    DocumentLimitError,
    ValidationIssue,
    WorkflowValidationError,
    WorkscriptError,
)

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "EXIT_OK", "UsageError", "main"]


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
        "--max-state-mb",
        type=float,
        default=64.0,
        metavar="MB",
        help="the largest the run's state may grow; past it the run fails (default: 64)",
    )
    _add_max_steps(run)
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
    _add_max_steps(validate)

    nodes = commands.add_parser("nodes", help="list the node catalogue")
    nodes.add_argument("--json", action="store_true", help="the full metadata as JSON")
    nodes.add_argument("--markdown", action="store_true", help="the catalogue as docs/nodes.md")

    _add_db_parser(commands)
    _add_worker_parser(commands)
    _add_service_parser(commands)
    _add_accounts_parsers(commands)
    _add_notebook_parser(commands)
    from .cli_secrets import add_secrets_parser
    from .cli_settings import add_settings_parser

    add_secrets_parser(commands)

    add_settings_parser(commands)
    return parser


def _add_max_steps(command: Any) -> None:
    command.add_argument(
        "--max-steps",
        type=int,
        default=10_000,
        metavar="N",
        help="the most steps a workflow may have, nested ones included (default: 10000)",
    )


def _limits(args: argparse.Namespace) -> Any:
    from .engine import EngineLimits

    return EngineLimits.of(
        max_state_mb=getattr(args, "max_state_mb", 64.0), max_steps=args.max_steps
    )


def _add_notebook_parser(commands: Any) -> None:
    from .cli_notebook import add_notebook_parser

    add_notebook_parser(commands)


def _add_db_parser(commands: Any) -> None:
    from .cli_db import add_db_parser

    add_db_parser(commands)


def _add_accounts_parsers(commands: Any) -> None:
    from .cli_accounts import add_accounts_parsers

    add_accounts_parsers(commands)


def _add_worker_parser(commands: Any) -> None:
    from .cli_worker import add_worker_parser

    add_worker_parser(commands)


def _add_service_parser(commands: Any) -> None:
    from .cli_service import add_service_parser

    add_service_parser(commands)


def _skip_slow_optional_imports() -> None:
    """Keep ``rfc3987_syntax`` out of this process: jsonschema imports it, when installed
    (jupyter-events asks for it), only to check the formats ``iri``/``iri-reference``, and it
    builds a Lark grammar on import — 1.4 s of the CLI's 2.5 s start. Without it jsonschema
    simply leaves those two formats unchecked, which no workflow of the CLI relies on."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    _skip_slow_optional_imports()
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "service":
        args.server_args = unknown  # the Jupyter server's own flags, passed on as they are
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")  # as parse_args says it
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "validate":
            return _validate(args)
        if args.command == "db":
            from .cli_db import run_db_command

            return run_db_command(args)
        if args.command == "run-notebook":
            from .cli_notebook import run_notebook_command

            return run_notebook_command(args)
        if args.command == "secrets":
            from .cli_secrets import run_secrets_command

            return run_secrets_command(args)
        if args.command == "settings":
            from .cli_settings import run_settings_command

            return run_settings_command(args)
        if args.command in ("users", "keys"):
            from .cli_accounts import run_keys_command, run_users_command

            return run_users_command(args) if args.command == "users" else run_keys_command(args)
        if args.command == "worker":
            from .cli_worker import run_worker

            return run_worker(args)
        if args.command == "service":
            from .cli_service import run_service

            return run_service(args)
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


def _registry() -> Any:
    """The built-in nodes, imported as a workflow uses them, and the plugins, looked up only
    for a node type that is not built in: the command starts in a fraction of the time."""
    from .nodes import builtin_registry

    registry = builtin_registry(plugins_on_demand=True)
    registry.defer(_plugin_nodes)
    return registry


def _plugin_nodes(registry: Any) -> None:
    """The plugins' nodes (workscript_jupyter.plugins), imported only when a workflow asks
    for a node type that is neither built in nor a node plugin's."""
    from .plugins import register_plugin_nodes

    register_plugin_nodes(registry)


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from .engine import Execution, parse_workflow
    from .engine.visible_state import visible_state

    registry = _registry()
    limits = _limits(args)
    document = _read_document(args.file)
    workflow = parse_workflow(document, registry, limits=limits)
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
        limits=limits,
    )
    if progress is not None:
        progress.attach(execution)
    result = asyncio.run(execution.run())
    if progress is not None:
        progress.finish(result)
    shown = visible_state(result.final_state)  # without the engine's bookkeeping keys
    if args.json:
        _print_json({**result.to_dict(timeline=args.timeline), "finalState": shown})
    else:
        _print_json(shown)
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

    try:
        document = _read_document(args.file)
    except WorkflowValidationError as exc:  # not JSON/YAML: the same report as any error
        document, issues = None, list(exc.issues)
    except WorkscriptError as exc:  # no such file...: with --json, a JSON report too
        if not args.json:
            raise
        document, issues = None, [ValidationIssue("", exc.message, exc.code)]
    if document is not None:
        issues = validate_workflow(document, _registry(), limits=_limits(args))
    if args.json:
        _print_json({"valid": not issues, "errors": [i.to_dict() for i in issues]})
    elif issues:
        _print_issues(issues, sys.stdout)
    else:
        print(f"{args.file}: valid")
    return EXIT_INVALID if issues else EXIT_OK


def _nodes(args: argparse.Namespace) -> int:
    from .nodes import builtin_registry

    registry = builtin_registry(plugins=not args.markdown)
    if not args.markdown:  # docs/nodes.md is the built-in catalogue only
        _plugin_nodes(registry)
    catalogue = registry.metadata()
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


# -- input -------------------------------------------------------------------------------------


def _read_document(file: str, *, workflow: bool = True) -> dict[str, Any]:
    """The workflow (or state) document in ``file`` (``-``: standard input), parsed by what
    its name says: ``.json`` must be JSON, ``.yaml``/``.yml`` YAML; otherwise JSON, else YAML."""
    from .cli_documents import parse_document

    if file == "-":
        return parse_document(sys.stdin.read(), source="<stdin>")
    path = Path(file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(_no_such_file(file) if workflow else f"{file}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{file}: is a directory, not a workflow file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{file}: not a UTF-8 text file") from None
    except OSError as exc:
        raise UsageError(f"{file}: {exc.strerror}") from None
    return parse_document(text, source=file, suffix=path.suffix)


def _no_such_file(file: str) -> str:
    """A name that is not a file may be a saved workflow's id: say how to run one of those."""
    if Path(file).suffix or "/" in file or "\\" in file:
        return f"{file}: no such file"
    return (
        f"no file named {file!r} (the CLI runs workflow files; to run a workflow saved on a "
        f"Workscript server use its REST API: POST /workscript/workflows/{file}/run)"
    )


def _initial_state(pairs: list[str], state_file: str | None) -> dict[str, Any]:
    from .engine.documents import load_json
    from .engine.state import parse_path, set_path

    state: dict[str, Any] = {}
    if state_file:
        loaded = _read_document(state_file, workflow=False)
        state.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--state {pair!r}: expected KEY=VALUE")
        try:
            value = load_json(raw, source=f"--state {key}")
        except DocumentLimitError as exc:  # too deep, NaN...: not text either
            raise UsageError(exc.message) from None
        except DocumentError:  # not JSON: the text itself
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
    from .runner.lazy_gateway import LazyNotebookGateway

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
    return Services(
        root_dir=root.resolve(),
        http_allow=tuple(args.allow_host),
        http_deny=tuple(args.deny_host),
        databases=databases,
        notebooks=LazyNotebookGateway(root.resolve()),
        ai=_ai_gateway(),
    )


def _ai_gateway() -> Any:
    """ask-ai's gateway when OPENROUTER_API_KEY is set (the client and httpx are imported only
    then: a run without a key stays light); None makes the node say how to get one."""
    import os

    if not os.environ.get("OPENROUTER_API_KEY", "").strip():
        return None
    from .integrations import DirectAIGateway

    return DirectAIGateway.from_env(os.environ)


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


if __name__ == "__main__":
    raise SystemExit(main())
