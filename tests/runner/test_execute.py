"""Running notebooks on real kernels: parameters, outputs, failures, timeouts, no kernel left."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from workscript_jupyter.errors import NotebookNotFoundError, NotebookPathError
from workscript_jupyter.runner import NotebookProgress, NotebookRun, run_notebook


def kernel_children() -> list[int]:
    """Live ipykernel_launcher processes started by this test process."""
    ps = subprocess.run(
        ["ps", "-o", "pid=,ppid=,stat=,args=", "-e"], capture_output=True, text=True, check=True
    )
    pids = []
    for line in ps.stdout.splitlines():
        pid, ppid, stat, args = line.split(None, 3)
        if int(ppid) == os.getpid() and "ipykernel_launcher" in args and not stat.startswith("Z"):
            pids.append(int(pid))
    return pids


@pytest.fixture
def root(tmp_path: Path):
    before = kernel_children()
    yield tmp_path
    assert kernel_children() == before, "a kernel process survived the run"


def write(root: Path, sources: list[str], name: str = "nb/test.ipynb", tagged: bool = True):
    cells: list[Any] = [new_markdown_cell("# test")]
    for i, src in enumerate(sources):
        tags = ["parameters"] if tagged and i == 0 else []
        cells.append(new_code_cell(src, metadata={"tags": tags}))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def run(root: Path, path: str = "nb/test.ipynb", **kwargs: Any) -> NotebookRun:
    return asyncio.run(run_notebook(path, root_dir=root, **kwargs))


PARAMS = {
    "s": "a 'b' \"c\"",
    "i": 7,
    "f": 2.5,
    "b": False,
    "n": None,
    "l": [1, [2, "x"]],
    "d": {"k": {"z": True}},
}


def test_parameters_land_as_python_values_and_outputs_come_back(root: Path) -> None:
    check = "\n".join(f"output({k!r}, [type({k}).__name__, {k}])" for k in PARAMS)
    write(
        root,
        [
            "s = i = f = b = n = l = d = 'default'",
            "from workscript_jupyter import output\n"
            + check
            + "\nimport os\noutput('cwd', os.getcwd())",
        ],
    )
    result = run(root, parameters=PARAMS)
    assert result.status == "completed", result.error
    expected_types = {
        "s": "str",
        "i": "int",
        "f": "float",
        "b": "bool",
        "n": "NoneType",
        "l": "list",
        "d": "dict",
    }
    for name, value in PARAMS.items():
        assert result.outputs[name] == [expected_types[name], value]
    assert result.outputs["cwd"] == str((root / "nb").resolve())
    assert result.cells_total == result.cells_done == 3  # the injected cell counts
    assert result.warnings == ()


def test_rerun_replaces_injected_cell_and_original_untouched(root: Path) -> None:
    path = write(root, ["x = 0", "from workscript_jupyter import output\noutput('x', x)"])
    original = path.read_bytes()
    first = run(root, parameters={"x": 1}, output_path="out/{stem}-{run_id}.ipynb", run_id="r1")
    assert first.executed_path == (root / "out/test-r1.ipynb").resolve()
    executed = nbformat.read(first.executed_path, as_version=4)
    nbformat.write(executed, path)  # run the executed copy again
    second = run(root, parameters={"x": 2})
    assert second.outputs == {"x": 2}
    again = nbformat.read(second.executed_path, as_version=4)
    injected = [c for c in again.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "x = 2" in injected[0].source
    nbformat.write(nbformat.reads(original.decode(), as_version=4), path)
    before = path.read_bytes()
    run(root, parameters={"x": 3})
    assert path.read_bytes() == before


def test_no_parameters_cell_injects_first_with_warning(root: Path) -> None:
    write(root, ["from workscript_jupyter import output\noutput('y', y)"], tagged=False)
    result = run(root, parameters={"y": "hi"})
    assert result.outputs == {"y": "hi"}
    assert result.warnings and "parameters" in result.warnings[0]
    saved = nbformat.read(result.executed_path, as_version=4)
    assert saved.cells[0].metadata["tags"] == ["injected-parameters"]
    assert saved.metadata["workscript"]["warnings"] == list(result.warnings)


def test_no_parameters_to_place_is_no_warning(root: Path) -> None:
    """A notebook step without parameters passes {}: nothing to place, nothing to warn about."""
    write(root, ["from workscript_jupyter import output\noutput('y', 1)"], tagged=False)
    result = run(root, parameters={})
    assert result.outputs == {"y": 1}
    assert result.warnings == ()


def test_saved_notebook_has_per_cell_metadata_and_progress(root: Path) -> None:
    write(root, ["a = 1", "b = 2", "c = 3"])
    events: list[NotebookProgress] = []
    result = run(root, on_progress=events.append, run_id="abc")
    assert [(e.cells_done, e.cells_total) for e in events] == [(1, 3), (2, 3), (3, 3)]
    assert all(e.run_id == "abc" and e.status == "completed" for e in events)
    saved = nbformat.read(result.executed_path, as_version=4)
    assert "abc" in result.executed_path.name
    assert saved.metadata["workscript"]["status"] == "completed"
    for cell in saved.cells[1:]:
        assert cell.metadata["workscript"]["status"] == "completed"
        assert cell.metadata["workscript"]["duration_ms"] >= 0


def test_failing_cell_reports_the_error_and_marks_the_cell(root: Path) -> None:
    write(root, ["x = 1", "def f():\n    raise ValueError('boom')\nf()", "never = 1"])
    events: list[NotebookProgress] = []
    result = run(root, on_progress=events.append)
    assert result.status == "failed" and result.error is not None
    err = result.error
    assert (err.kind, err.cell_index, err.ename, err.evalue) == (
        "cell_error",
        2,
        "ValueError",
        "boom",
    )
    assert err.source_head is not None and err.source_head.startswith("def f():")
    assert err.traceback is not None and "boom" in err.traceback and "\x1b" not in err.traceback
    assert result.cells_done == 1 and events[-1].status == "failed"
    saved = nbformat.read(result.executed_path, as_version=4)
    assert saved.cells[2].metadata["workscript"]["status"] == "failed"
    assert saved.cells[2].metadata["workscript"]["error"]["ename"] == "ValueError"
    assert "workscript" not in saved.cells[3].metadata
    assert saved.metadata["workscript"]["error"]["kind"] == "cell_error"


def test_sys_exit_is_a_cell_error(root: Path) -> None:
    write(root, ["import sys\nsys.exit(1)"])
    result = run(root)
    assert result.error is not None
    assert (result.error.kind, result.error.ename) == ("cell_error", "SystemExit")


def test_cell_timeout(root: Path) -> None:
    write(root, ["x = 1", "while True:\n    pass"])
    result = run(root, cell_timeout=1, timeout=60)
    assert result.error is not None and result.error.kind == "cell_timeout"
    assert result.error.cell_index == 2
    saved = nbformat.read(result.executed_path, as_version=4)
    assert saved.cells[2].metadata["workscript"]["status"] == "timeout"


def test_total_timeout_never_hangs(root: Path) -> None:
    write(root, ["import time\ntime.sleep(0.1)", "while True:\n    pass"])
    result = run(root, timeout=3)
    assert result.error is not None and result.error.kind == "timeout"
    assert result.error.cell_index == 2 and result.cells_done == 1
    assert result.duration_ms < 15_000


def test_kernel_killed_mid_run(root: Path) -> None:
    write(root, ["x = 1", "import os\nos.kill(os.getpid(), 9)", "y = 2"])
    result = run(root, timeout=60)
    assert result.error is not None and result.error.kind == "kernel_died"
    assert result.error.cell_index == 2


def test_kernel_start_timeout(root: Path) -> None:
    write(root, ["x = 1"])
    result = run(root, start_timeout=0.2)
    assert result.error is not None and result.error.kind == "kernel_start_timeout"
    assert result.error.cell_index is None and result.cells_done == 0


@pytest.mark.parametrize(
    "path", ["../outside.ipynb", "/etc/passwd", "nb/../../x.ipynb", "link/evil.ipynb"]
)
def test_path_escapes_refused(
    root: Path, tmp_path_factory: pytest.TempPathFactory, path: str
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    write(outside, ["x = 1"], name="evil.ipynb")
    (root / "link").symlink_to(outside)
    with pytest.raises(NotebookPathError):
        run(root, path)
    write(root, ["x = 1"])
    with pytest.raises(NotebookPathError):
        run(root, output_path="../{run_id}.ipynb")
    with pytest.raises(NotebookNotFoundError):
        run(root, "missing.ipynb")


def test_provided_kernel_manager_is_used_and_left_to_its_owner(root: Path) -> None:
    write(root, ["from workscript_jupyter import output\nimport os\noutput('cwd', os.getcwd())"])

    async def main() -> tuple[NotebookRun, bool]:
        km = AsyncKernelManager(kernel_name="python3")
        await km.start_kernel(cwd=str(root))
        try:
            result = await run_notebook("nb/test.ipynb", root_dir=root, kernel_manager=km)
            return result, await km.is_alive()
        finally:
            await km.shutdown_kernel(now=True)

    result, alive = asyncio.run(main())
    assert result.status == "completed" and alive
    assert result.outputs["cwd"] == str((root / "nb").resolve())
