"""The node registry and its entry point plugins."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import workscript_jupyter.engine.registry as registry_module
from workscript_jupyter.engine import Edge, Node, NodeContext, NodeMetadata, NodeRegistry
from workscript_jupyter.engine.registry import ENTRY_POINT_GROUP
from workscript_jupyter.errors import ConfigurationError, NodeNotFoundError
from workscript_jupyter.nodes import BUILTIN_NODES, builtin_registry


def make_node(node_id: str) -> type[Node]:
    class Custom(Node):
        metadata = NodeMetadata(id=node_id, name=node_id.title(), description="test node")

        async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
            return Edge("success")

    Custom.__name__ = f"Custom_{node_id}"
    return Custom


def test_register_and_get() -> None:
    registry = NodeRegistry()
    node_cls = make_node("alpha")
    registry.register(node_cls)
    node = registry.get("alpha")
    assert isinstance(node, node_cls)
    assert registry.get("alpha") is node  # one shared instance
    assert "alpha" in registry
    assert "beta" not in registry
    assert len(registry) == 1


def test_constructor_registers_and_iterates_sorted() -> None:
    registry = NodeRegistry([make_node("zeta"), make_node("alpha"), make_node("mid")])
    assert list(registry) == ["alpha", "mid", "zeta"]
    assert [m.id for m in registry.metadata()] == ["alpha", "mid", "zeta"]


def test_duplicate_id_refused() -> None:
    registry = NodeRegistry([make_node("alpha")])
    first = registry.get("alpha")
    with pytest.raises(ConfigurationError, match="'alpha' is already registered"):
        registry.register(make_node("alpha"))
    assert registry.get("alpha") is first


def test_replace_allows_duplicate() -> None:
    registry = NodeRegistry([make_node("alpha")])
    replacement = make_node("alpha")
    registry.register(replacement, replace=True)
    assert isinstance(registry.get("alpha"), replacement)
    assert len(registry) == 1


def test_missing_metadata_refused() -> None:
    class NoMeta(Node):
        pass

    with pytest.raises(ConfigurationError, match="has no NodeMetadata"):
        NodeRegistry().register(NoMeta)


def test_metadata_of_wrong_type_refused() -> None:
    class DictMeta(Node):
        metadata = {"id": "x"}  # type: ignore[assignment]

    registry = NodeRegistry()
    with pytest.raises(ConfigurationError):
        registry.register(DictMeta)
    assert len(registry) == 0


@pytest.mark.parametrize("bad_id", ["", "loop...", "edge?", "$.state"])
def test_bad_ids_refused(bad_id: str) -> None:
    registry = NodeRegistry()
    with pytest.raises(ConfigurationError, match="cannot be a node id"):
        registry.register(make_node(bad_id))
    assert len(registry) == 0


def test_get_unknown() -> None:
    registry = NodeRegistry()
    with pytest.raises(NodeNotFoundError) as info:
        registry.get("ghost")
    assert isinstance(info.value, LookupError)
    assert info.value.node_type == "ghost"
    assert info.value.code == "NODE_TYPE_NOT_FOUND"
    assert str(info.value) == "no node of type 'ghost' is registered"


def test_builtin_registry() -> None:
    registry = builtin_registry(plugins=False)
    expected = {
        "math",
        "logic",
        "transform",
        "log",
        "empty",
        "end",
        "wait",
        "range",
        "every-array-item",
        "while",
        "__state_setter__",
    }
    assert expected <= set(registry)
    assert len(BUILTIN_NODES) == len(set(registry)) - 1  # the setter is the engine's own


# -- entry points -------------------------------------------------------------------------------


class FakeEntryPoint:
    def __init__(self, name: str, value: str, target: Any) -> None:
        self.name = name
        self.value = value
        self._target = target

    def load(self) -> Any:
        if isinstance(self._target, BaseException):
            raise self._target
        return self._target


def test_load_entry_points(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    groups: list[str] = []
    good = make_node("plugin-one")
    pair = (make_node("plugin-two"), make_node("plugin-three"))
    fakes = [
        FakeEntryPoint("one", "pkg.one:Node", good),
        FakeEntryPoint("broken", "pkg.broken:Node", ImportError("no module named pkg.broken")),
        FakeEntryPoint("many", "pkg.many:nodes", lambda: list(pair)),
    ]

    def fake_entry_points(*, group: str) -> list[FakeEntryPoint]:
        groups.append(group)
        return fakes

    monkeypatch.setattr(registry_module, "entry_points", fake_entry_points)
    registry = NodeRegistry([make_node("builtin")])
    with caplog.at_level(logging.WARNING, logger="workscript_jupyter.engine.registry"):
        loaded = registry.load_entry_points()
    assert groups == [ENTRY_POINT_GROUP] == ["workscript_jupyter.nodes"]
    assert loaded == ["plugin-one", "plugin-two", "plugin-three"]
    assert list(registry) == ["builtin", "plugin-one", "plugin-three", "plugin-two"]
    assert isinstance(registry.get("plugin-one"), good)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "broken" in message and "pkg.broken:Node" in message
    assert "no module named pkg.broken" in message


def test_plugin_duplicating_a_builtin_is_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(
        registry_module,
        "entry_points",
        lambda *, group: [FakeEntryPoint("dup", "pkg:Math", make_node("math"))],
    )
    registry = builtin_registry(plugins=False)
    original = registry.get("math")
    with caplog.at_level(logging.WARNING, logger="workscript_jupyter.engine.registry"):
        assert registry.load_entry_points() == []
    assert registry.get("math") is original
    assert "already registered" in caplog.text


def test_builtin_registry_loads_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        registry_module,
        "entry_points",
        lambda *, group: [FakeEntryPoint("x", "pkg:X", make_node("extra"))],
    )
    assert "extra" in builtin_registry()
    assert "extra" not in builtin_registry(plugins=False)


def test_the_catalogue_has_every_node_of_the_language_outside_services() -> None:
    """WORKFLOW-LANGUAGE.md §6, less the nodes that need AI, Google, resources, other
    workflows, notebooks or kernels (they come with their own issues)."""
    catalogue = {
        "math", "logic", "transform", "log", "empty", "filter", "sort", "aggregate", "splitOut",
        "limit", "removeDuplicates", "arrayUtilities", "every-array-item", "range", "while",
        "editFields", "summarize", "transformObject", "jsonExtract", "stringOperations",
        "extractText", "fetchApi", "compareDatasets", "switch", "calculateField",
        "mathOperations", "dateTime", "validateData", "objectUtilities", "filesystem",
        "database", "auth", "end", "wait",
    }  # fmt: skip
    assert catalogue - set(builtin_registry(plugins=False)) == set()
