"""Alembic owns the schema: upgrade/downgrade/current/history, the drift test, the CLI, the server.

Each backend starts empty: a fresh SQLite file, or the MariaDB database ``workscript_migrations``
dropped and created again for every test (never the shared ``test`` database).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url

from workscript_jupyter.errors import StoreError, StoreUnavailableError
from workscript_jupyter.store import migrate
from workscript_jupyter.store.aio import run_off_loop
from workscript_jupyter.store.connection import create_store_engine
from workscript_jupyter.store.tables import metadata

TABLES = {
    "users",
    "sessions",
    "refresh_tokens",
    "api_keys",
    "login_attempts",
    "password_resets",
    "workflows",
    "workflow_executions",
    "automations",
    "schedule_fires",
    "integrations",
    "oauth_states",
    "resources",
    "ai_models",
    "ai_usage",
    "rate_counters",  # 0004: the API keys' rate limit without Redis
}
TABLES_BEFORE_0004 = TABLES - {"rate_counters"}
MIGRATIONS_DB = "workscript_migrations"
BACKENDS = ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)]
ROOT = Path(__file__).resolve().parents[2]


def fresh_mysql_url(mysql_url: str, database: str = MIGRATIONS_DB) -> str:
    """``database`` (``workscript_migrations``) dropped and created empty, on the fixture's
    server."""
    server = make_url(mysql_url).set(database="")
    root = create_engine(server)
    try:
        with root.begin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database}")
            connection.exec_driver_sql(f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
    finally:
        root.dispose()
    return server.set(database=database).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.sqlite'}"
    return fresh_mysql_url(request.getfixturevalue("mysql_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_store_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


# -- upgrade, downgrade, current, history ---------------------------------------------------------


def test_the_models_have_the_sixteen_tables():
    assert set(metadata.tables) == TABLES


def test_upgrade_on_an_empty_database_creates_exactly_the_tables(engine):
    assert table_names(engine) == set()
    assert migrate.current(engine) is None
    migrate.upgrade(engine)
    assert table_names(engine) == TABLES
    assert migrate.current(engine) == migrate.head() == "0006"


def test_upgrade_creates_the_indexes_and_constraints(engine):
    migrate.upgrade(engine)
    inspector = inspect(engine)
    indexes = {
        tuple(index["column_names"]) for index in inspector.get_indexes("workflow_executions")
    }
    assert {
        ("workflow_id", "created_at", "id"),
        ("status", "created_at", "id"),
        ("owner_id", "created_at", "id"),
    } <= indexes
    assert ("enabled", "next_run_at") in {
        tuple(index["column_names"]) for index in inspector.get_indexes("automations")
    }
    fires = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("schedule_fires")}
    fires |= {
        tuple(i["column_names"]) for i in inspector.get_indexes("schedule_fires") if i["unique"]
    }
    assert ("automation_id", "scheduled_for") in fires
    foreign = inspector.get_foreign_keys("workflows")
    assert [(f["referred_table"], f["constrained_columns"]) for f in foreign] == [
        ("users", ["owner_id"])
    ]
    assert foreign[0]["options"].get("ondelete") == "CASCADE"


def test_upgrade_twice_changes_nothing(engine):
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert table_names(engine) == TABLES


def test_downgrade_to_base_removes_every_table(engine):
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert table_names(engine) == set()
    assert migrate.current(engine) is None
    migrate.upgrade(engine, "0001")  # and back up again
    assert table_names(engine) == TABLES_BEFORE_0004


def test_functions_take_a_url_too(db_url):
    migrate.upgrade(db_url)
    assert migrate.current(db_url) == "0006"
    assert migrate.drift(db_url) == []
    migrate.downgrade(db_url, "base")
    assert migrate.current(db_url) is None


def test_history_lists_the_revisions_oldest_first():
    assert migrate.history() == ["0001", "0002", "0003", "0004", "0005", "0006"]
    initial, second, third, fourth, fifth, sixth = migrate.revisions()
    assert initial.down_revision is None
    assert second.down_revision == "0001"
    assert third.down_revision == "0002"
    assert fourth.down_revision == "0003"
    assert fifth.down_revision == "0004"
    assert sixth.down_revision == "0005"
    assert initial.message.startswith("initial")


def test_an_unknown_revision_is_a_store_error(engine):
    with pytest.raises(StoreError, match="0042"):
        migrate.upgrade(engine, "0042")


def test_an_unreachable_database_is_unavailable():
    url = "mysql+pymysql://root:hunter2@127.0.0.1:1/ws"
    with pytest.raises(StoreUnavailableError) as caught:
        migrate.upgrade(url)
    assert "mysql+pymysql://root:***@127.0.0.1:1/ws" in str(caught.value)
    assert "hunter2" not in str(caught.value)


# -- the drift test -------------------------------------------------------------------------------


def test_the_migrations_and_the_models_agree(engine):
    """Autogenerate finds nothing to do after upgrade: a model change needs a migration."""
    migrate.upgrade(engine)
    assert migrate.drift(engine) == []


def test_the_drift_check_sees_a_difference(engine):
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            text("DROP INDEX ix_workflow_executions_status_created_at_id ON workflow_executions")
            if engine.dialect.name != "sqlite"
            else text("DROP INDEX ix_workflow_executions_status_created_at_id")
        )
    changes = migrate.drift(engine)
    assert [change[0] for change in changes] == ["add_index"]
    assert changes[0][1].name == "ix_workflow_executions_status_created_at_id"


# -- what the schema guarantees -------------------------------------------------------------------


def test_a_second_claim_of_the_same_tick_is_refused(engine):
    from sqlalchemy import exc, insert

    from workscript_jupyter.store import tables
    from workscript_jupyter.store.records import new_id, utcnow

    migrate.upgrade(engine)
    now = utcnow()
    user = {
        "id": new_id(),
        "username": "ann",
        "username_key": "ann",
        "roles": ["admin"],
        "is_active": True,
        "source": "local",
        "created_at": now,
        "updated_at": now,
    }
    automation = {
        "id": new_id(),
        "owner_id": user["id"],
        "name": "nightly",
        "trigger_type": "cron",
        "parameters": {},
        "timezone": "UTC",
        "enabled": True,
        "misfire_policy": "skip",
        "misfire_grace_seconds": 60,
        "overlap_policy": "skip",
        "retry_count": 0,
        "retry_delay_seconds": 0.0,
        "retry_backoff": 1.0,
        "created_at": now,
        "updated_at": now,
    }
    fire = {
        "automation_id": automation["id"],
        "scheduled_for": now,
        "claimed_by": "server-a",
        "claimed_at": now,
        "outcome": "claimed",
    }
    with engine.begin() as connection:
        connection.execute(insert(tables.users).values(user))
        connection.execute(insert(tables.automations).values(automation))
        connection.execute(insert(tables.schedule_fires).values(id=new_id(), **fire))
    with pytest.raises(exc.IntegrityError), engine.begin() as connection:
        connection.execute(
            insert(tables.schedule_fires).values(id=new_id(), **{**fire, "claimed_by": "b"})
        )
    with engine.connect() as connection:
        stored = connection.execute(tables.schedule_fires.select()).mappings().one()
    assert stored["scheduled_for"] == now  # microseconds and UTC survive the round trip


@pytest.mark.mysql
def test_mysql_tables_are_innodb_utf8mb4_with_microsecond_times(mysql_url):
    url = fresh_mysql_url(mysql_url)
    migrate.upgrade(url)
    engine = create_store_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT table_name, engine, table_collation FROM information_schema.tables "
                    "WHERE table_schema = :schema AND table_name <> 'alembic_version'"
                ),
                {"schema": MIGRATIONS_DB},
            ).all()
            precision = connection.execute(
                text(
                    "SELECT datetime_precision FROM information_schema.columns "
                    "WHERE table_schema = :schema AND table_name = 'workflow_executions' "
                    "AND column_name = 'created_at'"
                ),
                {"schema": MIGRATIONS_DB},
            ).scalar()
    finally:
        engine.dispose()
    assert {row[0] for row in rows} == TABLES
    assert {(row[1], row[2]) for row in rows} == {("InnoDB", "utf8mb4_unicode_ci")}
    assert precision == 6


@pytest.mark.mysql
def test_mysql_binary_collations_of_the_models_are_migrated(mysql_url: str) -> None:
    """Alembic's drift check does not compare collations: this one does, for every column the
    models give a collation of its own (case-sensitive paths, rate counter keys)."""
    from sqlalchemy.dialects import mysql

    expected = {}
    for table in metadata.tables.values():
        for column in table.columns:
            spelled = column.type.compile(dialect=mysql.dialect())
            if "COLLATE" in spelled:
                expected[(table.name, column.name)] = spelled.split("COLLATE")[1].strip()
    assert expected[("rate_counters", "counter_key")] == "utf8mb4_bin"
    assert expected[("resources", "path")] == "utf8mb4_bin"
    url = fresh_mysql_url(mysql_url)
    migrate.upgrade(url)
    engine = create_store_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT table_name, column_name, collation_name "
                    "FROM information_schema.columns WHERE table_schema = :schema"
                ),
                {"schema": MIGRATIONS_DB},
            ).all()
    finally:
        engine.dispose()
    actual = {(table, column): collation for table, column, collation in rows}
    assert {key: actual[key] for key in expected} == expected


def test_sqlite_foreign_keys_are_back_on_after_a_migration(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'fk.sqlite'}", pool_size=1)
    try:
        migrate.upgrade(engine)
        migrate.downgrade(engine, "base")
        migrate.upgrade(engine)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


# -- the CLI --------------------------------------------------------------------------------------


def workscript(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "WORKSCRIPT_DB"))}
    return subprocess.run(
        [sys.executable, "-m", "workscript_jupyter.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**base, **(env or {})},
    )


def test_cli_upgrade_current_downgrade(db_url):
    shown = make_url(db_url).render_as_string(hide_password=True)
    done = workscript("db", "upgrade", "--db-url", db_url)
    assert done.returncode == 0, done.stderr
    assert f"workscript: database {shown}" in done.stderr
    assert "upgraded from base (no workscript tables) to 0006 (head)" in done.stdout
    engine = create_store_engine(db_url)
    try:
        assert table_names(engine) == TABLES
    finally:
        engine.dispose()

    current = workscript("db", "current", "--db-url", db_url)
    assert (current.returncode, current.stdout.strip()) == (0, "0006 (head)")
    again = workscript("db", "upgrade", "--db-url", db_url)
    assert "already at 0006 (head)" in again.stdout

    down = workscript("db", "downgrade", "base", "--db-url", db_url)
    assert down.returncode == 0, down.stderr
    assert "downgraded from 0006 (head) to base" in down.stdout
    assert workscript("db", "current", "--db-url", db_url).stdout.strip().startswith("base")


def test_cli_takes_the_url_from_the_environment(tmp_path):
    url = f"sqlite:///{tmp_path / 'env.sqlite'}"
    done = workscript("db", "upgrade", env={"WORKSCRIPT_DB_URL": url})
    assert done.returncode == 0, done.stderr
    assert f"workscript: database {url}" in done.stderr
    assert (tmp_path / "env.sqlite").exists()


def test_cli_history():
    done = workscript("db", "history")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("0005 -> 0006 (head): connections")
    assert "<base> -> 0001: initial" in done.stdout


def test_cli_errors_exit_2_without_a_traceback_or_a_password(tmp_path):
    unreachable = workscript(
        "db", "upgrade", "--db-url", "mysql+pymysql://root:hunter2@127.0.0.1:1/x"
    )
    assert unreachable.returncode == 2
    assert "workscript: error: cannot connect to mysql+pymysql://root:***@127.0.0.1:1/x" in (
        unreachable.stderr
    )
    unknown = workscript("db", "downgrade", "0042", "--db-url", f"sqlite:///{tmp_path / 'u.db'}")
    assert unknown.returncode == 2
    assert "0042" in unknown.stderr
    for done in (unreachable, unknown):
        assert "Traceback" not in done.stderr
        assert "hunter2" not in done.stdout + done.stderr


def test_cli_downgrade_needs_a_revision():
    done = workscript("db", "downgrade")
    assert done.returncode == 2
    assert "REVISION" in done.stderr


# -- run_off_loop ---------------------------------------------------------------------------------

REQUEST = contextvars.ContextVar("REQUEST", default="none")


def test_run_off_loop_runs_in_a_store_thread():
    def work(a: int, *, b: int) -> tuple[str, int, str]:
        return threading.current_thread().name, a + b, REQUEST.get()

    async def main() -> tuple[str, int, str]:
        REQUEST.set("r-1")
        return await run_off_loop(work, 1, b=2)

    name, total, request = asyncio.run(main())
    assert name != threading.current_thread().name
    assert name.startswith("workscript-store")
    assert (total, request) == (3, "r-1")


def test_run_off_loop_raises_what_the_call_raises_and_keeps_the_loop_free():
    ticks: list[int] = []
    gate = threading.Event()

    def blocked() -> None:
        gate.wait(5)
        raise StoreUnavailableError("down")

    async def main() -> None:
        call = asyncio.ensure_future(run_off_loop(blocked))
        for i in range(3):
            await asyncio.sleep(0.01)
            ticks.append(i)
        gate.set()
        await call

    with pytest.raises(StoreUnavailableError, match="down"):
        asyncio.run(main())
    assert ticks == [0, 1, 2]  # the loop ran while the call blocked its thread


# -- the server -----------------------------------------------------------------------------------


@pytest.fixture
def server_auto_migrate() -> bool:
    return True


@pytest.fixture
def server_db(tmp_path: Path) -> Path:
    return tmp_path / "server" / "workscript.sqlite"


@pytest.fixture
def jp_server_config(server_db: Path, server_auto_migrate: bool):
    return {
        "ServerApp": {
            "jpserver_extensions": {"workscript_jupyter": True},
            "allow_unauthenticated_access": False,
        },
        "WorkscriptApp": {
            "kernel_pool_size": 0,
            "db_url": f"sqlite:///{server_db}",
            "auto_migrate": server_auto_migrate,
        },
    }


def workscript_app(serverapp):
    (app,) = serverapp.extension_manager.extension_apps["workscript_jupyter"]
    return app


def test_the_server_migrates_its_database_at_start(jp_serverapp, server_db):
    settings = jp_serverapp.web_app.settings["workscript"]
    engine = settings["engine"]
    assert engine.url.database == str(server_db)
    assert table_names(engine) == TABLES
    assert migrate.current(engine) == migrate.head()
    try:
        from workscript_jupyter.store.sql import SqlStore
    except ImportError:
        assert "store" not in settings
    else:
        assert isinstance(settings["store"], SqlStore)
    app = workscript_app(jp_serverapp)
    asyncio.run(app.stop_extension())
    assert app._engine is None


@pytest.mark.parametrize("server_auto_migrate", [False])
def test_auto_migrate_off_leaves_the_database_alone(jp_serverapp):
    engine = jp_serverapp.web_app.settings["workscript"]["engine"]
    assert table_names(engine) == set()
    assert migrate.current(engine) is None


@pytest.mark.mysql
def test_mysql_migrations_wait_for_the_migration_lock(mysql_url, monkeypatch):
    url = fresh_mysql_url(mysql_url)
    monkeypatch.setattr(migrate, "MIGRATION_LOCK_SECONDS", 1)
    holder = create_store_engine(url)
    try:
        with holder.connect() as connection:
            name = {"name": migrate.migration_lock_name(make_url(url).database)}
            assert connection.execute(text("SELECT GET_LOCK(:name, 0)"), name).scalar() == 1
            with pytest.raises(StoreError, match="another server has been migrating"):
                migrate.upgrade(url)
            # GET_LOCK names are server-wide: another database's migration does not wait
            other = fresh_mysql_url(mysql_url, f"{MIGRATIONS_DB}_other")
            migrate.upgrade(other)
            assert migrate.current(other) is not None
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), name)
        migrate.upgrade(url)  # free again, and released after use:
        with holder.connect() as connection:
            free = connection.execute(text("SELECT IS_FREE_LOCK(:name)"), name).scalar()
        assert free == 1
    finally:
        holder.dispose()


def test_migrations_started_together_run_one_at_a_time(db_url):
    """Alembic's globals are per process, MySQL's lock is per database: both are taken."""
    url = db_url
    errors: list[BaseException] = []

    def start() -> None:
        try:
            migrate.upgrade(url)
        except StoreError as error:
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert migrate.current(url) == migrate.head()
    assert migrate.drift(url) == []
