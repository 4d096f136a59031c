"""The wheel: built once, it ships what the package reads at run time (not only .py files)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow  # a wheel build


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    pytest.importorskip("hatchling", reason="ci-ok: hatchling is in the test extra")
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_ships_the_spec(wheel: zipfile.ZipFile) -> None:
    shipped = wheel.read("workscript_jupyter/server/openapi.yaml")
    assert shipped == (ROOT / "workscript_jupyter" / "server" / "openapi.yaml").read_bytes()


def test_the_wheel_ships_the_migration_scripts(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    scripts = "workscript_jupyter/store/migrations/"
    assert {
        scripts + "env.py",
        scripts + "script.py.mako",
        scripts + "versions/0001_initial.py",
        scripts + "versions/0003_run_list_indexes.py",
    } <= names


def test_the_wheel_ships_the_prebuilt_lab_extension(wheel: zipfile.ZipFile) -> None:
    # a pip install needs no Node: the built extension is data of the wheel, where Jupyter looks
    names = set(wheel.namelist())
    (data,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".data")}
    ext = f"{data}/data/share/jupyter/labextensions/workscript-jupyter-labextension/"
    assert {ext + "package.json", ext + "static/style.js", ext + "install.json"} <= names
    assert any(n.startswith(ext + "static/remoteEntry.") for n in names)
    shipped = json.loads(wheel.read(ext + "package.json"))
    assert shipped["name"] == "workscript-jupyter-labextension"
    # the name Jupyter is told in _jupyter_labextension_paths() is the one the wheel ships
    from workscript_jupyter import _jupyter_labextension_paths

    assert _jupyter_labextension_paths()[0]["dest"] == shipped["name"]
