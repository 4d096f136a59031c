"""Connections to a database: which URL, how its Engine is built, and what a failure says.

Two users share this module: the workscript store (``create_store_engine``: its own database,
migrated by Alembic) and the ``database`` node's ``SqlDatabaseGateway`` (any database a workflow
names). Both get the same engine defaults and the same messages, and both show a URL only masked:
a password must never reach a log line, an error edge or an API response.

URL precedence for the store (``resolve_db_url``): an explicit URL (the ``db_url`` trait or
``--db-url``), then ``WORKSCRIPT_DB_URL``, then ``DB_HOST``/``DB_PORT``/``DB_USER``/
``DB_PASSWORD``/``DB_NAME`` (the original's variables, MySQL through PyMySQL), else a SQLite file
in the Jupyter data directory, so a single-user server works with nothing configured.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool

from ..engine.documents import dump_json
from ..errors import (
    ConfigurationError,
    MissingDriverError,
    StoreUnavailableError,
    WorkscriptError,
)

__all__ = [
    "DEFAULT_BUSY_TIMEOUT_SECONDS",
    "DEFAULT_SQLITE_SYNCHRONOUS",
    "POOL_RECYCLE_SECONDS",
    "SQLITE_FILENAME",
    "SQLITE_SYNCHRONOUS",
    "check_connection",
    "create_store_engine",
    "driver_message",
    "engine_options",
    "is_sqlite_memory",
    "mask_url",
    "missing_driver_message",
    "new_engine",
    "parse_db_url",
    "resolve_db_url",
    "store_json",
    "unavailable_message",
]

DEFAULT_BUSY_TIMEOUT_SECONDS = 30.0
# SQLite's PRAGMA synchronous, in WAL mode. FULL waits for the disk (an fsync, ~4 ms here) at
# every commit; NORMAL only at checkpoints: a commit survives the process being killed, and the
# last commits before a power loss or an OS crash may roll back (the database stays intact).
# NORMAL is SQLite's own advice for WAL and caps throughput far less (docs/storage.md).
SQLITE_SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")
DEFAULT_SQLITE_SYNCHRONOUS = "normal"
# below MySQL's default wait_timeout (8 h) and the idle cut-off of most proxies
POOL_RECYCLE_SECONDS = 3600
SQLITE_FILENAME = "workscript.sqlite"
DEFAULT_MYSQL_PORT = 3306
DEFAULT_MYSQL_DATABASE = "workscript"

# driver module -> the extra of this package that installs it
_DRIVER_EXTRAS = {"pymysql": "mysql"}
_SQLITE_MEMORY = (None, "", ":memory:")
_MYSQL_BACKENDS = ("mysql", "mariadb")
# "scheme://user:password@" in a string that is not even a valid URL
_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^:/@\s]*):[^@\s]*@")


# -- URLs ---------------------------------------------------------------------------------------


def mask_url(url: str | URL) -> str:
    """``url`` with its password replaced by ``***``: the only form of a URL ever shown.

    A string SQLAlchemy cannot parse is masked by pattern, so even a malformed URL in an error
    message keeps its secret.
    """
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return _CREDENTIALS.sub(r"\g<head>:***@", url)


def resolve_db_url(
    db_url: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    data_dir: str | None = None,
) -> str:
    """The store's database URL, by precedence (see the module docstring).

    ``environ`` defaults to ``os.environ`` and ``data_dir`` to Jupyter's data directory; tests pass
    both. The MySQL URL is built with SQLAlchemy's ``URL.create`` so a password with ``@`` or
    ``/`` in it is escaped rather than breaking the URL.
    """
    env = os.environ if environ is None else environ
    if db_url and db_url.strip():
        return db_url.strip()
    explicit = env.get("WORKSCRIPT_DB_URL", "").strip()
    if explicit:
        return explicit
    host = env.get("DB_HOST", "").strip()
    name = env.get("DB_NAME", "").strip()
    if host or name:
        return _mysql_url(env, host or "localhost", name or DEFAULT_MYSQL_DATABASE)
    if data_dir is None:
        from jupyter_core.paths import jupyter_data_dir

        data_dir = jupyter_data_dir()
    path = Path(data_dir).expanduser().resolve() / SQLITE_FILENAME
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def _mysql_url(env: Mapping[str, str], host: str, name: str) -> str:
    raw_port = env.get("DB_PORT", "").strip()
    try:
        port = int(raw_port) if raw_port else DEFAULT_MYSQL_PORT
    except ValueError:
        raise ConfigurationError(f"DB_PORT must be a port number, not {raw_port!r}") from None
    url = URL.create(
        "mysql+pymysql",
        username=env.get("DB_USER", "").strip() or "root",
        password=env.get("DB_PASSWORD") or None,
        host=host,
        port=port,
        database=name,
        query={"charset": "utf8mb4"},
    )
    return url.render_as_string(hide_password=False)


def parse_db_url(url: str | URL) -> URL:
    """A SQLAlchemy URL; an invalid one is a ConfigurationError with the password masked."""
    if isinstance(url, URL):
        return url
    try:
        return make_url(url)
    except exc.ArgumentError as error:
        raise ConfigurationError(f"invalid database URL {mask_url(url)!r}: {error}") from None


def is_sqlite_memory(url: URL) -> bool:
    """An in-memory SQLite database: one connection holds it, so every thread must share it."""
    return url.get_backend_name() == "sqlite" and url.database in _SQLITE_MEMORY


# -- engines ------------------------------------------------------------------------------------


def engine_options(url: URL, *, busy_timeout_seconds: float) -> dict[str, Any]:
    """``create_engine`` defaults for ``url``.

    ``pool_pre_ping`` finds connections the server closed while they sat in the pool, and
    ``pool_recycle`` retires them before MySQL's ``wait_timeout`` does. SQLite waits up to
    ``busy_timeout_seconds`` on a locked database instead of failing at once; an in-memory
    database lives in one connection shared by every thread (``StaticPool``). A SQLite file has
    no server to drop a connection, so it gets no pre-ping: that ``SELECT 1`` was a sixth of the
    cost of a workflow GET.
    """
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_recycle": POOL_RECYCLE_SECONDS}
    if url.get_backend_name() == "sqlite":
        options["pool_pre_ping"] = False
        connect_args: dict[str, Any] = {"timeout": busy_timeout_seconds}
        if is_sqlite_memory(url):
            connect_args["check_same_thread"] = False
            options["poolclass"] = StaticPool
        options["connect_args"] = connect_args
    return options


def new_engine(
    url: URL, options: Mapping[str, Any], *, invalid: type[WorkscriptError] = ConfigurationError
) -> Engine:
    """``create_engine`` with its failures as project errors.

    A driver that is not installed is an ``ImportError`` at this point: it becomes a
    ``MissingDriverError`` naming the extra to install. Options the dialect refuses raise
    ``invalid`` (the gateway reports them as its own error, the store as a configuration error).
    """
    try:
        return create_engine(url, **options)
    except ImportError as error:
        raise MissingDriverError(missing_driver_message(url, error)) from None
    except exc.NoSuchModuleError as error:
        raise MissingDriverError(f"no SQLAlchemy dialect for {mask_url(url)}: {error}") from None
    except exc.ArgumentError as error:
        raise invalid(f"invalid options for {mask_url(url)}: {error}") from None


def create_store_engine(
    url: str | URL,
    *,
    busy_timeout_seconds: float = DEFAULT_BUSY_TIMEOUT_SECONDS,
    sqlite_synchronous: str = DEFAULT_SQLITE_SYNCHRONOUS,
    **options: Any,
) -> Engine:
    """The Engine of the workscript store on ``url``; ``options`` override the defaults.

    On top of ``engine_options``: MySQL connections speak utf8mb4 (unless the URL names a
    charset), and every SQLite connection runs in WAL mode (readers never block the writer),
    with a busy timeout and foreign keys on (SQLite leaves them off unless asked, per
    connection) and ``PRAGMA synchronous`` = ``sqlite_synchronous`` (see
    ``SQLITE_SYNCHRONOUS``); threads take turns on an in-memory database. JSON columns are
    written by ``store_json``: always valid JSON, whatever a node left in a state. The folder
    of a SQLite file is created, since the Jupyter data directory may not exist yet on a fresh
    machine.
    Nothing connects here: see ``check_connection``.
    """
    parsed = parse_db_url(url)
    backend = parsed.get_backend_name()
    if backend in _MYSQL_BACKENDS and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    if backend == "sqlite" and not is_sqlite_memory(parsed):
        folder = Path(str(parsed.database)).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigurationError(
                f"cannot create the folder of {mask_url(parsed)}: {error.strerror or error}"
            ) from None
    merged = engine_options(parsed, busy_timeout_seconds=busy_timeout_seconds)
    merged["json_serializer"] = store_json
    if is_sqlite_memory(parsed):
        merged["poolclass"] = _TakeTurnsPool
    merged.update(options)
    engine = new_engine(parsed, merged)
    if backend == "sqlite":
        _sqlite_pragmas(
            engine, wal=not is_sqlite_memory(parsed), synchronous=_synchronous(sqlite_synchronous)
        )
    return engine


def _synchronous(value: str) -> str:
    level = str(value).strip().upper()
    if level not in SQLITE_SYNCHRONOUS:
        choices = ", ".join(s.lower() for s in SQLITE_SYNCHRONOUS)
        raise ConfigurationError(f"sqlite_synchronous must be one of {choices}, not {value!r}")
    return level


def store_json(value: Any) -> str:
    """The text of a JSON column. A non-finite float (a node's 0/0, an overflow) is written
    ``null``, JavaScript's ``JSON.stringify`` rule: ``json.dumps`` would write ``NaN``, which
    SQLite keeps as invalid JSON and MySQL/MariaDB refuse. A value nested too deeply to write
    is a ``ValueTooDeepError`` (a ``ValueError``), not a ``RecursionError``."""
    return dump_json(value)


def _sqlite_pragmas(engine: Engine, *, wal: bool, synchronous: str) -> None:
    """Per-connection SQLite settings (the busy timeout is the driver's ``timeout`` argument)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.fetchall()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
        finally:
            cursor.close()


class _TakeTurnsPool(StaticPool):
    """The one connection of an in-memory SQLite database, held by one thread at a time.

    Without turns, two threads' transactions interleave on the shared connection and one
    commits or rolls back the other's work. A thread holds the connection from checkout to
    checkin. Do not open a second connection while holding one: there is only one, and
    returning the inner one would reset the outer one's transaction.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn = threading.Lock()

    def _do_get(self) -> Any:
        self._turn.acquire()
        try:
            return super()._do_get()
        except BaseException:
            self._turn.release()
            raise

    def _do_return_conn(self, record: Any) -> None:
        try:
            super()._do_return_conn(record)
        finally:
            self._turn.release()


def check_connection(engine: Engine) -> None:
    """Connect once and run ``SELECT 1``: a refused login or an unreachable server raises
    ``StoreUnavailableError`` naming the masked URL, at start rather than at the first request.
    """
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1").close()
    except exc.DBAPIError as error:
        raise StoreUnavailableError(unavailable_message(engine.url, error)) from None


# -- messages -----------------------------------------------------------------------------------


def unavailable_message(url: URL, error: exc.DBAPIError) -> str:
    """``cannot connect to <masked url>: <the driver's words>``."""
    return f"cannot connect to {mask_url(url)}: {driver_message(error)}"


def driver_message(error: exc.DBAPIError) -> str:
    """The driver's own words, without SQLAlchemy's statement and parameter echo."""
    original = error.orig
    if original is None:
        return type(error).__name__
    args: tuple[Any, ...] = tuple(getattr(original, "args", ()))
    if len(args) == 2 and isinstance(args[0], int):  # PyMySQL: (code, message)
        return f"({args[0]}) {args[1]}"
    return str(original) or type(original).__name__


def missing_driver_message(url: URL, error: ImportError) -> str:
    """Which driver is missing for ``url`` and what to install (the package extra if any)."""
    module = (error.name or url.get_driver_name() or "").split(".")[0]
    extra = _DRIVER_EXTRAS.get(module.lower())
    if extra:
        advice = f'pip install "workscript-jupyter[{extra}]"'
    elif url.get_backend_name() in _MYSQL_BACKENDS:
        advice = (
            'pip install "workscript-jupyter[mysql]" and use a mysql+pymysql:// URL, '
            f"or install the Python package that provides {module!r}"
        )
    else:
        advice = f"install the Python package that provides {module!r}"
    return f"the database driver {module!r} needed by {mask_url(url)} is not installed: {advice}"
