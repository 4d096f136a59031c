"""Check REST responses against the OpenAPI contract (``workscript_jupyter/server/openapi.yaml``).

Use it from any test::

    from tests.server.openapi_check import check_response, check_fetch

    body = check_response("GET", "/workscript/workflows/{id}", 200, response.body)
    body = check_fetch("POST", "/workscript/workflows", response)  # a tornado/httpx response

or through the ``openapi_check`` fixture (``openapi_check(method, path, status, body)``): import
it into a test module or a conftest.py (``from tests.server.openapi_check import openapi_check``).

``path`` is the spec's template (``/workscript/executions/{id}``) or a concrete path
(``/workscript/executions/3f2c...``, with or without the server's base URL and query string).
The status must be documented for that operation, and the body is validated with ``jsonschema``
(Draft 2020-12, which OpenAPI 3.1 uses) against the response schema, ``$ref`` resolved inside
the document; ``format: date-time`` is checked. A failure is an ``AssertionError`` naming the
operation, the status and the schema path. The parsed body is returned.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from workscript_jupyter.server.openapi import load_spec

__all__ = [
    "check_fetch",
    "check_response",
    "find_operation",
    "openapi_check",
    "spec",
    "validate_schema",
]

_SPEC_ID = "urn:workscript:openapi"
_METHODS = ("get", "put", "post", "delete", "patch", "options", "head")

_formats = FormatChecker()


@_formats.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    datetime.fromisoformat(value)
    return True


@cache
def spec() -> dict[str, Any]:
    """The contract (one parsed copy for the whole session: do not change it)."""
    return load_spec()


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(pattern)


def _normalise_path(path: str) -> str:
    path = urlsplit(path).path or path
    start = path.find("/workscript/")
    if start > 0:  # a base URL in front: /user/alice/workscript/... → /workscript/...
        path = path[start:]
    return path.rstrip("/") or "/"


def find_operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """``(template, operation)`` of ``method`` on ``path`` (a template or a concrete path)."""
    paths: dict[str, Any] = spec()["paths"]
    verb = method.lower()
    path = _normalise_path(path)
    if path in paths:
        template = path
    else:
        matches = [t for t in paths if _template_regex(t).fullmatch(path)]
        # literal routes win over templated ones (/workflows/validate over /workflows/{id})
        matches.sort(key=lambda t: (t.count("{"), -len(t)))
        assert matches, f"{path} is not a path of the OpenAPI document"
        template = matches[0]
    operation = paths[template].get(verb)
    assert isinstance(operation, dict), (
        f"{method.upper()} {template} is not in the OpenAPI document"
    )
    return template, operation


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a ``$ref`` to a component (responses are referenced, not inlined)."""
    seen = 0
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = spec()
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
        seen += 1
        assert seen < 20, f"$ref loop at {ref}"
    return node


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@cache
def _validator(template: str, verb: str, status: str) -> Draft202012Validator | None:
    """A validator for the JSON body of one response, or None when it documents no body."""
    response = _resolve(spec()["paths"][template][verb]["responses"][status])
    content = response.get("content") or {}
    if "application/json" not in content:
        return None
    # The schema is reached through a $ref into the whole document, so every
    # "#/components/schemas/..." inside resolves against it.
    location = _pointer("paths", template, verb, "responses", status)
    if "$ref" in spec()["paths"][template][verb]["responses"][status]:
        ref = spec()["paths"][template][verb]["responses"][status]["$ref"]
        location = ref[2:]
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _SPEC_ID,
        "$ref": f"#/{location}/content/application~1json/schema",
        "paths": spec()["paths"],
        "components": spec()["components"],
    }
    Draft202012Validator.check_schema(content["application/json"]["schema"])
    return Draft202012Validator(document, format_checker=_formats)


def _parse(body: Any) -> Any:
    if isinstance(body, bytes | bytearray | memoryview):
        body = bytes(body).decode("utf-8")
    if isinstance(body, str):
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except json.JSONDecodeError as error:
            raise AssertionError(f"the body is not JSON ({error}): {body[:200]!r}") from None
    return body


def check_response(method: str, path_template: str, status: int, body: Any) -> Any:
    """Assert that ``body`` (bytes, str or parsed JSON) is what the contract says
    ``method path_template`` answers with ``status``; return the parsed body."""
    template, operation = find_operation(method, path_template)
    verb = method.lower()
    documented = operation.get("responses", {})
    key = str(status)
    assert key in documented, (
        f"{method.upper()} {template} answered {status}, which the OpenAPI document does not "
        f"list (it lists {', '.join(sorted(documented))})"
    )
    parsed = _parse(body)
    validator = _validator(template, verb, key)
    if validator is None:
        assert parsed is None, (
            f"{method.upper()} {template} {status} documents no body, got {str(parsed)[:200]}"
        )
        return parsed
    errors = sorted(validator.iter_errors(parsed), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [
            f"- at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            f" (schema {'/'.join(map(str, e.absolute_schema_path))})"
            for e in errors[:10]
        ]
        raise AssertionError(
            f"{method.upper()} {template} {status}: the body does not match the OpenAPI "
            f"schema:\n" + "\n".join(lines) + f"\nbody: {json.dumps(parsed)[:1000]}"
        )
    return parsed


def check_fetch(method: str, path_template: str, response: Any) -> Any:
    """``check_response`` on a tornado ``HTTPResponse`` / ``HTTPClientError`` or an httpx
    ``Response``: the status and body are read from it."""
    inner = getattr(response, "response", None)  # tornado's HTTPClientError carries one
    if inner is not None and not hasattr(response, "body"):
        response = inner
    status = getattr(response, "code", None)
    if status is None:
        status = response.status_code
    body = response.body if hasattr(response, "body") else response.content
    return check_response(method, path_template, int(status), body)


def validate_schema(name: str, instance: Any) -> None:
    """Validate ``instance`` against ``#/components/schemas/<name>`` (e.g. a WebSocket message)."""
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _SPEC_ID,
        "$ref": f"#/components/schemas/{name}",
        "components": spec()["components"],
    }
    try:
        Draft202012Validator(document, format_checker=_formats).validate(instance)
    except jsonschema.ValidationError as error:
        raise AssertionError(f"not a {name}: {error.message}") from None


@pytest.fixture
def openapi_check() -> Any:
    """``openapi_check(method, path_template, status, body)`` → the parsed, validated body."""
    return check_response
