"""resource-interpolate: fill a template's ``{{$.path}}`` placeholders from the run's state.

The template is one of the owner's resources (read through ``ctx.services.resources``) or
inline text. Placeholders follow the engine's own template rules (``engine/state.py``): the
same paths as everywhere (``$.a.b``, ``$.items[0].name``), the same text for each value
(``to_text``: numbers as JavaScript writes them, objects and arrays as compact JSON, null as
nothing). Unlike a parameter template, a placeholder whose path leads nowhere is left as it is
and reported in ``unresolved``, as the original does, so a prompt never loses a blank silently.
Nothing is evaluated: a placeholder is a path, never code.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any, Final

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from ..engine.state import MISSING, PATH_PATTERN, get_path, parse_path, to_text
from ..engine.visible_state import visible_state
from ..errors import RecordNotFoundError
from .common import error_edge
from .resources import GATEWAY_ERRORS, gateway_error, needs_server, read_target

__all__ = ["NODES", "ResourceInterpolateNode", "TextTooLong", "interpolate"]

TEXT_TYPES: Final = ("prompt", "document", "data")
# a template longer than this is filled in a thread: a 10 MB resource of a million
# placeholders takes a second or more, which the server's event loop must not wait for
OFF_LOOP_CHARS: Final = 64 * 1024
_PLACEHOLDER: Final = re.compile(r"\{\{\s*(" + PATH_PATTERN + r")\s*\}\}")


class TextTooLong(Exception):
    """The filled text would pass ``max_chars``: raised as soon as it does, before the text
    is built (a few placeholders of a large value must not cost gigabytes)."""

    def __init__(self, size: int, max_chars: int) -> None:
        super().__init__(f"{size} > {max_chars}")
        self.size, self.max_chars = size, max_chars


def interpolate(
    template: str, values: Mapping[str, Any], *, max_chars: int | None = None
) -> tuple[str, dict[str, Any]]:
    """``template`` with each placeholder whose path exists in ``values`` replaced; and the
    stats: how many distinct placeholders were ``found`` and ``replaced``, and the paths left
    ``unresolved`` (``user.name``, without ``$.``), each once, in order.

    ``max_chars``: the longest text it may build; past it ``TextTooLong`` is raised as soon as
    the running length says so. Each distinct placeholder's text is made once (an object
    placeholder repeated a thousand times is serialized once)."""
    found: dict[str, None] = {}
    replaced: dict[str, None] = {}
    unresolved: dict[str, None] = {}
    texts: dict[str, str | None] = {}  # a reference's text (None: its path leads nowhere)
    pieces: list[str] = []
    size = 0
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        reference = match.group(1)
        name = reference[2:]
        found[name] = None
        if reference not in texts:
            value = get_path(values, parse_path(reference))
            texts[reference] = None if value is MISSING else to_text(value)
        text = texts[reference]
        if text is None:
            unresolved[name] = None
            text = match.group(0)
        else:
            replaced[name] = None
        between = template[last : match.start()]
        size += len(between) + len(text)
        if max_chars is not None and size > max_chars:
            raise TextTooLong(size, max_chars)
        pieces.append(between)
        pieces.append(text)
        last = match.end()
    tail = template[last:]
    if max_chars is not None and size + len(tail) > max_chars:
        raise TextTooLong(size + len(tail), max_chars)
    pieces.append(tail)
    stats = {"found": len(found), "replaced": len(replaced), "unresolved": list(unresolved)}
    return "".join(pieces), stats


class ResourceInterpolateNode(Node):
    metadata = NodeMetadata(
        id="resource-interpolate",
        name="Interpolate Resource",
        description=(
            "Fills the {{$.path}} placeholders of a template with state values (server only "
            "for a resource; an inline template works anywhere). The template is your "
            "resource (resourceId, or path among your own; a text type: prompt, document or "
            'data) or inline text (template; write it as a reference, "$.myTemplate", since '
            "the engine fills placeholders of a literal parameter itself). Values come from "
            "the run's state (includeAllState) with the state parameter's keys over it. A "
            "placeholder whose path is missing stays as it is and is listed in unresolved. "
            "Sets interpolatedContent and interpolationStats (null on not_found)."
        ),
        category="resources",
        inputs=(
            ParamSpec("resourceId", "string", "the template resource's id (wins over path)"),
            ParamSpec("path", "string", "the template resource's path"),
            ParamSpec("template", "string", "an inline template instead of a resource"),
            ParamSpec("state", "object", "values that win over the run's state"),
            ParamSpec("includeAllState", "boolean", "use the run's state as values", False, True),
        ),
        outputs=("interpolatedContent", "interpolationStats"),
        edges=("success", "not_found", "error"),
        example={
            "template": "$.greetingTemplate",
            "state": {"name": "Ada"},
            "success?": {"$.prompt": "$.interpolatedContent"},
            "not_found?": "log",
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        explicit = params.get("state")
        if explicit is not None and not isinstance(explicit, Mapping):
            return error_edge(f"state must be an object, got {type(explicit).__name__}")
        include_all = params.get("includeAllState", True)
        if not isinstance(include_all, bool):
            return error_edge(f"includeAllState must be true or false, got {include_all!r}")
        template = params.get("template")
        if template is not None and not isinstance(template, str):
            return error_edge(f"template must be a string, got {type(template).__name__}")
        if template is None:
            loaded = await self._load(ctx, params)
            if isinstance(loaded, Edge):
                return loaded
            template = loaded
        values = {**(visible_state(ctx.state) if include_all else {}), **(explicit or {})}
        cap = getattr(ctx.state, "max_text", None)  # a run's state limit (max_state_mb)
        try:
            if len(template) > OFF_LOOP_CHARS:  # a large template: the event loop serves on
                content, stats = await asyncio.to_thread(
                    interpolate, template, values, max_chars=cap
                )
            else:
                content, stats = interpolate(template, values, max_chars=cap)
        except TextTooLong as too_long:
            return error_edge(
                f"the interpolated text would be more than {too_long.max_chars} characters "
                f"(at least {too_long.size}), more than the run's state may hold",
                code="STATE_TOO_LARGE",
            )
        ctx.state["interpolatedContent"] = content
        ctx.state["interpolationStats"] = stats
        return Edge(
            "success", {"content": content, "placeholders": stats, "originalContent": template}
        )

    async def _load(self, ctx: NodeContext, params: dict[str, Any]) -> str | Edge:
        """The template resource's text, or the edge to take instead."""
        resource_id, path, refused = read_target(params)
        if refused is not None:
            if params.get("resourceId") or params.get("path"):
                return refused  # one was given, of the wrong type
            return error_edge("Missing required parameter: provide resourceId, path or template")
        where = {"resourceId": resource_id} if resource_id else {"path": path}
        gateway = getattr(ctx.services, "resources", None)
        if gateway is None:
            return needs_server(self.metadata.id, **where)
        try:
            metadata, data = await gateway.read(resource_id=resource_id, path=path)
        except RecordNotFoundError:
            ctx.state["interpolatedContent"] = None
            ctx.state["interpolationStats"] = None
            return Edge("not_found", {"error": "Resource not found", **where})
        except GATEWAY_ERRORS as exc:
            return gateway_error(exc, **where)
        if metadata.get("type") not in TEXT_TYPES:
            return error_edge(
                f"Cannot interpolate a resource of type {metadata.get('type')!r}: "
                f"only {', '.join(TEXT_TYPES)}",
                code="INVALID_RESOURCE_TYPE",
                **where,
            )
        try:
            text: str = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            return error_edge(
                "The template resource is not UTF-8 text", code="INVALID_RESOURCE_TYPE", **where
            )
        return text


NODES: tuple[type[Node], ...] = (ResourceInterpolateNode,)
