"""Persistence: the SQL gateway the ``database`` node uses (the workflow store comes later).

The store may import only ``workscript_jupyter.engine`` and ``workscript_jupyter.errors``.
"""

from __future__ import annotations

from ..errors import (
    DatabaseGatewayError,
    DatabaseQueryError,
    DatabaseUnavailableError,
    MissingDriverError,
    UnknownColumnError,
    UnknownTableError,
)
from .sql_gateway import SqlDatabaseGateway

__all__ = [
    "DatabaseGatewayError",
    "DatabaseQueryError",
    "DatabaseUnavailableError",
    "MissingDriverError",
    "SqlDatabaseGateway",
    "UnknownColumnError",
    "UnknownTableError",
]
