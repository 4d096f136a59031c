"""What nodes may use of the outside world, passed to every node as ``ctx.services``.

The engine defines the shape; the front ends (CLI, server, kernel) build it. Nodes never import
the store, the server or a kernel: the same node works wherever it runs, and a test hands it a
``Services`` pointed at a temporary folder, a local HTTP server or a SQLite file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = ["DatabaseGateway", "Services"]


class DatabaseGateway(Protocol):
    """One named database connection, as the ``database`` node sees it.

    Every value travels as a bound parameter; table and column names are checked against the
    database's own schema before any statement is built. A refused call raises a
    ``DatabaseGatewayError`` (see errors.py) whose message is safe to show; the node turns it
    into its ``error`` edge.
    """

    async def insert(self, table: str, data: Mapping[str, Any]) -> dict[str, Any]: ...

    async def find(self, table: str, where: Mapping[str, Any]) -> dict[str, Any] | None: ...

    async def list(
        self,
        table: str,
        where: Mapping[str, Any],
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: Sequence[str] = (),
    ) -> list[dict[str, Any]]: ...

    async def update(
        self, table: str, where: Mapping[str, Any], data: Mapping[str, Any]
    ) -> int: ...

    async def delete(self, table: str, where: Mapping[str, Any]) -> int: ...

    async def query(
        self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> dict[str, Any]: ...


@dataclass
class Services:
    """Settings and gateways for one run. Every field has a safe default.

    - ``root_dir``: the only folder ``filesystem`` (and later ``notebook``) may touch; None
      refuses every path.
    - ``http_allow`` / ``http_deny``: host patterns for ``fetchApi`` (``example.com``,
      ``*.example.com``, ``127.0.0.1``); deny wins; an empty allow list allows every host.
    - ``databases``: named connections for the ``database`` node.
    - ``dedupe_history``: ``removeDuplicates`` history, per workflow id, kept across runs of
      this process (the server will keep it in its store).
    """

    root_dir: Path | None = None
    http_allow: tuple[str, ...] = ()
    http_deny: tuple[str, ...] = ()
    http_timeout_seconds: float = 30.0
    http_max_response_bytes: int = 20 * 1024 * 1024
    databases: Mapping[str, DatabaseGateway] = field(default_factory=dict)
    dedupe_history: dict[str, Any] = field(default_factory=dict)
