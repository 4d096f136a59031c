"""dateTime: every operation of the original, time zones through zoneinfo.

Differences from the original, each deliberate:

- Dates are computed in ``timezone`` (default UTC), not in the server's local zone, so a workflow
  gives the same answer on every machine. Results that are instants stay ``toISOString()`` text.
- ``compare`` with ``is_between`` works **(fix)**: the original declared ``startDate``/``endDate``
  but never read them and always took the ``error`` edge. It now takes ``is_between`` when
  ``startDate <= field <= endDate`` and ``is_not_between`` otherwise.
- ``convert_timezone`` returns the same instant written in the target zone
  (``2025-03-20T11:00:00.000-04:00``); the original shifted the instant by a fixed offset and
  still labelled it UTC. IANA names, the original's abbreviations and ``+05:30`` offsets work.
- ``add``/``subtract`` of months and years clamp to the month's last day (Jan 31 + 1 month is
  Feb 28), where JavaScript's ``setMonth`` overflowed into March.
- ``field`` names a state path (dotted, list indexes allowed); when no such path exists and the
  value itself is a date (e.g. ``"$.createdAt"`` already resolved), that value is used.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from .dates_format import (
    DateError,
    format_date,
    milliseconds,
    resolve_zone,
    to_datetime,
    to_iso,
    to_iso_with_offset,
)

__all__ = ["NODES", "DateTimeNode"]

OPERATIONS: Final = (
    "now",
    "format",
    "parse",
    "add",
    "subtract",
    "round",
    "compare",
    "extract",
    "convert_timezone",
    "diff",
    "is_valid",
    "to_iso",
)
UNITS: Final = ("years", "months", "weeks", "days", "hours", "minutes", "seconds", "milliseconds")
ROUND_TO: Final = (
    "start_of_day",
    "end_of_day",
    "start_of_week",
    "end_of_week",
    "start_of_month",
    "end_of_month",
    "start_of_year",
    "end_of_year",
)
COMPONENTS: Final = (
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "millisecond",
    "dayOfWeek",
    "dayOfYear",
    "weekOfYear",
    "quarter",
    "timestamp",
)
COMPARISONS: Final = ("is_before", "is_after", "is_same", "is_between")
ON_ERROR: Final = ("stop", "skip", "use_default")
_NEEDS_FIELD: Final = frozenset(OPERATIONS) - {"now"}
_MISSING: Final = object()
_FIXED_UNITS: Final = {
    "weeks": timedelta(weeks=1),
    "days": timedelta(days=1),
    "hours": timedelta(hours=1),
    "minutes": timedelta(minutes=1),
    "seconds": timedelta(seconds=1),
    "milliseconds": timedelta(milliseconds=1),
}


class _BadInput(Exception):
    """A parameter is missing or wrong: always the error edge, whatever onError says."""


@dataclass(frozen=True)
class _Run:
    """One execution's resolved settings, handed to the operation functions."""

    ctx: NodeContext
    params: dict[str, Any]
    zone: tzinfo
    input_format: str | None

    def date_of_field(self) -> datetime:
        return to_datetime(self.field_value(), self.input_format, self.zone).astimezone(self.zone)

    def field_value(self) -> Any:
        field = self.params.get("field")
        if not isinstance(field, str):
            return field  # a $. reference already gave the date itself
        found = _lookup(self.ctx.inputs, field)
        if found is not _MISSING:
            return found
        try:  # not a path: a literal date is accepted as the value itself
            to_datetime(field, self.input_format, self.zone)
        except DateError:
            raise DateError(f"Field not found: {field}") from None
        return field

    def date_param(self, name: str) -> datetime:
        if name not in self.params:
            raise _BadInput(f"{self.params.get('operation')} needs {name}")
        return to_datetime(self.params[name], self.input_format, self.zone).astimezone(self.zone)

    def choice(self, name: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.params.get(name, default)
        if value not in choices:
            shown = "missing" if value is None else repr(value)
            raise _BadInput(f"{name} must be one of {', '.join(choices)}; got {shown}")
        return str(value)


def _lookup(data: Any, path: str) -> Any:
    if hasattr(data, "keys") and path in data:
        return data[path]
    value = data
    for part in path.split("."):
        if hasattr(value, "keys") and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part):
            if int(part) >= len(value):
                return _MISSING
            value = value[int(part)]
        else:
            return _MISSING
    return value


