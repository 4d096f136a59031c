"""Persistence: the store (workflows, runs, automations, users...) and the database node's gateway.

``base`` holds the interface (the ``Store`` facade; one module per family in ``interfaces``),
``records`` the values, ``tables`` the schema; ``memory`` and ``sql`` are the two backends,
checked by one contract suite. The store may import only
``workscript_jupyter.engine`` and ``workscript_jupyter.errors``.
"""

from __future__ import annotations

from ..errors import (
    ConflictError,
    DatabaseGatewayError,
    DatabaseQueryError,
    DatabaseUnavailableError,
    FireAlreadyClaimedError,
    MissingDriverError,
    RecordNotFoundError,
    StoreError,
    StoreUnavailableError,
    UnknownColumnError,
    UnknownTableError,
)
from .base import Store
from .records import Page, Scope, new_id, utcnow
from .sql_gateway import SqlDatabaseGateway

__all__ = [
    "ConflictError",
    "DatabaseGatewayError",
    "DatabaseQueryError",
    "DatabaseUnavailableError",
    "FireAlreadyClaimedError",
    "MissingDriverError",
    "Page",
    "RecordNotFoundError",
    "Scope",
    "SqlDatabaseGateway",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "UnknownColumnError",
    "UnknownTableError",
    "new_id",
    "utcnow",
]
