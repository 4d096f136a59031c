"""What a new user meets first on the command line (issue 13, item 17).

The file's name decides its parser; ``validate --json`` always answers JSON; a stored workflow's
id is not mistaken for a missing file without saying how to run it; ``run-notebook`` prints a
report; the engine's bookkeeping keys never reach what a user sees.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from tests.test_cli import HELLO, doc, workscript, write
from workscript_jupyter.engine import parse_workflow
from workscript_jupyter.engine.visible_state import INTERNAL_KEYS, visible_state
from workscript_jupyter.kernel.handle import RunHandle
from workscript_jupyter.kernel.summary import summary_html
from workscript_jupyter.nodes import builtin_registry

YAML_ONLY = "id: y\nname: y\nversion: 1.0.0\nworkflow:\n  - log: {message: hi}\n"


def test_a_json_file_must_be_json_even_when_it_is_valid_yaml(tmp_path: Path) -> None:
    as_json = write(tmp_path, "flow.json", YAML_ONLY)
    for command in ("run", "validate"):
        out = workscript(command, as_json)
        assert out.returncode == 2, (command, out.stdout, out.stderr)
        shown = out.stdout + out.stderr  # validate reports on stdout, run on stderr
        assert f"{as_json}: not valid JSON: Expecting value (line 1, column 1)" in shown
        assert "Traceback" not in out.stderr
    # the same text under a YAML name, or on stdin, reads as YAML
    assert workscript("validate", write(tmp_path, "flow.yaml", YAML_ONLY)).returncode == 0
    assert workscript("validate", write(tmp_path, "flow.yml", YAML_ONLY)).returncode == 0
    assert workscript("validate", "-", stdin=YAML_ONLY).returncode == 0
    # and JSON text is YAML too
    as_yaml = write(tmp_path, "j.yaml", json.dumps(doc({"log": {"message": "x"}})))
    assert workscript("validate", as_yaml).returncode == 0


def test_a_state_file_follows_the_same_rule(tmp_path: Path) -> None:
    state = write(tmp_path, "state.json", "who: Ada\n")
    out = workscript("run", str(HELLO), "--state-file", state)
    assert out.returncode == 2
    assert "state.json: not valid JSON" in out.stderr
    state = write(tmp_path, "state.yaml", "who: Ada\n")
    out = workscript("run", str(HELLO), "--state-file", state, "-q")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["who"] == "Ada"


def test_validate_json_prints_the_error_object_when_the_file_does_not_parse(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "broken.json", '{"id": "x",')
    out = workscript("validate", "--json", path)
    assert out.returncode == 2
    report = json.loads(out.stdout)
    assert report["valid"] is False
    [error] = report["errors"]
    assert error["code"] == "PARSE_ERROR"
    assert error["message"].startswith(f"{path}: not valid JSON: ")
    assert "(line 1, column 12)" in error["message"]
    # a file that is not there: the same shape
    out = workscript("validate", "--json", str(tmp_path / "missing.json"))
    assert out.returncode == 2
    [error] = json.loads(out.stdout)["errors"]
    assert error["code"] == "USAGE_ERROR" and "no such file" in error["message"]


def test_run_with_a_stored_workflows_id_says_how_to_run_one(tmp_path: Path) -> None:
    out = workscript("run", "daily-report")
    assert out.returncode == 2
    assert "no file named 'daily-report'" in out.stderr
    assert "POST /workscript/workflows/daily-report/run" in out.stderr
    assert "404" not in out.stderr and "Traceback" not in out.stderr
    out = workscript("run", str(tmp_path / "nope.json"))  # clearly a file name: plain
    assert "nope.json: no such file" in out.stderr and "REST" not in out.stderr


def test_run_notebook_prints_a_report_not_an_empty_object(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("y = 1 + 1")]  # no output() calls
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, tmp_path / "plain.ipynb")
    out = workscript(
        "run-notebook", str(tmp_path / "plain.ipynb"), "--root", str(tmp_path),
        "--output", "done/{stem}.ipynb",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["status"] == "completed"
    assert report["outputs"] == {}
    assert report["executedPath"] == "done/plain.ipynb"
    assert (tmp_path / "done" / "plain.ipynb").is_file()
    assert (report["cellsDone"], report["cellsTotal"], report["error"]) == (1, 1, None)
    assert report["kernel"] == "python3" and report["runId"]


# -- the engine's bookkeeping stays out of what a user sees -----------------------------------

BOOKKEPT = doc(
    {"$._mine": "a user's own key"},
    {"logic": {"operation": "equal", "values": [1, 1], "true?": {"$.seen": True}}},
    {"log": {"message": "done"}},
)


def test_the_cli_never_prints_internal_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "keys.json", BOOKKEPT)
    plain = json.loads(workscript("run", path, "-q").stdout)
    whole = json.loads(workscript("run", path, "--json", "--timeline").stdout)
    for state in (plain, whole["finalState"]):
        assert not INTERNAL_KEYS & set(state), state
        assert state["_mine"] == "a user's own key"  # a user's _ key is the user's
        assert state["seen"] is True


def test_the_kernel_handle_and_summary_never_show_internal_keys() -> None:
    registry = builtin_registry()
    handle = RunHandle(parse_workflow(BOOKKEPT, registry), registry).start()  # no loop: runs
    assert handle.done()
    assert set(handle.result().final_state) >= INTERNAL_KEYS  # the engine still keeps them
    assert not INTERNAL_KEYS & set(handle.state)
    assert handle.state["_mine"] == "a user's own key"
    html = summary_html(handle.workflow, handle.result())
    assert "_lastStateSet" not in html and "_edgeContext" not in html
    assert "_mine" in html
    assert visible_state(None) is None
