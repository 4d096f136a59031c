"""The JSON Schema of a workflow document's envelope, and its check with ``jsonschema``.

The steps themselves are checked by ``parse`` (see there why). ``jsonschema`` is imported on first
use: importing it costs about a second, which commands that never validate should not pay.
"""

from __future__ import annotations

from typing import Any, Final

from ..errors import ValidationIssue

__all__ = ["WORKFLOW_SCHEMA", "schema_issues", "type_name"]

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
