"""The MySQL/MariaDB leader lock: ``GET_LOCK`` on a connection of its own."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sqlalchemy.engine import URL

from ..errors import ConfigurationError, MissingDriverError
from ..store.connection import mask_url, missing_driver_message
from .lock_base import (
    DEFAULT_LOCK_NAME,
    DEFAULT_TIMEOUT_SECONDS,
    MYSQL_BACKENDS,
    MYSQL_LOCK_NAME_MAX,
    LeaderLock,
    parse_db_url,
)

__all__ = ["MySQLLeaderLock", "mysql_lock_name"]

log = logging.getLogger(__name__)

# -- MySQL / MariaDB ------------------------------------------------------------------------------


def mysql_lock_name(name: str, database: str | None) -> str:
    """``name:database``, at most 64 characters: GET_LOCK names are server-wide, and two
    databases on one server each need their own scheduler."""
    full = f"{name}:{database}" if database else name
    if len(full) <= MYSQL_LOCK_NAME_MAX:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:16]
    return f"{full[: MYSQL_LOCK_NAME_MAX - len(digest) - 1]}~{digest}"


class MySQLLeaderLock(LeaderLock):
    """``GET_LOCK(name, 0)`` on a dedicated PyMySQL connection, opened from the URL."""

    backend = "mysql"

    def __init__(
        self,
        db_url: str | URL,
        *,
        name: str = DEFAULT_LOCK_NAME,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(name, timeout_seconds=timeout_seconds)
        url = parse_db_url(db_url)
        backend = url.get_backend_name()
        if backend not in MYSQL_BACKENDS:
            raise ConfigurationError(f"not a MySQL/MariaDB URL: {mask_url(url)}")
        url = url.set(drivername=f"{backend}+pymysql")  # whatever driver the store uses
        try:
            import pymysql
        except ImportError as error:
            raise MissingDriverError(missing_driver_message(url, error)) from None
        self._pymysql: Any = pymysql
        args, params = url.get_dialect()().create_connect_args(url)
        self._connect_args: tuple[Any, ...] = tuple(args)
        self._connect_params: dict[str, Any] = {
            **params,
            "connect_timeout": timeout_seconds,
            "read_timeout": timeout_seconds,
            "write_timeout": timeout_seconds,
            "autocommit": True,
        }
        self._server = f"{url.host or 'localhost'}:{url.port or 3306}"
        self.lock_name = mysql_lock_name(name, url.database)
        self._connection: Any = None

    def _acquire(self) -> bool:
        if self._connection is None:
            self._connection = self._pymysql.connect(*self._connect_args, **self._connect_params)
        # ours already (a retry after a late success)? GET_LOCK again would nest: one
        # RELEASE_LOCK would no longer free it
        mine = self._ours()
        if mine is not None:
            return mine
        return bool(self._scalar("SELECT GET_LOCK(%s, 0)") == 1)

    def _check(self) -> bool:
        if self._connection is None:
            return False
        return self._ours() is True

    def _release(self) -> bool:
        if self._connection is None:
            return True
        try:
            # GET_LOCK nests in MySQL >= 5.7 and MariaDB: release every level, synchronously
            # (closing alone frees it only when the server gets round to the disconnect)
            for _ in range(100):
                if self._scalar("SELECT RELEASE_LOCK(%s)") != 1:
                    break
        finally:
            self._close()
        return True

    def _ours(self) -> bool | None:
        """True: ours; False: another connection's; None: free."""
        value = self._scalar("SELECT IS_USED_LOCK(%s) = CONNECTION_ID()")
        return None if value is None else value == 1

    def _scalar(self, sql: str) -> Any:
        """One query with the lock name as its parameter; a failure closes the connection (a
        dropped connection has lost the lock; the next ``try_acquire`` opens a new one)."""
        try:
            with self._connection.cursor() as cursor:
                cursor.execute(sql, (self.lock_name,))
                row = cursor.fetchone()
        except Exception:
            self._close()
            raise
        return None if row is None else row[0]

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already broken: nothing to tell the server
                log.debug("closing the leader lock connection failed", exc_info=True)

    def _details(self) -> dict[str, Any]:
        return {"lock": self.lock_name, "server": self._server}
