"""ask-ai's JSON answers: the ``response_format`` to ask with, the answer read as JSON, and the
check against the node's ``jsonSchema``.

The schema is bounded (``MAX_SCHEMA_CHARS`` of JSON) and checked before the model is asked, so
a broken schema costs no tokens. The answer is read by the engine's bounded JSON reader (depth,
NaN) after a surrounding Markdown code fence is dropped (models add one even in JSON mode),
then validated with validateData's JSON Schema support (its patterns on the bounded matcher).
Both happen off the event loop (a long answer is read in a thread): a 10 MB answer against a
large schema must not stall a server.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from typing import Any, Final

from ..engine import NodeContext
from ..engine.documents import load_json
from ..errors import DocumentError
from .patterns import PatternLimitError, off_loop
from .validation_schema import BadSchema, schema_problems

__all__ = [
    "JSON_INSTRUCTION",
    "MAX_REPORTED_PROBLEMS",
    "MAX_SCHEMA_CHARS",
    "AnswerProblem",
    "check_schema",
    "parse_answer",
    "response_format",
]

MAX_SCHEMA_CHARS: Final = 64 * 1024
MAX_REPORTED_PROBLEMS: Final = 10
OFF_LOOP_CHARS: Final = 64 * 1024  # a longer answer is read in a thread
# OpenAI-style JSON mode refuses a request whose messages never say "JSON"
JSON_INSTRUCTION: Final = "Answer with one JSON value and nothing else: no prose, no code fence."
_FENCE: Final = re.compile(r"\A\s*```[A-Za-z0-9_-]*[ \t]*\r?\n(.*?)\r?\n\s*```\s*\Z", re.DOTALL)


class AnswerProblem(Exception):
    """The answer cannot be used: ``code`` (INVALID_JSON, SCHEMA_MISMATCH, INVALID_SCHEMA)
    and the ``extra`` fields of the error edge."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


def response_format(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """``json_schema`` with the schema, else ``json_object``."""
    if schema is None:
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {"name": "response", "schema": dict(schema)}}


async def check_schema(ctx: NodeContext, schema: Any) -> None:
    """Refuse a ``jsonSchema`` that is not an object, is too large, or is no JSON Schema. The
    size is measured off the event loop too: a schema from the state may be tens of MB."""
    if not isinstance(schema, Mapping):
        raise AnswerProblem(
            "INVALID_SCHEMA", f"jsonSchema must be a JSON Schema object, got {_kind(schema)}"
        )
    if _longer_than(schema, MAX_SCHEMA_CHARS):  # before serialising a huge one
        raise AnswerProblem(
            "INVALID_SCHEMA",
            f"jsonSchema is more than {MAX_SCHEMA_CHARS} characters of JSON; at most "
            f"{MAX_SCHEMA_CHARS} are allowed",
        )
    try:
        await off_loop(ctx, lambda: _check_schema(dict(schema)))
    except (BadSchema, PatternLimitError) as problem:
        raise AnswerProblem("INVALID_SCHEMA", f"jsonSchema: {problem}") from None


def _longer_than(value: Any, limit: int) -> bool:
    """Whether ``value`` as JSON is surely longer than ``limit`` characters: a walk that adds
    up a lower bound of its length and stops as soon as it passes the limit, so a schema of
    50 MB costs no more than one of 64 kB (``json.dumps`` would hold the GIL for the whole)."""
    size = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item) + 2
        elif isinstance(item, Mapping):
            size += 2 + sum(len(str(key)) + 3 for key in item)
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            size += 2 + len(item)
            stack.extend(item)
        else:
            size += 1
        if size > limit:
            return True
    return False


def _check_schema(schema: dict[str, Any]) -> None:
    """In a pattern thread: the schema's size, then the schema itself."""
    try:
        size = len(json.dumps(schema, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as problem:
        raise AnswerProblem("INVALID_SCHEMA", f"jsonSchema is not JSON: {problem}") from None
    if size > MAX_SCHEMA_CHARS:
        raise AnswerProblem(
            "INVALID_SCHEMA",
            f"jsonSchema is {size} characters of JSON; at most {MAX_SCHEMA_CHARS} are allowed",
        )
    schema_problems(None, schema)


async def parse_answer(ctx: NodeContext, text: str, schema: Mapping[str, Any] | None) -> Any:
    """The answer as a JSON value, checked against ``schema`` when there is one."""
    fenced = _FENCE.match(text)
    body = fenced.group(1) if fenced else text
    if not body.strip():
        raise AnswerProblem("INVALID_JSON", "the model's answer is empty, not JSON")
    try:
        if len(body) > OFF_LOOP_CHARS:  # a 7 MB answer takes a second to read and check
            value = await asyncio.to_thread(load_json, body, source="the model's answer")
        else:
            value = load_json(body, source="the model's answer")
    except DocumentError as problem:
        raise AnswerProblem("INVALID_JSON", problem.message) from None
    if schema is None:
        return value
    try:
        problems = await off_loop(ctx, lambda: schema_problems(value, dict(schema)))
    except (BadSchema, PatternLimitError) as problem:
        raise AnswerProblem("INVALID_SCHEMA", f"jsonSchema: {problem}") from None
    if problems:
        first = problems[0]
        where = first["pointer"] or "the root"
        raise AnswerProblem(
            "SCHEMA_MISMATCH",
            f"the model's answer does not match jsonSchema at {where}: {first['error']}",
            path=first["pointer"],
            problems=[_shown(p) for p in problems[:MAX_REPORTED_PROBLEMS]],
            problemCount=len(problems),
            json=value,
        )
    return value


def _shown(problem: Mapping[str, Any]) -> dict[str, Any]:
    """A schema problem without the offending value (it may be large; the answer is given)."""
    return {key: problem[key] for key in ("pointer", "field", "error", "keyword", "schemaPath")}


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    return type(value).__name__ if value is not None else "null"
