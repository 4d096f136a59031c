"""The built-in node catalogue, one module per family."""

from __future__ import annotations

from ..engine import Node, NodeRegistry
from ..engine.setter import StateSetter
from . import (
    arrays,
    branching,
    crypto,
    data,
    database,
    dates,
    files,
    http,
    notebook,
    objects,
    text,
    validation,
)
from .core import EmptyNode, EndNode, LogicNode, LogNode, MathNode, TransformNode, WaitNode
from .iterators import EveryArrayItemNode, RangeNode, WhileNode

__all__ = ["BUILTIN_NODES", "builtin_registry"]

BUILTIN_NODES: tuple[type[Node], ...] = (
    MathNode,
    LogicNode,
    TransformNode,
    LogNode,
    EmptyNode,
    EndNode,
    WaitNode,
    RangeNode,
    EveryArrayItemNode,
    WhileNode,
    *data.NODES,
    *arrays.NODES,
    *text.NODES,
    *objects.NODES,
    *dates.NODES,
    *validation.NODES,
    *branching.NODES,
    *crypto.NODES,
    *http.NODES,
    *files.NODES,
    *database.NODES,
    *notebook.NODES,
)


def builtin_registry(*, plugins: bool = True) -> NodeRegistry:
    """A registry with every built-in node, plus installed plugins unless ``plugins=False``.

    The state setter is listed for the catalogue; the engine runs it whatever the registry holds.
    """
    registry = NodeRegistry((*BUILTIN_NODES, StateSetter))
    if plugins:
        registry.load_entry_points()
    return registry
