"""The leader lock on its three backends: real MariaDB, real Redis, real files, real processes.

Every test uses a lock name of its own: other test runs share the same MariaDB and Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from workscript_jupyter.errors import ConfigurationError
from workscript_jupyter.scheduler.leader import (
    FileLeaderLock,
    LeaderLock,
    MySQLLeaderLock,
    RedisLeaderLock,
    leader_lock_for,
    mysql_lock_name,
)

LOGGER = "workscript_jupyter.scheduler"  # the lock modules log under it


def unique_name() -> str:
    return f"test-leader-{uuid.uuid4().hex[:10]}"


@dataclass
class Backend:
    """Makes locks of one backend, all with the same name, and releases them at the end."""

    kind: str
    kwargs: dict[str, Any]
    made: list[LeaderLock] = field(default_factory=list)

    def new(self, **overrides: Any) -> LeaderLock:
        lock = leader_lock_for(**{**self.kwargs, **overrides})
        self.made.append(lock)
        return lock


@pytest.fixture(
    params=[
        "file",
        pytest.param("mysql", marks=pytest.mark.mysql),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    kwargs: dict[str, Any] = {"name": unique_name()}
    if request.param == "mysql":
        kwargs["db_url"] = request.getfixturevalue("mysql_url")
    elif request.param == "redis":
        kwargs["db_url"] = "sqlite://"
        kwargs["redis_url"] = request.getfixturevalue("redis_url")
    else:
        kwargs["db_url"] = f"sqlite:///{tmp_path / 'ws.sqlite'}"
    made = Backend(request.param, kwargs)
    yield made
    for lock in made.made:
        asyncio.run(lock.release())


# -- every backend --------------------------------------------------------------------------------


def test_one_holds_the_lock_and_another_gets_it_after_release(backend: Backend) -> None:
    first, second = backend.new(), backend.new()
    assert first.backend == second.backend == backend.kind
    assert asyncio.run(first.try_acquire()) is True
    assert first.held
    assert asyncio.run(first.try_acquire()) is True  # again: still ours
    assert asyncio.run(second.try_acquire()) is False
    assert not second.held
    assert asyncio.run(first.check()) is True
    assert asyncio.run(second.check()) is False

    asyncio.run(first.release())
    assert not first.held
    asyncio.run(first.release())  # idempotent
    assert asyncio.run(second.try_acquire()) is True
    assert asyncio.run(first.try_acquire()) is False


def test_calls_from_one_event_loop_take_turns(backend: Backend) -> None:
    lock = backend.new()

    async def main() -> list[bool]:
        assert await lock.try_acquire()
        results = await asyncio.gather(lock.check(), lock.try_acquire(), lock.check())
        await lock.release()
        return list(results)

    assert asyncio.run(main()) == [True, True, True]
    assert asyncio.run(backend.new().try_acquire()) is True


def test_describe_names_the_backend_and_the_lock(backend: Backend) -> None:
    lock = backend.new()
    asyncio.run(lock.try_acquire())
    info = lock.describe()
    assert info["backend"] == backend.kind
    assert info["name"] == backend.kwargs["name"]
    assert info["held"] is True
    for value in backend.kwargs.values():
        if "://" in value and value != "sqlite://":
            assert value not in json.dumps(info)


CHILD = """
import asyncio, json, sys, time
from workscript_jupyter.scheduler.leader import leader_lock_for

kwargs = json.loads(sys.argv[1])
renew_every = kwargs.pop("renew_every", None)
lock = leader_lock_for(**kwargs)
if not asyncio.run(lock.try_acquire()):
    print("not held", flush=True)
    sys.exit(1)
print("held", flush=True)

async def renew():
    while await lock.check():
        await asyncio.sleep(renew_every)
    print("lost", flush=True)

if renew_every:
    asyncio.run(renew())
