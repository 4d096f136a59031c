"""``workscript run-notebook``, run as a user would: outputs, failure report, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def workscript(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workscript_jupyter.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
    )


def write_notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 1\nlabel = 'none'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(s) for s in sources)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_parameters_go_in_and_outputs_come_out_as_json(tmp_path):
    write_notebook(
        tmp_path / "nb.ipynb",
        "from workscript_jupyter import output\noutput('total', x * 2)\noutput('label', label)",
    )
    out = workscript(
        "run-notebook", "nb.ipynb", "-p", "x", "21", "-p", "label", "plain text",
        "--output", "runs/out.ipynb", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["outputs"] == {"total": 42, "label": "plain text"}
    assert (report["status"], report["executedPath"]) == ("completed", "runs/out.ipynb")
    assert (report["cellsDone"], report["cellsTotal"], report["error"]) == (3, 3, None)
    assert "completed" in out.stderr
    executed = nbformat.read(tmp_path / "runs" / "out.ipynb", as_version=4)
    assert executed.metadata["workscript"]["status"] == "completed"


def test_a_failing_cell_exits_1_with_the_report(tmp_path):
    write_notebook(
        tmp_path / "sub" / "bad.ipynb",
        "from workscript_jupyter import output\noutput('before', x)",
        "def boom():\n    raise ValueError('bad value ' + str(x))\nboom()",
        "output('after', 1)",
    )
    out = workscript("run-notebook", "sub/bad.ipynb", "-p", "x", "7", "--root", ".", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert (report["status"], report["outputs"]) == ("failed", {"before": 7})
    assert report["error"]["cellIndex"] == 3 and report["error"]["ename"] == "ValueError"
    err = out.stderr
    assert "notebook failed in cell 3 [cell_error]" in err
    assert "def boom():" in err  # the source head
    assert "ValueError: bad value 7" in err
    assert "Traceback" in err or "----> 3 boom()" in err
    assert "\x1b[" not in err  # no colours: stderr is not a terminal
    assert "Traceback (most recent call last):\n  File" not in err  # not a Python crash


def test_a_notebook_outside_the_root_is_a_usage_error(tmp_path):
    write_notebook(tmp_path / "nb.ipynb", "y = 1")
    (tmp_path / "root").mkdir()
    out = workscript("run-notebook", "nb.ipynb", "--root", "root", cwd=tmp_path)
    assert out.returncode == 2
    assert "outside the run root" in out.stderr
    assert "Traceback" not in out.stderr
    assert out.stdout == ""


def test_bad_command_lines_exit_2_without_traceback(tmp_path):
    write_notebook(tmp_path / "nb.ipynb", "y = 1")
    for args in (
        ("missing.ipynb",),
        ("nb.ipynb", "-p", "not-a-name", "1"),
        ("nb.ipynb", "--timeout", "0"),
        ("nb.ipynb", "--root", "nowhere"),
    ):
        out = workscript("run-notebook", *args, cwd=tmp_path)
        assert out.returncode == 2, (args, out.stderr)
        assert "workscript: error:" in out.stderr
        assert "Traceback" not in out.stderr


def test_run_notebook_runs_the_shipped_data_pipeline_example(tmp_path):
    """The CLI on notebooks/02-data-pipeline.ipynb (its %%workflow cells run headless too)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = tmp_path / "notebooks"
    shutil.copytree(Path(__file__).resolve().parent.parent / "notebooks", root)
    out = subprocess.run(
        [sys.executable, "-m", "workscript_jupyter.cli", "run-notebook",
         "02-data-pipeline.ipynb", "--root", "."],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "completed" in out.stderr and "4/4 cells" in out.stderr
    saved = list((root / ".workscript" / "runs").glob("02-data-pipeline-*.ipynb"))
    assert len(saved) == 1
