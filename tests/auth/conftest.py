"""What the tests of auth/ share: a clock moved by hand, Redis key prefixes and clients of a
test's own, and stores on every backend (memory, SQLite, a MariaDB database of the module's
own) — two stores on one database where the backend can share one."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.store.contract.conftest import _empty_tables
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.memory import MemoryStore

T0 = 1_700_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    import redis

    prefix = f"workscript:test:auth:{os.getpid()}:{secrets.token_hex(4)}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@asynccontextmanager
async def redis_clients(url: str, count: int) -> AsyncIterator[list[Any]]:
    import redis.asyncio as aioredis

    clients = [aioredis.Redis.from_url(url) for _ in range(count)]
    try:
        yield clients
    finally:
        for client in clients:
            await client.aclose()


class OwnDatabase:
    """A MariaDB database of one test module's own (``workscript_auth_<random>_<pid>``), made
    and migrated on first use, dropped at the end of the module."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.name = f"workscript_auth_{secrets.token_hex(3)}_{os.getpid()}"
        self.engine: Any = None

    def url_for(self, root_url: str) -> str:
        if self.url is None:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            from workscript_jupyter.store.migrate import upgrade

            root = make_url(root_url)
            self.engine = create_engine(root)
            with self.engine.begin() as connection:
                connection.execute(text(f"CREATE DATABASE {self.name} CHARACTER SET utf8mb4"))
            self.url = root.set(database=self.name).render_as_string(hide_password=False)
            upgrade(self.url)
        return self.url

    def drop(self) -> None:
        if self.engine is not None:
            from sqlalchemy import text

            with self.engine.begin() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {self.name}"))
            self.engine.dispose()


@pytest.fixture(scope="module")
def own_database() -> Iterator[OwnDatabase]:
    database = OwnDatabase()
    yield database
    database.drop()


def open_stores(request: pytest.FixtureRequest, tmp_path: Path, count: int) -> list[Store]:
    """``count`` stores on one database of the backend ``request.param`` names (one MemoryStore
    for memory: it cannot be shared); MariaDB's tables start empty."""
    backend = request.param
    if backend == "memory":
        return [MemoryStore()]
    from workscript_jupyter.store.sql import SqlStore

    if backend == "sqlite":
        from workscript_jupyter.store.migrate import upgrade

        url = f"sqlite:///{tmp_path / 'auth.sqlite'}"
        upgrade(url)
    else:
        database: OwnDatabase = request.getfixturevalue("own_database")
        url = database.url_for(request.getfixturevalue("mysql_url"))  # skips when absent
        _empty_tables(url)
    return [SqlStore.from_url(url) for _ in range(count)]


BACKENDS = ["memory", "sqlite", pytest.param("mariadb", marks=pytest.mark.mysql)]


@pytest.fixture(params=BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Store]]:
    opened = open_stores(request, tmp_path, 2)
    try:
        yield opened
    finally:
        for store in opened:
            store.close()
