"""The node registry: built-in nodes plus third-party ones from an entry point group."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from typing import Any

from ..errors import ConfigurationError, NodeNotFoundError
from .node import Node, NodeMetadata

__all__ = ["ENTRY_POINT_GROUP", "NodeRegistry"]

ENTRY_POINT_GROUP = "workscript_jupyter.nodes"
log = logging.getLogger(__name__)


class NodeRegistry:
    """Node types by id. One instance of each node class is shared by every run."""

    def __init__(self, nodes: Iterable[type[Node]] = ()) -> None:
        self._nodes: dict[str, Node] = {}
        for node_cls in nodes:
            self.register(node_cls)

    def register(self, node_cls: type[Node], *, replace: bool = False) -> None:
        meta = getattr(node_cls, "metadata", None)
        if not isinstance(meta, NodeMetadata):
            raise ConfigurationError(f"{node_cls!r} has no NodeMetadata in .metadata")
        if not meta.id or meta.id.endswith(("...", "?")) or meta.id.startswith("$."):
            raise ConfigurationError(f"{meta.id!r} cannot be a node id")
        if meta.id in self._nodes and not replace:
            raise ConfigurationError(f"a node with id {meta.id!r} is already registered")
        self._nodes[meta.id] = node_cls()

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[str]:
        """Register the node classes advertised by installed packages; return their ids.

        An entry point may name a Node class or a callable returning node classes. A broken
        plugin is logged and skipped: it must not take the built-in catalogue down with it.
        """
        loaded: list[str] = []
        for ep in entry_points(group=group):
            try:
                target: Any = ep.load()
                classes = [target] if isinstance(target, type) else list(target())
                for node_cls in classes:
                    self.register(node_cls)
                    loaded.append(node_cls.metadata.id)  # type: ignore[union-attr]
            except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, not fatal
                log.warning("node plugin %s (%s) could not be loaded: %s", ep.name, ep.value, exc)
        return loaded

    def get(self, node_type: str) -> Node:
        try:
            return self._nodes[node_type]
        except KeyError:
            raise NodeNotFoundError(node_type) from None

    def __contains__(self, node_type: object) -> bool:
        return node_type in self._nodes

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._nodes))

    def __len__(self) -> int:
        return len(self._nodes)

    def metadata(self) -> list[NodeMetadata]:
        return [self._nodes[i].metadata for i in sorted(self._nodes)]
