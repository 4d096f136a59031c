"""``%%workflow`` and ``%workscript``: build, validate and run workflows in a notebook.

A ``%%workflow`` cell waits for its run by default, without blocking the kernel: an input
transformer turns the cell into ``await <magic>.wait_in_cell(...)``, so the cell runs as a
coroutine on the kernel's loop while the widget updates live. ``--no-wait`` returns the handle at
once instead.

``--save``, ``--schedule`` and ``--server`` talk to the workscript server of the notebook
(``server_client.py``): the cell's workflow is saved there (updated when its ``id`` was saved
before), given a cron automation, or run there and followed live (``remote.py``).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
from html import escape
from pathlib import Path
from typing import Any

from IPython.core.display import HTML
from IPython.core.display_functions import display
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ..engine import (
    ExpressionError,
    NodeRegistry,
    Services,
    Workflow,
    evaluate,
    load_document,
    parse_workflow,
)
from ..errors import WorkflowValidationError
from ..runner.lazy_gateway import LazyNotebookGateway
from .cell_errors import format_issues
from .connections import connect_html, connections_html
from .handle import RunHandle
from .remote import RemoteRunHandle, Schedule, automations_table, saved_html, show_end
from .server_client import ServerClient, ServerError, ServerNotFoundError, format_server_error

__all__ = ["WorkscriptMagics", "await_workflow_cells"]

_CELL_MAGIC_CALL = "get_ipython().run_cell_magic('workflow',"


def _ai_gateway(previous: Any) -> Any:
    """ask-ai's gateway from the kernel's environment, read before each run (a key set in a
    cell counts); the client (httpx) is imported only when a key is set."""
    if not os.environ.get("OPENROUTER_API_KEY", "").strip():
        return None
    from ..integrations import DirectAIGateway

    return DirectAIGateway.from_env(os.environ, reuse=previous)


@magics_class
class WorkscriptMagics(Magics):
    shell: Any

    def __init__(self, shell: Any, registry: NodeRegistry) -> None:
        super().__init__(shell)
        self.registry = registry
        self.runs: list[RunHandle | RemoteRunHandle] = []
        self._client: ServerClient | None = None
        self._ai: Any = None  # ask-ai's DirectAIGateway, while OPENROUTER_API_KEY is set

    # -- %%workflow ---------------------------------------------------------------------------

    @magic_arguments()
    @argument(
        "--state",
        "-s",
        metavar="EXPR",
        help="a dict literal, or the name of a dict in the notebook, merged over initialState",
    )
    @argument("--name", "-n", metavar="VAR", help="also bind the run handle to this variable")
    @argument("--quiet", "-q", action="store_true", help="no live widget: just the result")
    @argument(
        "--no-wait",
        action="store_true",
        help="return the handle at once instead of waiting for the end (await it later)",
    )
    @argument("--save", action="store_true", help="also store the workflow on the server")
    @argument(
        "--schedule",
        metavar="CRON",
        help='save it and run it on the server on this schedule ("*/30 * * * * *", quoted); '
        "the cell does not run it now",
    )
    @argument("--tz", metavar="ZONE", help="the IANA time zone of --schedule (default UTC)")
    @argument("--server", action="store_true", help="save it, run it on the server, watch it")
    @cell_magic
    def workflow(self, line: str, cell: str) -> RunHandle | RemoteRunHandle | Schedule | None:
        """Run the workflow written in this cell (JSON or YAML) and watch it run."""
        line, literal = _take_state_literal(line)
        if {"--help", "-h"} & set(line.split()):
            print(self.workflow.parser.format_help())
            return None
        try:
            args = parse_argstring(self.workflow, line)
        except ValueError as exc:  # shlex: unbalanced quotes
            raise UsageError(f"%%workflow {line}: {exc}") from None
        if literal is not None:
            args.state = literal
        workflow = self._parse_cell(cell, line_offset=1)  # line 1 of the cell is %%workflow
        if args.tz and not args.schedule:
            raise UsageError("--tz ZONE goes with --schedule CRON")
        if args.save or args.schedule or args.server:
            return self._on_server(workflow, args)
        return self._start(workflow, args.state, quiet=args.quiet, name=args.name)

    # -- %workscript --------------------------------------------------------------------------

    @line_magic
    def workscript(self, line: str) -> Any:
        """%workscript nodes | validate VAR_OR_FILE | run FILE [--state EXPR] | automations |
        connect google [SCOPE ...] | connections | server | help"""
        line, literal = _take_state_literal(line)
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%workscript {line}: {exc}") from None
        if literal is not None:
            words += ["--state", literal]
        command, rest = (words[0], words[1:]) if words else ("help", [])
        if command == "nodes":
            return HTML(self._nodes_table())
        if command == "validate" and len(rest) == 1:
            text = self._text_of(rest[0])
            self._parse_cell(text)
            return HTML(f"<span style='color:#1e7d32'>✓ {rest[0]} is a valid workflow</span>")
        if command == "run" and rest:
            state = None
            if len(rest) == 3 and rest[1] in ("--state", "-s"):
                state = rest[2]
            elif len(rest) != 1:
                raise UsageError("usage: %workscript run FILE [--state EXPR]")
            return self._start(self._parse_cell(self._text_of(rest[0])), state, quiet=False)
        if command == "automations" and not rest:
            client = self._server()
            return HTML(automations_table(self._call(client.list_automations), client))
        if command == "connect":
            client = self._server()
            return HTML(self._call(connect_html, client, rest))
        if command == "connections" and not rest:
            client = self._server()
            return HTML(self._call(connections_html, client))
        if command == "server" and not rest:
            client = self._server()
            health = self._call(client.health)
            return HTML(
                f"workscript {escape(str(health.get('version')))} at "
                f"<code>{escape(client.base_url)}</code>, found through {escape(client.source)}"
            )
        if command == "help":
            return HTML(f"<pre>{_HELP}</pre>")
        raise UsageError(f"%workscript {line!r}: unknown command\n{_HELP}")

    # -- helpers ------------------------------------------------------------------------------

    def _parse_cell(self, text: str, *, line_offset: int = 0) -> Workflow:
        try:
            document = load_document(text, source="cell")
            if "id" in document:  # a cell may give just an id: name and version default
                document.setdefault("name", str(document["id"]))
                document.setdefault("version", "1.0.0")
            return parse_workflow(document, self.registry)
        except WorkflowValidationError as exc:
            raise UsageError(format_issues(exc.issues, text, line_offset=line_offset)) from None

    def _state(self, expr: str | None) -> dict[str, Any]:
        """A dict literal (whose values may name notebook variables) or a variable's name.

        Read with the workflow expression language, so nothing in the notebook is called.
        """
        if not expr:
            return {}
        namespace = self.shell.user_ns
        unknown = _unknown_names(expr, namespace)
        if unknown:
            names = ", ".join(repr(n) for n in unknown)
            raise UsageError(f"--state {expr}: no variable named {names} in the notebook")
        try:
            value = evaluate(expr, namespace)
        except ExpressionError as exc:
            raise UsageError(f"--state: {exc.message}") from None
        if not isinstance(value, dict):
            raise UsageError(f"--state {expr}: must be a dict, not {type(value).__name__}")
        return value

    def _start(
        self, workflow: Workflow, state_expr: str | None, *, quiet: bool, name: str | None = None
    ) -> RunHandle:
        state = self._state(state_expr)
        monitor, summary = _monitor_and_summary(workflow, quiet)

        def on_end(handle: RunHandle) -> None:
            result = handle.result()
            if monitor is not None:
                monitor.finish_with(result)
            if summary is not None:
                summary.update(HTML(handle._repr_html_()))

        self._ai = _ai_gateway(self._ai)
        handle = RunHandle(
            workflow,
            self.registry,
            initial_state=state,
            services=Services(
                root_dir=Path.cwd(), notebooks=LazyNotebookGateway(Path.cwd()), ai=self._ai
            ),
            on_event=monitor.on_event if monitor is not None else None,
            on_end=on_end,
        )
        if monitor is not None:
            monitor.attach(handle.state)
        if name:
            self.shell.user_ns[name] = handle
        self.runs.append(handle)
        return handle.start()

    # -- the server ---------------------------------------------------------------------------

    def _server(self) -> ServerClient:
        """The notebook's server, found once (again after it could not be reached)."""
        if self._client is None:
            try:
                self._client = ServerClient.discover()
            except ServerNotFoundError as error:
                raise UsageError(error.message) from None
        return self._client

    def _call(self, function: Any, *args: Any) -> Any:
        """A server call; its refusal becomes a UsageError with the server's message."""
        try:
            return function(*args)
        except ServerError as error:
            if error.status is None:  # unreachable: look for the server again next time
                self._client = None
            raise UsageError(format_server_error(error)) from None

    def _on_server(self, workflow: Workflow, args: Any) -> RunHandle | RemoteRunHandle | Schedule:
        """--save, --schedule, --server: save first, then schedule, run there, or run here."""
        client = self._server()
        document = dict(workflow.document)
        state = self._state(args.state)
        if state:  # what is saved is what runs: on the server, and on its schedule
            document["initialState"] = {**dict(document.get("initialState") or {}), **state}
        try:
            json.dumps(document, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise UsageError(
                f"--state: a workflow saved on the server must be JSON ({exc})"
            ) from None
        cron = _unquote(args.schedule) if args.schedule else None
        zone = _unquote(args.tz) if args.tz else None
        check: dict[str, Any] = {}
        if cron is not None:  # a bad schedule fails the cell before anything is saved
            check = self._call(client.validate_cron, cron, zone)
            if not check.get("valid"):
                where = f"--schedule {cron!r}" + (f" --tz {zone}" if zone else "")
                raise UsageError(f"{where}: {check.get('error')}")
        record, created = self._call(client.save_workflow, document)
        display(HTML(saved_html(record, created)))
        if cron is not None:
            name = f"{workflow.name} schedule"
            automation, made = self._call(client.save_schedule, record["id"], name, cron, zone)
            schedule = Schedule(record, automation, made, check, running=args.server)
            if not args.server:
                if args.name:
                    self.shell.user_ns[args.name] = schedule
                return schedule
            display(schedule)
        if not args.server:
            return self._start(workflow, args.state, quiet=args.quiet, name=args.name)
        monitor, summary = _monitor_and_summary(workflow, args.quiet)

        def on_end(handle: RemoteRunHandle) -> None:
            if monitor is not None:
                show_end(monitor, handle)
            if summary is not None:
                summary.update(HTML(handle._repr_html_()))

        listener = monitor.on_event if monitor is not None else None
        handle = RemoteRunHandle(client, workflow, record["id"], on_event=listener, on_end=on_end)
        if args.name:
            self.shell.user_ns[args.name] = handle
        self.runs.append(handle)
        return handle.start()

    def _text_of(self, source: str) -> str:
        value = self.shell.user_ns.get(source)
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            return json.dumps(value)
        path = Path(source)
        if not path.is_file():
            raise UsageError(f"{source}: neither a variable holding a workflow nor a file")
        return path.read_text(encoding="utf-8")

    def _nodes_table(self) -> str:
        rows = "".join(
            f"<tr><td><code>{escape(m.id)}</code></td><td>{escape(m.category)}</td>"
            f"<td>{escape(', '.join(m.edges))}</td><td>{escape(m.description)}</td></tr>"
            for m in self.registry.metadata()
        )
        return (
            "<table><tr><th>node</th><th>category</th><th>edges</th><th>description</th></tr>"
            f"{rows}</table>"
        )


_HELP = """%%workflow [--state EXPR] [--name VAR] [--quiet] [--no-wait]
    the cell is a workflow (JSON or YAML); runs it with a live monitor, waits for the end
    and returns a run handle (await it, .result(), .status, .state, .timeline, .cancel())
%%workflow --save | --schedule "CRON" [--tz ZONE] | --server   (with the options above)
    --save: also store it on the notebook's server (updated when its id was saved before)
    --schedule: save it and run it there on a cron schedule (not now)
    --server: save it and run it on the server, watched here
%workscript nodes                      the node catalogue
%workscript validate VAR_OR_FILE       check a workflow held in a variable or a file
%workscript run FILE [--state EXPR]    run a workflow file
%workscript automations                the automations on the server, with their next runs
%workscript connect google [SCOPE ...] a link to Google's consent page (default scopes:
    gmail.readonly gmail.send calendar drive.file) that connects a Google account
%workscript connections                your Google connections, their status and scopes
%workscript server                     which server the notebook talks to
%workscript help                       this text"""


def _monitor_and_summary(workflow: Workflow, quiet: bool) -> tuple[Any, Any]:
    """The live RunMonitor and the display handle of the static summary below it (or None)."""
    if quiet:
        return None, None
    from .monitor import RunMonitor  # ipywidgets only when a widget is shown

    monitor = RunMonitor(workflow)
    display(monitor)
    return monitor, display(HTML(""), display_id=True)


def _unquote(value: str) -> str:
    """IPython's argument parser keeps the quotes around ``--schedule "0 9 * * 1-5"``."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


_STATE_LITERAL = re.compile(r"(--state|-s)\s+(\{.*\})")


_LITERAL_NAMES = frozenset({"true", "false", "null", "undefined", "True", "False", "None"})


def _unknown_names(expr: str, namespace: dict[str, Any]) -> list[str]:
    """Names an expression reads that the notebook does not define (a typo, not a null)."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        return []  # the expression language reports the syntax error
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return [
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name)
        and id(n) not in called
        and n.id not in namespace
        and n.id not in _LITERAL_NAMES
    ]


