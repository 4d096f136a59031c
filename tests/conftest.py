"""Shared fixtures and the suite's rules.

- Services (MariaDB, Redis, Chromium) skip when absent, but fail in CI (``tests/ci.py``).
- In CI every skip is a failure unless its reason starts with ``ci-ok:``; xfail stays allowed.
- Jupyter's and IPython's data, config and runtime folders point into a temporary folder for
  the whole session (subprocesses inherit them): no test writes ``~/.local/share/jupyter``.
- ``slow`` marks the tests of ``SLOW_MODULES`` / ``SLOW_TESTS`` and those that need MariaDB or
  Redis (``pytest -m "not slow"`` is the quick loop).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

import pytest

from workscript_jupyter.engine import NodeRegistry, RunResult, load_workflow, run_workflow
from workscript_jupyter.nodes import builtin_registry

pytest.register_assert_rewrite("tests.ci")  # it is a plugin too (below)

from .ci import require  # noqa: E402

# tests.ci: the CI skip rule; pytester: the tests of that rule run a pytest of their own
pytest_plugins = ("pytest_jupyter.jupyter_server", "tests.ci", "pytester")

# Jupyter/IPython folders a test could write through a library default; each goes to the temp
# folder of the session. (pytest-jupyter's server fixtures point them at their own per test.)
_PRIVATE_DIRS = {
    "JUPYTER_DATA_DIR": "data",
    "JUPYTER_CONFIG_DIR": "config",
    "JUPYTER_RUNTIME_DIR": "runtime",
    "IPYTHONDIR": "ipython",
}
_session_home: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _session_home
    _session_home = Path(tempfile.mkdtemp(prefix="workscript-tests-home-"))
    for variable, folder in _PRIVATE_DIRS.items():
        os.environ[variable] = str(_session_home / folder)
    os.environ.pop("JUPYTER_PREFER_ENV_PATH", None)
    # at exit, after IPython's own atexit (registered later, so run earlier) saved its history
    atexit.register(shutil.rmtree, _session_home, ignore_errors=True)


# -- slow tests ------------------------------------------------------------------------------
# ``pytest -m "not slow"`` (the edit loop, docs/development.md) leaves these out; CI runs all.
# A whole module, or one test (its name without parameters). tests/test_ci_rules.py checks that
# every entry still names a test.
SLOW_MODULES = frozenset(
    {
        "tests/browser/test_quickstart_browser.py",  # JupyterLab + Chromium
        "tests/scheduler/test_multi_server.py",  # several server processes, a real clock
        "tests/scheduler/test_workers.py",  # a server process and worker processes
        "tests/test_architecture.py",  # mypy, ruff, import-linter over the whole tree
        "tests/test_notebooks.py",  # the example notebooks on real kernels
        "tests/test_notebook_automations.py",
        "tests/test_cli.py",  # each test runs `workscript` as a subprocess (~2 s apiece)
        "tests/test_cli_documents.py",
        "tests/test_cli_first_use.py",
        "tests/test_cli_limits.py",
        "tests/test_settings_help.py",
        "tests/store/test_migrations.py",  # the migration CLI as subprocesses
        "tests/store/test_fault.py",  # a private MariaDB server
        "tests/server/test_notebook_runs.py",  # kernels
        "tests/test_cli_notebook.py",  # `workscript run-notebook` subprocesses and kernels
        "tests/runner/test_execute.py",  # real kernels, timeouts that must expire
        "tests/runner_pool/test_pool.py",
    }
)
SLOW_TESTS = frozenset(
    {
        "tests/server/test_automation_overlap.py::test_queue_runs_every_tick_one_after_the_other",
        "tests/server/test_automation_overlap.py::test_skip_records_the_ticks_that_found_a_run_going",
        "tests/server/test_automation_overlap.py::test_allow_lets_runs_overlap",
        "tests/server/test_rest_automations.py::test_a_cron_automation_fires_every_second",
        "tests/scheduler/test_leader.py::test_a_killed_leader_hands_the_lock_over",
        "tests/scheduler/test_leader.py::test_a_silent_server_makes_calls_fail_fast_and_warn_once",
        "tests/server/test_health.py::test_extension_is_listed_as_ok",  # `jupyter server ...`
        "tests/kernel/test_server_magics.py::test_discovery_takes_the_environment_first",
        "tests/server/test_state_limits.py::test_a_doubling_list_fails_and_a_get_is_answered_meanwhile",
        "tests/server/test_hostile_patterns.py::test_a_get_is_answered_while_a_catastrophic_pattern_runs",
        "tests/server/test_automation_events.py::test_each_fire_is_announced_on_the_automations_channel",
        "tests/service/test_pool_stress.py::test_a_thousand_runs_from_32_clients_end_final_with_the_pool_idle",
    }
)
SERVICE_MARKERS = ("mysql", "redis")  # the quick loop needs neither MariaDB nor Redis


SERVICE_FIXTURES = frozenset({"mysql_url", "redis_url"})
# Modules that start Jupyter kernels. jupyter_client picks free TCP ports per process, so two
# processes starting kernels at the same moment can pick the same port ("Address already in
# use"): under pytest-xdist they all run in one worker.
KERNEL_MODULES = frozenset(
    {
        "tests/browser/test_quickstart_browser.py",
        "tests/kernel/test_magics.py",
        "tests/kernel/test_server_magics.py",
        "tests/nodes/test_notebook_nodes.py",
        "tests/runner/test_execute.py",
        "tests/runner/test_kernel_env.py",
        "tests/runner/test_remote_kernels.py",
        "tests/runner_pool/test_pool.py",
        "tests/server/test_notebook_runs.py",
        "tests/server/test_run_warnings.py",
        "tests/server/test_shared_server.py",
        "tests/test_cli_first_use.py",
        "tests/test_cli_notebook.py",
        "tests/test_notebook_automations.py",
        "tests/test_notebooks.py",
    }
)


HUB_TESTS = "tests/hub/"
TEST_WORKERS = 2  # two cores here; more workers only fight over them


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject's addopts): two workers for the suite or a folder of it, none
    (this process) when only files or single tests are named — a worker's start costs more than
    such a run. ``-n N`` on the command line overrides."""
    named = [str(arg) for arg in config.args]
    if named and all(arg.split("::", 1)[0].endswith(".py") for arg in named):
        return 0
    return min(TEST_WORKERS, os.cpu_count() or 1)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    for item in items:
        module = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        name = item.nodeid.split("[", 1)[0]
        params = item.nodeid.partition("[")[2]
        needs_service = any(item.get_closest_marker(m) for m in SERVICE_MARKERS) or any(
            backend in params for backend in ("mysql", "mariadb", "redis")
        )
        if module in SLOW_MODULES or name in SLOW_TESTS or needs_service:
            item.add_marker(pytest.mark.slow)
        if module.startswith(HUB_TESTS):
            # a hub of their own each: their own MariaDB database (so their own GET_LOCK names),
            # ports and folders, no Redis; they need not wait for the other services tests
            item.add_marker(pytest.mark.xdist_group("hub"))
        elif needs_service or SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            # MariaDB databases, GET_LOCK names and Redis keys are shared by the whole machine:
            # under pytest-xdist every test that touches them runs in one worker, in order
            item.add_marker(pytest.mark.xdist_group("services"))
        elif module in KERNEL_MODULES:
            item.add_marker(pytest.mark.xdist_group("kernels"))
        else:
            item.add_marker(pytest.mark.xdist_group(module))  # a module's tests stay together


