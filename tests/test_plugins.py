"""Plugins without a server: loading, checks, migrations, nodes, hooks and health.

Real packages, not fakes of ``importlib.metadata``: ``examples/plugin`` is installed by pip
(``--target`` a temporary folder put on ``sys.path``, so the test venv stays as it was), and the
broken plugins are small distributions written here (a ``.dist-info`` with its entry points and
a module). The server side is in tests/server/test_plugins_server.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from workscript_jupyter.engine import load_workflow, run_workflow
from workscript_jupyter.errors import ConfigurationError
from workscript_jupyter.nodes import builtin_registry
from workscript_jupyter.plugins import (
    Plugin,
    PluginHost,
    check_plugin,
    load_plugins,
    register_plugin_nodes,
)
from workscript_jupyter.plugins.model import public_message
from workscript_jupyter.store import migrate
from workscript_jupyter.store.connection import create_store_engine

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "plugin"

CORE_HEAD = migrate.head()  # the core's own revision, whatever plugins add


# -- installing packages ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``examples/plugin`` installed by pip into a folder of its own (no index, no deps: the
    build backend, hatchling, is the test venv's)."""
    site = tmp_path_factory.mktemp("example-plugin") / "site"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"),
            *("--no-build-isolation", "--target", str(site), str(EXAMPLE)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (site / "workscript_example_plugin" / "migrations").is_dir()
    return site


@pytest.fixture
def with_example(example_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(example_site))
    return example_site


class FakeSite:
    """A folder on ``sys.path`` holding small distributions made by the test."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, dist: str, plugins: dict[str, str], source: str = "") -> str:
        """A distribution ``dist`` whose entry points are ``plugins`` (name → ``:attr`` of its
        module, or a full ``module:attr``), with ``source`` as its module; the module's name."""
        module = f"plugin_{uuid.uuid4().hex[:10]}"
        (self.path / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.path / f"{dist}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        targets = [f"{n} = {t if ':' in t[1:] else module + t}" for n, t in plugins.items()]
        entry_points = "[workscript_jupyter.plugins]\n" + "\n".join(targets) + "\n"
        (info / "entry_points.txt").write_text(entry_points)
        return module


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSite:
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    return FakeSite(path)


PLUGIN = """
    from workscript_jupyter.plugins import Plugin
    plugin = Plugin(name={name!r}, version="2.0")
"""


def loaded(records: list[Any]) -> dict[str, Any]:
    return {r.name: r for r in records}


# -- loading ----------------------------------------------------------------------------------


def test_the_example_plugin_is_installed_and_loads(with_example: Path) -> None:
    (record,) = load_plugins()
    assert (record.name, record.status, record.error) == ("example", "loaded", None)
    assert record.version == "0.1.0" and record.distribution == "workscript-example-plugin"
    assert [node.metadata.id for node in record.plugin.nodes] == ["example-greet"]
    assert [pattern for pattern, _ in record.plugin.routes] == ["greetings"]


def test_a_plugin_that_raises_on_load_is_failed_and_the_others_load(
    site: FakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    site.add("good", {"good": ":plugin"}, PLUGIN.format(name="good"))
    site.add("bad", {"bad": ":plugin"}, "raise RuntimeError('boom, password=hunter2')\n")
    with caplog.at_level(logging.WARNING, logger="workscript.plugins"):
        records = loaded(load_plugins())
    assert records["good"].status == "loaded" and records["good"].version == "2.0"
    assert records["bad"].status == "failed" and records["bad"].plugin is None
    assert records["bad"].error == "RuntimeError: boom, password=***"
    assert "plugin bad" in caplog.text and "could not be loaded" in caplog.text


@pytest.mark.parametrize(
    ("entry_point", "source", "message"),
    [
        ("Bad Name", PLUGIN.format(name="x"), "must match"),
        ("other", PLUGIN.format(name="named"), "the two must be the same"),
        ("thing", "plugin = object()\n", "must name a workscript_jupyter.plugins.Plugin"),
        ("y" * 41, PLUGIN.format(name="y" * 41), "must match"),
    ],
)
def test_names_and_values_are_checked(
    site: FakeSite, entry_point: str, source: str, message: str
) -> None:
    site.add("dist", {entry_point: ":plugin"}, source)
    (record,) = load_plugins()
    assert record.status == "failed"
    assert message in record.error


def test_a_factory_is_called_and_disabled_plugins_are_left_out(site: FakeSite) -> None:
    site.add("made", {"made": ":make"}, "from workscript_jupyter.plugins import Plugin\n"
             "def make():\n    return Plugin(name='made')\n")  # fmt: skip
    site.add("off", {"off": ":plugin"}, PLUGIN.format(name="off"))
    records = load_plugins(disabled={"off"})
    assert [(r.name, r.status, r.version) for r in records] == [("made", "loaded", "1.0")]


def test_duplicate_names_are_refused(site: FakeSite) -> None:
    first = site.add("first", {"dup": ":plugin", "a-b": ":other"}, PLUGIN.format(name="dup")
                     + "    other = Plugin(name='a-b')\n")  # fmt: skip
    site.add("second", {"dup": f"{first}:plugin", "a_b": ":plugin"}, PLUGIN.format(name="a_b"))
    records = load_plugins()
    statuses = sorted((r.name, r.distribution, r.status) for r in records)
    assert statuses == [
        ("a-b", "first", "loaded"),
        ("a_b", "second", "failed"),  # the same table prefix as a-b
        ("dup", "first", "loaded"),
        ("dup", "second", "failed"),
    ]
    assert all("already loaded" in r.error for r in records if r.status == "failed")


class Handler:
    pass


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"routes": (("/greetings", Handler),)}, "no leading /"),
        ({"routes": (("greet$", Handler),)}, "no trailing $"),
        ({"routes": (("(", Handler),)}, "not a regular expression"),
        ({"routes": (("x", "Handler"),)}, "(pattern, handler class) pair"),
        ({"routes": tuple((f"r{i}", Handler) for i in range(51))}, "at most 50"),
        ({"nodes": (Handler,)}, "nodes[0] is not a Node class"),
        ({"migrations": "/no/such/folder"}, "does not exist"),
        ({"on_start": "start"}, "on_start must be an async function"),
        ({"description": "x" * 501}, "description must be a string"),
    ],
)
def test_a_plugin_value_is_checked_field_by_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match="plugin p") as raised:
        check_plugin(Plugin(name="p", **fields), entry_point="p")
    assert message in raised.value.message


