"""The catalogue entries of the data and array nodes: complete metadata, examples that run."""

from __future__ import annotations

from typing import Any

import pytest

from workscript_jupyter.engine import Node
from workscript_jupyter.nodes import arrays, builtin_registry, data

NODES: tuple[type[Node], ...] = (*data.NODES, *arrays.NODES)

# State the examples read: rows under in.items, an order with lines, tags to work on.
EXAMPLE_STATE: dict[str, Any] = {
    "items": [
        {"name": "Ann", "email": "a@x.io", "score": 3, "region": "East", "sales": 10},
        {"name": "Bob", "email": "a@x.io", "score": 5, "region": "West", "sales": 5},
    ],
    "order": {"id": 1, "lines": [{"sku": "x"}, {"sku": "y"}]},
    "tags": ["a", "b", "a"],
}


def test_every_node_is_registered() -> None:
    registry = builtin_registry(plugins=False)
    ids = {
        "filter",
        "sort",
        "aggregate",
        "splitOut",
        "limit",
        "removeDuplicates",
        "summarize",
        "compareDatasets",
        "arrayUtilities",
    }
    assert {node.metadata.id for node in NODES} == ids
    for node_id in ids:
        assert registry.get(node_id) is not None


@pytest.mark.parametrize("node", NODES, ids=[n.metadata.id for n in NODES])
def test_metadata_is_complete(node: type[Node]) -> None:
    meta = node.metadata
    assert meta.description and meta.name and meta.category == "data"
    assert meta.outputs, "the state keys it writes"
    assert "error" in meta.edges
    for param in meta.inputs:
        assert param.type and param.description, param
        if param.choices and param.default is not None:
            assert param.default in param.choices, param
    edge_keys = [k for k in meta.example if k.endswith("?")]
    assert all(k[:-1] in meta.edges for k in edge_keys), edge_keys
    params = {p.name for p in meta.inputs}
    assert {k for k in meta.example if not k.endswith("?")} <= params


@pytest.mark.parametrize("node", NODES, ids=[n.metadata.id for n in NODES])
def test_example_runs_through_the_engine(node: type[Node], run: Any) -> None:
    meta = node.metadata
    document = {
        "id": "example",
        "name": "example",
        "version": "1.0.0",
        "initialState": EXAMPLE_STATE,
        "workflow": [{meta.id: dict(meta.example)}],
    }
    result = run(document)
    assert result.status == "completed", result.error
    first = result.timeline[0]
    assert first.type == meta.id
    assert first.edge in meta.edges and first.edge not in ("error", "empty", "no_matches")
    assert not result.warnings
    assert set(meta.outputs) & set(result.final_state), "writes its outputs"
