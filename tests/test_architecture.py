"""Static checks that keep the architecture of DESIGN.md visible: layers, style, types."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.lint


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def _check(*command: str) -> None:
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"{' '.join(command)} failed:\n{out.stdout}\n{out.stderr}"


def test_import_layers_hold():
    """errors <- engine <- nodes|runner|store <- auth|scheduler <- service <- server|kernel|cli."""
    _check(_tool("lint-imports"), "--no-cache")


def test_ruff_is_clean():
    _check(_tool("ruff"), "check", ".")
    _check(_tool("ruff"), "format", "--check", ".")


def test_mypy_is_clean_and_strict_on_the_engine():
    _check(sys.executable, "-m", "mypy")


def test_import_linter_catches_a_broken_layer(tmp_path):
    """The contract is live: an engine module importing the server breaks it."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    assert layers[-2:] == ["engine", "errors"]
    package = tmp_path / "workscript_jupyter"
    shutil.copytree(ROOT / "workscript_jupyter", package)
    (package / "engine" / "bad.py").write_text("from ..server import app  # noqa\n")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    out = subprocess.run(
        [_tool("lint-imports"), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode != 0
    assert "BROKEN" in out.stdout.upper()


def _notebook(path: Path, source: str) -> None:
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(notebook, path)


def test_ruff_lints_the_notebooks_and_skips_run_outputs(tmp_path):
    """``ruff check .`` covers every notebook of the repo, and never the executed copies that
    runs leave under ``.workscript/`` (also outside a git checkout, where .gitignore is moot)."""
    shown = subprocess.run(
        [_tool("ruff"), "check", "--show-files", "."],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    ).stdout  # fmt: skip
    for notebook in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        if ".workscript" not in notebook.parts:
            assert str(notebook) in shown, f"ruff does not lint {notebook}"
    bad = "import os\nx = 1  " + "#" * 120 + "\n"  # F401, E501, I001
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    _notebook(tmp_path / ".workscript" / "runs" / "report-run.ipynb", bad)
    _notebook(tmp_path / "notebooks" / ".workscript" / "runs" / "report-run.ipynb", bad)
    _notebook(tmp_path / "tests" / "artifacts" / "executed.ipynb", bad)
    _check(_tool("ruff"), "check", str(tmp_path))
    _notebook(tmp_path / "notebooks" / "reports" / "new.ipynb", bad)  # a notebook is linted
    out = subprocess.run(
        [_tool("ruff"), "check", "."], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert out.returncode != 0 and "new.ipynb" in out.stdout, out.stdout
