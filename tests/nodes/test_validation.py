"""validateData: every validation type, the valid / invalid / error edges, state keys."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from workscript_jupyter.engine import Edge, NodeContext
from workscript_jupyter.nodes.validation import ValidateDataNode


def execute(params: dict[str, Any], state: dict[str, Any] | None = None, **edge_data: Any):
    state = {} if state is None else state
    ctx = NodeContext(
        state,
        node_id="v1",
        node_type="validateData",
        node_path="/workflow/0/validateData",
        edge_data=edge_data or None,
    )
    edge = asyncio.run(ValidateDataNode().execute(ctx, params))
    assert isinstance(edge, Edge)
    return edge.name, dict(edge.data or {}), state


PERSON = {
    "name": "Ada",
    "email": "ada@example.com",
    "age": 36,
    "tags": ["x"],
    "address": {"city": "London"},
}


# ---- required_fields (the default) -------------------------------------------------------


def test_required_fields_valid_writes_result_and_empty_errors():
    name, data, state = execute({"data": PERSON, "requiredFields": ["name", "address.city"]})
    assert name == "valid"
    assert data == {"data": PERSON, "isValid": True, "validationType": "required_fields"}
    result = state["validationResult"]
    assert result["isValid"] is True and result["validationType"] == "required_fields"
    assert result["itemsValidated"] == 1 and result["timestamp"].endswith("Z")
    assert state["validationErrors"] == []


def test_required_fields_invalid_lists_each_problem():
    data_in = {"name": "", "email": None}
    name, data, state = execute(
        {
            "validationType": "required_fields",
            "data": data_in,
            "requiredFields": ["name", "email", "phone"],
        }
    )
    assert name == "invalid"
    assert [e["field"] for e in data["errors"]] == ["name", "email", "phone"]
    assert data["errors"][0] == {
        "field": "name",
        "error": "Required field is missing or empty",
        "value": "",
    }
    assert data["errorCount"] == 3
    assert state["validationErrors"] == data["errors"]
    assert state["validationResult"]["isValid"] is False


def test_data_comes_from_in_data_when_not_given():
    name, _, _ = execute({"requiredFields": ["a"]}, {}, data={"a": 1})
    assert name == "valid"


def test_output_errors_false_keeps_errors_off_the_edge():
    name, data, state = execute({"data": {}, "requiredFields": ["a"], "outputErrors": False})
    assert name == "invalid"
    assert "errors" not in data and "errorCount" not in data
    assert len(state["validationErrors"]) == 1


def test_a_list_counts_its_items():
    _, _, state = execute({"data": [1, 2, 3], "requiredFields": ["0"]})
    assert state["validationResult"]["itemsValidated"] == 3


# ---- json --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ('{"a": [1, 2]}', {"a": [1, 2]}),
        ("[1]", [1]),
        ({"already": "object"}, {"already": "object"}),
    ],
)
def test_json_valid_writes_parsed_json(value, parsed):
    name, data, state = execute({"validationType": "json", "data": value})
    assert name == "valid"
    assert data["parsedJson"] == parsed == state["parsedJson"]
    assert state["validationResult"]["validationType"] == "json"
    assert "itemsValidated" not in state["validationResult"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{bad json", "Invalid JSON"),
        ("123", "JSON parsed to primitive value (number), expected object or array"),
        (42, "Expected string for JSON validation, got number"),
    ],
)
def test_json_invalid(value, message):
    name, data, state = execute({"validationType": "json", "data": value})
    assert name == "invalid"
    assert data["errors"][0]["field"] == "__json__"
    assert message in data["errors"][0]["error"]
    assert "parsedJson" not in state
    assert state["validationErrors"] == data["errors"]


# ---- type_check, range, pattern ----------------------------------------------------------


def test_type_check():
    checks = [
        {"field": "name", "expectedType": "string"},
        {"field": "age", "expectedType": "number"},
        {"field": "tags", "expectedType": "array"},
        {"field": "address", "expectedType": "object"},
    ]
    assert (
        execute({"validationType": "type_check", "data": PERSON, "typeChecks": checks})[0]
        == "valid"
    )
    bad = [
        {"field": "age", "expectedType": "string"},
        {"field": "nothing", "expectedType": "null"},
        {"field": "flag", "expectedType": "boolean"},
    ]
    name, data, _ = execute(
        {"validationType": "type_check", "data": {**PERSON, "flag": 1}, "typeChecks": bad}
    )
    assert name == "invalid"
    assert [e["error"] for e in data["errors"]] == [
        "Expected type string, got number",
        "Expected type null, got undefined",
        "Expected type boolean, got number",
    ]


def test_range():
    rules = [
        {"field": "age", "min": 18, "max": 30},
        {"field": "name", "min": 0},
        {"field": "score", "max": 5},
    ]
    name, data, _ = execute(
        {"validationType": "range", "data": {**PERSON, "score": 5}, "rangeValidations": rules}
    )
    assert name == "invalid"
    assert [e["error"] for e in data["errors"]] == [
        "Value 36 is above maximum 30",
        "Field must be a number for range validation, got string",
    ]
    below = execute(
        {
            "validationType": "range",
            "data": {"age": 3},
            "rangeValidations": [{"field": "age", "min": 18}],
        }
    )
    assert below[1]["errors"][0]["error"] == "Value 3 is below minimum 18"


def test_pattern():
    rules = [
        {"field": "email", "pattern": r"^[^@]+@[^@]+\.\w+$"},
        {"field": "name", "pattern": "^[a-z]+$", "errorMessage": "lowercase only"},
        {"field": "phone", "pattern": ".*"},
        {"field": "age", "pattern": "(unclosed"},
    ]
    name, data, _ = execute(
        {"validationType": "pattern", "data": PERSON, "patternValidations": rules}
    )
    assert name == "invalid"
    assert [(e["field"], e["error"]) for e in data["errors"]] == [
        ("name", "lowercase only"),
        ("phone", "Field value is missing for pattern validation"),
        ("age", "Invalid regex pattern: (unclosed"),
    ]


# ---- json_schema -------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "required": ["name", "email"],
    "properties": {
        "name": {"type": "string", "minLength": 2},
        "age": {"type": "integer", "minimum": 0},
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"qty": {"type": "integer"}}},
        },
        "a/b": {"type": "string"},
    },
    "additionalProperties": True,
}


def test_json_schema_valid():
    name, _, state = execute(
        {
            "validationType": "json_schema",
            "data": {"name": "Ada", "email": "a@b.c"},
            "schema": SCHEMA,
        }
    )
    assert name == "valid"
    assert state["validationErrors"] == []


def test_json_schema_errors_carry_json_pointers():
    data_in = {"name": "A", "age": -1, "items": [{"qty": 1}, {"qty": "two"}], "a/b": 1}
    name, data, state = execute(
        {"validationType": "json_schema", "data": data_in, "schema": SCHEMA}
    )
    assert name == "invalid"
    found = {(e["pointer"], e["keyword"]) for e in data["errors"]}
    assert found == {
        ("/email", "required"),
        ("/name", "minLength"),
        ("/age", "minimum"),
        ("/items/1/qty", "type"),
        ("/a~1b", "type"),
    }
    by_pointer = {e["pointer"]: e for e in data["errors"]}
    assert by_pointer["/items/1/qty"]["field"] == "items.1.qty"
    assert by_pointer["/items/1/qty"]["value"] == "two"
    assert by_pointer["/email"]["error"] == "'email' is a required property"
    assert by_pointer["/age"]["schemaPath"] == "/properties/age/minimum"
    assert state["validationErrors"] == data["errors"]


def test_json_schema_validates_any_json_value_and_reports_the_root():
    name, data, _ = execute(
        {"validationType": "json_schema", "data": 5, "schema": {"type": "string"}}
    )
    assert name == "invalid"
    assert data["errors"][0]["pointer"] == "" and data["errors"][0]["field"] == "__root__"


def test_json_schema_default_draft_is_2020_12():
    # prefixItems exists only since 2020-12; an older draft would ignore it
    schema = {"prefixItems": [{"type": "integer"}]}
    assert (
        execute({"validationType": "json_schema", "data": ["x"], "schema": schema})[0] == "invalid"
    )
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", **schema}
    assert execute({"validationType": "json_schema", "data": ["x"], "schema": draft7})[0] == "valid"


def test_json_schema_checks_formats():
    schema = {"type": "string", "format": "email"}
    assert (
        execute({"validationType": "json_schema", "data": "nope", "schema": schema})[0] == "invalid"
    )


# ---- custom ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("validator", "edge"),
    [
        ("data.age >= 18", "valid"),
        ("return data.age >= 18 && data.name !== '';", "valid"),
        ("{age} < 18", "invalid"),
        ("len(data.tags) > 1", "invalid"),
        ("null", "invalid"),
    ],
)
def test_custom(validator, edge):
    name, data, _ = execute(
        {"validationType": "custom", "data": PERSON, "customValidator": validator}
    )
    assert name == edge
    if edge == "invalid":
        assert data["errors"][0]["field"] == "__custom__"


def test_custom_may_return_errors():
    name, data, _ = execute(
        {
            "validationType": "custom",
            "data": {"age": 3},
            "customValidator": "[{'field': 'age', 'error': 'too young'}, 'second']",
        }
    )
    assert name == "invalid"
    assert data["errors"] == [
        {"field": "age", "error": "too young"},
        {"field": "__custom__", "error": "second"},
    ]
    obj = execute(
        {
            "validationType": "custom",
            "data": {"age": 3},
            "customValidator": "{'valid': false, 'error': 'nope', 'value': data.age}",
        }
    )
    assert obj[1]["errors"] == [{"field": "__custom__", "error": "nope", "value": 3}]
    assert execute({"validationType": "custom", "data": {}, "customValidator": "[]"})[0] == "valid"


# ---- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"validationType": "magic", "data": {}}, "validation type"),
        ({"requiredFields": ["a"]}, "data"),
        ({"data": "text", "requiredFields": ["a"]}, "data"),
        ({"validationType": "json"}, "No data"),
        ({"validationType": "json", "data": None}, "No data"),
        ({"validationType": "json_schema"}, "data"),
        ({"data": {}}, "requiredFields"),
        ({"data": {}, "requiredFields": "a"}, "requiredFields"),
        ({"validationType": "type_check", "data": {}}, "typeChecks"),
        (
            {"validationType": "type_check", "data": {}, "typeChecks": [{"expectedType": "x"}]},
            "typeChecks[0]",
        ),
        ({"validationType": "range", "data": {}}, "rangeValidations"),
        (
            {"validationType": "pattern", "data": {}, "patternValidations": ["^a"]},
            "patternValidations[0]",
        ),
        ({"validationType": "json_schema", "data": {}}, "schema"),
        ({"validationType": "json_schema", "data": {}, "schema": "object"}, "schema"),
        ({"validationType": "json_schema", "data": {}, "schema": {"type": 12}}, "schema"),
        ({"validationType": "custom", "data": {}}, "customValidator"),
        (
            {"validationType": "custom", "data": {}, "customValidator": "data.x >"},
            "customValidator",
        ),
        (
            {"validationType": "custom", "data": {}, "customValidator": "data.__class__"},
            "customValidator",
        ),
        (
            {"validationType": "custom", "data": {}, "customValidator": "open('x')"},
            "customValidator",
        ),
    ],
)
def test_bad_input_takes_error(params, named):
    name, data, state = execute(params)
    assert name == "error", data
    assert named in data["error"]
    assert data["nodeId"] == "v1"
    assert "validationResult" not in state


def test_example_runs(run):
    step = {"validateData": dict(ValidateDataNode.metadata.example)}
    result = run({"id": "ex", "name": "ex", "version": "1.0.0", "workflow": [step]})
    assert result.status == "completed"
    assert [e["pointer"] for e in result.final_state["validationErrors"]] == ["/email"]
    assert len(result.logs) == 1 and "email" in result.logs[0]
