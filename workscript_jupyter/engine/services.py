"""What nodes may use of the outside world, passed to every node as ``ctx.services``.

The engine defines the shape; the front ends (CLI, server, kernel) build it. Nodes never import
the store, the server or a kernel: the same node works wherever it runs, and a test hands it a
``Services`` pointed at a temporary folder, a local HTTP server or a SQLite file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .net_policy import NetworkPolicy

__all__ = [
    "AIGateway",
    "DatabaseGateway",
    "GoogleGateway",
    "NetworkPolicy",
    "NotebookGateway",
    "ResourceGateway",
    "Services",
]


class DatabaseGateway(Protocol):
    """One named database connection, as the ``database`` node sees it.

    Every value travels as a bound parameter; table and column names are checked against the
    database's own schema before any statement is built. A refused call raises a
    ``DatabaseGatewayError`` (see errors/) whose message is safe to show; the node turns it
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


class NotebookGateway(Protocol):
    """Jupyter kernels, as the ``notebook`` and ``python`` nodes see them.

    ``run_notebook`` runs a notebook (a path inside the run root) headless and returns a JSON
    report: ``status`` ("completed" | "failed"), ``outputs`` (the ``output()`` values),
    ``executedPath``, ``cellsDone``, ``cellsTotal``, ``durationMs`` and ``error`` (None, or a dict
    with ``kind``, ``cellIndex``, ``sourceHead``, ``ename``, ``evalue``, ``traceback``). A request
    that cannot start (bad path, unknown kernel) raises a ``NotebookError``. ``on_progress`` is
    called after each executed code cell with ``cellIndex``, ``cellsDone``, ``cellsTotal``,
    ``status`` and ``durationMs``.

    ``run_python`` runs ``code`` in the kernel of the workflow run ``run_key`` (started on first
    use and reused by later calls of the same run) with ``state`` bound as a dict named
    ``state``, and returns that dict after the code ran. A failure raises a ``WorkscriptError``
    (``PythonCodeError``, with the traceback text). ``close_run`` shuts the run's kernel down;
    the engine calls it when a run ends.
    """

    async def run_notebook(
        self,
        path: str,
        *,
        parameters: Mapping[str, Any],
        kernel: str | None = None,
        timeout: float | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]: ...

    async def run_python(
        self, run_key: str, code: str, state: dict[str, Any]
    ) -> dict[str, Any]: ...

    async def close_run(self, run_key: str) -> None: ...


