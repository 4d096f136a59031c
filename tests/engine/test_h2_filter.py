"""The filter's column tests (issue 14 item 4) give the verdicts its row-by-row tests give.

``compile_verdicts`` tests number comparisons and boolean tests down a column when every row is
an object; any value that is not a plain number sends the rows back to the per-row predicate,
whose JavaScript rules (strings read as numbers, null never matches, NaN never compares) hold.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

from workscript_jupyter.nodes.data_conditions import compile_conditions, compile_verdicts

NUMBERS: list[Any] = [{"n": n, "b": n % 2 == 0} for n in (-3, 0, 1, 2.5, 7, 20, 21, 10**20)]
ODD_VALUES: list[Any] = [math.nan, None, "21", "x", True, [1], {"n": 1}]
ROW_SETS = {
    "numbers": NUMBERS,
    "floats with nan": [*NUMBERS, {"n": math.nan, "b": True}],
    "mixed": [*NUMBERS, *({"n": v, "b": v} for v in ODD_VALUES), {"b": False}, {"b": 1}],
    "not all objects": [*NUMBERS, [1, 2], "row", None],
    "empty": [],
}
NUMBER_OPS = ("equals", "notEquals", "gt", "gte", "lt", "lte")
CONDITIONS = [
    *({"field": "n", "dataType": "number", "operation": op, "value": 20} for op in NUMBER_OPS),
    {"field": "n", "dataType": "number", "operation": "gt", "value": "2.5"},
    {"field": "n", "dataType": "number", "operation": "lt", "value": "abc"},  # NaN target
    {"field": "b", "dataType": "boolean", "operation": "true"},
    {"field": "b", "dataType": "boolean", "operation": "false"},
    {"field": "n", "dataType": "string", "operation": "isNotEmpty"},  # no column: row by row
]


def row_by_row(conditions: list[Any], mode: str, rows: list[Any]) -> list[bool]:
    matches = compile_conditions(conditions, mode)
    return [bool(matches(row)) for row in rows]


@pytest.mark.parametrize("rows_name", list(ROW_SETS))
@pytest.mark.parametrize("mode", ["all", "any"])
def test_column_verdicts_equal_row_verdicts(rows_name: str, mode: str) -> None:
    rows = ROW_SETS[rows_name]
    pairs = [[c] for c in CONDITIONS] + [list(p) for p in itertools.combinations(CONDITIONS, 2)]
    for conditions in pairs:
        got = [bool(v) for v in compile_verdicts(conditions, mode)(rows)]
        assert got == row_by_row(conditions, mode, rows), (conditions, mode)


def test_a_nan_is_never_not_equal() -> None:
    rows = [{"n": 1.5}, {"n": math.nan}, {"n": 20}]
    condition = {"field": "n", "dataType": "number", "operation": "notEquals", "value": 20}
    assert [bool(v) for v in compile_verdicts([condition], "all")(rows)] == [True, False, False]
