"""Loading and validating workflow documents (WORKFLOW-LANGUAGE.md §1-2)."""

from __future__ import annotations

from typing import Any

import pytest

from workscript_jupyter.engine import Jump, load_workflow
from workscript_jupyter.engine.parse import (
    load_document,
    parse_workflow,
    pointer,
    validate_workflow,
)
from workscript_jupyter.errors import ValidationIssue, WorkflowValidationError


def doc(steps: Any, **extra: Any) -> dict[str, Any]:
    return {"id": "wf", "name": "Test", "version": "1.0.0", "workflow": steps, **extra}


def issues_of(document: Any, registry: Any) -> list[tuple[str, str]]:
    return [(i.path, i.code) for i in validate_workflow(document, registry)]


def only_issue(document: Any, registry: Any) -> ValidationIssue:
    issues = validate_workflow(document, registry)
    assert len(issues) == 1, issues
    return issues[0]


# -- load_document ------------------------------------------------------------------------------


def test_load_json() -> None:
    assert load_document('{"id": "x", "workflow": ["log"]}') == {"id": "x", "workflow": ["log"]}


def test_load_yaml() -> None:
    text = "id: x\nname: X\nversion: 1.0.0\nworkflow:\n  - log: {message: hi}\n  - empty\n"
    assert load_document(text) == {
        "id": "x",
        "name": "X",
        "version": "1.0.0",
        "workflow": [{"log": {"message": "hi"}}, "empty"],
    }


def test_invalid_json_reports_line_and_column() -> None:
    with pytest.raises(WorkflowValidationError) as info:
        load_document('{\n  "id": "x",\n  "workflow": [1,,]\n}', source="wf.json")
    (issue,) = info.value.issues
    assert issue.code == "PARSE_ERROR"
    assert issue.path == ""
    assert issue.message.startswith("wf.json: invalid JSON at line 3, column 18")


def test_invalid_json_on_one_line() -> None:
    with pytest.raises(WorkflowValidationError) as info:
        load_document('{"a": 1,,}')
    assert info.value.issues[0].message == (
        "<workflow>: invalid JSON at line 1, column 9: "
        "Expecting property name enclosed in double quotes"
    )


def test_invalid_yaml_reports_line() -> None:
    with pytest.raises(WorkflowValidationError) as info:
        load_document("id: x\nname: y\nworkflow: a: b\n", source="wf.yaml")
    (issue,) = info.value.issues
    assert issue.code == "PARSE_ERROR"
    assert issue.message.startswith("wf.yaml: invalid YAML at line 3, column")
    assert "mapping values are not allowed" in issue.message


@pytest.mark.parametrize(
    ("text", "found"), [("[1, 2]", "list"), ("", "nothing"), ("42", "int"), ("- a\n- b\n", "list")]
)
def test_document_must_be_an_object(text: str, found: str) -> None:
    with pytest.raises(WorkflowValidationError) as info:
        load_document(text)
    (issue,) = info.value.issues
    assert issue.code == "PARSE_ERROR"
    assert issue.message == f"<workflow>: a workflow is an object, found {found}"


def test_load_workflow_from_yaml_text(registry: Any) -> None:
    workflow = load_workflow("id: y\nname: Y\nversion: 2.0.1\nworkflow: [log]\n", registry)
    assert (workflow.id, workflow.version, len(workflow.steps)) == ("y", "2.0.1", 1)
    assert workflow.steps[0].type == "log"


# -- the envelope -------------------------------------------------------------------------------


def test_valid_workflow_has_no_issues(registry: Any) -> None:
    document = doc(
        [
            {"log": {"message": "hi {{$.x}}", "success?": [{"$.y": 1}, "empty"]}},
            "empty",
            {"range...": {"stop": 3, "current_step?": {"log": {}}, "complete?": None}},
            {"logic": {"operation": "equal", "values": [1, 1], "true?": "log"}},
            {"$.a.b[0]": {"value": 5, "success?": "empty"}},
            {"wait": {"seconds": 0, "_timeoutSeconds": 1, "_retry": {"maxAttempts": 2}}},
        ],
        description="d",
        initialState={"x": 1},
        maxLoopIterations=10,
        timeoutSeconds=1.5,
        onUnhandledError="fail",
        extraKey="ignored",
    )
    assert validate_workflow(document, registry) == []