class DateTimeNode(Node):
    metadata = NodeMetadata(
        id="dateTime",
        name="Date & Time Operations",
        category="data",
        description=(
            "Formats, parses, adds to, rounds, compares, diffs and converts dates. Dates are "
            "ISO 8601 or RFC 2822 text, or milliseconds since 1970. Format tokens (moment or "
            "date-fns style): YYYY/yyyy YY MMMM MMM MM M DD/dd D/d Do dddd/EEEE ddd/EEE HH H hh "
            "h mm m ss s SSS A a Z ZZ X x Q, [text] or 'text' literal. Computed in `timezone` "
            "(IANA name, EST-style abbreviation or +05:30; default UTC). compare takes "
            "is_before/is_not_before, is_after/is_not_after, is_same/is_not_same or "
            "is_between/is_not_between; is_valid takes is_valid/is_invalid."
        ),
        inputs=(
            ParamSpec("operation", "string", "the operation", True, choices=OPERATIONS),
            ParamSpec("field", "string", "state path of the date (or the date itself)"),
            ParamSpec(
                "outputField", "string", "state key for the result", default="dateTimeResult"
            ),
            ParamSpec("inputFormat", "string", "format of text dates, e.g. MM/DD/YYYY"),
            ParamSpec("outputFormat", "string", "format: pattern; ISO 8601 when absent"),
            ParamSpec("amount", "number", "add/subtract: how many units"),
            ParamSpec("unit", "string", "add/subtract: the unit", choices=UNITS),
            ParamSpec(
                "roundTo", "string", "round: the boundary (weeks start Sunday)", choices=ROUND_TO
            ),
            ParamSpec("compareWith", "string|number", "compare/diff: the other date"),
            ParamSpec(
                "compareOperation",
                "string",
                "compare: the test",
                default="is_before",
                choices=COMPARISONS,
            ),
            ParamSpec("startDate", "string|number", "compare is_between: first date, inclusive"),
            ParamSpec("endDate", "string|number", "compare is_between: last date, inclusive"),
            ParamSpec("extract", "string", "extract: the component", choices=COMPONENTS),
            ParamSpec("fromTimezone", "string", "convert_timezone: zone of dates without offset"),
            ParamSpec("toTimezone", "string", "convert_timezone: the target zone"),
            ParamSpec("diffUnit", "string", "diff: the unit", default="days", choices=UNITS),
            ParamSpec(
                "timezone", "string", "(new) zone the date is read and computed in", default="UTC"
            ),
            ParamSpec("defaultValue", "any", "onError use_default: the result to use"),
            ParamSpec(
                "onError",
                "string",
                "when the date is missing or invalid",
                default="stop",
                choices=ON_ERROR,
            ),
        ),
        outputs=(
            "dateTimeResult",
            "<outputField>",
            "dateTimeCompared",
            "dateTimeExtracted",
            "dateTimeValid",
        ),
        edges=(
            "success",
            "is_before",
            "is_not_before",
            "is_after",
            "is_not_after",
            "is_same",
            "is_not_same",
            "is_between",
            "is_not_between",
            "is_valid",
            "is_invalid",
            "error",
        ),
        example={
            "operation": "add",
            "field": "2025-01-31T09:00:00Z",
            "amount": 1,
            "unit": "months",
            "outputField": "renewalDate",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        operation = params.get("operation")
        try:
            run = _prepare(ctx, params, operation)
            if operation == "compare":
                return _compare(run)
            if operation == "is_valid":
                return _validate(run)
            result = _OPERATIONS[str(operation)](run)
        except _BadInput as exc:
            return Edge("error", {"error": str(exc), "operation": operation})
        except DateError as exc:
            return _on_error(ctx, params, str(exc))
        output_field = params.get("outputField", "dateTimeResult")
        ctx.state[output_field] = result
        ctx.state["dateTimeResult"] = result
        return Edge(
            "success", {"result": result, "operation": operation, "outputField": output_field}
        )


def _prepare(ctx: NodeContext, params: dict[str, Any], operation: Any) -> _Run:
    if not operation:
        raise _BadInput("Missing required parameter: operation")
    if operation not in OPERATIONS:
        raise _BadInput(f"Unknown operation: {operation}; expected one of {', '.join(OPERATIONS)}")
    for name in ("outputField", "inputFormat", "outputFormat", "timezone"):
        if name in params and not isinstance(params[name], str):
            raise _BadInput(f"{name} must be a string, got {params[name]!r}")
    if operation in _NEEDS_FIELD and params.get("field") in (None, ""):
        raise _BadInput(f"{operation} needs field")
    zone = _zone(params, "timezone", "UTC")
    return _Run(ctx, params, zone, params.get("inputFormat") or None)


def _zone(params: dict[str, Any], name: str, default: str) -> tzinfo:
    value = params.get(name, default)
    if not isinstance(value, str) or not value:
        raise _BadInput(f"{name} must be a time zone name, got {value!r}")
    try:
        return resolve_zone(value)
    except DateError as exc:
        raise _BadInput(f"{name}: {exc}") from None


def _on_error(ctx: NodeContext, params: dict[str, Any], message: str) -> Edge:
    """The original's onError: stop (error edge), skip, or use_default (success either way)."""
    on_error = params.get("onError", "stop")
    if on_error == "use_default" and "defaultValue" in params:
        value = params["defaultValue"]
        ctx.state[params.get("outputField", "dateTimeResult")] = value
        return Edge("success", {"result": value, "usedDefault": True, "error": message})
    if on_error == "skip":
        return Edge("success", {"skipped": True, "error": message})
    return Edge(
        "error",
        {
            "error": message,
            "operation": params.get("operation"),
            "field": params.get("field"),
            "nodeId": ctx.node_id,
        },
    )


# ---- operations that end on success -------------------------------------------------------


def _now(run: _Run) -> str:
    return to_iso(datetime.now(UTC))


def _format(run: _Run) -> str:
    moment = run.date_of_field()
    pattern = run.params.get("outputFormat")
    return format_date(moment, pattern) if pattern else to_iso(moment)


def _to_iso(run: _Run) -> str:
    return to_iso(run.date_of_field())


def _add(run: _Run) -> str:
    return to_iso(_shift(run, 1))


def _subtract(run: _Run) -> str:
    return to_iso(_shift(run, -1))


def _shift(run: _Run, sign: int) -> datetime:
    amount = run.params.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, (int, float)):
        raise _BadInput(f"amount must be a number, got {amount!r}")
    unit = run.choice("unit", UNITS)
    moment = run.date_of_field()
    if unit in ("years", "months"):
        if not float(amount).is_integer():
            raise _BadInput(f"amount must be a whole number of {unit}, got {amount!r}")
        months = int(amount) * (12 if unit == "years" else 1) * sign
        return _add_months(moment, months)
    step = _FIXED_UNITS[unit] * amount * sign
    try:
        if unit in ("weeks", "days"):
            return moment + step  # wall-clock days: 09:00 stays 09:00 across a DST change
        return (moment.astimezone(UTC) + step).astimezone(run.zone)
    except OverflowError:
        raise DateError("the date is out of range") from None


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise DateError("the date is out of range")
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _round(run: _Run) -> str:
    to = run.choice("roundTo", ROUND_TO)
    moment = run.date_of_field()
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    end = moment.replace(hour=23, minute=59, second=59, microsecond=999_000)
    days_since_sunday = (moment.isoweekday()) % 7
    last_day = calendar.monthrange(moment.year, moment.month)[1]
    rounded = {
        "start_of_day": start,
        "end_of_day": end,
        "start_of_week": start - timedelta(days=days_since_sunday),
        "end_of_week": end + timedelta(days=6 - days_since_sunday),
        "start_of_month": start.replace(day=1),
        "end_of_month": end.replace(day=last_day),
        "start_of_year": start.replace(month=1, day=1),
        "end_of_year": end.replace(month=12, day=31),
    }[to]
    return to_iso(rounded)


def _extract(run: _Run) -> int:
    component = run.choice("extract", COMPONENTS)
    moment = run.date_of_field()
    value = {
        "year": lambda: moment.year,
        "month": lambda: moment.month,
        "day": lambda: moment.day,
        "hour": lambda: moment.hour,
        "minute": lambda: moment.minute,
        "second": lambda: moment.second,
        "millisecond": lambda: moment.microsecond // 1000,
        "dayOfWeek": lambda: moment.isoweekday() % 7,  # 0 = Sunday, as getDay()
        "dayOfYear": lambda: moment.timetuple().tm_yday,
        "weekOfYear": lambda: moment.isocalendar().week,
        "quarter": lambda: (moment.month - 1) // 3 + 1,
        "timestamp": lambda: milliseconds(moment),
    }[component]()
    run.ctx.state["dateTimeExtracted"] = value
    return value


def _convert_timezone(run: _Run) -> str:
    target = run.params.get("toTimezone")
    if not target:
        raise _BadInput("convert_timezone needs toTimezone")
    to_zone = _zone(run.params, "toTimezone", "UTC")
    from_zone = _zone(run.params, "fromTimezone", str(run.params.get("timezone", "UTC")))
    value = run.field_value()
    moment = to_datetime(value, run.input_format, from_zone)
    return to_iso_with_offset(moment.astimezone(to_zone))


def _diff(run: _Run) -> int:
    unit = run.choice("diffUnit", UNITS, "days")
    first, second = run.date_of_field(), run.date_param("compareWith")
    elapsed = abs(milliseconds(first) - milliseconds(second))
    if unit in ("years", "months"):
        later, earlier = max(first, second), min(first, second)
        months = (later.year - earlier.year) * 12 + later.month - earlier.month
        return months // 12 if unit == "years" else months
    return elapsed // (_FIXED_UNITS[unit] // timedelta(milliseconds=1))


def _parse(run: _Run) -> str:
    return to_iso(run.date_of_field())


_OPERATIONS: Final = {
    "now": _now,
    "format": _format,
    "parse": _parse,
    "add": _add,
    "subtract": _subtract,
    "round": _round,
    "extract": _extract,
    "convert_timezone": _convert_timezone,
    "diff": _diff,
    "to_iso": _to_iso,
}


# ---- operations that choose an edge -------------------------------------------------------


def _compare(run: _Run) -> Edge:
    operation = run.choice("compareOperation", COMPARISONS, "is_before")
    date = run.date_of_field()
    if operation == "is_between":
        start, end = run.date_param("startDate"), run.date_param("endDate")
        result = start <= date <= end
        details = {"date1": to_iso(date), "startDate": to_iso(start), "endDate": to_iso(end)}
    else:
        other = run.date_param("compareWith")
        result = {"is_before": date < other, "is_after": date > other, "is_same": date == other}[
            operation
        ]
        details = {"date1": to_iso(date), "date2": to_iso(other)}
    run.ctx.state["dateTimeCompared"] = {"result": result, "operation": operation, **details}
    edge = operation if result else operation.replace("is_", "is_not_", 1)
    return Edge(edge, {"result": result, **details, "operation": operation})


def _validate(run: _Run) -> Edge:
    try:
        date = run.date_of_field()
    except DateError:
        run.ctx.state["dateTimeValid"] = False
        return Edge("is_invalid", {"result": False, "value": _invalid_value(run)})
    run.ctx.state["dateTimeValid"] = True
    return Edge("is_valid", {"result": True, "date": to_iso(date)})


def _invalid_value(run: _Run) -> Any:
    """What was found at ``field`` (null when nothing was), for the is_invalid edge."""
    field = run.params.get("field")
    if not isinstance(field, str):
        return field
    found = _lookup(run.ctx.inputs, field)
    return None if found is _MISSING else found


NODES: tuple[type[Node], ...] = (DateTimeNode,)
