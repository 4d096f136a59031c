"""The filter node's conditions, compiled once per run into one predicate per condition.

A condition is ``{field, dataType, operation, value, value2}``. Compiling resolves the data type,
the operation, the field path and the comparison value up front, so the per-row work is one
field read and one comparison. An unknown data type or operation is reported before any row is
read (the original only noticed it on the first row, and never on an empty list).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from itertools import repeat
from typing import Any

from .data_common import UNDEFINED, Getter, field_getter, js_string
from .text_regex import PatternSyntaxError, compile_user_regex
from .values import js_number, strict_equal

__all__ = ["ConditionError", "Predicate", "compile_conditions", "compile_verdicts", "uses_patterns"]

Predicate = Callable[[Any], bool]


class ConditionError(ValueError):
    """A condition that cannot be compiled; the message names ``conditions[i]``."""


_NUMBER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": operator.eq,
    "notEquals": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def compile_conditions(conditions: list[Any], match_mode: str) -> Predicate:
    """One predicate for a row: all conditions (``all``) or at least one (``any``)."""
    predicates = [_compile(condition, f"conditions[{i}]") for i, condition in enumerate(conditions)]
    if len(predicates) == 1:
        return predicates[0]
    if match_mode == "all":

        def all_match(item: Any) -> bool:
            for predicate in predicates:  # noqa: SIM110 - a loop beats all() per row
                if not predicate(item):
                    return False
            return True

        return all_match

    def any_match(item: Any) -> bool:
        for predicate in predicates:  # noqa: SIM110 - a loop beats any() per row
            if predicate(item):
                return True
        return False

    return any_match


def compile_verdicts(conditions: list[Any], match_mode: str) -> Callable[[list[Any]], list[Any]]:
    """The verdict of each row of a list, truthy where it matches (``compile_conditions``).

    When every condition is a number comparison or a boolean test of one key and every row is
    an object, each condition is tested down its column: values read by ``map`` and compared by
    ``operator``, no Python call per row. Otherwise (or for a column that holds more than
    numbers) the rows are tested one by one."""
    matches = compile_conditions(conditions, match_mode)  # validates every condition first
    columns = [column for column in map(_column, conditions) if column is not None]
    if len(columns) < len(conditions):
        return lambda items: list(map(matches, items))
    combine = operator.and_ if match_mode == "all" else operator.or_

    def verdicts(items: list[Any]) -> list[Any]:
        if items and set(map(type, items)) == {dict}:
            tested: list[list[bool]] = []
            for column in columns:
                result = column(items)
                if result is None:
                    break
                tested.append(result)
            else:
                combined: Iterable[Any] = tested[0]
                for other in tested[1:]:
                    combined = map(combine, combined, other)
                return list(combined)
        return list(map(matches, items))

    return verdicts


Column = Callable[[list[dict[str, Any]]], list[bool] | None]
_PLAIN_NUMBERS = frozenset({int, float})


def _column(condition: Mapping[str, Any]) -> Column | None:
    """A condition tested on a list of objects at once, or None when it has no such form.
    The column answers None when the rows' values are not all plain numbers (read row by row
    then: strings, null and booleans follow JavaScript's rules)."""
    key = _row_key(condition)
    data_type, op = condition.get("dataType"), condition.get("operation")
    if key is None:
        return None
    if data_type == "boolean" and op in ("true", "false"):
        expected = op == "true"
        return lambda rows: list(
            map(operator.is_, map(dict.get, rows, repeat(key), repeat(UNDEFINED)), repeat(expected))
        )
    compare = _NUMBER_OPS.get(op) if data_type == "number" and isinstance(op, str) else None
    target = _to_number(condition.get("value")) if compare is not None else math.nan
    if compare is None or math.isnan(target):
        return None

    def number_column(rows: list[dict[str, Any]]) -> list[bool] | None:
        values = list(map(dict.get, rows, repeat(key), repeat(UNDEFINED)))
        kinds = set(map(type, values))
        if not kinds <= _PLAIN_NUMBERS or (float in kinds and op == "notEquals"):
            return None  # a NaN is not "not equal" in the original: row by row
        return list(map(compare, values, repeat(target)))

    return number_column