def test_parse_workflow_builds_steps(registry: Any) -> None:
    workflow = parse_workflow(
        doc(
            [
                {"math": {"operation": "add", "values": [1, 2], "success?": "log"}},
                {"log": {"message": "x"}},
                {"range...": {"stop": 2, "_retry": {"maxAttempts": 4, "delaySeconds": 0}}},
            ],
            maxLoopIterations=7,
        ),
        registry,
    )
    math, log, rng = workflow.steps
    assert math.path == "/workflow/0/math"
    assert math.params == {"operation": "add", "values": [1, 2]}
    assert math.edges == {"success": Jump(1, "log")}
    assert log.path == "/workflow/1/log"
    assert rng.loop is True and rng.type == "range" and rng.key == "range..."
    assert rng.retry is not None and rng.retry.max_attempts == 4 and rng.retry.delay_seconds == 0
    assert workflow.max_loop_iterations == 7
    assert workflow.on_unhandled_error == "continue"
    assert workflow.timeout_seconds is None


def test_parse_workflow_raises_with_issues(registry: Any) -> None:
    with pytest.raises(WorkflowValidationError) as info:
        parse_workflow(doc([{"mth": {}}, {"log": 5}]), registry)
    error = info.value
    assert [(i.path, i.code) for i in error.issues] == [
        ("/workflow/0", "NODE_TYPE_NOT_FOUND"),
        ("/workflow/1/log", "SCHEMA_VALIDATION_ERROR"),
    ]
    assert isinstance(error, ValueError)
    assert error.code == "WORKFLOW_VALIDATION_ERROR"
    assert error.to_list()[0]["path"] == "/workflow/0"
    assert str(error).startswith("invalid workflow: /workflow/0: unknown node type 'mth'")


def test_missing_required_fields(registry: Any) -> None:
    issues = validate_workflow({"workflow": ["log"]}, registry)
    assert [(i.path, i.message) for i in issues] == [
        ("/id", "missing required field 'id'"),
        ("/name", "missing required field 'name'"),
        ("/version", "missing required field 'version'"),
    ]
    assert {i.code for i in issues} == {"SCHEMA_VALIDATION_ERROR"}


def test_missing_workflow(registry: Any) -> None:
    issue = only_issue({"id": "a", "name": "A", "version": "1.0.0"}, registry)
    assert (issue.path, issue.message) == ("/workflow", "missing required field 'workflow'")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id", "has space", "id may contain only letters, digits, _ and - (^[A-Za-z0-9_-]+$)"),
        ("id", 5, "id must be a string, not a number"),
        ("name", "", "name cannot be empty"),
        ("version", "1.0", "version must look like 1.0.0 (major.minor.patch)"),
        ("version", "v1.0.0", "version must look like 1.0.0 (major.minor.patch)"),
        ("description", 3, "description must be a string, not a number"),
        ("initialState", [], "initialState must be an object, not an array"),
        ("workflow", [], "workflow must contain at least one step"),
        ("workflow", {"a": 1}, "workflow must be an array, not an object"),
        ("maxLoopIterations", "5", "maxLoopIterations must be an integer, not a string"),
        ("maxLoopIterations", 1.5, "maxLoopIterations must be an integer, not a number"),
        ("onUnhandledError", "stop", 'onUnhandledError must be "continue" or "fail"'),
    ],
)
def test_envelope_errors(registry: Any, field: str, value: Any, message: str) -> None:
    document = doc(["log"])
    document[field] = value
    issue = only_issue(document, registry)
    assert (issue.path, issue.message, issue.code) == (
        f"/{field}",
        message,
        "SCHEMA_VALIDATION_ERROR",
    )


@pytest.mark.parametrize(("field", "value"), [("timeoutSeconds", 0), ("maxLoopIterations", 0)])
def test_envelope_minimums(registry: Any, field: str, value: Any) -> None:
    issue = only_issue(doc(["log"], **{field: value}), registry)
    assert issue.path == f"/{field}"
    assert issue.message.startswith(f"{field}: 0 is less than")


