"""Fixtures of the notebook front end: an in-process IPython shell with the extension loaded."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from ipywidgets.widgets import widget as widget_module

from workscript_jupyter.engine import NodeRegistry, Workflow, load_workflow

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = "workscript_jupyter"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

# A failing run: the state before the failure is kept, the step after it never runs.
BROKEN = {
    "id": "broken",
    "name": "Parse bad JSON",
    "version": "1.0.0",
    "workflow": [
        {"$.before": "reached"},
        {"transform": {"operation": "parse", "data": "{not json"}},
        {"$.after": "never"},
    ],
}

# The quickstart's loop: 11 range runs, 10 math, 10 setters, 1 log = 32 node runs, total 55.
COUNT_TO_TEN = {
    "id": "count-to-ten",
    "name": "Count to ten",
    "version": "1.0.0",
    "initialState": {"total": 0},
    "workflow": [
        {
            "range...": {
                "start": 1,
                "stop": 11,
                "current_step?": [
                    {"math": {"operation": "add", "values": ["$.total", "$.rangeValue"]}},
                    {"$.total": "$.mathResult"},
                ],
            }
        },
        {"log": {"message": "the sum of 1..10 is {{$.total}}"}},
    ],
}


def document(steps: list[Any], **extra: Any) -> dict[str, Any]:
    """A valid workflow document around ``steps``."""
    return {"id": "t", "name": "T", "version": "1.0.0", "workflow": steps, **extra}


def waiting(seconds: float = 0.5) -> dict[str, Any]:
    """$.a = 1, wait, $.b = 2: a run that can be watched and cancelled while it waits."""
    return document([{"$.a": 1}, {"wait": {"seconds": seconds}}, {"$.b": 2}], id="waiting")


@pytest.fixture
def make_workflow(registry: NodeRegistry):
    def _make(doc: dict[str, Any]) -> Workflow:
        return load_workflow(doc, registry)

    return _make


@pytest.fixture(scope="session")
def bench_engine() -> Any:
    """bench/engine.py as a module (it is a script, not a package)."""
    path = ROOT / "bench" / "engine.py"
    spec = importlib.util.spec_from_file_location("workscript_bench_engine", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    """The IPython shell with ``%load_ext workscript_jupyter``; unloaded afterwards."""
    ip = InteractiveShell.instance()
    autoawait = ip.autoawait
    if EXTENSION in ip.extension_manager.loaded:
        ip.run_line_magic("unload_ext", EXTENSION)
    ip.run_line_magic("load_ext", EXTENSION)
    before = set(ip.user_ns)
    try:
        yield ip
    finally:
        ip.autoawait = autoawait
        if EXTENSION in ip.extension_manager.loaded:
            ip.run_line_magic("unload_ext", EXTENSION)
        for name in set(ip.user_ns) - before:
            ip.user_ns.pop(name, None)


@pytest.fixture
def magics(shell: InteractiveShell) -> Any:
    """The WorkscriptMagics instance the extension registered (it keeps ``runs``)."""
    from workscript_jupyter.kernel import _loaded

    return _loaded[id(shell)]


def widget_in(outputs: list[Any]) -> Any:
    """The widget displayed among captured outputs (the RunMonitor of a %%workflow cell)."""
    for output in outputs:
        view = output.data.get(WIDGET_MIME)
        if view is not None:
            return widget_module._instances[view["model_id"]]
    raise AssertionError(f"no widget among {len(outputs)} outputs")


def html_outputs(outputs: list[Any]) -> list[str]:
    return [o.data["text/html"] for o in outputs if "text/html" in o.data]