def uses_patterns(conditions: list[Any]) -> bool:
    """Whether a condition matches a user pattern (its rows are then tested off the loop)."""
    return any(
        isinstance(c, Mapping) and c.get("dataType") == "string" and c.get("operation") == "regex"
        for c in conditions
    )


def _compile(condition: Any, where: str) -> Predicate:
    if not isinstance(condition, Mapping):
        raise ConditionError(f"{where} must be an object with field, dataType and operation")
    field = condition.get("field")
    if not isinstance(field, str) or not field:
        raise ConditionError(f"{where}.field must be a non-empty string, got {field!r}")
    data_type, op = condition.get("dataType"), condition.get("operation")
    compiler = _COMPILERS.get(data_type) if isinstance(data_type, str) else None
    if compiler is None:
        raise ConditionError(
            f"{where}.dataType: unsupported data type {data_type!r}; "
            f"expected one of {', '.join(_COMPILERS)}"
        )
    get = field_getter(field)
    return compiler(get, op, condition, where)


def _row_key(condition: Mapping[str, Any]) -> str | None:
    """The field's one key when its path has no dot: a predicate then reads it from a dict row
    itself, one call less per row than through its getter (which does the same)."""
    field: str = condition["field"]
    return None if "." in field else field


def _unsupported(where: str, data_type: str, op: Any, allowed: tuple[str, ...]) -> ConditionError:
    return ConditionError(
        f"{where}.operation: unsupported {data_type} operation {op!r}; "
        f"expected one of {', '.join(allowed)}"
    )


# -- string ----------------------------------------------------------------------------------------

_STRING_OPS = (
    "equals",
    "notEquals",
    "contains",
    "notContains",
    "startsWith",
    "endsWith",
    "regex",
    "isEmpty",
    "isNotEmpty",
)


def _as_text(value: Any) -> str:
    """``String(value ?? '')``."""
    if value.__class__ is str:
        return value
    if value is None or value is UNDEFINED:
        return ""
    return js_string(value)


def _string_test(op: str, target: str, where: str) -> Callable[[str], bool]:
    if op == "equals":
        return target.__eq__
    if op == "notEquals":
        return target.__ne__
    if op == "contains":
        return lambda text: target in text
    if op == "notContains":
        return lambda text: target not in text
    if op == "startsWith":
        return lambda text: text.startswith(target)
    if op == "endsWith":
        return lambda text: text.endswith(target)
    if op == "regex":
        if not target:
            return lambda _text: False
        try:  # the bounded matcher (patterns.py), never plain re
            pattern = compile_user_regex(target, "", param=f"{where}.value")
        except PatternSyntaxError:  # (a pattern over a limit raises PatternLimitError)
            return lambda _text: False  # as the original: an invalid pattern matches nothing
        return pattern.search
    if op == "isEmpty":
        return lambda text: text == ""
    return lambda text: text != ""


def _compile_string(get: Getter, op: Any, condition: Mapping[str, Any], where: str) -> Predicate:
    if op not in _STRING_OPS:
        raise _unsupported(where, "string", op, _STRING_OPS)
    test = _string_test(op, _as_text(condition.get("value")), where)

    def string_condition(item: Any) -> bool:
        return test(_as_text(get(item)))

    return string_condition


# -- number ----------------------------------------------------------------------------------------


def _to_number(value: Any) -> float:
    if value is None or value is UNDEFINED:
        return math.nan
    return js_number(value)


def _compile_number(get: Getter, op: Any, condition: Mapping[str, Any], where: str) -> Predicate:
    if op == "between":
        if "value2" not in condition:
            raise ConditionError(f"{where}.value2 is required by the between operation")
        low, high = _to_number(condition.get("value")), _to_number(condition["value2"])
        return _number_between(get, low, high)
    compare = _NUMBER_OPS.get(op) if isinstance(op, str) else None
    if compare is None:
        raise _unsupported(where, "number", op, (*_NUMBER_OPS, "between"))
    target = _to_number(condition.get("value"))
    if math.isnan(target):
        return lambda _item: False  # NaN never compares, as in the original

    key = _row_key(condition)

    def number_condition(item: Any) -> bool:
        value = item.get(key, UNDEFINED) if key and item.__class__ is dict else get(item)
        cls = value.__class__
        if cls is not int and cls is not float:
            if value is None or value is UNDEFINED:
                return False
            value = js_number(value)
        if value != value:  # NaN
            return False
        return compare(value, target)

    return number_condition


