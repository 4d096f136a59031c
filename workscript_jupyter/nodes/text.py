"""Text nodes: stringOperations, extractText, jsonExtract (§6).

``stringOperations`` is here; ``extractText`` lives in ``text_extract.py``, ``jsonExtract`` in
``text_json.py``, and the guarded regular expressions both regex nodes use in ``text_regex.py``
(on the bounded matcher of ``patterns.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from .common import MISSING, error_edge, get_dotted, is_number, js_string, set_dotted
from .patterns import off_loop
from .text_extract import ExtractTextNode
from .text_json import JsonExtractNode
from .text_regex import (
    PATTERN_RULES,
    check_text,
    compile_user_regex,
    js_replacement,
)

__all__ = ["NODES", "StringOperationsNode"]

MAX_PADDED_LENGTH = 1_000_000  # pad's length: a typo must not allocate gigabytes

_OPERATIONS = (
    "trim",
    "uppercase",
    "lowercase",
    "capitalize",
    "titleCase",
    "replace",
    "replaceAll",
    "replaceRegex",
    "split",
    "substring",
    "slice",
    "concat",
    "pad",
    "stripHTML",
    "slugify",
)
# operation → (parameter it needs, message when it is missing), as the original words them
_REQUIRED = {
    "replace": ("searchValue", "Replace operation requires searchValue parameter"),
    "replaceAll": ("searchValue", "ReplaceAll operation requires searchValue parameter"),
    "replaceRegex": (
        "searchValue",
        "ReplaceRegex operation requires searchValue parameter (regex pattern)",
    ),
    "split": ("separator", "Split operation requires separator parameter"),
    "substring": ("start", "Substring operation requires start parameter"),
    "slice": ("start", "Slice operation requires start parameter"),
    "concat": ("values", "Concat operation requires values parameter (array of strings)"),
    "pad": ("length", "Pad operation requires length parameter"),
}
_HTML_TAG = re.compile(r"<[^>]*>")
# replaced one after the other, so "&amp;lt;" ends as "<" exactly as in the original
_ENTITIES = (
    ("&nbsp;", " "),
    ("&amp;", "&"),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&quot;", '"'),
    ("&#39;", "'"),
    ("&apos;", "'"),
)
_WHITESPACE = re.compile(r"\s+")
_NOT_SLUG = re.compile(r"[^\w\-]+", re.ASCII)  # JavaScript's \w is ASCII-only
_HYPHENS = re.compile(r"-{2,}")


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:].lower()


def _title_case(text: str) -> str:
    return " ".join(_capitalize(word) if word else word for word in text.lower().split(" "))


def _strip_html(text: str) -> str:
    text = _HTML_TAG.sub("", text)
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


def _slugify(text: str) -> str:
    slug = _WHITESPACE.sub("-", text.lower().strip())
    return _HYPHENS.sub("-", _NOT_SLUG.sub("", slug)).strip("-")


def _integer(params: dict[str, Any], name: str) -> int | None:
    """JavaScript's ToIntegerOrInfinity for start/end/length; ValueError for a non-number."""
    if name not in params:
        return None
    value = params[name]
    if not is_number(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number: int = math.trunc(value)
    return number


def _substring(text: str, params: dict[str, Any]) -> str:
    """String.substring: clamps to [0, length] and swaps start and end when reversed."""
    start, end = _integer(params, "start") or 0, _integer(params, "end")
    start = min(max(start, 0), len(text))
    end = len(text) if end is None else min(max(end, 0), len(text))
    return text[min(start, end) : max(start, end)]


def _slice(text: str, params: dict[str, Any]) -> str:
    return text[_integer(params, "start") : _integer(params, "end")]


def _split(text: str, params: dict[str, Any]) -> list[str]:
    separator = js_string(params["separator"])
    return list(text) if separator == "" else text.split(separator)


def _concat(text: str, params: dict[str, Any]) -> str:
    values = params["values"]
    if not isinstance(values, list):
        raise ValueError("Concat operation requires values parameter (array of strings)")
    return text + "".join(js_string(v) for v in values)


def _pad(text: str, params: dict[str, Any]) -> str:
    length = _integer(params, "length") or 0
    if length > MAX_PADDED_LENGTH:
        raise ValueError(f"length must be at most {MAX_PADDED_LENGTH}, got {length}")
    fill, side = js_string(params.get("padChar", " ")), params.get("side", "right")
    missing = length - len(text)
    if missing <= 0 or not fill:
        return text
    # cut to the exact length: the original repeated a multi-character padChar whole
    if side == "left":
        return _fill(fill, missing) + text
    if side == "both":
        return _fill(fill, missing // 2) + text + _fill(fill, missing - missing // 2)
    return text + _fill(fill, missing)


def _fill(fill: str, size: int) -> str:
    return (fill * (size // len(fill) + 1))[:size]


def _replace_regex(text: str, params: dict[str, Any]) -> str:
    check_text(text, "field")
    regex = compile_user_regex(params["searchValue"], "g", param="searchValue")
    return regex.sub(js_replacement(js_string(params.get("replaceValue", ""))), text)


def _replace(text: str, params: dict[str, Any], count: int) -> str:
    search, replacement = js_string(params["searchValue"]), params.get("replaceValue", "")
    return text.replace(search, js_string(replacement), count)


_SIMPLE: dict[str, Callable[[str], Any]] = {
    "trim": str.strip,
    "uppercase": str.upper,
    "lowercase": str.lower,
    "capitalize": _capitalize,
    "titleCase": _title_case,
    "stripHTML": _strip_html,
    "slugify": _slugify,
}
_WITH_PARAMS: dict[str, Callable[[str, dict[str, Any]], Any]] = {
    "replace": lambda text, params: _replace(text, params, 1),
    "replaceAll": lambda text, params: _replace(text, params, -1),
    "split": _split,
    "substring": _substring,
    "slice": _slice,
    "concat": _concat,
    "pad": _pad,
}


class StringOperationsNode(Node):
    metadata = NodeMetadata(
        id="stringOperations",
        name="String Operations",
        category="data",
        description=(
            "Transforms the state value at field (a dotted path, read as text) and writes the "
            "result at outputField (default: field itself) and in stringOperationResult. "
            "replaceRegex takes a JavaScript pattern in searchValue (all matches; $1, $& in "
            f"replaceValue); patterns: {PATTERN_RULES}."
        ),
        inputs=(
            ParamSpec("operation", "string", "the operation", True, choices=_OPERATIONS),
            ParamSpec("field", "string", "dotted state path of the text", True),
            ParamSpec("outputField", "string", "dotted state path for the result (default field)"),
            ParamSpec("searchValue", "string", "replace/replaceAll: text; replaceRegex: pattern"),
            ParamSpec("replaceValue", "string", "replacement", default=""),
            ParamSpec("separator", "string", "split: separator"),
            ParamSpec("start", "number", "substring/slice: start index"),
            ParamSpec("end", "number", "substring/slice: end index (exclusive)"),
            ParamSpec("values", "string[]", "concat: texts to append"),
            ParamSpec("length", "number", "pad: target length"),
            ParamSpec("padChar", "string", "pad: fill text", default=" "),
            ParamSpec(
                "side", "string", "pad: where", default="right", choices=("left", "right", "both")
            ),
        ),
        outputs=("<outputField>", "stringOperationResult"),
        edges=("success", "error"),
        example={"operation": "slugify", "field": "title", "outputField": "slug"},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        operation, field = params.get("operation"), params.get("field")
        if not operation:
            return error_edge("Missing required parameter: operation", nodeId=ctx.node_id)
        if not field or not isinstance(field, str):
            return error_edge(f"Missing required parameter: field, got {field!r}")
        if operation not in _OPERATIONS:
            return error_edge(
                f"Unknown operation: {operation}",
                operation=operation,
                supportedOperations=list(_OPERATIONS),
                nodeId=ctx.node_id,
            )
        needed = _REQUIRED.get(operation)
        if needed and needed[0] not in params:
            return error_edge(needed[1], operation=operation, nodeId=ctx.node_id)
        value = get_dotted(ctx.state, field)
        if value is MISSING or value is None:
            return error_edge(f"Field value is null or undefined: {field}", field=field)
        original = js_string(value)
        output = params.get("outputField") or field
        try:
            if operation == "replaceRegex":  # a user pattern: off the event loop, bounded
                result = await off_loop(ctx, lambda: _replace_regex(original, params))
            else:
                result = self._apply(operation, original, params)
            set_dotted(ctx.state, str(output), result)
        except ValueError as exc:  # PatternError included
            return error_edge(str(exc), operation=operation, field=field, nodeId=ctx.node_id)
        ctx.state["stringOperationResult"] = result
        return Edge(
            "success",
            {"result": result, "field": output, "operation": operation, "originalValue": original},
        )

    @staticmethod
    def _apply(operation: str, text: str, params: dict[str, Any]) -> Any:
        simple = _SIMPLE.get(operation)
        if simple is not None:
            return simple(text)
        return _WITH_PARAMS[operation](text, params)


NODES: tuple[type[Node], ...] = (StringOperationsNode, ExtractTextNode, JsonExtractNode)
