"""What the Google nodes (Gmail, Calendar, Drive) share: the ``connection`` parameter, the
call through ``ctx.services.google``, the edges of a failure, and the run root for files.

Every Google node takes ``connection`` (a connection id or the account's email; unset: the
owner's only connection) and reaches Google only through the run's ``GoogleGateway``: it never
sees a token, and puts none in the state. A failure is a ``GoogleError`` whose ``code`` picks
the edge (``failure_edge``):

- NOT_FOUND → ``not_found``;
- PERMISSION_DENIED, MISSING_SCOPE → ``permission_denied``;
- QUOTA_EXCEEDED (after the retries with backoff) → ``quota_exceeded``;
- anything else (NO_CONNECTION, NEEDS_CONSENT, INVALID_REQUEST, GOOGLE_UNAVAILABLE...) → ``error``.

The first three are ``FallbackEdge``s: a step that does not configure them takes ``error``
with the same data (``{error, code, reason, status}``), never a silent next step.
``google_metadata`` gives every Google node these edges, ``connection`` and its category.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from ..engine import Edge, FallbackEdge, NodeContext, NodeMetadata, ParamSpec
from ..errors import GoogleError
from .files import PathRefused, resolve_in_root

__all__ = [
    "CALENDAR",
    "CONNECTION_PARAM",
    "DRIVE",
    "FAILURE_EDGES",
    "GMAIL",
    "bad_parameter",
    "call_google",
    "chosen_connection",
    "describe_connection",
    "failure_edge",
    "google_metadata",
    "root_path",
]

CONNECTION_PARAM: Final = ParamSpec(
    "connection",
    "string",
    "the Google connection to act as: its id or the account's email (default: your only one)",
)
FAILURE_EDGES: Final = ("not_found", "permission_denied", "quota_exceeded", "error")
# the APIs the nodes call, and the version of each
GMAIL: Final = ("gmail", "v1")
CALENDAR: Final = ("calendar", "v3")
DRIVE: Final = ("drive", "v3")
_EDGE_OF_CODE: Final = {
    "NOT_FOUND": "not_found",
    "PERMISSION_DENIED": "permission_denied",
    "MISSING_SCOPE": "permission_denied",
    "QUOTA_EXCEEDED": "quota_exceeded",
}
_NO_GATEWAY: Final = (
    "Google is not available here: connect a Google account on the Workscript server and run "
    "the workflow there (in a kernel or the workscript command there are no connections)"
)


def bad_parameter(message: str) -> GoogleError:
    """A parameter the node refuses before anything is sent (the ``error`` edge)."""
    return GoogleError(message, code="INVALID_PARAMETER")


def failure_edge(error: GoogleError) -> Edge:
    """The edge of a failed Google node (see the module docstring)."""
    name = _EDGE_OF_CODE.get(error.code)
    data = error.edge_data()
    return FallbackEdge(name, data) if name is not None else Edge("error", data)


def _gateway(ctx: NodeContext) -> Any:
    gateway = getattr(ctx.services, "google", None)
    if gateway is None:
        raise GoogleError(_NO_GATEWAY, code="GOOGLE_NOT_CONFIGURED")
    return gateway


def google_metadata(
    *,
    id: str,
    name: str,
    description: str,
    inputs: Sequence[ParamSpec],
    outputs: tuple[str, ...],
    example: Mapping[str, Any],
    edges: tuple[str, ...] = (),
) -> NodeMetadata:
    """A Google node's metadata: ``connection`` before its ``inputs``, its edges between
    ``success`` and the failure edges."""
    return NodeMetadata(
        id=id,
        name=name,
        description=description,
        category="google",
        inputs=(CONNECTION_PARAM, *inputs),
        outputs=outputs,
        edges=("success", *edges, *FAILURE_EDGES),
        example=example,
    )


def chosen_connection(params: dict[str, Any], names: Sequence[str] = ("connection",)) -> str | None:
    """The first of ``names`` given: a connection id or an account email (None: the owner's
    only connection)."""
    for name in names:
        value = params.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or len(value) > 320:
            raise bad_parameter(f'Parameter "{name}" must be a connection id or an email')
        return value
    return None


async def call_google(
    ctx: NodeContext,
    params: dict[str, Any],
    api: tuple[str, str],
    operation: Callable[[Any], Any],
    scopes: Sequence[str],
) -> Any:
    """``operation(service)`` on ``api`` (``GMAIL``, ``CALENDAR``, ``DRIVE``) through the run's
    gateway, as the node's ``connection``, with a connection holding one of ``scopes``."""
    name, version = api
    gateway = _gateway(ctx)
    return await gateway.call(chosen_connection(params), name, version, operation, scopes=scopes)


async def describe_connection(ctx: NodeContext, params: dict[str, Any]) -> dict[str, Any]:
    """The connection's id, name, email, account name, scopes and status: never a token."""
    result: dict[str, Any] = await _gateway(ctx).describe(chosen_connection(params))
    return result


def root_path(ctx: NodeContext, raw: Any, param: str) -> Path:
    """``raw`` resolved inside the run's root folder (``..``, absolute paths and symlinks out
    of it refused), or a GoogleError INVALID_PARAMETER naming ``param``."""
    try:
        target, _root = resolve_in_root(getattr(ctx.services, "root_dir", None), raw, param)
    except PathRefused as refused:
        raise bad_parameter(str(refused)) from None
    return target
