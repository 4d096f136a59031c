"""Alembic owns the schema: upgrade, downgrade, current revision, history, and drift.

The migration scripts ship inside the package (``store/migrations``: ``env.py``, the
``script.py.mako`` template and ``versions/``) and Alembic is configured here in code, so neither
an ``alembic.ini`` nor a working directory is needed: ``workscript db upgrade``, the server's
``auto_migrate`` and the tests all go through these functions.

Every function takes an Engine (used as is, left open) or a URL (an engine is made with
``create_store_engine`` and disposed afterwards). Failures are project errors: an unreachable
database is ``StoreUnavailableError`` naming the masked URL; an unknown revision or a statement
the database refuses is ``StoreError``.

Alembic keeps the running command in module globals, so a process runs one migration at a time
(a thread lock). On MySQL/MariaDB a migration also holds the named lock ``workscript.migrate``
(``GET_LOCK``), so servers that start together against one database migrate one after the other,
and the later ones find nothing left to do.

SQLite changes a table by copying it (Alembic's "batch" mode, ``render_as_batch``); the copy drops
the old table, which with foreign keys on would cascade-delete the rows that point at it. So a
SQLite migration runs with foreign keys off, and they are switched back on afterwards.

A plugin's tables have a history of their own (``upgrade_branch``): its scripts, its own version
table, the same lock. The core's revision, ``current`` and ``head`` never see it, and a plugin
uninstalled later leaves nothing the core's upgrade trips on. Plugin tables are named
``plugin_<name>_...``: ``drift`` and autogenerate leave them alone.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import exc, text
from sqlalchemy.engine import URL, Connection, Engine

from ..errors import StoreError, StoreUnavailableError
from .connection import create_store_engine, driver_message, mask_url, unavailable_message
from .tables import UtcDateTime, metadata

__all__ = [
    "PLUGIN_TABLE_PREFIX",
    "SCRIPT_LOCATION",
    "Revision",
    "alembic_config",
    "branch_current",
    "branch_heads",
    "context_options",
    "current",
    "downgrade",
    "drift",
    "head",
    "history",
    "revisions",
    "upgrade",
    "upgrade_branch",
]

SCRIPT_LOCATION = Path(__file__).with_name("migrations")
# MySQL: servers starting together take turns on the migration (GET_LOCK, per connection).
# GET_LOCK names are server-wide: the database's name is part of the lock's, so that
# deployments on other databases of the same server never wait on each other.
MIGRATION_LOCK = "workscript.migrate"
MIGRATION_LOCK_SECONDS = 120
# Alembic's ``context`` and ``op`` are process-wide proxies: one command at a time per process
_ALEMBIC = threading.Lock()

EngineOrUrl = Engine | str | URL
PLUGIN_TABLE_PREFIX = "plugin_"  # plugins' tables and version tables: not the core's schema


@dataclass(frozen=True, slots=True)
class Revision:
    """One migration script: its id, the one it follows, and its message."""

    id: str
    down_revision: str | None
    message: str


# -- configuration --------------------------------------------------------------------------------


def alembic_config() -> Config:
    """An Alembic ``Config`` pointing at the scripts inside the package (no ini file)."""
    config = Config()
    # configparser interpolation: a literal % in the install path must be doubled
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    return config


def context_options(connection: Connection) -> dict[str, Any]:
    """The ``MigrationContext`` options shared by ``env.py`` and ``drift``.

    Both must compare the same way, or the drift test would pass while ``revision
    --autogenerate`` found changes (or the reverse).
    """
    return {
        "target_metadata": metadata,
        "render_as_batch": connection.dialect.name == "sqlite",
        "compare_type": True,
        "render_item": render_item,
        "include_object": include_object,
    }


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave plugins' tables out of the comparison: they are not in ``tables.metadata``, and
    autogenerate must never write a migration that drops them."""
    plugin_table = type_ == "table" and compare_to is None and reflected
    return not (plugin_table and (name or "").startswith(PLUGIN_TABLE_PREFIX))


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Write ``UtcDateTime`` into a migration as plain SQLAlchemy types.

    A migration must not import the live ``tables`` module: the type could change later and
    silently rewrite history. DATETIME(6) on MySQL keeps the microseconds.
    """
    if type_ == "type" and isinstance(obj, UtcDateTime):
        autogen_context.imports.add("from sqlalchemy.dialects import mysql")
        return 'sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")'
    return False


# -- commands -------------------------------------------------------------------------------------


def upgrade(engine_or_url: EngineOrUrl, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (default: the newest)."""
    with _migrating(engine_or_url, f"upgrade to {revision}") as config:
        command.upgrade(config, revision)


def downgrade(engine_or_url: EngineOrUrl, revision: str) -> None:
    """Migrate the database down to ``revision`` (``base`` removes every table)."""
    with _migrating(engine_or_url, f"downgrade to {revision}") as config:
        command.downgrade(config, revision)


def current(engine_or_url: EngineOrUrl) -> str | None:
    """The database's revision, or None when it has never been migrated."""
    with _engine(engine_or_url) as engine, _connect(engine) as connection:
        try:
            return MigrationContext.configure(connection).get_current_revision()
        except CommandError as error:
            raise StoreError(
                f"cannot read the revision of {mask_url(engine.url)}: {error}"
            ) from None
        except exc.DBAPIError as error:
            raise _database_error(engine, "read the revision", error) from None


