"""resource-read, resource-write, resource-list: the run owner's resources (prompts, documents,
data, images, audio) from a workflow.

The nodes reach resources only through ``ctx.services.resources`` (on the server:
``service/resources.py``, bound to the run's owner; no HTTP, no token in the state). A front
end without it (a kernel, the command line) makes them take their error edge with the code
``NEEDS_SERVER``. ``resource-interpolate`` lives in ``resource_interpolate.py`` and shares the
helpers here.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Final

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from ..engine.documents import load_json
from ..engine.state import to_text
from ..errors import (
    BadRequestError,
    ConflictError,
    RecordNotFoundError,
    WorkscriptError,
)
from .common import error_edge

__all__ = [
    "NODES",
    "RESOURCE_TYPES",
    "ResourceListNode",
    "ResourceReadNode",
    "ResourceWriteNode",
    "gateway_error",
    "needs_server",
    "read_target",
]

RESOURCE_TYPES: Final = ("prompt", "document", "data", "image", "audio")
RESPONSE_TYPES: Final = ("text", "json", "binary")
WRITE_MODES: Final = ("create", "update", "upsert")
PUBLIC_CHOICES: Final = ("include", "exclude", "only")
MAX_LIMIT: Final = 200
# what the gateway raises for a refused request: its message is safe to show
GATEWAY_ERRORS: Final = (WorkscriptError, ValueError, LookupError)


def needs_server(node_id: str, **extra: Any) -> Edge:
    return error_edge(
        f"{node_id} needs the Workscript server: this front end (a kernel or the command "
        "line) has no resource store",
        code="NEEDS_SERVER",
        **extra,
    )


def gateway_error(exc: Exception, **extra: Any) -> Edge:
    """A refused request as the error edge, with the error's own code and message."""
    code = getattr(exc, "code", type(exc).__name__)
    message = getattr(exc, "message", None) or str(exc)
    details = getattr(exc, "details", None)
    more = {"details": details} if details is not None else {}
    return error_edge(message, code=code, **more, **extra)


def read_target(params: Mapping[str, Any]) -> tuple[str | None, str | None, Edge | None]:
    """``resourceId`` (wins) or ``path``, or the error edge saying neither was given."""
    resource_id, path = params.get("resourceId"), params.get("path")
    for name, value in (("resourceId", resource_id), ("path", path)):
        if value is not None and not isinstance(value, str):
            return None, None, error_edge(f"{name} must be a string, got {value!r}")
    if not resource_id and not path:
        return (
            None,
            None,
            error_edge("Missing required parameter: provide either resourceId or path"),
        )
    return resource_id or None, None if resource_id else path, None


def _where(resource_id: str | None, path: str | None) -> dict[str, Any]:
    return {"resourceId": resource_id} if resource_id else {"path": path}


def _content_bytes(content: Any) -> bytes:
    """What ``content`` is stored as: text as UTF-8, an object or array as compact JSON, any
    other value as JavaScript's ``String()`` writes it (the engine's ``to_text``)."""
    try:
        return to_text(content).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequestError("content is not valid Unicode (a lone surrogate)") from None


