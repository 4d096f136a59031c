"""The ``workscript`` command, run as a user would: exit codes, output, messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "examples" / "hello.json"


def workscript(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workscript_jupyter.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def write(tmp_path: Path, name: str, document: dict | str) -> str:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


def doc(*steps, **extra) -> dict:
    return {"id": "t", "name": "t", "version": "1.0.0", "workflow": list(steps), **extra}


def test_run_prints_the_final_state_and_exits_0():
    out = workscript("run", str(HELLO))
    assert out.returncode == 0, out.stderr
    state = json.loads(out.stdout)
    assert state["total"] == 6
    assert state["lastLoggedMessage"] == "hello world, the total is 6"
    assert "_edgeContext" not in state  # bookkeeping is for --json
    assert "[log] hello world, the total is 6" in out.stderr


def test_run_state_options_override_the_initial_state(tmp_path):
    state_file = write(tmp_path, "state.yaml", "who: file\nextra: {a: 1}\n")
    out = workscript(
        "run",
        str(HELLO),
        "--state-file",
        state_file,
        "-s",
        "who=Ada",
        "-s",
        "nested.deep=[1, 2]",
        "-s",
        "flag=true",
    )
    assert out.returncode == 0, out.stderr
    state = json.loads(out.stdout)
    assert state["who"] == "Ada"
    assert state["extra"] == {"a": 1}
    assert state["nested"] == {"deep": [1, 2]}
    assert state["flag"] is True


def test_run_json_prints_the_whole_result():
    out = workscript("run", str(HELLO), "--json", "--timeline")
    assert out.returncode == 0
    result = json.loads(out.stdout)
    assert result["status"] == "completed"
    assert result["workflowId"] == "hello"
    assert result["nodeRuns"] == len(result["timeline"]) == 12
    assert result["finalState"]["total"] == 6
    assert not {"_lastStateSet", "_edgeContext"} & set(result["finalState"])  # bookkeeping
    assert out.stderr == ""  # --json is for machines: nothing else on the terminal


def test_a_failed_run_exits_1_and_still_prints_its_state(tmp_path):
    path = write(
        tmp_path,
        "fail.json",
        doc(
            {"$.reached": True},
            {"transform": {"operation": "parse", "data": "{not json"}},
            {"$.after": True},
        ),
    )
    out = workscript("run", path)
    assert out.returncode == 1
    assert json.loads(out.stdout) == {"reached": True}
    assert "failed at /workflow/1/transform (transform)" in out.stderr
    assert "Traceback" not in out.stderr


def test_an_invalid_workflow_exits_2_with_every_error(tmp_path):
    path = write(tmp_path, "bad.json", doc({"mth": {}}, {"log": {"message": None}}, version="1"))
    out = workscript("run", path)
    assert out.returncode == 2
    assert "/version: version must look like 1.0.0" in out.stderr
    assert "/workflow/0: unknown node type 'mth' (did you mean 'math'?)" in out.stderr
    assert "/workflow/1/log/message: parameter 'message' is null" in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("m.json", '{"id": "x",', "not valid JSON: Expecting property name enclosed in double"),
        ("m.yaml", "id: [unclosed\n", "not valid YAML: "),
        ("m.json", "[1, 2]", "a workflow is an object, found list"),
        ("m.txt", '{"id": "x",', "invalid JSON at line 1"),  # no telling name: JSON, else YAML
        ("m.txt", "id: [unclosed\n", "invalid YAML at line"),
    ],
)
def test_a_malformed_file_says_where(tmp_path, name, content, message):
    out = workscript("validate", write(tmp_path, name, content))
    assert out.returncode == 2
    assert message in out.stdout + out.stderr
    assert "Traceback" not in out.stderr


def test_missing_file_and_bad_state_are_usage_errors(tmp_path):
    out = workscript("run", str(tmp_path / "nope.json"))
    assert out.returncode == 2
    assert "nope.json: no such file" in out.stderr
    out = workscript("run", str(HELLO), "--state", "novalue")
    assert out.returncode == 2
    assert "expected KEY=VALUE" in out.stderr
    assert "Traceback" not in out.stderr


def test_debug_shows_the_traceback(tmp_path):
    out = workscript("--debug", "run", str(tmp_path / "nope.json"))
    assert out.returncode != 0
    assert "Traceback" in out.stderr


def test_validate_reads_stdin_and_accepts_yaml():
    yaml_doc = "id: y\nname: y\nversion: 1.0.0\nworkflow:\n  - log: {message: hi}\n"
    out = workscript("validate", "-", stdin=yaml_doc)
    assert out.returncode == 0
    assert "valid" in out.stdout
    out = workscript("validate", "--json", "-", stdin='{"id": "y"}')
    assert out.returncode == 2
    report = json.loads(out.stdout)
    assert report["valid"] is False
    assert {
        "path": "/name",
        "message": "missing required field 'name'",
        "code": "SCHEMA_VALIDATION_ERROR",
    } in report["errors"]


def test_nodes_lists_the_catalogue():
    out = workscript("nodes")
    assert out.returncode == 0
    ids = [line.split()[0] for line in out.stdout.splitlines()]
    for expected in (
        "math",
        "logic",
        "transform",
        "log",
        "empty",
        "end",
        "wait",
        "range",
        "every-array-item",
        "while",
        "__state_setter__",
    ):
        assert expected in ids
    catalogue = json.loads(workscript("nodes", "--json").stdout)
    math = next(node for node in catalogue if node["id"] == "math")
    assert math["edges"] == ["success", "error"]
    assert {p["name"] for p in math["inputs"]} == {"operation", "values"}
    assert math["example"]["operation"] == "add"


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "workscript"
    assert script.exists(), "pip install -e . installs the workscript command"
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "run" in out.stdout and "validate" in out.stdout


def test_progress_is_drawn_on_a_terminal(tmp_path):
    """On a TTY, stderr shows a live status line and a closing summary."""
    import os
    import pty

    path = write(
        tmp_path,
        "slow.json",
        doc(
            {"range...": {"stop": 3, "current_step?": [{"wait": {"seconds": 0.15}}]}},
        ),
    )
    main_fd, child_fd = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "workscript_jupyter.cli", "run", path],
        stdout=subprocess.PIPE,
        stderr=child_fd,
        cwd=ROOT,
    )
    os.close(child_fd)
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(main_fd)
    screen = b"".join(chunks).decode()
    assert process.returncode == 0
    assert "node runs" in screen and "/workflow/0/range..." in screen
    assert "■ completed · 7 node runs" in screen
