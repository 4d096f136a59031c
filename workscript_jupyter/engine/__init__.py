"""The workflow engine: parse, validate and run Workscript workflows.

Pure core: it imports no Jupyter, tornado, database or network library (an import-linter contract
checks it). Nodes reach the outside world only through ``ctx.services``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .events import EVENT_TYPES, Event, EventBus, Listener
from .executor import Execution, copy_json, run_workflow
from .expressions import Expression, ExpressionError, compile_expression, evaluate
from .limits import DEFAULT_LIMITS, EngineLimits
from .model import SETTER, Jump, NodeStep, RetryPolicy, Workflow
from .node import Edge, Node, NodeContext, NodeMetadata, ParamSpec, RunEnded
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


def load_workflow(
    source: str | Mapping[str, Any],
    registry: NodeRegistry,
    *,
    limits: EngineLimits = DEFAULT_LIMITS,
) -> Workflow:
    """A runnable workflow from JSON/YAML text or an already-parsed document."""
    document = load_document(source) if isinstance(source, str) else source
    return parse_workflow(document, registry, limits=limits)
