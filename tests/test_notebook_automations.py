"""notebooks/03-automations.ipynb runs headless against a real server and leaves nothing firing.

A real ``jupyter server`` (tests/scheduler/servers.py) on a temporary SQLite database serves a
temporary copy of notebooks/; it writes its runtime file into a temporary
``JUPYTER_RUNTIME_DIR``, which the notebook's kernel (started by nbclient, inheriting this
process's environment) reads to find it — as a kernel started by that server would.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .scheduler.servers import TOKEN, Server
from .test_notebooks import SUMMARY, WIDGET, html_of, outputs

ROOT = Path(__file__).resolve().parent.parent
NAME = "03-automations.ipynb"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Server, Path]]:
    folder = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", folder)
    for key in ("WORKSCRIPT_SERVER_URL", "WORKSCRIPT_TOKEN", "JUPYTERHUB_SERVICE_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    server = Server("notebook", f"sqlite:///{tmp_path / 'workscript.sqlite'}", folder, tmp_path)
    server.start()
    try:
        yield server, folder
    finally:
        server.stop()


def test_automations_notebook_schedules_watches_and_disables(served: tuple[Server, Path]) -> None:
    server, folder = served
    notebook = nbformat.read(folder / NAME, as_version=4)
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    for index, cell in enumerate(notebook.cells):
        for output in outputs(cell):
            assert output["output_type"] != "error", (index, output.get("evalue"))
            assert output.get("name") != "stderr", (index, output.get("text"))
            assert TOKEN not in str(output), index

    code = {c.source.split("\n")[0]: c for c in notebook.cells if c.cell_type == "code"}
    remote = next(c for first, c in code.items() if first.startswith("%%workflow --server"))
    assert any(WIDGET in o.get("data", {}) for o in outputs(remote))
    assert SUMMARY in html_of(remote) and "completed" in html_of(remote)
    assert "/workflow/0/notebook" in html_of(remote)
    result = outputs(code['remote.status, remote.state["notebookOutputs"]'])[0]
    assert result["data"]["text/plain"].startswith("('completed',")
    assert "'region': 'south'" in result["data"]["text/plain"]

    schedule = next(c for first, c in code.items() if first.startswith("%%workflow --schedule"))
    assert "Region report schedule" in html_of(schedule) and "every 10 seconds" in html_of(schedule)
    fired = next(c for first, c in code.items() if first == "import asyncio")
    assert outputs(fired)[-1]["data"]["text/plain"].startswith("('cron', 'completed', ")

    automations = server.get("automations").json()["items"]
    assert [a["name"] for a in automations] == ["Region report schedule"]
    assert automations[0]["enabled"] is False and automations[0]["nextRunAt"] is None
    workflows = server.get("workflows").json()["items"]
    assert [w["definition"]["id"] for w in workflows] == ["region-report"], "saved once"
    assert workflows[0]["definition"]["initialState"]["report"] == "reports/region-report.ipynb"
