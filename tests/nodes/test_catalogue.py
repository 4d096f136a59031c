"""Every node's metadata is complete and its example runs; docs/nodes.md is current."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from workscript_jupyter.engine import SETTER, Services, load_workflow, run_workflow
from workscript_jupyter.nodes import builtin_registry
from workscript_jupyter.nodes.catalogue import catalogue_markdown

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = builtin_registry(plugins=False)
CATALOGUE = REGISTRY.metadata()


def test_docs_nodes_md_is_current():
    expected = catalogue_markdown(CATALOGUE)
    current = (ROOT / "docs" / "nodes.md").read_text()
    assert current == expected, (
        "docs/nodes.md is stale: run `workscript nodes --markdown > docs/nodes.md`"
    )


@pytest.mark.parametrize("meta", CATALOGUE, ids=lambda m: m.id)
def test_metadata_is_complete(meta):
    assert meta.name and len(meta.description) >= 20, "a real description"
    assert meta.edges or meta.id == "end", "the edges a node can take"
    assert meta.example or not meta.inputs or all(not p.required for p in meta.inputs)
    names = [p.name for p in meta.inputs]
    assert len(names) == len(set(names)), "parameter names are unique"
    for param in meta.inputs:
        assert param.type and param.description, f"{param.name}: type and description"
        if param.choices and param.default is not None:
            assert param.default in param.choices, f"{param.name}: default among choices"
    required = {p.name for p in meta.inputs if p.required}
    if meta.id != SETTER:
        given = {k for k in meta.example if not k.endswith("?")}
        assert required <= given, f"the example sets every required parameter: {required - given}"


@pytest.mark.parametrize(
    "meta",
    [m for m in CATALOGUE if m.id not in ("fetchApi", "database")],  # need a server: own tests
    ids=lambda m: m.id,
)
def test_example_validates_and_runs(meta, tmp_path):
    step = dict(meta.example) if meta.id == SETTER else {meta.id: dict(meta.example)}
    document = {"id": "example", "name": "example", "version": "1.0.0", "workflow": [step]}
    workflow = load_workflow(document, REGISTRY)
    services = Services(root_dir=tmp_path)
    result = asyncio.run(run_workflow(workflow, REGISTRY, services=services))
    assert result.status in ("completed", "failed"), result.error
    if meta.id != "end":
        assert result.status == "completed", result.error
