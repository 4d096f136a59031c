"""The node registry: built-in nodes plus third-party ones from an entry point group.

A node can be registered as a class, or by its id alone with a loader that imports the class on
first use (``register_lazy``): validating a workflow needs only the ids, and a run only the
classes of the nodes it holds, so neither imports the libraries of the other nodes (HTTP
clients, date parsers...). Entry point plugins can likewise be looked up only when a name is not
registered (``load_entry_points(on_demand=True)``): scanning the installed packages costs tens
of milliseconds, which a command checking a built-in-only workflow should not pay.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import ConfigurationError, NodeNotFoundError
from .node import Node, NodeMetadata

__all__ = ["ENTRY_POINT_GROUP", "NodeLoader", "NodeRegistry", "entry_points"]

ENTRY_POINT_GROUP = "workscript_jupyter.nodes"
log = logging.getLogger(__name__)

NodeLoader = Callable[[], type[Node]]
"""Imports and returns one node class (``register_lazy``)."""


def entry_points(*, group: str) -> Any:
    """``importlib.metadata.entry_points(group=...)``, imported when first needed (the import
    alone costs ~50 ms); a module attribute, so that tests can put fakes in its place."""
    from importlib.metadata import entry_points as installed

    return installed(group=group)


class NodeRegistry:
    """Node types by id. One instance of each node class is shared by every run."""

    def __init__(self, nodes: Iterable[type[Node]] = ()) -> None:
        self._nodes: dict[str, Node] = {}
        self._lazy: dict[str, NodeLoader] = {}
        # sources of nodes still to load, on demand: entry-point groups, the plugins' nodes
        self._deferred: list[Callable[[NodeRegistry], object]] = []
        self._loading = threading.RLock()  # two threads may ask for the same lazy node at once
        for node_cls in nodes:
            self.register(node_cls)

    def register(self, node_cls: type[Node], *, replace: bool = False) -> None:
        meta = _metadata(node_cls)
        _check_id(meta.id)
        if (meta.id in self._nodes or meta.id in self._lazy) and not replace:
            raise ConfigurationError(f"a node with id {meta.id!r} is already registered")
        self._nodes[meta.id] = node_cls()
        self._lazy.pop(meta.id, None)  # replaced before it was ever loaded

    def register_lazy(self, node_id: str, load: NodeLoader) -> None:
        """Register ``node_id`` now and import its class on first ``get`` (or ``metadata``).

        The loaded class must carry this id; a class that does not is a ConfigurationError
        then.
        """
        _check_id(node_id)
        if node_id in self._nodes or node_id in self._lazy:
            raise ConfigurationError(f"a node with id {node_id!r} is already registered")
        self._lazy[node_id] = load

    def load_entry_points(
        self, group: str = ENTRY_POINT_GROUP, *, on_demand: bool = False
    ) -> list[str]:
        """Register the node classes advertised by installed packages; return their ids.

        An entry point may name a Node class or a callable returning node classes. A broken
        plugin is logged and skipped: it must not take the built-in catalogue down with it.
        ``on_demand``: load them only when a look-up misses or the whole catalogue is asked
        for (returns ``[]`` now); the nodes found are the same, since a plugin can never
        replace a registered node.
        """
        if on_demand:
            self.defer(lambda registry: registry.load_entry_points(group))
            return []
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
            pass
        if node_type not in self._lazy:
            self._load_plugins()
        if node_type in self._lazy:
            self._load(node_type)
        try:
            return self._nodes[node_type]
        except KeyError:
            raise NodeNotFoundError(node_type) from None

    def __contains__(self, node_type: object) -> bool:
        if node_type in self._nodes or node_type in self._lazy:
            return True
        if not self._deferred:
            return False
        self._load_plugins()
        return node_type in self._nodes or node_type in self._lazy

    def __iter__(self) -> Iterator[str]:
        self._load_plugins()
        return iter(sorted({*self._nodes, *self._lazy}))

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._nodes) + len(self._lazy)

    def metadata(self) -> list[NodeMetadata]:
        self._load_plugins()
        for node_id in list(self._lazy):
            self._load(node_id)
        return [self._nodes[i].metadata for i in sorted(self._nodes)]

    def _load(self, node_id: str) -> None:
        with self._loading:
            load = self._lazy.get(node_id)
            if load is None:  # loaded meanwhile by another thread
                return
            node_cls = load()
            found = _metadata(node_cls).id
            if found != node_id:
                raise ConfigurationError(
                    f"{node_cls!r} was registered as {node_id!r} but its metadata says {found!r}"
                )
            # in _nodes before it leaves _lazy: another thread always finds the id in one
            self._nodes[node_id] = node_cls()
            del self._lazy[node_id]

    def defer(self, source: Callable[[NodeRegistry], object]) -> None:
        """Have ``source(self)`` register its nodes the first time a look-up misses or the
        whole catalogue is asked for (never when every node asked for is already known)."""
        with self._loading:
            self._deferred.append(source)

    def _load_plugins(self) -> None:
        """Run the sources left for later, once each (a second thread waits for the first)."""
        if not self._deferred:
            return
        with self._loading:
            while self._deferred:
                self._deferred.pop(0)(self)


def _metadata(node_cls: type[Node]) -> NodeMetadata:
    meta = getattr(node_cls, "metadata", None)
    if not isinstance(meta, NodeMetadata):
        raise ConfigurationError(f"{node_cls!r} has no NodeMetadata in .metadata")
    return meta


def _check_id(node_id: str) -> None:
    if not node_id or node_id.endswith(("...", "?")) or node_id.startswith("$."):
        raise ConfigurationError(f"{node_id!r} cannot be a node id")
