"""The envelope's compiled check (engine/schema.py): never passes what jsonschema refuses, passes
the workflows people write, and leaves jsonschema to word the errors."""

from __future__ import annotations

import enum
import itertools
import json
import math
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import workscript_jupyter.engine.schema as schema_module
from workscript_jupyter.engine.schema import (
    WORKFLOW_SCHEMA,
    compile_envelope,
    envelope_is_valid,
    schema_issues,
)

ROOT = Path(__file__).resolve().parents[2]
JSONSCHEMA = Draft202012Validator(WORKFLOW_SCHEMA)


class Level(enum.IntEnum):
    ONE = 1


# values that sit on either side of a keyword, or that jsonschema reads its own way
CANDIDATES: dict[str, list[Any]] = {
    "id": ["wf", "a-b_C9", "", "bad id", "ok\n", "\n", "é", 5, None, True, ["wf"]],
    "name": ["Name", "", " ", 0, None, {"n": 1}],
    "version": ["1.0.0", "10.20.30", "1.0", "1.0.0\n", "\u0661.0.0", "v1.0.0", 100, None],
    "description": ["d", "", 1, None, ["d"]],
    "initialState": [{}, {"a": 1}, [], None, "x", 0],
    "workflow": [["log"], [], [1, 2], "log", {}, None],
    "maxLoopIterations": [
        *(1, 7, 10**30, 0, -1, 1.0, 5.0, 1.5, True, False, "3", None),
        *(Level.ONE, Decimal(2), math.nan, math.inf),
    ],
    "timeoutSeconds": [
        *(1, 0.5, 1e-9, 0, -1, 0.0, True, False, "1", None, math.nan, math.inf, -math.inf),
        *(Decimal("0.5"), Decimal(0), Level.ONE),
    ],
    "onUnhandledError": ["continue", "fail", "Fail", "", None, 1, ["fail"]],
}
VALID = {"id": "wf", "name": "N", "version": "1.0.0", "workflow": ["log"]}


def jsonschema_accepts(document: dict[str, Any]) -> bool:
    return next(JSONSCHEMA.iter_errors(document), None) is None


def test_compiled_check_exists_for_the_workflow_schema() -> None:
    assert envelope_is_valid is not None


@pytest.mark.parametrize("field", CANDIDATES)
def test_never_passes_what_jsonschema_refuses_one_field(field: str) -> None:
    assert envelope_is_valid is not None
    for value in CANDIDATES[field]:
        document = {**VALID, field: value}
        if envelope_is_valid(document):
            assert jsonschema_accepts(document), (field, value)
        missing = {k: v for k, v in VALID.items() if k != field}
        assert not envelope_is_valid(missing) or jsonschema_accepts(missing)


def test_never_passes_what_jsonschema_refuses_generated() -> None:
    assert envelope_is_valid is not None
    r = random.Random(14)
    for _ in range(3000):
        document = {k: r.choice(v) for k, v in CANDIDATES.items() if r.random() < 0.8}
        if envelope_is_valid(document):
            assert jsonschema_accepts(document), document


@pytest.mark.parametrize(
    "keywords",
    [
        {"type": "integer"},
        {"type": "number"},
        {"type": "string"},
        {"type": "object"},
        {"type": "array"},
        {"minimum": 1},
        {"exclusiveMinimum": 0},
        {"minLength": 1},
        {"minItems": 1},
        {"pattern": "^[a-z]+$"},
        {"enum": ["a", "b"]},
    ],
    ids=lambda keywords: next(iter(keywords)),
)
def test_each_keyword_alone_never_passes_what_jsonschema_refuses(keywords: dict[str, Any]) -> None:
    """Each keyword on its own (no "type" beside a bound to lean on)."""
    schema = {"type": "object", "properties": {"v": keywords}}
    check = compile_envelope(schema)
    assert check is not None
    validator = Draft202012Validator(schema)
    values = [v for candidates in CANDIDATES.values() for v in candidates]
    values += ["a", "abc", "a\n", "A", Decimal(-1), Decimal(5), 2.5, -0.0]
    for value in values:
        if check({"v": value}):
            assert next(validator.iter_errors({"v": value}), None) is None, (keywords, value)


