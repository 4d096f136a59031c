"""What a node is: its metadata, the context it runs in, and the edge it returns.

A node is a class with a ``metadata`` and an ``async execute(ctx, params)``. It reads its resolved
parameters and ``ctx.inputs``, writes what it produces into ``ctx.state``, and returns the edge it
took (``Edge("success", data)``) or None. Raising any exception takes the ``error`` edge.
Nodes are stateless and shared by every run: what must survive between visits of a loop lives in
``ctx.memory``, which the engine resets when the loop is entered again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Final

from ..errors import NodeExecutionError, NodeParameterError
from .events import Event, Listener
from .schema import type_name

__all__ = [
    "Edge",
    "FallbackEdge",
    "Node",
    "NodeContext",
    "NodeMetadata",
    "ParamSpec",
    "RunEnded",
    "parameter_error",
]

_log = logging.getLogger("workscript.run")


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter of a node, for the catalogue and the docs."""

    name: str
    type: str
    description: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()

    def accepts(self, value: Any, *, strict: bool = True) -> bool:
        """Whether ``value`` is of the declared ``type`` (``string``, ``number[]``,
        ``string|object``...; an unknown type accepts anything). Not ``strict``: only a list or
        an object where none is declared (or a scalar where one is) is refused."""
        return any(_matches(kind, value, strict) for kind in self.type.split("|"))

    def expected(self) -> str:
        """The declared type in words: ``number[]`` → ``an array of numbers``."""
        return " or ".join(_in_words(kind) for kind in self.type.split("|"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "required": self.required,
        }
        if self.default is not None:
            out["default"] = self.default
        if self.choices:
            out["choices"] = list(self.choices)
        return out


@dataclass(frozen=True, slots=True)
class NodeMetadata:
    id: str
    name: str
    description: str
    version: str = "1.0.0"
    category: str = "core"
    inputs: tuple[ParamSpec, ...] = ()
    outputs: tuple[str, ...] = ()
    edges: tuple[str, ...] = ()
    example: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "category": self.category,
            "description": self.description,
            "inputs": [p.to_dict() for p in self.inputs],
            "outputs": list(self.outputs),
            "edges": list(self.edges),
            "example": dict(self.example),
        }


class Edge:
    """The edge a node took, with the data handed to the nodes it leads to. Treat it as
    immutable. A plain slotted class rather than a frozen dataclass: every node run builds
    one, and a frozen dataclass's ``__init__`` (``object.__setattr__`` per field) costs three
    times as much."""

    __slots__ = ("data", "name")

    def __init__(self, name: str, data: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.data = data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Edge):
            return NotImplemented
        return self.name == other.name and self.data == other.data

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Edge(name={self.name!r}, data={self.data!r})"


class FallbackEdge(Edge):
    """An edge a workflow may or may not configure, that must not pass unnoticed when it does
    not: taken as ``error`` (with the same data) by a step without it. A Google node's
    ``not_found`` / ``permission_denied`` / ``quota_exceeded`` are such edges: a workflow that
    branches on them gets them, one that only has ``error?`` gets its error edge, and one with
    neither gets the unhandled-error warning instead of a silent next step."""

    __slots__ = ()


class RunEnded(Exception):
    """Raised by the ``end`` node: the run stops at once with this status."""

    def __init__(self, status: str, message: str = "") -> None:
        super().__init__(message or status)
        self.status = status
        self.message = message