def _take_state_literal(line: str) -> tuple[str, str | None]:
    """``--state {'a': 1}`` needs no quotes: the dict literal is taken out before parsing."""
    match = _STATE_LITERAL.search(line)
    if match is None:
        return line, None
    return line[: match.start()] + line[match.end() :], match.group(2)


def await_workflow_cells(lines: list[str]) -> list[str]:
    """Input transformer: a waiting ``%%workflow`` cell becomes an awaited coroutine.

    IPython has already turned the cell magic into ``get_ipython().run_cell_magic(...)``; with
    ``await`` in front the kernel runs the cell as a coroutine on its loop, so the cell ends when
    the run does while the loop keeps serving the widget.
    """
    if not lines or not lines[0].startswith(_CELL_MAGIC_CALL):
        return lines
    try:
        call = ast.parse("".join(lines)).body[0]
        magic_line = call.value.args[1].value  # type: ignore[attr-defined]
    except (SyntaxError, IndexError, AttributeError):
        return lines
    try:
        words = shlex.split(_take_state_literal(magic_line)[0])
    except ValueError:
        return lines  # unbalanced quotes: the magic itself reports them
    if {"--help", "-h"} & set(words):
        return lines
    if "--server" not in words and any(
        w == "--schedule" or w.startswith("--schedule=") for w in words
    ):
        return lines  # nothing runs: the cell's value is the schedule
    quiet = bool({"--quiet", "-q"} & set(words))
    if "--no-wait" in words:
        # the widget and the summary below it show the run; a handle printed now would say
        # "running" forever in the saved notebook, so the output is left out (as with ';')
        return lines if quiet else ["".join(lines).rstrip() + ";\n"]
    from IPython.core.getipython import get_ipython

    shell = get_ipython()
    if shell is None or not getattr(shell, "autoawait", False):
        return lines
    code = "".join(lines).rstrip()
    return [f"await ({code}).wait_in_cell(show={quiet})\n"]  # quiet: the result is the output
