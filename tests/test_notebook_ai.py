"""notebooks/04-ai-and-resources.ipynb runs headless against a real server whose AI provider is
the OpenRouter stand-in (tests/standins/openrouter.py), as it runs against OpenRouter with a key.

The server (tests/scheduler/servers.py) inherits this process's environment: the stand-in's
key and base URL reach it as ``OPENROUTER_API_KEY`` / ``OPENROUTER_BASE_URL``, as they would
reach a real ``jupyter lab``. The model is one of the stand-in's catalogue, so it is priced.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .scheduler.servers import TOKEN, Server
from .standins.openrouter import OpenRouterStandIn
from .test_notebooks import SUMMARY, html_of, outputs

ROOT = Path(__file__).resolve().parent.parent
NAME = "04-ai-and-resources.ipynb"
MODEL = "openai/gpt-4o"


@pytest.fixture
def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Server, Path, OpenRouterStandIn]]:
    folder = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", folder)
    for key in ("WORKSCRIPT_SERVER_URL", "WORKSCRIPT_TOKEN", "JUPYTERHUB_SERVICE_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    with OpenRouterStandIn() as stand_in:
        monkeypatch.setenv("OPENROUTER_API_KEY", stand_in.key)
        monkeypatch.setenv("OPENROUTER_BASE_URL", stand_in.base_url)
        monkeypatch.setenv("WORKSCRIPT_AI_MODEL", MODEL)
        server = Server("ai", f"sqlite:///{tmp_path / 'workscript.sqlite'}", folder, tmp_path)
        server.start()
        try:
            yield server, folder, stand_in
        finally:
            server.stop()


def test_ai_notebook_stores_a_prompt_asks_the_model_and_shows_the_cost(
    served: tuple[Server, Path, OpenRouterStandIn],
) -> None:
    server, folder, stand_in = served
    notebook = nbformat.read(folder / NAME, as_version=4)
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    for index, cell in enumerate(notebook.cells):
        for output in outputs(cell):
            assert output["output_type"] != "error", (index, output.get("evalue"))
            assert output.get("name") != "stderr", (index, output.get("text"))
            assert TOKEN not in str(output) and stand_in.key not in str(output), index

    code = {c.source.split("\n")[0]: c for c in notebook.cells if c.cell_type == "code"}

    def result(first_line: str) -> str:
        return str(outputs(code[first_line])[-1]["data"]["text/plain"])

    # the prompt resource was filled from the state and sent: the stand-in echoes it
    completions = [r["body"] for r in stand_in.requests if r["body"]]  # not GET /models
    asked = [body["messages"][-1]["content"] for body in completions]
    assert any("for a data team." in text and "nightly import" in text for text in asked), asked
    assert any("for executives." in text for text in asked), asked
    assert [body["model"] for body in completions] == [MODEL] * 3

    summary = next(
        c for first, c in code.items() if first.startswith("%%workflow --server --name summary")
    )
    assert SUMMARY in html_of(summary) and "completed" in html_of(summary)
    assert result('summary.status, summary.state["aiResponse"]').startswith("('completed', '")

    ticket = result('extracted.status, extracted.state["aiResponseData"]["json"]')
    assert ticket.startswith("('completed', {") and "'priority'" in ticket and "'tags'" in ticket

    parent = result(
        'child = server.request("GET", f"executions/{parent.state[\'runWorkflowExecutionId\']}")'
    )
    assert parent.startswith("('completed', True, '"), parent

    usage = result('usage = server.request("GET", "ai/usage", params={"by": "model"})')
    # three completions (summary, ticket, the child's summary), priced from the catalogue
    assert usage.startswith(f"[('{MODEL}', 3, ") and not usage.endswith(", 0.0)]"), usage
    paths = result('sorted(item["path"] for item in server.request("GET", "resources")["items"])')
    assert paths == "['answers/summary.md', 'prompts/summary.md']"
    saved = {w["definition"]["id"] for w in server.get("workflows").json()["items"]}
    assert saved == {"summarize-for-audience", "extract-ticket", "summaries-for-two-audiences"}
