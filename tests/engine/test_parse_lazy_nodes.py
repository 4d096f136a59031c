"""The registry the parser consults: built-in nodes registered by id and imported on first use,
plugins looked up only when a name is not built in (engine/registry.py, nodes/__init__.py)."""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import subprocess
import sys
import threading
from typing import Any

import pytest

import workscript_jupyter.engine.registry as registry_module
import workscript_jupyter.nodes as nodes_package
from workscript_jupyter.engine import Edge, Node, NodeContext, NodeMetadata, NodeRegistry
from workscript_jupyter.engine.parse import validate_workflow
from workscript_jupyter.errors import ConfigurationError, NodeNotFoundError
from workscript_jupyter.nodes import BUILTIN_INDEX, BUILTIN_NODES, builtin_registry


def make_node(node_id: str) -> type[Node]:
    class Custom(Node):
        metadata = NodeMetadata(id=node_id, name=node_id.title(), description="test node")

        async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
            return Edge("success")

    return Custom


def node_classes_defined_in_the_nodes_package() -> dict[str, type[Node]]:
    """Every Node class of workscript_jupyter/nodes/*.py, by id."""
    found: dict[str, type[Node]] = {}
    for info in pkgutil.iter_modules(nodes_package.__path__):
        module = importlib.import_module(f"{nodes_package.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, Node)
                and value.__module__ == module.__name__
                and isinstance(getattr(value, "metadata", None), NodeMetadata)
            ):
                found[value.metadata.id] = value
    return found


def test_the_index_names_every_node_class_of_the_package() -> None:
    """A node added to a module but not to BUILTIN_INDEX, or moved where the index does not
    find it, fails here (the index may name a module that re-exports the class)."""
    defined = node_classes_defined_in_the_nodes_package()
    assert sorted(defined) == sorted(BUILTIN_INDEX)
    for node_id, target in BUILTIN_INDEX.items():
        module, _, name = target.partition(":")
        found = getattr(importlib.import_module(f"{nodes_package.__name__}.{module}"), name)
        assert found is defined[node_id], node_id


def test_builtin_nodes_keeps_the_catalogue_order() -> None:
    assert [cls.metadata.id for cls in BUILTIN_NODES] == list(BUILTIN_INDEX)