def test_public_messages_mask_secrets() -> None:
    error = ValueError("cannot reach mysql://root:s3cret@db/x (token=abc) and more\nsecond line")
    assert public_message(error) == "ValueError: cannot reach mysql://root:***@db/x (token=***) " \
                                    "and more"  # fmt: skip
    assert len(public_message(ValueError("x" * 1000))) == 300


# -- nodes ------------------------------------------------------------------------------------


def test_the_example_node_runs_in_a_workflow(with_example: Path) -> None:
    registry = builtin_registry(plugins=False)
    host = register_plugin_nodes(registry)  # as a worker or a kernel would
    assert host.records[0].nodes == ["example-greet"]
    document = {"id": "g", "name": "g", "version": "1.0.0",
                "workflow": [{"example-greet": {"name": "Ada"}}]}  # fmt: skip
    result = asyncio.run(run_workflow(load_workflow(document, registry), registry))
    assert result.status == "completed", result.error
    assert result.final_state["greeting"] == "Hello, Ada!"


def test_a_plugin_whose_node_id_is_taken_registers_none_of_its_nodes(site: FakeSite) -> None:
    source = """
        from workscript_jupyter.engine.node import Edge, Node, NodeMetadata
        from workscript_jupyter.plugins import Plugin

        def node(node_id):
            meta = NodeMetadata(id=node_id, name=node_id, description="a test node here")
            return type(node_id, (Node,), {"metadata": meta})

        plugin = Plugin(name="clash", nodes=(node("clash-new"), node("math")))
    """
    site.add("clash", {"clash": ":plugin"}, source)
    registry = builtin_registry(plugins=False)
    host = PluginHost(load_plugins())
    host.register_nodes(registry)
    assert host.records[0].status == "failed"
    assert "['math'] already registered" in host.records[0].error
    assert "clash-new" not in registry