def _number_between(get: Getter, low: float, high: float) -> Predicate:
    if math.isnan(low) or math.isnan(high):
        return lambda _item: False

    def between(item: Any) -> bool:
        value = get(item)
        cls = value.__class__
        if cls is not int and cls is not float:
            if value is None or value is UNDEFINED:
                return False
            value = js_number(value)
        return bool(low <= value <= high)

    return between


# -- boolean ---------------------------------------------------------------------------------------


def _compile_boolean(get: Getter, op: Any, condition: Mapping[str, Any], where: str) -> Predicate:
    key = _row_key(condition)
    if key is not None:
        expected = op == "true"
        if op in ("true", "false"):
            return lambda item: (
                (item.get(key, UNDEFINED) if item.__class__ is dict else get(item)) is expected
            )
    if op == "true":
        return lambda item: get(item) is True
    if op == "false":
        return lambda item: get(item) is False
    raise _unsupported(where, "boolean", op, ("true", "false"))


# -- date ------------------------------------------------------------------------------------------


def date_millis(value: Any) -> float:
    """``new Date(value).getTime()`` for numbers (ms) and ISO 8601 text; NaN when invalid.

    ISO text without an offset is read as UTC (JavaScript reads date-times without an offset as
    local time; a server's local zone is not something a workflow should depend on).
    """
    if isinstance(value, bool) or value is None or value is UNDEFINED:
        return math.nan
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return math.nan
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return math.nan
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() * 1000.0


_DATE_OPS = ("before", "after", "equals", "between")


def _compile_date(get: Getter, op: Any, condition: Mapping[str, Any], where: str) -> Predicate:
    if op not in _DATE_OPS:
        raise _unsupported(where, "date", op, _DATE_OPS)
    target = date_millis(condition.get("value"))
    if op == "between":
        if "value2" not in condition:
            raise ConditionError(f"{where}.value2 is required by the between operation")
        high = date_millis(condition["value2"])
        test: Callable[[float], bool] = lambda ms: target <= ms <= high  # noqa: E731
    else:
        compare = {"before": operator.lt, "after": operator.gt, "equals": operator.eq}[op]
        test = lambda ms: bool(compare(ms, target))  # noqa: E731
    if math.isnan(target):
        return lambda _item: False

    def date_condition(item: Any) -> bool:
        ms = date_millis(get(item))
        return ms == ms and test(ms)

    return date_condition


# -- array and object ------------------------------------------------------------------------------


def _includes(values: list[Any], target: Any) -> bool:
    if target.__class__ is str:
        return target in values
    return any(strict_equal(v, target) for v in values)


def _compile_array(get: Getter, op: Any, condition: Mapping[str, Any], where: str) -> Predicate:
    target = condition.get("value")
    tests: dict[str, Callable[[list[Any]], bool]] = {
        "contains": lambda values: _includes(values, target),
        "notContains": lambda values: not _includes(values, target),
        "isEmpty": lambda values: not values,
        "isNotEmpty": lambda values: bool(values),
    }
    test = tests.get(op) if isinstance(op, str) else None
    if test is None:
        raise _unsupported(where, "array", op, tuple(tests))

    def array_condition(item: Any) -> bool:
        value = get(item)
        return value.__class__ is list and test(value)

    return array_condition


def _compile_object(get: Getter, op: Any, condition: Mapping[str, Any], where: str) -> Predicate:
    if op == "isEmpty":

        def object_is_empty(item: Any) -> bool:
            value = get(item)
            if value is None or value is UNDEFINED:
                return True
            return isinstance(value, (dict, list)) and not value

        return object_is_empty
    if op == "isNotEmpty":

        def object_is_not_empty(item: Any) -> bool:
            value = get(item)
            return isinstance(value, (dict, list)) and bool(value)

        return object_is_not_empty
    raise _unsupported(where, "object", op, ("isEmpty", "isNotEmpty"))


_COMPILERS: dict[str, Callable[[Getter, Any, Mapping[str, Any], str], Predicate]] = {
    "string": _compile_string,
    "number": _compile_number,
    "boolean": _compile_boolean,
    "date": _compile_date,
    "array": _compile_array,
    "object": _compile_object,
}
