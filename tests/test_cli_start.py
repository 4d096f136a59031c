"""The CLI's start: a command imports what it needs and nothing else (issue: 2.5 s, then 0.6 s,
for a small validate). Each test runs the command in a fresh interpreter and reads the modules it
left loaded; none measures time (the machine is shared): the import budget is held by name."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "examples" / "hello.json"

# what neither `workscript validate` nor `workscript run` of a small workflow may import: the
# server and its web stack, the store, the runner and kernels, the libraries of nodes the
# workflow does not use, and the package scan of the plugin look-up
HEAVY = (
    "jupyter_server",
    "tornado",
    "jupyter_client",
    "nbclient",
    "nbformat",
    "zmq",
    "traitlets",
    "IPython",
    "ipykernel",
    "ipywidgets",
    "sqlalchemy",
    "alembic",
    "pymysql",
    "redis",
    "apscheduler",
    "httpx",
    "httpcore",
    "dateutil",
    "regex",
    "bcrypt",
    "jsonschema",
    "yaml",
    "importlib.metadata",
    "workscript_jupyter.server",
    "workscript_jupyter.service",
    "workscript_jupyter.store",
    # the runner's package is a table of names (runner/__init__.py); its modules are heavy
    "workscript_jupyter.runner.gateway",
    "workscript_jupyter.runner.execute",
    "workscript_jupyter.kernel",
    "workscript_jupyter.scheduler",
)
# the node modules hello.json needs (range, math, logic, log, end) and their helpers
HELLO_NODE_MODULES = {"core", "iterators", "common", "values"}


def loaded_by(*argv: str) -> tuple[int, str, set[str]]:
    """Run ``workscript ARGV`` in a fresh interpreter: its exit code, output and the modules it
    left in ``sys.modules`` (the last line the probe prints)."""
    probe = (
        "import json, sys\n"
        "from workscript_jupyter.cli import main\n"
        f"code = main({list(argv)!r})\n"
        "print(json.dumps(sorted(m for m, v in sys.modules.items() if v is not None)))\n"
        "raise SystemExit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    *output, modules = done.stdout.splitlines() or [""]
    assert modules.startswith("["), done.stdout + done.stderr[-2000:]
    return done.returncode, "\n".join(output) + done.stderr, set(json.loads(modules))


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(h for h in HEAVY if h in modules or any(m.startswith(h + ".") for m in modules))


def node_modules_in(modules: set[str]) -> set[str]:
    prefix = "workscript_jupyter.nodes."
    return {m.removeprefix(prefix) for m in modules if m.startswith(prefix)}


def test_validate_imports_no_heavy_package_and_no_node() -> None:
    code, output, modules = loaded_by("validate", str(HELLO))
    assert code == 0, output
    assert "valid" in output
    assert heavy_in(modules) == []
    # checking a workflow needs the node ids, never their implementations
    assert node_modules_in(modules) == set()
    assert "asyncio" not in modules  # nothing runs


def test_run_imports_the_nodes_it_uses_and_no_heavy_package() -> None:
    code, output, modules = loaded_by("run", "--quiet", str(HELLO))
    assert code == 0, output
    assert '"total": 6' in output
    assert heavy_in(modules) == []
    assert node_modules_in(modules) == HELLO_NODE_MODULES


def test_an_unknown_node_type_still_finds_the_plugins(tmp_path: Path) -> None:
    """The plugin scan is only put off: a node type that is not built in triggers it (and is
    then reported unknown, with the did-you-mean of the whole catalogue)."""
    workflow = tmp_path / "typo.json"
    workflow.write_text(
        json.dumps({"id": "t", "name": "T", "version": "1.0.0", "workflow": ["logg"]}),
        encoding="utf-8",
    )
    code, output, modules = loaded_by("validate", str(workflow))
    assert code == 2
    assert "unknown node type 'logg' (did you mean 'log'?) [NODE_TYPE_NOT_FOUND]" in output
    assert "importlib.metadata" in modules


@pytest.mark.skipif(
    importlib.util.find_spec("rfc3987_syntax") is None,
    reason="ci-ok: rfc3987_syntax is not installed, so nothing can import it",
)
def test_validate_does_not_build_the_rfc3987_grammar(tmp_path: Path) -> None:
    """jsonschema imports rfc3987_syntax (a Lark grammar built on import, ~1.4 s) only for the
    iri formats; the CLI keeps it out. jsonschema itself words the errors of an envelope the
    compiled check refuses, hence an invalid workflow here."""
    workflow = tmp_path / "no-name.json"
    workflow.write_text(
        json.dumps({"id": "x", "version": "1.0.0", "workflow": ["log"]}), encoding="utf-8"
    )
    code, output, modules = loaded_by("validate", str(workflow))
    assert code == 2
    assert "/name: missing required field 'name' [SCHEMA_VALIDATION_ERROR]" in output
    assert "jsonschema" in modules
    assert "rfc3987_syntax" not in modules


@pytest.mark.slow  # starts a kernel
def test_a_python_node_still_gets_its_kernel(tmp_path: Path) -> None:
    """The runner is imported when a python node first runs, not at start; the run's kernel
    is shut down at its end as before."""
    workflow = tmp_path / "py.json"
    steps = [{"python": {"code": "state['n'] = state['n'] * 7"}}, {"log": {"message": "{{$.n}}"}}]
    workflow.write_text(
        json.dumps(
            {
                "id": "p",
                "name": "P",
                "version": "1.0.0",
                "initialState": {"n": 6},
                "workflow": steps,
            }
        ),
        encoding="utf-8",
    )
    code, output, modules = loaded_by("run", "--quiet", "--root", str(tmp_path), str(workflow))
    assert code == 0, output
    assert '"n": 42' in output
    assert "workscript_jupyter.runner.gateway" in modules
