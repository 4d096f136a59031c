"""Every place a user's pattern meets text goes through the bounded matcher (issue 13, item 1).

``^(a|a)+$`` against 27 ``a`` and a ``!`` backtracks for minutes on Python's ``re``. Each node
that takes a user pattern must end on its error edge with a message naming the node, the
parameter and the limit, must refuse patterns and texts over the length limits, and must do the
matching off the event loop. The tests use a short time limit (``patterns.LIMITS``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from workscript_jupyter.engine import Edge, Node, NodeContext
from workscript_jupyter.nodes import patterns
from workscript_jupyter.nodes.branching import SwitchNode
from workscript_jupyter.nodes.data_filtering import FilterNode
from workscript_jupyter.nodes.patterns import PatternBudget, PatternLimitError
from workscript_jupyter.nodes.text import StringOperationsNode
from workscript_jupyter.nodes.text_extract import ExtractTextNode
from workscript_jupyter.nodes.text_regex import compile_user_regex
from workscript_jupyter.nodes.validation import ValidateDataNode

EVIL = "^(a|a)+$"
VICTIM = "a" * 27 + "!"
LONG_PATTERN = "a" * 501
LONG_TEXT = "a" * 100_001


@pytest.fixture(autouse=True)
def short_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patterns, "LIMITS", dataclasses.replace(patterns.LIMITS, match_seconds=0.2))


def call(node: Node, params: dict[str, Any], state: dict[str, Any] | None = None) -> Edge:
    return asyncio.run(execute(node, params, state))


async def execute(node: Node, params: dict[str, Any], state: dict[str, Any] | None = None) -> Edge:
    node_id = f"my-{node.metadata.id}"
    ctx = NodeContext(
        {} if state is None else state,
        node_id=node_id,
        node_type=node.metadata.id,
        node_path=f"/workflow/0/{node.metadata.id}",
    )
    edge = await node.execute(ctx, params)
    assert edge is not None
    return edge


def error_of(edge: Edge) -> str:
    assert edge.name == "error", edge
    assert edge.data is not None
    return str(edge.data["error"])


def switch(value: str, text: str = VICTIM) -> tuple[SwitchNode, dict[str, Any]]:
    condition = {"field": "text", "operation": "regex", "value": value}
    rules = [
        {"outputKey": "plain", "conditions": [{"field": "text", "operation": "isEmpty"}]},
        {"outputKey": "evil", "conditions": [condition]},
    ]
    return SwitchNode(), {"item": {"text": text}, "rules": rules}


def filter_(value: str, text: str = VICTIM, rows: int = 1) -> tuple[FilterNode, dict[str, Any]]:
    conditions = [
        {"field": "n", "dataType": "number", "operation": "gte", "value": 0},
        {"field": "text", "dataType": "string", "operation": "regex", "value": value},
    ]
    items = [{"n": i, "text": text} for i in range(rows)]
    return FilterNode(), {"items": items, "conditions": conditions}


def validate_pattern(pattern: str, text: str = VICTIM) -> tuple[ValidateDataNode, dict[str, Any]]:
    rules = [{"field": "name", "pattern": "^a"}, {"field": "name", "pattern": pattern}]
    params = {"validationType": "pattern", "data": {"name": text}, "patternValidations": rules}
    return ValidateDataNode(), params


def schema(schema: dict[str, Any], data: Any) -> tuple[ValidateDataNode, dict[str, Any]]:
    params = {"validationType": "json_schema", "data": data, "schema": schema}
    return ValidateDataNode(), params


def extract(pattern: str) -> tuple[ExtractTextNode, dict[str, Any]]:
    return ExtractTextNode(), {"method": "regex", "field": "text", "pattern": pattern}


def replace(pattern: str) -> tuple[StringOperationsNode, dict[str, Any]]:
    return StringOperationsNode(), {
        "operation": "replaceRegex",
        "field": "text",
        "searchValue": pattern,
    }


SLOW_CASES = [
    pytest.param(
        *switch(EVIL), 'switch node "my-switch": rules[1].conditions[0].value', id="switch"
    ),
    pytest.param(*filter_(EVIL), 'filter node "my-filter": conditions[1].value', id="filter"),
    pytest.param(
        *validate_pattern(EVIL),
        'validateData node "my-validateData": patternValidations[1].pattern',
        id="validateData-pattern",
    ),
    pytest.param(
        *schema({"properties": {"name": {"type": "string", "pattern": EVIL}}}, {"name": VICTIM}),
        "schema.properties.name.pattern",
        id="json-schema-pattern",
    ),
    pytest.param(
        *schema({"patternProperties": {EVIL: {"type": "string"}}}, {VICTIM: "x"}),
        'schema.patternProperties["^(a|a)+$"]',
        id="json-schema-patternProperties",
    ),
    pytest.param(
        *schema({"patternProperties": {EVIL: True}, "additionalProperties": False}, {VICTIM: "x"}),
        'schema.patternProperties["^(a|a)+$"]',
        id="json-schema-additionalProperties",
    ),
    pytest.param(  # anyOf swallows ValidationErrors; a limit must not become "no match"
        *schema({"anyOf": [{"pattern": EVIL}, {"type": "string"}]}, VICTIM),
        "schema.anyOf.0.pattern",
        id="json-schema-inside-anyOf",
    ),
    pytest.param(
        *schema(
            {"$defs": {"n": {"pattern": EVIL}}, "propertyNames": {"$ref": "#/$defs/n"}},
            {VICTIM: 1},
        ),
        "schema.$defs.n.pattern",
        id="json-schema-propertyNames-ref",
    ),
    pytest.param(*extract(EVIL), 'extractText node "my-extractText": pattern', id="extractText"),
    pytest.param(
        *replace(EVIL),
        'stringOperations node "my-stringOperations": searchValue',
        id="stringOperations-replaceRegex",
    ),
]


@pytest.mark.parametrize(("node", "params", "where"), SLOW_CASES)
def test_a_catastrophic_pattern_is_an_error_naming_node_parameter_and_limit(
    node: Node, params: dict[str, Any], where: str
) -> None:
    state = {"text": VICTIM}
    message = error_of(call(node, params, state))
    assert where in message
    assert "took longer than 0.2 s" in message
    assert node.metadata.id in message  # the node type, whatever the parameter
    assert state["text"] == VICTIM  # nothing was written


LENGTH_CASES = [
    pytest.param(*switch(LONG_PATTERN), "rules[1].conditions[0].value", "501", id="switch-pattern"),
    pytest.param(
        *switch("a", LONG_TEXT), "rules[1].conditions[0].value", "100001", id="switch-text"
    ),
    pytest.param(*filter_(LONG_PATTERN), "conditions[1].value", "501", id="filter-pattern"),
    pytest.param(*filter_("a", LONG_TEXT), "conditions[1].value", "100001", id="filter-text"),
    pytest.param(
        *validate_pattern(LONG_PATTERN), "patternValidations[1].pattern", "501", id="pattern"
    ),
    pytest.param(
        *validate_pattern("a", LONG_TEXT), "patternValidations[0].pattern", "100001", id="text"
    ),
    pytest.param(
        *schema({"properties": {"s": {"pattern": LONG_PATTERN}}}, {"s": "a"}),
        "schema.properties.s.pattern",
        "501",
        id="json-schema-pattern",
    ),
    pytest.param(
        *schema({"properties": {"s": {"pattern": "a"}}}, {"s": LONG_TEXT}),
        "schema.properties.s.pattern",
        "100001",
        id="json-schema-text",
    ),
    pytest.param(*extract(LONG_PATTERN), "pattern", "501", id="extractText"),
    pytest.param(*replace(LONG_PATTERN), "searchValue", "501", id="replaceRegex"),
]


@pytest.mark.parametrize(("node", "params", "where", "size"), LENGTH_CASES)
def test_a_pattern_or_text_over_the_length_limit_is_an_error_naming_it(
    node: Node, params: dict[str, Any], where: str, size: str
) -> None:
    message = error_of(call(node, params, {"text": "aaa"}))
    assert where in message and size in message and "at most" in message


BOMB = "((((a{50}){50}){50}){50})"  # regex expanded it for 21 s, in C, holding the GIL


@pytest.mark.parametrize(
    ("node", "params", "where"),
    [
        pytest.param(*switch(BOMB), "rules[1].conditions[0].value", id="switch"),
        pytest.param(*filter_(BOMB), "conditions[1].value", id="filter"),
        pytest.param(*validate_pattern(BOMB), "patternValidations[1].pattern", id="pattern"),
        pytest.param(
            *schema({"properties": {"s": {"pattern": BOMB}}}, {"s": "a"}),
            "schema.properties.s.pattern",
            id="json-schema",
        ),
        pytest.param(*extract(BOMB), "pattern", id="extractText"),
        pytest.param(*replace(BOMB), "searchValue", id="replaceRegex"),
    ],
)
def test_a_pattern_whose_repetitions_expand_too_far_is_refused_before_compiling(
    node: Node, params: dict[str, Any], where: str
) -> None:
    message = error_of(call(node, params, {"text": "aaa"}))
    assert where in message
    assert "expand to 6250" in message and "at most 100000" in message


def test_the_limits_leave_ordinary_patterns_alone() -> None:
    node, params = filter_("^a+!$", rows=3)
    edge = call(node, params)
    assert edge.name == "passed" and edge.data is not None and edge.data["passedCount"] == 3
    node, params = switch("a{27}")
    assert call(node, params).name == "evil"
    node, params = schema({"patternProperties": {"^a": {"type": "string"}}}, {"ab": 1})
    assert call(node, params).name == "invalid"


def test_an_invalid_pattern_still_matches_nothing_in_switch_and_filter() -> None:
    node, params = switch("(unclosed")
    assert call(node, params).name == "default"
    node, params = filter_("(unclosed")
    assert call(node, params).name == "filtered"


def test_a_schema_combining_unevaluated_and_pattern_properties_is_refused() -> None:
    node, params = schema(
        {"patternProperties": {"^a": True}, "unevaluatedProperties": False}, {"ab": 1}
    )
    assert "unevaluatedProperties" in error_of(call(node, params))


# -- the budget of one node run --------------------------------------------------------------------


def test_many_slow_rows_share_one_budget_per_node(monkeypatch: pytest.MonkeyPatch) -> None:
    """10,000 rows of slow matches must not take 10,000 times the match limit."""
    limits = dataclasses.replace(patterns.LIMITS, match_seconds=30.0, node_seconds=0.3)
    monkeypatch.setattr(patterns, "LIMITS", limits)
    node, params = filter_(EVIL, rows=10_000)
    message = error_of(call(node, params))
    assert "conditions[1].value" in message
    assert "longer than 0.3 s in total (the limit per node run)" in message


def test_a_tripped_budget_fails_every_later_match_at_once() -> None:
    budget = PatternBudget(60.0)
    failure = budget.trip(PatternLimitError("x", "the first limit"))
    with pytest.raises(PatternLimitError) as raised:
        budget.timeout("y")
    assert raised.value is failure


def test_without_off_loop_each_match_is_still_bounded() -> None:
    regex = compile_user_regex(EVIL, "", param="p")
    with pytest.raises(PatternLimitError, match=r"^p: the regular expression took longer than"):
        regex.search(VICTIM)


# -- off the event loop ----------------------------------------------------------------------------


@pytest.mark.parametrize(("node", "params", "where"), SLOW_CASES)
def test_the_event_loop_runs_other_tasks_while_a_pattern_is_matched(
    node: Node, params: dict[str, Any], where: str
) -> None:
    """A coroutine that only needs the loop for a moment finishes before the slow node."""
    order: list[str] = []

    async def slow_node() -> None:
        await execute(node, params, {"text": VICTIM})
        order.append("node")

    async def other_request() -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        order.append("other")

    async def both() -> None:
        await asyncio.gather(slow_node(), other_request())

    asyncio.run(both())
    assert order == ["other", "node"]


def test_a_node_without_user_patterns_does_not_hop_to_a_thread() -> None:
    """Plain conditions run on the loop: nothing else gets a turn during the node."""
    order: list[str] = []
    node = FilterNode()
    params = {
        "items": [{"n": 1}],
        "conditions": [{"field": "n", "dataType": "number", "operation": "gt", "value": 0}],
    }

    async def fast_node() -> None:
        await execute(node, params)
        order.append("node")

    async def other() -> None:
        await asyncio.sleep(0)
        order.append("other")

    async def both() -> None:
        await asyncio.gather(fast_node(), other())

    asyncio.run(both())
    assert order == ["node", "other"]