def test_passes_the_plain_valid_values() -> None:
    """The fast path is taken for what people write (else it would save nothing)."""
    assert envelope_is_valid is not None
    plain: dict[str, list[Any]] = {
        "id": ["wf", "a-b_C9"],
        "name": ["Name", " "],
        "version": ["1.0.0", "10.20.30"],
        "description": ["d", ""],
        "initialState": [{}, {"a": 1}],
        "workflow": [["log"], [1, 2]],
        "maxLoopIterations": [1, 10**30],
        "timeoutSeconds": [1, 0.5, math.inf],
        "onUnhandledError": ["continue", "fail"],
    }
    for field, values in plain.items():
        for value in values:
            assert envelope_is_valid({**VALID, field: value}), (field, value)


def golden_documents() -> list[Path]:
    return sorted((ROOT / "tests" / "workflows").glob("*.json")) + sorted(
        (ROOT / "examples").glob("*.json")
    )


def test_agrees_with_jsonschema_on_every_example_and_golden_workflow() -> None:
    assert envelope_is_valid is not None
    checked = 0
    for path in golden_documents():
        case = json.loads(path.read_text(encoding="utf-8"))
        document = case["workflow"] if isinstance(case.get("workflow"), dict) else case
        if not isinstance(document, dict) or "id" not in document:
            continue
        checked += 1
        assert envelope_is_valid(document) == jsonschema_accepts(document), path.name
    assert checked >= 10


def test_a_valid_envelope_never_reaches_jsonschema(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> Any:
        raise AssertionError("jsonschema was asked about a valid envelope")

    monkeypatch.setattr(schema_module, "_get_validator", refuse)
    assert schema_issues({**VALID, "maxLoopIterations": 3, "onUnhandledError": "fail"}) == []


def test_an_invalid_envelope_is_worded_by_jsonschema_as_before() -> None:
    issues = schema_issues(
        {
            "id": "bad id",
            "version": "1.0",
            "workflow": [],
            "maxLoopIterations": 0,
            "timeoutSeconds": 0,
            "onUnhandledError": "x",
        }
    )
    assert [(i.path, i.message) for i in issues] == [
        ("/name", "missing required field 'name'"),
        ("/id", "id may contain only letters, digits, _ and - (^[A-Za-z0-9_-]+$)"),
        ("/maxLoopIterations", "maxLoopIterations: 0 is less than the minimum of 1"),
        ("/onUnhandledError", 'onUnhandledError must be "continue" or "fail"'),
        ("/timeoutSeconds", "timeoutSeconds: 0 is less than or equal to the minimum of 0"),
        ("/version", "version must look like 1.0.0 (major.minor.patch)"),
        ("/workflow", "workflow must contain at least one step"),
    ]
    # 5.0 is an integer to jsonschema: the compiled check defers, jsonschema accepts
    assert schema_issues({**VALID, "maxLoopIterations": 5.0}) == []


@pytest.mark.parametrize(
    "extra",
    [
        {"maxLength": 3},
        {"format": "date"},
        {"type": ["string", "null"]},
        {"enum": [1, 2]},
        {"items": {"type": "string"}},
    ],
)
def test_a_keyword_it_does_not_compile_turns_the_fast_path_off(extra: dict[str, Any]) -> None:
    """A schema edit the compiler does not know never makes it pass what it did not check."""
    edited = json.loads(json.dumps(WORKFLOW_SCHEMA))
    edited["properties"]["name"].update(extra)
    assert compile_envelope(edited) is None


def test_an_unknown_top_level_keyword_turns_the_fast_path_off() -> None:
    for keyword, value in itertools.product(
        ("additionalProperties", "allOf", "if"), (False, [{"required": ["x"]}])
    ):
        assert compile_envelope({**WORKFLOW_SCHEMA, keyword: value}) is None
