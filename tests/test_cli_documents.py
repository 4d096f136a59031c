"""Deep or odd JSON and YAML given to the ``workscript`` command (issue 13, item 3): exit 2 with
a one-line message naming the place, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEEP = "[" * 10_000 + "]" * 10_000
ONE_STEP = {"id": "t", "name": "t", "version": "1.0.0", "workflow": [{"$.done": True}]}
BOMB = "\n".join(
    [
        'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
        *(
            f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "id: t",
    ]
)


def workscript(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workscript_jupyter.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def _refused(out: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert "Traceback" not in out.stderr
    for text in expected:
        assert text in out.stderr, out.stderr


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("deep.json", DEEP, "nested more than 128 levels deep at line 1 column 129"),
        ("deep-in-object.json", '{"id": ' + DEEP + "}", "at line 1 column 135"),
        ("nan.json", '{"id": "t", "x": NaN}', "NaN is not a JSON number"),
        ("deep.yaml", "a: " + DEEP, "nested more than 128 levels deep"),
        ("bomb.yaml", BOMB, "its aliases expand to more than 1,000,000 values"),
        ("loop.yaml", "a: &a [*a]\n", "an alias refers to itself"),
        ("inf.yaml", "id: t\nx: .inf\n", ".inf is not a JSON number"),
    ],
)
def test_a_workflow_file_over_a_limit_is_refused(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text)
    _refused(workscript("run", str(path)), expected)
    out = workscript("validate", "--json", str(path))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert expected in json.loads(out.stdout)["errors"][0]["message"]


def test_deep_json_on_stdin_is_refused():
    _refused(workscript("run", "-", stdin=DEEP), "<stdin>: nested more than 128 levels deep")


def test_a_state_option_over_a_limit_is_refused(tmp_path):
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(ONE_STEP))
    out = workscript("run", str(path), "--state", f"x={DEEP}")
    _refused(out, "--state x: nested more than 128 levels deep at line 1 column 129")
    assert len(out.stderr.strip().splitlines()) == 1
    _refused(workscript("run", str(path), "--state", "x=-Infinity"), "-Infinity is not a JSON")
    plain = workscript("run", str(path), "--state", "x=[1, 2]", "--state", "y=hello")
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout) == {"x": [1, 2], "y": "hello", "done": True}


def test_a_state_file_over_a_limit_is_refused(tmp_path):
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps(ONE_STEP))
    state = tmp_path / "state.json"
    state.write_text('{"x": ' + DEEP + "}")
    _refused(workscript("run", str(flow), "--state-file", str(state)), "nested more than 128")
