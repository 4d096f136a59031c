"""The JSON Schema of a workflow document's envelope, and its check.

The steps themselves are checked by ``parse`` (see there why). The envelope is checked twice
over, for speed: ``envelope_is_valid`` is the schema compiled into plain Python predicates
(microseconds, no import), and only a document it does not accept goes to ``jsonschema``, which
words the errors (importing it costs a tenth of a second or more, which a valid workflow should
not pay). The compiled check is conservative: it may send a valid document on to ``jsonschema``
(``5.0`` as an integer), never pass an invalid one; a test holds it to ``jsonschema``'s verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from ..errors import ValidationIssue

__all__ = ["WORKFLOW_SCHEMA", "compile_envelope", "envelope_is_valid", "schema_issues", "type_name"]

WORKFLOW_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Workscript workflow",
    "type": "object",
    "required": ["id", "name", "version", "workflow"],
    "properties": {
        "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
        "name": {"type": "string", "minLength": 1},
        "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
        "description": {"type": "string"},
        "initialState": {"type": "object"},
        "workflow": {"type": "array", "minItems": 1},
        "maxLoopIterations": {"type": "integer", "minimum": 1},
        "timeoutSeconds": {"type": "number", "exclusiveMinimum": 0},
        "onUnhandledError": {"enum": ["continue", "fail"]},
    },
}

_FRIENDLY: Final = {
    ("id", "pattern"): "id may contain only letters, digits, _ and - (^[A-Za-z0-9_-]+$)",
    ("name", "minLength"): "name cannot be empty",
    ("version", "pattern"): "version must look like 1.0.0 (major.minor.patch)",
    ("workflow", "minItems"): "workflow must contain at least one step",
    ("onUnhandledError", "enum"): 'onUnhandledError must be "continue" or "fail"',
}

Check = Callable[[Any], bool]

# the JSON types jsonschema ignores a numeric bound on (True is no number to it)
_NOT_NUMBERS: Final = (str, list, dict, bool, type(None))


def _type_check(kind: str) -> Check | None:
    """The "type" keyword: exact types where jsonschema accepts more (5.0 is an integer to it,
    an IntEnum member or a Decimal a number), so that those go on to jsonschema."""
    return {
        "string": lambda v: isinstance(v, str),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "integer": lambda v: type(v) is int,
        "number": lambda v: type(v) is int or type(v) is float,
    }.get(kind)


def _bound(holds: Callable[[Any], bool]) -> Check:
    """A numeric bound: met by an int or float that ``holds`` (NaN never does), ignored for
    non-numbers as jsonschema ignores it; any other number goes on to jsonschema."""

    def check(v: Any) -> bool:
        if type(v) is int or type(v) is float:
            return holds(v)
        return isinstance(v, _NOT_NUMBERS)

    return check


def _keyword_check(keyword: str, value: Any) -> Check | None:
    """``keyword: value`` of a property's schema as a predicate that holds only where
    jsonschema reports nothing; None for a keyword not compiled here."""
    if keyword == "type" and isinstance(value, str):
        return _type_check(value)
    if keyword == "pattern":
        search = re.compile(value).search  # jsonschema searches too: "$" also before a final \n
        return lambda v: not isinstance(v, str) or search(v) is not None
    if keyword == "minLength":
        return lambda v: not isinstance(v, str) or len(v) >= value
    if keyword == "minItems":
        return lambda v: not isinstance(v, list) or len(v) >= value
    if keyword == "minimum":
        return _bound(lambda v: v >= value)
    if keyword == "exclusiveMinimum":
        return _bound(lambda v: v > value)
    if keyword == "enum" and all(isinstance(choice, str) for choice in value):
        choices = frozenset(value)
        return lambda v: isinstance(v, str) and v in choices
    return None


def compile_envelope(schema: dict[str, Any]) -> Callable[[dict[str, Any]], bool] | None:
    """``schema`` (an object schema with ``required`` and ``properties``) as one predicate over
    a dict that holds only where jsonschema finds no error; None when the schema uses a keyword
    not compiled here."""
    if set(schema) - {"$schema", "title", "type", "required", "properties"}:
        return None
    if schema.get("type") != "object":
        return None
    properties: list[tuple[str, tuple[Check, ...]]] = []
    for name, subschema in schema.get("properties", {}).items():
        checks = [_keyword_check(keyword, value) for keyword, value in subschema.items()]
        if None in checks:
            return None
        properties.append((name, tuple(c for c in checks if c is not None)))
    required = tuple(schema.get("required", ()))

    def envelope_is_valid(document: dict[str, Any]) -> bool:
        for name in required:
            if name not in document:
                return False
        for name, checks in properties:
            if name in document:
                value = document[name]
                for check in checks:
                    if not check(value):
                        return False
        return True

    return envelope_is_valid


envelope_is_valid: Final = compile_envelope(WORKFLOW_SCHEMA)


_validator: Any = None


def _get_validator() -> Any:
    global _validator
    if _validator is None:
        from jsonschema import Draft202012Validator

        _validator = Draft202012Validator(WORKFLOW_SCHEMA)
    return _validator


def schema_issues(document: Any) -> list[ValidationIssue]:
    """One issue per location where the envelope breaks the schema."""
    if not isinstance(document, dict):
        return [ValidationIssue("", "a workflow document must be a JSON object", _CODE)]
    if envelope_is_valid is not None and envelope_is_valid(document):
        return []
    seen: set[str] = set()
    issues: list[ValidationIssue] = []
    errors = sorted(_get_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    for error in errors:
        parts = [str(p) for p in error.absolute_path]
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else "?"
            parts.append(missing)
            message = f"missing required field {missing!r}"
        else:
            field = parts[0] if parts else ""
            message = _FRIENDLY.get((field, str(error.validator))) or _describe(field, error)
        path = "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)
        if path not in seen:
            seen.add(path)
            issues.append(ValidationIssue(path, message, _CODE))
    return issues


_CODE: Final = "SCHEMA_VALIDATION_ERROR"


def _describe(field: str, error: Any) -> str:
    if error.validator == "type":
        expected = error.validator_value
        found = type_name(error.instance)
        return f"{field or 'the document'} must be {_article(expected)}, not {found}"
    return f"{field}: {error.message}" if field else error.message


def _article(kind: Any) -> str:
    if isinstance(kind, list):
        return " or ".join(_article(k) for k in kind)
    return {"object": "an object", "array": "an array", "integer": "an integer"}.get(
        kind, f"a {kind}"
    )


def type_name(value: Any) -> str:
    """How a JSON value is named in messages: "a string", "an array", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