def test_several_envelope_errors_one_each(registry: Any) -> None:
    issues = issues_of({"id": "a b", "name": "", "version": "x", "workflow": []}, registry)
    assert issues == [
        ("/id", "SCHEMA_VALIDATION_ERROR"),
        ("/name", "SCHEMA_VALIDATION_ERROR"),
        ("/version", "SCHEMA_VALIDATION_ERROR"),
        ("/workflow", "SCHEMA_VALIDATION_ERROR"),
    ]


@pytest.mark.parametrize("document", [[1, 2], "text", None, 5])
def test_document_not_an_object(registry: Any, document: Any) -> None:
    issue = only_issue(document, registry)
    assert (issue.path, issue.message) == ("", "a workflow document must be a JSON object")


# -- steps --------------------------------------------------------------------------------------


def test_step_with_two_keys(registry: Any) -> None:
    issue = only_issue(doc([{"math": {}, "log": {}}]), registry)
    assert issue.path == "/workflow/0"
    assert issue.code == "SCHEMA_VALIDATION_ERROR"
    assert issue.message == (
        "a step object has exactly one key, the node type; found 2: 'math', 'log'"
    )


def test_empty_step_object(registry: Any) -> None:
    issue = only_issue(doc(["log", {}]), registry)
    assert issue.path == "/workflow/1"
    assert "found 0: none" in issue.message


@pytest.mark.parametrize(
    ("step", "kind"), [(5, "a number"), (None, "null"), (True, "a boolean"), (["log"], "an array")]
)
def test_step_of_wrong_type(registry: Any, step: Any, kind: str) -> None:
    issue = only_issue(doc(["log", step]), registry)
    assert issue.path == "/workflow/1"
    assert issue.message == f"a step is a node type (string) or an object with one key, not {kind}"


def test_empty_string_step(registry: Any) -> None:
    issue = only_issue(doc([""]), registry)
    assert (issue.path, issue.message) == ("/workflow/0", "a step cannot be an empty string")


def test_config_must_be_an_object(registry: Any) -> None:
    issue = only_issue(doc([{"log": "hello"}]), registry)
    assert issue.path == "/workflow/0/log"
    assert issue.message == "the configuration of 'log' must be an object, not a string"


def test_null_config_is_an_empty_config(registry: Any) -> None:
    assert validate_workflow(doc([{"empty": None}]), registry) == []


def test_null_parameter(registry: Any) -> None:
    issue = only_issue(doc([{"math": {"operation": "add", "values": None}}]), registry)
    assert (issue.path, issue.code) == ("/workflow/0/math/values", "SCHEMA_VALIDATION_ERROR")
    assert issue.message == "parameter 'values' is null; leave it out instead"


@pytest.mark.parametrize("name", ["a b", "a.b", "ä", "a$"])
def test_bad_parameter_name(registry: Any, name: str) -> None:
    issue = only_issue(doc([{"log": {name: 1}}]), registry)
    assert issue.path == f"/workflow/0/log/{name}"
    assert issue.message == f"parameter name {name!r} must match ^[A-Za-z0-9_-]+$"


def test_pointer_escapes_slash_and_tilde(registry: Any) -> None:
    issues = issues_of(doc([{"log": {"a/b": 1, "c~d": 2}}]), registry)
    assert issues == [
        ("/workflow/0/log/a~1b", "SCHEMA_VALIDATION_ERROR"),
        ("/workflow/0/log/c~0d", "SCHEMA_VALIDATION_ERROR"),
    ]


def test_pointer_escapes_in_setter_key(registry: Any) -> None:
    issue = only_issue(doc([{"$.a/b~c": 1}]), registry)
    assert issue.path == "/workflow/0/$.a~1b~0c"
    assert issue.code == "INVALID_STATE_SETTER_SYNTAX"


def test_pointer_function() -> None:
    assert pointer("workflow", 0, "a/b", "~x") == "/workflow/0/a~1b/~0x"
    assert pointer("~1") == "/~01"  # ~ escaped first: ~1 stays distinguishable from /
    assert pointer() == ""


