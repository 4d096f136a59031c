"""store.connection: URL precedence, masking, engine settings, and what a failure says."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import exc, text
from sqlalchemy.engine import make_url

from workscript_jupyter.errors import (
    ConfigurationError,
    MissingDriverError,
    StoreUnavailableError,
)
from workscript_jupyter.store.connection import (
    POOL_RECYCLE_SECONDS,
    check_connection,
    create_store_engine,
    mask_url,
    resolve_db_url,
)

DB_VARS = {
    "DB_HOST": "db.example.org",
    "DB_PORT": "3307",
    "DB_USER": "app",
    "DB_PASSWORD": "s3cret",
    "DB_NAME": "flows",
}

# -- resolve_db_url -------------------------------------------------------------------------------


def test_explicit_url_wins_over_everything():
    environ = {"WORKSCRIPT_DB_URL": "sqlite:///env.sqlite", **DB_VARS}
    assert resolve_db_url("sqlite:///explicit.sqlite", environ=environ) == (
        "sqlite:///explicit.sqlite"
    )


def test_workscript_db_url_wins_over_db_vars():
    environ = {"WORKSCRIPT_DB_URL": "  mysql+pymysql://u@h/d  ", **DB_VARS}
    assert resolve_db_url(None, environ=environ) == "mysql+pymysql://u@h/d"


def test_blank_values_fall_through():
    environ = {"WORKSCRIPT_DB_URL": " ", **DB_VARS}
    url = make_url(resolve_db_url("  ", environ=environ))
    assert url.host == "db.example.org"


def test_db_vars_build_a_pymysql_url_in_utf8mb4():
    url = make_url(resolve_db_url(environ=DB_VARS))
    assert url.drivername == "mysql+pymysql"
    assert (url.host, url.port, url.username, url.password, url.database) == (
        "db.example.org",
        3307,
        "app",
        "s3cret",
        "flows",
    )
    assert url.query["charset"] == "utf8mb4"


def test_db_vars_defaults_and_an_awkward_password_round_trip():
    password = "p@ss/w:rd%?"
    url = make_url(resolve_db_url(environ={"DB_HOST": "db", "DB_PASSWORD": password}))
    assert (url.host, url.port, url.username, url.database) == ("db", 3306, "root", "workscript")
    assert url.password == password


def test_db_name_alone_means_mysql_on_localhost():
    url = make_url(resolve_db_url(environ={"DB_NAME": "flows"}))
    assert (url.get_backend_name(), url.host, url.database) == ("mysql", "localhost", "flows")


def test_a_bad_db_port_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="DB_PORT"):
        resolve_db_url(environ={"DB_HOST": "db", "DB_PORT": "mysql"})


def test_default_is_sqlite_in_the_given_data_dir(tmp_path):
    url = resolve_db_url(environ={}, data_dir=str(tmp_path))
    assert url == f"sqlite:///{tmp_path.resolve() / 'workscript.sqlite'}"
    assert make_url(url).database == str(tmp_path.resolve() / "workscript.sqlite")


def test_default_data_dir_is_jupyters(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    url = resolve_db_url(environ={})
    assert make_url(url).database == str(tmp_path / "jupyter-data" / "workscript.sqlite")


def test_environ_defaults_to_the_process_environment(monkeypatch):
    monkeypatch.setenv("WORKSCRIPT_DB_URL", "sqlite:///from-env.sqlite")
    assert resolve_db_url() == "sqlite:///from-env.sqlite"


# -- mask_url -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "mysql+pymysql://root:hunter2@db:3306/ws?charset=utf8mb4",
            "mysql+pymysql://root:***@db:3306/ws?charset=utf8mb4",
        ),
        ("mysql+pymysql://root@db/ws", "mysql+pymysql://root@db/ws"),
        ("sqlite:////tmp/x.sqlite", "sqlite:////tmp/x.sqlite"),
        ("not a url://root:hunter2@db", "not a url://root:***@db"),
        ("weird://user:hunter2@", "weird://user:***@"),
    ],
)
def test_mask_url_hides_the_password(url, masked):
    assert mask_url(url) == masked
    assert mask_url(url).count("hunter2") == 0


def test_mask_url_takes_url_objects():
    assert mask_url(make_url("mysql+pymysql://a:b@h/d")) == "mysql+pymysql://a:***@h/d"


# -- SQLite engines -------------------------------------------------------------------------------


def pragma(engine, name: str):
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_sqlite_runs_in_wal_with_a_busy_timeout_and_foreign_keys(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        assert pragma(engine, "journal_mode") == "wal"
        assert pragma(engine, "busy_timeout") == 30_000
        assert pragma(engine, "foreign_keys") == 1
        assert engine.pool._pre_ping is False  # a local file: nothing to ping
        assert engine.pool._recycle == POOL_RECYCLE_SECONDS
    finally:
        engine.dispose()


def test_sqlite_foreign_keys_are_enforced(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'fk.sqlite'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE p (id INTEGER PRIMARY KEY)"))
            connection.execute(
                text("CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id))")
            )
        with pytest.raises(exc.IntegrityError), engine.begin() as connection:
            connection.execute(text("INSERT INTO c (id, p_id) VALUES (1, :p)"), {"p": 42})
    finally:
        engine.dispose()


def test_busy_timeout_and_options_can_be_set(tmp_path):
    engine = create_store_engine(
        f"sqlite:///{tmp_path / 'b.sqlite'}", busy_timeout_seconds=2.5, pool_recycle=60
    )
    try:
        assert pragma(engine, "busy_timeout") == 2_500
        assert engine.pool._recycle == 60
    finally:
        engine.dispose()


def test_the_folder_of_a_sqlite_file_is_created(tmp_path):
    path = tmp_path / "not" / "yet" / "there.sqlite"
    engine = create_store_engine(f"sqlite:///{path}")
    try:
        check_connection(engine)
        assert path.exists()
    finally:
        engine.dispose()


def test_in_memory_sqlite_is_one_database_across_threads():
    engine = create_store_engine("sqlite://")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE m (v INTEGER)"))

        def insert(value: int) -> None:
            for _ in range(25):
                with engine.begin() as connection:
                    connection.execute(text("INSERT INTO m (v) VALUES (:v)"), {"v": value})
                    if value % 2:
                        connection.execute(text("INSERT INTO m (v) VALUES (:v)"), {"v": -1})
                        connection.rollback()  # undoes this thread's rows only

        threads = [threading.Thread(target=insert, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM m")).scalar() == 4 * 25
        assert pragma(engine, "foreign_keys") == 1
    finally:
        engine.dispose()


def test_an_unopenable_sqlite_file_is_unavailable(tmp_path):
    folder = tmp_path / "a-folder.sqlite"
    folder.mkdir()
    engine = create_store_engine(f"sqlite:///{folder}")
    with pytest.raises(StoreUnavailableError, match="cannot connect to sqlite:///"):
        check_connection(engine)


def test_an_invalid_url_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="invalid database URL"):
        create_store_engine("not a url")


# -- MySQL engines --------------------------------------------------------------------------------


def test_mysql_urls_get_utf8mb4_unless_they_name_a_charset():
    engine = create_store_engine("mysql+pymysql://u:pw@127.0.0.1:1/d")
    assert engine.url.query["charset"] == "utf8mb4"
    assert engine.pool._pre_ping is True
    assert engine.pool._recycle == POOL_RECYCLE_SECONDS
    latin = create_store_engine("mysql+pymysql://u:pw@127.0.0.1:1/d?charset=latin1")
    assert latin.url.query["charset"] == "latin1"


def test_missing_pymysql_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymysql", None)  # as if PyMySQL were not installed
    with pytest.raises(MissingDriverError) as caught:
        create_store_engine("mysql+pymysql://root:hunter2@127.0.0.1:3306/ws")
    message = str(caught.value)
    assert 'pip install "workscript-jupyter[mysql]"' in message
    assert "mysql+pymysql://root:***@127.0.0.1:3306/ws" in message
    assert "hunter2" not in message


def test_missing_mysqldb_points_to_the_mysql_extra():
    try:
        import MySQLdb  # noqa: F401

        pytest.skip("mysqlclient is installed here")
    except ImportError:
        pass
    with pytest.raises(MissingDriverError) as caught:
        create_store_engine("mysql+mysqldb://root:hunter2@127.0.0.1/ws")
    message = str(caught.value)
    assert "'MySQLdb'" in message
    assert 'pip install "workscript-jupyter[mysql]" and use a mysql+pymysql:// URL' in message
    assert "hunter2" not in message
    assert isinstance(caught.value, ImportError)


def test_an_unknown_dialect_is_a_missing_driver():
    with pytest.raises(MissingDriverError, match="no SQLAlchemy dialect"):
        create_store_engine("nosuchdb://u:hunter2@h/d")


def test_an_unreachable_port_is_unavailable_with_the_masked_url():
    engine = create_store_engine(
        "mysql+pymysql://root:hunter2@127.0.0.1:1/ws", connect_args={"connect_timeout": 2}
    )
    with pytest.raises(StoreUnavailableError) as caught:
        check_connection(engine)
    message = str(caught.value)
    assert message.startswith("cannot connect to mysql+pymysql://root:***@127.0.0.1:1/ws")
    assert "hunter2" not in message
    assert isinstance(caught.value, ConnectionError)
    assert caught.value.code == "STORE_UNAVAILABLE"


@pytest.mark.mysql
def test_a_wrong_password_is_unavailable_with_the_masked_url(mysql_url):
    url = make_url(mysql_url).set(password="wrong-pa55")
    engine = create_store_engine(url.render_as_string(hide_password=False))
    with pytest.raises(StoreUnavailableError) as caught:
        check_connection(engine)
    message = str(caught.value)
    assert "Access denied" in message
    assert f"cannot connect to mysql+pymysql://{url.username}:***@{url.host}" in message
    assert "wrong-pa55" not in message
    assert caught.value.__cause__ is None  # the driver's exception (with its args) is dropped


@pytest.mark.mysql
def test_a_reachable_mariadb_passes_the_check(mysql_url):
    engine = create_store_engine(mysql_url)
    try:
        check_connection(engine)
        with engine.connect() as connection:
            charset = connection.exec_driver_sql("SELECT @@character_set_client").scalar()
        assert charset == "utf8mb4"
    finally:
        engine.dispose()


def test_the_gateway_and_the_store_share_the_messages(monkeypatch, tmp_path: Path):
    """The database node's gateway builds its engine through the same helpers."""
    import asyncio

    from workscript_jupyter.store import SqlDatabaseGateway

    monkeypatch.setitem(sys.modules, "pymysql", None)
    gateway = SqlDatabaseGateway("mysql+pymysql://root:hunter2@127.0.0.1:3306/ws")
    with pytest.raises(MissingDriverError) as from_gateway:
        asyncio.run(gateway.list("t", {}))
    with pytest.raises(MissingDriverError) as from_store:
        create_store_engine("mysql+pymysql://root:hunter2@127.0.0.1:3306/ws")
    assert str(from_gateway.value) == str(from_store.value).replace("?charset=utf8mb4", "")


def test_sqlite_commits_without_an_fsync_each_unless_told(tmp_path):
    """synchronous=NORMAL by default in WAL mode (1), FULL (2) on request; a wrong value is a
    configuration error naming the choices."""
    from workscript_jupyter.errors import ConfigurationError
    from workscript_jupyter.store.connection import create_store_engine

    def level(**options):
        engine = create_store_engine(f"sqlite:///{tmp_path / 'sync.sqlite'}", **options)
        try:
            with engine.connect() as connection:
                return connection.exec_driver_sql("PRAGMA synchronous").scalar()
        finally:
            engine.dispose()

    assert level() == 1
    assert level(sqlite_synchronous="FULL") == 2
    with pytest.raises(ConfigurationError, match="normal, full, extra"):
        level(sqlite_synchronous="sometimes")
