"""The leader lock: which one of several Jupyter servers on one database runs the scheduler.

Every server tries to take the lock every few seconds; the one that holds it runs the scheduler.
When the leader dies, even by ``kill -9``, the lock passes within seconds, because each backend
ties it to something a dead process cannot keep:

* MySQL/MariaDB: ``GET_LOCK`` on a connection of its own. The lock belongs to that connection and
  the server drops it when the TCP connection closes, which the kernel does for a dead process.
  Never a pooled connection: back in a pool it would keep the lock for whoever borrows it next.
* Redis: a key holding our token with a TTL that every ``check()`` renews; a dead leader stops
  renewing and the key expires.
* a file (SQLite, or any other database): an exclusive ``flock`` that the OS drops with the
  process. It coordinates servers on one machine only, which is all a SQLite file allows anyway.

Blocking calls run in a thread (one per lock at a time) under a timeout, so an unreachable
server makes a call return False within seconds instead of hanging the scheduler. A failure is
logged once at WARNING, then quietly until the backend answers again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import tempfile
from pathlib import Path

from ..store.connection import is_sqlite_memory
from .lock_base import (
    DEFAULT_LOCK_NAME,
    DEFAULT_TIMEOUT_SECONDS,
    DEFAULT_TTL_SECONDS,
    MYSQL_BACKENDS,
    LeaderLock,
    parse_db_url,
)
from .lock_file import FileLeaderLock
from .lock_mysql import MySQLLeaderLock, mysql_lock_name
from .lock_redis import RedisLeaderLock

__all__ = [
    "DEFAULT_LOCK_NAME",
    "DEFAULT_TIMEOUT_SECONDS",
    "DEFAULT_TTL_SECONDS",
    "FileLeaderLock",
    "LeaderLock",
    "MySQLLeaderLock",
    "RedisLeaderLock",
    "leader_lock_for",
    "mysql_lock_name",
]

log = logging.getLogger(__name__)


# -- choosing -------------------------------------------------------------------------------------


def leader_lock_for(
    db_url: str,
    *,
    redis_url: str | None = None,
    name: str = DEFAULT_LOCK_NAME,
    lock_dir: str | None = None,
    ttl_seconds: float = DEFAULT_TTL_SECONDS,
) -> LeaderLock:
    """The lock for servers sharing ``db_url``: Redis when given, else MySQL's ``GET_LOCK`` for
    a MySQL/MariaDB URL, else a lock file.

    The file of a SQLite database is ``<db>.<name without "workscript-">.lock`` next to it
    (``workscript.sqlite.scheduler.lock``), where every server on that file finds it. Any
    other database uses ``lock_dir``; without one, an in-memory database (one per process,
    so each process leads its own) gets a private file and anything else a file in the
    temp directory named after the database.
    """
    url = parse_db_url(db_url)
    if redis_url and redis_url.strip():
        scope = url.database if url.get_backend_name() in MYSQL_BACKENDS else None
        key = f"workscript:leader:{name}" + (f":{scope}" if scope else "")
        return RedisLeaderLock(redis_url.strip(), name=name, key=key, ttl_seconds=ttl_seconds)
    if url.get_backend_name() in MYSQL_BACKENDS:
        return MySQLLeaderLock(url, name=name)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "leader"
    if url.get_backend_name() == "sqlite" and not is_sqlite_memory(url):
        database = Path(str(url.database)).expanduser().resolve()
        suffix = safe.removeprefix("workscript-") or safe
        return FileLeaderLock(database.with_name(f"{database.name}.{suffix}.lock"), name=name)
    if lock_dir:
        return FileLeaderLock(Path(lock_dir).expanduser() / f"{safe}.lock", name=name)
    temp = Path(tempfile.gettempdir())
    if is_sqlite_memory(url):
        private = temp / f"{safe}-{os.getpid()}-{secrets.token_hex(4)}.lock"
        return FileLeaderLock(private, name=name, private=True)
    identity = url.set(password=None).render_as_string(hide_password=False)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return FileLeaderLock(temp / f"{safe}-{digest}.lock", name=name)
