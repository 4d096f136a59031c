"""switch (rules and expression modes) and calculateField."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from workscript_jupyter.engine import Edge, Node, NodeContext
from workscript_jupyter.nodes.branching import CalculateFieldNode, SwitchNode


def execute(
    node: Node, params: dict[str, Any], state: dict[str, Any] | None = None, **edge_data: Any
):
    state = {} if state is None else state
    ctx = NodeContext(
        state,
        node_id="n1",
        node_type=node.metadata.id,
        node_path=f"/workflow/0/{node.metadata.id}",
        edge_data=edge_data or None,
    )
    edge = asyncio.run(node.execute(ctx, params))
    assert isinstance(edge, Edge)
    return edge.name, dict(edge.data or {}), state


RULES = [
    {
        "outputKey": "vip",
        "conditions": [{"field": "customerType", "operation": "equals", "value": "premium"}],
    },
    {
        "outputKey": "high_value",
        "conditions": [
            {"field": "orderTotal", "dataType": "number", "operation": "gt", "value": 100}
        ],
    },
]


def switch(params: dict[str, Any], state: dict[str, Any] | None = None, **edge_data: Any):
    return execute(SwitchNode(), params, state, **edge_data)


# ---- switch: rules -----------------------------------------------------------------------


def test_first_matching_rule_wins_and_is_recorded():
    item = {"customerType": "premium", "orderTotal": 500}
    name, data, state = switch({"rules": RULES, "item": item, "fallbackOutput": "standard"})
    assert name == "vip"
    assert data == {"item": item, "edge": "vip", "matchedRule": "vip", "mode": "rules"}
    assert state["selectedEdge"] == "vip"
    assert state["switchResult"] == item
    assert state["matchedRule"] == RULES[0]


def test_second_rule_when_the_first_fails():
    name, data, _ = switch({"rules": RULES, "item": {"customerType": "basic", "orderTotal": 150}})
    assert (name, data["matchedRule"]) == ("high_value", "high_value")


def test_fallback_output_when_nothing_matches():
    name, data, state = switch(
        {"rules": RULES, "item": {"orderTotal": 5}, "fallbackOutput": "standard"}
    )
    assert name == "standard"
    assert data["matchedRule"] is None
    assert state["selectedEdge"] == "standard"
    assert "matchedRule" not in state


def test_default_fallback_is_named_default():
    assert switch({"rules": RULES, "item": {}})[0] == "default"


def test_without_item_the_inputs_are_tested_and_stored_without_cycles():
    state = {"customerType": "premium", "switchResult": {"old": True}}
    name, data, state = switch({"rules": RULES}, state, orderTotal=1)
    assert name == "vip"
    assert state["switchResult"] == {"customerType": "premium", "orderTotal": 1}
    assert data["item"] == {"customerType": "premium", "orderTotal": 1}
    json.dumps(state)  # no reference to itself


@pytest.mark.parametrize(
    ("condition", "value", "expected"),
    [
        ({"operation": "notEquals", "value": "a"}, "b", True),
        ({"operation": "contains", "value": "ell"}, "hello", True),
        ({"operation": "notContains", "value": "ell"}, "hello", False),
        ({"operation": "startsWith", "value": "he"}, "hello", True),
        ({"operation": "endsWith", "value": "lo"}, "hello", True),
        ({"operation": "regex", "value": "^h.*o$"}, "hello", True),
        ({"operation": "regex", "value": "(unclosed"}, "hello", False),
        ({"operation": "isEmpty"}, None, True),
        ({"operation": "isNotEmpty"}, "", False),
        ({"operation": "equals", "value": 5}, 5, True),  # both as text
        ({"operation": "unknown"}, "x", False),
        ({"dataType": "number", "operation": "equals", "value": "5"}, 5, True),
        ({"dataType": "number", "operation": "notEquals", "value": 4}, 5, True),
        ({"dataType": "number", "operation": "gte", "value": 5}, 5, True),
        ({"dataType": "number", "operation": "lt", "value": 5}, 5, False),
        ({"dataType": "number", "operation": "lte", "value": 5}, "5", True),
        ({"dataType": "number", "operation": "between", "value": 1, "value2": 10}, 10, True),
        ({"dataType": "number", "operation": "between", "value": 1}, 5, False),
        ({"dataType": "number", "operation": "gt", "value": 1}, "abc", False),
        ({"dataType": "boolean", "operation": "true"}, [], True),
        ({"dataType": "boolean", "operation": "false"}, 0, True),
        ({"dataType": "boolean", "operation": "equals", "value": True}, "x", True),
        ({"dataType": "date", "operation": "before", "value": "2025-02-01"}, "2025-01-01", True),
        ({"dataType": "date", "operation": "after", "value": "2025-02-01"}, "2025-01-01", False),
        ({"dataType": "date", "operation": "equals", "value": "2025-01-01"}, "2025-01-01", True),
        (
            {
                "dataType": "date",
                "operation": "between",
                "value": "2025-01-01",
                "value2": "2025-12-31",
            },
            "2025-06-01T00:00:00Z",
            True,
        ),
        ({"dataType": "date", "operation": "before", "value": "2025-02-01"}, "never", False),
        ({"dataType": "array", "operation": "contains", "value": 2}, [1, 2], True),
        ({"dataType": "array", "operation": "notContains", "value": "2"}, [1, 2], True),
        ({"dataType": "array", "operation": "isEmpty"}, [], True),
        ({"dataType": "array", "operation": "isNotEmpty"}, [], False),
        ({"dataType": "array", "operation": "lengthEquals", "value": 2}, [1, 2], True),
        ({"dataType": "array", "operation": "lengthGt", "value": 2}, [1, 2], False),
        ({"dataType": "array", "operation": "lengthLt", "value": 3}, [1, 2], True),
        ({"dataType": "array", "operation": "isEmpty"}, "not a list", False),
        ({"dataType": "object", "operation": "isEmpty"}, {}, True),
        ({"dataType": "object", "operation": "isNotEmpty"}, {"a": 1}, True),
        ({"dataType": "object", "operation": "hasProperty", "value": "a"}, {"a": 1}, True),
        ({"dataType": "object", "operation": "notHasProperty", "value": "a"}, {"a": 1}, False),
        ({"dataType": "object", "operation": "isEmpty"}, None, False),
    ],
)
def test_condition_operations(condition, value, expected):
    rules = [{"outputKey": "hit", "conditions": [{"field": "v", **condition}]}]
    name, _, _ = switch({"rules": rules, "item": {"v": value}, "fallbackOutput": "miss"})
    assert name == ("hit" if expected else "miss")


def test_conditions_read_nested_fields():
    rules = [
        {
            "outputKey": "eu",
            "conditions": [{"field": "address.country.0", "operation": "equals", "value": "RO"}],
        }
    ]
    assert switch({"rules": rules, "item": {"address": {"country": ["RO"]}}})[0] == "eu"


@pytest.mark.parametrize(
    ("combine", "second", "expected"),
    [("AND", False, "miss"), ("OR", False, "hit"), ("AND", True, "hit")],
)
def test_conditions_combine_left_to_right(combine, second, expected):
    conditions = [
        {"field": "a", "dataType": "boolean", "operation": "true", "combineWith": combine},
        {"field": "b", "dataType": "boolean", "operation": "true"},
    ]
    rules = [{"outputKey": "hit", "conditions": conditions}]
    item = {"a": True, "b": second}
    assert switch({"rules": rules, "item": item, "fallbackOutput": "miss"})[0] == expected


def test_or_rescues_a_false_first_condition():
    conditions = [
        {"field": "a", "dataType": "boolean", "operation": "true", "combineWith": "OR"},
        {"field": "b", "dataType": "boolean", "operation": "true"},
    ]
    rules = [{"outputKey": "hit", "conditions": conditions}]
    assert switch({"rules": rules, "item": {"a": False, "b": True}})[0] == "hit"


def test_rules_without_output_key_or_conditions_are_skipped():
    rules = [{"conditions": [{"field": "a", "operation": "isEmpty"}]}, {"outputKey": "x"}]
    assert switch({"rules": rules, "item": {}})[0] == "default"


# ---- switch: expression ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "edge"), [(95, "excellent"), (75, "good"), (10, "needs_improvement")]
)
def test_expression_mode_names_the_edge(score, edge):
    expression = (
        "'excellent' if item.score >= 90 else ('good' if {score} >= 70 else 'needs_improvement')"
    )
    name, data, state = switch({"mode": "expression", "expression": expression}, {"score": score})
    assert name == edge
    assert data["mode"] == "expression" and data["matchedRule"] is None
    assert state["selectedEdge"] == edge


def test_expression_with_javascript_spellings():
    expression = "item.tier === 'gold' && item.tags.length > 0 && 'gold'"
    name, _, _ = switch(
        {"mode": "expression", "expression": expression, "item": {"tier": "gold", "tags": ["x"]}}
    )
    assert name == "gold"


def test_a_falsy_expression_takes_the_fallback():
    params = {"mode": "expression", "expression": "item.missing", "fallbackOutput": "other"}
    assert switch(params, {})[0] == "other"


# ---- switch: errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"mode": "random"}, "mode"),
        ({"mode": "expression"}, "expression"),
        ({"mode": "expression", "expression": "item.score >"}, "expression"),
        ({"mode": "expression", "expression": "__import__('os')"}, "expression"),
        ({"mode": "expression", "expression": "item.name.upper()"}, "expression"),
        ({"mode": "expression", "expression": "1 / 0"}, "expression"),
        ({"rules": "vip"}, "rules"),
        ({"rules": ["vip"]}, "rules[0]"),
        ({"rules": [{"outputKey": "a", "conditions": {"field": "x"}}]}, "rules[0].conditions"),
        (
            {"rules": [{"outputKey": "a", "conditions": [{"dataType": "money"}]}]},
            "rules[0].conditions[0].dataType",
        ),
        ({"rules": [], "fallbackOutput": ""}, "fallbackOutput"),
    ],
)
def test_switch_bad_input_takes_error(params, named):
    name, data, state = switch(params, {"score": 1})
    assert name == "error", data
    assert named in data["error"]
    assert data["nodeId"] == "n1"
    assert "selectedEdge" not in state


def test_switch_routes_through_a_workflow(run):
    document = {
        "id": "sw",
        "name": "sw",
        "version": "1.0.0",
        "initialState": {"customerType": "premium"},
        "workflow": [
            {
                "switch": {
                    "rules": RULES,
                    "fallbackOutput": "standard",
                    "vip?": {"log": {"message": "vip"}},
                    "standard?": {"log": {"message": "standard"}},
                }
            }
        ],
    }
    result = run(document)
    assert result.status == "completed"
    assert list(result.logs) == ["vip"]
    assert result.final_state["selectedEdge"] == "vip"


# ---- calculateField ----------------------------------------------------------------------


def calculate(params: dict[str, Any], state: dict[str, Any] | None = None, **edge_data: Any):
    return execute(CalculateFieldNode(), params, state, **edge_data)


def test_calculations_run_in_order_and_see_earlier_results():
    name, data, state = calculate(
        {
            "calculations": [
                {"outputField": "profit", "formula": "{revenue} - {costs}"},
                {
                    "outputField": "margin",
                    "formula": "({profit} / {revenue}) * 100",
                    "precision": 2,
                },
            ]
        },
        {"revenue": 300, "costs": 100},
    )
    assert name == "success"
    assert state["profit"] == 200
    assert state["margin"] == 66.67
    assert state["calculationResult"] == {"profit": 200, "margin": 66.67}
    assert state["calculatedFields"] == {"profit": 200, "margin": 66.67}
    assert "calculationErrors" not in state
    assert data["totalCalculations"] == 2
    assert data["successfulCalculations"] == 2 and data["failedCalculations"] == 0
    assert "errors" not in data


def test_formulas_read_edge_data_and_nested_fields():
    _, _, state = calculate(
        {"calculations": [{"outputField": "total", "formula": "{order.qty} * {price}"}]},
        {"order": {"qty": 3}},
        price=2.5,
    )
    assert state["total"] == 7.5
    assert "price" not in state  # only outputs are written


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("Math.sqrt({x}) + Math.abs(-1)", 4),
        ("Math.pow({x}, 2)", 81),
        ("pow(2, pow(1 + 1, 2))", 16),
        ("Math.round(2.5) + Math.round(-2.5)", 1),  # JavaScript rounds halves up
        ("Math.min({x}, 3) + Math.max(1, 2)", 5),
        ("Math.floor(7 / 2) + Math.ceil(0.1)", 4),
        ("{x} % 4 + 2 ** 3", 9),
    ],
)
def test_javascript_math_functions(formula, expected):
    _, data, _ = calculate({"calculations": [{"outputField": "r", "formula": formula}]}, {"x": 9})
    assert data["calculatedFields"]["r"] == expected


def test_precision_rounds_half_up():
    params = {"calculations": [{"outputField": "r", "formula": "1.25", "precision": 1}]}
    assert calculate(params)[2]["r"] == 1.3


@pytest.mark.parametrize(
    ("formula", "state", "message"),
    [
        ("{missing} + 1", {}, 'Field "missing" not found in data'),
        ("{name} + 1", {"name": "Ada"}, 'Field "name" is not a number'),
        ("{x} / 0", {"x": 1}, "division by zero"),
        ("'text'", {}, "did not evaluate to a valid number"),
    ],
)
def test_failed_calculation_stops_by_default(formula, state, message):
    params = {"calculations": [{"outputField": "r", "formula": formula}]}
    name, data, state = calculate(params, state)
    assert name == "error"
    assert data["error"].startswith("calculations[0]: ")
    assert message in data["error"]
    assert data["formula"] == formula
    assert "r" not in state


def test_on_error_skip_records_and_continues():
    params = {
        "calculations": [
            {"outputField": "bad", "formula": "{nope} * 2"},
            {"outputField": "good", "formula": "{x} * 2"},
        ],
        "onError": "skip",
    }
    name, data, state = calculate(params, {"x": 2, "calculationErrors": ["stale"]})
    assert name == "success"
    assert state["good"] == 4 and "bad" not in state
    assert state["calculationErrors"] == [
        {"field": "bad", "error": 'Field "nope" not found in data'}
    ]
    assert data["failedCalculations"] == 1 and data["successfulCalculations"] == 1


def test_on_error_use_default_writes_the_default():
    params = {
        "calculations": [{"outputField": "bad", "formula": "{nope} * 2"}],
        "onError": "use_default",
        "defaultValue": 0,
    }
    name, data, state = calculate(params)
    assert name == "success"
    assert state["bad"] == 0
    assert data["errors"][0]["field"] == "bad"


def test_stale_calculation_errors_are_cleared():
    params = {"calculations": [{"outputField": "a", "formula": "1"}]}
    assert "calculationErrors" not in calculate(params, {"calculationErrors": [{"x": 1}]})[2]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "calculations"),
        ({"calculations": []}, "calculations"),
        ({"calculations": "a = 1"}, "calculations"),
        ({"calculations": [{"outputField": "a", "formula": "1"}], "onError": "ignore"}, "onError"),
        ({"calculations": [{"formula": "1"}]}, "outputField"),
        ({"calculations": [{"outputField": "a"}]}, "formula"),
        ({"calculations": [{"outputField": "a", "formula": "1", "precision": -1}]}, "precision"),
        ({"calculations": [{"outputField": "a", "formula": "1", "precision": 1.5}]}, "precision"),
        ({"calculations": ["a = 1"]}, "calculations[0]"),
        # a formula that is not an expression is refused whatever onError says
        (
            {"calculations": [{"outputField": "a", "formula": "{x} +"}], "onError": "skip"},
            "calculations[0].formula",
        ),
        (
            {"calculations": [{"outputField": "a", "formula": "x.__class__"}], "onError": "skip"},
            "calculations[0].formula",
        ),
        ({"calculations": [{"outputField": "a", "formula": "Math.pow(1)"}]}, "pow"),
        ({"calculations": [{"outputField": "a", "formula": "pow(1, (2)"}]}, "was never closed"),
    ],
)
def test_calculate_bad_input_takes_error(params, named):
    name, data, state = calculate(params, {"x": 1})
    assert name == "error", data
    assert named in data["error"]
    assert "calculationResult" not in state


def test_examples_run(run):
    for node in (SwitchNode, CalculateFieldNode):
        step = {node.metadata.id: dict(node.metadata.example)}
        result = run({"id": "ex", "name": "ex", "version": "1.0.0", "workflow": [step]})
        assert result.status == "completed"
        assert not result.warnings
    result = run(
        {
            "id": "ex",
            "name": "ex",
            "version": "1.0.0",
            "workflow": [{"switch": dict(SwitchNode.metadata.example)}],
        }
    )
    assert list(result.logs) == ["VIP order"]