class NodeContext:
    """Everything a node may touch while it runs.

    ``inputs`` (the state overlaid with the data of the edge that led here) and ``memory`` are
    built on first use: most nodes read neither, and a node run should cost next to nothing.
    """

    __slots__ = (
        "_edge_data",
        "_inputs",
        "_memory_store",
        "execution_id",
        "node_id",
        "node_path",
        "node_type",
        "on_event",
        "on_log",
        "services",
        "state",
        "workflow_id",
    )

    def __init__(
        self,
        state: dict[str, Any],
        *,
        node_id: str,
        node_type: str,
        node_path: str,
        workflow_id: str = "",
        execution_id: str = "",
        edge_data: Mapping[str, Any] | None = None,
        memory_store: dict[str, dict[str, Any]] | None = None,
        services: Any = None,
        on_log: Callable[[str], None] | None = None,
        on_event: Listener | None = None,
    ) -> None:
        self.state = state
        self.node_id = node_id
        self.node_type = node_type
        self.node_path = node_path
        self.workflow_id = workflow_id
        self.execution_id = execution_id
        self.services = services
        self.on_log = on_log
        self.on_event = on_event
        self._edge_data = edge_data
        self._inputs: Mapping[str, Any] | None = None
        self._memory_store = memory_store

    @property
    def inputs(self) -> Mapping[str, Any]:
        """The state overlaid with the edge data that led here; edge data wins."""
        if self._inputs is None:
            if self._edge_data:
                self._inputs = {**self.state, **self._edge_data}
            else:
                self._inputs = MappingProxyType(self.state)
        return self._inputs

    @property
    def memory(self) -> dict[str, Any]:
        """Private to this node in this run; reset when the enclosing loop is entered again."""
        if self._memory_store is None:
            self._memory_store = {}
        return self._memory_store.setdefault(self.node_path, {})

    def log(self, message: str) -> None:
        """A message for the run's log (the CLI shows it; the server keeps it)."""
        if _log.isEnabledFor(logging.INFO):
            _log.info("%s %s", self.node_path, message)
        if self.on_log is not None:
            self.on_log(message)

    def progress(self, done: int, total: int | None = None, **detail: Any) -> None:
        """How far a long node is (``done`` of ``total`` units, e.g. notebook cells), as a
        ``node:progress`` event; nothing is built when nobody listens."""
        emit = self.on_event
        if emit is not None:
            payload = {
                "nodePath": self.node_path,
                "nodeType": self.node_type,
                "done": done,
                "total": total,
                **detail,
            }
            emit(Event("node:progress", self.execution_id, self.workflow_id, payload))


class Node:
    """Base class of every node. Subclasses set ``metadata`` and implement ``execute``."""

    metadata: ClassVar[NodeMetadata]

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge | None:
        raise NotImplementedError(f"node {type(self).__name__} does not implement execute")


# -- declared parameter types ---------------------------------------------------------------------

_SCALARS: Final[dict[str, Callable[[Any], bool]]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, Mapping),
    "array": lambda v: isinstance(v, (list, tuple)),
}
_WORDS: Final = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "any": "any value",
}


def _matches(kind: str, value: Any, strict: bool) -> bool:
    kind = kind.strip()
    if kind.endswith("[]"):
        if not isinstance(value, (list, tuple)):
            return False
        item = kind[:-2]
        return not strict or all(_matches(item, v, strict) for v in value)
    check = _SCALARS.get(kind)
    if check is None:
        return True  # "any", or a type this check does not know
    if strict:
        return check(value)
    container = isinstance(value, (Mapping, list, tuple))
    return container == (kind in ("object", "array")) and (not container or check(value))


def _in_words(kind: str) -> str:
    kind = kind.strip()
    if kind.endswith("[]"):
        item = kind[:-2]
        if item in ("any", ""):
            return "an array"
        words = _WORDS.get(item, item).split(" ", 1)[-1]
        return f"an array of {words}s"
    return _WORDS.get(kind, kind)


def _preview(value: Any) -> str:
    if isinstance(value, Mapping):
        return f"an object with {len(value)} key(s)"
    if isinstance(value, (list, tuple)):
        return f"an array of {len(value)} item(s)"
    if isinstance(value, str) and len(value) > 60:
        value = value[:57] + "..."
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return type(value).__name__


def parameter_error(
    metadata: NodeMetadata, params: Mapping[str, Any], exc: Exception, *, node_path: str
) -> NodeExecutionError | None:
    """Python's own error escaping a node (``'int' object is not subscriptable``), reworded.

    When a parameter is not of its declared type, the message names it, what was expected and
    what came (a list or an object where none belongs first, then any other mismatch);
    otherwise it names the node and the Python error. A ``ValueError`` without such a
    parameter is the node's own message: None (keep it).
    """
    cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    node = f"node {metadata.id!r} at {node_path}"
    for strict in (False, True):
        for spec in metadata.inputs:
            if spec.name not in params or spec.accepts(params[spec.name], strict=strict):
                continue
            value = params[spec.name]
            received = type_name(value)
            shown = _preview(value)
            got = received if shown.startswith(received) else f"{received}: {shown}"
            return NodeParameterError(
                f"parameter {spec.name!r} of {node} must be {spec.expected()}, got {got} ({cause})",
                node_path=node_path,
                node_type=metadata.id,
                parameter=spec.name,
                expected=spec.type,
                received=received,
            )
    if isinstance(exc, ValueError):
        return None
    return NodeExecutionError(f"{node} failed: {cause}", node_path=node_path, node_type=metadata.id)