time.sleep(120)
"""


def first_line(process: subprocess.Popen[str], timeout: float = 30.0) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "the child printed nothing"
    return process.stdout.readline().strip()


def test_a_killed_leader_hands_the_lock_over(backend: Backend) -> None:
    ttl = 2.0
    child_kwargs = dict(backend.kwargs)
    if backend.kind == "redis":  # the child renews; only its death lets the key expire
        child_kwargs.update(ttl_seconds=ttl, renew_every=0.3)
    lock = backend.new(ttl_seconds=ttl)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(child_kwargs)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert first_line(child) == "held"
        if backend.kind == "redis":
            time.sleep(ttl * 1.5)  # past the TTL: the child's renewals keep it
        assert asyncio.run(lock.try_acquire()) is False
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        deadline = time.monotonic() + 15
        while not asyncio.run(lock.try_acquire()):
            assert time.monotonic() < deadline, "the lock never passed to the survivor"
            time.sleep(0.2)
        assert asyncio.run(lock.check()) is True
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()


# -- MySQL / MariaDB ------------------------------------------------------------------------------


def admin(mysql_url: str) -> Any:
    import pymysql

    url = make_url(mysql_url)
    return pymysql.connect(
        host=url.host,
        port=url.port or 3306,
        user=url.username,
        password=url.password or "",
        autocommit=True,
        connect_timeout=5,
    )


def mysql_scalar(mysql_url: str, sql: str, *args: Any) -> Any:
    connection = admin(mysql_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            row = cursor.fetchone()
            return None if row is None else row[0]
    finally:
        connection.close()


@pytest.mark.mysql
def test_mysql_locks_of_two_databases_do_not_conflict(mysql_url: str) -> None:
    urls = []
    for database in ("workscript_leader_a", "workscript_leader_b"):
        mysql_scalar(mysql_url, f"CREATE DATABASE IF NOT EXISTS {database}")
        url = make_url(mysql_url).set(database=database)
        urls.append(url.render_as_string(hide_password=False))
    name = unique_name()
    a, b = (MySQLLeaderLock(url, name=name) for url in urls)
    other_a = MySQLLeaderLock(urls[0], name=name)
    try:
        assert a.lock_name != b.lock_name
        assert asyncio.run(a.try_acquire()) is True
        assert asyncio.run(b.try_acquire()) is True
        assert asyncio.run(other_a.try_acquire()) is False
    finally:
        for lock in (a, b, other_a):
            asyncio.run(lock.release())


@pytest.mark.mysql
def test_mysql_acquiring_twice_then_releasing_once_frees_the_lock(mysql_url: str) -> None:
    name = unique_name()
    first, second = MySQLLeaderLock(mysql_url, name=name), MySQLLeaderLock(mysql_url, name=name)
    try:
        for _ in range(3):
            assert asyncio.run(first.try_acquire()) is True
        asyncio.run(first.release())
        assert mysql_scalar(mysql_url, "SELECT IS_USED_LOCK(%s)", first.lock_name) is None
        assert asyncio.run(second.try_acquire()) is True
    finally:
        asyncio.run(first.release())
        asyncio.run(second.release())


@pytest.mark.mysql
def test_mysql_a_killed_connection_loses_the_lock(mysql_url: str) -> None:
    lock = MySQLLeaderLock(mysql_url, name=unique_name())
    try:
        assert asyncio.run(lock.try_acquire()) is True
        holder = mysql_scalar(mysql_url, "SELECT IS_USED_LOCK(%s)", lock.lock_name)
        assert holder is not None
        mysql_scalar(mysql_url, f"KILL {int(holder)}")
        assert asyncio.run(lock.check()) is False
        assert not lock.held
        deadline = time.monotonic() + 10  # a new connection takes it back
        while not asyncio.run(lock.try_acquire()):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert mysql_scalar(mysql_url, "SELECT IS_USED_LOCK(%s)", lock.lock_name) != holder
    finally:
        asyncio.run(lock.release())


@pytest.mark.mysql
def test_mysql_describe_shows_no_url(mysql_url: str) -> None:
    lock = MySQLLeaderLock(mysql_url, name=unique_name())
    assert mysql_url not in json.dumps(lock.describe())


def test_mysql_describe_shows_no_password() -> None:
    url = "mysql+pymysql://root:secret@127.0.0.1:3306/test"
    for lock in (MySQLLeaderLock(url), leader_lock_for(url)):  # neither connects
        info = lock.describe()
        assert "secret" not in json.dumps(info)
        assert info["lock"] == "workscript-scheduler:test"
        assert info["held"] is False


def test_mysql_lock_names_fit_in_64_characters_and_keep_the_database() -> None:
    assert mysql_lock_name("workscript-scheduler", "prod") == "workscript-scheduler:prod"
    assert mysql_lock_name("workscript-scheduler", None) == "workscript-scheduler"
    long_a = mysql_lock_name("workscript-scheduler", "a" * 60 + "_one")
    long_b = mysql_lock_name("workscript-scheduler", "a" * 60 + "_two")
    assert len(long_a) == len(long_b) == 64
    assert long_a != long_b


# -- Redis ----------------------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_check_renews_the_ttl_and_fails_once_the_key_is_gone(redis_url: str) -> None:
    import redis

    lock = RedisLeaderLock(redis_url, name=unique_name(), ttl_seconds=10)
    other = RedisLeaderLock(redis_url, name=lock.name, ttl_seconds=10)
    client = redis.Redis.from_url(redis_url)
    try:
        assert asyncio.run(lock.try_acquire()) is True
        client.pexpire(lock.key, 3000)
        assert asyncio.run(lock.check()) is True
        assert 3000 < client.pttl(lock.key) <= 10_000
        client.delete(lock.key)  # as if it had expired
        assert asyncio.run(lock.check()) is False
        assert not lock.held
        assert asyncio.run(other.try_acquire()) is True
        asyncio.run(lock.release())  # not ours any more: leaves the other's key alone
        assert asyncio.run(other.check()) is True
    finally:
        asyncio.run(lock.release())
        asyncio.run(other.release())
        client.delete(lock.key)
        client.close()


def test_redis_describe_shows_no_password() -> None:
    lock = leader_lock_for(
        "mysql+pymysql://root:dbsecret@127.0.0.1/prod", redis_url="redis://:secret@127.0.0.1:6379/0"
    )
    info = json.dumps(lock.describe())
    assert "secret" not in info
    assert isinstance(lock, RedisLeaderLock)
    assert lock.key == "workscript:leader:workscript-scheduler:prod"


# -- unreachable servers --------------------------------------------------------------------------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (in its backlog) and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


@pytest.mark.parametrize("kind", ["mysql", "redis"])
def test_a_silent_server_makes_calls_fail_fast_and_warn_once(
    kind: str, silent_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    lock: LeaderLock
    if kind == "mysql":
        lock = MySQLLeaderLock(f"mysql+pymysql://root@127.0.0.1:{silent_port}/x", timeout_seconds=1)
    else:
        lock = RedisLeaderLock(f"redis://127.0.0.1:{silent_port}/0", timeout_seconds=1)
    caplog.set_level(logging.DEBUG, logger=LOGGER)

    async def main() -> None:
        for _ in range(3):
            started = time.monotonic()
            assert await lock.try_acquire() is False
            assert time.monotonic() - started < 5
        await lock.release()

    asyncio.run(main())
    warnings = [
        r for r in caplog.records if r.name.startswith(LOGGER) and r.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]


def test_a_refused_connection_is_false_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lock = MySQLLeaderLock(f"mysql+pymysql://root:pw@127.0.0.1:{port}/x", timeout_seconds=1)
    assert asyncio.run(lock.try_acquire()) is False
    assert asyncio.run(lock.check()) is False
    asyncio.run(lock.release())
    assert "pw@" not in caplog.text


# -- files ----------------------------------------------------------------------------------------


def test_a_replaced_lock_file_is_a_lost_lock(tmp_path: Path) -> None:
    path = tmp_path / "leader.lock"
    lock, other = FileLeaderLock(path, name="x"), FileLeaderLock(path, name="x")
    try:
        assert asyncio.run(lock.try_acquire()) is True
        assert path.read_text().split()[1] == str(os.getpid())
        path.unlink()
        assert asyncio.run(lock.check()) is False
        assert asyncio.run(other.try_acquire()) is True
        assert asyncio.run(lock.try_acquire()) is False
    finally:
        asyncio.run(lock.release())
        asyncio.run(other.release())
    assert path.exists()  # released, not deleted: deleting would race with a new holder


# -- choosing a backend ---------------------------------------------------------------------------


def test_redis_wins_when_given() -> None:
    for db_url in ("mysql+pymysql://root@127.0.0.1/db", "sqlite://", "sqlite:///x.sqlite"):
        lock = leader_lock_for(db_url, redis_url="redis://127.0.0.1:6379/0", ttl_seconds=4)
        assert isinstance(lock, RedisLeaderLock)
        assert lock.backend == "redis"
        assert lock.ttl_ms == 4000


def test_mysql_urls_get_get_lock() -> None:
    for db_url in ("mysql+pymysql://root@127.0.0.1/db", "mariadb+pymysql://u@127.0.0.1:3307/db"):
        lock = leader_lock_for(db_url, redis_url="  ", name="sched")
        assert isinstance(lock, MySQLLeaderLock)
        assert lock.backend == "mysql"
        assert lock.lock_name == "sched:db"


def test_a_sqlite_file_gets_a_lock_file_next_to_it(tmp_path: Path) -> None:
    database = tmp_path / "data" / "workscript.sqlite"
    lock = leader_lock_for(f"sqlite:///{database}", lock_dir=str(tmp_path / "elsewhere"))
    assert isinstance(lock, FileLeaderLock)
    assert lock.backend == "file"
    assert lock.path == database.parent / "workscript.sqlite.scheduler.lock"
    named = leader_lock_for(f"sqlite:///{database}", name="other")
    assert isinstance(named, FileLeaderLock)
    assert named.path.name == "workscript.sqlite.other.lock"


def test_an_in_memory_database_uses_lock_dir_or_a_private_file(tmp_path: Path) -> None:
    shared = leader_lock_for("sqlite://", lock_dir=str(tmp_path))
    assert isinstance(shared, FileLeaderLock)
    assert shared.path == tmp_path / "workscript-scheduler.lock"

    # one database per process: each process leads its own
    first, second = leader_lock_for("sqlite://"), leader_lock_for("sqlite:///:memory:")
    assert isinstance(first, FileLeaderLock) and isinstance(second, FileLeaderLock)
    assert first.path.parent == second.path.parent == Path(tempfile.gettempdir())
    try:
        assert asyncio.run(first.try_acquire()) is True
        assert asyncio.run(second.try_acquire()) is True
    finally:
        asyncio.run(first.release())
        asyncio.run(second.release())
    assert not first.path.exists()


def test_another_database_gets_a_file_without_its_password() -> None:
    lock = leader_lock_for("postgresql://u:secret@127.0.0.1/prod")
    assert isinstance(lock, FileLeaderLock)
    assert "secret" not in json.dumps(lock.describe())
    assert lock.path.parent == Path(tempfile.gettempdir())


def test_an_invalid_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        leader_lock_for("not a url")
    with pytest.raises(ConfigurationError):
        RedisLeaderLock("http://127.0.0.1:6379")
