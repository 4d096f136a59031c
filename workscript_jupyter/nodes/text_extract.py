"""The extractText node: emails, URLs, phone numbers or custom patterns out of a text (§6).

``field`` is a dotted path into the state, as in the original. Patterns are JavaScript-style
regular expressions run through ``text_regex`` on the bounded matcher (``patterns.py``): length
limits, time limits, and off the event loop.
"""

from __future__ import annotations

from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from .common import MISSING, error_edge, get_dotted, is_number, js_string
from .patterns import off_loop
from .text_regex import (
    PATTERN_RULES,
    PatternError,
    UserRegex,
    check_text,
    compile_user_regex,
)

__all__ = ["ExtractTextNode"]

_METHODS = ("regex", "between", "extractAll", "extractSpecific")
_TYPES = ("email", "url", "phone", "custom")
_PREDEFINED = {
    "email": r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}",
    "url": r"https?://[^\s]+",
    "phone": r"(\+?1?[-.\s]?)?\(?\d{3}\)?[-.\s]?\d{3}[-.\s]?\d{4}",
}


def _first_group_or_match(match: Any) -> str:
    """The first capture group when the pattern has one and it took part, else the match."""
    if match.re.groups and match.group(1) is not None:
        return str(match.group(1))
    return str(match.group(0))


def _pattern_for(extract_type: Any, params: dict[str, Any]) -> tuple[UserRegex, bool]:
    """The regex for an extractType, and whether it is the user's own (custom)."""
    if extract_type == "custom":
        if not params.get("pattern"):
            raise PatternError("Custom extract type requires pattern parameter")
        return compile_user_regex(params["pattern"], params.get("flags")), True
    if extract_type not in _PREDEFINED:
        raise PatternError(
            f"Invalid extractType: {extract_type}. Expected: email, url, phone, or custom"
        )
    return compile_user_regex(_PREDEFINED[extract_type], "g", param="extractType"), False


def _extract(method: str, text: str, params: dict[str, Any]) -> str | list[str]:
    """What the method finds: a list, or one string for extractSpecific ("" for none)."""
    if method == "regex":
        if not params.get("pattern"):
            raise PatternError("Missing required parameter for regex method: pattern")
        regex = compile_user_regex(params["pattern"], params.get("flags"))
        return [_first_group_or_match(m) for m in regex.matches(text)]
    if method == "between":
        start, end = params.get("startDelimiter"), params.get("endDelimiter")
        if not start or not end or not isinstance(start, str) or not isinstance(end, str):
            raise PatternError(
                "Missing required parameters for between method: startDelimiter and endDelimiter"
            )
        return _between(text, start, end)
    regex, custom = _pattern_for(params.get("extractType", "custom"), params)
    if method == "extractAll":
        if custom:
            return [_first_group_or_match(m) for m in regex.matches(text)]
        return list(dict.fromkeys(m.group(0) for m in regex.matches(text)))
    occurrence = params.get("occurrence", 0)
    if not is_number(occurrence) or occurrence < 0 or int(occurrence) != occurrence:
        raise PatternError(f"occurrence must be a non-negative integer, got {occurrence!r}")
    found = [str(m.group(0)) for m in regex.matches(text)]
    return found[int(occurrence)] if int(occurrence) < len(found) else ""


def _between(text: str, start: str, end: str) -> list[str]:
    """Every text between start and end, shortest first, not across lines (as ``.*?``)."""
    found, position = [], 0
    while (begin := text.find(start, position)) != -1:
        inner = begin + len(start)
        close = text.find(end, inner)
        if close == -1 or "\n" in text[inner:close] or "\r" in text[inner:close]:
            position = begin + 1
            continue
        found.append(text[inner:close])
        position = close + len(end)
    return found


class ExtractTextNode(Node):
    metadata = NodeMetadata(
        id="extractText",
        name="Extract Text",
        category="data",
        description=(
            "Extracts text from the state value at field (a dotted path): regex (first capture "
            "group, else the match), between two delimiters, extractAll (email/url/phone "
            "deduplicated, or a custom pattern) or extractSpecific (the occurrence-th match). "
            f"Patterns: {PATTERN_RULES}."
        ),
        inputs=(
            ParamSpec("method", "string", "how to extract", True, choices=_METHODS),
            ParamSpec("field", "string", "dotted state path of the text", True),
            ParamSpec("pattern", "string", "regex / custom: the regular expression"),
            ParamSpec("flags", "string", "regex flags: g, i, m, s (u ignored)", default="g"),
            ParamSpec("startDelimiter", "string", "between: text before"),
            ParamSpec("endDelimiter", "string", "between: text after"),
            ParamSpec(
                "extractType", "string", "predefined pattern", default="custom", choices=_TYPES
            ),
            ParamSpec("occurrence", "number", "extractSpecific: 0-based match index", default=0),
            ParamSpec("outputField", "string", "state key for the result", default="extractedText"),
        ),
        outputs=("extractedText", "<outputField>"),
        edges=("success", "not_found", "error"),
        example={"method": "extractAll", "field": "message", "extractType": "email"},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        method, field = params.get("method"), params.get("field")
        output = params.get("outputField", "extractedText")
        if method not in _METHODS:
            problem = "Missing required parameter: method" if not method else "Invalid method"
            return error_edge(
                problem, expected="|".join(_METHODS), received=method, nodeId=ctx.node_id
            )
        if not field or not isinstance(field, str):
            return error_edge(f"Missing required parameter: field, got {field!r}")
        if not output or not isinstance(output, str):
            return error_edge(f"outputField must be a state key, got {output!r}")
        value = get_dotted(ctx.state, field)
        if value is MISSING or value is None:
            message = f"Field '{field}' not found in state"
            return Edge("not_found", {"field": field, "message": message, "nodeId": ctx.node_id})
        text = js_string(value)
        try:
            check_text(text, "field")
            if method == "between":  # plain text search: no pattern, no thread hop
                extracted = _extract(method, text, params)
            else:
                extracted = await off_loop(ctx, lambda: _extract(method, text, params))
        except PatternError as exc:
            return error_edge(str(exc), nodeId=ctx.node_id, method=method, field=field)
        if not extracted:
            ctx.state["extractedText"] = []
            ctx.state[output] = []
            data = {"field": field, "method": method, "message": "No matches found", "count": 0}
            return Edge("not_found", data)
        ctx.state["extractedText"] = extracted
        ctx.state[output] = extracted
        count = 1 if isinstance(extracted, str) else len(extracted)
        return Edge(
            "success", {"extracted": extracted, "matches": count, "field": field, "method": method}
        )
