"""The SQLAlchemy backend of the store: MySQL/MariaDB and SQLite through SQLAlchemy Core.

``SqlStore(engine)`` works on an existing Engine whose schema is in place (Alembic creates it:
``workscript db upgrade``); ``SqlStore.from_url(url)`` also creates the engine with the
project's settings (pool_pre_ping, pool_recycle, SQLite WAL and busy timeout). Records in and
out are the dataclasses of ``store.records``, never ORM rows. Each family lives in its own
module; ``common`` holds the transactions, error translation and paging they share.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import Engine

from ..base import Store
from .ai import SqlAiStore
from .automations import SqlAutomationStore, SqlFireStore
from .common import Database
from .credentials import SqlCredentialStore
from .executions import SqlExecutionStore
from .integrations import SqlIntegrationStore
from .resources import SqlResourceStore
from .users import SqlUserStore
from .workflows import SqlWorkflowStore

__all__ = ["SqlStore"]


class SqlStore(Store):
    """Every store family on one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        db = Database(engine)
        self._db = db
        self.masked_url = db.masked_url
        self.workflows = SqlWorkflowStore(db)
        self.executions = SqlExecutionStore(db)
        self.automations = SqlAutomationStore(db)
        self.fires = SqlFireStore(db)
        self.users = SqlUserStore(db)
        self.credentials = SqlCredentialStore(db)
        self.resources = SqlResourceStore(db)
        self.integrations = SqlIntegrationStore(db)
        self.ai = SqlAiStore(db)

    @classmethod
    def from_url(cls, url: str) -> SqlStore:
        # Imported here: the connection module decides engine settings for the whole project,
        # and this package must import (and be tested) on an engine built by anyone.
        from ..connection import create_store_engine

        return cls(create_store_engine(url))

    def one_transaction(self) -> AbstractContextManager[None]:
        """The calls this thread makes inside the block, as one transaction (``Database``)."""
        return self._db.one_transaction()

    def close(self) -> None:
        """Close the pooled connections (the engine stays usable and reconnects on demand)."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"SqlStore({self.masked_url!r})"
