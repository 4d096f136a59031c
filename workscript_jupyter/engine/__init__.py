"""The workflow engine: parse, validate and run Workscript workflows.

Pure core: it imports no Jupyter, tornado, database or network library (an import-linter contract
checks it). Nodes reach the outside world only through ``ctx.services``.

The names below are loaded on first use (PEP 562): ``from workscript_jupyter.engine import
validate_workflow`` imports the parser and not the executor, so ``workscript validate`` starts
without asyncio and the run machinery.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

from .limits import DEFAULT_LIMITS, EngineLimits  # small, and every entry point needs it

if TYPE_CHECKING:
    from .events import EVENT_TYPES, Event, EventBus, Listener
    from .executor import Execution, copy_json, run_workflow
    from .expressions import Expression, ExpressionError, compile_expression, evaluate
    from .model import SETTER, Jump, NodeStep, RetryPolicy, Workflow
    from .node import Edge, FallbackEdge, Node, NodeContext, NodeMetadata, ParamSpec, RunEnded
    from .parse import load_document, parse_workflow, validate_workflow
    from .registry import ENTRY_POINT_GROUP, NodeRegistry
    from .result import RunError, RunResult, RunStatus, TimelineEntry
    from .schema import WORKFLOW_SCHEMA
    from .services import DatabaseGateway, NotebookGateway, Services

__all__ = [
    "DEFAULT_LIMITS",
    "ENTRY_POINT_GROUP",
    "EVENT_TYPES",
    "SETTER",
    "WORKFLOW_SCHEMA",
    "DatabaseGateway",
    "Edge",
    "EngineLimits",
    "Event",
    "EventBus",
    "Execution",
    "Expression",
    "ExpressionError",
    "FallbackEdge",
    "Jump",
    "Listener",
    "Node",
    "NodeContext",
    "NodeMetadata",
    "NodeRegistry",
    "NodeStep",
    "NotebookGateway",
    "ParamSpec",
    "RetryPolicy",
    "RunEnded",
    "RunError",
    "RunResult",
    "RunStatus",
    "Services",
    "TimelineEntry",
    "Workflow",
    "compile_expression",
    "copy_json",
    "evaluate",
    "load_document",
    "load_workflow",
    "parse_workflow",
    "run_workflow",
    "validate_workflow",
]

# where each name of __all__ not defined here lives; a test checks it against __all__
_HOMES: dict[str, str] = {
    **dict.fromkeys(("EVENT_TYPES", "Event", "EventBus", "Listener"), "events"),
    **dict.fromkeys(("Execution", "copy_json", "run_workflow"), "executor"),
    **dict.fromkeys(
        ("Expression", "ExpressionError", "compile_expression", "evaluate"), "expressions"
    ),
    **dict.fromkeys(("SETTER", "Jump", "NodeStep", "RetryPolicy", "Workflow"), "model"),
    **dict.fromkeys(
        ("Edge", "FallbackEdge", "Node", "NodeContext", "NodeMetadata", "ParamSpec", "RunEnded"),
        "node",
    ),
    **dict.fromkeys(("load_document", "parse_workflow", "validate_workflow"), "parse"),
    **dict.fromkeys(("ENTRY_POINT_GROUP", "NodeRegistry"), "registry"),
    **dict.fromkeys(("RunError", "RunResult", "RunStatus", "TimelineEntry"), "result"),
    "WORKFLOW_SCHEMA": "schema",
    **dict.fromkeys(("DatabaseGateway", "NotebookGateway", "Services"), "services"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # found once; later look-ups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def load_workflow(
    source: str | Mapping[str, Any],
    registry: NodeRegistry,
    *,
    limits: EngineLimits = DEFAULT_LIMITS,
) -> Workflow:
    """A runnable workflow from JSON/YAML text or an already-parsed document."""
    from .parse import load_document, parse_workflow

    document = load_document(source) if isinstance(source, str) else source
    return parse_workflow(document, registry, limits=limits)
