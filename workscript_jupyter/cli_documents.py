"""How the ``workscript`` command reads a workflow or state file: the name decides the parser.

- ``.json``: JSON only. A file that is not JSON is an error, even when it happens to be valid
  YAML (``a: 1`` is a YAML mapping): "FILE: not valid JSON: Expecting value (line 1, column 1)".
- ``.yaml`` / ``.yml``: YAML only (JSON is YAML too, so JSON text in a .yaml file reads).
- standard input or any other name: JSON, else YAML, as ``engine.load_document`` does.

Both go through the bounded readers of ``engine/documents.py`` (depth limit, no NaN/Infinity,
no alias bombs). Every refusal is a ``WorkflowValidationError`` with one ``PARSE_ERROR`` issue,
so ``validate --json`` reports it as it reports any other error.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from .engine.documents import load_json, load_yaml
from .errors import DocumentError, ValidationIssue, WorkflowValidationError

__all__ = ["JSON_SUFFIXES", "YAML_SUFFIXES", "parse_document"]

JSON_SUFFIXES = frozenset({".json"})
YAML_SUFFIXES = frozenset({".yaml", ".yml"})
PARSE_ERROR = "PARSE_ERROR"


def parse_document(text: str, *, source: str, suffix: str = "") -> dict[str, Any]:
    """The object in ``text``; ``suffix`` (``.json``, ``.yaml``...) picks the parser."""
    suffix = suffix.lower()
    if suffix in JSON_SUFFIXES:
        document = _json(text, source)
    elif suffix in YAML_SUFFIXES:
        document = _yaml(text, source)
    else:
        from .engine import load_document  # JSON, else YAML, worded for either

        return load_document(text, source=source)
    if not isinstance(document, dict):
        kind = type(document).__name__ if document is not None else "nothing"
        _fail(f"{source}: a workflow is an object, found {kind}")
    return document


def _json(text: str, source: str) -> Any:
    try:
        return load_json(text, source=source)
    except DocumentError as exc:
        syntax = _json_syntax_error(text)
        if syntax is None:  # too deep, NaN...: the reader's own words
            _fail(exc.message)
        _fail(
            f"{source}: not valid JSON: {syntax.msg} (line {syntax.lineno}, column {syntax.colno})"
        )


def _json_syntax_error(text: str) -> json.JSONDecodeError | None:
    """The syntax error of text the bounded reader refused, if that was why (else None)."""
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return error
    except (RecursionError, ValueError):
        return None
    return None


def _yaml(text: str, source: str) -> Any:
    import yaml

    try:
        return load_yaml(text, source=source)
    except DocumentError as exc:
        _fail(exc.message)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        _fail(f"{source}: not valid YAML: {problem}{where}")


def _fail(message: str) -> NoReturn:
    raise WorkflowValidationError([ValidationIssue("", message, PARSE_ERROR)])