def test_a_fresh_process_imports_no_node_module_until_a_node_is_used() -> None:
    probe = (
        "import sys\n"
        "from workscript_jupyter.nodes import builtin_registry\n"
        "r = builtin_registry(plugins=False)\n"
        "from workscript_jupyter.nodes import BUILTIN_INDEX\n"
        "assert 'math' in r and 'fetchApi' in r\n"
        "assert len(r) == len(BUILTIN_INDEX) + 1  # and the state setter\n"
        "def families():\n"
        "    prefix = 'workscript_jupyter.nodes.'\n"
        "    return sorted(m[len(prefix):] for m in sys.modules if m.startswith(prefix))\n"
        "print(families())\n"
        "r.get('math')\n"
        "print(families())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.splitlines()
    assert before == "[]"
    assert after == "['common', 'core', 'values']"  # math's family and its helpers only


def test_a_lazy_node_loads_once_and_answers_like_a_registered_one() -> None:
    loads: list[str] = []
    alpha = make_node("alpha")

    def load() -> type[Node]:
        loads.append("alpha")
        return alpha

    registry = NodeRegistry()
    registry.register_lazy("alpha", load)
    assert "alpha" in registry and list(registry) == ["alpha"] and len(registry) == 1
    assert loads == []
    node = registry.get("alpha")
    assert isinstance(node, alpha) and registry.get("alpha") is node
    assert [m.id for m in registry.metadata()] == ["alpha"]
    assert loads == ["alpha"]


def test_metadata_loads_every_lazy_node() -> None:
    registry = NodeRegistry([make_node("zeta")])
    registry.register_lazy("alpha", lambda: make_node("alpha"))
    assert [m.id for m in registry.metadata()] == ["alpha", "zeta"]


def test_a_lazy_node_whose_class_has_another_id_is_refused() -> None:
    registry = NodeRegistry()
    registry.register_lazy("alpha", lambda: make_node("beta"))
    with pytest.raises(ConfigurationError, match=r"registered as 'alpha'.*says 'beta'"):
        registry.get("alpha")


def test_ids_are_unique_across_lazy_and_loaded_nodes() -> None:
    registry = NodeRegistry([make_node("alpha")])
    with pytest.raises(ConfigurationError, match="already registered"):
        registry.register_lazy("alpha", lambda: make_node("alpha"))
    registry.register_lazy("beta", lambda: make_node("beta"))
    with pytest.raises(ConfigurationError, match="already registered"):
        registry.register(make_node("beta"))
    replacement = make_node("beta")
    registry.register(replacement, replace=True)
    assert isinstance(registry.get("beta"), replacement)
    with pytest.raises(ConfigurationError, match="cannot be a node id"):
        registry.register_lazy("loop...", lambda: make_node("x"))


def test_threads_asking_for_one_lazy_node_share_one_instance() -> None:
    registry = builtin_registry(plugins=False)
    barrier = threading.Barrier(8)
    found: list[Node] = []

    def ask() -> None:
        barrier.wait()
        found.append(registry.get("removeDuplicates"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and len({id(node) for node in found}) == 1


# -- plugins on demand --------------------------------------------------------------------------


class FakeEntryPoint:
    def __init__(self, name: str, target: Any) -> None:
        self.name = name
        self.value = f"pkg:{name}"
        self._target = target

    def load(self) -> Any:
        if isinstance(self._target, BaseException):
            raise self._target
        return self._target


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Installed plugins: "extra" and a broken one; the list records each scan."""
    done: list[str] = []

    def fake_entry_points(*, group: str) -> list[FakeEntryPoint]:
        done.append(group)
        return [
            FakeEntryPoint("extra", make_node("extra")),
            FakeEntryPoint("broken", ImportError("no module named pkg")),
        ]

    monkeypatch.setattr(registry_module, "entry_points", fake_entry_points)
    return done


def doc(*steps: Any) -> dict[str, Any]:
    return {"id": "wf", "name": "W", "version": "1.0.0", "workflow": list(steps)}


def test_a_builtin_only_workflow_never_scans_for_plugins(scans: list[str]) -> None:
    registry = builtin_registry(plugins_on_demand=True)
    assert validate_workflow(doc("log", {"math": {"operation": "add"}}), registry) == []
    assert registry.get("log") is registry.get("log")
    assert scans == []


@pytest.mark.parametrize(
    "ask",
    [
        lambda r: "extra" in r,
        lambda r: r.get("extra") is not None,
        lambda r: "extra" in list(r),
        lambda r: len(r) == len(BUILTIN_INDEX) + 2,  # the state setter, the plugin's node
        lambda r: "extra" in [m.id for m in r.metadata()],
        lambda r: validate_workflow(doc("extra"), r) == [],
    ],
    ids=["in", "get", "iter", "len", "metadata", "validate"],
)
def test_a_plugin_is_found_as_if_loaded_at_start(
    scans: list[str], caplog: pytest.LogCaptureFixture, ask: Any
) -> None:
    registry = builtin_registry(plugins_on_demand=True)
    with caplog.at_level(logging.WARNING, logger="workscript_jupyter.engine.registry"):
        assert ask(registry)
        assert ask(registry)
    assert scans == ["workscript_jupyter.nodes"]  # once
    assert "broken" in caplog.text and "no module named pkg" in caplog.text
    assert builtin_registry(plugins_on_demand=True).load_entry_points(on_demand=True) == []


def test_an_unknown_type_is_still_unknown_after_the_scan(scans: list[str]) -> None:
    registry = builtin_registry(plugins_on_demand=True)
    (issue,) = validate_workflow(doc("nope"), registry)
    assert issue.code == "NODE_TYPE_NOT_FOUND"
    with pytest.raises(NodeNotFoundError):
        registry.get("nope")
    assert scans == ["workscript_jupyter.nodes"]


def test_eager_plugins_are_loaded_at_once(scans: list[str]) -> None:
    builtin_registry()
    assert scans == ["workscript_jupyter.nodes"]
    builtin_registry(plugins=False)
    assert scans == ["workscript_jupyter.nodes"]


# -- the engine package's names, loaded on first use ---------------------------------------------


def test_every_name_of_the_engine_resolves_to_its_module() -> None:
    import workscript_jupyter.engine as engine

    homes = engine._HOMES
    assert sorted({*homes, "load_workflow", "DEFAULT_LIMITS", "EngineLimits"}) == sorted(
        engine.__all__
    )
    for name, home in homes.items():
        module = importlib.import_module(f"workscript_jupyter.engine.{home}")
        assert getattr(engine, name) is getattr(module, name), name
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = engine.nothing


def test_importing_the_parser_from_the_engine_leaves_the_executor_out() -> None:
    probe = (
        "import sys\n"
        "from workscript_jupyter.engine import validate_workflow, NodeRegistry\n"
        "print(sorted(m for m in sys.modules if m.startswith('workscript_jupyter.engine.')))\n"
        "print('asyncio' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    modules, asyncio_loaded = done.stdout.splitlines()
    assert "workscript_jupyter.engine.parse" in modules
    assert "executor" not in modules and "expressions" not in modules
    assert asyncio_loaded == "False"
