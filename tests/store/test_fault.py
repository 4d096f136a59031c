"""A database that goes away and comes back: a clear error while it is down, nothing lost.

The test runs a MariaDB server of its own (its own data directory and port), so stopping it
disturbs nobody else.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from workscript_jupyter.errors import StoreUnavailableError
from workscript_jupyter.store.records import Scope

from ..ci import require

pytestmark = pytest.mark.mysql


def _need(program: str) -> str:
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/usr/bin")
    require(path is not None, f"{program} is not installed (apt package mariadb-server)")
    assert path is not None
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, up: bool, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.1)
    raise AssertionError(f"port {port} did not go {'up' if up else 'down'} in {timeout} s")


class PrivateMariaDB:
    """mariadb-install-db into a temporary folder, then mariadbd on a free port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        shutil.chown(folder, "mysql", "mysql")
        subprocess.run(
            [_need("mariadb-install-db"), "--no-defaults", f"--datadir={folder / 'data'}",
             "--user=mysql", "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def start(self) -> None:
        self.process = subprocess.Popen(
            [_need("mariadbd"), "--no-defaults", f"--datadir={self.folder / 'data'}",
             f"--port={self.port}", f"--socket={self.folder / 'mysqld.sock'}",
             f"--pid-file={self.folder / 'mysqld.pid'}", "--user=mysql",
             "--bind-address=127.0.0.1", "--innodb-buffer-pool-size=32M",
             "--skip-grant-tables",  # any password is accepted: the URL can carry one
             f"--log-error={self.folder / 'error.log'}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for(self.port, up=True)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # a clean shutdown: InnoDB flushes what was committed
            self.process.wait(timeout=60)
        _wait_for(self.port, up=False)

    @property
    def url(self) -> str:
        return f"mysql+pymysql://root:s3cret-not-used@127.0.0.1:{self.port}/faulty?charset=utf8mb4"


@pytest.fixture
def private_mariadb():
    _need("mariadbd")
    require(
        os.geteuid() == 0,
        "starting a private MariaDB needs root (chown to mysql)",
        fix=".ci/run runs as root",
    )
    # not under pytest's tmp_path: its parents are private to root, and mariadbd runs as mysql
    folder = Path(tempfile.mkdtemp(prefix="workscript-mariadb-"))
    folder.chmod(0o755)
    server = PrivateMariaDB(folder / "server")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_stopped_database_gives_a_clear_error_and_nothing_is_lost(private_mariadb):
    import pymysql
    from sqlalchemy import create_engine

    from workscript_jupyter.store.sql import SqlStore
    from workscript_jupyter.store.tables import metadata

    admin = pymysql.connect(host="127.0.0.1", port=private_mariadb.port, user="root", password="")
    with admin.cursor() as cursor:
        cursor.execute("CREATE DATABASE faulty CHARACTER SET utf8mb4")
    admin.close()
    engine = create_engine(private_mariadb.url, pool_pre_ping=True, pool_recycle=3600)
    metadata.create_all(engine)
    store = SqlStore(engine)
    owner = store.users.create("ada")
    scope = Scope(owner.id)
    saved = store.workflows.create(scope, name="kept", definition={"id": "kept", "workflow": []})

    private_mariadb.stop()
    with pytest.raises(StoreUnavailableError) as caught:
        store.workflows.get(scope, saved.id)
    message = str(caught.value)
    assert f"127.0.0.1:{private_mariadb.port}/faulty" in message  # which database failed
    assert "s3cret" not in message  # the password is masked

    private_mariadb.start()
    again = store.workflows.get(scope, saved.id)  # the pool reconnects: no restart needed
    assert again == saved
    assert store.workflows.create(scope, name="after", definition={}).name == "after"
    names = {w.name for w in store.workflows.list(scope).items}
    assert names == {"kept", "after"}
    engine.dispose()
