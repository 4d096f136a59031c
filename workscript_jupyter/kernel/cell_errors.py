"""Validation errors of a cell, each with the line of the cell its JSON pointer points at."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ValidationIssue

__all__ = ["format_issues", "pointer_lines"]


def pointer_lines(text: str) -> dict[str, int]:
    """JSON pointer → 1-based line in ``text`` (JSON or YAML), for every node of the document.

    JSON is (nearly) YAML, so one YAML composer serves both; if the text does not compose,
    no line is known and errors are shown without one.
    """
    import yaml

    from ..engine.documents import compose_yaml
    from ..errors import DocumentError

    try:
        root = compose_yaml(text)  # bounded: a deep or alias-bomb cell has no lines
    except (yaml.YAMLError, DocumentError):
        return {}
    lines: dict[str, int] = {}
    stack: list[tuple[Any, str]] = [(root, "")] if root is not None else []
    while stack:
        node, pointer = stack.pop()
        lines.setdefault(pointer, node.start_mark.line + 1)  # a key's line wins over its value's
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = str(key.value).replace("~", "~0").replace("/", "~1")
                lines[f"{pointer}/{name}"] = key.start_mark.line + 1
                stack.append((value, f"{pointer}/{name}"))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                stack.append((item, f"{pointer}/{index}"))
    return lines


def _line_of(pointer: str, lines: dict[str, int]) -> int | None:
    """The line of ``pointer``, or of its nearest ancestor (a missing field's parent)."""
    while True:
        if pointer in lines:
            return lines[pointer]
        if not pointer:
            return None
        pointer = pointer.rsplit("/", 1)[0]


def format_issues(issues: Sequence[ValidationIssue], text: str, *, line_offset: int = 0) -> str:
    """One line per issue: ``line 3, /workflow/0/math/values: message [CODE]``.

    ``line_offset`` counts lines above ``text`` (a cell's ``%%workflow`` line).
    """
    lines = {pointer: line + line_offset for pointer, line in pointer_lines(text).items()}
    count = len(issues)
    out = [f"invalid workflow: {count} error{'s' if count != 1 else ''}"]
    for issue in issues:
        line = _line_of(issue.path, lines)
        where = f"line {line}, " if line is not None else ""
        out.append(f"  {where}{issue.path or '/'}: {issue.message} [{issue.code}]")
    return "\n".join(out)