def head() -> str | None:
    """The newest revision among the scripts."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def revisions() -> list[Revision]:
    """Every migration script, oldest first."""
    scripts = ScriptDirectory.from_config(alembic_config())
    found = [
        Revision(
            id=script.revision,
            down_revision=_single(script.down_revision),
            message=(script.doc or "").strip(),
        )
        for script in scripts.walk_revisions()
    ]
    return found[::-1]


def history() -> list[str]:
    """The revision ids, oldest first."""
    return [revision.id for revision in revisions()]


def drift(engine_or_url: EngineOrUrl) -> list[Any]:
    """What autogenerate would change to make the database match ``tables.metadata``.

    Empty when the migrations and the models agree: the test suite checks that after
    ``upgrade`` on every backend, so a table edited without a migration fails the build.
    """
    with _engine(engine_or_url) as engine, _connect(engine) as connection:
        try:
            context = MigrationContext.configure(connection, opts=context_options(connection))
            return list(compare_metadata(context, metadata))
        except exc.DBAPIError as error:
            raise _database_error(engine, "compare the schema", error) from None


# -- a plugin's own history -----------------------------------------------------------------------


def upgrade_branch(
    engine_or_url: EngineOrUrl, versions: Path, *, version_table: str, revision: str = "heads"
) -> tuple[str, ...]:
    """Migrate a plugin's tables: its scripts in ``versions``, its revision(s) kept in
    ``version_table``, up to ``revision`` (all its heads by default). Returns the revisions
    reached. The core's schema and ``alembic_version`` are not touched."""
    with _migrating(engine_or_url, f"upgrade {version_table} to {revision}") as config:
        connection: Connection = config.attributes["connection"]
        script = _branch_scripts(versions)
        with EnvironmentContext(
            config,
            script,
            fn=lambda current, _context: script._upgrade_revs(revision, current),
            destination_rev=revision,
        ) as environment:
            environment.configure(
                connection=connection,
                version_table=version_table,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with environment.begin_transaction():
                environment.run_migrations()
            return tuple(environment.get_context().get_current_heads())


def branch_current(engine_or_url: EngineOrUrl, *, version_table: str) -> tuple[str, ...]:
    """A plugin's revision(s) in the database; empty when it was never migrated."""
    with _engine(engine_or_url) as engine, _connect(engine) as connection:
        try:
            context = MigrationContext.configure(connection, opts={"version_table": version_table})
            return tuple(context.get_current_heads())
        except exc.DBAPIError as error:
            raise _database_error(engine, "read the revision", error) from None


def branch_heads(versions: Path) -> tuple[str, ...]:
    """The newest revision(s) among a plugin's scripts."""
    try:
        return tuple(_branch_scripts(versions).get_heads())
    except CommandError as error:
        raise StoreError(f"cannot read the migrations in {versions}: {error}") from None


def _branch_scripts(versions: Path) -> ScriptDirectory:
    # the core's folder lends its template; the revisions are the plugin's alone
    return ScriptDirectory(str(SCRIPT_LOCATION), version_locations=[str(versions)])


# -- plumbing -------------------------------------------------------------------------------------


@contextmanager
def _engine(engine_or_url: EngineOrUrl) -> Iterator[Engine]:
    if isinstance(engine_or_url, Engine):
        yield engine_or_url
        return
    engine = create_store_engine(engine_or_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _connect(engine: Engine) -> Connection:
    try:
        return engine.connect()
    except exc.DBAPIError as error:
        raise StoreUnavailableError(unavailable_message(engine.url, error)) from None


@contextmanager
def _migrating(engine_or_url: EngineOrUrl, action: str) -> Iterator[Config]:
    """A config carrying one connection in a transaction; errors become project errors."""
    with _ALEMBIC, _engine(engine_or_url) as engine, _connect(engine) as connection:
        sqlite = connection.dialect.name == "sqlite"
        locked: str | None = None  # the lock's name once taken
        try:
            if sqlite:  # outside any transaction, or SQLite ignores it
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            elif connection.dialect.name in ("mysql", "mariadb"):
                locked = _take_lock(connection, engine)
            with connection.begin():
                config = alembic_config()
                config.attributes["connection"] = connection
                yield config
        except CommandError as error:
            raise StoreError(f"cannot {action} on {mask_url(engine.url)}: {error}") from None
        except exc.DBAPIError as error:
            raise _database_error(engine, action, error) from None
        finally:
            if not connection.invalidated:
                connection.rollback()
                if sqlite:
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                if locked:
                    connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": locked})
                connection.commit()


def migration_lock_name(database: str | None) -> str:
    """The GET_LOCK name of a database's migration: at most 64 characters (MySQL's limit),
    a digest standing in for a long database name."""
    name = f"{MIGRATION_LOCK}.{database or ''}"
    if len(name) <= 64:
        return name
    return f"{MIGRATION_LOCK}.{hashlib.sha256(name.encode()).hexdigest()[:40]}"


def _take_lock(connection: Connection, engine: Engine) -> str:
    name = migration_lock_name(engine.url.database)
    got = connection.execute(
        text("SELECT GET_LOCK(:name, :seconds)"),
        {"name": name, "seconds": MIGRATION_LOCK_SECONDS},
    ).scalar()
    connection.commit()
    if got != 1:
        raise StoreError(
            f"another server has been migrating {mask_url(engine.url)} for over "
            f"{MIGRATION_LOCK_SECONDS} s (lock {name!r}); try again when it is done"
        )
    return name


def _database_error(engine: Engine, action: str, error: exc.DBAPIError) -> StoreError:
    if error.connection_invalidated or isinstance(error, exc.InterfaceError):
        return StoreUnavailableError(unavailable_message(engine.url, error))
    return StoreError(f"cannot {action} on {mask_url(engine.url)}: {driver_message(error)}")


def _single(down: Any) -> str | None:
    if down is None or isinstance(down, str):
        return down
    return ", ".join(down)  # a merge revision follows several