def test_reserved_underscore_key(registry: Any) -> None:
    issue = only_issue(doc([{"log": {"_foo": 1}}]), registry)
    assert issue.path == "/workflow/0/log/_foo"
    assert issue.message == "'_foo': keys starting with _ are reserved (_timeoutSeconds, _retry)"


@pytest.mark.parametrize("value", [0, -1, "5", True, None, [1]])
def test_bad_timeout_seconds(registry: Any, value: Any) -> None:
    issue = only_issue(doc([{"wait": {"seconds": 1, "_timeoutSeconds": value}}]), registry)
    assert issue.path == "/workflow/0/wait/_timeoutSeconds"
    assert issue.message == "_timeoutSeconds must be a number greater than 0"


def test_good_timeout_seconds(registry: Any) -> None:
    workflow = parse_workflow(doc([{"wait": {"seconds": 1, "_timeoutSeconds": 2}}]), registry)
    assert workflow.steps[0].timeout == 2.0
    assert "_timeoutSeconds" not in workflow.steps[0].params


def test_retry_not_an_object(registry: Any) -> None:
    issue = only_issue(doc([{"log": {"_retry": 3}}]), registry)
    assert issue.path == "/workflow/0/log/_retry"
    assert issue.message == '_retry must be an object like {"maxAttempts": 3}'


@pytest.mark.parametrize(
    ("retry", "field", "message"),
    [
        ({"maxAttempts": 0}, "maxAttempts", "maxAttempts must be an integer >= 1"),
        ({"maxAttempts": 2.5}, "maxAttempts", "maxAttempts must be an integer >= 1"),
        ({"maxAttempts": True}, "maxAttempts", "maxAttempts must be an integer >= 1"),
        ({"delaySeconds": -1}, "delaySeconds", "delaySeconds must be a number >= 0"),
        ({"delaySeconds": "1"}, "delaySeconds", "delaySeconds must be a number >= 0"),
        ({"backoff": 0.5}, "backoff", "backoff must be a number >= 1"),
        ({"tries": 3}, "tries", "unknown _retry field 'tries'"),
    ],
)
def test_bad_retry_field(registry: Any, retry: dict, field: str, message: str) -> None:
    issue = only_issue(doc([{"log": {"_retry": retry}}]), registry)
    assert (issue.path, issue.message) == (f"/workflow/0/log/_retry/{field}", message)


def test_retry_defaults(registry: Any) -> None:
    workflow = parse_workflow(doc([{"log": {"_retry": {}}}]), registry)
    retry = workflow.steps[0].retry
    assert (retry.max_attempts, retry.delay_seconds, retry.backoff) == (3, 1.0, 2.0)
    assert retry.delay_before(2) == 1.0
    assert retry.delay_before(3) == 2.0
    assert retry.delay_before(4) == 4.0


def test_unknown_node_type_suggests(registry: Any) -> None:
    issue = only_issue(doc([{"mathh": {"operation": "add"}}]), registry)
    assert (issue.path, issue.code) == ("/workflow/0", "NODE_TYPE_NOT_FOUND")
    assert issue.message == "unknown node type 'mathh' (did you mean 'math'?)"


def test_unknown_loop_node_type(registry: Any) -> None:
    issue = only_issue(doc(["ranges..."]), registry)
    assert (issue.path, issue.code) == ("/workflow/0", "NODE_TYPE_NOT_FOUND")
    assert issue.message == "unknown node type 'ranges' (did you mean 'range'?)"


def test_unknown_node_type_without_suggestion(registry: Any) -> None:
    issue = only_issue(doc(["zzzzqqq"]), registry)
    assert issue.message == "unknown node type 'zzzzqqq'"


def test_unknown_type_is_one_issue_not_a_cascade(registry: Any) -> None:
    # the bad config of an unknown node is not reported again
    issue = only_issue(doc([{"nope": {"x y": None, "_bad": 1, "success?": "nowhere"}}]), registry)
    assert issue.code == "NODE_TYPE_NOT_FOUND"


@pytest.mark.parametrize("key", ["$.a..b", "$.", "$.a b", "$.a[x]"])
def test_bad_setter_syntax(registry: Any, key: str) -> None:
    issue = only_issue(doc([{key: 1}]), registry)
    assert (issue.path, issue.code) == (f"/workflow/0/{key}", "INVALID_STATE_SETTER_SYNTAX")
    assert repr(key) in issue.message