class ResourceReadNode(Node):
    metadata = NodeMetadata(
        id="resource-read",
        name="Read Resource",
        description=(
            "Reads one of your resources (server only) by resourceId, or by path among your "
            "own (a public resource of another user by its id). responseType text decodes the "
            "bytes as UTF-8, json parses them (the text when they are not JSON), binary gives "
            "them base64. Sets resourceContent and resourceMetadata (both null on not_found)."
        ),
        category="resources",
        inputs=(
            ParamSpec("resourceId", "string", "the resource's id (wins over path)"),
            ParamSpec("path", "string", "the resource's path, e.g. prompts/greeting.md"),
            ParamSpec(
                "responseType", "string", "how to give the content", False, "text", RESPONSE_TYPES
            ),
        ),
        outputs=("resourceContent", "resourceMetadata"),
        edges=("success", "not_found", "error"),
        example={
            "path": "prompts/greeting.md",
            "responseType": "text",
            "success?": {"$.prompt": "$.resourceContent"},
            "not_found?": "log",
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        resource_id, path, refused = read_target(params)
        if refused is not None:
            return refused
        response_type = params.get("responseType", "text")
        if response_type not in RESPONSE_TYPES:
            return error_edge(
                f"Invalid responseType: {response_type!r}", expected=", ".join(RESPONSE_TYPES)
            )
        gateway = getattr(ctx.services, "resources", None)
        if gateway is None:
            return needs_server(self.metadata.id, **_where(resource_id, path))
        try:
            metadata, data = await gateway.read(resource_id=resource_id, path=path)
        except RecordNotFoundError:
            ctx.state["resourceContent"] = None
            ctx.state["resourceMetadata"] = None
            return Edge("not_found", {"error": "Resource not found", **_where(resource_id, path)})
        except GATEWAY_ERRORS as exc:
            return gateway_error(exc, **_where(resource_id, path))
        content = _decode(data, response_type)
        ctx.state["resourceContent"] = content
        ctx.state["resourceMetadata"] = metadata
        return Edge(
            "success",
            {
                "content": content,
                "resource": metadata,
                "mimeType": metadata["mimeType"],
                "size": metadata["size"],
            },
        )


def _decode(data: bytes, response_type: str) -> Any:
    if response_type == "binary":
        return base64.b64encode(data).decode("ascii")
    text = data.decode("utf-8", errors="replace")
    if response_type == "json":
        try:
            return load_json(data, source="the resource")
        except (WorkscriptError, ValueError):
            return text  # not JSON: the text, as the original does
    return text


class ResourceWriteNode(Node):
    metadata = NodeMetadata(
        id="resource-write",
        name="Write Resource",
        description=(
            "Creates or updates one of your resources (server only). mode create needs path "
            "(an existing path is the error edge, code RESOURCE_EXISTS); update needs "
            "resourceId or path (a missing one: code RESOURCE_NOT_FOUND); upsert needs path "
            "and creates or updates. content is stored as UTF-8 text (an object or array as "
            "JSON). The metadata given (name, type, description, tags, isPublic) is applied "
            "on update too. Sets writtenResource and writtenResourceId."
        ),
        category="resources",
        inputs=(
            ParamSpec("mode", "string", "what to do", True, None, WRITE_MODES),
            ParamSpec("resourceId", "string", "the resource to update (update mode)"),
            ParamSpec("path", "string", "the resource's path (create, upsert; or update)"),
            ParamSpec("name", "string", "a display name (default: the path's last name)"),
            ParamSpec("content", "string|object|array|number|boolean", "what to store", True),
            ParamSpec("type", "string", "its kind", False, None, RESOURCE_TYPES),
            ParamSpec("description", "string", "what it is"),
            ParamSpec("tags", "string[]", "up to 20 tags"),
            ParamSpec("isPublic", "boolean", "readable by every user", False, False),
        ),
        outputs=("writtenResource", "writtenResourceId"),
        edges=("created", "updated", "error"),
        example={
            "mode": "upsert",
            "path": "reports/daily.json",
            "content": {"total": 42},
            "type": "data",
            "created?": "log",
            "updated?": "log",
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        mode = params.get("mode")
        if mode is None:
            return error_edge("Missing required parameter: mode", expected=", ".join(WRITE_MODES))
        if mode not in WRITE_MODES:
            return error_edge(f"Invalid mode: {mode!r}", expected=", ".join(WRITE_MODES))
        content = params.get("content")
        if content is None:
            return error_edge("Missing required parameter: content")
        resource_id, path = params.get("resourceId") or None, params.get("path") or None
        if mode in ("create", "upsert") and not path:
            return error_edge(f"Path is required for {mode} mode")
        if mode == "update" and not resource_id and not path:
            return error_edge("Either resourceId or path is required for update mode")
        kind = params.get("type")
        if kind is not None and kind not in RESOURCE_TYPES:
            return error_edge(f"Invalid type: {kind!r}", expected=", ".join(RESOURCE_TYPES))
        fields = {
            name: params[name]
            for name in ("name", "type", "description", "tags", "isPublic")
            if params.get(name) is not None
        }
        where = _where(resource_id, path) if mode == "update" else {"path": path}
        gateway = getattr(ctx.services, "resources", None)
        if gateway is None:
            return needs_server(self.metadata.id, mode=mode, **where)
        try:
            written = await gateway.write(
                mode,
                content=_content_bytes(content),
                resource_id=resource_id,
                path=path,
                fields=fields,
            )
        except ConflictError:
            return error_edge(
                "Resource already exists at this path",
                code="RESOURCE_EXISTS",
                suggestion='Use mode: "update" or "upsert" to modify existing resources',
                **where,
            )
        except RecordNotFoundError:
            return error_edge("Resource not found", code="RESOURCE_NOT_FOUND", **where)
        except GATEWAY_ERRORS as exc:
            return gateway_error(exc, mode=mode, **where)
        resource = written["resource"]
        ctx.state["writtenResource"] = resource
        ctx.state["writtenResourceId"] = resource["id"]
        if written["result"] == "created":
            return Edge("created", {"resource": resource, "resourceId": resource["id"]})
        return Edge(
            "updated",
            {
                "resource": resource,
                "resourceId": resource["id"],
                "previousChecksum": written["previousChecksum"],
            },
        )


class ResourceListNode(Node):
    metadata = NodeMetadata(
        id="resource-list",
        name="List Resources",
        description=(
            "Lists your resources (server only), newest first, without content: filters "
            "type, tags (every one must be on it), search (in the name, path or description, "
            "any case), pathPrefix, public (include: yours and everyone's public ones; "
            "exclude; only), limit and cursor (the nextCursor of the previous page). Sets "
            "resourceList and resourceCount (the items on this page)."
        ),
        category="resources",
        inputs=(
            ParamSpec("type", "string", "only this kind", False, None, RESOURCE_TYPES),
            ParamSpec("tags", "string[]", "only resources with all of these tags"),
            ParamSpec("search", "string", "a piece of the name, path or description"),
            ParamSpec("pathPrefix", "string", "only paths starting with this (exact case)"),
            ParamSpec("public", "string", "whose resources", False, "include", PUBLIC_CHOICES),
            ParamSpec("limit", "integer", f"page size, 1 to {MAX_LIMIT}", False, 50),
            ParamSpec("cursor", "string", "the nextCursor of the previous page"),
        ),
        outputs=("resourceList", "resourceCount"),
        edges=("success", "empty", "error"),
        example={
            "type": "prompt",
            "tags": ["email"],
            "limit": 10,
            "success?": "log",
            "empty?": "log",
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        kind = params.get("type")
        if kind is not None and kind not in RESOURCE_TYPES:
            return error_edge(f"Invalid type: {kind!r}", expected=", ".join(RESOURCE_TYPES))
        limit = params.get("limit", 50)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            return error_edge(
                f"Invalid limit: {limit!r}", expected=f"an integer from 1 to {MAX_LIMIT}"
            )
        tags = params.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            return error_edge(f"tags must be an array of strings, got {tags!r}")
        filters = {
            "type": kind,
            "tags": tags,
            "search": params.get("search"),
            "path_prefix": params.get("pathPrefix"),
            "public": params.get("public", "include"),
            "limit": limit,
            "cursor": params.get("cursor"),
        }
        gateway = getattr(ctx.services, "resources", None)
        if gateway is None:
            return needs_server(self.metadata.id)
        try:
            page = await gateway.list(**filters)
        except GATEWAY_ERRORS as exc:
            return gateway_error(exc)
        items, count, next_cursor = page["items"], page["count"], page["nextCursor"]
        ctx.state["resourceList"] = items
        ctx.state["resourceCount"] = count
        pagination = {"limit": limit, "nextCursor": next_cursor, "hasMore": next_cursor is not None}
        if not items:
            shown = {"type": kind, "tags": tags, "search": filters["search"]}
            return Edge(
                "empty", {"items": [], "count": 0, "pagination": pagination, "filters": shown}
            )
        return Edge("success", {"items": items, "count": count, "pagination": pagination})


NODES: tuple[type[Node], ...] = (ResourceReadNode, ResourceWriteNode, ResourceListNode)