def test_the_cli_finds_a_plugin_node_when_a_workflow_asks_for_it(
    example_site: Path, tmp_path: Path
) -> None:
    """`workscript run` loads plugins only on a look-up miss: a plugin's node still runs."""
    document = {"id": "g", "name": "g", "version": "1.0.0",
                "workflow": [{"example-greet": {"name": "Ada"}}]}  # fmt: skip
    path = tmp_path / "greet.json"
    path.write_text(json.dumps(document))
    done = workscript("run", str(path), "--json", site=example_site)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["finalState"]["greeting"] == "Hello, Ada!"
    listed = workscript("nodes", "--json", site=example_site)
    assert "example-greet" in {node["id"] for node in json.loads(listed.stdout)}


# -- tables -----------------------------------------------------------------------------------


def workscript(
    *args: str, site: Path, also: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "WORKSCRIPT_DB"))}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (site, also, ROOT) if p is not None)
    return subprocess.run(
        [sys.executable, "-m", "workscript_jupyter.cli", *args],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip


@pytest.mark.slow
def test_workscript_db_upgrade_creates_the_plugin_table(example_site: Path, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    done = workscript("db", "upgrade", "--db-url", url, site=example_site)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"upgraded from base (no workscript tables) to {CORE_HEAD} (head)",
        "plugin example: upgraded from base (no tables) to example_0001 (head)",
    ]
    again = workscript("db", "upgrade", "--db-url", url, site=example_site)
    assert "plugin example: already at example_0001 (head)" in again.stdout
    current = workscript("db", "current", "--db-url", url, site=example_site)
    assert current.stdout.splitlines() == [
        f"{CORE_HEAD} (head)",
        "plugin example: example_0001 (head)",
    ]
    engine = create_store_engine(url)
    try:
        assert "plugin_example_greetings" in inspect(engine).get_table_names()
        assert migrate.current(engine) == CORE_HEAD  # the core's revision is the core's alone
        assert migrate.drift(engine) == []
    finally:
        engine.dispose()


def broken_migration(site: FakeSite) -> None:
    versions = site.path / "broken_versions"
    versions.mkdir()
    (versions / "b1.py").write_text(
        'revision = "b1"\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n'
        "from alembic import op\nimport sqlalchemy as sa\n"
        "def upgrade():\n"
        '    op.create_table("plugin_broken_t", sa.Column("id", sa.Integer, primary_key=True))\n'
        '    raise RuntimeError("the migration breaks")\n'
    )
    site.add("broken", {"broken": ":plugin"}, f"""
        from workscript_jupyter.plugins import Plugin
        plugin = Plugin(name="broken", migrations={str(versions)!r})
    """)  # fmt: skip


@pytest.mark.slow
def test_db_upgrade_reports_a_broken_plugin_and_exits_1(
    site: FakeSite, example_site: Path, tmp_path: Path
) -> None:
    broken_migration(site)
    site.add("explodes", {"explodes": ":plugin"}, "raise ImportError('gone')\n")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    done = workscript("db", "upgrade", "--db-url", url, site=example_site, also=site.path)
    assert done.returncode == 1, done.stderr
    assert "plugin example: upgraded from base (no tables) to example_0001 (head)" in done.stdout
    assert "workscript: plugin explodes: not loaded: ImportError: gone" in done.stderr
    assert "workscript: plugin broken: RuntimeError: the migration breaks" in done.stderr
    assert "Traceback" not in done.stderr
    assert migrate.current(url) == CORE_HEAD


def test_a_failing_migration_fails_its_plugin_only(
    site: FakeSite, with_example: Path, tmp_path: Path
) -> None:
    broken_migration(site)
    engine = create_store_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        migrate.upgrade(engine)
        host = PluginHost(load_plugins(), engine=engine)
        host.migrate()
        records = loaded(host.records)
        assert records["broken"].status == "failed"
        assert records["broken"].error == "RuntimeError: the migration breaks"
        assert (records["example"].status, records["example"].migration) == (
            "loaded",
            ("example_0001",),
        )
        assert "plugin_example_greetings" in inspect(engine).get_table_names()
        # not stamped (MySQL and pysqlite commit DDL at once: a table made before the error may
        # stay, docs/plugins.md)
        assert migrate.branch_current(engine, version_table="plugin_broken_alembic_version") == ()
        assert migrate.current(engine) == CORE_HEAD
    finally:
        engine.dispose()


def test_without_auto_migrate_a_plugin_behind_its_migrations_fails(
    with_example: Path, tmp_path: Path
) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        migrate.upgrade(engine)
        behind = PluginHost(load_plugins(), engine=engine)
        behind.check_migrated()
        assert behind.records[0].status == "failed"
        assert "at base, not its newest revision: run `workscript db upgrade`" in (
            behind.records[0].error
        )
        PluginHost(load_plugins(), engine=engine).migrate()
        current = PluginHost(load_plugins(), engine=engine)
        current.check_migrated()
        assert (current.records[0].status, current.records[0].migration) == (
            "loaded",
            ("example_0001",),
        )
    finally:
        engine.dispose()


def test_drift_leaves_plugin_tables_alone_and_no_other(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        migrate.upgrade(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE plugin_x_things (id INTEGER PRIMARY KEY)")
            connection.exec_driver_sql("CREATE TABLE stray (id INTEGER PRIMARY KEY)")
        changes = migrate.drift(engine)
        assert [(c[0], c[1].name) for c in changes] == [("remove_table", "stray")]
    finally:
        engine.dispose()


def test_the_example_migrates_on_mariadb(with_example: Path, mysql_url: str) -> None:
    from tests.store.test_migrations import fresh_mysql_url

    engine = create_store_engine(fresh_mysql_url(mysql_url, "workscript_plugins"))
    try:
        migrate.upgrade(engine)
        host = PluginHost(load_plugins(), engine=engine)
        host.migrate()
        assert host.records[0].migration == ("example_0001",)
        assert "plugin_example_greetings" in inspect(engine).get_table_names()
        assert migrate.branch_current(engine, version_table="plugin_example_alembic_version") == (
            "example_0001",
        )
        assert migrate.drift(engine) == []
    finally:
        engine.dispose()


# -- hooks and health -------------------------------------------------------------------------


def host_of(**fields: Any) -> PluginHost:
    from workscript_jupyter.plugins import PluginRecord

    record = PluginRecord(name="p", plugin=Plugin(name="p", **fields))
    return PluginHost([record], hook_timeout=0.05, health_timeout=0.05)


def hanging() -> Callable[[Any], Any]:
    async def hang(_context: Any) -> Any:
        await asyncio.Event().wait()

    return hang


async def raising(_context: Any) -> Any:
    raise OSError("down: mysql://u:pw@h/db")


def test_a_failing_start_hook_degrades_its_plugin_and_stop_still_runs() -> None:
    stopped: list[str] = []

    async def on_stop(context: Any) -> None:
        stopped.append(context.name)

    host = host_of(on_start=raising, on_stop=on_stop)
    asyncio.run(host.start())
    record = host.records[0]
    assert (record.status, record.error) == ("degraded", "on_start failed: OSError: down: "
                                             "mysql://u:***@h/db")  # fmt: skip
    asyncio.run(host.stop())
    assert stopped == ["p"]
    asyncio.run(host.stop())  # a second stop (the server's clean-up) calls nothing again
    assert stopped == ["p"]


def test_a_hanging_hook_is_cut_off() -> None:
    host = host_of(on_start=hanging())
    asyncio.run(host.start())
    assert host.records[0].error == "on_start did not finish in 0.05 s"


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (None, {"status": "ok"}),
        (raising, {"status": "down", "reason": "OSError: down: mysql://u:***@h/db"}),
        (hanging(), {"status": "down", "reason": "no answer in 0.05 s"}),
        (lambda _c: asyncio.sleep(0, ["not", "a", "mapping"]),
         {"status": "down", "reason": "the health check did not return a mapping"}),
        (lambda _c: asyncio.sleep(0, {"status": "fine"}),
         {"status": "down", "reason": "the health check returned status 'fine'"}),
        (lambda _c: asyncio.sleep(0, {"status": "degraded", "rows": 3, "big": "x" * 500,
                                      "nested": {"a": 1}, "nan": float("nan")}),
         {"status": "degraded", "rows": 3, "big": "x" * 200}),
    ],
)  # fmt: skip
def test_health_checks_are_bounded(check: Any, expected: dict[str, Any]) -> None:
    (answer,) = asyncio.run(host_of(health=check).health())
    assert answer == {"name": "p", **expected}


def test_a_health_answer_keeps_a_few_figures_only() -> None:
    many = {"status": "ok", **{f"figure{i}": i for i in range(50)}}
    (answer,) = asyncio.run(host_of(health=lambda _c: asyncio.sleep(0, many)).health())
    assert answer["status"] == "ok"
    assert 0 < len(answer) - 2 <= 10  # name and status, then at most ten figures
