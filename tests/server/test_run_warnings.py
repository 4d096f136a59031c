"""What went wrong is on the record (issue 13, item 14): an ``error`` edge that found no handler
is a ``warnings`` entry and a flag the Runs list filters on; a notebook automation whose
notebook is missing or fails fails its run, with the executed notebook's failure report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from .conftest import Api, document, server_config

FINAL = {"completed", "failed", "cancelled", "timed_out", "interrupted"}


async def _run(api: Api, *steps: Any) -> dict[str, Any]:
    started = await api.post("workflows", "run", json_body={"definition": document(*steps)})
    assert started.code in (200, 202), started.raw
    return await api.wait_for_status(started.body["executionId"], FINAL, timeout=30)


async def test_an_unhandled_error_edge_is_a_warning_the_list_filters_on(api: Api) -> None:
    warned = await _run(api, {"fetchApi": {}}, {"$.after": True})  # no url: its error edge
    plain = await _run(api, {"$.a": 1})
    assert warned["status"] == "completed"  # onUnhandledError "continue": the run goes on
    assert warned["finalState"]["after"] is True
    assert warned["hasWarnings"] is True
    (warning,) = warned["warnings"]
    assert warning["code"] == "UNHANDLED_ERROR_EDGE"
    assert warning["nodePath"] == "/workflow/0/fetchApi" and warning["nodeType"] == "fetchApi"
    assert "url" in warning["message"]
    assert plain["hasWarnings"] is False and plain["warnings"] == []

    with_warnings = await api.get("executions", params={"hasWarnings": "true"})
    assert [r["id"] for r in with_warnings.body["items"]] == [warned["id"]]
    assert with_warnings.body["items"][0]["warnings"] == warned["warnings"]
    without = await api.get("executions", params={"hasWarnings": "false"})
    assert [r["id"] for r in without.body["items"]] == [plain["id"]]
    everything = await api.get("executions")
    assert {r["id"] for r in everything.body["items"]} == {warned["id"], plain["id"]}

    bad = await api.get("executions", params={"hasWarnings": "maybe"})
    assert bad.code == 400, bad.raw
    assert "hasWarnings must be true or false" in bad.error["message"]


async def _notebook_automation(api: Api, path: str) -> dict[str, Any]:
    body = {"name": "report", "notebookPath": path, "triggerType": "manual"}
    created = await api.post("automations", json_body=body)
    assert created.code == 201, created.raw
    started = await api.post("automations", created.body["id"], "execute")
    assert started.code == 202, started.raw
    return await api.wait_for_status(started.body["id"], FINAL, timeout=90)


async def test_a_notebook_automation_whose_notebook_is_missing_fails(api: Api) -> None:
    run = await _notebook_automation(api, "reports/missing.ipynb")
    assert run["status"] == "failed", run
    error = run["error"]
    assert error["code"] == "UNHANDLED_ERROR_EDGE" and error["nodeType"] == "notebook"
    assert "missing.ipynb" in error["message"]


class TestAFailingNotebook:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url):
        return server_config(workscript_db_url, kernel_pool_size=1)

    async def test_its_run_fails_with_the_executed_notebooks_report(
        self, api: Api, jp_root_dir: Path
    ) -> None:
        cells = [new_code_cell("limit = 1", metadata={"tags": ["parameters"]})]
        cells += [new_code_cell("raise ValueError('the report has no rows')")]
        notebook = new_notebook(cells=cells)
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nbformat.write(notebook, jp_root_dir / "broken.ipynb")

        run = await _notebook_automation(api, "broken.ipynb")
        assert run["status"] == "failed", run
        error = run["error"]
        assert error["nodeType"] == "notebook"
        assert "the report has no rows" in error["message"]
        report = error["report"]  # the executed notebook's failure report
        assert report["status"] == "failed" and report["path"] == "broken.ipynb"
        assert report["executedPath"]
        assert "ValueError" in str(report["error"])
