"""cell_errors: each validation issue with the line of the text its JSON pointer points at."""

from __future__ import annotations

from typing import Any

import pytest

from workscript_jupyter.engine import load_document, parse_workflow
from workscript_jupyter.errors import ValidationIssue, WorkflowValidationError
from workscript_jupyter.kernel.cell_errors import format_issues, pointer_lines

JSON_BODY = """\
{
  "id": "j",
  "name": "J",
  "version": "1.0.0",
  "workflow": [
    {"$.a": 1},
    {"mth": {}},
    {"math": {"operation": "add",
              "values": [1, 2],
              "bad key!": 3}}
  ]
}"""

YAML_BODY = """\
id: y
name: Y
version: "1.0.0"
workflow:
  - $.a: 1
  - log:
      message: hi
      _timeoutSeconds: -1
  - mth: {}
"""


def issues_of(text: str, registry: Any) -> tuple[ValidationIssue, ...]:
    with pytest.raises(WorkflowValidationError) as raised:
        parse_workflow(load_document(text, source="cell"), registry)
    return raised.value.issues


def test_json_body_lines(registry: Any) -> None:
    message = format_issues(issues_of(JSON_BODY, registry), JSON_BODY)
    assert message.splitlines() == [
        "invalid workflow: 2 errors",
        "  line 7, /workflow/1: unknown node type 'mth' (did you mean 'math'?)"
        " [NODE_TYPE_NOT_FOUND]",
        "  line 10, /workflow/2/math/bad key!: parameter name 'bad key!' must match"
        " ^[A-Za-z0-9_-]+$ [SCHEMA_VALIDATION_ERROR]",
    ]


def test_yaml_body_lines(registry: Any) -> None:
    message = format_issues(issues_of(YAML_BODY, registry), YAML_BODY)
    assert message.splitlines() == [
        "invalid workflow: 2 errors",
        "  line 8, /workflow/1/log/_timeoutSeconds: _timeoutSeconds must be a number greater"
        " than 0 [SCHEMA_VALIDATION_ERROR]",
        "  line 9, /workflow/2: unknown node type 'mth' (did you mean 'math'?)"
        " [NODE_TYPE_NOT_FOUND]",
    ]


def test_a_missing_field_points_at_its_parent(registry: Any) -> None:
    issue = ValidationIssue("/workflow/2/math/operation", "missing 'operation'", "MISSING")
    assert format_issues([issue], JSON_BODY).splitlines()[1] == (
        "  line 8, /workflow/2/math/operation: missing 'operation' [MISSING]"
    )
    # a real one: the document's own fields, missing, point at the line where it starts
    text = "# a comment\n\nname: M\nworkflow:\n  - $.a: 1\n"
    issues = issues_of(text, registry)
    lines = format_issues(issues, text).splitlines()
    assert "  line 3, /id: missing required field 'id' [SCHEMA_VALIDATION_ERROR]" in lines
    assert "  line 3, /version: missing required field 'version' [SCHEMA_VALIDATION_ERROR]" in lines


def test_one_error_is_singular() -> None:
    issue = ValidationIssue("/workflow/0", "bad", "X")
    assert format_issues([issue], '{"workflow": [\n  1]}').splitlines() == [
        "invalid workflow: 1 error",
        "  line 2, /workflow/0: bad [X]",
    ]


def test_text_that_does_not_parse_has_no_line(registry: Any) -> None:
    text = '{"id": "x", "workflow": ['
    issues = issues_of(text, registry)
    assert format_issues(issues, text).splitlines() == [
        "invalid workflow: 1 error",
        "  /: cell: invalid JSON at line 1, column 26: Expecting value [PARSE_ERROR]",
    ]


def test_pointer_lines_of_json_and_yaml() -> None:
    json_lines = pointer_lines(JSON_BODY)
    assert json_lines[""] == 1
    assert json_lines["/id"] == 2
    assert json_lines["/workflow"] == 5
    assert json_lines["/workflow/0"] == 6
    assert json_lines["/workflow/0/$.a"] == 6
    assert json_lines["/workflow/2/math/values"] == 9
    assert json_lines["/workflow/2/math/values/1"] == 9
    yaml_lines = pointer_lines(YAML_BODY)
    assert yaml_lines["/workflow/1/log/message"] == 7
    assert yaml_lines["/workflow/2"] == 9
    assert pointer_lines("") == {}
    assert pointer_lines("a: [") == {}


def test_pointer_lines_escape_keys() -> None:
    lines = pointer_lines('{\n "a/b": {\n  "c~d": 1\n }\n}')
    assert lines["/a~1b"] == 2
    assert lines["/a~1b/c~0d"] == 3
    assert "/a/b" not in lines
