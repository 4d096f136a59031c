"""The server extension's settings can be found as docs/server.md says (issue 13, item 16)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_server.extension.application import ExtensionApp

from tests.ci import in_ci
from workscript_jupyter.server.app import WorkscriptApp

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_workscript_settings_lists_every_trait_with_help_and_default() -> None:
    out = _run(sys.executable, "-m", "workscript_jupyter.cli", "settings", "--json")
    assert out.returncode == 0, out.stderr
    listed = {s["name"]: s for s in json.loads(out.stdout)}
    # its own settings and its trait groups' (accounts, AI), none of ExtensionApp's
    inherited = set(ExtensionApp.class_traits(config=True))
    own = set(WorkscriptApp.class_traits(config=True)) - inherited
    assert set(listed) == own
    assert {"jwt_secret", "openrouter_api_key", "ai_monthly_budget_usd"} <= set(listed)
    assert listed["ai_model_sync_interval"]["default"] == "(computed: see help)"
    assert listed["max_concurrent_runs"]["default"] == "4"
    assert listed["max_concurrent_runs"]["type"] == "Int"
    assert all(s["help"] for s in listed.values()), [n for n, s in listed.items() if not s["help"]]
    text = _run(sys.executable, "-m", "workscript_jupyter.cli", "settings")
    assert "c.WorkscriptApp.max_concurrent_runs = 4  (Int)" in text.stdout
    assert "How many runs this server executes at once" in text.stdout


def test_jupyter_workscript_help_all_shows_the_traits_as_documented() -> None:
    if shutil.which("jupyter-workscript") is None:
        message = "jupyter-workscript is not installed: pip install -e . again"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    out = _run("jupyter", "workscript", "--help-all")
    assert out.returncode == 0, out.stderr
    assert "--WorkscriptApp.max_concurrent_runs=<Int>" in out.stdout
    assert "How many runs this server executes at once" in out.stdout


def test_the_documented_command_is_the_one_that_works() -> None:
    server_md = (ROOT / "docs" / "server.md").read_text()
    assert "jupyter server --help-all | grep" not in server_md.replace("\n", " ")
    assert "`workscript settings`" in server_md
    assert "jupyter workscript --help-all" in server_md.replace("\n", " ")