def test_good_setters(registry: Any) -> None:
    workflow = parse_workflow(
        doc([{"$.a.b": 1}, {"$.c": {"value": 2, "success?": "log"}}, {"$.d": {"x": 1}}, "log"]),
        registry,
    )
    a, c, d, _ = workflow.steps
    assert a.setter == ("a", "b") and a.params == {"value": 1}
    assert c.params == {"value": 2} and "success" in c.edges
    assert d.params == {"value": {"x": 1}}  # an object without value is stored whole


def test_edge_target_not_found_top_level(registry: Any) -> None:
    issue = only_issue(doc([{"log": {"success?": "nowhere"}}]), registry)
    assert (issue.path, issue.code) == ("/workflow/0/log/success?", "EDGE_TARGET_NOT_FOUND")
    assert issue.message == (
        "edge target 'nowhere' is not a top-level step or a registered node type"
    )


def test_edge_target_not_found_nested(registry: Any) -> None:
    issue = only_issue(doc([{"log": {"success?": [{"logic": {"true?": "nowhere"}}]}}]), registry)
    assert issue.path == "/workflow/0/log/success?/0/logic/true?"
    assert issue.code == "EDGE_TARGET_NOT_FOUND"
    assert "jumps to top-level steps only work at top level" in issue.message


def test_edge_target_of_wrong_type(registry: Any) -> None:
    issue = only_issue(doc([{"log": {"success?": 5}}]), registry)
    assert issue.path == "/workflow/0/log/success?"
    assert issue.message.endswith("not a number")


def test_edge_targets_resolve(registry: Any) -> None:
    workflow = parse_workflow(
        doc(
            [
                {"log": {"success?": "$.x"}},
                {"logic": {"true?": "log", "false?": "empty", "error?": None}},
                {"math": {"success?": [{"log": {"success?": "log"}}]}},
            ]
        ),
        registry,
    )
    log, logic, math = workflow.steps
    (setter,) = log.edges["success"]
    assert setter.setter == ("x",)
    assert logic.edges["true"] == Jump(0, "log")  # a top-level step of that key
    (empty,) = logic.edges["false"]  # no top-level step: the registered node
    assert empty.type == "empty" and empty.path == "/workflow/1/logic/false?"
    assert logic.edges["error"] is None
    (inner,) = math.edges["success"]
    assert inner.path == "/workflow/2/math/success?/0/log"
    (nested,) = inner.edges["success"]  # nested: always the registry, never a jump
    assert not isinstance(nested, Jump)
    assert nested.type == "log"


def test_every_mistake_is_reported(registry: Any) -> None:
    issues = issues_of(
        doc(
            [
                {"math": {}, "log": {}},
                {"mth": {}},
                {"log": {"bad key": 1, "message": None}},
                {"$.a..b": 1},
                {"log": {"success?": "nowhere"}},
            ]
        ),
        registry,
    )
    assert issues == [
        ("/workflow/0", "SCHEMA_VALIDATION_ERROR"),
        ("/workflow/1", "NODE_TYPE_NOT_FOUND"),
        ("/workflow/2/log/bad key", "SCHEMA_VALIDATION_ERROR"),
        ("/workflow/2/log/message", "SCHEMA_VALIDATION_ERROR"),
        ("/workflow/3/$.a..b", "INVALID_STATE_SETTER_SYNTAX"),
        ("/workflow/4/log/success?", "EDGE_TARGET_NOT_FOUND"),
    ]


def test_envelope_and_step_issues_together(registry: Any) -> None:
    issues = issues_of({"id": "ok", "name": "", "version": "1.0.0", "workflow": ["nope"]}, registry)
    assert issues == [("/name", "SCHEMA_VALIDATION_ERROR"), ("/workflow/0", "NODE_TYPE_NOT_FOUND")]


def test_too_deep_nesting(registry: Any) -> None:
    target: Any = "log"
    for _ in range(70):
        target = {"log": {"success?": target}}
    issues = validate_workflow(doc([target]), registry)
    assert len(issues) == 1
    assert "nested more than 64 levels deep" in issues[0].message
