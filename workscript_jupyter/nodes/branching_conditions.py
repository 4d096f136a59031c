"""The ``switch`` rule conditions, with the original's JavaScript conversions.

A condition is ``{field, dataType, operation, value, value2, combineWith}``. ``field`` is a dotted
path into the item (empty: the item itself); the field is converted as JavaScript did
(``String(x ?? '')``, ``Number(x)``, ``Boolean(x)``, ``new Date(x)``) before the comparison.
Conditions chain left to right: each one's ``combineWith`` (``AND``, the default, or ``OR``) joins
it to the next, and an ``AND`` after a false result stops the chain.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ..engine.state import to_text
from .dates_format import DateError, to_datetime
from .text_regex import PatternSyntaxError, compile_user_regex
from .values import js_number, js_truthy, strict_equal

__all__ = ["DATA_TYPES", "conditions_match", "nested_value", "rules_use_patterns"]

DATA_TYPES: Final = ("string", "number", "boolean", "date", "array", "object")


def nested_value(item: Any, path: Any) -> Any:
    """``a.b.0.c`` inside dicts and lists; None when any step is missing."""
    if not path:
        return item
    current = item
    for key in to_text(path).split("."):
        if isinstance(current, Mapping):
            current = current.get(key)
        elif isinstance(current, list) and key.isdigit() and int(key) < len(current):
            current = current[int(key)]
        else:
            return None
    return current


def rules_use_patterns(rules: Any) -> bool:
    """Whether a rule has a regex condition (the rules are then tested off the event loop)."""
    if not isinstance(rules, list):
        return False
    for rule in rules:
        conditions = rule.get("conditions") if isinstance(rule, Mapping) else None
        for condition in conditions if isinstance(conditions, list) else ():
            if isinstance(condition, Mapping) and _is_regex(condition):
                return True
    return False


def _is_regex(condition: Mapping[str, Any]) -> bool:
    return (condition.get("dataType") or "string") == "string" and condition.get(
        "operation"
    ) == "regex"


def conditions_match(
    conditions: list[Mapping[str, Any]], item: Any, where: str = "conditions"
) -> bool:
    """The original's left-to-right AND/OR chain; an empty list never matches.

    ``where`` names the list in errors (``rules[0].conditions``)."""
    if not conditions:
        return False
    result = True
    combine = "AND"
    for index, condition in enumerate(conditions):
        outcome = _condition_matches(condition, item, f"{where}[{index}]")
        if index == 0:
            result = outcome
        else:
            result = (result and outcome) if combine == "AND" else (result or outcome)
        combine = condition.get("combineWith") or "AND"
        if combine == "AND" and not result:
            return False
    return result


def _condition_matches(condition: Mapping[str, Any], item: Any, where: str) -> bool:
    check = _CHECKS.get(condition.get("dataType") or "string")
    if check is None:
        return False
    field = nested_value(item, condition.get("field"))
    if _is_regex(condition):
        return _regex(to_text(field), to_text(condition.get("value")), f"{where}.value")
    return check(field, condition.get("operation"), condition.get("value"), condition.get("value2"))


def _string(field: Any, operation: Any, value: Any, _value2: Any) -> bool:
    text, other = to_text(field), to_text(value)
    tests: dict[str, Callable[[], bool]] = {
        "equals": lambda: text == other,
        "notEquals": lambda: text != other,
        "contains": lambda: other in text,
        "notContains": lambda: other not in text,
        "startsWith": lambda: text.startswith(other),
        "endsWith": lambda: text.endswith(other),
        "isEmpty": lambda: text == "",
        "isNotEmpty": lambda: text != "",
    }
    test = tests.get(operation) if isinstance(operation, str) else None
    return test() if test else False


def _regex(text: str, pattern: str, param: str) -> bool:
    """The bounded matcher (patterns.py); a limit hit raises PatternLimitError naming param."""
    if not pattern:
        return True  # the empty pattern occurs in every text
    try:
        regex = compile_user_regex(pattern, "", param=param)
    except PatternSyntaxError:
        return False  # as before: an invalid pattern matches nothing
    return regex.search(text)


def _number(field: Any, operation: Any, value: Any, value2: Any) -> bool:
    number, other = js_number(field), js_number(value)
    if math.isnan(number) or math.isnan(other):
        return False
    if operation == "between":
        upper = js_number(value2) if value2 is not None else math.nan
        return not math.isnan(upper) and other <= number <= upper
    tests: dict[str, Callable[[], bool]] = {
        "equals": lambda: number == other,
        "notEquals": lambda: number != other,
        "gt": lambda: number > other,
        "gte": lambda: number >= other,
        "lt": lambda: number < other,
        "lte": lambda: number <= other,
    }
    test = tests.get(operation) if isinstance(operation, str) else None
    return test() if test else False


def _boolean(field: Any, operation: Any, value: Any, _value2: Any) -> bool:
    if operation == "true":
        return js_truthy(field)
    if operation == "false":
        return not js_truthy(field)
    if operation == "equals":
        return js_truthy(field) == js_truthy(value)
    return False


def _as_date(value: Any) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return to_datetime(value, None, UTC)
    except DateError:
        return None


def _date(field: Any, operation: Any, value: Any, value2: Any) -> bool:
    moment, other = _as_date(field), _as_date(value)
    if moment is None or other is None:
        return False
    if operation == "before":
        return moment < other
    if operation == "after":
        return moment > other
    if operation == "equals":
        return moment == other
    if operation == "between":
        upper = _as_date(value2) if js_truthy(value2) else None
        return upper is not None and other <= moment <= upper
    return False


def _array(field: Any, operation: Any, value: Any, _value2: Any) -> bool:
    if not isinstance(field, list):
        return False
    if operation in ("contains", "notContains"):
        found = any(strict_equal(element, value) for element in field)
        return found if operation == "contains" else not found
    if operation == "isEmpty":
        return not field
    if operation == "isNotEmpty":
        return bool(field)
    if operation in ("lengthEquals", "lengthGt", "lengthLt"):
        size, wanted = len(field), js_number(value)
        return {
            "lengthEquals": size == wanted,
            "lengthGt": size > wanted,
            "lengthLt": size < wanted,
        }[operation]
    return False


def _object(field: Any, operation: Any, value: Any, _value2: Any) -> bool:
    if isinstance(field, list):  # JavaScript arrays are objects whose keys are the indexes
        keys: set[str] = {str(i) for i in range(len(field))}
    elif isinstance(field, Mapping):
        keys = set(field)
    else:
        return False
    if operation == "isEmpty":
        return not keys
    if operation == "isNotEmpty":
        return bool(keys)
    if operation == "hasProperty":
        return to_text(value) in keys
    if operation == "notHasProperty":
        return to_text(value) not in keys
    return False


_CHECKS: Final[dict[str, Callable[[Any, Any, Any, Any], bool]]] = {
    "string": _string,
    "number": _number,
    "boolean": _boolean,
    "date": _date,
    "array": _array,
    "object": _object,
}
