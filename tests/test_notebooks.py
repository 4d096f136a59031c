"""The example notebooks run headless on a real kernel, without an error, and keep a summary."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
# these need a workscript server: tests/test_notebook_automations.py and test_notebook_ai.py
# start one and run them
SERVER_NOTEBOOKS = ["03-automations.ipynb", "04-ai-and-resources.ipynb"]
NOTEBOOKS = sorted(
    p for p in (ROOT / "notebooks").glob("*.ipynb") if p.name not in SERVER_NOTEBOOKS
)
SUMMARY = "workscript-run-summary"
WIDGET = "application/vnd.jupyter.widget-view+json"


def execute(name: str, tmp_path: Path) -> nbformat.NotebookNode:
    folder = tmp_path / "notebooks"
    shutil.copytree(
        ROOT / "notebooks", folder
    )  # the data set travels with it; the repo stays clean
    notebook = nbformat.read(folder / name, as_version=4)
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return notebook


def outputs(cell: nbformat.NotebookNode) -> list[dict]:
    return list(cell.get("outputs", []))


def html_of(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in outputs(cell))


def test_there_are_two_example_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["01-quickstart.ipynb", "02-data-pipeline.ipynb"]


def test_the_notebooks_that_need_a_server_are_the_listed_ones():
    every = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert every == sorted([p.name for p in NOTEBOOKS] + SERVER_NOTEBOOKS)
    assert (ROOT / "tests" / "test_notebook_automations.py").is_file()
    assert (ROOT / "tests" / "test_notebook_ai.py").is_file()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_without_error_output(path, tmp_path):
    notebook = execute(path.name, tmp_path)
    for index, cell in enumerate(notebook.cells):
        for output in outputs(cell):
            assert output["output_type"] != "error", (index, output.get("evalue"))
            assert output.get("name") != "stderr", (index, output.get("text"))


def test_quickstart_leaves_widgets_and_static_summaries(tmp_path):
    notebook = execute("01-quickstart.ipynb", tmp_path)
    workflow_cells = [c for c in notebook.cells if c.source.startswith("%%workflow")]
    assert len(workflow_cells) == 4
    shown = [c for c in workflow_cells if "--quiet" not in c.source]
    for cell in shown:
        assert any(WIDGET in o.get("data", {}) for o in outputs(cell)), cell.source[:40]
        assert SUMMARY in html_of(cell), "the static summary a saved notebook shows"
    first = html_of(shown[0])
    assert "completed" in first and "32 node runs" in first
    assert "/workflow/0/range..." in first  # the node table, one row per path
    failed = next(c for c in shown if "broken" in c.source)
    assert "failed" in html_of(failed)
    assert "/workflow/1/transform" in html_of(failed)
    quiet = next(c for c in workflow_cells if "--quiet" in c.source)
    assert not any(WIDGET in o.get("data", {}) for o in outputs(quiet))
    assert "completed" in html_of(quiet)
    checks = {c.source.split("\n")[0]: c for c in notebook.cells if c.cell_type == "code"}
    counter = checks['counter.status, counter.state["total"], len(counter.timeline)']
    assert outputs(counter)[0]["data"]["text/plain"] == "('completed', 55, 32)"


def test_data_pipeline_summarises_the_shipped_data(tmp_path):
    notebook = execute("02-data-pipeline.ipynb", tmp_path)
    printed = "".join(
        o.get("text", "")
        for c in notebook.cells
        for o in outputs(c)
        if o["output_type"] == "stream"
    )
    regions = {line.split(":")[0].strip() for line in printed.strip().splitlines()}
    assert regions == {"north", "south", "east", "west"}
    assert "orders" in printed and "units" in printed