class ResourceGateway(Protocol):
    """The run owner's resources, as the ``resource-*`` nodes see them (on the server:
    ``service/resources.py``). Metadata travels as JSON dicts in the REST API's shape (``id``,
    ``name``, ``path``, ``type``, ``mimeType``, ``size``, ``checksum``, ``description``, ``tags``,
    ``isPublic``, ``ownerId``, ``createdAt``, ``updatedAt``). A missing resource raises
    ``RecordNotFoundError``; a path taken (create) ``ConflictError``; a refused request
    another ``WorkscriptError`` (or a ``ValueError``) whose message is safe to show (the node
    turns each into an edge)."""

    async def read(
        self, *, resource_id: str | None = None, path: str | None = None
    ) -> tuple[dict[str, Any], bytes]:
        """The resource's metadata and content (the caller's own, or a public one by id)."""
        ...

    async def write(
        self,
        mode: str,
        *,
        content: bytes,
        resource_id: str | None = None,
        path: str | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``mode`` create | update | upsert; ``fields`` the metadata in the REST API's names
        (``name``, ``type``, ``description``, ``tags``, ``isPublic``), applied on update too.
        Returns ``{"result": "created" | "updated", "resource": metadata,
        "previousChecksum": the content's checksum before an update, or None}``."""
        ...

    async def list(self, **filters: Any) -> dict[str, Any]:
        """``{"items": [metadata...], "count", "nextCursor"}`` (``count``: the items on this
        page); filters as the REST list's: ``type``, ``tags``, ``search``, ``path_prefix``,
        ``public``, ``limit``, ``cursor``."""
        ...


class GoogleGateway(Protocol):
    """The run owner's Google connections, as the Google nodes (Gmail, Calendar, Drive) see
    them (on the server: ``service/google_gateway.py``).

    ``connection`` names one: a connection id, or the account's email; None means the owner's
    only connection (AMBIGUOUS_CONNECTION when they have several). Failures raise a
    ``GoogleError`` (errors/outside.py) whose ``code`` the node turns into its edge; no token ever
    reaches a node, the state or an error."""

    async def describe(self, connection: str | None) -> dict[str, Any]:
        """``{"id", "name", "email", "accountName", "scopes", "status"}`` of the connection."""
        ...

    async def call(
        self,
        connection: str | None,
        api: str,
        version: str,
        operation: Callable[[Any], Any],
        *,
        scopes: Sequence[str] = (),
    ) -> Any:
        """``operation(service)`` in a worker thread, where ``service`` is google-api-python-
        client's resource for ``api`` ``version`` (``"gmail", "v1"``), authorized as the
        connection (its tokens refreshed first when they are about to expire). The operation
        runs requests with ``nodes.google_requests.execute(request)`` (quota errors are
        retried with backoff). ``scopes``: the connection must hold one of them (else
        MISSING_SCOPE, before any request). An expired access token refused by Google is
        refreshed once and the operation runs again."""
        ...


class AIGateway(Protocol):
    """Chat completions billed to the run's owner, as ``ask-ai`` sees them (on the server:
    ``service/ai.py``; in a kernel or the CLI: the client itself, with no usage rows).

    ``chat`` returns ``{"id", "content", "model", "usage": {"promptTokens", "completionTokens",
    "totalTokens"}, "cost", "finishReason", "durationMs"}`` (``cost`` in USD, None where nobody
    prices it; ``id`` the provider's, or None). ``messages`` are ``{role, content}`` as the
    node built them (system prompt first); ``options`` use the provider's names
    (``temperature``, ``max_tokens``, ``response_format``...; the direct gateway refuses any
    other, ``integrations.ai_gateway.CHAT_OPTIONS``). With ``on_text`` the answer is
    streamed and ``on_text`` is called with the text so far as it grows. Failures raise an
    ``AIError`` (errors/outside.py; its ``code`` is the original's: INVALID_REQUEST,
    MODEL_NOT_FOUND, RATE_LIMITED, AUTH_FAILED, MISSING_API_KEY, TIMEOUT, BUDGET_EXCEEDED, ...)."""

    async def chat(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        options: Mapping[str, Any],
        execution_id: str = "",
        workflow_id: str = "",
        node_path: str = "",
        on_text: Callable[[str], None] | None = None,
    ) -> dict[str, Any]: ...


@dataclass
class Services:
    """Settings and gateways for one run. Every field has a safe default.

    - ``root_dir``: the only folder ``filesystem`` and ``notebook`` may touch (on a shared
      server: the user's own folder); None refuses every path.
    - ``http_allow`` / ``http_deny``: host patterns for ``fetchApi`` (``example.com``,
      ``*.example.com``, ``127.0.0.1``); deny wins; an empty allow list allows every host.
    - ``network``: which *resolved addresses* outbound requests may connect to (see
      ``engine/net_policy.py``); the default allows all, a shared server denies loopback,
      link-local, private and metadata addresses.
    - ``http_timeout_seconds``: a request's default time limit; ``http_max_timeout_seconds``
      the longest a node's own ``timeout`` may ask for; ``http_max_response_bytes`` the largest
      body read (enforced while streaming).
    - ``databases``: named connections for the ``database`` node.
    - ``notebooks``: Jupyter kernels for the ``notebook`` and ``python`` nodes; None turns
      those nodes off (they take their error edge, with ``notebooks_refusal`` as the message
      when it is set: e.g. code nodes disabled for this user on a shared server).
    - ``resources`` / ``ai`` / ``google``: the owner's resources, AI completions and Google
      connections (the server binds them to each run's owner; a kernel or the CLI may give a
      direct AI client); None: the nodes that need them take their error edge.
    - ``dedupe_history``: ``removeDuplicates`` history, per workflow id, kept across runs of
      this process (the server will keep it in its store).
    """

    root_dir: Path | None = None
    http_allow: tuple[str, ...] = ()
    http_deny: tuple[str, ...] = ()
    http_timeout_seconds: float = 30.0
    http_max_timeout_seconds: float = 300.0
    http_max_response_bytes: int = 20 * 1024 * 1024
    network: NetworkPolicy = field(default_factory=NetworkPolicy)
    databases: Mapping[str, DatabaseGateway] = field(default_factory=dict)
    dedupe_history: dict[str, Any] = field(default_factory=dict)
    notebooks: NotebookGateway | None = None
    notebooks_refusal: str | None = None
    resources: ResourceGateway | None = None
    ai: AIGateway | None = None
    google: GoogleGateway | None = None