def require_service(name: str, host: str, port: int) -> None:
    """Skip the test when ``name`` is not listening; in CI a missing service is a failure."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return
    except OSError as exc:
        require(
            False, f"{name} is not reachable on {host}:{port} ({exc})", fix=".ci/run must start it"
        )


@pytest.fixture(scope="session")
def registry() -> NodeRegistry:
    return builtin_registry(plugins=False)


@pytest.fixture
def run(registry: NodeRegistry):
    """``run(document, state=None, **options)`` → RunResult, on a fresh event loop."""

    def _run(document: Any, state: dict[str, Any] | None = None, **options: Any) -> RunResult:
        workflow = load_workflow(document, registry)
        return asyncio.run(run_workflow(workflow, registry, state, **options))

    return _run


@pytest.fixture
def mysql_url() -> str:
    host = os.environ.get("DB_HOST", "127.0.0.1")
    port = int(os.environ.get("DB_PORT", "3306"))
    require_service("MariaDB/MySQL", host, port)
    user = os.environ.get("DB_USER", "root")
    password = os.environ.get("DB_PASSWORD", "")
    name = os.environ.get("DB_NAME", "test")
    return f"mysql+pymysql://{user}:{password}@{host}:{port}/{name}?charset=utf8mb4"


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    require_service("Redis", "127.0.0.1", 6379)
    return url


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the head once per session. A test copies it (``sqlite_store``)
    rather than migrating its own: migrating takes longer than most tests that need a store."""
    from workscript_jupyter.store import migrate

    path = tmp_path_factory.mktemp("migrated") / "workscript.sqlite"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_store(tmp_path: Path, migrated_sqlite: Path) -> Any:
    """A SqlStore on a fresh copy of the migrated file (``tmp_path / "store.sqlite"``)."""
    from workscript_jupyter.store.sql import SqlStore

    shutil.copyfile(migrated_sqlite, tmp_path / "store.sqlite")
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield store
    store.close()
